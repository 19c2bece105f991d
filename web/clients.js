/* clients.js — the side panel's clients (issues 4 and 5): the client select of the filter bar,
 * the client cards from GET /api/clients (picking one filters the list by it, renaming it with
 * PUT /api/clients/{addr}), refreshed at most every CLIENTS_MIN_MS under live load. The cards
 * themselves are drawn by devices.js. */
import { $, el, clear, setText } from './util.js';
import { apiJSON } from './api.js';
import { clientCard as drawCard, clientDisplayName, refreshPassthrough } from './devices.js';
import { appFailureCount } from './warnings.js';
import { showDialog } from './actions.js';
import { store } from './state.js';
import { scheduleRenderAll } from './list.js';

let hooks = { filterChanged() {}, rebuild() {} };
// hooks: {filterChanged() (the client select changed), rebuild() (names changed while grouped)}
function initClients(h) { hooks = Object.assign(hooks, h); }

const knownClients = new Set();
function noteClients(list) {
  let changed = false;
  for (const s of list) {
    if (s.client && !knownClients.has(s.client)) { knownClients.add(s.client); changed = true; }
  }
  if (changed) fillClientSelect();
}
function fillClientSelect() {
  const sel = $('f-client');
  const cur = sel.value;
  while (sel.options.length > 1) sel.remove(1);
  for (const addr of [...knownClients].sort()) {
    const name = store.clientNames.get(addr);
    sel.appendChild(el('option', { value: addr }, name && name !== addr ? name + ' (' + addr + ')' : addr));
  }
  sel.value = cur;
}

let clientsSeq = 0;
const rowNames = new Map(); // addr → the client name last applied to the summaries
let renaming = false; // a rename field is open: repainting the cards would throw it away
async function refreshClients() {
  if (renaming) return; // the rename's end refreshes
  const seq = ++clientsSeq;
  let list;
  try { list = await apiJSON('/api/clients'); } catch (e) { return; }
  if (seq !== clientsSeq || renaming) return;
  const box = $('clients');
  clear(box);
  setText($('clients-count'), list.length ? String(list.length) : '');
  if (!list.length) box.appendChild(el('p', { class: 'muted' }, 'No clients yet. Set a device\'s HTTP proxy to this machine.'));
  let namesChanged = false;
  let rowsChanged = false;
  for (const c of list) {
    const name = clientDisplayName(c);
    if (store.clientNames.get(c.addr) !== name) { store.clientNames.set(c.addr, name); namesChanged = true; }
    // a rename (here or in another tab): the summaries we hold carry the old name
    const rowName = c.custom_name || c.ua_name || '';
    if (rowNames.has(c.addr) ? rowNames.get(c.addr) !== rowName : c.custom_name) {
      for (const s of store.flows) if (s.client === c.addr && rowName) s.client_name = rowName;
      rowsChanged = true;
    }
    rowNames.set(c.addr, rowName);
    if (!knownClients.has(c.addr)) { knownClients.add(c.addr); namesChanged = true; }
    box.appendChild(clientCard(c, name));
  }
  if (rowsChanged) scheduleRenderAll();
  if (namesChanged) { fillClientSelect(); if (store.grouped) hooks.rebuild(); }
}

function clientCard(c, name) {
  return drawCard(c, name, {
    active: $('f-client').value === c.addr, appFailures: appFailureCount(store.flows, c.addr),
    onPick: () => {
      const sel = $('f-client');
      sel.value = sel.value === c.addr ? '' : c.addr;
      markActive();
      hooks.filterChanged();
    },
    onRename: (card) => startRename(card, c, name),
  });
}
// the card of the client the filter picks is marked
function markActive() {
  const v = $('f-client').value;
  for (const x of document.querySelectorAll('#clients .client')) x.classList.toggle('active', !!v && x.dataset.addr === v);
}

function startRename(card, c, name) {
  const top = card.querySelector('.client-top');
  const input = el('input', { type: 'text', class: 'rename-input', maxlength: 64, value: c.custom_name || name, 'aria-label': 'Client name' });
  const save = el('button', { type: 'button', class: 'small' }, 'Save');
  const cancel = el('button', { type: 'button', class: 'small' }, 'Cancel');
  const form = el('div', { class: 'client-top' }, input, save, cancel);
  top.replaceWith(form);
  renaming = true;
  input.focus();
  input.select();
  let finished = false;
  const done = async (ok) => {
    if (finished) return;
    finished = true;
    if (ok) {
      try {
        await apiJSON('/api/clients/' + encodeURIComponent(c.addr), {
          method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: input.value.trim() }) });
        // summaries carry the name they had when sent: update the ones we hold
        const nn = input.value.trim() || c.ua_name || '';
        for (const s of store.flows) if (s.client === c.addr) s.client_name = nn;
        scheduleRenderAll();
      } catch (e) {
        showDialog('Rename', 'Could not rename: ' + e.message);
      }
    }
    renaming = false;
    refreshClients();
  };
  save.addEventListener('click', () => done(true));
  cancel.addEventListener('click', () => done(false));
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') done(true);
    else if (ev.key === 'Escape') done(false);
  });
}

// Per-client counts cost the server a pass over the session: under live load they are asked
// for at most every CLIENTS_MIN_MS, and never twice at once.
const CLIENTS_MIN_MS = 2000;
let clientsTimer = 0, clientsBusy = false, clientsDirty = false, clientsLast = -1e9;
function clientsChanged() {
  clientsDirty = true;
  if (clientsTimer || clientsBusy) return;
  const wait = Math.max(150, clientsLast + CLIENTS_MIN_MS - performance.now());
  clientsTimer = setTimeout(async () => {
    clientsTimer = 0;
    clientsDirty = false;
    clientsBusy = true;
    try { await Promise.all([refreshClients(), refreshPassthrough()]); } finally {
      clientsBusy = false;
      clientsLast = performance.now();
      if (clientsDirty) clientsChanged();
    }
  }, wait);
}

export { initClients, noteClients, refreshClients, clientsChanged, markActive };
