// STOMP over SockJS in Chromium: the three JavaScript clients Spring's
// users run (@stomp/stompjs 7, stompjs 2.3 through Stomp.over, and
// webstomp-client 1.2) over sockjs-client 1.6.1, against cmd/sockjsd's
// /stomp, on websocket and on forced HTTP fallbacks. Each client and
// transport: connect (version, heart-beats and user-name negotiated), a
// user destination (/app/echo answers on /user/queue/echo), a topic with
// two subscribers, receipts for SUBSCRIBE, SEND and ACK, a queue with
// client-individual acks (the unacked message is redelivered to the next
// subscriber, the acked one is not), resume after a reconnect (SUBSCRIBE
// naming the last x-offset and x-epoch gets what was missed, then live
// messages), and heart-beats both ways with SockJS's own h frames off.
//
// Environment (run.sh sets it): E2E_SOCKJSD (cmd/sockjsd with
// -heartbeat 1s, so STOMP heart-beats are 1 s too), E2E_STOMP_TRANSPORTS
// (default websocket, xhr-streaming, xhr-polling), E2E_STOMP_CLIENTS
// (default stompjs7, stompjs2, webstomp), E2E_STOMP_TRACE=1 (print each
// step's time, and the clients' logs on a failure).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, newContext } from './lib/browser.js';
import { CLIENT_VERSION } from './lib/harness.js';

const SOCKJSD = process.env.E2E_SOCKJSD;
if (!SOCKJSD) throw new Error('set E2E_SOCKJSD (run.sh does), e.g. E2E_SOCKJSD=http://127.0.0.1:8081');
const list = (v, dflt) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : dflt);
const TRANSPORTS = list(process.env.E2E_STOMP_TRANSPORTS, ['websocket', 'xhr-streaming', 'xhr-polling']);
const CLIENTS = {
  stompjs7: { label: '@stomp/stompjs 7', file: 'node_modules/@stomp/stompjs/bundles/stomp.umd.min.js', version: '1.2' },
  stompjs2: { label: 'stompjs 2.3 (Stomp.over)', file: 'node_modules/stompjs/lib/stomp.min.js', version: '1.1' },
  webstomp: { label: 'webstomp-client 1.2', file: 'node_modules/webstomp-client/dist/webstomp.min.js', version: '1.2' },
};
const CLIENT_NAMES = list(process.env.E2E_STOMP_CLIENTS, Object.keys(CLIENTS));
const HEARTBEAT_MS = 1000; // run.sh's -heartbeat 1s, which /stomp offers and asks for
// What the clients offer and ask for: the rates are the larger of the two
// sides', so 2 s each way, and either side gives up after about twice
// that of silence, which a loaded machine running the browser and the
// servers on two cores stays within.
const CLIENT_HEARTBEAT_MS = 2000;
const T = 10000;

