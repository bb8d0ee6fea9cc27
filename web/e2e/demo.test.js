// Drives the demo page that cmd/sockjsd serves at "/" the way a person
// would: pick a transport, connect, send, read the echo, chat, get closed;
// and two (three) people chatting in rooms, each in a browser context of
// their own.
//
// Environment: E2E_SOCKJSD (base URL of cmd/sockjsd; run.sh sets it),
// E2E_HEARTBEAT_MS (its heartbeat interval), E2E_TRANSPORTS, E2E_ORIGINS,
// E2E_CHAT_TRANSPORTS (the rooms test's; default websocket and xhr-polling).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newContext } from './lib/browser.js';
import { crossOriginOf, CLIENT_VERSION } from './lib/harness.js';

const SOCKJSD = process.env.E2E_SOCKJSD;
const HEARTBEAT_MS = Number(process.env.E2E_HEARTBEAT_MS || 0);
const list = (v, dflt) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : dflt);
const TRANSPORTS = list(process.env.E2E_TRANSPORTS, [
  'websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'iframe-eventsource',
  'htmlfile', 'iframe-htmlfile', 'iframe-xhr-polling', 'jsonp-polling',
]);
const ORIGINS = list(process.env.E2E_ORIGINS, ['same', 'cross']);
const CHAT_TRANSPORTS = list(process.env.E2E_CHAT_TRANSPORTS, ['websocket', 'xhr-polling']);
const T = 10000;

// What a person might type: markup, quotes, backslashes, non-BMP, U+2028.
const TYPED = '</script><b>x</b> "q" \'s\' \\ 😀 𝌆 \u2028 é';

if (!SOCKJSD) throw new Error('set E2E_SOCKJSD (run.sh does), e.g. E2E_SOCKJSD=http://127.0.0.1:8081');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// openDemo loads the page; with origin 'cross' the page (on 127.0.0.1)
// talks to the same server as localhost, through ?server=.
async function openDemo(ctx, { transport, origin }) {
  const page = await ctx.context.newPage();
  const problems = [];
  page.on('pageerror', (e) => {
    // sockjs-client forgets a receiver's callback (_jp.aXXXXXX) when the
    // socket closes, even while a poll or a new htmlfile iframe it started
    // is still loading; when that response arrives, its script calls the
    // missing callback: "_jp.a… is not a function" (jsonp), or htmlfile's
    // "c.start()" / "c.message()" on undefined. The client's own race,
    // harmless, and not the server's to avoid: ignored for those transports.
    if (transport === 'jsonp-polling' && /^_jp\.a[0-9a-z]{6} is not a function$/.test(e.message)) return;
    if (/htmlfile/.test(transport) && /^Cannot read properties of undefined \(reading '(start|message|stop)'\)$/.test(e.message)) return;
    problems.push('pageerror: ' + e.message);
  });
  page.on('console', (m) => {
    const t = m.text();
    // A CSP violation, or any script error, is a bug in the page.
    if (/Content Security Policy|Refused to/i.test(t) || m.type() === 'error' && !/Failed to load resource/.test(t)) {
      problems.push(`console.${m.type()}: ${t}`);
    }
  });
  const q = new URLSearchParams({ transport });
  if (origin === 'cross') q.set('server', crossOriginOf(SOCKJSD));
  await page.goto(`${SOCKJSD}/?${q}`);
  return { page, problems };
}

const stateOf = (page, card) => page.locator(`#${card} [data-role=state]`);

