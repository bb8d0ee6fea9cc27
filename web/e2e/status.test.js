// The operator's live status page (cmd/sockjsd's admin server, /status):
// a session opened in another tab must show up in it, by transport, within
// a couple of refreshes, and leave it when closed.
//
// Environment: E2E_STATUS_SOCKJSD and E2E_STATUS_ADMIN, a cmd/sockjsd and
// its admin server that no other test uses, so the counts are exact
// (run.sh sets both).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newContext } from './lib/browser.js';
import { CLIENT_VERSION } from './lib/harness.js';

const SOCKJSD = process.env.E2E_STATUS_SOCKJSD;
const ADMIN = process.env.E2E_STATUS_ADMIN;
const T = 10000;

describe('status page', { skip: !(SOCKJSD && ADMIN) && 'E2E_STATUS_SOCKJSD / E2E_STATUS_ADMIN are not set' }, () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  it('shows live sessions and messages by transport', async () => {
    const ctx = await newContext(browser);
    try {
      const status = await ctx.context.newPage();
      const problems = [];
      status.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
      await status.goto(`${ADMIN}/status`);
      await status.locator('#status-live[data-state=live]').waitFor({ timeout: T });
      const cell = (col) => `#transport-websocket [data-col=${col}]`;
      const number = (sel) => status.evaluate((s) => Number(document.querySelector(s)?.textContent.replace(/[^0-9]/g, '') || NaN), sel);

      // A client in another tab: a websocket session on /echo, kept open.
      const client = await ctx.context.newPage();
      await client.goto(`${SOCKJSD}/`);
      await client.addScriptTag({ url: `${SOCKJSD}/echo/sockjs-${CLIENT_VERSION}.min.js` });
      await client.evaluate((base) => new Promise((resolve, reject) => {
        const sock = new SockJS(base + '/echo', null, { transports: ['websocket'] });
        window.sock = sock;
        sock.onopen = () => { for (let i = 0; i < 5; i++) sock.send('m' + i); resolve(); };
        sock.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
      }), SOCKJSD);

      const showsText = (sel, want) => status.waitForFunction(
        ([s, w]) => document.querySelector(s)?.textContent.trim() === w, [sel, want], { timeout: T });
      await assert.doesNotReject(showsText(cell('open'), '1'), 'the open websocket session never showed up');
      await assert.doesNotReject(showsText('#sessions-open', '1'), 'the summary does not count the session');
      await assert.doesNotReject(showsText(cell('messages-in'), '5'), 'the 5 messages received were not counted');

      await client.evaluate(() => window.sock.close());
      await assert.doesNotReject(showsText(cell('open'), '0'), 'the closed session stayed on the status page');
      assert.ok(await number(cell('messages-out')) >= 5, 'the echoes were not counted');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.context.close();
    }
  });
});
