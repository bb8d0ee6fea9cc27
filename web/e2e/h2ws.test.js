// Websockets over HTTP/2 (RFC 8441): against a sockjsd serving TLS with
// extended CONNECT offered (GODEBUG=http2xconnect=1), Chromium opens its
// websocket as a CONNECT on the page's HTTP/2 connection, and sockjs-client
// must get the websocket transport, not a fallback. That the handshake went
// over HTTP/2 is read from Chromium's DevTools protocol: the answer to an
// HTTP/2 websocket handshake is 200, where HTTP/1.1's is 101.
//
// Environment: E2E_TLS_XCONNECT, set by run.sh.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newContext } from './lib/browser.js';
import { CLIENT_VERSION } from './lib/harness.js';

const BASE = process.env.E2E_TLS_XCONNECT;
const T = 10000;

describe('websocket over HTTP/2', { skip: !BASE && 'E2E_TLS_XCONNECT is not set' }, () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  for (const framed of [true, false]) {
    const opts = {};
    it(framed ? 'sockjs-client uses the websocket transport, over h2' : 'the raw endpoint, over h2', opts, async () => {
      const ctx = await newContext(browser);
      try {
        const page = await ctx.context.newPage();
        const problems = [];
        page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
        const cdp = await ctx.context.newCDPSession(page);
        await cdp.send('Network.enable');
        const handshakes = [];
        cdp.on('Network.webSocketHandshakeResponseReceived', (e) => handshakes.push(e.response.status));
        await page.goto(`${BASE}/`);
        let got;
        if (framed) {
          await page.addScriptTag({ url: `${BASE}/echo/sockjs-${CLIENT_VERSION}.min.js` });
          got = await page.evaluate((base) => new Promise((resolve, reject) => {
            const sock = new SockJS(base + '/echo', null, { transports: ['websocket'] });
            const timer = setTimeout(() => reject(new Error('no echo')), 8000);
            sock.onopen = () => sock.send('over h2');
            sock.onmessage = (e) => { clearTimeout(timer); resolve({ transport: sock.transport, data: e.data }); sock.close(); };
            sock.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
          }), BASE);
          assert.equal(got.transport, 'websocket', 'sockjs-client did not use the websocket transport');
        } else {
          got = await page.evaluate((base) => new Promise((resolve, reject) => {
            const ws = new WebSocket(base.replace(/^https/, 'wss') + '/echo/websocket');
            const timer = setTimeout(() => reject(new Error('no echo')), 8000);
            ws.onopen = () => ws.send('over h2');
            ws.onmessage = (e) => { clearTimeout(timer); resolve({ data: e.data }); ws.close(); };
            ws.onerror = () => reject(new Error('websocket error'));
          }), BASE);
        }
        assert.equal(got.data, 'over h2');
        assert.deepEqual(handshakes, [200], `websocket handshake statuses ${JSON.stringify(handshakes)}: want one, 200 (HTTP/2), not 101 (HTTP/1.1)`);
        assert.deepEqual(problems, []);
      } finally {
        await ctx.context.close();
      }
    });
  }
});
