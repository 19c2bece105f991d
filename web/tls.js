/* tls.js — the detail pane's TLS tab: both legs' handshakes, certificates, verification and alerts,
 * the client certificate httpeek sent upstream (--client-cert), and whether the session's TLS
 * secrets go to a key log (GET /api/session keylog). */

import { el, append, kv, section } from './util.js';
import { apiJSON } from './api.js';

const TLS_LABELS = {
  handshake_done: 'Handshake completed', version: 'Version', cipher: 'Cipher', alpn: 'ALPN',
  sni: 'SNI', verify_result: 'Verify result', verify_error: 'Verify error', alert_sent: 'Alert sent',
  alert_received: 'Alert received', error: 'Error', peer_subject: 'Certificate subject',
  peer_issuer: 'Certificate issuer', peer_not_before: 'Valid from', peer_not_after: 'Valid until',
  peer_key_type: 'Key type', peer_key_bits: 'Key bits', peer_sig: 'Signature',
  forward_secret: 'Forward secrecy', resumed: 'Session resumed',
};
function tlsTable(o) {
  const rows = [];
  for (const k of Object.keys(o)) {
    let v = o[k];
    if (v === '' || v === null || v === undefined) continue;
    if (k === 'peer_key_bits' && !v) continue;
    if (k === 'verify_result') v = v === 0 ? 'ok (0)' : String(v);
    else if (typeof v === 'boolean') v = v ? 'yes' : 'no';
    else if (typeof v === 'object') v = JSON.stringify(v);
    else v = String(v);
    rows.push([TLS_LABELS[k] || k, v]);
  }
  return rows.length ? kv(rows) : el('p', { class: 'muted' }, 'Nothing recorded.');
}
// The certificate's dates as given ("Nov 25 08:00:00 2026 GMT" or ISO) and how they stand now.
function certValidity(nb, na) {
  const from = Date.parse(nb), until = Date.parse(na), now = Date.now();
  if (isNaN(from) || isNaN(until)) return { text: '', cls: '' };
  if (now < from) return { text: 'not yet valid', cls: 'bad' };
  if (now > until) return { text: 'expired ' + Math.floor((now - until) / 86400000) + ' days ago', cls: 'bad' };
  const left = Math.floor((until - now) / 86400000);
  return { text: 'valid, ' + left + ' day' + (left === 1 ? '' : 's') + ' left', cls: left < 14 ? 'warn' : 'good' };
}
const TLS_SHOWN = ['handshake_done', 'version', 'cipher', 'alpn', 'sni', 'forward_secret', 'resumed', 'error', 'verify_result',
  'verify_error', 'alert_sent', 'alert_received', 'peer_subject', 'peer_issuer', 'peer_not_before', 'peer_not_after',
  'peer_key_type', 'peer_key_bits', 'peer_sig', 'peer_names', 'leaf', 'leaf_reason', 'error_text', 'client_cert'];
