/* harimport.js — Open a HAR (issue 20): a HAR file dropped on the page, or picked with
 * "Open HAR…" (key I), is sent to POST /api/har/import, which records its entries into this
 * session as flows (client "har", note "imported from FILE.har", diagnosis recomputed where the
 * HAR's facts allow). They then come through the event stream like any flow: the same list,
 * filters, detail panes, Compare and Repeat. The first of them is opened. */

import { $ } from './util.js';
import { apiJSON } from './api.js';
import { addShortcut } from './keys.js';
import { showDialog } from './actions.js';
import { store } from './state.js';

// the list hears of new flows through the event stream: open the first once it has it (5 s at most)
async function openWhenListed(id) {
  for (let i = 0; i < 100 && !store.byId.has(id); i++) await new Promise((r) => setTimeout(r, 50));
  document.dispatchEvent(new CustomEvent('hp-open-flow', { detail: id }));
}

export async function importHar(file) {
  const btn = $('b-har-open');
  btn.disabled = true;
  try {
    const r = await apiJSON('/api/har/import?name=' + encodeURIComponent(file.name || ''), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: await file.text() });
    const ids = (r && r.ids) || [];
    if (!ids.length) { showDialog('Open HAR', file.name + ' holds no HTTP request to show.'); return ids; }
    openWhenListed(ids[0]);
    return ids;
  } catch (e) {
    showDialog('Open HAR', 'Could not open ' + file.name + ': ' + e.message);
    return [];
  } finally {
    btn.disabled = false;
  }
}

const picker = $('har-file');
$('b-har-open').addEventListener('click', () => picker.click());
picker.addEventListener('change', () => {
  const f = picker.files && picker.files[0];
  picker.value = ''; // the same file again fires change again
  if (f) importHar(f);
});

// a file dragged over the page: accept it (the browser would otherwise open it in the tab)
const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
document.addEventListener('dragover', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
  document.body.classList.add('har-drop');
});
document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('har-drop'); });
document.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  document.body.classList.remove('har-drop');
  const f = e.dataTransfer.files[0];
  if (f) importHar(f);
});

addShortcut(['I'], 'List', 'Open a HAR file (its requests become flows here; or drop it on the page)', () => picker.click());
if (window.HP) window.HP.importHar = importHar;
