/* list.js — the virtual list: a fixed row height, a spacer for the scroll range and a small pool
 * of row elements repainted from the store's view on scroll, so 100,000 flows cost one array.
 * Also the list's status line (counts, selection), following the newest flow, the empty and
 * no-match states. Rows reach the DOM through textContent only. */
import { $, el, fmtSize, fmtMs, mimeShort, statusClass, setText } from './util.js';
import { fmtClock, statusText, pathText, clientText } from './rows.js';
import { warnBadge } from './warnings.js';
import { store, state } from './state.js';

const ROW_H = 22; // px, must match .row height in style.css
const CELLS = ['id', 'start', 'method', 'host', 'path', 'status', 'type', 'size', 'time', 'client'];

const listEl = $('list');
const rowsEl = $('list-rows');
const spacerEl = $('list-spacer');
const pool = [];
let renderQueued = false;
let firstRowsMarked = false;
let hooks = { select() {}, toggleGroup() {}, mark() {} };

// hooks: {select(id), toggleGroup(key), mark(id)} (a ctrl/cmd-click marks a flow for Compare)
function initList(h) { hooks = Object.assign(hooks, h); }

function afterViewChange(reset) {
  spacerEl.style.height = (store.view.length * ROW_H) + 'px';
  updateEmpty();
  if (state.following) scrollToBottom();
  else if (reset && state.selectedId) ensureVisible(state.selectedId);
  updateCounts();
  scheduleRender();
}

// An empty list says why: no flows at all (how to connect a device), or a filter that lets
// none through (with a way out).
function updateEmpty() {
  const none = !store.view.length && !state.loading;
  $('list-empty').hidden = !none || store.flows.length > 0;
  $('list-nomatch').hidden = !none || !store.flows.length;
}

function scrollToBottom() {
  const max = store.view.length * ROW_H - listEl.clientHeight;
  if (max > 0 && listEl.scrollTop < max) listEl.scrollTop = max;
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}
// every visible row repainted (a selection, a rename, news of a flow)
function scheduleRenderAll() {
  for (const r of pool) r._item = null;
  scheduleRender();
}

function makeRow() {
  const r = el('div', { class: 'row', role: 'row' });
  r._cells = {};
  for (const c of CELLS) {
    const span = el('span', { class: 'c c-' + c });
    r._cells[c] = span;
    r.appendChild(span);
  }
  r._group = el('span', { class: 'c c-group' });
  r.appendChild(r._group);
  return r;
}

let scrollbarW = -1;
function render() {
  const view = store.view;
  const sw = listEl.offsetWidth - listEl.clientWidth;
  if (sw !== scrollbarW) { scrollbarW = sw; $('list-head').style.paddingRight = sw + 'px'; }
  const h = listEl.clientHeight || 400;
  const top = listEl.scrollTop;
  const first = Math.max(0, Math.floor(top / ROW_H) - 2);
  const last = Math.min(view.length, Math.ceil((top + h) / ROW_H) + 2);
  const n = Math.max(0, last - first);
  while (pool.length < n) { const r = makeRow(); pool.push(r); rowsEl.appendChild(r); }
  for (let i = 0; i < pool.length; i++) {
    const r = pool[i];
    if (i >= n) { if (!r.hidden) r.hidden = true; r._item = null; continue; }
    const item = view[first + i];
    r.hidden = false;
    r.style.transform = 'translateY(' + ((first + i) * ROW_H) + 'px)';
    if (r._item === item && r._sel === (item.id === state.selectedId)) continue;
    r._item = item;
    paintRow(r, item);
  }
  if (!firstRowsMarked && n > 0) {
    firstRowsMarked = true;
    try { performance.mark('httpeek-first-rows'); } catch (e) { /* old browser */ }
    document.body.dataset.firstRows = '1';
  }
}

