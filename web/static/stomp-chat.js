// The STOMP chat card of the demo page: @stomp/stompjs 7 over sockjs-client
// against sockjsd's /stomp (cmd/sockjsd/stomp.go), the chat the Spring
// tutorials build. CONNECT's login is the nickname; a room is the topic
// /topic/room.<name>, written by SEND to /app/chat/<name>, which the server
// publishes as {"from","text"} under the sender's login.
//
// Nothing is lost across a reconnect: every MESSAGE of a topic carries
// x-offset and x-epoch, and the SUBSCRIBE after a reconnect names the last
// ones seen, so the server sends what was missed first (its RECEIPT says
// x-recovered:true, or false when the room no longer keeps them all).
// Joining a room asks for x-offset:0, everything the room keeps.
//
// The transport is the page's picker (#transport); ?server= names another
// server, as for the other cards.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var card = $('stomp');
  if (!card) { return; }
  var role = function (r) { return card.querySelector('[data-role="' + r + '"]'); };
  var set = function (r, text, cls) { var el = role(r); el.textContent = text; el.className = cls || ''; };
  var list = $('stomp-messages');
  var input = $('stomp-input');
  var sendButton = $('stomp-send');
  var nameInput = $('stomp-name');
  var roomInput = $('stomp-room');
  var NICK = /^[A-Za-z0-9._-]{1,24}$/;
  var ROOM = /^[a-z0-9][a-z0-9_-]{0,31}$/;
  var MAX_LIST = 500;

  var base = location.origin;
  var serverParam = new URLSearchParams(location.search).get('server');
  if (serverParam) {
    try {
      var u = new URL(serverParam, location.href);
      if (u.protocol === 'http:' || u.protocol === 'https:') { base = (u.origin + u.pathname).replace(/\/+$/, ''); }
    } catch (e) { /* app.js says so */ }
  }

  var client = null;
  var room = '';
  var sub = null;
  var last = null;     // {offset, epoch} of the last message seen in room
  var receipts = 0;

  function item(cls, text, who) {
    var li = document.createElement('li');
    li.className = cls;
    if (who) {
      var w = document.createElement('span');
      w.className = 'who';
      w.textContent = who;
      li.appendChild(w);
    }
    var t = document.createElement('span');
    t.className = 'text';
    t.textContent = text;
    li.appendChild(t);
    var stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(li);
    while (list.children.length > MAX_LIST) { list.removeChild(list.firstChild); }
    if (stick) { list.scrollTop = list.scrollHeight; }
    return li;
  }
  function note(text, bad) { return item(bad ? 'sys error' : 'sys', text); }

  function state(s) {
    var p = role('state');
    p.dataset.state = s;
    p.textContent = s;
    var busy = s !== 'closed' && s !== 'failed';
    role('connect').disabled = busy;
    role('disconnect').disabled = !busy;
    nameInput.disabled = busy;
    roomInput.disabled = busy;
    input.disabled = sendButton.disabled = s !== 'open';
  }

  function onMessage(m) {
    last = { offset: m.headers['x-offset'], epoch: m.headers['x-epoch'] };
    var line;
    try { line = JSON.parse(m.body); } catch (e) { line = { from: '?', text: m.body }; }
    var mine = client && line.from === client.connectHeaders.login;
    var li = item(mine ? 'out' : '', String(line.text), line.from + ': ');
    li.dataset.offset = last.offset;
  }

  // subscribe joins room, resuming after the last message seen, or with
  // everything the room keeps on a first join.
  function subscribe() {
    var id = 'j' + (++receipts);
    var headers = { receipt: id, 'x-offset': last ? last.offset : '0' };
    if (last) { headers['x-epoch'] = last.epoch; }
    var resuming = !!last;
    client.watchForReceipt(id, function (f) {
      if (!resuming) {
        note('in /topic/room.' + room + ' (what it keeps is above)');
      } else if (f.headers['x-recovered'] === 'true') {
        note('back in /topic/room.' + room + ': nothing was lost');
      } else {
        note('back in /topic/room.' + room + ': the room no longer keeps all that was missed', true);
      }
    });
    sub = client.subscribe('/topic/room.' + room, onMessage, headers);
  }

  function connect() {
    if (client) { return; }
    var nick = nameInput.value.trim();
    var r = roomInput.value.trim();
    if (!NICK.test(nick)) { note('a nickname is 1 to 24 letters, digits, \'-\', \'_\' or \'.\'', true); return; }
    if (!ROOM.test(r)) { note('a room name is 1 to 32 lowercase letters, digits, \'-\' or \'_\'', true); return; }
    if (typeof window.StompJs !== 'object' || typeof window.SockJS !== 'function') {
      note('@stomp/stompjs or sockjs-client did not load', true);
      return;
    }
    try { localStorage.setItem('stomp-name', nick); } catch (e) { /* private mode */ }
    if (r !== room) { last = null; }
    room = r;
    var picker = $('transport');
    var transport = picker ? picker.value : '';
    var options = transport ? { transports: [transport], timeout: 10000 } : {};
    var sock = null;
    client = new window.StompJs.Client({
      webSocketFactory: function () {
        sock = new window.SockJS(base + '/stomp', null, options);
        sock.addEventListener('open', function () { set('transport', sock.transport || '?'); });
        return sock;
      },
      connectHeaders: { login: nick },
      reconnectDelay: 2000,
      debug: function () {},
    });
    client.onConnect = function (f) {
      state('open');
      set('version', f.headers.version || '?');
      set('heart-beat', f.headers['heart-beat'] || '0,0');
      subscribe();
    };
    client.onStompError = function (f) { note('ERROR: ' + (f.headers.message || '') + (f.body ? ' ' + f.body : ''), true); };
    client.onWebSocketClose = function (e) {
      set('close', e.code + ' ' + JSON.stringify(e.reason || ''), e.code === 1000 ? 'good' : 'bad');
      set('transport', '–');
      sub = null;
      if (client && client.active) {
        state('reconnecting');
        note('connection lost: reconnecting');
      }
    };
    state('connecting');
    client.activate();
  }

  function disconnect() {
    if (!client) { return; }
    var c = client;
    client = null;
    c.deactivate().then(function () { state('closed'); note('disconnected'); });
  }

  role('connect').addEventListener('click', connect);
  role('disconnect').addEventListener('click', disconnect);
  $('stomp-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value;
    if (!client || !client.connected || text === '') { return; }
    client.publish({ destination: '/app/chat/' + room, body: text });
    input.value = '';
  });
  try { nameInput.value = localStorage.getItem('stomp-name') || ''; } catch (e) { /* private mode */ }
  list.dataset.empty = 'Pick a nickname and a room, then connect.';
  state('closed');
}());
