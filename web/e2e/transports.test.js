// Every transport Chromium can run, against real servers, from a page on the
// server's own origin and from a page on another origin (and site).
//
// Environment (run.sh sets it):
//   E2E_TESTSERVER   base URL of cmd/sockjs-testserver (/echo has a 4096-byte
//                    response limit, /close closes with 3000 "Go away!")
//   E2E_SOCKJSD      base URL of cmd/sockjsd (/echo, /broadcast, /close)
//   E2E_HEARTBEAT_MS both servers' heartbeat interval, if short enough to
//                    wait for (run.sh starts them with -heartbeat 1s)
//   E2E_NGINX, E2E_HAPROXY  base URLs of nginx and haproxy in front of
//                    another cmd/sockjsd (web/e2e/proxy/ has their configs)
//   E2E_PROXIED_HEARTBEAT_MS  that sockjsd's heartbeat (run.sh: 25 s, the
//                    production default, so a buffering proxy stalls streams
//                    past the echo tests' 8 s of patience)
//   E2E_TRANSPORTS   comma-separated subset of transports (default: all)
//   E2E_ORIGINS      "same", "cross" or "same,cross" (default)
//   E2E_TARGETS      comma-separated subset of testserver, sockjsd, nginx,
//                    haproxy (default: every one whose URL is set)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newContext } from './lib/browser.js';
import { startPageServer, openHarness } from './lib/harness.js';
import { HOSTILE, big, numbered, describeMismatch } from './lib/messages.js';

const ALL_TRANSPORTS = [
  'websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'iframe-eventsource',
  'htmlfile', 'iframe-htmlfile', 'iframe-xhr-polling', 'jsonp-polling',
];
// The request that carries server → client frames, per transport.
const RECEIVER = {
  'xhr-streaming': 'xhr_streaming', eventsource: 'eventsource', 'iframe-eventsource': 'eventsource',
  htmlfile: 'htmlfile', 'iframe-htmlfile': 'htmlfile',
  'xhr-polling': 'xhr', 'iframe-xhr-polling': 'xhr', 'jsonp-polling': 'jsonp',
};
const STREAMING = new Set(['xhr-streaming', 'eventsource', 'iframe-eventsource', 'htmlfile', 'iframe-htmlfile']);

const list = (v, dflt) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : dflt);
const TRANSPORTS = list(process.env.E2E_TRANSPORTS, ALL_TRANSPORTS);
const ORIGINS = list(process.env.E2E_ORIGINS, ['same', 'cross']);

const TARGETS = [
  {
    name: 'testserver',
    base: process.env.E2E_TESTSERVER,
    responseLimit: 4096,
    heartbeatMs: Number(process.env.E2E_HEARTBEAT_MS || 0),
  },
  { name: 'sockjsd', base: process.env.E2E_SOCKJSD, responseLimit: 0, heartbeatMs: Number(process.env.E2E_HEARTBEAT_MS || 0) },
  // sockjsd serving TLS itself: HTTP/2 for the HTTP transports.
  { name: 'tls', label: 'sockjsd over TLS', base: process.env.E2E_TLS, responseLimit: 0, heartbeatMs: Number(process.env.E2E_HEARTBEAT_MS || 0), h2: true },
  // The same services through real reverse proxies, configured as most
  // guides say (nginx: buffering and gzip on). The heartbeat test runs only
  // where the heartbeat is short enough to wait for.
  ...['nginx', 'haproxy'].map((name) => ({
    name,
    label: `${name} → sockjsd`,
    base: process.env[`E2E_${name.toUpperCase()}`],
    responseLimit: 0,
    heartbeatMs: Number(process.env.E2E_PROXIED_HEARTBEAT_MS || 0),
  })),
].filter((t) => t.base && (!process.env.E2E_TARGETS || list(process.env.E2E_TARGETS, []).includes(t.name)));

if (TARGETS.length === 0) {
  throw new Error('set E2E_TESTSERVER, E2E_SOCKJSD, E2E_NGINX or E2E_HAPROXY (run.sh does), e.g. E2E_TESTSERVER=http://127.0.0.1:8081'
    + (process.env.E2E_TARGETS ? `, for one of E2E_TARGETS=${process.env.E2E_TARGETS}` : ''));
}

let browser;
let pageServer;
before(async () => {
  browser = await launch();
  pageServer = await startPageServer();
});
after(async () => {
  await browser?.close();
  await pageServer?.close();
});

// inPage runs fn(probe, arg) in the page against the probe E2E.probes[idx].
async function inPage(h, idx, fn, arg) {
  return h.page.evaluate(
    async ({ idx, src, arg }) => {
      const probe = window.E2E.probes[idx];
      // eslint-disable-next-line no-new-func
      const f = new Function('return (' + src + ')')();
      return f(probe, arg, window.E2E);
    },
    { idx, src: fn.toString(), arg },
  );
}

