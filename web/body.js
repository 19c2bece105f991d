/* body.js — the detail pane's bodies: decoded text, pretty-printed JSON tree, HTML source or sandboxed preview, images, hex. */

import { el, append, fmtSize, header, mimeCat } from './util.js';
import { api } from './api.js';

const HEX_MAX = 64 * 1024;   // bytes shown as a hex dump
const TEXT_MAX = 2 * 1024 * 1024; // characters of text shown before cutting
const JSON_CHILDREN = 500;   // children of one JSON node rendered before "show more"
const bodyCache = new Map(); // 'id:resp' → rendered element (one flow at a time)

/* Bodies */

function renderBody(d, response) {
  const part = response ? d.response : d.request;
  const box = el('div', { class: 'bodybox' });
  if (!part) { box.appendChild(el('p', { class: 'muted' }, response ? 'No response.' : 'No request.')); return box; }
  if (!part.body_size && !part.body_captured) { box.appendChild(el('p', { class: 'muted' }, 'No body.')); return box; }
  const which = response ? 'response' : 'request';
  const ctype = header(part.headers, 'content-type') || (response ? d.mime : '') || '';
  const enc = header(part.headers, 'content-encoding') || '';
  const base = '/api/flows/' + d.id + '/' + which + '/body';
  const info = el('div', { class: 'bodyinfo' },
    el('span', null, (ctype || 'no Content-Type') + (enc ? ' · ' + enc : '') + ' · ' + fmtSize(part.body_size) +
      (enc ? ' on the wire' : '')),
    el('a', { href: api(base + '?decode=1&download=1'), class: 'button small' }, 'Download'),
    enc ? el('a', { href: api(base + '?download=1'), class: 'button small' }, 'Download raw') : null);
  box.appendChild(info);
  if (part.body_truncated) {
    box.appendChild(el('p', { class: 'note warn-note' }, 'Truncated capture: ' + fmtSize(part.body_captured) + ' of ' +
      fmtSize(part.body_size) + ' were kept (--max-body).'));
  }
  if (!part.body_captured) { box.appendChild(el('p', { class: 'muted' }, 'The body was not captured.')); return box; }
  const holder = el('div', { class: 'bodyview' }, el('span', { class: 'muted' }, 'Loading…'));
  box.appendChild(holder);
  const key = d.id + ':' + which;
  const cached = bodyCache.get(key);
  if (cached) { holder.replaceWith(cached); return box; }
  const cat = mimeCat(ctype);
  if (cat === 'image') {
    const img = el('img', { class: 'bodyimg', alt: 'image body', src: api(base + '?decode=1') });
    const dims = el('div', { class: 'muted small' });
    img.addEventListener('load', () => { dims.textContent = img.naturalWidth + ' × ' + img.naturalHeight + ' px'; });
    img.addEventListener('error', () => { dims.textContent = 'The image could not be displayed; see the hex view with Download raw.'; });
    const v = el('div', { class: 'bodyview' }, img, dims);
    bodyCache.set(key, v);
    holder.replaceWith(v);
    return box;
  }
  fetchBody(base).then((res) => {
    const v = el('div', { class: 'bodyview' });
    if (res.note) v.appendChild(el('p', { class: 'note' }, res.note));
    if (response && cat === 'html') v.appendChild(htmlToggle(base, bodyContent(res.bytes, ctype)));
    else v.appendChild(bodyContent(res.bytes, ctype));
    bodyCache.set(key, v);
    holder.replaceWith(v);
  }, (e) => {
    holder.replaceWith(el('p', { class: 'error' }, 'Could not load the body: ' + e.message));
  });
  return box;
}

