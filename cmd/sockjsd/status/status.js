// sockjsd status page: polls status.json every second and draws it.
// Plain JavaScript, no dependencies.
'use strict';

(function () {
  const POLL_MS = 1000;
  const SENDERS = new Set(['xhr_send', 'jsonp_send']);
  const $ = (id) => document.getElementById(id);

  const intFmt = new Intl.NumberFormat('en-US');
  const int = (n) => intFmt.format(n);
  function rate(n) {
    if (n === 0) return '0';
    if (n < 10) return n.toFixed(1);
    return intFmt.format(Math.round(n));
  }
  function bytesRate(n) {
    const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 || n >= 100 ? Math.round(n) : n.toFixed(1)) + ' ' + units[i];
  }
  function duration(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    if (d) return `${d}d ${h}h`;
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${s % 60}s`;
    return `${s}s`;
  }
  function setText(id, text) {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  // A table row per name, kept across updates: cells are data-col="...".
  function row(tbody, id, cols, build) {
    let tr = document.getElementById(id);
    if (!tr) {
      tr = document.createElement('tr');
      tr.id = id;
      for (const c of cols) {
        const td = document.createElement(c === 'name' ? 'th' : 'td');
        if (c === 'name') { td.scope = 'row'; td.className = 'name'; } else { td.className = 'num'; }
        td.dataset.col = c;
        tr.appendChild(td);
      }
      build && build(tr);
      tbody.appendChild(tr);
    }
    return tr;
  }
  function cell(tr, col, text, warn) {
    const td = tr.querySelector(`[data-col="${col}"]`);
    if (td.textContent !== text) td.textContent = text;
    td.classList.toggle('warn', !!warn);
  }

  const TRANSPORT_COLS = ['name', 'open', 'opened', 'rate-in', 'rate-out', 'messages-in', 'messages-out', 'heartbeats', 'conflicts', 'slow'];
  function drawTransports(list) {
    const tbody = $('transports').tBodies[0];
    for (const t of list) {
      const tr = row(tbody, 'transport-' + t.name, TRANSPORT_COLS, (tr) => {
        const th = tr.querySelector('[data-col="name"]');
        th.textContent = t.name;
        if (SENDERS.has(t.name)) {
          const tag = document.createElement('span');
          tag.className = 'tag';
          tag.textContent = 'sends';
          th.appendChild(tag);
        }
      });
      const sender = SENDERS.has(t.name);
      const dash = '—';
      cell(tr, 'open', sender ? dash : int(t.open));
      cell(tr, 'opened', sender ? dash : int(t.opened));
      cell(tr, 'rate-in', rate(t.rate.messages_in));
      cell(tr, 'rate-out', sender ? dash : rate(t.rate.messages_out));
      cell(tr, 'messages-in', int(t.messages_in));
      cell(tr, 'messages-out', sender ? dash : int(t.messages_out));
      cell(tr, 'heartbeats', sender ? dash : int(t.heartbeats));
      cell(tr, 'conflicts', sender ? dash : int(t.receiver_conflicts), t.receiver_conflicts > 0);
      cell(tr, 'slow', sender ? dash : int(t.slow_clients), t.slow_clients > 0);
      const active = t.open > 0 || t.rate.messages_in > 0 || t.rate.messages_out > 0;
      tr.classList.toggle('active', active);
      tr.classList.toggle('idle', !active && t.opened === 0 && t.messages_in === 0);
      tr.dataset.open = String(t.open);
    }
  }

  const SERVICE_COLS = ['name', 'open', 'opened', 'rate-in', 'rate-out'];
  function drawServices(list) {
    const tbody = $('services').tBodies[0];
    for (const s of list) {
      const tr = row(tbody, 'service-' + s.name, SERVICE_COLS, (tr) => {
        tr.querySelector('[data-col="name"]').textContent = '/' + s.name;
      });
      cell(tr, 'open', int(s.open));
      cell(tr, 'opened', int(s.opened));
      cell(tr, 'rate-in', rate(s.rate.messages_in));
      cell(tr, 'rate-out', rate(s.rate.messages_out));
      tr.classList.toggle('active', s.open > 0);
      tr.classList.toggle('idle', s.opened === 0);
    }
  }

  function drawRefused(refused) {
    const ul = $('refused');
    let total = 0;
    for (const reason of Object.keys(refused).sort()) {
      const n = refused[reason];
      total += n;
      let li = document.getElementById('refused-' + reason);
      if (!li) {
        li = document.createElement('li');
        li.id = 'refused-' + reason;
        li.append(document.createElement('span'), document.createElement('span'));
        li.firstChild.textContent = reason;
        ul.appendChild(li);
      }
      li.lastChild.textContent = int(n);
      li.classList.toggle('nonzero', n > 0);
    }
    return total;
  }

  // chart draws series (arrays of numbers, oldest first, one point a
  // second) into an SVG whose viewBox is 600×160, scaled to their maximum.
  const SVG = 'http://www.w3.org/2000/svg';
  const W = 600, H = 160, SLOTS = 60;
  function chart(svg, maxEl, series, fmt) {
    let max = 0;
    for (const s of series) for (const v of s.values) max = Math.max(max, v);
    const top = niceCeil(max);
    while (svg.firstChild) svg.firstChild.remove();
    for (const f of [0.25, 0.5, 0.75]) {
      const l = document.createElementNS(SVG, 'line');
      l.setAttribute('x1', 0); l.setAttribute('x2', W);
      l.setAttribute('y1', H * f); l.setAttribute('y2', H * f);
      l.setAttribute('class', 'grid');
      svg.appendChild(l);
    }
    for (const s of series) {
      const vals = s.values.slice(-SLOTS);
      if (vals.length === 0) continue;
      const x0 = W - (vals.length - 1) * (W / (SLOTS - 1));
      const pts = vals.map((v, i) => [x0 + i * (W / (SLOTS - 1)), H - 2 - (v / top) * (H - 8)]);
      const line = pts.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ');
      const area = document.createElementNS(SVG, 'polygon');
      area.setAttribute('points', `${pts[0][0].toFixed(1)},${H} ${line} ${W},${H}`);
      area.setAttribute('class', 'area ' + s.cls);
      svg.appendChild(area);
      const pl = document.createElementNS(SVG, 'polyline');
      pl.setAttribute('points', line);
      pl.setAttribute('class', 'line ' + s.cls);
      svg.appendChild(pl);
    }
    maxEl.textContent = 'max ' + fmt(top);
  }
  function niceCeil(v) {
    if (v <= 1) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function draw(st) {
    const t = st.total;
    setText('status-uptime', duration(st.uptime_seconds));
    setText('status-go', st.go_version);
    setText('status-goroutines', int(st.goroutines));
    setText('status-window', String(Math.round(st.window_seconds)));
    const upd = $('status-updated');
    upd.dateTime = st.now;
    upd.textContent = new Date(st.now).toLocaleTimeString();

    setText('sessions-open', int(t.open));
    setText('sessions-rate', rate(t.rate.sessions_opened));
    setText('sessions-opened', int(t.opened));
    setText('rate-in', rate(t.rate.messages_in));
    setText('rate-bytes-in', bytesRate(t.rate.bytes_in));
    setText('messages-in', int(t.messages_in));
    setText('rate-out', rate(t.rate.messages_out));
    setText('rate-bytes-out', bytesRate(t.rate.bytes_out));
    setText('messages-out', int(t.messages_out));

    const refusedTotal = drawRefused(st.refused);
    for (const [id, n] of [['slow-clients', t.slow_clients], ['receiver-conflicts', t.receiver_conflicts], ['refused-total', refusedTotal]]) {
      setText(id, int(n));
      $(id).classList.toggle('nonzero', n > 0);
    }
    drawTransports(st.transports);
    drawServices(st.services);

    $('link-metrics').hidden = !st.endpoints.metrics;
    $('link-pprof').hidden = !st.endpoints.pprof;

    const h = st.history;
    chart($('chart-messages'), $('chart-messages-max'), [
      { values: h.messages_in, cls: 'in' },
      { values: h.messages_out, cls: 'out' },
    ], rate);
    chart($('chart-sessions'), $('chart-sessions-max'), [{ values: h.open, cls: 'open' }], int);
  }

  function setLive(state, text) {
    const el = $('status-live');
    el.dataset.state = state;
    setText('status-live-text', text);
  }

  let failures = 0;
  async function poll() {
    try {
      const resp = await fetch('status.json', { cache: 'no-store' });
      if (!resp.ok) throw new Error(`status.json: HTTP ${resp.status}`);
      const st = await resp.json();
      draw(st);
      failures = 0;
      setLive('live', 'Live');
      $('status-error').hidden = true;
    } catch (err) {
      failures++;
      setLive('offline', 'Offline');
      const e = $('status-error');
      e.textContent = `Cannot reach the server (${err.message}); retrying every second. The numbers below are from the last answer.`;
      e.hidden = failures < 2;
    }
    setTimeout(poll, POLL_MS);
  }
  poll();
})();
