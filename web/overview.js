/* overview.js — the detail pane's Overview tab: the diagnosis panel, the rules that changed the flow, general facts, sizes, timing and failure. */

import { el, kv, section, fmtMs, fmtSize } from './util.js';
import { waterfall } from './waterfall.js';

function diagPanel(g, small) {
  // a warning's kind (ats, content-type, status, decode, hls, cache, local-network) and its error
  // domain when not NSURLErrorDomain; a cache note (code 0) is information, not a warning
  const note = small && g.kind === 'cache';
  const p = el('div', { class: note ? 'diag note' : small ? 'diag warn' : 'diag', 'data-code': g.code, 'data-kind': g.kind });
  p.appendChild(el('div', { class: 'diag-top' },
    el('span', { class: 'diag-badge' },
      note ? null : el('span', { class: 'diag-code' }, String(g.code)), note ? null : ' ',
      el('span', { class: 'diag-name' }, g.name || '')),
    g.kind ? el('span', { class: 'diag-kind' }, g.kind) : null,
    g.domain ? el('span', { class: 'diag-domain' }, g.domain) : null,
    g.stage ? el('span', { class: 'diag-stage' }, 'stage: ' + g.stage) : null));
  if (g.title) p.appendChild(el(small ? 'h5' : 'h3', { class: 'diag-title' }, g.title));
  if (g.detail) p.appendChild(el('p', { class: 'diag-detail' }, g.detail));
  if (g.fix) p.appendChild(el('div', { class: 'diag-fix' }, el('b', null, 'Fix: '), g.fix));
  if (g.android) p.appendChild(el('div', { class: 'diag-android' }, el('b', null, 'Android: '), g.android));
  if (g.flow) p.appendChild(el('div', { class: 'diag-flow' }, 'Open flow ', flowLink(g.flow)));
  return p;
}

