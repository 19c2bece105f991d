/* rows.js — what a flow's row says in the list: the start time, the path (or what a tunnel was),
 * the status or the failure in short (marked when a rule touched the flow), and the client with
 * its app. */

import { pad2 } from './util.js';

// "2026-12-06T18:44:52.597Z" → "19:44:52.597" in local time ('' when absent or unreadable)
function fmtClock(iso) {
  if (!iso) return '';
  const t = new Date(iso);
  if (isNaN(t.getTime())) return '';
  return pad2(t.getHours()) + ':' + pad2(t.getMinutes()) + ':' + pad2(t.getSeconds()) + '.' +
    String(t.getMilliseconds()).padStart(3, '0');
}

// "cannot resolve x: no such host (NXDOMAIN ...)" → "cannot resolve x"
function shortError(e) {
  if (!e) return 'failed';
  const i = e.indexOf(':');
  return i > 8 && i < 60 ? e.slice(0, i) : e.slice(0, 60);
}

// "-1202 self-signed": the code the app saw and the short reason the server gives (else the
// first clause of the long one); the status code for a response; "tunnel" for an open tunnel.
// A rule answered, redirected or failed it (docs/RULES.md): " · rule" says so in the list.
function statusText(s) {
  const rule = s.rules ? ' · rule' : '';
  if (s.failed) return (s.diag_code ? s.diag_code + ' ' : '') + (s.reason_short || shortError(s.error)) + rule;
  return (s.status ? String(s.status) : s.kind === 'tunnel' ? 'tunnel' : '') + rule;
}

// A CONNECT that failed at DNS, connect or the server's TLS never was a tunnel.
// httpeek sent it itself (compose.js): "repeat of #12" or "composed" after the path.
function pathText(s) {
  if (s.failed_before_tls) return 'CONNECT failed before TLS';
  const sent = s._replay_of ? '  · repeat of #' + s._replay_of : s._composed ? '  · composed' : '';
  return (s.kind === 'tunnel' ? (s.note || 'tunnel') : (s.path || '')) + sent;
}

function clientLabel(s) { return s.client_name || s.client || ''; }
// "iPhone · MyApp": the client, then the app (User-Agent product) when the server names one
function clientText(s) {
  const c = clientLabel(s);
  return s.app ? (c ? c + ' · ' : '') + s.app : c;
}

export { fmtClock, statusText, pathText, clientLabel, clientText };
