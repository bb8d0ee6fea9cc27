// The test page: a blank document that loads sockjs-client from the SockJS
// server under test and exposes window.E2E to drive it. It is served either
// by a small node HTTP server on its own port (another origin than the
// SockJS server's) or, for same-origin runs, at a URL on the SockJS server's
// own origin: a page the server itself answered (a 404) whose document is
// then replaced by the harness, so that no request is intercepted.
import http from 'node:http';

export const CLIENT_VERSION = '1.6.1';

// Runs in the browser.
function pageMain() {
  const waiters = new Set();
  const wake = () => { for (const w of [...waiters]) w(); };

  class Probe {
    constructor(url, transports) {
      this.url = url;
      this.received = [];
      this.events = [];
      this.heartbeats = 0;
      this.transport = null;
      this.close = null;
      this.error = null;
      this.started = performance.now();
      try {
        // timeout: sockjs-client gives a transport only about 2-3 round
        // trips of /info to deliver "o" (under a second on loopback), and
        // a loaded 2-core machine starting a cross-site iframe's renderer
        // can take longer than that. The tests are about what the server
        // sends, so give every transport 10 s.
        this.sock = new window.SockJS(url, null, { timeout: 10000, ...(transports ? { transports } : {}) });
      } catch (e) {
        this.error = String(e);
        this.close = { code: -1, reason: 'constructor threw: ' + e, wasClean: false };
        return;
      }
      const s = this.sock;
      s.onopen = () => {
        this.transport = s.transport;
        this.openMs = performance.now() - this.started;
        this.events.push('open ' + s.transport);
        wake();
      };
      s.onmessage = (e) => { this.received.push(e.data); wake(); };
      s.onclose = (e) => {
        this.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
        this.events.push('close ' + e.code + ' ' + JSON.stringify(e.reason));
        wake();
      };
      s.addEventListener('heartbeat', () => {
        // xhr-streaming's prelude (2 KiB of "h") fires a heartbeat event
        // before "o": count only heartbeats of an open socket.
        if (s.readyState !== 1) return;
        this.heartbeats++;
        this.events.push('heartbeat');
        wake();
      });
    }

    // until resolves true when pred() holds, false after ms.
    until(pred, ms) {
      return new Promise((resolve) => {
        if (pred()) return resolve(true);
        let t = null;
        const w = () => {
          if (!pred()) return;
          waiters.delete(w); clearTimeout(t); resolve(true);
        };
        t = setTimeout(() => { waiters.delete(w); resolve(pred()); }, ms);
        waiters.add(w);
      });
    }

    state() {
      return {
        url: this.url,
        transport: this.transport,
        readyState: this.sock ? this.sock.readyState : -1,
        close: this.close,
        events: this.events.filter((e) => e !== 'heartbeat').slice(-20),
        heartbeats: this.heartbeats,
        received: this.received.length,
        openMs: this.openMs,
        pwned: window.__pwned || null,
      };
    }
  }

  window.E2E = {
    probes: [],
    connect(url, transports) {
      const p = new Probe(url, transports);
      this.probes.push(p);
      this.last = p;
      return p;
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

export function harnessHTML(sockjsBase) {
  const src = `${sockjsBase}/echo/sockjs-${CLIENT_VERSION}.min.js`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>sockjsd e2e</title>
<script src="${src}"></script>
<script>(${pageMain.toString()})();</script>
</head><body><p>sockjsd e2e harness: client from ${src}</p></body></html>`;
}

// startPageServer serves the harness on 127.0.0.1 at a free port:
// GET /harness.html?base=<SockJS server base URL>.
export async function startPageServer() {
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname !== '/harness.html' || !u.searchParams.get('base')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(harnessHTML(u.searchParams.get('base')));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${srv.address().port}`,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
  };
}

// crossOrigin turns http://127.0.0.1:PORT into http://localhost:PORT: the
// same server seen from another origin (and another site) than the page's.
export function crossOriginOf(base) {
  const u = new URL(base);
  u.hostname = u.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  return u.origin + u.pathname.replace(/\/+$/, '');
}

// openHarness opens the harness in a new page of context and returns
// { page, base } where base is the SockJS server URL the page must use.
//   mode 'same':  page on the server's own origin
//   mode 'cross': page on pageServer's origin (127.0.0.1:A), SockJS server
//                 reached as localhost:B
export async function openHarness(context, { mode, server, pageServer }) {
  const page = await context.newPage();
  const diag = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') diag.push(`console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => diag.push(`pageerror: ${e.message}`));
  let base;
  let url;
  if (mode === 'same') {
    // A real response from the server (any 404 page will do) gives the
    // document the server's origin and loopback address space; the harness
    // is then written into it. (A page made up by request interception
    // would count as "public", and Chromium's local network access checks
    // then block its websocket to 127.0.0.1.)
    base = server;
    url = `${server}/__e2e__/harness.html`;
    await page.goto(url);
    await page.setContent(harnessHTML(base));
    diag.length = 0; // forget the 404
  } else {
    base = crossOriginOf(server);
    url = `${pageServer.origin}/harness.html?base=${encodeURIComponent(base)}`;
    await page.goto(url);
  }
  const ok = await page.evaluate(() => typeof window.SockJS === 'function' && typeof window.E2E === 'object');
  if (!ok) {
    throw new Error(`harness at ${url} did not get sockjs-client from ${base}/echo/sockjs-${CLIENT_VERSION}.min.js\n${diag.join('\n')}`);
  }
  const version = await page.evaluate(() => window.SockJS.version);
  if (version !== CLIENT_VERSION) throw new Error(`server served sockjs-client ${version}, want ${CLIENT_VERSION}`);
  return { page, base, diag, pageOrigin: new URL(url).origin };
}