function renderOverview(d) {
  const frag = el('div', { class: 'overview' });
  if (d.diagnosis) frag.appendChild(diagPanel(d.diagnosis, false));
  if (d.warnings && d.warnings.length) {
    frag.appendChild(section('Warnings', ...d.warnings.map((w) => diagPanel(w, true))));
  }
  if (d.links && d.links.length) frag.appendChild(section('Related flows', relatedList(d.links)));
  // a rule answered, redirected or failed this request (docs/RULES.md): say so before anything
  if (d._rules && d._rules.length) {
    frag.appendChild(section('Changed by rules', kv(d._rules.map((r) => ['Rule ' + r.id, r.action.replace('_', ' ') + ': ' + r.detail]))));
  }
  const req = d.request || {}, resp = d.response;
  const client = (d.client_name ? d.client_name + ' — ' : '') + (d.client || '') + (d.client_port ? ':' + d.client_port : '');
  frag.appendChild(section('General', kv([
    ['URL', d.url],
    ['Method', d.method],
    ['Status', d.failed ? 'failed' + (d.error ? ': ' + d.error : '') : resp ? resp.status + ' ' + (resp.reason || '') : ''],
    ['Protocol', [req.http_version, resp && resp.http_version].filter(Boolean).join(' → ')],
    ['Kind', d.failed_before_tls ? 'CONNECT that failed before TLS (no tunnel was opened)'
      : d.kind === 'tunnel' ? 'tunnel (not intercepted)' : null],
    ['Note', d.note],
    ['Started', d.started ? new Date(d.started).toLocaleString() + '  (' + d.started + ')' : ''],
    ['Duration', fmtMs(d.duration_ms)],
    ['Client', client],
    ['Server IP', d.server_ip ? d.server_ip + (d.port ? ' port ' + d.port : '') : ''],
    ['Connection', connectionFact(d)],
    ['Stream', streamFact(d)],
    ['Flow', '#' + d.id + (d.conn_id ? ', client connection ' + d.conn_id : '')],
  ])));
  frag.appendChild(section('Sizes', kv([
    ['Request', (req.head_size >= 0 ? fmtSize(req.head_size) + ' head + ' : '') + fmtSize(req.body_size || 0) + ' body' + truncNote(req)],
    ['Response', resp ? (resp.head_size >= 0 ? fmtSize(resp.head_size) + ' head + ' : '') + fmtSize(resp.body_size || 0) + ' body' + truncNote(resp) : ''],
    ['On the wire', wireFact(d)],
  ])));
  if (d.timings) frag.appendChild(section('Timing', waterfall(d.timings)));
  if (d.failure) {
    const f = d.failure;
    frag.appendChild(section('Failure', kv([
      ['Stage', f.stage],
      ['Reason', f.reason],
      ['errno', f.errno ? String(f.errno) : ''],
      ['DNS error', f.dns_error ? String(f.dns_error) : ''],
      ['Timed out', f.timeout ? 'yes' : ''],
      ['Status sent to client', f.status_sent ? String(f.status_sent) : ''],
      ['Closed by', f.closed_by],
      ['Parse error', f.parse_error],
      ['No request after TLS', d.no_request_after_tls ? 'yes: the client finished the handshake and sent nothing' : ''],
    ])));
  }
  return frag;
}
// The upstream connection, only from what the flow records: a number is how many requests the
// connection served before this one; a bool says reused or not. Nothing for a flow that never
// had an upstream exchange (a tunnel, a failure before connecting).
function connectionFact(d) {
  const r = d.reused_upstream;
  if (d.kind === 'tunnel' || r === undefined || r === null) return null;
  if (!r) {
    const t = d.timings || {};
    return t.connect >= 0 || d.server_ip ? 'new connection' : null;
  }
  if (typeof r === 'number') return 'reused (served ' + r + ' earlier request' + (r === 1 ? '' : 's') + ')';
  return 'reused upstream connection';
}
// HTTP/2 stream ids (the flow's http2 fact): the client's stream, and the one towards the server.
function streamFact(d) {
  const h = d.http2;
  if (!h) return null;
  const parts = [];
  if (h.stream_id) parts.push('HTTP/2 stream ' + h.stream_id + ' from the client');
  if (h.upstream_stream_id) parts.push((parts.length ? 'stream ' : 'HTTP/2 stream ') + h.upstream_stream_id + ' to the server');
  return parts.join(', ') || null;
}
// Bytes on the wire: only when counted (an absent or all-zero count is not a fact to show).
function wireFact(d) {
  const up = d.bytes_up, down = d.bytes_down;
  if (typeof up !== 'number' || typeof down !== 'number' || (up <= 0 && down <= 0)) return null;
  return '↑ ' + fmtSize(up) + '   ↓ ' + fmtSize(down);
}
function truncNote(part) {
  if (!part) return '';
  if (part.body_truncated) return ' (captured ' + fmtSize(part.body_captured) + ', truncated)';
  return '';
}

// Flows this one is linked to, found by the server when the detail was read (links.c): the
// response a 304 revalidated, the 304s that revalidated this response, the playlist that listed
// this segment, the listed URIs that failed. A link opens that flow (app.js listens).
const REL = {
  'revalidates': 'Revalidates the response of',
  'revalidated-by': 'Revalidated (304) by',
  'hls-playlist': 'Listed by the playlist',
  'hls-failed': 'Listed here, then failed:',
};
function flowLink(id) {
  const a = el('a', { href: '#', class: 'flow-link', 'data-flow': String(id) }, '#' + id);
  a.addEventListener('click', (e) => {
    e.preventDefault();
    document.dispatchEvent(new CustomEvent('hp-open-flow', { detail: id }));
  });
  return a;
}
function relatedList(links) {
  const ul = el('ul', { class: 'related' });
  for (const l of links) {
    const what = l.flow == null ? null
      : l.failed ? 'failed' + (l.reason ? ': ' + l.reason : '') : l.status ? String(l.status) : '';
    ul.appendChild(el('li', { 'data-rel': l.rel },
      (REL[l.rel] || l.rel) + ' ',
      l.flow == null ? el('i', null, l.reason || 'not in this session') : flowLink(l.flow),
      what ? ' ' + what : null,
      l.url && l.rel.startsWith('hls') ? el('span', { class: 'related-url' }, ' ' + l.url) : null));
  }
  return ul;
}

export { diagPanel, renderOverview };
