// sockjs-node 0.3.24 peer server for the sockjsd comparison: an echo
// service on /echo and a broadcast service (every message to every open
// session) on /broadcast, default options, logging off.
//
// usage: node server.js [-addr 127.0.0.1:0]; prints "listening on HOST:PORT".
'use strict';
const http = require('http');
const sockjs = require('sockjs');

let addr = '127.0.0.1:0';
const i = process.argv.indexOf('-addr');
if (i >= 0 && process.argv[i + 1]) addr = process.argv[i + 1];
const sep = addr.lastIndexOf(':');
const host = addr.slice(0, sep);
const port = Number(addr.slice(sep + 1));

const opts = { log: () => {} };

const echo = sockjs.createServer(opts);
echo.on('connection', (conn) => {
  conn.on('data', (msg) => conn.write(msg));
});

const conns = new Set();
const broadcast = sockjs.createServer(opts);
broadcast.on('connection', (conn) => {
  conns.add(conn);
  conn.on('data', (msg) => {
    for (const c of conns) c.write(msg);
  });
  conn.on('close', () => conns.delete(conn));
});

const server = http.createServer();
echo.installHandlers(server, { prefix: '/echo' });
broadcast.installHandlers(server, { prefix: '/broadcast' });
server.listen(port, host, () => {
  const a = server.address();
  console.log(`listening on ${a.address}:${a.port}`);
});
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 1000).unref();
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