async function connect(h, url, transport, timeoutMs = 20000) {
  return h.page.evaluate(
    async ({ url, transport, timeoutMs }) => {
      const p = window.E2E.connect(url, transport ? [transport] : null);
      await p.until(() => p.transport || p.close, timeoutMs);
      return { idx: window.E2E.probes.length - 1, state: p.state() };
    },
    { url, transport, timeoutMs },
  );
}

// echo sends msgs in bursts (all of a burst in one go, then a pause) and
// waits until as many messages have come back, the socket closed, or no
// message arrived for idleMs (a lost message; heartbeats do not count).
async function echo(h, idx, msgs, { burst = msgs.length, pauseMs = 0, idleMs = 8000, timeoutMs = 60000 } = {}) {
  return inPage(h, idx, async (p, { msgs, burst, pauseMs, idleMs, timeoutMs }, E2E) => {
    const start = p.received.length;
    const t0 = performance.now();
    for (let i = 0; i < msgs.length; i += burst) {
      if (p.sock.readyState !== 1) break;
      for (const m of msgs.slice(i, i + burst)) p.sock.send(m);
      if (pauseMs && i + burst < msgs.length) await E2E.sleep(pauseMs);
    }
    let seen = -1;
    let since = performance.now();
    while (p.received.length - start < msgs.length && !p.close) {
      if (p.received.length !== seen) { seen = p.received.length; since = performance.now(); }
      const now = performance.now();
      if (now - since > idleMs || now - t0 > timeoutMs) break;
      await p.until(() => p.received.length !== seen || p.close, 100);
    }
    // Give stray duplicates a moment to show up.
    await E2E.sleep(50);
    return { got: p.received.slice(start), state: p.state() };
  }, { msgs, burst, pauseMs, idleMs, timeoutMs });
}

function report(h, ctx, state, extra = '') {
  return [
    extra,
    `page ${h.pageOrigin}, server ${h.base}`,
    `browser saw: ${JSON.stringify(state)}`,
    h.diag.length ? 'page diagnostics:\n  ' + h.diag.slice(-10).join('\n  ') : '',
    'last requests:\n  ' + ctx.recentRequests().split('\n').join('\n  '),
  ].filter(Boolean).join('\n');
}