describe('demo page basics', () => {
  let ctx;
  before(async () => { ctx = await newContext(browser); });
  after(async () => { await ctx?.context.close(); });

  it('loads sockjs-client from the server and lists every transport', async () => {
    const { page, problems } = await openDemo(ctx, { transport: 'websocket', origin: 'same' });
    const srcs = await page.$$eval('script[src]', (s) => s.map((x) => x.src));
    assert.ok(srcs.includes(`${SOCKJSD}/echo/sockjs-${CLIENT_VERSION}.min.js`), `scripts: ${srcs.join(', ')}`);
    assert.equal(await page.evaluate(() => window.SockJS && window.SockJS.version), CLIENT_VERSION);
    const options = await page.$$eval('#transport option', (o) => o.map((x) => x.value));
    assert.deepEqual(options, ['', 'websocket', 'xhr-streaming', 'xdr-streaming', 'eventsource',
      'iframe-eventsource', 'htmlfile', 'iframe-htmlfile', 'xhr-polling', 'xdr-polling',
      'iframe-xhr-polling', 'jsonp-polling']);
    assert.equal(await page.inputValue('#transport'), 'websocket', '?transport= preselects the picker');
    assert.equal(await page.locator('#load-error').isHidden(), true);
    assert.deepEqual(problems, []);
  });

  it('a transport this browser lacks ends in 2000 "All transports failed"', async () => {
    const { page } = await openDemo(ctx, { transport: 'xdr-streaming', origin: 'same' });
    await page.locator('#transport-hint.unavailable').waitFor({ timeout: T });
    await page.click('#echo [data-role=connect]');
    await page.locator('#echo [data-role=state][data-state=failed]').waitFor({ timeout: T });
    assert.equal(await page.textContent('#echo [data-role=close]'), '2000 "All transports failed"');
  });

  it('Ping ×20 measures round trips, and heartbeats are counted', async () => {
    const { page, problems } = await openDemo(ctx, { transport: 'websocket', origin: 'same' });
    await page.click('#echo [data-role=connect]');
    await page.locator('#echo [data-role=state][data-state=open]').waitFor({ timeout: T });
    await page.click('#echo-ping');
    await page.waitForFunction(() => document.querySelector('#rtt-n').textContent === '20', null, { timeout: T });
    await page.locator('#echo-messages li.sys', { hasText: '20 pings: min' }).waitFor({ timeout: T });
    for (const k of ['last', 'avg', 'min', 'max']) {
      assert.match(await page.textContent(`#rtt-${k}`), /^\d+(\.\d+)? ms$/, `#rtt-${k}`);
    }
    if (HEARTBEAT_MS && HEARTBEAT_MS <= 5000) {
      await page.waitForFunction(() => !/^0/.test(document.querySelector('#echo [data-role=heartbeats]').textContent),
        null, { timeout: HEARTBEAT_MS * 3 + 1000 });
    }
    assert.deepEqual(problems, []);
  });
});