// driver runs in the page: one API over the three clients. Every call
// that sends a frame asks for a RECEIPT and resolves with its headers.
function driver() {
  const clients = {};
  let seq = 0;
  const rid = () => `r${++seq}`;
  const withTimeout = (p, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), 8000))]);

  // adapters: connect(c) resolves with CONNECTED's headers; the rest send.
  const adapters = {
    stompjs7: {
      connect(c, opts) {
        c.client = new StompJs.Client({
          webSocketFactory: () => c.track(new SockJS(opts.url, null, { transports: opts.transports })),
          connectHeaders: opts.login ? { login: opts.login, passcode: 'unused' } : {},
          heartbeatIncoming: opts.heartbeat, heartbeatOutgoing: opts.heartbeat,
          reconnectDelay: 0, debug: (m) => c.log.push(`${Date.now() % 100000} ${m}`),
        });
        const p = new Promise((res, rej) => {
          c.client.onConnect = (f) => res(f.headers);
          c.client.onStompError = (f) => rej(new Error('ERROR ' + f.headers.message));
          c.client.onWebSocketClose = (e) => { c.closed = e.code; rej(new Error('closed ' + e.code)); };
        });
        c.client.activate();
        return p;
      },
      receipt(c, id) { return new Promise((res) => c.client.watchForReceipt(id, (f) => res(f.headers))); },
      subscribe(c, dest, cb, headers) { return c.client.subscribe(dest, cb, headers); },
      send(c, dest, body, headers) { c.client.publish({ destination: dest, body, headers }); },
      disconnect(c) { return c.client.deactivate(); },
    },
    stompjs2: {
      connect(c, opts) {
        c.client = Stomp.over(c.track(new SockJS(opts.url, null, { transports: opts.transports })));
        c.client.debug = null;
        c.client.heartbeat.outgoing = opts.heartbeat;
        c.client.heartbeat.incoming = opts.heartbeat;
        c.client.onreceipt = (f) => c.receipted(f);
        return new Promise((res, rej) => c.client.connect(opts.login ? { login: opts.login, passcode: 'unused' } : {},
          (f) => res(f.headers), (e) => rej(new Error(typeof e === 'string' ? e : 'ERROR ' + e.headers.message))));
      },
      receipt(c, id) { return new Promise((res) => { c.waiters[id] = res; }); },
      subscribe(c, dest, cb, headers) { return c.client.subscribe(dest, cb, headers); },
      send(c, dest, body, headers) { c.client.send(dest, headers, body); },
      disconnect(c) { return new Promise((res) => c.client.disconnect(res)); },
    },
    webstomp: {
      connect(c, opts) {
        c.client = webstomp.over(c.track(new SockJS(opts.url, null, { transports: opts.transports })),
          { heartbeat: { incoming: opts.heartbeat, outgoing: opts.heartbeat }, debug: false });
        c.client.onreceipt = (f) => c.receipted(f);
        return new Promise((res, rej) => c.client.connect(opts.login ? { login: opts.login, passcode: 'unused' } : {},
          (f) => res(f.headers), (e) => rej(new Error(e && e.headers ? 'ERROR ' + e.headers.message : 'closed ' + (e && e.code)))));
      },
      receipt(c, id) { return new Promise((res) => { c.waiters[id] = res; }); },
      subscribe(c, dest, cb, headers) { return c.client.subscribe(dest, cb, headers); },
      send(c, dest, body, headers) { c.client.send(dest, body, headers); },
      disconnect(c) { return new Promise((res) => c.client.disconnect(res)); },
    },
  };

  window.STOMP_E2E = {
    // open connects a client; it returns its id and CONNECTED's headers.
    async open(kind, opts) {
      const id = `c${++seq}`;
      const c = {
        kind, a: adapters[kind], waiters: {}, subs: {}, closed: null,
        log: [], sockjsHeartbeats: 0, stompBeatsIn: 0, transport: null, connectedAt: 0,
        receipted(f) { const w = this.waiters[f.headers['receipt-id']]; if (w) w(f.headers); },
        track(sock) {
          sock.addEventListener('heartbeat', () => { if (this.connectedAt) this.sockjsHeartbeats++; });
          sock.addEventListener('message', (e) => { if (e.data === '\n' || e.data === '\r\n') this.stompBeatsIn++; });
          sock.addEventListener('open', () => { this.transport = sock.transport; });
          sock.addEventListener('close', (e) => { this.log.push(`${Date.now() % 100000} sockjs close ${e.code} ${e.reason}`); if (this.closed === null) this.closed = e.code; });
          return sock;
        },
      };
      clients[id] = c;
      const headers = await withTimeout(c.a.connect(c, opts), `${kind} connect`);
      c.connectedAt = Date.now();
      return { id, headers };
    },
    // subscribe resolves with the SUBSCRIBE's RECEIPT headers.
    async subscribe(id, dest, headers = {}) {
      const c = clients[id];
      const r = rid();
      const got = c.a.receipt(c, r);
      const msgs = [];
      const sub = c.a.subscribe(c, dest, (m) => msgs.push(m), { ...headers, receipt: r });
      c.subs[dest] = { sub, msgs };
      return withTimeout(got, `receipt of SUBSCRIBE ${dest}`);
    },
    async send(id, dest, body, headers = {}) {
      const c = clients[id];
      const r = rid();
      const got = c.a.receipt(c, r);
      c.a.send(c, dest, body, { ...headers, receipt: r });
      return withTimeout(got, `receipt of SEND ${dest}`);
    },
    // messages waits until dest's subscription holds n messages and
    // returns their bodies and headers.
    async messages(id, dest, n) {
      const s = clients[id].subs[dest];
      await withTimeout(new Promise((res) => {
        const poll = () => (s.msgs.length >= n ? res() : setTimeout(poll, 20));
        poll();
      }), `${n} messages on ${dest} (have ${s.msgs.length}: ${s.msgs.map((m) => m.body).join(', ')})`);
      return s.msgs.map((m) => ({ body: m.body, headers: { ...m.headers } }));
    },
    // ack acknowledges the i-th message of dest's subscription, asking
    // for a receipt.
    async ack(id, dest, i) {
      const c = clients[id];
      const r = rid();
      const got = c.a.receipt(c, r);
      c.subs[dest].msgs[i].ack({ receipt: r });
      return withTimeout(got, `receipt of ACK on ${dest}`);
    },
    logs() { return Object.entries(clients).map(([id, c]) => `${id}: ${c.log.join(' | ')}`).join('\n'); },
    stats(id) {
      const c = clients[id];
      return { sockjsHeartbeats: c.sockjsHeartbeats, stompBeatsIn: c.stompBeatsIn, transport: c.transport, closed: c.closed };
    },
    async close(id) { await withTimeout(Promise.resolve(clients[id].a.disconnect(clients[id])), 'disconnect'); },
  };
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// openPage gives a page on sockjsd's own origin (its 404 page) with
// sockjs-client from sockjsd and one STOMP client's file.
async function openPage(ctx, clientName) {
  const page = await ctx.context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  await page.goto(`${SOCKJSD}/__e2e__/stomp.html`);
  await page.addScriptTag({ url: `${SOCKJSD}/echo/sockjs-${CLIENT_VERSION}.min.js` });
  await page.addScriptTag({ content: readFileSync(new URL(CLIENTS[clientName].file, import.meta.url), 'utf8') });
  await page.addScriptTag({ content: `(${driver.toString()})()` });
  return { page, problems };
}

