/* breakpoints.js — the Breakpoints panel (issue 20): breakpoints from GET /api/breakpoints (add:
 * a URL pattern, method, phase; delete), the exchanges they paused (announced by "event:
 * breakpoints" on /api/events: a badge in the toolbar, the panel opened on the newest), the paused
 * one's head and body editable (headers as "Name: value" lines, a JSON body pretty-printed), and
 * Execute / Continue / Abort (how: the NSURLError the app is to see, or a status) through
 * POST /api/breakpoints/paused/{id}. A countdown names when the app's own timeout (URLSession's
 * default 60 s) gives up with -1001. Text reaches the DOM through textContent and values only. */
import { $, el, append, clear } from './util.js';
import { apiJSON } from './api.js';
import { addShortcut } from './keys.js';

const ABORTS = [
  ['-1005', 'Connection lost (-1005)'], ['-1001', 'Time out: never answer (-1001)'],
  ['-1004', 'Cannot connect (-1004)'], ['-1003', 'Host not found (-1003)'],
  ['503', 'Status 503'], ['500', 'Status 500'], ['404', 'Status 404'], ['401', 'Status 401'],
];

let dlg = null;
let state = { breakpoints: [], paused: [] };
let current = null; // the paused exchange in the editor
let shown = null;   // what the editor showed first: {head, body}
let seen = new Set();

function headerText(headers) { return (headers || []).map(([n, v]) => n + ': ' + v).join('\n'); }
function parseHeaders(text) {
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim())
    .map((l) => { const i = l.indexOf(':', l.startsWith(':') ? 1 : 0); return i < 0 ? [l.trim(), ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()]; });
}
function bodyText(m) {
  if (!m || m.body === undefined) return '';
  try { return JSON.stringify(JSON.parse(m.body), null, 2); } catch (e) { return m.body; }
}
export function isJSONText(s) { try { JSON.parse(s); return true; } catch (e) { return false; } }

function note(text) { const n = $('bp-note'); if (n) n.textContent = text || ''; }

function renderList() {
  const list = $('bp-list');
  clear(list);
  if (!state.breakpoints.length) append(list, el('div', { class: 'muted', text: 'No breakpoints. Add one: a URL pattern (https://api.example.com/v1/*), a method, a phase.' }));
  for (const b of state.breakpoints) {
    const m = b.match || {};
    append(list, el('div', { class: 'bp-row' },
      el('code', { text: b.id }), ' ',
      el('span', { text: [m.url || m.host || '', m.path || '', m.method || ''].filter(Boolean).join(' ') + ' — ' + b.phase }), ' ',
      el('button', { type: 'button', text: 'Delete', 'aria-label': 'Delete ' + b.id, onclick: () => remove(b.id) })));
  }
  const paused = $('bp-paused');
  clear(paused);
  for (const p of state.paused) {
    const m = p.phase === 'request' ? p.request : p.response;
    append(paused, el('button', { type: 'button', class: 'bp-paused-item' + (current && current.id === p.id ? ' on' : ''), dataset: { id: String(p.id) }, onclick: () => edit(p) },
      'Paused ' + p.phase + ' ' + (p.request ? p.request.method + ' ' + p.request.url : '') + (m && m.status ? ' → ' + m.status : '')));
  }
  const badge = $('bp-badge');
  if (badge) { badge.hidden = !state.paused.length; badge.textContent = 'Paused: ' + state.paused.length; }
}

function edit(p) {
  current = p;
  const req = p.phase === 'request';
  const m = req ? p.request : p.response;
  $('bp-editor').hidden = false;
  $('bp-ed-title').textContent = (req ? 'Request' : 'Response') + ' paused at ' + p.breakpoint + (p.client ? ' from ' + p.client : '');
  $('bp-ed-line').value = req ? m.method + ' ' + m.url : String(m.status) + ' ' + (m.reason || '');
  $('bp-ed-headers').value = headerText(m.headers);
  $('bp-ed-body').value = m.body_base64 !== undefined ? '' : bodyText(m);
  $('bp-ed-body').disabled = m.body_base64 !== undefined;
  $('bp-ed-file').value = '';
  $('bp-ed-bodynote').textContent = m.body_base64 !== undefined ? 'Binary body (' + m.body_size + ' bytes): sent unchanged, or replaced from a file.'
    : m.body_encoding ? 'Shown decoded (' + m.body_encoding + '); re-encoded when sent.' : '';
  shown = { line: $('bp-ed-line').value, headers: $('bp-ed-headers').value, body: $('bp-ed-body').value, raw: m.body };
  renderList();
  tick();
}