// An HTML body: its source (default) or a preview in a sandboxed frame (no scripts, an opaque
// origin) loaded from our own body URL, which the server frames only for this origin.
function htmlToggle(base, source) {
  const bSrc = el('button', { type: 'button', class: 'small on', 'data-view': 'source' }, 'Source');
  const bPrev = el('button', { type: 'button', class: 'small', 'data-view': 'preview' }, 'Preview');
  const wrap = el('div', { class: 'htmlbody' }, el('div', { class: 'viewtoggle', role: 'group', 'aria-label': 'HTML view' }, bSrc, bPrev), source);
  let frame = null;
  const show = (preview) => {
    bSrc.classList.toggle('on', !preview);
    bPrev.classList.toggle('on', preview);
    if (preview && !frame) {
      frame = el('iframe', { class: 'htmlpreview', sandbox: '', referrerpolicy: 'no-referrer', title: 'HTML preview (scripts off)' });
      frame.src = api(base + '?decode=1');
      wrap.appendChild(frame);
    }
    source.hidden = preview;
    if (frame) frame.hidden = !preview;
  };
  bSrc.addEventListener('click', () => show(false));
  bPrev.addEventListener('click', () => show(true));
  return wrap;
}

// The decoded bytes; when the server cannot decode them, the raw bytes with a note.
async function fetchBody(base) {
  let r = await fetch(api(base + '?decode=1'), { cache: 'no-store' });
  let note = '';
  if (r.status === 422) {
    let msg = 'it could not be decoded';
    try { msg = (await r.json()).error || msg; } catch (e) { /* keep */ }
    note = 'Shown raw: ' + msg;
    r = await fetch(api(base), { cache: 'no-store' });
  }
  if (!r.ok) {
    let msg = r.status + ' ' + r.statusText;
    try { msg = (await r.json()).error || msg; } catch (e) { /* keep */ }
    throw new Error(msg);
  }
  return { bytes: new Uint8Array(await r.arrayBuffer()), note };
}

