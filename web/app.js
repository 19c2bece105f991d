/* app.js — httpeek's viewer: one page, no framework, nothing loaded from elsewhere.
 *
 * Data flow: /api/events (server-sent events) is opened first, then /api/flows is paged in
 * (2,000 summaries for the first screen, then bigger pages in the background); "flows" events
 * add summaries as the store commits them. Every summary lives once in `flows` (sorted by id)
 * and `byId`; `view` is what the filter lets through (plus group headers when grouping by
 * client). The list is virtual: a fixed row height, a spacer for the scroll range and a small
 * pool of row elements repainted from `view` on scroll, so 100,000 flows cost one array.
 *
 * Everything captured is untrusted: it reaches the DOM only through textContent, attribute
 * setters and <img src> to our own body URL (served under a sandbox CSP). Never innerHTML. */
'use strict';

(function () {
  const ROW_H = 22;            // px, must match .row height in style.css
  const FIRST_PAGE = 2000;     // summaries for the first screen
  const PAGE = 10000;          // summaries per background page
  const FILTER_DEBOUNCE_MS = 120;
  const HEX_MAX = 64 * 1024;   // bytes shown as a hex dump
  const TEXT_MAX = 2 * 1024 * 1024; // characters of text shown before cutting
  const JSON_CHILDREN = 500;   // children of one JSON node rendered before "show more"

  const $ = (id) => document.getElementById(id);
  const TOKEN = new URLSearchParams(location.search).get('token');

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

  // API URL with the viewer token forwarded (the HttpOnly cookie normally covers it).
  function api(path) {
    if (!TOKEN) return path;
    return path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(TOKEN);
  }
  async function apiJSON(path, opts) {
    const r = await fetch(api(path), Object.assign({ cache: 'no-store' }, opts || {}));
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try { const j = await r.json(); if (j && j.error) msg = j.error; } catch (e) { /* not JSON */ }
      const err = new Error(msg);
      err.status = r.status;
      throw err;
    }
    return r.status === 204 ? null : r.json();
  }

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

  function clientLabel(s) { return s.client_name || s.client || ''; }

  /* ------------------------------------------------------------------------------------------ */
  /* State */

  const flows = [];          // summaries sorted by id
  const byId = new Map();    // id → summary
  let view = [];             // filtered: summaries (and {group} headers when grouping)
  let viewIds = [];          // the flows the filter lets through, in id order (counts, HAR)
  let navList = [];          // the flow rows of view, in display order (keyboard)
  let selectedId = 0;
  let filter = null;         // compiled filter, see compileFilter
  let following = true;      // keep the newest flow in view
  let loading = true;
  const collapsedGroups = new Set();
  const clientNames = new Map(); // addr → display name from /api/clients

  /* ------------------------------------------------------------------------------------------ */
  /* Filtering */

  // Free text over the URL; terms host: method: status: type: client: is:failed|error;
  // a leading "-" negates a term.
  function compileFilter() {
    const text = $('filter').value.trim();
    const tests = [];
    const tokens = text.match(/(?:[^\s"]+|"[^"]*")+/g) || [];
    for (let tok of tokens) {
      let neg = false;
      if (tok.length > 1 && tok[0] === '-') { neg = true; tok = tok.slice(1); }
      tok = tok.replace(/"/g, '');
      const m = /^(host|method|status|type|mime|client|is|url|path):(.*)$/i.exec(tok);
      let t;
      if (m) {
        const key = m[1].toLowerCase();
        const v = m[2].toLowerCase();
        if (key === 'host') t = (s) => (s.host || '').toLowerCase().includes(v);
        else if (key === 'method') t = (s) => (s.method || '').toLowerCase() === v;
        else if (key === 'status') t = statusTest(v);
        else if (key === 'type' || key === 'mime') t = (s) => mimeCat(s.mime) === v || (s.mime || '').toLowerCase().includes(v);
        else if (key === 'client') t = (s) => clientLabel(s).toLowerCase().includes(v) || (s.client || '').includes(v);
        else if (key === 'is') t = (v === 'failed' || v === 'error' || v === 'errors') ? isError
          : (v === 'warning' || v === 'warnings' || v === 'warn') ? isWarning : () => true;
        else t = (s) => lowerUrl(s).includes(v);
      } else {
        const v = tok.toLowerCase();
        if (!v) continue;
        t = (s) => lowerUrl(s).includes(v);
      }
      tests.push(neg ? (s) => !t(s) : t);
    }
    const method = $('f-method').value;
    if (method) tests.push((s) => s.method === method);
    const st = $('f-status').value;
    if (st) tests.push(statusTest(st));
    const type = $('f-type').value;
    if (type) tests.push((s) => mimeCat(s.mime) === type);
    const client = $('f-client').value;
    if (client) tests.push((s) => s.client === client);
    if ($('f-errors').checked) tests.push(isError);
    if (!tests.length) return null;
    return (s) => {
      for (const t of tests) if (!t(s)) return false;
      return true;
    };
  }
  function statusTest(v) {
    if (v === 'warning' || v === 'warnings' || v === 'warn') return isWarning;
    if (v === 'failed' || v === 'error' || v === 'failure') return (s) => !!s.failed;
    const m = /^([1-5])xx$/.exec(v);
    if (m) { const d = +m[1]; return (s) => !s.failed && Math.floor(s.status / 100) === d; }
    if (/^\d+$/.test(v)) { const n = +v; return (s) => s.status === n; }
    return () => true;
  }
  function isError(s) { return s.failed || s.status >= 400; }
  function isWarning(s) { return !s.failed && !!s.warn_code; }
  function lowerUrl(s) {
    if (s._u === undefined) s._u = (s.url || '').toLowerCase();
    return s._u;
  }
  function matches(s) { return !filter || filter(s); }

  function groupKey(s) { return s.client || ''; }

  // Rebuild view from flows (filter or grouping changed, or a clear).
  function rebuildView() {
    const grouped = $('f-group').checked;
    let list = filter ? flows.filter(filter) : flows.slice();
    if (!idAsc()) sortList(list);
    viewIds = list;
    if (grouped) {
      const groups = new Map();
      for (const s of list) {
        const k = groupKey(s);
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(s);
      }
      const out = [];
      for (const k of [...groups.keys()].sort()) {
        const g = groups.get(k);
        let failed = 0;
        for (const s of g) if (s.failed) failed++;
        out.push({ group: k, count: g.length, failed, label: clientNames.get(k) || clientLabel(g[0]) || k || '(unknown)' });
        if (!collapsedGroups.has(k)) for (const s of g) out.push(s);
      }
      list = out;
    }
    view = list;
    navList = grouped ? list.filter((x) => x.group === undefined) : list;
    afterViewChange(true);
  }

  // Grouped views are rebuilt at most every ms while flows stream in (a pending rebuild is
  // never pushed back, or steady traffic would starve it).
  let rebuildTimer = 0;
  function scheduleRebuild(ms) {
    if (rebuildTimer) return;
    rebuildTimer = setTimeout(() => { rebuildTimer = 0; rebuildView(); }, ms);
  }

  let filterTimer = 0;
  function onFilterInput() {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      clearTimeout(rebuildTimer);
      rebuildTimer = 0;
      filter = compileFilter();
      rebuildView();
    }, FILTER_DEBOUNCE_MS);
  }

  /* ------------------------------------------------------------------------------------------ */
  /* Adding flows */

  function lowerBound(arr, id) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (arr[mid].id < id) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /* Sorting: by a column, ascending or descending, the id breaking ties (a total order, so a
   * binary search finds any row). The default, id ascending, is the order flows arrive in. */
  let sortKey = 'id', sortDir = 1;
  const SORT_KEYS = {
    id: (s) => s.id,
    method: (s) => s.method || '',
    host: (s) => (s.host || '') + ':' + String(s.port || 0).padStart(5, '0'),
    path: (s) => s.kind === 'tunnel' ? (s.note || '') : (s.path || ''),
    status: (s) => s.failed ? -1 : (s.status | 0),
    type: (s) => (s._ty === undefined ? (s._ty = mimeShort(s.mime)) : s._ty),
    size: (s) => (s.failed && !s.resp_size) || s.resp_size === undefined || s.resp_size === null ? -1 : s.resp_size,
    time: (s) => (s.duration_ms === undefined || s.duration_ms === null ? -1 : s.duration_ms),
    client: (s) => clientLabel(s).toLowerCase(),
  };
  function idAsc() { return sortKey === 'id' && sortDir === 1; }
  function cmpFlows(a, b) {
    const f = SORT_KEYS[sortKey];
    const x = f(a), y = f(b);
    if (x < y) return -sortDir;
    if (x > y) return sortDir;
    return (a.id - b.id) * sortDir;
  }
  // decorate, sort, undecorate: each key is computed once per flow (100k flows ≈ tens of ms)
  function sortList(list) {
    if (sortKey === 'id') { if (sortDir < 0) list.reverse(); return list; }
    const f = SORT_KEYS[sortKey], dir = sortDir;
    const dec = new Array(list.length);
    for (let i = 0; i < list.length; i++) dec[i] = { k: f(list[i]), s: list[i] };
    dec.sort((a, b) => (a.k < b.k ? -dir : a.k > b.k ? dir : (a.s.id - b.s.id) * dir));
    for (let i = 0; i < list.length; i++) list[i] = dec[i].s;
    return list;
  }
  // new summaries into a sorted view: one at a time by binary search, or one merge for a burst
  function sortedIndex(arr, s) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpFlows(arr[mid], s) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  function mergeSorted(arr, fresh) {
    if (fresh.length <= 32) {
      for (const s of fresh) arr.splice(sortedIndex(arr, s), 0, s);
      return arr;
    }
    sortList(fresh);
    const out = new Array(arr.length + fresh.length);
    let i = 0, j = 0, k = 0;
    while (i < arr.length && j < fresh.length) out[k++] = cmpFlows(arr[i], fresh[j]) <= 0 ? arr[i++] : fresh[j++];
    while (i < arr.length) out[k++] = arr[i++];
    while (j < fresh.length) out[k++] = fresh[j++];
    return out;
  }
  function setSort(key, dir) {
    if (!SORT_KEYS[key]) return;
    sortKey = key;
    sortDir = dir < 0 ? -1 : 1;
    for (const h of document.querySelectorAll('#list-head .c')) {
      const on = h.dataset.sort === sortKey;
      h.classList.toggle('sorted', on);
      h.classList.toggle('asc', on && sortDir === 1);
      h.classList.toggle('desc', on && sortDir === -1);
      if (h.dataset.sort) h.setAttribute('aria-sort', on ? (sortDir === 1 ? 'ascending' : 'descending') : 'none');
    }
  }

  // Add summaries (any order, duplicates ignored); keeps flows and view sorted by id.
  function addFlows(list) {
    if (!list || !list.length) return;
    let added = 0;
    const grouped = $('f-group').checked;
    const byIdAsc = idAsc();
    const fresh = []; // matching new summaries when the list is sorted by another column
    for (const s of list) {
      if (!s || typeof s.id !== 'number' || byId.has(s.id)) continue;
      byId.set(s.id, s);
      if (!flows.length || flows[flows.length - 1].id < s.id) flows.push(s);
      else flows.splice(lowerBound(flows, s.id), 0, s);
      added++;
      if (!grouped && matches(s)) {
        if (!byIdAsc) { fresh.push(s); continue; }
        if (!view.length || view[view.length - 1].id < s.id) view.push(s);
        else view.splice(lowerBound(view, s.id), 0, s);
      }
    }
    if (!added) return;
    if (fresh.length) view = mergeSorted(view, fresh);
    if (grouped) scheduleRebuild(200);
    else viewIds = navList = view;
    noteClients(list);
    afterViewChange(false);
  }

  /* ------------------------------------------------------------------------------------------ */
  /* The virtual list */

  const listEl = $('list');
  const rowsEl = $('list-rows');
  const spacerEl = $('list-spacer');
  const pool = [];
  let renderQueued = false;
  let firstRowsMarked = false;

  function afterViewChange(reset) {
    spacerEl.style.height = (view.length * ROW_H) + 'px';
    $('list-empty').hidden = view.length > 0 || loading;
    if (following) scrollToBottom();
    else if (reset && selectedId) ensureVisible(selectedId);
    updateCounts();
    scheduleRender();
  }

  function scrollToBottom() {
    const max = view.length * ROW_H - listEl.clientHeight;
    if (max > 0 && listEl.scrollTop < max) listEl.scrollTop = max;
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }

  const CELLS = ['id', 'method', 'host', 'path', 'status', 'type', 'size', 'time', 'client'];

  function makeRow() {
    const r = el('div', { class: 'row', role: 'row' });
    r._cells = {};
    for (const c of CELLS) {
      const span = el('span', { class: 'c c-' + c });
      r._cells[c] = span;
      r.appendChild(span);
    }
    r._group = el('span', { class: 'c c-group' });
    r.appendChild(r._group);
    return r;
  }

  function setText(e, t) { if (e.textContent !== t) e.textContent = t; }

  let scrollbarW = -1;
  function render() {
    const sw = listEl.offsetWidth - listEl.clientWidth;
    if (sw !== scrollbarW) { scrollbarW = sw; $('list-head').style.paddingRight = sw + 'px'; }
    const h = listEl.clientHeight || 400;
    const top = listEl.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_H) - 2);
    const last = Math.min(view.length, Math.ceil((top + h) / ROW_H) + 2);
    const n = Math.max(0, last - first);
    while (pool.length < n) { const r = makeRow(); pool.push(r); rowsEl.appendChild(r); }
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i];
      if (i >= n) { if (!r.hidden) r.hidden = true; r._item = null; continue; }
      const item = view[first + i];
      r.hidden = false;
      r.style.transform = 'translateY(' + ((first + i) * ROW_H) + 'px)';
      if (r._item === item && r._sel === (item.id === selectedId)) continue;
      r._item = item;
      paintRow(r, item);
    }
    if (!firstRowsMarked && n > 0) {
      firstRowsMarked = true;
      try { performance.mark('httpeek-first-rows'); } catch (e) { /* old browser */ }
      document.body.dataset.firstRows = '1';
    }
  }

  function paintRow(r, s) {
    const c = r._cells;
    if (s.group !== undefined) {
      r.className = 'row grouprow' + (collapsedGroups.has(s.group) ? ' collapsed' : '');
      r.dataset.group = s.group;
      delete r.dataset.id;
      r._sel = false;
      for (const k of CELLS) setText(c[k], '');
      setText(r._group, (collapsedGroups.has(s.group) ? '▸ ' : '▾ ') + s.label +
        (s.label !== s.group && s.group ? '  ' + s.group : '') + '  —  ' + s.count + ' flow' + (s.count === 1 ? '' : 's') +
        (s.failed ? ', ' + s.failed + ' failed' : ''));
      return;
    }
    setText(r._group, '');
    delete r.dataset.group;
    const sc = statusClass(s);
    const sel = s.id === selectedId;
    r._sel = sel;
    r.className = 'row' + (s.failed ? ' failed' : '') + (sc ? ' s' + sc : '') + (sel ? ' selected' : '') +
      (s.kind === 'tunnel' ? ' tunnel' : '');
    r.dataset.id = s.id;
    setText(c.id, String(s.id));
    setText(c.method, s.method || '');
    setText(c.host, s.host + (s.port && s.port !== (s.scheme === 'https' || s.kind === 'tunnel' ? 443 : 80) ? ':' + s.port : ''));
    setText(c.path, s.kind === 'tunnel' ? (s.note || 'tunnel') : (s.path || ''));
    let st;
    if (s.failed) st = (s.diag_code ? s.diag_code + ' ' : '') + shortError(s.error);
    else st = s.status ? String(s.status) : s.kind === 'tunnel' ? 'tunnel' : '';
    setText(c.status, st);
    // an ATS warning: a small amber badge drawn by CSS from data-warn (failed flows stay red)
    const wb = !s.failed && s.warn_code ? 'ATS ' + s.warn_code : '';
    if ((c.status.dataset.warn || '') !== wb) { if (wb) c.status.dataset.warn = wb; else delete c.status.dataset.warn; }
    c.status.title = s.failed ? s.error || '' : wb ? 'ATS warning ' + s.warn_code + ' (see the Overview tab)' : '';
    c.path.title = s.url || '';
    setText(c.type, mimeShort(s.mime));
    setText(c.size, s.failed && !s.resp_size ? '' : fmtSize(s.resp_size));
    setText(c.time, fmtMs(s.duration_ms));
    setText(c.client, clientLabel(s));
    c.client.title = s.client || '';
  }

  // "cannot resolve x: no such host (NXDOMAIN ...)" → "cannot resolve x"
  function shortError(e) {
    if (!e) return 'failed';
    const i = e.indexOf(':');
    return i > 8 && i < 60 ? e.slice(0, i) : e.slice(0, 60);
  }

  function updateCounts() {
    const shown = viewIds.length;
    setText($('st-count'), shown === flows.length ? flows.length + ' flows'
      : shown + ' of ' + flows.length + ' flows shown');
  }
  function updateSelectedNote() {
    setText($('st-sel'), selectedId ? 'flow #' + selectedId + ' selected · ↑/↓ to move, Esc to close' : '');
  }

  function rowIndexOf(id) {
    // view is sorted by id unless grouped
    if (!$('f-group').checked) {
      const s = byId.get(id);
      if (!s) return -1;
      const i = idAsc() ? lowerBound(view, id) : sortedIndex(view, s);
      if (i < view.length && view[i].id === id) return i;
      return idAsc() ? -1 : view.indexOf(s); // a rename can leave a client sort stale
    }
    return view.findIndex((x) => x.id === id && x.group === undefined);
  }

  function ensureVisible(id) {
    const i = rowIndexOf(id);
    if (i < 0) return;
    const top = i * ROW_H, h = listEl.clientHeight;
    if (top < listEl.scrollTop) listEl.scrollTop = top;
    else if (top + ROW_H > listEl.scrollTop + h) listEl.scrollTop = top + ROW_H - h;
  }

  listEl.addEventListener('scroll', () => {
    const atBottom = listEl.scrollTop + listEl.clientHeight >= view.length * ROW_H - ROW_H / 2;
    if (atBottom !== following) setFollowing(atBottom);
    scheduleRender();
  }, { passive: true });
  window.addEventListener('resize', scheduleRender);

  function setFollowing(on) {
    following = on;
    $('b-follow').classList.toggle('on', on);
    if (on) scrollToBottom();
  }

  listEl.addEventListener('click', (ev) => {
    const r = ev.target.closest('.row');
    if (!r) return;
    if (r.dataset.group !== undefined) {
      const g = r.dataset.group;
      if (collapsedGroups.has(g)) collapsedGroups.delete(g); else collapsedGroups.add(g);
      rebuildView();
      return;
    }
    if (r.dataset.id) select(+r.dataset.id);
  });

  function moveSelection(delta) {
    if (!navList.length) return;
    let i = selectedId ? navList.findIndex((s) => s.id === selectedId) : -1;
    if (i < 0) i = delta > 0 ? -1 : navList.length;
    i = Math.max(0, Math.min(navList.length - 1, i + delta));
    select(navList[i].id);
    setFollowing(false);
    ensureVisible(navList[i].id);
  }

  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) {
      if (ev.key === 'Escape' && t.id === 'filter') { t.value = ''; onFilterInput(); }
      return;
    }
    if ($('dlg').open) return;
    const page = Math.max(1, Math.floor(listEl.clientHeight / ROW_H) - 1);
    if (ev.key === 'ArrowDown' || ev.key === 'j') moveSelection(1);
    else if (ev.key === 'ArrowUp' || ev.key === 'k') moveSelection(-1);
    else if (ev.key === 'PageDown') moveSelection(page);
    else if (ev.key === 'PageUp') moveSelection(-page);
    else if (ev.key === 'Home') moveSelection(-navList.length);
    else if (ev.key === 'End') { moveSelection(navList.length); setFollowing(true); }
    else if (ev.key === 'Escape') closeDetail();
    else if (ev.key === '/') { $('filter').focus(); }
    else return;
    ev.preventDefault();
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Detail pane */

  let detailSeq = 0;
  let detail = null;     // the flow detail being shown
  let tab = 'overview';
  const bodyCache = new Map(); // 'id:resp' → rendered element (one flow at a time)

  function select(id) {
    if (!byId.has(id)) return;
    selectedId = id;
    updateSelectedNote();
    scheduleRenderAll();
    const seq = ++detailSeq;
    if ($('detail').hidden || following) {
      // opening the pane shrinks the list, and following would scroll the selection away
      $('detail').hidden = false;
      if (following) setFollowing(false);
      requestAnimationFrame(() => ensureVisible(id));
    }
    setTimeout(() => {
      if (seq !== detailSeq) return; // a newer selection (key held down)
      apiJSON('/api/flows/' + id).then((d) => {
        if (seq !== detailSeq) return;
        detail = d;
        bodyCache.clear();
        showDetail();
      }, (e) => {
        if (seq !== detailSeq) return;
        detail = null;
        clear($('d-body'));
        clear($('d-diagnosis'));
        setText($('d-title'), 'Flow ' + id);
        $('d-body').appendChild(el('p', { class: 'error' }, 'Could not load flow ' + id + ': ' + e.message));
      });
    }, 40);
  }
  function scheduleRenderAll() {
    for (const r of pool) r._item = null;
    scheduleRender();
  }

  function closeDetail() {
    $('detail').hidden = true;
    selectedId = 0;
    updateSelectedNote();
    detail = null;
    detailSeq++;
    scheduleRenderAll();
  }

  function showDetail() {
    const d = detail;
    const title = $('d-title');
    clear(title);
    append(title, [
      el('span', { class: 'm' }, d.method || ''), ' ',
      el('span', { class: 'u', title: d.url }, d.url || ''), ' ',
      d.failed ? el('span', { class: 'badge bad' }, 'FAILED')
        : d.status ? el('span', { class: 'badge s' + statusClass(d) }, String(d.status) + (d.response && d.response.reason ? ' ' + d.response.reason : '')) : null,
    ]);
    $('b-curl').hidden = d.kind === 'tunnel'; // an opaque tunnel has no request to replay
    const dl = $('a-download');
    const hasBody = d.response && d.response.body_captured > 0;
    dl.hidden = !hasBody;
    dl.href = api('/api/flows/' + d.id + '/response/body?decode=1&download=1');
    renderDiagnosis(d);
    showTab(tab);
  }

  function showTab(name) {
    tab = name;
    for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('on', b.dataset.tab === name);
    const box = $('d-body');
    clear(box);
    box.scrollTop = 0;
    if (!detail) return;
    const d = detail;
    box.dataset.tab = name;
    $('d-diagnosis').hidden = name === 'overview'; // the Overview shows the whole panel
    if (name === 'overview') box.appendChild(renderOverview(d));
    else if (name === 'request') box.appendChild(renderHeaders(d, 'request'));
    else if (name === 'response') box.appendChild(renderHeaders(d, 'response'));
    else if (name === 'query') box.appendChild(renderQuery(d));
    else if (name === 'cookies') box.appendChild(renderCookies(d));
    else if (name === 'reqbody') box.appendChild(renderBody(d, false));
    else if (name === 'respbody') box.appendChild(renderBody(d, true));
    else if (name === 'tls') box.appendChild(renderTLS(d));
  }
  $('tabs').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (b && b.dataset.tab) showTab(b.dataset.tab);
  });
  $('b-close').addEventListener('click', closeDetail);

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

  /* Diagnosis (issue 4): what the app saw, why, and what to change. */
  // A one-line banner above the tabs (always visible); the full panel opens the Overview tab.
  function renderDiagnosis(d) {
    const box = $('d-diagnosis');
    clear(box);
    const g = d.diagnosis;
    if (!g) return;
    const b = el('button', { type: 'button', class: 'diag-banner', title: 'What the app saw, why, and the fix (Overview)' },
      el('span', { class: 'diag-badge' },
        el('span', { class: 'diag-code' }, String(g.code)), ' ',
        el('span', { class: 'diag-name' }, g.name || '')),
      el('span', { class: 'diag-title' }, g.title || ''),
      g.stage ? el('span', { class: 'diag-stage' }, 'stage: ' + g.stage) : null);
    b.addEventListener('click', () => showTab('overview'));
    box.appendChild(b);
  }
  function diagPanel(g, small) {
    const p = el('div', { class: small ? 'diag warn' : 'diag', 'data-code': g.code });
    p.appendChild(el('div', { class: 'diag-top' },
      el('span', { class: 'diag-badge' },
        el('span', { class: 'diag-code' }, String(g.code)), ' ',
        el('span', { class: 'diag-name' }, g.name || '')),
      g.stage ? el('span', { class: 'diag-stage' }, 'stage: ' + g.stage) : null));
    if (g.title) p.appendChild(el(small ? 'h5' : 'h3', { class: 'diag-title' }, g.title));
    if (g.detail) p.appendChild(el('p', { class: 'diag-detail' }, g.detail));
    if (g.fix) p.appendChild(el('div', { class: 'diag-fix' }, el('b', null, 'Fix: '), g.fix));
    if (g.android) p.appendChild(el('div', { class: 'diag-android' }, el('b', null, 'Android: '), g.android));
    return p;
  }

  function renderOverview(d) {
    const frag = el('div', { class: 'overview' });
    if (d.diagnosis) frag.appendChild(diagPanel(d.diagnosis, false));
    if (d.warnings && d.warnings.length) {
      frag.appendChild(section('Warnings', ...d.warnings.map((w) => diagPanel(w, true))));
    }
    const req = d.request || {}, resp = d.response;
    const client = (d.client_name ? d.client_name + ' — ' : '') + (d.client || '') + (d.client_port ? ':' + d.client_port : '');
    frag.appendChild(section('General', kv([
      ['URL', d.url],
      ['Method', d.method],
      ['Status', d.failed ? 'failed' + (d.error ? ': ' + d.error : '') : resp ? resp.status + ' ' + (resp.reason || '') : ''],
      ['Protocol', [req.http_version, resp && resp.http_version].filter(Boolean).join(' → ')],
      ['Kind', d.kind === 'tunnel' ? 'tunnel (not intercepted)' : null],
      ['Note', d.note],
      ['Started', d.started ? new Date(d.started).toLocaleString() + '  (' + d.started + ')' : ''],
      ['Duration', fmtMs(d.duration_ms)],
      ['Client', client],
      ['Server IP', d.server_ip ? d.server_ip + (d.port ? ' port ' + d.port : '') : ''],
      ['Connection', d.reused_upstream ? 'reused upstream connection' : null],
      ['Flow', '#' + d.id + (d.conn_id ? ', client connection ' + d.conn_id : '')],
    ])));
    frag.appendChild(section('Sizes', kv([
      ['Request', (req.head_size >= 0 ? fmtSize(req.head_size) + ' head + ' : '') + fmtSize(req.body_size || 0) + ' body' + truncNote(req)],
      ['Response', resp ? (resp.head_size >= 0 ? fmtSize(resp.head_size) + ' head + ' : '') + fmtSize(resp.body_size || 0) + ' body' + truncNote(resp) : ''],
      ['On the wire', d.bytes_up !== undefined ? '↑ ' + fmtSize(d.bytes_up) + '   ↓ ' + fmtSize(d.bytes_down) : ''],
    ])));
    if (d.timings) frag.appendChild(section('Timing', waterfall(d.timings)));
    if (d.failure) {
      const f = d.failure;
      frag.appendChild(section('Failure', kv([
        ['Stage', f.stage],
        ['Reason', f.reason],
        ['errno', f.errno ? String(f.errno) : ''],
        ['DNS error', f.dns_error ? String(f.dns_error) : ''],
        ['Timed out', f.timeout ? 'yes' : ''],
        ['Status sent to client', f.status_sent ? String(f.status_sent) : ''],
        ['Closed by', f.closed_by],
        ['Parse error', f.parse_error],
        ['No request after TLS', d.no_request_after_tls ? 'yes: the client finished the handshake and sent nothing' : ''],
      ])));
    }
    return frag;
  }
  function truncNote(part) {
    if (!part) return '';
    if (part.body_truncated) return ' (captured ' + fmtSize(part.body_captured) + ', truncated)';
    return '';
  }

  const PHASES = ['blocked', 'dns', 'connect', 'ssl', 'send', 'wait', 'receive'];
  function waterfall(t) {
    let total = 0;
    for (const p of PHASES) if (t[p] > 0) total += t[p];
    const box = el('div', { class: 'waterfall' });
    let at = 0;
    for (const p of PHASES) {
      const v = t[p];
      const happened = typeof v === 'number' && v >= 0;
      const bar = el('span', { class: 'bar ph-' + p });
      if (happened && total > 0) {
        bar.style.left = (100 * at / total) + '%';
        bar.style.width = Math.max(0.5, 100 * v / total) + '%';
        at += v;
      } else {
        bar.hidden = true;
      }
      box.appendChild(el('div', { class: 'wf-row' + (happened ? '' : ' none') },
        el('span', { class: 'wf-label' }, p),
        el('span', { class: 'wf-track' }, bar),
        el('span', { class: 'wf-val' }, happened ? fmtMs(v) : '—')));
    }
    if (typeof t.total === 'number') {
      box.appendChild(el('div', { class: 'wf-row total' }, el('span', { class: 'wf-label' }, 'total'),
        el('span', { class: 'wf-track' }), el('span', { class: 'wf-val' }, fmtMs(t.total))));
    }
    return box;
  }

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

  const TLS_LABELS = {
    handshake_done: 'Handshake completed', version: 'Version', cipher: 'Cipher', alpn: 'ALPN',
    sni: 'SNI', verify_result: 'Verify result', verify_error: 'Verify error', alert_sent: 'Alert sent',
    alert_received: 'Alert received', error: 'Error', peer_subject: 'Certificate subject',
    peer_issuer: 'Certificate issuer', peer_not_before: 'Valid from', peer_not_after: 'Valid until',
    peer_key_type: 'Key type', peer_key_bits: 'Key bits', peer_sig: 'Signature',
    forward_secret: 'Forward secrecy', resumed: 'Session resumed',
  };
  function tlsTable(o) {
    const rows = [];
    for (const k of Object.keys(o)) {
      let v = o[k];
      if (v === '' || v === null || v === undefined) continue;
      if (k === 'peer_key_bits' && !v) continue;
      if (k === 'verify_result') v = v === 0 ? 'ok (0)' : String(v);
      else if (typeof v === 'boolean') v = v ? 'yes' : 'no';
      else if (typeof v === 'object') v = JSON.stringify(v);
      else v = String(v);
      rows.push([TLS_LABELS[k] || k, v]);
    }
    return rows.length ? kv(rows) : el('p', { class: 'muted' }, 'Nothing recorded.');
  }
  // The certificate's dates as given ("Nov 25 08:00:00 2026 GMT" or ISO) and how they stand now.
  function certValidity(nb, na) {
    const from = Date.parse(nb), until = Date.parse(na), now = Date.now();
    if (isNaN(from) || isNaN(until)) return { text: '', cls: '' };
    if (now < from) return { text: 'not yet valid', cls: 'bad' };
    if (now > until) return { text: 'expired ' + Math.floor((now - until) / 86400000) + ' days ago', cls: 'bad' };
    const left = Math.floor((until - now) / 86400000);
    return { text: 'valid, ' + left + ' day' + (left === 1 ? '' : 's') + ' left', cls: left < 14 ? 'warn' : 'good' };
  }
  const TLS_SHOWN = ['handshake_done', 'version', 'cipher', 'alpn', 'sni', 'forward_secret', 'resumed', 'error', 'verify_result',
    'verify_error', 'alert_sent', 'alert_received', 'peer_subject', 'peer_issuer', 'peer_not_before', 'peer_not_after',
    'peer_key_type', 'peer_key_bits', 'peer_sig'];
  // One leg: the handshake, the certificate the peer showed (also when it failed verification),
  // the verification verdict and the alerts, always in the same places; other facts follow.
  function tlsLeg(o, upstream) {
    const box = el('div', { class: 'tls-leg' });
    const done = !!o.handshake_done;
    const str = (v) => (v === undefined || v === null || v === '' ? '' : String(v));
    box.appendChild(el('p', { class: 'tls-state ' + (done ? 'good' : 'bad') },
      done ? 'Handshake completed' : 'Handshake failed' + (o.error ? ': ' + o.error : '')));
    box.appendChild(kv([
      ['Version', str(o.version)], ['Cipher', str(o.cipher)], ['ALPN', str(o.alpn)], ['SNI', str(o.sni)],
      ['Forward secrecy', typeof o.forward_secret === 'boolean' ? (o.forward_secret ? 'yes' : 'no') : str(o.forward_secret)],
      // a resumed session sent no certificate: what is shown below is from the handshake it resumes
      ['Session resumed', o.resumed ? 'yes (certificate facts from the session resumed)' : ''],
      ['Error', done ? str(o.error) : ''],
    ]));
    const hasCert = o.peer_subject || o.peer_issuer || o.peer_not_after;
    const cert = el('div', { class: 'tls-cert' }, el('h5', null, upstream ? 'Server certificate' : 'Client certificate'));
    if (hasCert) {
      const val = certValidity(o.peer_not_before, o.peer_not_after);
      const key = [str(o.peer_key_type), o.peer_key_bits ? o.peer_key_bits + ' bits' : ''].filter(Boolean).join(' ');
      const t = kv([['Certificate subject', str(o.peer_subject)], ['Certificate issuer', str(o.peer_issuer)],
        ['Valid from', str(o.peer_not_before)], ['Valid until', str(o.peer_not_after)], ['Key', key], ['Signature', str(o.peer_sig)]]);
      if (val.text) t.appendChild(el('tr', null, el('th', null, 'Validity'), el('td', { class: 'tls-validity ' + val.cls }, val.text)));
      cert.appendChild(t);
    } else {
      cert.appendChild(el('p', { class: 'muted' }, upstream ? 'No certificate recorded (the handshake ended before one arrived).'
        : 'httpeek showed its minted leaf; the client sent no certificate.'));
    }
    if (upstream || o.verify_result || o.verify_error) {
      const vr = o.verify_result;
      const verdict = (vr === 0 || vr === undefined || vr === null) && !o.verify_error
        ? (done || hasCert ? 'verified' : '')
        : 'failed' + (o.verify_error ? ': ' + o.verify_error : '') + (vr ? ' (' + vr + ')' : '');
      if (verdict) cert.appendChild(el('p', { class: 'tls-verify ' + (verdict === 'verified' ? 'good' : 'bad') }, 'Verification: ' + verdict));
    }
    box.appendChild(cert);
    box.appendChild(el('div', { class: 'tls-alerts' }, el('h5', null, 'Alerts'),
      kv([['Alert sent', str(o.alert_sent) || 'none'], ['Alert received', str(o.alert_received) || 'none']])));
    const rest = {};
    for (const k of Object.keys(o)) if (!TLS_SHOWN.includes(k)) rest[k] = o[k];
    if (Object.keys(rest).length) box.appendChild(tlsTable(rest));
    return box;
  }
  function renderTLS(d) {
    const box = el('div', { class: 'tls' });
    const t = d.tls || {};
    box.appendChild(section('Client ↔ httpeek', t.client ? tlsLeg(t.client, false)
      : el('p', { class: 'muted' }, d.scheme === 'https' && d.kind === 'tunnel' ? 'Not intercepted (tunnel).' : 'No TLS on this leg.')));
    box.appendChild(section('httpeek ↔ server', t.upstream ? tlsLeg(t.upstream, true)
      : el('p', { class: 'muted' }, 'No TLS on this leg.')));
    return box;
  }

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

  /* ------------------------------------------------------------------------------------------ */
  /* Actions */

  function shellQuote(s) {
    if (s === '') return "''";
    if (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(s)) return s;
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(s)) {
      // ANSI-C quoting keeps control bytes exact
      let out = "$'";
      for (const ch of s) {
        const c = ch.codePointAt(0);
        if (ch === '\\') out += '\\\\';
        else if (ch === "'") out += "\\'";
        else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
        else out += ch;
      }
      return out + "'";
    }
    return "'" + s.replace(/'/g, "'\\''") + "'";
  }

  const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization',
    'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);

  async function curlCommand(d) {
    const req = d.request || {};
    const method = d.method || req.method || 'GET';
    const parts = ['curl'];
    if (method === 'HEAD') parts.push('--head');
    else if (method !== 'GET') parts.push('-X', shellQuote(method));
    parts.push(shellQuote(d.url));
    let host = '';
    try { host = new URL(d.url).host; } catch (e) { /* keep */ }
    let compressed = false;
    for (const h of req.headers || []) {
      const n = h.name.toLowerCase();
      if (HOP_BY_HOP.has(n)) continue;
      if (n === 'host' && h.value.toLowerCase() === host.toLowerCase()) continue;
      if (n === 'accept-encoding' && /gzip|deflate|br/i.test(h.value)) compressed = true;
      parts.push('-H', shellQuote(h.name + ': ' + h.value));
    }
    if (compressed) parts.push('--compressed');
    const notes = [];
    if (req.body_captured > 0) {
      const r = await fetch(api('/api/flows/' + d.id + '/request/body'), { cache: 'no-store' });
      const bytes = r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
      let text = null;
      if (bytes) { try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { text = null; } }
      if (text !== null && !/\x00/.test(text)) parts.push('--data-binary', shellQuote(text));
      else notes.push('# the ' + fmtSize(req.body_size) + ' binary request body is not inline: download it and add --data-binary @FILE');
      if (req.body_truncated) notes.push('# the request body was truncated when captured: this body is incomplete');
    } else if (req.body_size > 0) {
      notes.push('# the request body (' + fmtSize(req.body_size) + ') was not captured');
    }
    return notes.concat([parts.join(' ')]).join('\n');
  }

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

  $('b-curl').addEventListener('click', async () => {
    if (!detail) return;
    let cmd;
    try { cmd = await curlCommand(detail); } catch (e) { showDialog('Copy as curl', 'Could not build the command: ' + e.message); return; }
    const ok = await copyText(cmd);
    showDialog('Copy as curl', ok ? 'Copied to the clipboard.' : 'Copy it from here (the clipboard is not available).', cmd);
  });

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

  $('b-har').addEventListener('click', async () => {
    const redact = $('har-redact').checked;
    const all = $('har-scope').value === 'all' || viewIds.length === flows.length && !loading;
    const btn = $('b-har');
    const ids = all ? null : viewIds.map((s) => s.id);
    if (ids && !ids.length) { showDialog('Export HAR', 'The filter shows no flows: nothing to export.'); return; }
    btn.disabled = true;
    const old = btn.textContent;
    btn.textContent = 'Exporting…';
    try {
      const r = all
        ? await fetch(api('/api/har?redact=' + (redact ? 1 : 0)), { cache: 'no-store' })
        : await fetch(api('/api/har'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ids, redact }) });
      if (!r.ok) {
        let msg = r.status + ' ' + r.statusText;
        try { msg = (await r.json()).error || msg; } catch (e) { /* keep */ }
        throw new Error(msg);
      }
      saveBlob(await r.blob(), 'httpeek-' + stamp() + '.har');
    } catch (e) {
      showDialog('Export HAR', 'The export failed: ' + e.message);
    } finally {
      btn.disabled = false;
      btn.textContent = old;
    }
  });

  $('b-clear').addEventListener('click', async () => {
    if (!window.confirm('Clear every flow from the viewer? The session file keeps them.')) return;
    try {
      await apiJSON('/api/flows', { method: 'DELETE' });
      clearAll();
    } catch (e) {
      showDialog('Clear', 'Could not clear: ' + e.message);
    }
  });

  let generation = 0; // bumped by a clear: pages of an older load are dropped
  function clearAll() {
    generation++;
    flows.length = 0;
    byId.clear();
    view = [];
    viewIds = [];
    navList = [];
    closeDetail();
    setFollowing(true);
    afterViewChange(true);
    refreshClients();
  }

  $('b-follow').addEventListener('click', () => setFollowing(!following));

  // click a column header to sort by it; again to reverse
  {
    const head = $('list-head');
    CELLS.forEach((k, i) => {
      const h = head.children[i];
      if (!h) return;
      h.dataset.sort = k;
      h.title = 'Sort by ' + h.textContent + ' (click again to reverse)';
    });
    head.addEventListener('click', (ev) => {
      const h = ev.target.closest('.c');
      if (!h || !h.dataset.sort || head.dataset.dragged) return;
      const k = h.dataset.sort;
      setSort(k, k === sortKey ? -sortDir : 1);
      pref('sort', sortKey + ':' + sortDir);
      clearTimeout(rebuildTimer);
      rebuildTimer = 0;
      rebuildView();
    });
    const saved = /^(\w+):(-?1)$/.exec(pref('sort') || '');
    setSort(saved && SORT_KEYS[saved[1]] ? saved[1] : 'id', saved ? +saved[2] : 1);
  }
  // Layout choices survive a reload (never data: flows stay on the server).
  function pref(k, v) {
    try {
      if (v === undefined) return localStorage.getItem('httpeek.' + k);
      localStorage.setItem('httpeek.' + k, String(v));
    } catch (e) { /* storage disabled */ }
    return null;
  }
  function setSide(show) {
    $('side').hidden = !show;
    $('b-side').classList.toggle('on', show);
    scheduleRender();
  }
  $('b-side').addEventListener('click', () => { setSide($('side').hidden); pref('side', $('side').hidden ? 0 : 1); });
  if (pref('side') === '0') setSide(false);
  const savedH = +pref('detailH');
  if (savedH >= 120) $('detail').style.height = savedH + 'px';
  for (const id of ['filter']) $(id).addEventListener('input', onFilterInput);
  for (const id of ['f-method', 'f-status', 'f-type', 'f-client', 'f-errors']) $(id).addEventListener('change', onFilterInput);
  $('f-group').addEventListener('change', () => { filter = compileFilter(); rebuildView(); });

  // drag the border between the list and the detail pane
  $('resizer').addEventListener('mousedown', (ev) => {
    ev.preventDefault();
    const detailEl = $('detail');
    const startY = ev.clientY, startH = detailEl.getBoundingClientRect().height;
    const move = (e) => {
      const h = Math.max(120, Math.min(window.innerHeight - 160, startH - (e.clientY - startY)));
      detailEl.style.height = h + 'px';
      scheduleRender();
    };
    const up = () => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      pref('detailH', Math.round(detailEl.getBoundingClientRect().height));
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Clients (issues 4 and 5) and interception rules */

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
      const name = clientNames.get(addr);
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
      const name = c.custom_name || c.ua_name || c.addr;
      if (clientNames.get(c.addr) !== name) { clientNames.set(c.addr, name); namesChanged = true; }
      // a rename (here or in another tab): the summaries we hold carry the old name
      const rowName = c.custom_name || c.ua_name || '';
      if (rowNames.has(c.addr) ? rowNames.get(c.addr) !== rowName : c.custom_name) {
        for (const s of flows) if (s.client === c.addr && rowName) s.client_name = rowName;
        rowsChanged = true;
      }
      rowNames.set(c.addr, rowName);
      if (!knownClients.has(c.addr)) { knownClients.add(c.addr); namesChanged = true; }
      box.appendChild(clientCard(c, name));
    }
    if (rowsChanged) scheduleRenderAll();
    if (namesChanged) { fillClientSelect(); if ($('f-group').checked) rebuildView(); }
  }

  function clientCard(c, name) {
    const ck = c.checklist || {};
    const card = el('div', { class: 'client' + ($('f-client').value === c.addr ? ' active' : ''), 'data-addr': c.addr });
    const nameEl = el('button', { type: 'button', class: 'client-name linkish', title: 'Show only this client\'s flows' }, name);
    nameEl.addEventListener('click', () => {
      const sel = $('f-client');
      sel.value = sel.value === c.addr ? '' : c.addr;
      for (const x of document.querySelectorAll('#clients .client')) x.classList.toggle('active', x.dataset.addr === sel.value);
      onFilterInput();
    });
    const rename = el('button', { type: 'button', class: 'small rename', title: 'Rename this client' }, 'Rename');
    rename.addEventListener('click', () => startRename(card, c, name));
    card.appendChild(el('div', { class: 'client-top' }, nameEl, rename));
    card.appendChild(el('div', { class: 'client-meta muted' },
      c.addr + (name !== c.addr && c.ua_name && c.custom_name ? ' · ' + c.ua_name : '')));
    card.appendChild(el('div', { class: 'client-counts' },
      el('span', null, c.flows + ' flow' + (c.flows === 1 ? '' : 's')),
      c.failed ? el('span', { class: 'bad' }, c.failed + ' failed') : null,
      c.refused ? el('span', { class: 'bad' }, c.refused + ' TLS refusal' + (c.refused === 1 ? '' : 's')) : null));
    const items = [
      ['proxy_reached', 'Proxy reached'],
      ['ca_downloaded', 'CA downloaded'],
      ['trusted_tls', 'First trusted TLS handshake'],
      ['app_traffic', 'App traffic seen'],
    ];
    const ul = el('ul', { class: 'checklist' });
    for (const [k, label] of items) {
      const on = !!ck[k];
      ul.appendChild(el('li', { class: 'check-item ' + (on ? 'yes' : 'no'), 'data-check': k },
        el('span', { class: 'mark' }, on ? '✓' : '✗'), ' ', label));
    }
    const refusing = ck.refusing_hosts || [];
    const li = el('li', { class: 'check-item ' + (refusing.length ? 'no' : 'yes'), 'data-check': 'refusing_hosts' },
      el('span', { class: 'mark' }, refusing.length ? '!' : '✓'), ' ',
      refusing.length ? 'Hosts refusing our certificate:' : 'No host refuses our certificate');
    if (refusing.length) li.appendChild(el('ul', { class: 'refusing' }, ...refusing.map((h) => el('li', null, h))));
    ul.appendChild(li);
    card.appendChild(ul);
    if (c.advice) card.appendChild(el('p', { class: 'advice' }, c.advice));
    return card;
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
          for (const s of flows) if (s.client === c.addr) s.client_name = nn;
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

  async function refreshPassthrough() {
    let p;
    try { p = await apiJSON('/api/passthrough'); } catch (e) { return; }
    const box = $('passthrough');
    clear(box);
    const rules = p.rules || {};
    const list = (arr, none) => arr && arr.length ? el('ul', { class: 'globs' }, ...arr.map((g) => el('li', null, g)))
      : el('p', { class: 'muted' }, none);
    box.appendChild(el('h5', null, 'Intercepted (--intercept)'));
    box.appendChild(list(rules.intercept, 'every host'));
    box.appendChild(el('h5', null, 'Passed through (--passthrough)'));
    box.appendChild(list(rules.passthrough, 'none'));
    box.appendChild(el('h5', null, 'Automatic passthrough'));
    box.appendChild(list(p.auto, 'none: no host refused httpeek\'s certificate repeatedly'));
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

  /* ------------------------------------------------------------------------------------------ */
  /* Live updates and loading */

  let es = null;
  function connectEvents() {
    es = new EventSource(api('/api/events'));
    const live = $('st-live');
    es.addEventListener('open', () => { live.className = 'live on'; live.textContent = '● live'; });
    es.addEventListener('error', () => { live.className = 'live off'; live.textContent = '○ reconnecting'; });
    es.addEventListener('flows', (ev) => {
      let list;
      try { list = JSON.parse(ev.data); } catch (e) { return; }
      addFlows(list);
      clientsChanged();
    });
    es.addEventListener('cleared', () => clearAll());
    es.addEventListener('clients', clientsChanged);
  }

  // The first page is preloaded by index.html (same URL, no token: the cookie set with the page
  // covers it); when that is refused, ask again with the token.
  async function firstPage() {
    const r = await fetch('/api/flows?after=0&limit=' + FIRST_PAGE);
    if (r.ok) return r.json();
    return apiJSON('/api/flows?after=0&limit=' + FIRST_PAGE);
  }

  async function loadAll() {
    const t0 = performance.now();
    let after = 0, limit = FIRST_PAGE, total = 0;
    const gen = generation;
    setText($('st-load'), 'loading…');
    try {
      for (;;) {
        const page = after === 0 ? await firstPage() : await apiJSON('/api/flows?after=' + after + '&limit=' + limit);
        if (!Array.isArray(page) || gen !== generation) break;
        addFlows(page);
        total += page.length;
        if (after === 0) {
          // the clients panel asks the server for per-client counts over the whole session:
          // only once the first screen is on its way
          refreshClients();
          refreshPassthrough();
        }
        if (page.length) after = page[page.length - 1].id;
        if (page.length < limit) break;
        limit = PAGE;
        setText($('st-load'), 'loading… ' + total + ' flows');
        await new Promise((r) => setTimeout(r, 0)); // let the first screen paint
      }
      setText($('st-load'), '');
    } catch (e) {
      setText($('st-load'), 'loading failed: ' + e.message);
    }
    loading = false;
    $('list-empty').hidden = view.length > 0;
    try { performance.mark('httpeek-all-loaded'); } catch (e) { /* old browser */ }
    document.body.dataset.loaded = String(Math.round(performance.now() - t0));
  }

  // version and session in the status bar; the empty list says how to connect a device
  async function loadInfo() {
    let info;
    try { info = await apiJSON('/api/info'); } catch (e) { return; }
    if (!info || typeof info !== 'object') return;
    const sess = String(info.session || '').split('/').pop();
    setText($('st-info'), 'httpeek ' + String(info.version || '') + (sess ? ' · ' + sess : ''));
    $('st-info').title = String(info.session || '');
    if (info.proxy) {
      const box = $('list-empty');
      clear(box);
      box.appendChild(el('p', null, 'No flows yet.'));
      box.appendChild(el('p', null, 'Point your device\'s HTTP proxy at ', el('code', { class: 'proxy-addr' }, String(info.proxy)),
        ', then open ', el('code', null, 'http://httpeek.test/'), ' on it to install the CA.'));
      if (info.setup_url) box.appendChild(el('p', { class: 'muted' }, 'Setup page: ', el('code', null, String(info.setup_url))));
    }
  }

  connectEvents();
  loadAll();
  loadInfo();
  window.httpeekViewer = { flows, byId, get view() { return view; }, get viewIds() { return viewIds; }, select };
})();