const bodies = (ms) => ms.map((m) => m.body);

for (const clientName of CLIENT_NAMES) {
  const client = CLIENTS[clientName];
  describe(`STOMP: ${client.label}`, () => {
    // One page for every transport: Chromium makes a new page slowly on
    // a loaded machine, and every case makes clients of its own.
    let ctx, page, problems;
    before(async () => {
      ctx = await newContext(browser);
      ({ page, problems } = await openPage(ctx, clientName));
    });
    after(async () => { await ctx?.context.close(); });

    for (const transport of TRANSPORTS) {
      it(`${transport}: connect, receipts, user destinations, topics, client-individual acks, resume, heart-beats`, { timeout: 45000 }, async () => {
        const u = `${clientName}-${transport}-${Date.now().toString(36)}`;
        const login = `u${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
        const opts = { url: `${SOCKJSD}/stomp`, transports: [transport], heartbeat: CLIENT_HEARTBEAT_MS };
        const t0 = Date.now();
        const call = async (fn, ...args) => { const r = await page.evaluate(([fn, args]) => window.STOMP_E2E[fn](...args), [fn, args]); if (process.env.E2E_STOMP_TRACE) console.log(Date.now() - t0, fn, args[1] || ''); return r; };
        try {
          // Connect: the version each client asks for, heart-beats both
          // ways at -heartbeat's 1 s, and the login as user-name.
          const a = await call('open', clientName, { ...opts, login });
          assert.equal(a.headers.version, client.version);
          assert.equal(a.headers['heart-beat'], `${HEARTBEAT_MS},${HEARTBEAT_MS}`);
          assert.equal(a.headers['user-name'], login);
          const b = await call('open', clientName, opts); // anonymous
          assert.equal(b.headers['user-name'], undefined);

          // A user destination: /app/echo answers the sender alone.
          await call('subscribe', a.id, '/user/queue/echo');
          await call('subscribe', b.id, '/user/queue/echo');
          await call('send', a.id, '/app/echo', `echo ${u}`);
          assert.deepEqual(bodies(await call('messages', a.id, '/user/queue/echo', 1)), [`echo ${u}`]);

          // A topic: both subscribers get what b sends, with its offset.
          const topic = `/topic/e2e.${u}`;
          await call('subscribe', a.id, topic);
          await call('subscribe', b.id, topic);
          const sent = await call('send', b.id, topic, 'one');
          assert.equal(sent['x-offset'], '1');
          const [seen] = await call('messages', a.id, topic, 1);
          assert.equal(seen.body, 'one');
          assert.equal(seen.headers['x-offset'], '1');
          assert.equal(seen.headers['x-epoch'], sent['x-epoch']);
          assert.deepEqual(bodies(await call('messages', b.id, topic, 1)), ['one']);

          // A queue with client-individual acks: a holds j1 and j2, acks j2.
          const queue = `/queue/e2e.${u}`;
          await call('subscribe', a.id, queue, { ack: 'client-individual' });
          await call('send', b.id, queue, 'j1');
          await call('send', b.id, queue, 'j2');
          assert.deepEqual(bodies(await call('messages', a.id, queue, 2)), ['j1', 'j2']);
          await call('ack', a.id, queue, 1);

          // Heart-beats: a and b stay connected past several server
          // heart-beats; SockJS sends no h frame once they run (the server
          // would also close a client whose heart-beats stopped coming).
          await page.waitForFunction((id) => window.STOMP_E2E.stats(id).stompBeatsIn >= 1, a.id, { timeout: T });
          const st = await call('stats', a.id);
          assert.equal(st.transport, transport);
          assert.equal(st.sockjsHeartbeats, 0, 'SockJS h frames while STOMP heart-beats run');
          assert.equal(st.closed, null);

          // a goes away without acking j1: the next subscriber gets it,
          // redelivered; j2, acked, never comes again (j3 comes next).
          await call('close', a.id);
          await call('send', b.id, topic, 'two');
          await call('send', b.id, topic, 'three');
          await call('subscribe', b.id, queue, { ack: 'client-individual' });
          const [re] = await call('messages', b.id, queue, 1);
          assert.equal(re.body, 'j1');
          assert.equal(re.headers.redelivered, 'true');
          await call('ack', b.id, queue, 0);
          await call('send', b.id, queue, 'j3');
          assert.deepEqual(bodies(await call('messages', b.id, queue, 2)), ['j1', 'j3']);

          // Resume: a new connection names the last offset and epoch seen
          // and gets what it missed, then live messages.
          const a2 = await call('open', clientName, { ...opts, login });
          const receipt = await call('subscribe', a2.id, topic, { 'x-offset': seen.headers['x-offset'], 'x-epoch': seen.headers['x-epoch'] });
          assert.equal(receipt['x-recovered'], 'true');
          await call('send', b.id, topic, 'four');
          const resumed = await call('messages', a2.id, topic, 3);
          assert.deepEqual(bodies(resumed), ['two', 'three', 'four']);
          assert.deepEqual(resumed.map((m) => m.headers['x-offset']), ['2', '3', '4']);

          assert.equal((await call('stats', b.id)).sockjsHeartbeats, 0);
          await call('close', a2.id);
          await call('close', b.id);
          assert.deepEqual(problems, []);
        } catch (e) {
          if (process.env.E2E_STOMP_TRACE) console.log(await page.evaluate(() => window.STOMP_E2E.logs()));
          throw e;
        } finally {
          problems.length = 0;
        }
      });
    }
  });
}

// The demo page's STOMP chat, as two people use it: each in a browser
// context of their own, on different transports, in one room; what one
// says reaches both under the sender's nickname, and the page breaks no
// CSP rule (@stomp/stompjs comes from the page's own server).
describe('demo page: STOMP chat', () => {
  const people = [];
  after(async () => { for (const p of people) await p.ctx.context.close(); });

  it('two people in a room, on websocket and xhr-polling', { timeout: 45000 }, async () => {
    const room = `r${Date.now().toString(36)}`;
    for (const [nick, transport] of [['ann', 'websocket'], ['bob', 'xhr-polling']]) {
      const ctx = await newContext(browser);
      const page = await ctx.context.newPage();
      const problems = [];
      page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text()) || m.type() === 'error') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      await page.goto(`${SOCKJSD}/?transport=${transport}`);
      await page.fill('#stomp-name', nick);
      await page.fill('#stomp-room', room);
      await page.click('#stomp [data-role=connect]');
      await page.locator('#stomp [data-role=state]').filter({ hasText: 'open' }).waitFor({ timeout: T });
      await page.locator('#stomp-messages li.sys', { hasText: `in /topic/room.${room}` }).waitFor({ timeout: T });
      assert.equal(await page.textContent('#stomp [data-role=transport]'), transport);
      assert.equal(await page.textContent('#stomp [data-role=version]'), '1.2');
      people.push({ nick, ctx, page, problems });
    }
    const [ann, bob] = people;
    await bob.page.fill('#stomp-input', 'hello from bob <b>not bold</b>');
    await bob.page.click('#stomp-send');
    for (const p of people) {
      const li = p.page.locator('#stomp-messages li:not(.sys)').last();
      await li.filter({ hasText: 'hello from bob' }).waitFor({ timeout: T });
      assert.equal(await li.textContent(), 'bob: hello from bob <b>not bold</b>');
    }
    await ann.page.fill('#stomp-input', 'hi bob');
    await ann.page.click('#stomp-send');
    await bob.page.locator('#stomp-messages li', { hasText: 'ann: hi bob' }).waitFor({ timeout: T });
    for (const p of people) {
      await p.page.click('#stomp [data-role=disconnect]');
      await p.page.locator('#stomp [data-role=state]').filter({ hasText: 'closed' }).waitFor({ timeout: T });
      assert.deepEqual(p.problems, [], p.nick);
    }
  });
});
