/* compose.js — Repeat, Repeat…, Edit and resend, New request (issue 20), as an ES module.
 * The detail pane gets "Repeat" (one click: POST /api/flows/{id}/replay), "Repeat…" (count,
 * concurrency, delay) and "Edit and resend"; the toolbar gets "New request". The compose dialog
 * edits method, URL, headers ("Name: value" a line) and body, sends with POST /api/requests,
 * and shows the response in place (status, headers, body) from the flow httpeek recorded; its
 * history (the last 30 requests sent) stays in localStorage. app.js tells us which flow the
 * detail shows with the "hp-detail" event; we open flows with "hp-open-flow" (detail.js).
 * Captured text reaches the DOM through textContent and input values only. */

import { $, el, append, clear, fmtSize, fmtMs } from './util.js';
import { apiJSON, api } from './api.js';
import { addShortcut } from './keys.js';

const HISTORY_KEY = 'httpeek.compose.history';
const HISTORY_MAX = 30;
const HISTORY_BODY_MAX = 32 * 1024;   // a bigger body is not kept in the history
const SHOW_BODY_MAX = 256 * 1024;     // the response body shown in place, at most

let current = null;       // the flow detail the pane shows
let dlg = null, rdlg = null;
let binaryBody = null;    // base64 of a binary body being resent unchanged, else null
let editedFrom = 0;

/* ------------------------------------------------------------------------------------------ */
/* Talking to the API */

function postJSON(path, body) {
  return apiJSON(path, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
}

export function repeat(id, opts) {
  return postJSON('/api/flows/' + id + '/replay', opts);
}

export function send(req) {
  return postJSON('/api/requests', req);
}

function openFlow(id) {
  document.dispatchEvent(new CustomEvent('hp-open-flow', { detail: id }));
}

/* ------------------------------------------------------------------------------------------ */
/* Headers as text: "Name: value" a line */

export function headersToText(headers) {
  return (headers || []).filter((h) => !h.name.startsWith(':'))
    .map((h) => h.name + ': ' + h.value).join('\n');
}

// [[name, value], ...] or throws naming the line that is not "Name: value"
export function textToHeaders(text) {
  const out = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!l.trim()) continue;
    const c = l.indexOf(':');
    if (c <= 0) throw new Error('header line ' + (i + 1) + ' is not "Name: value"');
    out.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
  }
  return out;
}

function bytesToBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/* ------------------------------------------------------------------------------------------ */
/* History */

function loadHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]') || []; } catch (e) { return []; }
}
function saveHistory(h) {
  try { localStorage.setItem(HISTORY_KEY, JSON.stringify(h.slice(0, HISTORY_MAX))); } catch (e) { /* full or disabled */ }
}
function remember(req, id, status) {
  const h = loadHistory();
  const body = req.body !== undefined && req.body.length <= HISTORY_BODY_MAX ? req.body : undefined;
  h.unshift({ method: req.method, url: req.url, headers: req.headers, body, binary: req.body_base64 !== undefined,
    id, status, at: new Date().toISOString() });
  saveHistory(h);
  renderHistory();
}

function renderHistory() {
  const box = $('cp-history');
  if (!box) return;
  clear(box);
  const h = loadHistory();
  if (!h.length) { box.appendChild(el('li', { class: 'muted' }, 'Requests you send appear here.')); return; }
  h.forEach((e, i) => {
    box.appendChild(el('li', null,
      el('button', { type: 'button', class: 'linkish cp-hist', title: 'Load it into the editor', dataset: { i: String(i) },
        onclick: () => fill(e.method, e.url, (e.headers || []).map(([n, v]) => ({ name: n, value: v })), e.body || '', 0) },
      (e.method || 'GET') + ' ' + e.url),
      ' ', el('span', { class: 'muted' }, (e.status === undefined ? '' : String(e.status)) + (e.id ? ' · #' + e.id : '') +
        (e.binary ? ' · binary body not kept' : e.body === undefined ? ' · body not kept' : ''))));
  });
}

/* ------------------------------------------------------------------------------------------ */
/* The compose dialog */

