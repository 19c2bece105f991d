/* app.js — httpeek's viewer: one page, no framework, nothing loaded from elsewhere; this module
 * wires the others together (docs/VIEWER.md has the map).
 *
 * Data flow: /api/events (server-sent events) is opened first, then /api/flows is paged in
 * (2,000 summaries for the first screen, then bigger pages in the background); "flows" events
 * add summaries as the store commits them. The store (flowstore.js) holds every summary and the
 * filtered, sorted view; list.js paints it; detail.js shows the selected flow.
 *
 * Everything captured is untrusted: it reaches the DOM only through textContent, attribute
 * setters and <img src> to our own body URL (served under a sandbox CSP). Never innerHTML. */
import * as util from './util.js';
import * as apiMod from './api.js';
import * as rows from './rows.js';
import * as warnings from './warnings.js';
import * as actions from './actions.js';
import * as search from './search.js';
import * as devices from './devices.js';
import * as body from './body.js';
import { waterfall } from './waterfall.js';
import { diagPanel, renderOverview } from './overview.js';
import { renderTLS } from './tls.js';
import { renderRaw } from './raw.js';
import { renderMessages } from './messages.js';
import { renderHeaders, renderQuery, renderCookies } from './headers.js';
import { resizeDetail } from './layout.js';
import './recording.js';
import { compileFilter } from './flowstore.js';
import { store, state } from './state.js';
import { initList, afterViewChange, updateEmpty, scheduleRenderAll, setFollowing, ensureVisible, updateSelectedNote, CELLS } from './list.js';
import { select, closeDetail, current, showTab, stepTab } from './detail.js';
import { initClients, noteClients, refreshClients, clientsChanged, markActive } from './clients.js';
import { markForCompare, openCompare } from './compare.js';
import { initKeys, addShortcut } from './keys.js';
import { FORMATS } from './copyas.js';

const { $, el, clear, pref, setText } = util;
const { api, apiJSON } = apiMod;
const { copyAsText, copyText, showDialog, stamp, saveBlob } = actions;

// The classic scripts (rules.js) and the other engineers' modules take the helpers from here.
window.HP = Object.assign(window.HP || {}, util, apiMod, rows, warnings, actions, search, devices, body,
  { waterfall, diagPanel, renderOverview, renderTLS, renderRaw, renderMessages, renderHeaders, renderQuery, renderCookies,
    store, state, select, closeDetail, currentFlow: current, showTab, addShortcut, markForCompare, openCompare });

const FIRST_PAGE = 2000;     // summaries for the first screen
const PAGE = 10000;          // summaries per background page
const FILTER_DEBOUNCE_MS = 120;

/* ------------------------------------------------------------------------------------------ */
/* Filtering and the view */

function readFilter() {
  store.filter = compileFilter({
    text: $('filter').value, method: $('f-method').value, status: $('f-status').value,
    type: $('f-type').value, client: $('f-client').value, errors: $('f-errors').checked,
  }, (q) => search.serverSearch(q, onSearchProgress));
  store.grouped = $('f-group').checked;
}

// Rebuild the view (filter, sort or grouping changed, or a clear).
function rebuildView() {
  clearTimeout(rebuildTimer);
  rebuildTimer = 0;
  store.rebuild();
  afterViewChange(true);
}

// Grouped views are rebuilt at most every ms while flows stream in (a pending rebuild is
// never pushed back, or steady traffic would starve it).
let rebuildTimer = 0;
function scheduleRebuild(ms) {
  if (rebuildTimer) return;
  rebuildTimer = setTimeout(() => { rebuildTimer = 0; rebuildView(); }, ms);
}

// the server found more matches (or finished): show them
function onSearchProgress() { rebuildView(); }

let filterTimer = 0;
function onFilterInput() {
  // where the detail covers the list (a phone-sized window), filtering shows the list again
  if (!$('detail').hidden && matchMedia('(max-width: 699px)').matches) closeDetail();
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => { readFilter(); rebuildView(); }, FILTER_DEBOUNCE_MS);
}

function clearFilter() {
  $('filter').value = '';
  for (const id of ['f-method', 'f-status', 'f-type', 'f-client']) $(id).value = '';
  $('f-errors').checked = false;
  clearTimeout(filterTimer);
  readFilter();
  rebuildView();
  markActive();
}
$('b-clearfilter').addEventListener('click', clearFilter);

for (const id of ['filter']) $(id).addEventListener('input', onFilterInput);
for (const id of ['f-method', 'f-status', 'f-type', 'f-client', 'f-errors']) $(id).addEventListener('change', onFilterInput);
$('f-group').addEventListener('change', () => { readFilter(); rebuildView(); });

// Add summaries (any order, duplicates update the one held).
function addFlows(list) {
  const { added, updated } = store.add(list);
  if (updated) scheduleRenderAll();
  if (!added) return;
  if (store.grouped) scheduleRebuild(200);
  noteClients(list);
  search.searchMore();
  afterViewChange(false);
}