/* The edits the user made, as the API wants them. */
export function edits(phase, before, after) {
  const e = {};
  if (after.line !== before.line) {
    const sp = after.line.trim().split(/\s+/);
    if (phase === 'request') { e.method = sp[0]; if (sp[1]) e.url = sp[1]; } else { e.status = parseInt(sp[0], 10); if (sp.length > 1) e.reason = sp.slice(1).join(' '); }
  }
  if (after.headers !== before.headers) e.headers = parseHeaders(after.headers);
  if (after.body !== before.body) {
    // a JSON body shown pretty goes back compact when it still parses
    e.body = isJSONText(after.body) && isJSONText(before.raw || '') ? JSON.stringify(JSON.parse(after.body)) : after.body;
  }
  return e;
}

async function act(action) {
  if (!current) return;
  const body = { action };
  const side = current.phase === 'request' ? 'request' : 'response';
  if (action === 'execute') {
    const e = edits(current.phase, shown, { line: $('bp-ed-line').value, headers: $('bp-ed-headers').value, body: $('bp-ed-body').value });
    const file = $('bp-ed-file').files[0];
    if (file) { // a body from a file (a binary one is replaced this way)
      delete e.body;
      e.body_base64 = await fileBase64(file);
    }
    if (Object.keys(e).length) body[side] = e;
  } else if (action === 'abort') {
    const how = $('bp-abort-how').value;
    body.abort = how.startsWith('-') ? { error: parseInt(how, 10) } : { status: parseInt(how, 10) };
  }
  try {
    await apiJSON('/api/breakpoints/paused/' + current.id, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    note(action + ': sent');
    current = null;
    $('bp-editor').hidden = true;
  } catch (err) { note(err.message); }
  await load();
  if (!current && state.paused.length) edit(state.paused[0]); // the next one waiting, at once
}

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

async function remove(id) {
  try { await apiJSON('/api/breakpoints/' + encodeURIComponent(id), { method: 'DELETE' }); } catch (err) { note(err.message); }
  await load();
}

async function add() {
  const pattern = $('bp-f-pattern').value.trim();
  if (!pattern) { note('A URL pattern or a host, please.'); return; }
  const match = pattern.includes('://') ? { url: pattern } : { host: pattern };
  const method = $('bp-f-method').value;
  if (method) match.method = method;
  try {
    await apiJSON('/api/breakpoints', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ match, phase: $('bp-f-phase').value }) });
    $('bp-f-pattern').value = '';
    note('');
  } catch (err) { note(err.message); }
  await load();
}

/* The app's clock: its request times out (-1001) 60 s after it last heard from us. */
function tick() {
  const t = $('bp-countdown');
  if (!t || !current) return;
  const left = Math.round((current.client_deadline - Date.now()) / 1000);
  t.textContent = left > 0 ? 'The app gives up in ' + left + ' s with -1001 (NSURLErrorTimedOut, URLSession\'s default ' + current.client_timeout_s + ' s timeout).'
    : 'The app has likely given up by now: -1001 (NSURLErrorTimedOut).';
}

async function load() {
  try { state = await apiJSON('/api/breakpoints'); } catch (err) { note(err.message); return; }
  if (current && !state.paused.some((p) => p.id === current.id)) { current = null; if ($('bp-editor')) $('bp-editor').hidden = true; }
  const fresh = state.paused.filter((p) => !seen.has(p.id));
  for (const p of state.paused) seen.add(p.id);
  if (dlg) renderList();
  else if (state.paused.length) { const b = $('bp-badge'); if (b) { b.hidden = false; b.textContent = 'Paused: ' + state.paused.length; } }
  if (fresh.length) { // a new pause: show it at once
    open(false);
    if (!current) edit(fresh[0]);
  }
}

