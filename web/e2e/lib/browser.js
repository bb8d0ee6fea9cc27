// Starts Debian's Chromium through playwright-core, which never downloads a
// browser of its own. CHROMIUM overrides the executable's path.
// chromium.launch() gives the browser a new, empty user-data-dir (removed
// when it closes); every test group then opens its own context.
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The TLS target's certificate is made by run.sh for the run.
  '--ignore-certificate-errors',
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

// newContext opens an isolated context (own cookies and cache) and records
// its SockJS requests, for counting streams and for failure reports.
export async function newContext(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const requests = [];
  const entry = (r) => {
    let e = requests.find((x) => x.r === r);
    if (!e) {
      e = { r, method: r.method(), url: r.url(), status: 'pending' };
      requests.push(e);
      if (requests.length > 2000) requests.shift();
    }
    return e;
  };
  context.on('request', (r) => { entry(r); });
  context.on('response', (res) => { entry(res.request()).status = res.status(); });
  context.on('requestfailed', (r) => { entry(r).status = 'failed: ' + (r.failure()?.errorText || '?'); });
  return {
    context,
    requests,
    recentRequests(n = 12) {
      return requests.slice(-n).map((e) => `${e.method} ${e.url.length > 140 ? e.url.slice(0, 140) + '…' : e.url} → ${e.status}`).join('\n');
    },
  };
}
