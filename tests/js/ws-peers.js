#!/usr/bin/env node
// ws-peers.js — real WebSocket peers (node's `ws`) for tests/e2e/53-websocket.sh.
//
//   node ws-peers.js server PORTFILE [--tls CERT KEY] [--deflate none|takeover|no-takeover]
//     An echo server on 127.0.0.1 (port written to PORTFILE). Every message is echoed with the
//     same type; "close:CODE:REASON" makes it close with that code and reason, "drop" makes it
//     destroy the TCP connection without a close frame. Every message it sends is appended to
//     PORTFILE.sent as a JSON line {b64, binary}.
//
//   node ws-peers.js client URL PROXYPORT [--ca CA] [--deflate on|off] [--end client|server-1011|drop]
//                    [--late-file F] [--burst N]
//     Connects to URL through the HTTP proxy on 127.0.0.1:PROXYPORT: ws:// as an absolute-form
//     request, wss:// through CONNECT. Sends text, binary (every byte value), a fragmented text
//     with a ping between its fragments, a ping, JSON and a big compressible text, waits for
//     every echo, then ends as --end says. Prints one JSON line: {sent: [{b64, binary}],
//     received: [...], pings: [b64], pongs: [b64], close: {code, reason}, extensions}.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');
const crypto = require('crypto');
const WebSocket = require('ws');

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const b64 = (d) => Buffer.from(d).toString('base64');

function deflateOptions(mode) {
  if (mode === 'takeover') return { threshold: 0 };
  if (mode === 'no-takeover') {
    return { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true,
      serverMaxWindowBits: 10 };
  }
  return false;
}

function server() {
  const portFile = argv[1];
  const tlsI = argv.indexOf('--tls');
  const base = tlsI < 0 ? http.createServer()
    : https.createServer({ cert: fs.readFileSync(argv[tlsI + 1]), key: fs.readFileSync(argv[tlsI + 2]) });
  const wss = new WebSocket.Server({ server: base, perMessageDeflate: deflateOptions(opt('--deflate', 'none')) });
  const sentLog = portFile + '.sent';
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === 'drop') { ws._socket.destroy(); return; }
      const m = text && /^close:(\d+):(.*)$/.exec(text);
      if (m) { ws.close(Number(m[1]), m[2]); return; }
      fs.appendFileSync(sentLog, JSON.stringify({ b64: b64(data), binary: isBinary }) + '\n');
      ws.send(data, { binary: isBinary });
    });
  });
  base.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(base.address().port)));
}

// An agent that reaches every origin through the proxy.
function proxyAgent(url, proxyPort, ca) {
  if (url.protocol === 'ws:') {
    const agent = new http.Agent();
    const add = agent.addRequest.bind(agent);
    agent.addRequest = (req, options) => {
      req.path = 'http://' + url.host + req.path; // absolute form, as to any HTTP proxy
      add(req, options);
    };
    agent.createConnection = () => net.connect(proxyPort, '127.0.0.1');
    return agent;
  }
  const agent = new https.Agent();
  agent.createConnection = (options, cb) => {
    const c = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: url.host });
    c.on('connect', (res, socket) => {
      if (res.statusCode !== 200) { cb(new Error('CONNECT ' + res.statusCode)); return; }
      cb(null, tls.connect({ socket, servername: url.hostname, ca, ALPNProtocols: ['http/1.1'] }));
    });
    c.on('error', cb);
    c.end();
  };
  return agent;
}

function client() {
  const url = new URL(argv[1]);
  const proxyPort = Number(argv[2]);
  const ca = opt('--ca') ? fs.readFileSync(opt('--ca')) : undefined;
  const end = opt('--end', 'client');
  const deflate = opt('--deflate', 'off') === 'on' ? { threshold: 0 } : false;
  const ws = new WebSocket(url, { agent: proxyAgent(url, proxyPort, ca), perMessageDeflate: deflate });
  const out = { sent: [], received: [], pings: [], pongs: [], close: null, extensions: '' };
  const expected = [];
  let waiting = null;
  const timer = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout', out })); process.exit(2); }, 60000);
  const send = (data, opts) => {
    const binary = !!(opts && opts.binary);
    out.sent.push({ b64: b64(data), binary });
    ws.send(data, opts);
  };
  ws.on('message', (data, isBinary) => {
    out.received.push({ b64: b64(data), binary: isBinary });
    if (waiting && out.received.length >= expected.length) { const w = waiting; waiting = null; w(); }
  });
  ws.on('pong', (d) => out.pongs.push(b64(d)));
  ws.on('close', (code, reason) => {
    out.close = { code, reason: reason.toString() };
    clearTimeout(timer);
    console.log(JSON.stringify(out));
  });
  ws.on('error', (e) => { out.error = String(e.message || e); });
  ws.on('open', () => {
    out.extensions = ws.extensions;
    const bin = Buffer.alloc(1000);
    for (let i = 0; i < bin.length; i++) bin[i] = i & 255;
    const big = ('{"line":"all work and no play makes jack a dull boy"},').repeat(2000);
    const msgs = [];
    send('hello ✓ ünïcödé'); msgs.push(1);
    send(bin, { binary: true }); msgs.push(1);
    // one text in three fragments, a ping between the first two (a control frame interleaved)
    const parts = ['frag-one ', 'frag-two ', 'frag-three'];
    out.sent.push({ b64: b64(parts.join('')), binary: false });
    ws.send(parts[0], { fin: false });
    out.pings.push(b64('between'));
    ws.ping('between');
    ws.send(parts[1], { fin: false });
    ws.send(parts[2], { fin: true });
    msgs.push(1);
    out.pings.push(b64('p1'));
    ws.ping('p1');
    send(JSON.stringify({ kind: 'json', n: 42, list: [1, 2, 3], s: 'caf\u00e9' })); msgs.push(1);
    send(crypto.randomBytes(3000), { binary: true }); msgs.push(1);
    send(big); msgs.push(1);
    // --burst N: N more binary messages of 1000 bytes (a socket that outgrows its bound)
    for (let i = 0; i < Number(opt('--burst', '0')); i++) { send(crypto.randomBytes(1000), { binary: true }); msgs.push(1); }
    expected.push(...msgs);
    const finish = () => {
      if (end === 'client') ws.close(1000, 'done');
      else if (end === 'server-1011') send('close:1011:boom');
      else if (end === 'drop') send('drop');
    };
    const lateFile = opt('--late-file');
    // --late-file F: the socket stays open until F exists, then one more message goes both ways
    // (what a viewer watching it live must see arrive)
    const sendLate = () => {
      if (!fs.existsSync(lateFile)) { setTimeout(sendLate, 100); return; }
      expected.push(1);
      waiting = finish;
      send('late message');
    };
    waiting = lateFile ? sendLate : finish;
  });
}

if (argv[0] === 'server') server();
else if (argv[0] === 'client') client();
else { console.error('usage: ws-peers.js server|client ...'); process.exit(2); }