/* Sorting: click a column header to sort by it; again to reverse (remembered). */
function setSort(key, dir) {
  if (!store.setSort(key, dir)) return;
  for (const h of document.querySelectorAll('#list-head .c')) {
    const on = h.dataset.sort === store.sortKey;
    h.classList.toggle('sorted', on);
    h.classList.toggle('asc', on && store.sortDir === 1);
    h.classList.toggle('desc', on && store.sortDir === -1);
    if (h.dataset.sort) h.setAttribute('aria-sort', on ? (store.sortDir === 1 ? 'ascending' : 'descending') : 'none');
  }
}
function sortBy(k, dir) {
  setSort(k, dir);
  pref('sort', store.sortKey + ':' + store.sortDir);
  rebuildView();
}
{
  const head = $('list-head');
  CELLS.forEach((k, i) => {
    const h = head.children[i];
    if (!h) return;
    h.dataset.sort = k;
    h.title = 'Sort by ' + h.textContent + ' (click again to reverse; o and O from the keyboard)';
  });
  head.addEventListener('click', (ev) => {
    const h = ev.target.closest('.c');
    if (!h || !h.dataset.sort || head.dataset.dragged) return;
    const k = h.dataset.sort;
    sortBy(k, k === store.sortKey ? -store.sortDir : 1);
  });
  const saved = /^(\w+):(-?1)$/.exec(pref('sort') || '');
  setSort(saved ? saved[1] : 'id', saved ? +saved[2] : 1);
  if (store.sortKey !== (saved ? saved[1] : 'id')) setSort('id', 1);
}

function toggleGroup(g) {
  if (store.collapsed.has(g)) store.collapsed.delete(g); else store.collapsed.add(g);
  rebuildView();
}
initList({ select, toggleGroup, mark: markForCompare });
initClients({ filterChanged: onFilterInput, rebuild: rebuildView });

/* ------------------------------------------------------------------------------------------ */
/* Actions */

// Copy as: the button is curl; the select next to it the other formats (copyas.js)
async function copyAs(format) {
  const d = current();
  if (!d) return;
  const label = (FORMATS.find((f) => f.id === format) || {}).label || format;
  let text;
  try { text = await copyAsText(format, d); } catch (e) { showDialog('Copy as ' + label, 'Could not build it: ' + e.message); return; }
  const ok = await copyText(text);
  showDialog('Copy as ' + label, ok ? 'Copied to the clipboard.' : 'Copy it from here (the clipboard is not available).', text);
}
$('b-curl').addEventListener('click', () => copyAs('curl'));
{
  const sel = $('copy-as');
  for (const f of FORMATS) sel.appendChild(el('option', { value: f.id }, f.label));
  sel.addEventListener('change', () => {
    const v = sel.value;
    sel.value = '';
    if (v) copyAs(v);
  });
}
$('b-compare').addEventListener('click', () => { const d = current(); if (d) markForCompare(d.id); });

async function exportHar() {
  const redact = $('har-redact').checked;
  const all = $('har-scope').value === 'all' || store.viewIds.length === store.flows.length && !state.loading;
  const btn = $('b-har');
  const ids = all ? null : store.viewIds.map((s) => s.id);
  if (ids && !ids.length) { showDialog('Export HAR', 'The filter shows no flows: nothing to export.'); return; }
  btn.disabled = true;
  const old = btn.textContent;
  btn.textContent = 'Exporting…';
  try {
    const r = all
      ? await fetch(api('/api/har?redact=' + (redact ? 1 : 0)), { cache: 'no-store' })
      : await fetch(api('/api/har'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ids, redact }) });
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try { msg = (await r.json()).error || msg; } catch (e) { /* keep */ }
      throw new Error(msg);
    }
    saveBlob(await r.blob(), 'httpeek-' + stamp() + '.har');
  } catch (e) {
    showDialog('Export HAR', 'The export failed: ' + e.message);
  } finally {
    btn.disabled = false;
    btn.textContent = old;
  }
}
$('b-har').addEventListener('click', exportHar);

async function clearFlows() {
  if (!window.confirm('Clear every flow from the viewer? The session file keeps them.')) return;
  try {
    await apiJSON('/api/flows', { method: 'DELETE' });
    clearAll();
  } catch (e) {
    showDialog('Clear', 'Could not clear: ' + e.message);
  }
}
$('b-clear').addEventListener('click', clearFlows);

function clearAll() {
  state.generation++;
  store.clear();
  state.marked.length = 0;
  closeDetail();
  setFollowing(true);
  afterViewChange(true);
  refreshClients();
}

$('b-follow').addEventListener('click', () => setFollowing(!state.following));

/* ------------------------------------------------------------------------------------------ */
/* The keyboard (keys.js draws the ? overlay from what is registered here) */

