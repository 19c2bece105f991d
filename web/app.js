/* app.js — httpeek's viewer: one page, no framework, nothing loaded from elsewhere.
 *
 * Data flow: /api/events (server-sent events) is opened first, then /api/flows is paged in
 * (2,000 summaries for the first screen, then bigger pages in the background); "flows" events
 * add summaries as the store commits them. Every summary lives once in `flows` (sorted by id)
 * and `byId`; `view` is what the filter lets through (plus group headers when grouping by
 * client). The list is virtual: a fixed row height, a spacer for the scroll range and a small
 * pool of row elements repainted from `view` on scroll, so 100,000 flows cost one array.
 *
 * This file holds the list, the filter, the detail pane's frame and loading; the tabs' content,
 * the side panel, the layout, search and actions are in the other web/*.js files (util.js loads
 * first and publishes window.HP; this file loads last and takes from it).
 *
 * Everything captured is untrusted: it reaches the DOM only through textContent, attribute
 * setters and <img src> to our own body URL (served under a sandbox CSP). Never innerHTML. */
'use strict';

(function () {
  const ROW_H = 22;            // px, must match .row height in style.css
  const FIRST_PAGE = 2000;     // summaries for the first screen
  const PAGE = 10000;          // summaries per background page
  const FILTER_DEBOUNCE_MS = 120;
  // from the other web/*.js files (index.html loads them first)
  const { $, el, append, clear, api, apiJSON, fmtSize, fmtMs, mimeShort, mimeCat, header, statusClass, pref, setText,
    fmtClock, statusText, pathText, clientLabel, clientText, renderOverview, renderTLS, renderBody, bodyCache, renderRaw,
    renderHeaders, renderQuery, renderCookies, curlCommand, copyText, showDialog, stamp, saveBlob } = window.HP;


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
    // body and header terms go to the server (search.js); the rest is filtered here
    const { local, server } = HP.splitQuery(text);
    const srv = HP.serverSearch(server, onSearchProgress);
    if (srv) tests.push((s) => srv.has(s.id));
    for (let tok of local) {
      let neg = false;
      if (tok.length > 1 && tok[0] === '-') { neg = true; tok = tok.slice(1); }
      tok = tok.replace(/"/g, '');
      const m = /^(host|method|status|type|mime|client|app|is|url|path|warning|code):(.*)$/i.exec(tok);
      let t;
      if (m) {
        const key = m[1].toLowerCase();
        const v = m[2].toLowerCase();
        if (key === 'host') t = (s) => (s.host || '').toLowerCase().includes(v);
        else if (key === 'method') t = (s) => (s.method || '').toLowerCase() === v;
        else if (key === 'status') t = statusTest(v);
        else if (key === 'type' || key === 'mime') t = (s) => mimeCat(s.mime) === v || (s.mime || '').toLowerCase().includes(v);
        else if (key === 'client') t = (s) => clientLabel(s).toLowerCase().includes(v) || (s.client || '').includes(v);
        else if (key === 'app') t = (s) => (s.app || '').toLowerCase().includes(v);
        else if (key === 'warning' || key === 'code') t = HP.warnTerm(key, v);
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

  // the server found more matches (or finished): show them
  function onSearchProgress() {
    clearTimeout(rebuildTimer);
    rebuildTimer = 0;
    rebuildView();
  }

  let filterTimer = 0;
  function onFilterInput() {
    // where the detail covers the list (a phone-sized window), filtering shows the list again
    if (!$('detail').hidden && matchMedia('(max-width: 699px)').matches) closeDetail();
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
    start: (s) => s.started || '',
    method: (s) => s.method || '',
    host: (s) => (s.host || '') + ':' + String(s.port || 0).padStart(5, '0'),
    path: (s) => pathText(s),
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
    let updated = 0;
    for (const s of list) {
      // a flow sent again (a WebSocket's messages or end): the summary we hold takes its news
      if (s && byId.has(s.id)) { Object.assign(byId.get(s.id), s); updated++; continue; }
      if (!s || typeof s.id !== 'number') continue;
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
    if (updated) scheduleRenderAll();
    if (!added) return;
    if (fresh.length) view = mergeSorted(view, fresh);
    if (grouped) scheduleRebuild(200);
    else viewIds = navList = view;
    noteClients(list);
    HP.searchMore();
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
    updateEmpty();
    if (following) scrollToBottom();
    else if (reset && selectedId) ensureVisible(selectedId);
    updateCounts();
    scheduleRender();
  }

  // An empty list says why: no flows at all (how to connect a device), or a filter that lets
  // none through (with a way out).
  function updateEmpty() {
    const none = !view.length && !loading;
    $('list-empty').hidden = !none || flows.length > 0;
    $('list-nomatch').hidden = !none || !flows.length;
  }
  function clearFilter() {
    $('filter').value = '';
    for (const id of ['f-method', 'f-status', 'f-type', 'f-client']) $(id).value = '';
    $('f-errors').checked = false;
    clearTimeout(filterTimer);
    filter = compileFilter();
    rebuildView();
    for (const x of document.querySelectorAll('#clients .client')) x.classList.remove('active');
  }
  $('b-clearfilter').addEventListener('click', clearFilter);

  function scrollToBottom() {
    const max = view.length * ROW_H - listEl.clientHeight;
    if (max > 0 && listEl.scrollTop < max) listEl.scrollTop = max;
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }

  const CELLS = ['id', 'start', 'method', 'host', 'path', 'status', 'type', 'size', 'time', 'client'];

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
      (s.kind === 'tunnel' || s.failed_before_tls ? ' tunnel' : '');
    r.dataset.id = s.id;
    setText(c.id, String(s.id));
    setText(c.start, fmtClock(s.started));
    c.start.title = s.started || '';
    setText(c.method, s.method || '');
    setText(c.host, s.host + (s.port && s.port !== (s.scheme === 'https' || s.kind === 'tunnel' ? 443 : 80) ? ':' + s.port : ''));
    setText(c.path, pathText(s));
    setText(c.status, statusText(s));
    const wb = HP.warnBadge(s); // ATS or app-level warning: an amber badge drawn by CSS from data-warn
    if ((c.status.dataset.warn || '') !== wb) { if (wb) c.status.dataset.warn = wb; else delete c.status.dataset.warn; }
    c.status.title = s.failed ? s.error || '' : wb ? 'warning ' + wb + ' (see the Overview tab)' : '';
    c.path.title = s.url || '';
    setText(c.type, mimeShort(s.mime));
    setText(c.size, s.failed && !s.resp_size ? '' : fmtSize(s.resp_size));
    setText(c.time, fmtMs(s.duration_ms));
    setText(c.client, clientText(s));
    c.client.title = (s.client || '') + (s.app ? ' · app ' + s.app + (s.ua ? ' (' + s.ua + ')' : '') : '');
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
  // a link in the detail pane to another flow (overview.js: related flows, a warning's flow)
  document.addEventListener('hp-open-flow', (e) => select(e.detail));
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
    $('tab-messages').hidden = !d.ws; // a WebSocket's messages (messages.js)
    showTab(tab === 'messages' && !d.ws ? 'overview' : tab);
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
    else if (name === 'raw') box.appendChild(renderRaw(d));
    else if (name === 'messages') box.appendChild(window.HP.renderMessages(d)); // messages.js
  }
  $('tabs').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (b && b.dataset.tab) showTab(b.dataset.tab);
  });
  $('b-close').addEventListener('click', closeDetail);

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
  /* ------------------------------------------------------------------------------------------ */
  /* Actions */

  $('b-curl').addEventListener('click', async () => {
    if (!detail) return;
    let cmd;
    try { cmd = await curlCommand(detail); } catch (e) { showDialog('Copy as curl', 'Could not build the command: ' + e.message); return; }
    const ok = await copyText(cmd);
    showDialog('Copy as curl', ok ? 'Copied to the clipboard.' : 'Copy it from here (the clipboard is not available).', cmd);
  });

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
  for (const id of ['filter']) $(id).addEventListener('input', onFilterInput);
  for (const id of ['f-method', 'f-status', 'f-type', 'f-client', 'f-errors']) $(id).addEventListener('change', onFilterInput);
  $('f-group').addEventListener('change', () => { filter = compileFilter(); rebuildView(); });


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
      const name = HP.clientDisplayName(c);
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
    return HP.clientCard(c, name, {
      active: $('f-client').value === c.addr, appFailures: HP.appFailureCount(flows, c.addr),
      onPick: () => {
        const sel = $('f-client');
        sel.value = sel.value === c.addr ? '' : c.addr;
        for (const x of document.querySelectorAll('#clients .client')) x.classList.toggle('active', x.dataset.addr === sel.value);
        onFilterInput();
      },
      onRename: (card) => startRename(card, c, name),
    });
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

  const refreshPassthrough = HP.refreshPassthrough;

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
    if (window.httpeekRecording) window.httpeekRecording.watch(es); // recording.js: the banner
    if (window.HP.watchBreakpoints) window.HP.watchBreakpoints(es); // breakpoints.js: pauses
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
    updateEmpty();
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
      // a phone can only use an address it can reach: never tell it 127.0.0.1 or 0.0.0.0
      if (info.phone_proxy) {
        box.appendChild(el('p', null, 'Point your device\'s HTTP proxy at ', el('code', { class: 'proxy-addr' }, String(info.phone_proxy)),
          ', then open ', el('code', null, 'http://httpeek.test/'), ' on it to install the CA.'));
      } else if (info.loopback_only) {
        box.appendChild(el('p', { class: 'warn' }, 'httpeek listens on loopback only (', el('code', { class: 'proxy-addr' }, String(info.proxy)),
          '): only this machine can use it (curl, a simulator). For a phone, restart with ', el('code', null, '--listen 0.0.0.0:PORT'), '.'));
      } else {
        box.appendChild(el('p', null, 'Point your device\'s HTTP proxy at this machine\'s network address (', el('code', { class: 'proxy-addr' }, String(info.proxy)),
          '), then open ', el('code', null, 'http://httpeek.test/'), ' on it to install the CA.'));
      }
      if (info.setup_url) box.appendChild(el('p', { class: 'muted' }, 'Setup page: ', el('code', null, String(info.setup_url))));
    }
  }

  connectEvents();
  loadAll();
  loadInfo();
  window.httpeekViewer = { flows, byId, get view() { return view; }, get viewIds() { return viewIds; }, select };
})();