function build() {
  if (dlg) return dlg;
  dlg = el('dialog', { id: 'compose-dlg', 'aria-label': 'Compose a request' },
    el('div', { class: 'cp-head' },
      el('h3', { text: 'Request' }),
      el('span', { id: 'cp-origin', class: 'muted' }),
      el('span', { class: 'spacer' }),
      el('button', { type: 'button', id: 'cp-close', text: 'Close', onclick: () => dlg.close() })),
    el('form', { id: 'cp-form', onsubmit: (e) => { e.preventDefault(); doSend(); } },
      el('div', { class: 'cp-line' },
        el('input', { id: 'cp-method', type: 'text', list: 'cp-methods', value: 'GET', spellcheck: 'false', 'aria-label': 'Method' }),
        el('datalist', { id: 'cp-methods' }, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => el('option', { value: m }))),
        el('input', { id: 'cp-url', type: 'text', placeholder: 'https://api.example.com/v1/user', spellcheck: 'false', 'aria-label': 'URL' }),
        el('button', { type: 'submit', id: 'cp-send', text: 'Send' })),
      el('label', { class: 'cp-label', for: 'cp-headers' }, 'Headers (Name: value, one a line)'),
      el('textarea', { id: 'cp-headers', spellcheck: 'false', rows: '6' }),
      el('label', { class: 'cp-label', for: 'cp-body' }, 'Body'),
      el('div', { id: 'cp-binary', class: 'muted', hidden: true }),
      el('textarea', { id: 'cp-body', spellcheck: 'false', rows: '6', oninput: () => { binaryBody = null; $('cp-binary').hidden = true; } })),
    el('div', { id: 'cp-note', class: 'cp-note', role: 'status' }),
    el('section', { id: 'cp-response', class: 'cp-response', hidden: true },
      el('div', { class: 'cp-resp-line' },
        el('span', { id: 'cp-status' }), ' ',
        el('button', { type: 'button', id: 'cp-open', class: 'linkish', onclick: (e) => { openFlow(+e.target.dataset.id); dlg.close(); } })),
      el('table', { id: 'cp-resp-headers', class: 'kv' }),
      el('pre', { id: 'cp-resp-body' })),
    el('details', { class: 'cp-hist-box', open: true },
      el('summary', null, 'History ', el('button', { type: 'button', class: 'small', text: 'Clear', onclick: () => { saveHistory([]); renderHistory(); } })),
      el('ul', { id: 'cp-history' })));
  document.body.appendChild(dlg);
  return dlg;
}

function fill(method, url, headers, body, fromId) {
  build();
  $('cp-method').value = method || 'GET';
  $('cp-url').value = url || '';
  $('cp-headers').value = headersToText(headers);
  $('cp-body').value = body || '';
  binaryBody = null;
  $('cp-binary').hidden = true;
  editedFrom = fromId || 0;
  $('cp-origin').textContent = fromId ? 'edited from flow #' + fromId : '';
}

function open() {
  build();
  renderHistory();
  if (!dlg.open) dlg.showModal();
  $('cp-url').focus();
}

export function newRequest() {
  fill('GET', '', [], '', 0);
  $('cp-response').hidden = true;
  note('');
  open();
}

export async function editAndResend(d) {
  fill(d.method, d.url, (d.request && d.request.headers) || [], '', d.id);
  $('cp-response').hidden = true;
  note('');
  const rq = d.request || {};
  if (rq.body_size > 0) {
    if (rq.body_truncated || rq.body_captured < rq.body_size) {
      note('The request body was not captured whole (' + fmtSize(rq.body_captured) + ' of ' + fmtSize(rq.body_size) + '): type the body to send.', true);
    } else {
      const r = await fetch(api('/api/flows/' + d.id + '/request/body'), { cache: 'no-store' });
      const bytes = r.ok ? new Uint8Array(await r.arrayBuffer()) : new Uint8Array(0);
      let text = null;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { text = null; }
      if (text !== null && !/\x00/.test(text)) $('cp-body').value = text;
      else {
        binaryBody = bytesToBase64(bytes);
        const b = $('cp-binary');
        b.hidden = false;
        b.textContent = 'Binary body (' + fmtSize(bytes.length) + ') sent as captured; type here to replace it.';
      }
    }
  }
  open();
}