for (const origin of ORIGINS) {
  describe(`demo page · ${origin}-origin`, () => {
    let ctx;
    before(async () => { ctx = await newContext(browser); });
    after(async () => { await ctx?.context.close(); });

    for (const transport of TRANSPORTS) {
      if (transport === 'htmlfile' && origin !== 'same') continue;

      it(`${transport}: echo, chat and server close through the UI`, async () => {
        const { page, problems } = await openDemo(ctx, { transport, origin });
        const why = async () => `\nevent log:\n  ${(await page.$$eval('#log li', (l) => l.map((x) => x.textContent))).slice(-8).join('\n  ')}` +
          (problems.length ? `\nproblems:\n  ${problems.join('\n  ')}` : '') + `\nlast requests:\n  ${ctx.recentRequests(8).split('\n').join('\n  ')}`;
        const open = async (card) => {
          try {
            await page.locator(`#${card} [data-role=state][data-state=open]`).waitFor({ timeout: T });
          } catch (e) {
            assert.fail(`${card} did not open: state ${await stateOf(page, card).textContent()}, last close ${await page.textContent(`#${card} [data-role=close]`)}${await why()}`);
          }
        };

        // Echo
        await page.click('#echo [data-role=connect]');
        await open('echo');
        assert.equal(await page.textContent('#echo [data-role=transport]'), transport, 'echo card shows the transport in use' + await why());
        await page.fill('#echo-input', TYPED);
        await page.press('#echo-input', 'Enter');
        const echoed = page.locator('#echo-messages li.in .text');
        await echoed.first().waitFor({ timeout: T });
        assert.equal(await echoed.first().textContent(), TYPED, 'the echo shows exactly what was typed' + await why());
        assert.equal(await page.locator('#echo-messages li.mismatch').count(), 0);
        assert.equal(await page.textContent('#rtt-n'), '1');
        assert.equal(await page.inputValue('#echo-input'), '', 'the input is cleared after sending');
        await page.click('#echo [data-role=disconnect]');
        await page.locator('#echo [data-role=state][data-state=closed]').waitFor({ timeout: T });
        assert.equal(await page.textContent('#echo [data-role=close]'), '1000 "Normal closure"');

        // Chat
        await page.fill('#chat-name', `t-${transport}`);
        await page.click('#chat [data-role=connect]');
        await open('chat');
        assert.equal(await page.textContent('#chat [data-role=transport]'), transport);
        await page.locator('#chat-messages li.sys', { hasText: `t-${transport} joined #lobby` }).waitFor({ timeout: T });
        await page.fill('#chat-input', `hello from ${transport} ${TYPED}`);
        await page.press('#chat-input', 'Enter');
        // My own message turns from pending to delivered when the broadcast comes back.
        const mine = page.locator('#chat-messages li.out');
        await mine.first().waitFor({ timeout: T });
        try {
          await page.locator('#chat-messages li.out:not(.pending)').first().waitFor({ timeout: T });
        } catch (e) {
          assert.fail('my chat message never came back from /chat' + await why());
        }
        assert.equal(await mine.first().locator('.text').textContent(), `hello from ${transport} ${TYPED}`);
        await page.click('#chat [data-role=disconnect]');
        await page.locator('#chat [data-role=state][data-state=closed]').waitFor({ timeout: T });

        // Server close
        await page.click('#closer [data-role=connect]');
        try {
          await page.locator('#closer [data-role=close]', { hasText: '3000' }).waitFor({ timeout: T });
        } catch (e) {
          assert.fail('no close from /close' + await why());
        }
        assert.equal(await page.textContent('#closer [data-role=close]'), '3000 "Go away!"');
        assert.match((await page.$$eval('#log li', (l) => l.map((x) => x.textContent))).join('\n'),
          new RegExp(`close.*open, transport ${transport}`), 'the /close session opened first' + await why());
        assert.deepEqual(problems, [], 'no script errors or CSP violations' + await why());
        await page.close();
      });
    }
  });
}

// The chat's rooms, presence, history and private messages between people
// in browser contexts of their own (own cookies and storage).
describe('demo chat: rooms, presence, history, private messages', () => {
  const contexts = [];
  after(async () => { for (const c of contexts) await c.context.close(); });

  // person opens the demo in a context of its own and joins as nick.
  async function person(transport, nick) {
    const ctx = await newContext(browser);
    contexts.push(ctx);
    const { page, problems } = await openDemo(ctx, { transport, origin: 'same' });
    await page.fill('#chat-name', nick);
    await page.click('#chat [data-role=connect]');
    return { ctx, page, problems, nick };
  }
  // joined waits for p's page to show room as the room it is in.
  async function inRoom(p, room) {
    await p.page.locator(`#chat-rooms button.room.joined.active[data-room="${room}"]`).waitFor({ timeout: T });
  }
  async function joinByName(p, room) {
    await p.page.fill('#chat-room', room);
    await p.page.press('#chat-room', 'Enter');
  }
  async function say(p, text, to = '') {
    await p.page.selectOption('#chat-to', to);
    await p.page.fill('#chat-input', text);
    await p.page.press('#chat-input', 'Enter');
  }
  const members = (p) => p.page.$$eval('#chat-members li', (l) => l.map((x) => x.dataset.user));
  const texts = (p, sel) => p.page.$$eval(`#chat-messages ${sel}`, (l) => l.filter((x) => !x.hidden).map((x) => {
    const w = x.querySelector('.who');
    return (w ? w.textContent + ': ' : '') + x.querySelector('.text').textContent;
  }));
  const note = (p, text) => p.page.locator('#chat-messages li.sys:not([hidden])', { hasText: text }).waitFor({ timeout: T });

  for (const transport of CHAT_TRANSPORTS) {
    it(`${transport}: two people in a room, history on join, a private message to one of three`, async () => {
      const tag = `${transport.replace(/[^a-z]/g, '')}${Date.now() % 100000}`;
      const room = `e2e-${tag}`;
      const ann = await person(transport, `ann-${tag}`);
      const why = async () => {
        const ps = [ann, bob, cid].filter(Boolean);
        let s = '';
        for (const p of ps) {
          s += `\n${p.nick}: state ${await stateOf(p.page, 'chat').getAttribute('data-state')}, close ${await p.page.textContent('#chat [data-role=close]')}` +
            `\n  messages: ${(await p.page.$$eval('#chat-messages li', (l) => l.map((x) => x.textContent))).slice(-8).join(' | ')}` +
            (p.problems.length ? `\n  problems: ${p.problems.join('; ')}` : '') +
            `\n  requests:\n    ${p.ctx.recentRequests(6).split('\n').join('\n    ')}`;
        }
        return s;
      };
      let bob, cid;
      try {
        // ann opens, is in the lobby, then joins the test's room and talks.
        await inRoom(ann, 'lobby');
        assert.equal(await ann.page.textContent('#chat [data-role=transport]'), transport);
        await joinByName(ann, room);
        await inRoom(ann, room);
        await note(ann, `${ann.nick} joined #${room}`);
        assert.deepEqual(await members(ann), [ann.nick]);
        for (const t of ['first', 'second <b>2</b>']) {
          await say(ann, t);
        }
        await ann.page.waitForFunction(() => document.querySelectorAll('#chat-messages li.out:not(.pending):not([hidden])').length === 2, null, { timeout: T });

        // bob comes later: the history, then presence on both sides.
        bob = await person(transport, `bob-${tag}`);
        await inRoom(bob, 'lobby');
        await joinByName(bob, room);
        await inRoom(bob, room);
        assert.deepEqual(await texts(bob, 'li.in.history'), [`${ann.nick}: first`, `${ann.nick}: second <b>2</b>`], 'bob sees the history' + await why());
        await note(bob, `earlier messages of #${room} above`);
        assert.deepEqual(await members(bob), [ann.nick, bob.nick].sort());
        await note(ann, `${bob.nick} joined #${room}`);
        await ann.page.locator(`#chat-members li[data-user="${bob.nick}"]`).waitFor({ timeout: T });

        // They talk.
        await say(bob, 'hi ann 😀');
        await ann.page.locator('#chat-messages li.in:not(.history) .text', { hasText: 'hi ann 😀' }).waitFor({ timeout: T });
        assert.deepEqual(await texts(ann, 'li.in'), [`${bob.nick}: hi ann 😀`]);
        await bob.page.locator('#chat-messages li.out:not(.pending)', { hasText: 'hi ann' }).waitFor({ timeout: T });

        // cid joins too; ann whispers to bob: bob has it, cid does not.
        cid = await person(transport, `cid-${tag}`);
        await inRoom(cid, 'lobby');
        await joinByName(cid, room);
        await inRoom(cid, room);
        await ann.page.locator(`#chat-to option[value="${bob.nick}"]`).waitFor({ state: 'attached', timeout: T });
        await say(ann, 'for bob only', bob.nick);
        await ann.page.locator('#chat-messages li.out.private:not(.pending)', { hasText: 'for bob only' }).waitFor({ timeout: T });
        await bob.page.locator('#chat-messages li.in.private', { hasText: 'for bob only' }).waitFor({ timeout: T });
        assert.equal(await bob.page.textContent('#chat-messages li.in.private .who'), `${ann.nick} → you`);
        // A message to the room after it: once cid has that, a private
        // message to cid would have come before it.
        await say(ann, 'after the whisper');
        await cid.page.locator('#chat-messages li.in .text', { hasText: 'after the whisper' }).waitFor({ timeout: T });
        assert.equal(await cid.page.locator('#chat-messages li.private').count(), 0, 'cid got the private message' + await why());
        assert.ok(!(await texts(cid, 'li.in')).some((t) => t.includes('for bob only')));

        // A bad room name is refused with the rule; the session goes on.
        await joinByName(bob, 'Not A Room');
        await bob.page.locator('#chat-messages li.sys.error', { hasText: 'refused: room "Not A Room": a room name is 1 to 32 lowercase letters' }).waitFor({ timeout: T });
        assert.equal(await stateOf(bob.page, 'chat').getAttribute('data-state'), 'open');

        // bob leaves: ann and cid are told.
        await bob.page.click('#chat [data-role=disconnect]');
        await note(ann, `${bob.nick} left #${room}`);
        await note(cid, `${bob.nick} left #${room}`);
        await ann.page.waitForFunction((n) => !document.querySelector(`#chat-members li[data-user="${n}"]`), bob.nick, { timeout: T });
        for (const p of [ann, bob, cid]) assert.deepEqual(p.problems, [], `${p.nick}: no script errors` + await why());
      } catch (e) {
        e.message += await why();
        throw e;
      }
    });

    it(`${transport}: a bad nickname is refused with 4001 and the rule`, async () => {
      const p = await person(transport, 'not ok!');
      await p.page.locator('#chat [data-role=state][data-state=closed]').waitFor({ timeout: T });
      await p.page.locator('#chat [data-role=close]', { hasText: '4001' }).waitFor({ timeout: T });
      assert.equal(await p.page.textContent('#chat [data-role=close]'),
        '4001 "Unauthorized: a nickname is 1 to 24 letters, digits, \'-\', \'_\' or \'.\'"');
      await p.page.locator('#chat-messages li.sys.error', { hasText: 'not let in: Unauthorized' }).waitFor({ timeout: T });
      assert.deepEqual(p.problems, []);
    });
  }
});