for (const target of TARGETS) {
  for (const origin of ORIGINS) {
    for (const transport of TRANSPORTS) {
      // sockjs-client uses htmlfile only on the page's own origin.
      if (transport === 'htmlfile' && origin !== 'same') continue;

      describe(`${target.label || target.name} · ${transport} · ${origin}-origin`, () => {
        let ctx;
        let h;
        let idx = -1;
        let opened = false;

        before(async () => {
          ctx = await newContext(browser);
          h = await openHarness(ctx.context, { mode: origin, server: target.base, pageServer });
        });
        after(async () => { await ctx?.context.close(); });

        const needOpen = () => {
          if (!opened) assert.fail('the session never opened (see the first failure of this group)');
        };

        it('opens with the forced transport', async () => {
          const r = await connect(h, `${h.base}/echo`, transport);
          idx = r.idx;
          assert.equal(r.state.transport, transport,
            report(h, ctx, r.state, `sock.transport is ${r.state.transport}, want ${transport}`));
          opened = true;
        });

        it('echoes hostile messages complete and in order', async () => {
          needOpen();
          // 1. every hostile message in one burst (batched into few frames)
          let r = await echo(h, idx, HOSTILE);
          let diff = describeMismatch(HOSTILE, r.got);
          assert.equal(diff, '', report(h, ctx, r.state, 'hostile burst: ' + diff));
          // 2. big messages, one by one and then together
          const bigs = [big(300 * 1024, 'A'), '', big(100 * 1024, 'B')];
          r = await echo(h, idx, bigs, { burst: 1, pauseMs: 0 });
          diff = describeMismatch(bigs, r.got);
          assert.equal(diff, '', report(h, ctx, r.state, 'big messages: ' + diff));
          // 3. many small numbered messages, in bursts of uneven size
          const many = numbered('n', 300, 24);
          r = await echo(h, idx, many, { burst: 37, pauseMs: 3 });
          diff = describeMismatch(many, r.got);
          assert.equal(diff, '', report(h, ctx, r.state, '300 numbered messages: ' + diff));
          assert.equal(r.state.pwned, null, report(h, ctx, r.state, 'a message was executed as script'));
          assert.equal(r.state.close, null, report(h, ctx, r.state, 'the session closed while echoing'));
        });

        if (target.responseLimit) {
          it(`passes the ${target.responseLimit}-byte response limit without losing a message`, async () => {
            needOpen();
            const suffix = '/' + RECEIVER[transport];
            const receivers = () => ctx.requests.filter((e) => e.method !== 'OPTIONS' && new URL(e.url).pathname.endsWith(suffix)).length;
            const before = RECEIVER[transport] ? receivers() : 0;
            // ~12 response limits' worth, sent as a slow trickle and in bursts
            const msgs = numbered('limit', 48, 1024);
            const r = await echo(h, idx, msgs, { burst: 4, pauseMs: 25 });
            const diff = describeMismatch(msgs, r.got);
            assert.equal(diff, '', report(h, ctx, r.state, 'across response limits: ' + diff));
            if (STREAMING.has(transport)) {
              const streams = receivers() - before;
              assert.ok(streams >= 2, report(h, ctx, r.state,
                `only ${streams} new ${RECEIVER[transport]} request(s) while 48 KiB went through: the response limit was never reached`));
            }
          });
        }

        if (target.heartbeatMs && target.heartbeatMs <= 5000) {
          it('delivers heartbeats', async () => {
            needOpen();
            const wait = target.heartbeatMs * 3 + 1000;
            // The session has been open for a few heartbeat intervals by now;
            // wait only if none has been seen yet.
            const state = await inPage(h, idx, async (p, ms) => {
              await p.until(() => p.heartbeats > 0 || p.close, ms);
              return { ...p.state(), openFor: Math.round(performance.now() - p.started) };
            }, wait);
            assert.ok(state.heartbeats > 0,
              report(h, ctx, state, `no 'heartbeat' event in the ${state.openFor} ms the session was open (server heartbeat ${target.heartbeatMs} ms)`));
          });
        }

        // (Resource timing hides the protocol of cross-origin requests.)
        if (target.h2 && transport !== 'websocket' && origin === 'same') {
          it('goes over HTTP/2', async () => {
            needOpen();
            // Every request to the server this page made, by protocol.
            const protos = await h.page.evaluate((base) => {
              const seen = {};
              const look = (w) => {
                let entries = [];
                try { entries = w.performance.getEntriesByType('resource'); } catch { return; } // a cross-origin frame
                for (const e of entries) if (e.name.startsWith(base)) seen[e.nextHopProtocol] = (seen[e.nextHopProtocol] || 0) + 1;
                for (let i = 0; i < w.frames.length; i++) look(w.frames[i]);
              };
              look(window);
              return seen;
            }, h.base);
            assert.ok(protos.h2 > 0 && Object.keys(protos).every((p) => p === 'h2'),
              report(h, ctx, { protos }, `requests to ${h.base} by protocol: ${JSON.stringify(protos)}, want h2 only`));
          });
        }

        it('client close gives 1000 "Normal closure"', async () => {
          needOpen();
          const state = await inPage(h, idx, async (p) => {
            const before = p.sock.readyState;
            p.sock.close();
            await p.until(() => p.close, 5000);
            return { ...p.state(), before };
          });
          assert.equal(state.before, 1, report(h, ctx, state, 'the session was no longer open when the client closed it'));
          assert.deepEqual(state.close, { code: 1000, reason: 'Normal closure', wasClean: true }, report(h, ctx, state));
        });

        it('server close gives 3000 "Go away!"', async () => {
          const r = await connect(h, `${h.base}/close`, transport);
          let state = r.state;
          if (!state.close) {
            state = await inPage(h, r.idx, async (p) => { await p.until(() => p.close, 10000); return p.state(); });
          }
          assert.deepEqual(state.events.slice(0, 1), [`open ${transport}`], report(h, ctx, state, 'the /close session did not open first'));
          assert.deepEqual(state.close, { code: 3000, reason: 'Go away!', wasClean: true }, report(h, ctx, state));
        });
      });
    }
  }
}

// What the client picks by itself, and the testserver's other services.
const testserver = TARGETS.find((t) => t.name === 'testserver');
if (testserver) {
  for (const origin of ORIGINS) {
    describe(`testserver · services · ${origin}-origin`, () => {
      let ctx;
      let h;
      before(async () => {
        ctx = await newContext(browser);
        h = await openHarness(ctx.context, { mode: origin, server: testserver.base, pageServer });
      });
      after(async () => { await ctx?.context.close(); });

      it('with no transport forced, the client picks websocket', async () => {
        const r = await connect(h, `${h.base}/echo`, null);
        assert.equal(r.state.transport, 'websocket', report(h, ctx, r.state));
      });

      it('/disabled_websocket_echo: the client skips websocket and echoes over xhr-streaming', async () => {
        const r = await connect(h, `${h.base}/disabled_websocket_echo`, null);
        assert.equal(r.state.transport, 'xhr-streaming', report(h, ctx, r.state));
        const e = await echo(h, r.idx, HOSTILE.slice(0, 20));
        assert.equal(describeMismatch(HOSTILE.slice(0, 20), e.got), '', report(h, ctx, e.state));
      });

      for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'jsonp-polling']) {
        it(`/cookie_needed_echo over ${transport}`, async () => {
          const r = await connect(h, `${h.base}/cookie_needed_echo`, transport);
          assert.equal(r.state.transport, transport, report(h, ctx, r.state));
          const msgs = numbered('cookie', 30, 40);
          const e = await echo(h, r.idx, msgs, { burst: 5, pauseMs: 5 });
          assert.equal(describeMismatch(msgs, e.got), '', report(h, ctx, e.state));
          await inPage(h, r.idx, async (p) => { p.sock.close(); });
        });
      }
    });
  }
}