// Which leaf httpeek showed the client (tls.client.leaf), in words.
const LEAF_WORDS = {
  minted: 'httpeek\'s leaf for the host, from its CA',
  mirror_dates: 'a mirror: httpeek\'s CA with the server certificate\'s validity dates',
  mirror_names: 'a mirror: httpeek\'s CA with only the server certificate\'s names',
  mirror_untrusted: 'a mirror: a leaf from httpeek\'s never-trusted CA',
};
// The error in plain words (error_text) with the raw OpenSSL text kept in a tooltip and a
// secondary line; the raw text alone when there are no plain words.
function errorFact(o) {
  const raw = o.error ? String(o.error) : '';
  const plain = o.error_text ? String(o.error_text) : '';
  if (!plain) return raw;
  if (!raw || raw === plain) return plain;
  return el('span', { class: 'tls-error', title: raw }, plain, el('span', { class: 'raw small' }, raw));
}
function namesFact(v) {
  if (Array.isArray(v)) return v.map(String).join(', ');
  return v === undefined || v === null ? '' : String(v);
}
// TLS 1.3 key exchanges are always ephemeral: the protocol itself gives forward secrecy.
function forwardSecrecy(o) {
  if (/^TLSv?1\.3$/i.test(String(o.version || ''))) return 'yes';
  return typeof o.forward_secret === 'boolean' ? (o.forward_secret ? 'yes' : 'no') : '';
}
// One leg: the handshake, the certificate the peer showed (also when it failed verification),
// the verification verdict and the alerts, always in the same places; other facts follow.
function tlsLeg(o, upstream) {
  const box = el('div', { class: 'tls-leg' });
  const done = !!o.handshake_done;
  const str = (v) => (v === undefined || v === null || v === '' ? '' : String(v));
  const err = errorFact(o);
  const state = el('p', { class: 'tls-state ' + (done ? 'good' : 'bad') }, done ? 'Handshake completed' : 'Handshake failed');
  if (!done && err) append(state, [': ', err]);
  box.appendChild(state);
  box.appendChild(kv([
    ['Version', str(o.version)], ['Cipher', str(o.cipher)], ['ALPN', str(o.alpn)], ['SNI', str(o.sni)],
    ['Forward secrecy', forwardSecrecy(o)],
    // a resumed session sent no certificate: what is shown below is from the handshake it resumes
    ['Session resumed', o.resumed ? 'yes (certificate facts from the session resumed)' : ''],
    ['Error', done ? err : ''],
    // which leaf the client was shown (a mirror of a bad server certificate, or httpeek's own)
    ['Certificate shown', !upstream && o.leaf ? LEAF_WORDS[o.leaf] || String(o.leaf) : ''],
    ['Why', !upstream && o.leaf ? str(o.leaf_reason) : ''],
  ]));
  const hasCert = o.peer_subject || o.peer_issuer || o.peer_not_after;
  const cert = el('div', { class: 'tls-cert' }, el('h5', null, upstream ? 'Server certificate' : 'Client certificate'));
  if (hasCert) {
    const val = certValidity(o.peer_not_before, o.peer_not_after);
    const key = [str(o.peer_key_type), o.peer_key_bits ? o.peer_key_bits + ' bits' : ''].filter(Boolean).join(' ');
    const t = kv([['Certificate subject', str(o.peer_subject)], ['Certificate issuer', str(o.peer_issuer)],
      ['Names', namesFact(o.peer_names)], ['Valid from', str(o.peer_not_before)], ['Valid until', str(o.peer_not_after)],
      ['Key', key], ['Signature', str(o.peer_sig)]]);
    if (val.text) t.appendChild(el('tr', null, el('th', null, 'Validity'), el('td', { class: 'tls-validity ' + val.cls }, val.text)));
    cert.appendChild(t);
  } else {
    cert.appendChild(el('p', { class: 'muted' }, upstream ? 'No certificate recorded (the handshake ended before one arrived).'
      : (o.leaf && o.leaf !== 'minted' ? 'The client sent no certificate.' : 'httpeek showed its minted leaf; the client sent no certificate.')));
  }
  if (upstream || o.verify_result || o.verify_error) {
    const vr = o.verify_result;
    const verdict = (vr === 0 || vr === undefined || vr === null) && !o.verify_error
      ? (done || hasCert ? 'verified' : '')
      : 'failed' + (o.verify_error ? ': ' + o.verify_error : '') + (vr ? ' (' + vr + ')' : '');
    if (verdict) cert.appendChild(el('p', { class: 'tls-verify ' + (verdict === 'verified' ? 'good' : 'bad') }, 'Verification: ' + verdict));
  }
  box.appendChild(cert);
  // upstream: the identity httpeek presented for the app (--client-cert), or why there was none
  if (upstream && (o.client_cert || o.cert_requested)) {
    box.appendChild(el('div', { class: 'tls-client-cert' }, el('h5', null, 'Client certificate sent'),
      o.client_cert ? kv([['Certificate subject', str(o.client_cert)]])
        : el('p', { class: 'muted' }, 'None: the server asked for one and no --client-cert names this host.')));
  }
  box.appendChild(el('div', { class: 'tls-alerts' }, el('h5', null, 'Alerts'),
    kv([['Alert sent', str(o.alert_sent) || 'none'], ['Alert received', str(o.alert_received) || 'none']])));
  const rest = {};
  for (const k of Object.keys(o)) if (!TLS_SHOWN.includes(k)) rest[k] = o[k];
  if (Object.keys(rest).length) box.appendChild(tlsTable(rest));
  return box;
}
// The session's key log (GET /api/session keylog), asked once: it is fixed for the run.
let sessionFacts = null;
function keylogPath() {
  if (!sessionFacts) sessionFacts = apiJSON('/api/session').catch(() => ({}));
  return sessionFacts.then((s) => (s && typeof s.keylog === 'string' ? s.keylog : ''));
}
function renderTLS(d) {
  const box = el('div', { class: 'tls' });
  const t = d.tls || {};
  if (t.client || t.upstream) {
    const note = el('p', { class: 'tls-keylog', hidden: true });
    box.appendChild(note);
    keylogPath().then((p) => {
      if (!p) return;
      note.textContent = 'TLS secrets of this connection are written to the key log ' + p +
        ' (--keylog / SSLKEYLOGFILE): a capture of it opens decrypted in Wireshark.';
      note.hidden = false;
    });
  }
  box.appendChild(section('Client ↔ httpeek', t.client ? tlsLeg(t.client, false)
    : el('p', { class: 'muted' }, d.scheme === 'https' && d.kind === 'tunnel' ? 'Not intercepted (tunnel).' : 'No TLS on this leg.')));
  box.appendChild(section('httpeek ↔ server', t.upstream ? tlsLeg(t.upstream, true)
    : el('p', { class: 'muted' }, 'No TLS on this leg.')));
  return box;
}


export { renderTLS };
