/* headers.js — the detail pane's Request and Response tabs (start line, headers in the order and
 * case they arrived, then the trailer section when there was one), Query (decoded parameters, a form body) and Cookies (Cookie, Set-Cookie). */

import { el, header, headersAll, section } from './util.js';
import { api } from './api.js';

function renderHeaders(d, which) {
  const part = d[which];
  const box = el('div');
  if (!part) {
    box.appendChild(el('p', { class: 'muted' }, which === 'response'
      ? 'No response' + (d.failed ? ': the flow failed before one arrived.' : '.') : 'No request.'));
    return box;
  }
  const line = which === 'request'
    ? (part.method || d.method) + ' ' + (part.target || '') + ' ' + (part.http_version || '')
    : (part.http_version || '') + ' ' + part.status + ' ' + (part.reason || '');
  box.appendChild(el('div', { class: 'startline' }, line));
  const hs = part.headers || [];
  const t = el('table', { class: 'headers' });
  for (const h of hs) t.appendChild(el('tr', null, el('th', null, h.name), el('td', null, h.value)));
  box.appendChild(t);
  box.appendChild(el('p', { class: 'muted small' }, hs.length + ' header' + (hs.length === 1 ? '' : 's') +
    ', in the order and case ' + (which === 'request' ? 'the client sent them' : 'the server sent them') + '.'));
  const tr = part.trailers || [];
  if (tr.length) { // the trailer section after the body (gRPC's status lives there)
    const tt = el('table', { class: 'headers trailers' });
    for (const h of tr) tt.appendChild(el('tr', null, el('th', null, h.name), el('td', null, h.value)));
    box.appendChild(section('Trailers', tt, el('p', { class: 'muted small' }, tr.length + ' trailer field' +
      (tr.length === 1 ? '' : 's') + ', sent after the body.')));
  }
  return box;
}

function decodeComponent(s) {
  try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (e) { return s; }
}
function parsePairs(qs) {
  const out = [];
  if (!qs) return out;
  for (const part of qs.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    out.push(i < 0 ? [decodeComponent(part), ''] : [decodeComponent(part.slice(0, i)), decodeComponent(part.slice(i + 1))]);
  }
  return out;
}
function pairTable(pairs, heads) {
  const t = el('table', { class: 'headers pairs' });
  if (heads) t.appendChild(el('tr', { class: 'th' }, ...heads.map((h) => el('th', null, h))));
  for (const p of pairs) t.appendChild(el('tr', null, el('th', null, p[0]), ...p.slice(1).map((v) => el('td', null, v))));
  return t;
}

function renderQuery(d) {
  const box = el('div');
  const url = d.url || '';
  const q = url.indexOf('?');
  const qs = q < 0 ? '' : url.slice(q + 1).split('#')[0];
  const pairs = parsePairs(qs);
  box.appendChild(section('Query string', pairs.length ? pairTable(pairs) : el('p', { class: 'muted' }, 'No query parameters.'),
    qs ? el('div', { class: 'raw small' }, '?' + qs) : null));
  const ct = header(d.request && d.request.headers, 'content-type') || '';
  if (/x-www-form-urlencoded/i.test(ct) && d.request.body_captured > 0) {
    const holder = el('div', { class: 'muted' }, 'Loading form body…');
    box.appendChild(section('Form body', holder));
    fetch(api('/api/flows/' + d.id + '/request/body?decode=1')).then((r) => r.ok ? r.text() : Promise.reject(new Error(r.status)))
      .then((text) => { holder.replaceWith(pairTable(parsePairs(text))); }, () => { holder.textContent = 'Could not load the form body.'; });
  }
  return box;
}

function renderCookies(d) {
  const box = el('div');
  const reqC = [];
  for (const v of headersAll(d.request && d.request.headers, 'cookie')) {
    for (const part of v.split(';')) {
      const p = part.trim();
      if (!p) continue;
      const i = p.indexOf('=');
      reqC.push(i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]);
    }
  }
  box.appendChild(section('Request cookies', reqC.length ? pairTable(reqC, ['Name', 'Value'])
    : el('p', { class: 'muted' }, 'No Cookie header.')));
  const setC = [];
  for (const v of headersAll(d.response && d.response.headers, 'set-cookie')) {
    const parts = v.split(';');
    const first = parts.shift() || '';
    const i = first.indexOf('=');
    const attrs = parts.map((s) => s.trim()).filter(Boolean).join('; ');
    setC.push([i < 0 ? first.trim() : first.slice(0, i).trim(), i < 0 ? '' : first.slice(i + 1).trim(), attrs]);
  }
  box.appendChild(section('Response cookies (Set-Cookie)', setC.length ? pairTable(setC, ['Name', 'Value', 'Attributes'])
    : el('p', { class: 'muted' }, 'No Set-Cookie header.')));
  return box;
}

export { renderHeaders, renderQuery, renderCookies };
