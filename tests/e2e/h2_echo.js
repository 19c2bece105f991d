#!/usr/bin/env node
// h2_echo.js — a TLS HTTP/2 server (Node's own http2 module, on nghttp2; ALPN h2, and http/1.1
// for clients that offer only that) that answers every request with what it received, as JSON:
//   {"proto", "conn", "stream_id", "method", "path", "authority", "body_len", "body_sha256",
//    "trailers": {name: value}, "refused_before": N}
// and logs one line per request on stdout:
//   conn C stream S METHOD PATH body N trailers k=v,k=v      (answered)
//   conn C stream S METHOD PATH refused                       (RST_STREAM REFUSED_STREAM)
//   conn C stream S METHOD PATH goaway refused                (refuse-goaway)
// Modes (--mode):
//   echo       answer every request
//   refuse     the first request of each h2 connection is refused with RST_STREAM
//              REFUSED_STREAM once more than 64 KiB of its body arrived or it ended (at its
//              head when it has none);
//              the others are answered
//   refuse-goaway  the first request of the first h2 connection: GOAWAY NO_ERROR naming it as
//              the last stream, then RST_STREAM REFUSED_STREAM on it (not processed: the client
//              may send it again, on a new connection), and the connection closes a moment
//              later; later connections are answered
// Usage: node h2_echo.js --port P --cert C --key K [--mode M]. Only 127.0.0.1.
'use strict';
const http2 = require('http2');
const fs = require('fs');
const crypto = require('crypto');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const mode = args.mode || 'echo';
let conns = 0;
const log = (line) => process.stdout.write(line + '\n');

const server = http2.createSecureServer({
  cert: fs.readFileSync(args.cert),
  key: fs.readFileSync(args.key),
  allowHTTP1: true,
});

server.on('session', (session) => {
  session.connId = ++conns;
  session.requests = 0;
  session.refused = 0;
});

server.on('stream', (stream, headers) => {
  const session = stream.session;
  const n = ++session.requests;
  const c = session.connId;
  const what = 'conn ' + c + ' stream ' + stream.id + ' ' + headers[':method'] + ' ' + headers[':path'];
  if (mode === 'refuse-goaway' && c === 1 && n === 1) {
    log(what + ' goaway refused');
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    setTimeout(() => session.destroy(), 300);
    return;
  }
  if (mode === 'refuse' && n === 1) {
    let refused = false;
    const refuse = () => {
      if (refused || stream.destroyed) return;
      refused = true;
      session.refused++;
      log(what + ' refused');
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    };
    // A body is refused once more than 64 KiB of it (httpeek's EXCHANGE_HOLD_MAX) arrived, or at
    // its end: whether the client can send it again then depends on the body's size alone, not
    // on how much of it the client had read when the refusal came (a race otherwise).
    let got = 0;
    if (stream.readableEnded || headers['content-length'] === '0' || stream.endAfterHeaders) refuse();
    else {
      stream.on('data', (d) => { got += d.length; if (got > 65536) refuse(); });
      stream.once('end', refuse);
    }
    stream.resume();
    return;
  }
  const hash = crypto.createHash('sha256');
  let len = 0;
  stream.on('data', (d) => { hash.update(d); len += d.length; });
  let trailers = {};
  stream.on('trailers', (t) => { trailers = t; });
  stream.on('end', () => {
    const tr = Object.keys(trailers).filter((k) => !k.startsWith(':')).map((k) => k + '=' + trailers[k]);
    log(what + ' body ' + len + ' trailers ' + (tr.join(',') || '-'));
    const body = JSON.stringify({
      proto: 'h2', conn: c, stream_id: stream.id, method: headers[':method'], path: headers[':path'],
      authority: headers[':authority'], body_len: len, body_sha256: hash.digest('hex'),
      trailers: Object.fromEntries(Object.entries(trailers).filter(([k]) => !k.startsWith(':'))),
      refused_before: session.refused,
    }) + '\n';
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    stream.end(body);
  });
});

// HTTP/1.1 clients (allowHTTP1): the same answer, proto "http/1.1"
server.on('request', (req, res) => {
  if (req.httpVersionMajor === 2) return; // answered by 'stream'
  const hash = crypto.createHash('sha256');
  let len = 0;
  req.on('data', (d) => { hash.update(d); len += d.length; });
  req.on('end', () => {
    const tr = Object.entries(req.trailers).map(([k, v]) => k + '=' + v);
    log('h1 ' + req.method + ' ' + req.url + ' body ' + len + ' trailers ' + (tr.join(',') || '-'));
    const body = JSON.stringify({ proto: 'http/1.1', method: req.method, path: req.url, body_len: len,
      body_sha256: hash.digest('hex'), trailers: req.trailers }) + '\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.listen(Number(args.port), '127.0.0.1', () => log('listening on ' + args.port + ' mode ' + mode));