function build() {
  if (dlg) return;
  const method = el('select', { id: 'bp-f-method', 'aria-label': 'Method' }, el('option', { value: '', text: 'Any method' }),
    ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => el('option', { value: m, text: m })));
  const phase = el('select', { id: 'bp-f-phase', 'aria-label': 'Phase' }, ['request', 'response', 'both'].map((p) => el('option', { value: p, text: p })));
  const how = el('select', { id: 'bp-abort-how', 'aria-label': 'Abort how' }, ABORTS.map(([v, t]) => el('option', { value: v, text: t })));
  dlg = el('dialog', { id: 'bp-dlg', 'aria-label': 'Breakpoints', style: 'width: min(900px, 94vw)' },
    el('div', { class: 'rules-head' }, el('h3', { text: 'Breakpoints' }), el('span', { class: 'spacer' }),
      el('button', { type: 'button', id: 'bp-close', text: 'Close', onclick: () => dlg.close() })),
    el('div', { id: 'bp-note', class: 'rules-note', role: 'status' }),
    el('form', { id: 'bp-form', onsubmit: (e) => { e.preventDefault(); add(); } },
      el('input', { id: 'bp-f-pattern', type: 'text', placeholder: 'https://api.example.com/v1/*  or  api.example.com', spellcheck: 'false', 'aria-label': 'URL pattern', style: 'width: 40%' }),
      method, phase, el('button', { type: 'submit', id: 'bp-add', text: 'Add breakpoint' })),
    el('div', { id: 'bp-list' }),
    el('h4', { text: 'Paused' }),
    el('div', { id: 'bp-paused' }),
    el('div', { id: 'bp-editor', hidden: true },
      el('h4', { id: 'bp-ed-title' }),
      el('div', { id: 'bp-countdown', class: 'muted', role: 'timer' }),
      el('input', { id: 'bp-ed-line', type: 'text', spellcheck: 'false', 'aria-label': 'Request line or status', style: 'width: 98%' }),
      el('textarea', { id: 'bp-ed-headers', rows: 8, spellcheck: 'false', 'aria-label': 'Headers', style: 'width: 98%; font-family: monospace' }),
      el('textarea', { id: 'bp-ed-body', rows: 12, spellcheck: 'false', 'aria-label': 'Body', style: 'width: 98%; font-family: monospace' }),
      el('div', { id: 'bp-ed-bodynote', class: 'muted' }),
      el('label', { class: 'muted' }, 'Body from a file: ', el('input', { id: 'bp-ed-file', type: 'file', 'aria-label': 'Body from a file' })),
      el('div', null,
        el('button', { type: 'button', id: 'bp-execute', text: 'Execute', title: 'Send as edited', onclick: () => act('execute') }), ' ',
        el('button', { type: 'button', id: 'bp-continue', text: 'Continue unchanged', onclick: () => act('continue') }), ' ',
        how, ' ', el('button', { type: 'button', id: 'bp-abort', text: 'Abort', onclick: () => act('abort') }))));
  document.body.appendChild(dlg);
  renderList();
}

export function open(modal) {
  build();
  if (!dlg.open) { if (modal === false) dlg.show(); else dlg.showModal(); }
  renderList();
}

function init() {
  const anchor = $('b-follow');
  if (anchor) {
    const btn = el('button', { id: 'b-breakpoints', type: 'button', text: 'Breakpoints', title: 'Pause requests and responses, edit them, let them go or fail them', onclick: () => { open(); load(); } });
    const badge = el('button', { id: 'bp-badge', type: 'button', class: 'throttle-on', hidden: true, onclick: () => { open(); load(); } });
    anchor.parentNode.insertBefore(btn, anchor);
    anchor.parentNode.insertBefore(badge, btn);
  }
  setInterval(tick, 1000);
  load();
}

/* app.js hands over its event stream: a pause is announced at once ("event: breakpoints"), and
 * after a reconnect the list is read again (pauses may have come and gone meanwhile). */
export function watch(es) {
  if (!es || es.hpBreakpoints) return;
  es.hpBreakpoints = true;
  es.addEventListener('breakpoints', () => load());
  es.addEventListener('open', () => load());
}

/* The keyboard (keys.js lists them under "?"): the panel from anywhere; in the panel, the paused
 * exchange in the editor goes on or fails without the mouse, even from its text fields. */
const editing = () => !!current && !!$('bp-editor') && !$('bp-editor').hidden;
addShortcut(['B'], 'Session', 'Breakpoints panel (paused exchanges, their editor)', () => { open(); load(); });
addShortcut(['Ctrl+Enter'], 'Paused at a breakpoint', 'Execute: send it as edited', () => act('execute'), editing, 'bp-dlg');
addShortcut(['Alt+c'], 'Paused at a breakpoint', 'Continue unchanged', () => act('continue'), editing, 'bp-dlg');
addShortcut(['Alt+a'], 'Paused at a breakpoint', 'Abort, the way the list beside Abort says', () => act('abort'), editing, 'bp-dlg');
addShortcut(['Alt+n'], 'Paused at a breakpoint', 'The next paused exchange in the editor', () => {
  if (!state.paused.length) return;
  const i = state.paused.findIndex((p) => current && p.id === current.id);
  edit(state.paused[(i + 1) % state.paused.length]);
  renderList();
}, () => state.paused.length > 0, 'bp-dlg');

window.HP.openBreakpoints = open;
window.HP.watchBreakpoints = watch;
if (window.HP.events) watch(window.HP.events); // app.js connected before this module ran
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
