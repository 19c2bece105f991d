/* compare.js — two flows side by side: pick them with ctrl/cmd-click in the list, "m" on the
 * selected flow or the detail's "Compare" button; the second pick opens the comparison (x
 * compares the marked flow with the selected one, or opens the last comparison again). Head
 * fields, request and response headers and both bodies are diffed by diff.js
 * (JSON bodies by path, text line by line). Captured values reach the DOM as text only. */
import { $, el, clear, fmtSize } from './util.js';
import { apiJSON } from './api.js';
import { fetchBody } from './body.js';
import { diffHeads, diffHeaders, diffBodies } from './diff.js';
import { store, state } from './state.js';
import { scheduleRenderAll, updateSelectedNote } from './list.js';
import { addShortcut } from './keys.js';

const MAX_LINES = 4000; // a text diff shows at most this many lines

// Toggle id among the flows marked for Compare; the second mark opens it (and the marks are
// cleared: the next pick starts a new pair).
function markForCompare(id) {
  if (!store.byId.has(id)) return;
  const i = state.marked.indexOf(id);
  if (i >= 0) state.marked.splice(i, 1);
  else {
    state.marked.push(id);
    if (state.marked.length > 2) state.marked.shift();
  }
  if (state.marked.length === 2) {
    const [a, b] = state.marked;
    state.marked.length = 0; // the pair is compared: the next pick starts a new one
    openCompare(a, b);
  }
  scheduleRenderAll();
  updateSelectedNote();
  updateButton();
}

// the detail's button says what it will do: mark this flow, compare it with the one marked, unmark
function updateButton() {
  const b = $('b-compare'), id = state.selectedId, m = state.marked;
  if (m.includes(id)) b.textContent = 'Unmark';
  else if (m.length === 1) b.textContent = 'Compare with #' + m[0];
  else b.textContent = 'Compare';
}
document.addEventListener('hp-detail', updateButton);

