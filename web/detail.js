/* detail.js — the detail pane's frame: selecting a flow loads GET /api/flows/{id} (a held-down
 * arrow key loads only the last), the title, the diagnosis banner, the tabs and their content
 * (the tab modules render it), closing. Other modules learn of a shown flow from the
 * 'hp-detail' event on document (detail: the flow). */
import { $, el, append, clear, statusClass, setText } from './util.js';
import { api, apiJSON } from './api.js';
import { renderOverview } from './overview.js';
import { renderHeaders, renderQuery, renderCookies } from './headers.js';
import { renderBody, bodyCache } from './body.js';
import { renderTLS } from './tls.js';
import { renderRaw } from './raw.js';
import { renderMessages } from './messages.js';
import { store, state } from './state.js';
import { scheduleRenderAll, updateSelectedNote, ensureVisible, setFollowing } from './list.js';

let detailSeq = 0;
let detail = null;     // the flow detail being shown
let tab = 'overview';

const RENDER = {
  overview: renderOverview,
  request: (d) => renderHeaders(d, 'request'),
  response: (d) => renderHeaders(d, 'response'),
  query: renderQuery,
  cookies: renderCookies,
  reqbody: (d) => renderBody(d, false),
  respbody: (d) => renderBody(d, true),
  messages: renderMessages,
  tls: renderTLS,
  raw: renderRaw,
};

function current() { return detail; }

function select(id) {
  if (!store.byId.has(id)) return;
  state.selectedId = id;
  updateSelectedNote();
  scheduleRenderAll();
  const seq = ++detailSeq;
  if ($('detail').hidden || state.following) {
    // opening the pane shrinks the list, and following would scroll the selection away
    $('detail').hidden = false;
    if (state.following) setFollowing(false);
    requestAnimationFrame(() => ensureVisible(id));
  }
  setTimeout(() => {
    if (seq !== detailSeq) return; // a newer selection (key held down)
    apiJSON('/api/flows/' + id).then((d) => {
      if (seq !== detailSeq) return;
      detail = d;
      bodyCache.clear();
      showDetail();
    }, (e) => {
      if (seq !== detailSeq) return;
      detail = null;
      clear($('d-body'));
      clear($('d-diagnosis'));
      setText($('d-title'), 'Flow ' + id);
      $('d-body').appendChild(el('p', { class: 'error' }, 'Could not load flow ' + id + ': ' + e.message));
    });
  }, 40);
}

function closeDetail() {
  $('detail').hidden = true;
  state.selectedId = 0;
  updateSelectedNote();
  detail = null;
  detailSeq++;
  scheduleRenderAll();
}

function showDetail() {
  const d = detail;
  const title = $('d-title');
  clear(title);
  append(title, [
    el('span', { class: 'm' }, d.method || ''), ' ',
    el('span', { class: 'u', title: d.url }, d.url || ''), ' ',
    d.failed ? el('span', { class: 'badge bad' }, 'FAILED')
      : d.status ? el('span', { class: 'badge s' + statusClass(d) }, String(d.status) + (d.response && d.response.reason ? ' ' + d.response.reason : '')) : null,
  ]);
  const tunnel = d.kind === 'tunnel'; // an opaque tunnel has no request to send again
  $('b-curl').hidden = tunnel;
  $('copy-as').hidden = tunnel;
  const dl = $('a-download');
  const hasBody = d.response && d.response.body_captured > 0;
  dl.hidden = !hasBody;
  dl.href = api('/api/flows/' + d.id + '/response/body?decode=1&download=1');
  renderDiagnosis(d);
  $('tab-messages').hidden = !d.ws; // a WebSocket's messages (messages.js)
  showTab(tab === 'messages' && !d.ws ? 'overview' : tab);
  document.dispatchEvent(new CustomEvent('hp-detail', { detail: d }));
}

// the tabs the shown flow has, in order
function visibleTabs() {
  return [...document.querySelectorAll('#tabs button')].filter((b) => !b.hidden).map((b) => b.dataset.tab);
}

function showTab(name) {
  if (!RENDER[name]) return;
  tab = name;
  for (const b of document.querySelectorAll('#tabs button')) {
    b.classList.toggle('on', b.dataset.tab === name);
    b.setAttribute('aria-selected', b.dataset.tab === name ? 'true' : 'false');
  }
  const box = $('d-body');
  clear(box);
  box.scrollTop = 0;
  if (!detail) return;
  box.dataset.tab = name;
  $('d-diagnosis').hidden = name === 'overview'; // the Overview shows the whole panel
  box.appendChild(RENDER[name](detail));
}

// the next (+1) or previous (-1) tab, wrapping; n ≥ 1 with delta 0: the nth tab
function stepTab(delta, n) {
  const tabs = visibleTabs();
  if (!tabs.length) return;
  if (!delta) { if (n >= 1 && n <= tabs.length) showTab(tabs[n - 1]); return; }
  const i = tabs.indexOf(tab);
  showTab(tabs[(i + delta + tabs.length) % tabs.length]);
}

/* Diagnosis (issue 4): what the app saw, why, and what to change. */
// A one-line banner above the tabs (always visible); the full panel opens the Overview tab.
function renderDiagnosis(d) {
  const box = $('d-diagnosis');
  clear(box);
  const g = d.diagnosis;
  if (!g) return;
  const b = el('button', { type: 'button', class: 'diag-banner', title: 'What the app saw, why, and the fix (Overview)' },
    el('span', { class: 'diag-badge' },
      el('span', { class: 'diag-code' }, String(g.code)), ' ',
      el('span', { class: 'diag-name' }, g.name || '')),
    el('span', { class: 'diag-title' }, g.title || ''),
    g.stage ? el('span', { class: 'diag-stage' }, 'stage: ' + g.stage) : null);
  b.addEventListener('click', () => showTab('overview'));
  box.appendChild(b);
}

$('tabs').addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (b && b.dataset.tab) showTab(b.dataset.tab);
});
$('b-close').addEventListener('click', closeDetail);
// a link in the detail pane to another flow (overview.js: related flows, a warning's flow)
document.addEventListener('hp-open-flow', (e) => select(e.detail));

export { select, closeDetail, current, showTab, stepTab };
