/* util.js — the viewer's shared helpers: DOM building, formatting, content types, layout
 * preferences. Nothing here touches the page when imported (node --test imports it too). */

const $ = (id) => document.getElementById(id);
/* ------------------------------------------------------------------------------------------ */
/* DOM and formatting helpers */

// el('div', {class: 'x', title: t}, 'text', child...) — strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) append(e, c);
  return e;
}
function append(e, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { for (const x of c) append(e, x); return; }
  e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
}
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

function fmtSize(n) {
  if (n === undefined || n === null || n < 0) return '';
  if (n < 1000) return n + ' B';
  if (n < 1000 * 1000) return (n / 1000).toFixed(n < 10000 ? 1 : 0) + ' kB';
  if (n < 1000 * 1000 * 1000) return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + ' MB';
  return (n / 1e9).toFixed(1) + ' GB';
}
function fmtMs(ms) {
  if (ms === undefined || ms === null || ms < 0) return '';
  if (ms < 10) return ms.toFixed(1) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
  return (ms / 60000).toFixed(1) + ' min';
}
function pad2(n) { return (n < 10 ? '0' : '') + n; }

// "application/json; charset=utf-8" → "json"; "image/png" → "png"
function mimeShort(m) {
  if (!m) return '';
  let t = m.split(';')[0].trim().toLowerCase();
  if (!t) return '';
  let sub = t.includes('/') ? t.slice(t.indexOf('/') + 1) : t;
  if (sub.endsWith('+json') || sub === 'json') return 'json';
  if (sub.endsWith('+xml')) return sub === 'svg+xml' ? 'svg' : 'xml';
  if (sub === 'javascript' || sub === 'x-javascript' || sub === 'ecmascript') return 'js';
  if (sub === 'octet-stream') return 'binary';
  if (sub === 'x-www-form-urlencoded') return 'form';
  if (sub === 'plain') return 'text';
  if (sub.startsWith('x-')) sub = sub.slice(2);
  return sub;
}
// category for the type filter
function mimeCat(m) {
  const t = (m || '').split(';')[0].trim().toLowerCase();
  if (!t) return 'none';
  if (t.includes('json')) return 'json';
  if (t === 'text/html' || t === 'application/xhtml+xml') return 'html';
  if (t.includes('javascript') || t.includes('ecmascript')) return 'js';
  if (t === 'text/css') return 'css';
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('font/') || t.includes('font')) return 'font';
  if (t.startsWith('text/') || t.includes('xml') || t.includes('x-www-form-urlencoded')) return 'text';
  if (t.startsWith('audio/') || t.startsWith('video/')) return 'media';
  return 'binary';
}

function header(headers, name) {
  if (!headers) return undefined;
  const n = name.toLowerCase();
  for (const h of headers) if (h.name.toLowerCase() === n) return h.value;
  return undefined;
}
function headersAll(headers, name) {
  const n = name.toLowerCase();
  return (headers || []).filter((h) => h.name.toLowerCase() === n).map((h) => h.value);
}

function statusClass(s) {
  if (s.failed) return 'failed';
  const c = s.status | 0;
  if (c >= 200 && c < 300) return '2xx';
  if (c >= 300 && c < 400) return '3xx';
  if (c >= 400 && c < 500) return '4xx';
  if (c >= 500) return '5xx';
  if (c >= 100) return '1xx';
  return '';
}

function kv(rows) {
  const t = el('table', { class: 'kv' });
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === '') continue;
    t.appendChild(el('tr', null, el('th', null, k), el('td', null, v)));
  }
  return t;
}
function section(title, ...content) {
  return el('section', { class: 'sec' }, el('h4', null, title), ...content);
}

// Layout choices survive a reload (never data: flows stay on the server).
function pref(k, v) {
  try {
    if (v === undefined) return localStorage.getItem('httpeek.' + k);
    localStorage.setItem('httpeek.' + k, String(v));
  } catch (e) { /* storage disabled */ }
  return null;
}
function setText(e, t) { if (e.textContent !== t) e.textContent = t; }

export { $, el, append, clear, fmtSize, fmtMs, pad2, mimeShort, mimeCat, header, headersAll, statusClass, kv, section, pref, setText };