async function bodyText(d, which) {
  const part = which === 'request' ? d.request : d.response;
  if (!part || !(part.body_captured > 0)) return '';
  const { bytes } = await fetchBody('/api/flows/' + d.id + '/' + which + '/body');
  try { return new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { return null; }
}

function short(v) {
  const t = v === undefined ? '' : JSON.stringify(v);
  return t.length > 300 ? t.slice(0, 300) + '…' : t;
}

function headTable(a, b) {
  const t = el('table', { class: 'cmp', 'data-part': 'head' },
    el('tr', null, el('th', null, ''), el('th', null, '#' + a.id), el('th', null, '#' + b.id)));
  for (const f of diffHeads(a, b)) {
    if (!f.left && !f.right) continue;
    t.appendChild(el('tr', { class: f.same ? 'same' : 'changed', 'data-name': f.name, 'data-kind': f.same ? 'same' : 'changed' },
      el('th', null, f.name), el('td', null, f.left), el('td', null, f.right)));
  }
  return t;
}

function headersTable(part, a, b) {
  const rows = diffHeaders((a[part] || {}).headers, (b[part] || {}).headers);
  const t = el('table', { class: 'cmp', 'data-part': part + '-headers' },
    el('tr', null, el('th', null, 'Header'), el('th', null, '#' + a.id), el('th', null, '#' + b.id)));
  for (const r of rows) {
    t.appendChild(el('tr', { class: r.kind, 'data-name': r.name.toLowerCase(), 'data-kind': r.kind },
      el('th', null, r.name), el('td', null, r.left.join('\n')), el('td', null, r.right.join('\n'))));
  }
  if (!rows.length) t.appendChild(el('tr', null, el('td', { colspan: 3, class: 'muted' }, 'No headers on either side.')));
  return t;
}

function bodyView(part, a, b, lt, rt) {
  const r = diffBodies(lt, rt);
  const box = el('div', { class: 'cmp-body', 'data-part': part + '-body', 'data-kind': r.kind });
  if (r.kind === 'same') box.appendChild(el('p', { class: 'muted' }, lt === '' ? 'No body on either side.' : 'Identical.'));
  else if (r.kind === 'binary') {
    const size = (d) => fmtSize(((part === 'request' ? d.request : d.response) || {}).body_size) || 'none';
    box.appendChild(el('p', { class: 'muted' }, 'Not text on one side or both: ' + size(a) + ' vs ' + size(b) + '.'));
  } else if (r.kind === 'json') {
    const t = el('table', { class: 'cmp' }, el('tr', null, el('th', null, 'JSON path'), el('th', null, '#' + a.id), el('th', null, '#' + b.id)));
    for (const c of r.changes) {
      t.appendChild(el('tr', { class: c.kind, 'data-path': c.path, 'data-kind': c.kind },
        el('th', null, c.path), el('td', null, c.kind === 'added' ? '' : short(c.left)), el('td', null, c.kind === 'removed' ? '' : short(c.right))));
    }
    if (!r.changes.length) t.appendChild(el('tr', null, el('td', { colspan: 3, class: 'muted' }, 'The same JSON value (formatted differently).')));
    box.appendChild(t);
  } else {
    const pre = el('pre', { class: 'cmp-lines' });
    const lines = r.lines.length > MAX_LINES ? r.lines.slice(0, MAX_LINES) : r.lines;
    for (const l of lines) pre.appendChild(el('div', { class: 'ln op' + (l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same') }, l.op + ' ' + l.text));
    if (r.lines.length > MAX_LINES) pre.appendChild(el('div', { class: 'muted' }, '… ' + (r.lines.length - MAX_LINES) + ' more lines'));
    box.appendChild(pre);
  }
  return box;
}

let seq = 0;
let lastPair = null;
// idA and idB; without them: the marked flow with the selected one, else the last pair compared
async function openCompare(idA, idB) {
  if (idA === undefined) {
    if (state.marked.length === 1 && state.selectedId && state.marked[0] !== state.selectedId) {
      idA = state.marked[0];
      idB = state.selectedId;
      state.marked.length = 0;
      scheduleRenderAll();
      updateSelectedNote();
      updateButton();
    } else if (lastPair) [idA, idB] = lastPair;
  }
  const dlg = $('compare-dlg');
  const box = $('compare-body');
  if (!idA || !idB) return;
  const my = ++seq;
  lastPair = [idA, idB];
  clear(box);
  $('compare-title').textContent = 'Compare #' + idA + ' with #' + idB;
  box.appendChild(el('p', { class: 'muted' }, 'Loading…'));
  if (!dlg.open) dlg.showModal();
  try {
    const [a, b] = await Promise.all([apiJSON('/api/flows/' + idA), apiJSON('/api/flows/' + idB)]);
    const [aq, bq, ar, br] = await Promise.all([bodyText(a, 'request'), bodyText(b, 'request'), bodyText(a, 'response'), bodyText(b, 'response')]);
    if (my !== seq) return;
    clear(box);
    box.append(
      el('section', { class: 'sec' }, el('h4', null, 'Head'), headTable(a, b)),
      el('section', { class: 'sec' }, el('h4', null, 'Request headers'), headersTable('request', a, b)),
      el('section', { class: 'sec' }, el('h4', null, 'Request body'), bodyView('request', a, b, aq, bq)),
      el('section', { class: 'sec' }, el('h4', null, 'Response headers'), headersTable('response', a, b)),
      el('section', { class: 'sec' }, el('h4', null, 'Response body'), bodyView('response', a, b, ar, br)));
  } catch (e) {
    if (my !== seq) return;
    clear(box);
    box.appendChild(el('p', { class: 'error' }, 'Could not compare: ' + e.message));
  }
}

$('b-compare-close').addEventListener('click', () => $('compare-dlg').close());
addShortcut(['m'], 'Compare', 'Mark the selected flow for Compare (the second mark opens it; ctrl/cmd-click in the list too)',
  () => markForCompare(state.selectedId), () => !!state.selectedId);
addShortcut(['x'], 'Compare', 'Compare the marked flow with the selected one (or the last two compared again)', () => openCompare());

export { markForCompare, openCompare };