function paintRow(r, s) {
  const c = r._cells;
  if (s.group !== undefined) {
    const folded = store.collapsed.has(s.group);
    r.className = 'row grouprow' + (folded ? ' collapsed' : '');
    r.dataset.group = s.group;
    delete r.dataset.id;
    r._sel = false;
    for (const k of CELLS) setText(c[k], '');
    setText(r._group, (folded ? '▸ ' : '▾ ') + s.label +
      (s.label !== s.group && s.group ? '  ' + s.group : '') + '  —  ' + s.count + ' flow' + (s.count === 1 ? '' : 's') +
      (s.failed ? ', ' + s.failed + ' failed' : ''));
    return;
  }
  setText(r._group, '');
  delete r.dataset.group;
  const sc = statusClass(s);
  const sel = s.id === state.selectedId;
  r._sel = sel;
  r.className = 'row' + (s.failed ? ' failed' : '') + (sc ? ' s' + sc : '') + (sel ? ' selected' : '') +
    (s.kind === 'tunnel' || s.failed_before_tls ? ' tunnel' : '') + (state.marked.includes(s.id) ? ' marked' : '');
  r.dataset.id = s.id;
  setText(c.id, String(s.id));
  setText(c.start, fmtClock(s.started));
  c.start.title = s.started || '';
  setText(c.method, s.method || '');
  setText(c.host, s.host + (s.port && s.port !== (s.scheme === 'https' || s.kind === 'tunnel' ? 443 : 80) ? ':' + s.port : ''));
  setText(c.path, pathText(s));
  setText(c.status, statusText(s));
  const wb = warnBadge(s); // ATS or app-level warning: an amber badge drawn by CSS from data-warn
  if ((c.status.dataset.warn || '') !== wb) { if (wb) c.status.dataset.warn = wb; else delete c.status.dataset.warn; }
  c.status.title = s.failed ? s.error || '' : wb ? 'warning ' + wb + ' (see the Overview tab)' : '';
  c.path.title = s.url || '';
  setText(c.type, mimeShort(s.mime));
  setText(c.size, s.failed && !s.resp_size ? '' : fmtSize(s.resp_size));
  setText(c.time, fmtMs(s.duration_ms));
  setText(c.client, clientText(s));
  c.client.title = (s.client || '') + (s.app ? ' · app ' + s.app + (s.ua ? ' (' + s.ua + ')' : '') : '');
}

function updateCounts() {
  const shown = store.viewIds.length, all = store.flows.length;
  setText($('st-count'), shown === all ? all + ' flows' : shown + ' of ' + all + ' flows shown');
}
function updateSelectedNote() {
  const m = state.marked.length ? ' · marked for compare: #' + state.marked.join(', #') : '';
  setText($('st-sel'), (state.selectedId ? 'flow #' + state.selectedId + ' selected · ↑/↓ to move, Esc to close, ? for keys' : '') + m);
}

function ensureVisible(id) {
  const i = store.rowIndexOf(id);
  if (i < 0) return;
  const top = i * ROW_H, h = listEl.clientHeight;
  if (top < listEl.scrollTop) listEl.scrollTop = top;
  else if (top + ROW_H > listEl.scrollTop + h) listEl.scrollTop = top + ROW_H - h;
}

function setFollowing(on) {
  state.following = on;
  $('b-follow').classList.toggle('on', on);
  if (on) scrollToBottom();
}

// rows a page holds (PageUp/PageDown)
function pageRows() { return Math.max(1, Math.floor(listEl.clientHeight / ROW_H) - 1); }

listEl.addEventListener('scroll', () => {
  const atBottom = listEl.scrollTop + listEl.clientHeight >= store.view.length * ROW_H - ROW_H / 2;
  if (atBottom !== state.following) setFollowing(atBottom);
  scheduleRender();
}, { passive: true });
window.addEventListener('resize', scheduleRender);

listEl.addEventListener('click', (ev) => {
  const r = ev.target.closest('.row');
  if (!r) return;
  if (r.dataset.group !== undefined) { hooks.toggleGroup(r.dataset.group); return; }
  if (!r.dataset.id) return;
  if (ev.ctrlKey || ev.metaKey) { hooks.mark(+r.dataset.id); return; }
  hooks.select(+r.dataset.id);
});

export { initList, afterViewChange, updateEmpty, scheduleRender, scheduleRenderAll, updateCounts, updateSelectedNote,
  ensureVisible, setFollowing, pageRows, CELLS, ROW_H };
