/* keys.js — the keyboard: every action of the viewer has a key, and "?" opens an overlay listing
 * them (drawn from the same table the keys run from, so it cannot drift). Other modules add
 * theirs with addShortcut (window.HP.addShortcut). Keys do nothing while typing in a field or
 * while a dialog is open (a dialog has its own keys: Esc closes it, and those added for it,
 * e.g. the paused exchange's Execute / Continue / Abort). */
import { $, el, clear } from './util.js';

const shortcuts = []; // {keys: ['j', 'ArrowDown'], section, desc, run(ev), when(), dialog}
let actions = {};

// keys: ev.key values ('j', 'ArrowDown', 'C' for shift-c, '?'); run(ev); when() → false: not now.
// dialog: the id of a dialog whose own keys these are: they run only while it is open, even in
// its text fields, so they are combinations ('Ctrl+Enter', 'Alt+c'; Ctrl stands for Cmd too).
function addShortcut(keys, section, desc, run, when, dialog) {
  shortcuts.push({ keys: Array.isArray(keys) ? keys : [keys], section, desc, run, when, dialog });
}

// ev as a combination: 'Ctrl+Enter', 'Alt+c' (by the key's place: Alt+letter types a symbol on a Mac)
function combo(ev) {
  const k = ev.altKey && /^Key[A-Z]$/.test(ev.code || '') ? ev.code.slice(3).toLowerCase() : ev.key;
  return (ev.ctrlKey || ev.metaKey ? 'Ctrl+' : '') + (ev.altKey ? 'Alt+' : '') + k;
}

const KEY_NAMES = { ArrowDown: '↓', ArrowUp: '↑', PageDown: 'PgDn', PageUp: 'PgUp', Escape: 'Esc', ' ': 'Space' };
function keyLabel(k) {
  if (KEY_NAMES[k]) return KEY_NAMES[k];
  if (k.length === 1 && k !== k.toLowerCase()) return 'Shift+' + k.toLowerCase();
  if (/^(Ctrl|Alt)\+/.test(k)) return k.replace(/\+(\w)$/, (m, l) => '+' + l.toUpperCase());
  return k;
}

function click(id) {
  const e = $(id);
  if (e && !e.hidden && !e.closest('[hidden]')) { e.click(); return true; }
  return false;
}

function openOverlay() {
  const dlg = $('keys-dlg');
  const box = $('keys-list');
  clear(box);
  const sections = ['List', 'Filter', 'Detail', 'Compare'];
  for (const s of shortcuts) if (!sections.includes(s.section)) sections.push(s.section);
  for (const sec of sections) {
    const list = shortcuts.filter((x) => x.section === sec);
    if (!list.length) continue;
    const t = el('table', { class: 'keys' });
    for (const s of list) {
      const keys = s.keys.length > 3 ? [s.keys[0] + '…' + s.keys[s.keys.length - 1]] : s.keys.map(keyLabel);
      t.appendChild(el('tr', null, el('th', null, keys.map((k) => el('kbd', null, k))), el('td', null, s.desc)));
    }
    box.appendChild(el('section', { class: 'sec' }, el('h4', null, sec), t));
  }
  if (!dlg.open) dlg.showModal();
}

function anyDialogOpen() {
  for (const d of document.querySelectorAll('dialog')) if (d.open) return true;
  return false;
}

function onKey(ev) {
  const c = combo(ev);
  const own = shortcuts.find((x) => x.dialog && x.keys.includes(c) && $(x.dialog) && $(x.dialog).open && (!x.when || x.when()));
  if (own) { ev.preventDefault(); own.run(ev); return; }
  const t = ev.target;
  const inClosedDialog = t && t.closest && t.closest('dialog:not([open])');
  if (t && !inClosedDialog && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
    if (ev.key === 'Escape' && t.id === 'filter') actions.filterEscape();
    else if (ev.key === 'Escape' && t.tagName === 'SELECT') t.blur();
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey || anyDialogOpen()) return;
  const s = shortcuts.find((x) => !x.dialog && x.keys.includes(ev.key) && (!x.when || x.when()));
  if (!s) return;
  ev.preventDefault();
  s.run(ev);
}

