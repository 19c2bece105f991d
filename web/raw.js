/* raw.js — the detail pane's Raw tab: the request and response heads as received (start line,
 * then each header line in the order and case it arrived, as the detail JSON holds them), each
 * with its body below when the body is text. */

import { el, fmtSize, header } from './util.js';
import { api } from './api.js';

const RAW_BODY_MAX = 256 * 1024; // characters of a body shown under its head

function headText(d, which) {
  const part = d[which];
  const line = which === 'request'
    ? (part.method || d.method || '') + ' ' + (part.target || '') + ' ' + (part.http_version || '')
    : (part.http_version || '') + ' ' + part.status + (part.reason ? ' ' + part.reason : '');
  return [line].concat((part.headers || []).map((h) => h.name + ': ' + h.value)).join('\n');
}

// The body as text when it is text (decoded from its Content-Encoding), else a note.
function bodyBelow(d, which, holder) {
  const part = d[which];
  if (!part.body_size && !part.body_captured) return;
  if (!part.body_captured) { holder.textContent = '(' + fmtSize(part.body_size) + ' body, not captured)'; return; }
  const enc = header(part.headers, 'content-encoding');
  fetch(api('/api/flows/' + d.id + '/' + which + '/body?decode=1'), { cache: 'no-store' })
    .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(String(r.status)))))
    .then((buf) => {
      let text = null;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(buf); } catch (e) { text = null; }
      if (text === null || /[\x00-\x08\x0e-\x1a\x1c-\x1f]/.test(text.slice(0, 4096))) {
        holder.textContent = '(' + fmtSize(buf.byteLength) + ' binary body: see the ' + (which === 'request' ? 'Request' : 'Response') + ' body tab)';
        return;
      }
      const cut = text.length > RAW_BODY_MAX;
      holder.classList.remove('muted');
      holder.textContent = (cut ? text.slice(0, RAW_BODY_MAX) : text);
      if (enc || cut || part.body_truncated) {
        const notes = [];
        if (enc) notes.push('decoded from ' + enc);
        if (part.body_truncated) notes.push('capture truncated');
        if (cut) notes.push('first ' + fmtSize(RAW_BODY_MAX) + ' shown');
        holder.before(el('p', { class: 'muted small' }, 'Body (' + notes.join(', ') + '):'));
      }
    }, (e) => { holder.textContent = '(the body could not be loaded: ' + e.message + ')'; });
}

function renderRaw(d) {
  const box = el('div', { class: 'rawview' });
  for (const which of ['request', 'response']) {
    const sec = el('section', { class: 'sec raw-' + which }, el('h4', null, which === 'request' ? 'Request' : 'Response'));
    if (!d[which]) {
      sec.appendChild(el('p', { class: 'muted' }, which === 'response'
        ? 'No response' + (d.failed ? ': the flow failed before one arrived.' : '.') : 'No request.'));
    } else {
      sec.appendChild(el('pre', { class: 'text raw-head' }, headText(d, which)));
      const holder = el('pre', { class: 'text raw-body muted' });
      sec.appendChild(holder);
      bodyBelow(d, which, holder);
      if (!holder.textContent && !(d[which].body_size || d[which].body_captured)) holder.remove();
    }
    box.appendChild(sec);
  }
  return box;
}

export { renderRaw };
