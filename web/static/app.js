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
    this.path = opts.path;          // '/echo' ..., or a function returning it
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
    var url = base + (typeof this.path === 'function' ? this.path() : this.path);
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
  // The /chat service's protocol (cmd/sockjsd/chat.go documents it): one
  // JSON object per message. The page sends join, leave, say and private;
  // it gets welcome, message (a room's history first, before joined),
  // joined, presence, left, private and error.

  var chatList = $('chat-messages');
  chatList.dataset.empty = 'Join to see what is said in the room.';
  var chatInput = $('chat-input');
  var chatName = $('chat-name');
  var chatTo = $('chat-to');
  var roomInput = $('chat-room');
  var NICK = /^[A-Za-z0-9._-]{1,24}$/;
  var ROOM = /^[a-z0-9][a-z0-9_-]{0,31}$/;

  var me = '';          // my nickname, as the server welcomed it
  var rooms = [];       // rooms offered (the server's defaults, then any joined)
  var joined = {};      // room → {members: {user: sessions}} of the rooms I am in
  var joining = {};     // room → true while its join is under way (history arrives)
  var active = '';      // the room shown
  var mine = {};        // id → {li, t} of my messages not yet seen back

  function store(k, v) { try { if (v === undefined) { return localStorage.getItem(k); } localStorage.setItem(k, v); } catch (e) { return null; } }
  chatName.value = store('sockjsd-demo-name') || ('guest-' + Math.random().toString(36).slice(2, 6));
  chatName.addEventListener('change', function () { store('sockjsd-demo-name', chatName.value.trim()); });
  function newId() { return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-6); }

  function chatSend(obj) { return chat.send(JSON.stringify(obj)); }

  // roomItem adds an item that belongs to room (shown while it is active);
  // items of no room (private messages, errors) are always shown.
  function roomItem(room, cls, text) {
    var li = text === null ? addItem(chatList, cls) : textItem(chatList, cls, text);
    if (room) {
      li.dataset.room = room;
      li.hidden = room !== active;
    }
    return li;
  }
  function roomNote(room, text) {
    var li = roomItem(room, 'sys', null);
    li.textContent = text;
    return li;
  }
  function who(li, text) {
    var w = document.createElement('span');
    w.className = 'who';
    w.textContent = text;
    li.insertBefore(w, li.firstChild);
  }

  function renderRooms() {
    var ul = $('chat-rooms');
    ul.textContent = '';
    rooms.forEach(function (r) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'small room' + (joined[r] ? ' joined' : '') + (r === active ? ' active' : '');
      b.dataset.room = r;
      b.textContent = '#' + r;
      b.title = joined[r] ? 'show #' + r : 'join #' + r;
      b.disabled = !chat.sock || !!joining[r];
      b.addEventListener('click', function () { if (joined[r]) { show(r); } else { joinRoom(r); } });
      li.appendChild(b);
      if (joined[r]) {
        var x = document.createElement('button');
        x.type = 'button';
        x.className = 'small leave-room';
        x.dataset.room = r;
        x.textContent = '×';
        x.title = 'leave #' + r;
        x.setAttribute('aria-label', 'leave #' + r);
        x.addEventListener('click', function () { chatSend({ type: 'leave', room: r }); });
        li.appendChild(x);
      }
      ul.appendChild(li);
    });
  }

  function renderMembers() {
    var ul = $('chat-members');
    ul.textContent = '';
    var keep = chatTo.value;
    while (chatTo.options.length > 1) { chatTo.remove(1); }
    var room = joined[active];
    chatTo.options[0].textContent = active ? '#' + active : 'the room';
    $('chat-here').textContent = active ? 'in #' + active : '';
    if (!room) { return; }
    Object.keys(room.members).sort().forEach(function (u) {
      var li = document.createElement('li');
      li.dataset.user = u;
      li.textContent = u + (u === me ? ' (you)' : '');
      var n = room.members[u];
      if (n > 1) {
        var c = document.createElement('span');
        c.className = 'muted';
        c.textContent = ' ×' + n;
        li.appendChild(c);
      }
      ul.appendChild(li);
      if (u !== me) {
        var o = document.createElement('option');
        o.value = u;
        o.textContent = 'private to ' + u;
        chatTo.appendChild(o);
      }
    });
    chatTo.value = keep;
    if (chatTo.value !== keep) { chatTo.value = ''; }
  }

  function show(room) {
    active = room;
    Array.prototype.forEach.call(chatList.children, function (li) {
      if (li.dataset.room) { li.hidden = li.dataset.room !== active; }
    });
    chatList.scrollTop = chatList.scrollHeight;
    renderRooms();
    renderMembers();
  }

  function joinRoom(room) {
    // A name the server refuses goes to it all the same: its error, with
    // the rule, is what the page shows.
    if (ROOM.test(room)) {
      joining[room] = true;
      if (rooms.indexOf(room) < 0) { rooms.push(room); }
      renderRooms();
    }
    chatSend({ type: 'join', room: room });
  }

  function resetChat() {
    me = '';
    joined = {};
    joining = {};
    active = '';
    mine = {};
    renderRooms();
    renderMembers();
  }

  var chat = new Conn({
    tag: 'chat', label: 'chat', card: 'chat',
    path: function () { return '/chat?nick=' + encodeURIComponent(chatName.value.trim()); },
    onstate: function (s) {
      var open = s === 'open';
      [chatInput, chatTo, roomInput, $('chat-send'), $('chat-room-join')].forEach(function (el) { el.disabled = !open; });
      chatName.disabled = open || s === 'connecting';
      if (s === 'connecting') { chatList.textContent = ''; }
      if (!open) { resetChat(); }
    },
    onopen: function () { chatInput.focus(); },
    onmessage: function (data) {
      var m = null;
      try { m = JSON.parse(data); } catch (e) { /* not the protocol */ }
      if (!m || typeof m !== 'object' || typeof m.type !== 'string') {
        log('chat', 'chat', 'not a chat message: ' + shown(String(data)), 'bad');
        return;
      }
      var own = m.id && mine[m.id];
      var li;
      switch (m.type) {
        case 'welcome':
          me = String(m.user);
          rooms = Array.isArray(m.rooms) ? m.rooms.map(String) : [];
          log('chat', 'chat', 'welcome, ' + me, 'quiet');
          if (rooms.length) { joinRoom(rooms[0]); }
          break;
        case 'message':
          if (own) {
            delete mine[m.id];
            own.li.classList.remove('pending');
            meta(own.li, fmtMs(performance.now() - own.t));
            break;
          }
          li = roomItem(String(m.room), joining[m.room] ? 'in history' : 'in', String(m.text));
          who(li, String(m.from));
          break;
        case 'joined':
          delete joining[m.room];
          joined[m.room] = { members: {} };
          (m.members || []).forEach(function (x) { joined[m.room].members[x.user] = x.sessions; });
          if (rooms.indexOf(m.room) < 0) { rooms.push(m.room); }
          if (chatList.querySelector('li.history[data-room="' + CSS.escape(m.room) + '"]')) {
            roomNote(m.room, 'earlier messages of #' + m.room + ' above');
          }
          show(m.room);
          break;
        case 'presence':
          // Counts are absolute: the ones after the join's snapshot
          // ("joined") update it; those before are in it.
          var room = joined[m.room];
          if (room) {
            if (m.sessions > 0) { room.members[m.user] = m.sessions; } else { delete room.members[m.user]; }
          }
          if (m.joined && m.sessions === 1) { roomNote(m.room, m.user + ' joined #' + m.room); }
          if (!m.joined && m.sessions === 0) { roomNote(m.room, m.user + ' left #' + m.room); }
          if (m.room === active) { renderMembers(); }
          break;
        case 'left':
          delete joined[m.room];
          roomNote(m.room, 'you left #' + m.room);
          if (active === m.room) { show(Object.keys(joined)[0] || ''); } else { renderRooms(); }
          break;
        case 'private':
          if (own) {
            delete mine[m.id];
            own.li.classList.remove('pending');
            meta(own.li, fmtMs(performance.now() - own.t));
            break;
          }
          li = roomItem('', 'in private', String(m.text));
          who(li, m.from === me ? 'you → ' + m.to : m.from + ' → you');
          break;
        case 'error':
          if (own) {
            delete mine[m.id];
            own.li.classList.remove('pending');
            own.li.classList.add('failed');
          }
          roomItem('', 'sys error', null).textContent = 'refused: ' + String(m.error);
          log('chat', 'chat', 'refused: ' + String(m.error), 'bad');
          break;
        default:
          log('chat', 'chat', 'unknown message type ' + m.type, 'bad');
      }
    },
    onclose: function (e) {
      if (e.code === 4001) { roomItem('', 'sys error', null).textContent = 'not let in: ' + e.reason; }
    }
  });
  resetChat();

  chatName.addEventListener('input', function () {
    chatName.classList.toggle('invalid', !NICK.test(chatName.value.trim()));
  });

  $('chat-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = chatInput.value;
    if (!text.trim()) { return; }
    var id = newId();
    var to = chatTo.value;
    var sent = to ? chatSend({ type: 'private', to: to, text: text, id: id })
      : active && chatSend({ type: 'say', room: active, text: text, id: id });
    if (!sent) { return; }
    chatInput.value = '';
    var li = roomItem(to ? '' : active, to ? 'out private pending' : 'out pending', text);
    if (to) { who(li, 'you → ' + to); }
    mine[id] = { li: li, t: performance.now() };
  });

  $('chat-room-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var room = roomInput.value.trim();
    if (!room) { return; }
    roomInput.value = '';
    if (joined[room]) { show(room); } else { joinRoom(room); }
  });

  // ---- server close ---------------------------------------------------------

  var closer = new Conn({ tag: 'closer', label: 'close', path: '/close', card: 'closer' });

  window.addEventListener('beforeunload', function () {
    [echo, chat, closer].forEach(function (c) { if (c.sock) { c.sock.close(); } });
  });

  log('page', 'page', 'ready: sockjs-client ' + $('client-version').textContent + ', server ' + base, 'quiet');
})();