/* The viewer's own keys; a: {move(delta), end(), escape(), filterEscape(), sortNext(reverse),
 * copyAs(format), exportHar(), clearFlows(), clearFilter(), stepTab(delta, n), toggleCheck(id),
 * hasDetail(), resizeDetail(px), foldGroup()}. Compare adds its own (m, x) in compare.js. */
function initKeys(a) {
  actions = a;
  const page = () => Math.max(1, Math.floor($('list').clientHeight / 22) - 1);
  const detail = () => a.hasDetail();
  addShortcut(['j', 'ArrowDown'], 'List', 'Next flow (opens it)', () => a.move(1));
  addShortcut(['k', 'ArrowUp'], 'List', 'Previous flow', () => a.move(-1));
  addShortcut(['PageDown'], 'List', 'A page down', () => a.move(page()));
  addShortcut(['PageUp'], 'List', 'A page up', () => a.move(-page()));
  addShortcut(['Home'], 'List', 'First flow', () => a.move(-1e9));
  addShortcut(['End'], 'List', 'Last flow, and follow new ones', () => a.end());
  addShortcut(['f'], 'List', 'Follow the newest flow on or off', () => click('b-follow'));
  addShortcut(['o'], 'List', 'Sort by the next column', () => a.sortNext(false));
  addShortcut(['O'], 'List', 'Reverse the sort', () => a.sortNext(true));
  addShortcut(['/'], 'Filter', 'Filter: type terms (Esc in it clears)', () => $('filter').focus());
  addShortcut(['u'], 'Filter', 'Clear the filter', () => a.clearFilter());
  addShortcut(['e'], 'Filter', 'Errors only on or off', () => a.toggleCheck('f-errors'));
  addShortcut(['g'], 'Filter', 'Group by client on or off', () => a.toggleCheck('f-group'));
  addShortcut(['z'], 'Filter', 'Grouped by client: fold or unfold the selected flow\'s group', () => a.foldGroup(), () => $('f-group').checked);
  addShortcut(['t'], 'Filter', 'Method, status, type and client: the first of the filter bar\'s selects (Tab moves on)', () => $('f-method').focus());
  addShortcut([']'], 'Detail', 'Next tab', () => a.stepTab(1), detail);
  addShortcut(['['], 'Detail', 'Previous tab', () => a.stepTab(-1), detail);
  addShortcut(['1', '2', '3', '4', '5', '6', '7', '8', '9'], 'Detail', 'The nth tab (1 Overview … 9)', (ev) => a.stepTab(0, +ev.key), detail);
  addShortcut(['Escape'], 'Detail', 'Close the detail', () => a.escape());
  addShortcut(['+', '='], 'Detail', 'A bigger detail pane', () => a.resizeDetail(60), detail);
  addShortcut(['-'], 'Detail', 'A smaller detail pane', () => a.resizeDetail(-60), detail);
  addShortcut(['w'], 'Detail', 'The detail beside or below the list (wide windows)', () => click('b-dock'));
  addShortcut(['c'], 'Detail', 'Copy the request as curl', () => a.copyAs('curl'), detail);
  addShortcut(['C'], 'Detail', 'Copy as… (HTTPie, Swift, OkHttp, fetch): picks the format list', () => $('copy-as').focus(), detail);
  addShortcut(['d'], 'Detail', 'Download the response body', () => click('a-download'), detail);
  addShortcut(['H'], 'Session', 'Export HAR (the flows shown)', () => a.exportHar());
  addShortcut(['L'], 'Session', 'Clear the list (asks first)', () => a.clearFlows());
  addShortcut(['b'], 'Session', 'Clients panel on or off', () => click('b-side'));
  addShortcut(['r'], 'Session', 'Rules panel', () => { if (window.HP && window.HP.openRules) window.HP.openRules(); else click('b-rules'); });
  addShortcut(['?'], 'Help', 'This list', openOverlay);
  document.addEventListener('keydown', onKey);
  // a closed dialog can leave the focus on its (now hidden) text: give it back to the list
  for (const d of document.querySelectorAll('dialog')) {
    d.addEventListener('close', () => { if (d.contains(document.activeElement)) $('list').focus({ preventScroll: true }); });
  }
  $('b-keys').addEventListener('click', openOverlay);
}

export { initKeys, addShortcut, openOverlay };