function note(text, bad) {
  const n = $('cp-note');
  if (!n) return;
  n.textContent = text;
  n.classList.toggle('bad', !!bad);
}

async function doSend() {
  let req;
  try {
    req = { method: $('cp-method').value.trim() || 'GET', url: $('cp-url').value.trim(), headers: textToHeaders($('cp-headers').value) };
  } catch (e) { note(e.message, true); return; }
  if (binaryBody !== null) req.body_base64 = binaryBody;
  else if ($('cp-body').value) req.body = $('cp-body').value;
  const btn = $('cp-send');
  btn.disabled = true;
  note('Sending…');
  try {
    const r = await send(req);
    note('');
    const d = await showResponse(r.id);
    remember(req, r.id, d ? (d.failed ? (d.diagnosis ? d.diagnosis.code : 'failed') : d.status) : undefined);
  } catch (e) {
    note('Not sent: ' + e.message, true);
  } finally {
    btn.disabled = false;
  }
}

// The flow httpeek recorded for what we sent: status, headers and body, in place.
async function showResponse(id) {
  const d = await apiJSON('/api/flows/' + id);
  const box = $('cp-response');
  box.hidden = false;
  const st = $('cp-status');
  if (d.failed) st.textContent = 'Failed' + (d.diagnosis ? ': ' + d.diagnosis.code + ' ' + (d.diagnosis.name || '') + ' — ' + (d.diagnosis.title || '') : ': ' + (d.error || ''));
  else st.textContent = (d.response ? d.response.status + ' ' + (d.response.reason || '') : '') + ' · ' + fmtMs(d.duration_ms);
  st.className = d.failed ? 'cp-failed' : 'cp-ok';
  const open = $('cp-open');
  open.dataset.id = String(id);
  open.textContent = 'flow #' + id;
  const t = $('cp-resp-headers');
  clear(t);
  for (const h of (d.response && d.response.headers) || []) t.appendChild(el('tr', null, el('th', null, h.name), el('td', null, h.value)));
  const pre = $('cp-resp-body');
  pre.textContent = '';
  if (d.response && d.response.body_captured > 0) {
    const r = await fetch(api('/api/flows/' + id + '/response/body?decode=1'), { cache: 'no-store' });
    const bytes = r.ok ? new Uint8Array(await r.arrayBuffer()) : new Uint8Array(0);
    let text = null;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, SHOW_BODY_MAX)); } catch (e) { text = null; }
    if (text === null || /\x00/.test(text)) pre.textContent = '(' + fmtSize(bytes.length) + ' of binary data)';
    else {
      try { if (/json/i.test(d.mime || '')) text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* as is */ }
      pre.textContent = text + (bytes.length > SHOW_BODY_MAX ? '\n… (' + fmtSize(bytes.length) + ' in all)' : '');
    }
  }
  return d;
}

/* ------------------------------------------------------------------------------------------ */
/* Repeat… */

function buildRepeat() {
  if (rdlg) return rdlg;
  const num = (id, value, min, max, label) => el('label', { class: 'rp-field' }, label,
    el('input', { id, type: 'number', value: String(value), min: String(min), max: String(max) }));
  rdlg = el('dialog', { id: 'repeat-dlg', 'aria-label': 'Repeat' },
    el('h3', { id: 'rp-title', text: 'Repeat' }),
    el('form', { id: 'rp-form', onsubmit: (e) => { e.preventDefault(); doRepeatAdvanced(); } },
      num('rp-count', 10, 1, 1000, 'Times'),
      num('rp-conc', 1, 1, 32, 'At once'),
      num('rp-delay', 0, 0, 60000, 'Delay (ms)'),
      el('button', { type: 'submit', id: 'rp-go', text: 'Repeat' }),
      el('button', { type: 'button', text: 'Close', onclick: () => rdlg.close() })),
    el('div', { id: 'rp-result', class: 'cp-note', role: 'status' }));
  document.body.appendChild(rdlg);
  return rdlg;
}