function bodyContent(bytes, ctype) {
  const cat = mimeCat(ctype);
  let text = null;
  if (cat !== 'image' && cat !== 'media' && cat !== 'font') {
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { text = null; }
    if (text !== null && cat === 'binary' && /[\x00-\x08\x0e-\x1a\x1c-\x1f]/.test(text.slice(0, 4096))) text = null;
    if (text === null && (cat === 'text' || cat === 'json' || cat === 'html' || cat === 'js' || cat === 'css')) {
      // declared as text but not UTF-8: show it as Latin-1 rather than as hex
      if (!/[\x00-\x08]/.test(String.fromCharCode.apply(null, bytes.subarray(0, 512)))) {
        text = new TextDecoder('latin1').decode(bytes);
      }
    }
  }
  if (text === null) return hexDump(bytes);
  const trimmed = text.trimStart();
  if (cat === 'json' || ((cat === 'binary' || cat === 'text' || cat === 'none') && /^[[{]/.test(trimmed))) {
    if (text.length <= 32 * 1024 * 1024) {
      try {
        const value = JSON.parse(text);
        return jsonView(value, text);
      } catch (e) { /* not JSON after all: show the text */ }
    }
  }
  return textView(text);
}

function textView(text) {
  const box = el('div');
  if (text.length > TEXT_MAX) {
    box.appendChild(el('p', { class: 'note' }, 'Showing the first ' + fmtSize(TEXT_MAX) + ' characters of ' + fmtSize(text.length) + '; download the body for the rest.'));
    text = text.slice(0, TEXT_MAX);
  }
  box.appendChild(el('pre', { class: 'text' }, text));
  return box;
}

function hexDump(bytes) {
  const n = Math.min(bytes.length, HEX_MAX);
  const lines = [];
  for (let off = 0; off < n; off += 16) {
    let hex = '', asc = '';
    for (let i = 0; i < 16; i++) {
      if (off + i < n) {
        const b = bytes[off + i];
        hex += (b < 16 ? '0' : '') + b.toString(16) + ' ';
        asc += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else {
        hex += '   ';
      }
      if (i === 7) hex += ' ';
    }
    lines.push(off.toString(16).padStart(8, '0') + '  ' + hex + ' |' + asc + '|');
  }
  const box = el('div');
  box.appendChild(el('p', { class: 'note' }, 'Binary: ' + fmtSize(bytes.length) +
    (bytes.length > HEX_MAX ? ', hex dump of the first 64 KiB (download the body for all of it)' : '') + '.'));
  box.appendChild(el('pre', { class: 'hex' }, lines.join('\n')));
  return box;
}

/* A pretty-printed, collapsible JSON tree. Children are built when a node is first opened,
 * so a large document costs only what is on screen. */
function jsonView(value, raw) {
  const box = el('div', { class: 'jsonbox' });
  const tree = el('div', { class: 'json' });
  const pretty = el('pre', { class: 'text', hidden: true });
  const bar = el('div', { class: 'bodybar' },
    el('button', { type: 'button', class: 'small', onclick: () => setAll(true) }, 'Expand all'),
    el('button', { type: 'button', class: 'small', onclick: () => setAll(false) }, 'Collapse all'),
    el('button', { type: 'button', class: 'small', onclick: () => {
      const showTree = tree.hidden;
      tree.hidden = !showTree;
      if (!showTree && !pretty.textContent) pretty.textContent = JSON.stringify(value, null, 2);
      pretty.hidden = showTree;
    } }, 'Text'));
  tree.appendChild(jsonNode(value, null, true, 0));
  function setAll(open) {
    // expanding everything is bounded: huge documents only open the first levels
    const limit = open ? (raw.length > 1 << 20 ? 3 : 64) : 0;
    const walk = (node, depth) => {
      if (node._setOpen) node._setOpen(open && depth < limit);
      for (const c of node.querySelectorAll(':scope > .jchildren > .jnode')) walk(c, depth + 1);
    };
    walk(tree.firstChild, 0);
  }
  box.appendChild(bar);
  box.appendChild(tree);
  box.appendChild(pretty);
  return box;
}

function jsonScalar(v) {
  if (v === null) return el('span', { class: 'jnull' }, 'null');
  if (typeof v === 'string') return el('span', { class: 'jstr' }, JSON.stringify(v));
  if (typeof v === 'number') return el('span', { class: 'jnum' }, String(v));
  if (typeof v === 'boolean') return el('span', { class: 'jbool' }, String(v));
  return el('span', null, String(v));
}

function jsonNode(v, key, last, depth) {
  const node = el('div', { class: 'jnode' });
  const keyEl = key !== null ? [el('span', { class: 'jkey' }, JSON.stringify(key)), ': '] : null;
  const comma = last ? '' : ',';
  if (v === null || typeof v !== 'object') {
    append(node, [keyEl, jsonScalar(v), comma]);
    return node;
  }
  const isArr = Array.isArray(v);
  const keys = isArr ? null : Object.keys(v);
  const n = isArr ? v.length : keys.length;
  const open = isArr ? '[' : '{', close = isArr ? ']' : '}';
  if (!n) { append(node, [keyEl, open + close + comma]); return node; }
  const tog = el('span', { class: 'jtog' });
  const summary = el('span', { class: 'jsum' }, ' … ' + n + (isArr ? ' item' : ' key') + (n === 1 ? '' : 's') + ' ' + close + comma);
  const children = el('div', { class: 'jchildren' });
  const closeEl = el('div', { class: 'jclose' }, close + comma);
  let built = 0;
  function build(upto) {
    const more = children.querySelector(':scope > .jmore');
    if (more) more.remove();
    for (; built < Math.min(n, upto); built++) {
      const k = isArr ? built : keys[built];
      children.appendChild(jsonNode(v[k], isArr ? null : k, built === n - 1, depth + 1));
    }
    if (built < n) {
      children.appendChild(el('div', { class: 'jmore' }, el('button', { type: 'button', class: 'small',
        onclick: () => build(built + JSON_CHILDREN) }, 'Show ' + Math.min(JSON_CHILDREN, n - built) + ' more of ' + (n - built))));
    }
  }
  let isOpen = false;
  node._setOpen = (o) => {
    isOpen = o;
    if (o && !built) build(JSON_CHILDREN);
    tog.textContent = o ? '▾' : '▸';
    summary.hidden = o;
    children.hidden = !o;
    closeEl.hidden = !o;
  };
  tog.addEventListener('click', () => node._setOpen(!isOpen));
  const headLine = el('span', { class: 'jhead' }, tog, keyEl, open, summary);
  headLine.addEventListener('dblclick', () => node._setOpen(!isOpen));
  append(node, [headLine, children, closeEl]);
  node._setOpen(depth < 2 || n <= 20 && depth < 4);
  return node;
}


export { renderBody, bodyCache, fetchBody, bodyContent };
