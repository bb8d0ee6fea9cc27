// Drives the demo page that cmd/sockjsd serves at "/" the way a person
// would: pick a transport, connect, send, read the echo, chat, get closed.
//
// Environment: E2E_SOCKJSD (base URL of cmd/sockjsd; run.sh sets it),
// E2E_HEARTBEAT_MS (its heartbeat interval), E2E_TRANSPORTS, E2E_ORIGINS.
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
        await page.locator('#chat-messages li.sys', { hasText: `t-${transport} joined over ${transport}` }).waitFor({ timeout: T });
        await page.fill('#chat-input', `hello from ${transport} ${TYPED}`);
        await page.press('#chat-input', 'Enter');
        // My own message turns from pending to delivered when the broadcast comes back.
        const mine = page.locator('#chat-messages li.out');
        await mine.first().waitFor({ timeout: T });
        try {
          await page.locator('#chat-messages li.out:not(.pending)').first().waitFor({ timeout: T });
        } catch (e) {
          assert.fail('my chat message never came back from /broadcast' + await why());
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
