/* messages.js — the detail pane's Messages tab of a WebSocket flow: every message both ways
 * (GET /api/flows/{id}/messages, paged), direction, time, type, size, a preview, filters by
 * direction and by text, and the selected message as text, JSON or hex. While the tab is shown it
 * asks for newer messages every second, so a socket that is still open fills in live. */

import { el, append, clear, fmtSize } from './util.js';
import { apiJSON } from './api.js';

const POLL_MS = 1000;
const PAGE = 1000;
const HEX_MAX = 16 * 1024;
const PREVIEW = 160;

function bytesOf(m) {
  if (m.encoding === 'utf8') return new TextEncoder().encode(m.data);
  const s = atob(m.data);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
// The message as text when it is (text messages, close reasons), else null.
function textOf(m) { return m.encoding === 'utf8' ? m.data : null; }
function clock(t) {
  const d = new Date(t * 1000);
  const p = (n, w) => String(n).padStart(w, '0');
  return p(d.getHours(), 2) + ':' + p(d.getMinutes(), 2) + ':' + p(d.getSeconds(), 2) + '.' + p(d.getMilliseconds(), 3);
}
function hex(bytes) {
  const lines = [];
  const n = Math.min(bytes.length, HEX_MAX);
  for (let off = 0; off < n; off += 16) {
    let h = '', a = '';
    for (let i = 0; i < 16; i++) {
      if (off + i < n) {
        const b = bytes[off + i];
        h += (b < 16 ? '0' : '') + b.toString(16) + ' ';
        a += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      } else h += '   ';
      if (i === 7) h += ' ';
    }
    lines.push(off.toString(16).padStart(8, '0') + '  ' + h + ' |' + a + '|');
  }
  if (bytes.length > n) lines.push('… ' + (bytes.length - n) + ' more bytes');
  return lines.join('\n');
}
function flags(m) {
  const f = [];
  if (m.compressed) f.push('deflated');
  if (m.cut) f.push('cut');
  if (m.inflate_failed) f.push('not inflated');
  return f.join(', ');
}
function preview(m) {
  if (m.type === 'close') return (m.close_code === null ? 'no code' : String(m.close_code)) + (m.data ? ' ' + m.data : '');
  const t = textOf(m);
  if (t !== null) return t.length > PREVIEW ? t.slice(0, PREVIEW) + '…' : t;
  return '(' + m.size + ' bytes binary)';
}

function renderMessages(d) {
  const box = el('div', { class: 'ws-messages' });
  const all = [];
  let after = -1, selected = null, view = 'auto';
  const dir = el('select', { id: 'ws-dir', title: 'Direction' },
    el('option', { value: '' }, 'Both ways'), el('option', { value: 'client' }, '↑ Sent (client)'),
    el('option', { value: 'server' }, '↓ Received (server)'));
  const find = el('input', { id: 'ws-find', type: 'search', placeholder: 'Filter messages by text', spellcheck: 'false' });
  const count = el('span', { class: 'muted ws-count' });
  const ws = d.ws || {};
  const facts = el('p', { class: 'muted ws-facts' });
  const list = el('div', { class: 'ws-list', role: 'grid' });
  const detail = el('div', { class: 'ws-detail' });
  append(box, [facts, el('div', { class: 'ws-bar' }, dir, find, count), list, detail]);
  function setFacts() {
    const parts = [ws.open ? 'open' : 'closed'];
    if (ws.close_code !== null && ws.close_code !== undefined) parts.push('close ' + ws.close_code + (ws.close_reason ? ' “' + ws.close_reason + '”' : '') + ' by ' + ws.closed_by);
    if (ws.extensions) parts.push(ws.extensions);
    if (ws.cut) parts.push(ws.cut + ' cut at --max-body');
    if (ws.dropped) parts.push(ws.dropped + ' not stored (memory budget)');
    if (ws.malformed) parts.push('parsing stopped: ' + ws.malformed);
    facts.textContent = 'WebSocket ' + parts.join(' · ');
  }
  setFacts();
  function matches(m) {
    if (dir.value && m.from !== dir.value) return false;
    const q = find.value.trim().toLowerCase();
    if (!q) return true;
    const t = m.type === 'close' ? preview(m) : textOf(m);
    return t !== null && t.toLowerCase().includes(q);
  }
  function row(m) {
    const r = el('div', { class: 'ws-row ws-' + m.from + (m === selected ? ' on' : ''), 'data-index': String(m.index), role: 'row' },
      el('span', { class: 'ws-dir', title: m.from === 'client' ? 'sent by the client' : 'sent by the server' }, m.from === 'client' ? '↑' : '↓'),
      el('span', { class: 'ws-time' }, clock(m.time)),
      el('span', { class: 'ws-type' }, m.type),
      el('span', { class: 'ws-size', title: flags(m) }, fmtSize(m.size) + (flags(m) ? ' *' : '')),
      el('span', { class: 'ws-prev' }, preview(m)));
    r.addEventListener('click', () => { selected = m; render(); });
    return r;
  }
  function render() {
    const shown = all.filter(matches);
    clear(list);
    for (const m of shown) list.appendChild(row(m));
    count.textContent = shown.length === all.length ? all.length + ' messages' : shown.length + ' of ' + all.length + ' messages';
    showSelected();
  }
  function showSelected() {
    clear(detail);
    const m = selected;
    if (!m) return;
    const t = textOf(m);
    let json = null;
    if (t !== null && m.type === 'text') try { json = JSON.parse(t); } catch (e) { json = null; }
    const mode = view === 'auto' ? (json !== null ? 'json' : t !== null ? 'text' : 'hex') : view;
    const tabs = el('div', { class: 'ws-views' });
    for (const v of ['text', 'json', 'hex']) {
      const b = el('button', { type: 'button', class: v === mode ? 'on' : '', 'data-view': v }, v.toUpperCase());
      if ((v === 'text' && t === null) || (v === 'json' && json === null)) b.disabled = true;
      b.addEventListener('click', () => { view = v; showSelected(); });
      tabs.appendChild(b);
    }
    const info = el('p', { class: 'muted' }, '#' + m.index + ' ' + (m.from === 'client' ? 'sent by the client' : 'sent by the server') +
      ' · ' + m.type + ' (opcode ' + m.opcode + ') · ' + m.size + ' bytes' + (m.compressed ? ', ' + m.wire_size + ' on the wire (deflated)' : '') +
      (m.cut ? ' · stored cut at --max-body' : '') + (m.inflate_failed ? ' · could not be inflated' : ''));
    let body;
    if (mode === 'json' && json !== null) body = el('pre', { class: 'ws-data json' }, JSON.stringify(json, null, 2));
    else if (mode === 'text' && t !== null) body = el('pre', { class: 'ws-data text' }, t);
    else body = el('pre', { class: 'ws-data hex' }, hex(bytesOf(m)));
    append(detail, [tabs, info, body]);
  }
  async function poll() {
    if (!box.isConnected && after >= 0) return; // the tab was left
    let added = after < 0;
    try {
      for (;;) {
        const page = await apiJSON('/api/flows/' + d.id + '/messages?after=' + after + '&limit=' + PAGE);
        if (!page.length) break;
        all.push(...page);
        after = page[page.length - 1].index;
        added = true;
        if (page.length < PAGE) break;
      }
      // the summary the live event stream keeps up to date (app.js) says whether it is open
      const v = window.httpeekViewer;
      const s = v && v.byId.get(d.id);
      if (s && s.ws) { Object.assign(ws, s.ws); setFacts(); }
      if (!selected && all.length) selected = all[0];
      if (added) render();
    } catch (e) {
      count.textContent = 'Could not load the messages: ' + e.message;
    }
    // an open socket is asked again; a closed one once more after it closed (its last ones)
    if (box.isConnected && (ws.open || added)) setTimeout(poll, POLL_MS);
  }
  dir.addEventListener('change', render);
  find.addEventListener('input', render);
  poll();
  return box;
}

export { renderMessages };