function moveSelection(delta) {
  const id = store.step(state.selectedId, delta);
  if (!id) return;
  select(id);
  setFollowing(false);
  ensureVisible(id);
}
initKeys({
  move: moveSelection,
  end() { moveSelection(store.navList.length); setFollowing(true); },
  escape() { closeDetail(); },
  filterEscape() { $('filter').value = ''; onFilterInput(); },
  sortNext(dir) {
    const keys = CELLS;
    if (dir) { sortBy(store.sortKey, -store.sortDir); return; }
    sortBy(keys[(keys.indexOf(store.sortKey) + 1) % keys.length], 1);
  },
  copyAs, exportHar, clearFlows, clearFilter, stepTab,
  toggleCheck(id) { const c = $(id); c.checked = !c.checked; c.dispatchEvent(new Event('change')); },
  hasDetail: () => !!current(),
  resizeDetail,
  foldGroup() { const s = store.byId.get(state.selectedId); if (s) toggleGroup(s.client || ''); },
});

/* ------------------------------------------------------------------------------------------ */
/* Live updates and loading */

function connectEvents() {
  const live = $('st-live');
  const es = apiMod.openEvents({
    open() { live.className = 'live on'; live.textContent = '● live'; },
    error() { live.className = 'live off'; live.textContent = '○ reconnecting'; },
    flows(list) { addFlows(list); clientsChanged(); },
    cleared: clearAll,
    clients: clientsChanged,
  });
  if (window.httpeekRecording) window.httpeekRecording.watch(es); // recording.js: the banner
  window.HP.events = es; // for modules evaluated after this one (breakpoints.js watches it)
  if (window.HP.watchBreakpoints) window.HP.watchBreakpoints(es); // breakpoints.js: pauses
}

async function loadAll() {
  const t0 = performance.now();
  let after = 0, limit = FIRST_PAGE, total = 0;
  const gen = state.generation;
  setText($('st-load'), 'loading…');
  try {
    for (;;) {
      const page = await apiMod.flowPage(after, limit);
      if (!Array.isArray(page) || gen !== state.generation) break;
      addFlows(page);
      total += page.length;
      if (after === 0) {
        // the clients panel asks the server for per-client counts over the whole session:
        // only once the first screen is on its way
        refreshClients();
        devices.refreshPassthrough();
      }
      if (page.length) after = page[page.length - 1].id;
      if (page.length < limit) break;
      limit = PAGE;
      setText($('st-load'), 'loading… ' + total + ' flows');
      await new Promise((r) => setTimeout(r, 0)); // let the first screen paint
    }
    setText($('st-load'), '');
  } catch (e) {
    setText($('st-load'), 'loading failed: ' + e.message);
  }
  state.loading = false;
  updateEmpty();
  try { performance.mark('httpeek-all-loaded'); } catch (e) { /* old browser */ }
  document.body.dataset.loaded = String(Math.round(performance.now() - t0));
}

// version and session in the status bar; the empty list says how to connect a device
async function loadInfo() {
  let info;
  try { info = await apiJSON('/api/info'); } catch (e) { return; }
  if (!info || typeof info !== 'object') return;
  const sess = String(info.session || '').split('/').pop();
  setText($('st-info'), 'httpeek ' + String(info.version || '') + (sess ? ' · ' + sess : ''));
  $('st-info').title = String(info.session || '');
  if (info.proxy) {
    const box = $('list-empty');
    clear(box);
    box.appendChild(el('p', null, 'No flows yet.'));
    // a phone can only use an address it can reach: never tell it 127.0.0.1 or 0.0.0.0
    if (info.phone_proxy) {
      box.appendChild(el('p', null, 'Point your device\'s HTTP proxy at ', el('code', { class: 'proxy-addr' }, String(info.phone_proxy)),
        ', then open ', el('code', null, 'http://httpeek.test/'), ' on it to install the CA.'));
    } else if (info.loopback_only) {
      box.appendChild(el('p', { class: 'warn' }, 'httpeek listens on loopback only (', el('code', { class: 'proxy-addr' }, String(info.proxy)),
        '): only this machine can use it (curl, a simulator). For a phone, restart with ', el('code', null, '--listen 0.0.0.0:PORT'), '.'));
    } else {
      box.appendChild(el('p', null, 'Point your device\'s HTTP proxy at this machine\'s network address (', el('code', { class: 'proxy-addr' }, String(info.proxy)),
        '), then open ', el('code', null, 'http://httpeek.test/'), ' on it to install the CA.'));
    }
    if (info.setup_url) box.appendChild(el('p', { class: 'muted' }, 'Setup page: ', el('code', null, String(info.setup_url))));
  }
}

readFilter();
updateSelectedNote();
connectEvents();
loadAll();
loadInfo();
window.httpeekViewer = {
  flows: store.flows, byId: store.byId, get view() { return store.view; }, get viewIds() { return store.viewIds; }, select,
};
