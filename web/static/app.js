// sockjsd demo page. Plain JavaScript, no build step, no dependencies but
// sockjs-client, which the server itself serves (see index.html).
//
// Query parameters:
//   ?transport=NAME   preselect a transport (kept in sync with the picker)
//   ?server=URL       talk to the SockJS services of another server
//                     (default: this page's own origin)
(function () {
  'use strict';

  // Every transport sockjs-client 1.6 knows, in the order it tries them.
  var TRANSPORTS = [
    { name: 'websocket', group: 'Streaming',
      desc: 'One full-duplex WebSocket connection. The fastest, where proxies let it through.' },
    { name: 'xhr-streaming', group: 'Streaming',
      desc: 'One long XMLHttpRequest response carries every message; each send is a POST. Cross-origin through CORS. ' +
        'Browsers report XHR progress at most every 50 ms, which shows in the round trips.' },
    { name: 'xdr-streaming', group: 'Streaming',
      desc: 'xhr-streaming through XDomainRequest, for Internet Explorer 8 and 9.' },
    { name: 'eventsource', group: 'Streaming',
      desc: 'Server-Sent Events (EventSource) to receive, POSTs to send.' },
    { name: 'iframe-eventsource', group: 'Streaming',
      desc: 'EventSource inside a hidden iframe loaded from the SockJS server, for browsers without CORS.' },
    { name: 'htmlfile', group: 'Streaming',
      desc: 'A "forever iframe" whose <script> chunks deliver messages. Same origin only.' },
    { name: 'iframe-htmlfile', group: 'Streaming',
      desc: 'htmlfile run inside a hidden iframe from the SockJS server, so it also works cross-origin.' },
    { name: 'xhr-polling', group: 'Polling',
      desc: 'Long polling with XMLHttpRequest: one request per batch of messages.' },
    { name: 'xdr-polling', group: 'Polling',
      desc: 'xhr-polling through XDomainRequest, for Internet Explorer 8 and 9.' },
    { name: 'iframe-xhr-polling', group: 'Polling',
      desc: 'xhr-polling inside a hidden iframe from the SockJS server.' },
    { name: 'jsonp-polling', group: 'Polling',
      desc: 'JSONP long polling with <script> tags: the last resort, works in every browser down to IE 6.' }
  ];

  var CLOSE_MEANING = {
    1000: 'normal closure',
    1002: 'cannot connect / interrupted',
    1006: 'server lost session',
    2000: 'all transports failed',
    2010: 'another connection still open',
    3000: 'application close'
  };

  var MAX_LIST = 200;       // items kept in a message list
  var MAX_LOG = 400;        // lines kept in the event log
  var SHOW_CHARS = 280;     // characters of a message shown before "…"
  var PINGS = 20;

  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);

  // ---- server and sockjs-client --------------------------------------------

  var base = location.origin;
  var serverParam = params.get('server');
  if (serverParam) {
    try {
      var u = new URL(serverParam, location.href);
      if (u.protocol === 'http:' || u.protocol === 'https:') {
        base = (u.origin + u.pathname).replace(/\/+$/, '');
      }
    } catch (e) { /* keep this page's origin */ }
  }
  var sameOrigin = new URL(base).origin === location.origin;
  $('server-base').textContent = base;
  $('info-link').href = base + '/echo/info';

  if (typeof window.SockJS !== 'function') {
    var err = $('load-error');
    var src = document.querySelector('script[src*="sockjs-"]');
    err.textContent = 'sockjs-client did not load from ' + (src ? src.src : 'the server') +
      '. Is sockjsd running, with its /echo service?';
    err.hidden = false;
  } else {
    $('client-version').textContent = window.SockJS.version || $('client-version').textContent;
  }

  // ---- event log ------------------------------------------------------------

  var logList = $('log');
  function pad(n, w) { n = String(n); while (n.length < w) { n = '0' + n; } return n; }
  function clock() {
    var d = new Date();
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) +
      '.' + pad(d.getMilliseconds(), 3);
  }
  function log(tag, label, text, cls) {
    var li = document.createElement('li');
    if (cls) { li.className = cls; }
    var t = document.createElement('time');
    t.textContent = clock();
    var g = document.createElement('span');
    g.className = 'tag ' + tag;
    g.textContent = label;
    var x = document.createElement('span');
    x.className = 'txt';
    x.textContent = text;
    li.append(t, g, x);
    var stick = logList.scrollTop + logList.clientHeight >= logList.scrollHeight - 4;
    logList.appendChild(li);
    while (logList.children.length > MAX_LOG) { logList.removeChild(logList.firstChild); }
    if (stick) { logList.scrollTop = logList.scrollHeight; }
  }
  $('log-clear').addEventListener('click', function () { logList.textContent = ''; });

  // ---- transport picker -----------------------------------------------------

  function unavailable(name) {
    switch (name) {
      case 'websocket':
        return window.WebSocket ? '' : 'this browser has no WebSocket';
      case 'xhr-streaming':
      case 'xhr-polling':
        return (sameOrigin || 'withCredentials' in new XMLHttpRequest()) ? '' : 'this browser has no CORS XMLHttpRequest';
      case 'xdr-streaming':
      case 'xdr-polling':
        return window.XDomainRequest ? '' : 'Internet Explorer 8 and 9 only';
      case 'eventsource':
      case 'iframe-eventsource':
        return window.EventSource ? '' : 'this browser has no EventSource';
      case 'htmlfile':
        return sameOrigin ? '' : 'same origin only, and this page is not on the server\'s origin';
      default:
        return '';
    }
  }

  var picker = $('transport');
  var groups = {};
  TRANSPORTS.forEach(function (t) {
    if (!groups[t.group]) {
      groups[t.group] = document.createElement('optgroup');
      groups[t.group].label = t.group;
      picker.appendChild(groups[t.group]);
    }
    var o = document.createElement('option');
    o.value = t.name;
    o.textContent = t.name + (unavailable(t.name) ? '  (not in this browser)' : '');
    groups[t.group].appendChild(o);
  });
  var wanted = params.get('transport');
  if (wanted && TRANSPORTS.some(function (t) { return t.name === wanted; })) {
    picker.value = wanted;
  }
  function showHint() {
    var hint = $('transport-hint');
    var name = picker.value;
    if (!name) {
      hint.textContent = 'sockjs-client tries WebSocket first and falls back, in order, to the others.';
      hint.className = 'hint';
      return;
    }
    var t = TRANSPORTS.filter(function (x) { return x.name === name; })[0];
    var why = unavailable(name);
    hint.textContent = t.desc + (why ? ' Not usable here (' + why + '): expect 2000 "All transports failed".' : '');
    hint.className = why ? 'hint unavailable' : 'hint';
  }
  picker.addEventListener('change', function () {
    showHint();
    var p = new URLSearchParams(location.search);
    if (picker.value) { p.set('transport', picker.value); } else { p.delete('transport'); }
    var q = p.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);
  });
  showHint();

  // ---- one SockJS connection with its card ----------------------------------

  function Conn(opts) {
    this.tag = opts.tag;            // 'echo' | 'chat' | 'closer'
    this.label = opts.label;        // shown in the log
    this.path = opts.path;          // '/echo' ...
    this.card = $(opts.card);
    this.sock = null;
    this.heartbeats = 0;
    this.onopen = opts.onopen || function () {};
    this.onmessage = opts.onmessage || function () {};
    this.onclose = opts.onclose || function () {};
    this.onstate = opts.onstate || function () {};
    var self = this;
    this.role('connect').addEventListener('click', function () { self.connect(); });
    var d = this.role('disconnect');
    if (d) { d.addEventListener('click', function () { self.disconnect(); }); }
  }

  Conn.prototype.role = function (r) { return this.card.querySelector('[data-role="' + r + '"]'); };

  Conn.prototype.set = function (r, text, cls) {
    var el = this.role(r);
    if (!el) { return; }
    el.textContent = text;
    el.className = cls || '';
  };

  Conn.prototype.state = function (s, text) {
    var p = this.role('state');
    p.dataset.state = s;
    p.textContent = text || s;
    var busy = s === 'open' || s === 'connecting';
    this.role('connect').disabled = busy;
    var d = this.role('disconnect');
    if (d) { d.disabled = !busy; }
    this.onstate(s);
  };

  Conn.prototype.connect = function () {
    if (this.sock) { return; }
    if (typeof window.SockJS !== 'function') {
      log(this.tag, this.label, 'sockjs-client is not loaded', 'bad');
      return;
    }
    var self = this;
    var transport = picker.value;
    var url = base + this.path;
    // A forced transport has nothing to fall back to, so give it time
    // (sockjs-client's own timeout can be under a second on a fast
    // network, too short for a cross-site iframe on a busy machine).
    var options = transport ? { transports: [transport], timeout: 10000 } : {};
    var sock;
    try {
      sock = new window.SockJS(url, null, options);
    } catch (e) {
      log(this.tag, this.label, 'cannot connect: ' + e.message, 'bad');
      return;
    }
    this.sock = sock;
    this.heartbeats = 0;
    this.started = performance.now();
    this.set('transport', '…');
    this.set('connect-time', '…');
    this.set('heartbeats', '0');
    this.state('connecting');
    log(this.tag, this.label, 'connecting to ' + url + ' with ' + (transport || 'any transport'), 'quiet');

    sock.onopen = function () {
      var ms = performance.now() - self.started;
      self.set('transport', sock.transport || '?');
      self.set('connect-time', fmtMs(ms));
      self.state('open');
      log(self.tag, self.label, 'open, transport ' + sock.transport + ', in ' + fmtMs(ms), 'good');
      self.onopen(sock);
    };
    sock.onmessage = function (e) { self.onmessage(e.data, sock); };
    sock.addEventListener('heartbeat', function () {
      // xhr-streaming's 2 KiB prelude of "h" reaches sockjs-client as a
      // heartbeat before "o": only count what comes once open.
      if (sock.readyState !== 1) { return; }
      self.heartbeats++;
      self.set('heartbeats', self.heartbeats + ' · ' + clock().slice(0, 8));
      log(self.tag, self.label, 'heartbeat', 'quiet');
    });
    sock.onclose = function (e) {
      var meaning = CLOSE_MEANING[e.code] || (e.code >= 3000 && e.code <= 4999 ? 'application close' : '');
      var good = e.code === 1000 || (e.code >= 3000 && e.code <= 4999);
      self.set('close', e.code + ' ' + JSON.stringify(e.reason), good ? 'good' : 'bad');
      self.set('transport', '–');
      self.sock = null;
      self.state(good ? 'closed' : 'failed', good ? 'closed' : 'failed');
      log(self.tag, self.label, 'closed ' + e.code + ' ' + JSON.stringify(e.reason) +
        (meaning ? ' (' + meaning + ')' : '') + (e.wasClean ? '' : ', not clean'), good ? '' : 'bad');
      self.onclose(e);
    };
  };

  Conn.prototype.disconnect = function () {
    if (this.sock) { this.sock.close(); }
  };

  Conn.prototype.send = function (text) {
    if (!this.sock || this.sock.readyState !== 1) { return false; }
    this.sock.send(text);
    return true;
  };

  function fmtMs(ms) {
    if (ms < 10) { return ms.toFixed(2) + ' ms'; }
    if (ms < 100) { return ms.toFixed(1) + ' ms'; }
    return Math.round(ms) + ' ms';
  }

  function shown(text) {
    if (text.length <= SHOW_CHARS) { return text; }
    return text.slice(0, SHOW_CHARS) + '…';
  }

  function addItem(list, cls) {
    var li = document.createElement('li');
    if (cls) { li.className = cls; }
    var stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(li);
    while (list.children.length > MAX_LIST) { list.removeChild(list.firstChild); }
    if (stick) { list.scrollTop = list.scrollHeight; }
    return li;
  }

  function meta(li, text) {
    var m = document.createElement('span');
    m.className = 'meta';
    m.textContent = text;
    li.insertBefore(m, li.firstChild);
  }

  function sys(list, text) { addItem(list, 'sys').textContent = text; }

  // textItem adds a message: its text in span.text (shortened if long).
  function textItem(list, cls, text) {
    var li = addItem(list, cls);
    var t = document.createElement('span');
    t.className = 'text';
    t.textContent = text === '' ? '(empty message)' : shown(text);
    if (text === '') { t.classList.add('empty'); }
    li.appendChild(t);
    return li;
  }

  // ---- echo -----------------------------------------------------------------

  var echoList = $('echo-messages');
  echoList.dataset.empty = 'Connect, then send something.';
  var echoInput = $('echo-input');
  var pending = [];     // what was sent and not yet echoed, in order: echo keeps order
  var rtts = [];
  var pingLeft = 0;
  var pingRtts = [];

  function rttStats() {
    var n = rtts.length;
    $('rtt-n').textContent = String(n);
    if (!n) { ['last', 'avg', 'min', 'max'].forEach(function (k) { $('rtt-' + k).textContent = '–'; }); return; }
    var sum = 0, min = Infinity, max = 0;
    rtts.forEach(function (r) { sum += r; if (r < min) { min = r; } if (r > max) { max = r; } });
    $('rtt-last').textContent = fmtMs(rtts[n - 1]);
    $('rtt-avg').textContent = fmtMs(sum / n);
    $('rtt-min').textContent = fmtMs(min);
    $('rtt-max').textContent = fmtMs(max);
  }

  function echoSend(text, ping) {
    if (!echo.send(text)) { return false; }
    pending.push({ text: text, t: performance.now(), ping: !!ping });
    return true;
  }

  var echo = new Conn({
    tag: 'echo', label: 'echo', path: '/echo', card: 'echo',
    onstate: function (s) {
      var open = s === 'open';
      echoInput.disabled = !open;
      $('echo-send').disabled = !open;
      $('echo-ping').disabled = !open || pingLeft > 0;
    },
    onopen: function (sock) {
      pending = [];
      sys(echoList, 'connected with ' + sock.transport);
      echoInput.focus();
    },
    onmessage: function (data) {
      var now = performance.now();
      var p = pending.shift();
      var rtt = p ? now - p.t : NaN;
      if (p) { rtts.push(rtt); if (rtts.length > 1000) { rtts.shift(); } rttStats(); }
      if (p && p.ping) {
        pingRtts.push(rtt);
        if (--pingLeft > 0) {
          echoSend('ping ' + (PINGS - pingLeft + 1) + '/' + PINGS, true);
        } else {
          var s = pingRtts.slice().sort(function (a, b) { return a - b; });
          sys(echoList, PINGS + ' pings: min ' + fmtMs(s[0]) + ', median ' + fmtMs(s[s.length >> 1]) +
            ', max ' + fmtMs(s[s.length - 1]));
          $('echo-ping').disabled = !echo.sock;
        }
        return;
      }
      var li = textItem(echoList, 'in', data);
      meta(li, (p ? fmtMs(rtt) : '') + (data.length > SHOW_CHARS ? ' · ' + data.length + ' chars' : ''));
      if (p && p.text !== data) {
        li.classList.add('mismatch');
        log('echo', 'echo', 'echo differs from what was sent (' + p.text.length + ' → ' + data.length + ' chars)', 'bad');
      }
    },
    onclose: function () {
      pingLeft = 0;
      if (pending.length) { log('echo', 'echo', pending.length + ' message(s) never came back', 'bad'); }
      pending = [];
    }
  });

  $('echo-form').addEventListener('submit', function (e) {
    e.preventDefault();
    if (echoSend(echoInput.value, false)) {
      echoInput.value = '';
    }
  });
  $('echo-ping').addEventListener('click', function () {
    if (pingLeft > 0) { return; }
    pingLeft = PINGS;
    pingRtts = [];
    $('echo-ping').disabled = true;
    echoSend('ping 1/' + PINGS, true);
  });

  // ---- chat -----------------------------------------------------------------
  // Messages are JSON: {"type":"chat"|"join"|"leave","id":"…","name":"…","text":"…"}.
  // Anything else sent to /broadcast is shown as it is.

  var chatList = $('chat-messages');
  chatList.dataset.empty = 'Join to see what everyone says.';
  var chatInput = $('chat-input');
  var chatName = $('chat-name');
  var mine = {};        // id → {li, t} of my messages not yet seen back

  function store(k, v) { try { if (v === undefined) { return localStorage.getItem(k); } localStorage.setItem(k, v); } catch (e) { return null; } }
  chatName.value = store('sockjsd-demo-name') || ('guest-' + Math.random().toString(36).slice(2, 6));
  chatName.addEventListener('change', function () { store('sockjsd-demo-name', chatName.value.trim()); });
  function myName() { return chatName.value.trim() || 'anonymous'; }
  function newId() { return Math.random().toString(36).slice(2, 10) + Date.now().toString(36); }

  var chat = new Conn({
    tag: 'chat', label: 'chat', path: '/broadcast', card: 'chat',
    onstate: function (s) {
      var open = s === 'open';
      chatInput.disabled = !open;
      $('chat-send').disabled = !open;
    },
    onopen: function (sock) {
      chat.send(JSON.stringify({ type: 'join', id: newId(), name: myName(), text: sock.transport }));
      chatInput.focus();
    },
    onmessage: function (data) {
      var m = null;
      try { m = JSON.parse(data); } catch (e) { /* not ours */ }
      if (!m || typeof m !== 'object' || typeof m.type !== 'string') {
        textItem(chatList, 'in', data);
        return;
      }
      var name = String(m.name || 'anonymous').slice(0, 40);
      if (m.type === 'join' || m.type === 'leave') {
        sys(chatList, name + (m.type === 'join' ? ' joined' + (m.text ? ' over ' + String(m.text).slice(0, 30) : '') : ' left'));
        return;
      }
      var own = m.id && mine[m.id];
      var li;
      if (own) {
        li = own.li;
        delete mine[m.id];
        li.classList.remove('pending');
        meta(li, fmtMs(performance.now() - own.t));
        return;
      }
      li = textItem(chatList, 'in', String(m.text));
      var who = document.createElement('span');
      who.className = 'who';
      who.textContent = name;
      li.insertBefore(who, li.firstChild);
    }
  });

  $('chat-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = chatInput.value;
    if (!text.trim()) { return; }
    var id = newId();
    if (!chat.send(JSON.stringify({ type: 'chat', id: id, name: myName(), text: text }))) { return; }
    chatInput.value = '';
    var li = textItem(chatList, 'out pending', text);
    mine[id] = { li: li, t: performance.now() };
  });

  // Say goodbye before leaving (best effort: a transport may drop a send
  // that is still in flight when the socket closes).
  chat.disconnect = function () {
    if (chat.sock && chat.sock.readyState === 1) {
      chat.send(JSON.stringify({ type: 'leave', id: newId(), name: myName() }));
    }
    Conn.prototype.disconnect.call(chat);
  };

  // ---- server close ---------------------------------------------------------

  var closer = new Conn({ tag: 'closer', label: 'close', path: '/close', card: 'closer' });

  window.addEventListener('beforeunload', function () {
    [echo, chat, closer].forEach(function (c) { if (c.sock) { c.sock.close(); } });
  });

  log('page', 'page', 'ready: sockjs-client ' + $('client-version').textContent + ', server ' + base, 'quiet');
})();
