/* actions.js — what the detail's buttons and the HAR export need: a flow's request copied as a
 * command or snippet (copyas.js makes the text), copying to the clipboard, the message dialog,
 * saving a file. */

import { $, el, pad2, setText } from './util.js';
import { bodyBytes } from './api.js';
import { FORMATS, requestModel } from './copyas.js';

// a flow's request as text in one of copyas.js's formats (curl, httpie, swift, okhttp, fetch)
async function copyAsText(format, d) {
  const f = FORMATS.find((x) => x.id === format);
  if (!f) throw new Error('no such format: ' + format);
  const req = d.request || {};
  const bytes = req.body_captured > 0 ? await bodyBytes(d.id, 'request') : null;
  return f.gen(requestModel(d, bytes));
}
function curlCommand(d) { return copyAsText('curl', d); }

function copyText(text) {
  // navigator.clipboard needs a secure context; http://127.0.0.1 is one, other hosts are not
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => true, () => legacyCopy(text));
  }
  return Promise.resolve(legacyCopy(text));
}
function legacyCopy(text) {
  const ta = el('textarea', { class: 'offscreen' });
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  ta.remove();
  return ok;
}

function showDialog(title, msg, text) {
  setText($('dlg-title'), title);
  setText($('dlg-msg'), msg || '');
  const ta = $('dlg-text');
  ta.hidden = text === undefined;
  ta.value = text || '';
  const dlg = $('dlg');
  if (!dlg.open) dlg.showModal();
  if (text !== undefined) { ta.focus(); ta.select(); }
}

function stamp() {
  const d = new Date();
  return d.getFullYear() + pad2(d.getMonth() + 1) + pad2(d.getDate()) + '-' + pad2(d.getHours()) + pad2(d.getMinutes()) + pad2(d.getSeconds());
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, class: 'offscreen' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export { copyAsText, curlCommand, copyText, showDialog, stamp, saveBlob };