async function doRepeatAdvanced() {
  if (!rdlg._id) return;
  const res = $('rp-result');
  const opts = { count: +$('rp-count').value || 1, concurrency: +$('rp-conc').value || 1, delay_ms: +$('rp-delay').value || 0 };
  $('rp-go').disabled = true;
  res.classList.remove('bad');
  res.textContent = 'Sending ' + opts.count + '…';
  try {
    const r = await repeat(rdlg._id, opts);
    res.textContent = r.ids.length + ' new flow' + (r.ids.length === 1 ? '' : 's') +
      (r.ids.length ? ': #' + Math.min(...r.ids) + '–#' + Math.max(...r.ids) : '') +
      (r.errors ? ' · ' + r.errors + ' made none (' + (r.error || '') + ')' : '');
  } catch (e) {
    res.classList.add('bad');
    res.textContent = 'Not repeated: ' + e.message;
  } finally {
    $('rp-go').disabled = false;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* The buttons */

async function repeatOnce() {
  if (!current) return;
  const n = $('repeat-note');
  n.textContent = 'Repeating…';
  n.classList.remove('bad');
  try {
    const r = await repeat(current.id);
    clear(n);
    if (r.ids.length) append(n, ['sent again: ', el('button', { type: 'button', class: 'linkish', text: '#' + r.ids[0], onclick: () => openFlow(r.ids[0]) })]);
    else { n.textContent = 'not sent: ' + (r.error || 'no flow'); n.classList.add('bad'); }
  } catch (e) {
    n.textContent = 'not repeated: ' + e.message;
    n.classList.add('bad');
  }
}

function init() {
  const curl = $('b-curl');
  if (curl) {
    const b1 = el('button', { id: 'b-repeat', type: 'button', text: 'Repeat', title: 'Send this request again through httpeek (rules apply)', onclick: repeatOnce });
    const b2 = el('button', { id: 'b-repeat-adv', type: 'button', text: 'Repeat…', title: 'Send it N times, some at once, with a delay',
      onclick: () => { if (!current) return; buildRepeat(); rdlg._id = current.id; $('rp-title').textContent = 'Repeat flow #' + current.id; $('rp-result').textContent = ''; rdlg.showModal(); } });
    const b3 = el('button', { id: 'b-edit', type: 'button', text: 'Edit and resend', title: 'Open this request in the editor', onclick: () => current && editAndResend(current) });
    const n = el('span', { id: 'repeat-note', class: 'repeat-note', role: 'status' });
    curl.after(b1, b2, b3, n);
  }
  const follow = $('b-follow');
  if (follow) follow.before(el('button', { id: 'b-compose', type: 'button', text: 'New request', title: 'Compose a request and send it through httpeek', onclick: newRequest }));
  document.head.appendChild(el('link', { rel: 'stylesheet', href: '/compose.css' }));
  document.addEventListener('hp-detail', (e) => {
    const d = e.detail;
    if (!current || current.id !== d.id) { const n = $('repeat-note'); if (n) n.textContent = ''; }
    current = d;
    const none = d.kind === 'tunnel' || !d.url;
    for (const id of ['b-repeat', 'b-repeat-adv', 'b-edit']) { const b = $(id); if (b) b.hidden = none; }
  });
}

/* The keyboard (keys.js lists them under "?"): the detail's buttons while they are shown. */
const shown = (id) => () => { const b = $(id); return !!b && !b.hidden && !b.closest('[hidden]'); };
const press = (id) => () => $(id).click();
addShortcut(['a'], 'Detail', 'Repeat: send the request again (rules apply)', press('b-repeat'), shown('b-repeat'));
addShortcut(['A'], 'Detail', 'Repeat…: N times, some at once, with a delay', press('b-repeat-adv'), shown('b-repeat-adv'));
addShortcut(['E'], 'Detail', 'Edit and resend: the request in the editor', press('b-edit'), shown('b-edit'));
addShortcut(['n'], 'Session', 'New request: compose one from scratch', () => newRequest());
addShortcut(['Ctrl+Enter'], 'Compose', 'Send the request (in the editor)', () => $('cp-form').requestSubmit(), null, 'compose-dlg');

Object.assign(window.HP, { repeatFlow: repeat, sendRequest: send, newRequest, editAndResend });
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
