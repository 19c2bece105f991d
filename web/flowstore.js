/* flowstore.js — the flows the viewer holds, pure (no DOM; node --test imports it): every
 * summary once in `flows` (sorted by id) and `byId`; `view` is what the filter lets through, in
 * the chosen sort order (plus {group} header items when grouping by client); `viewIds` the flows
 * of the view in order (counts, HAR); `navList` the flow items of the view (keyboard).
 * The filter language: words match the URL; terms host: method: status: type: client: app:
 * is: warning: code: url: path:; a leading "-" negates; body and header terms go to the server
 * (search.js) through the serverSearch function the caller gives. */
import { mimeShort, mimeCat } from './util.js';
import { pathText, clientLabel } from './rows.js';
import { warnTerm } from './warnings.js';
import { splitQuery } from './search.js';

function isError(s) { return !!s.failed || s.status >= 400; }
function isWarning(s) { return !s.failed && !!s.warn_code; }
function lowerUrl(s) {
  if (s._u === undefined) s._u = (s.url || '').toLowerCase();
  return s._u;
}
function statusTest(v) {
  if (v === 'warning' || v === 'warnings' || v === 'warn') return isWarning;
  if (v === 'failed' || v === 'error' || v === 'failure') return (s) => !!s.failed;
  const m = /^([1-5])xx$/.exec(v);
  if (m) { const d = +m[1]; return (s) => !s.failed && Math.floor(s.status / 100) === d; }
  if (/^\d+$/.test(v)) { const n = +v; return (s) => s.status === n; }
  return () => true;
}

/* The filter as a predicate over summaries, or null when it lets everything through.
 * f: {text, method, status, type, client, errors}; serverSearch(query) → {has(id)} or null
 * (body and header terms; called with '' when there are none; omitted: they are ignored). */
function compileFilter(f, serverSearch) {
  const tests = [];
  const { local, server } = splitQuery((f.text || '').trim());
  const srv = serverSearch ? serverSearch(server) : null; // '' stops a search no longer asked for
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
      else if (key === 'warning' || key === 'code') t = warnTerm(key, v);
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
  if (f.method) tests.push((s) => s.method === f.method);
  if (f.status) tests.push(statusTest(f.status));
  if (f.type) tests.push((s) => mimeCat(s.mime) === f.type);
  if (f.client) tests.push((s) => s.client === f.client);
  if (f.errors) tests.push(isError);
  if (!tests.length) return null;
  return (s) => {
    for (const t of tests) if (!t(s)) return false;
    return true;
  };
}

/* Sorting: by a column, ascending or descending, the id breaking ties (a total order, so a
 * binary search finds any row). The default, id ascending, is the order flows arrive in. */
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

function lowerBound(arr, id) {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid].id < id) lo = mid + 1; else hi = mid;
  }
  return lo;
}

class FlowStore {
  constructor() {
    this.flows = [];
    this.byId = new Map();
    this.view = [];
    this.viewIds = [];
    this.navList = [];
    this.filter = null;          // predicate from compileFilter, or null
    this.grouped = false;        // group by client
    this.collapsed = new Set();  // client groups folded
    this.clientNames = new Map(); // addr → display name
    this.sortKey = 'id';
    this.sortDir = 1;
  }

  idAsc() { return this.sortKey === 'id' && this.sortDir === 1; }
  setSort(key, dir) {
    if (!SORT_KEYS[key]) return false;
    this.sortKey = key;
    this.sortDir = dir < 0 ? -1 : 1;
    return true;
  }
  cmp(a, b) {
    const f = SORT_KEYS[this.sortKey];
    const x = f(a), y = f(b);
    if (x < y) return -this.sortDir;
    if (x > y) return this.sortDir;
    return (a.id - b.id) * this.sortDir;
  }
  // decorate, sort, undecorate: each key is computed once per flow (100k flows ≈ tens of ms)
  sortList(list) {
    if (this.sortKey === 'id') { if (this.sortDir < 0) list.reverse(); return list; }
    const f = SORT_KEYS[this.sortKey], dir = this.sortDir;
    const dec = new Array(list.length);
    for (let i = 0; i < list.length; i++) dec[i] = { k: f(list[i]), s: list[i] };
    dec.sort((a, b) => (a.k < b.k ? -dir : a.k > b.k ? dir : (a.s.id - b.s.id) * dir));
    for (let i = 0; i < list.length; i++) list[i] = dec[i].s;
    return list;
  }
  sortedIndex(arr, s) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(arr[mid], s) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  // new summaries into a sorted view: one at a time by binary search, or one merge for a burst
  mergeSorted(arr, fresh) {
    if (fresh.length <= 32) {
      for (const s of fresh) arr.splice(this.sortedIndex(arr, s), 0, s);
      return arr;
    }
    this.sortList(fresh);
    const out = new Array(arr.length + fresh.length);
    let i = 0, j = 0, k = 0;
    while (i < arr.length && j < fresh.length) out[k++] = this.cmp(arr[i], fresh[j]) <= 0 ? arr[i++] : fresh[j++];
    while (i < arr.length) out[k++] = arr[i++];
    while (j < fresh.length) out[k++] = fresh[j++];
    return out;
  }
  matches(s) { return !this.filter || this.filter(s); }

  // Rebuild view from flows (filter, sort or grouping changed).
  rebuild() {
    let list = this.filter ? this.flows.filter(this.filter) : this.flows.slice();
    if (!this.idAsc()) this.sortList(list);
    this.viewIds = list;
    if (this.grouped) {
      const groups = new Map();
      for (const s of list) {
        const k = s.client || '';
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(s);
      }
      const out = [];
      for (const k of [...groups.keys()].sort()) {
        const g = groups.get(k);
        let failed = 0;
        for (const s of g) if (s.failed) failed++;
        out.push({ group: k, count: g.length, failed, label: this.clientNames.get(k) || clientLabel(g[0]) || k || '(unknown)' });
        if (!this.collapsed.has(k)) for (const s of g) out.push(s);
      }
      list = out;
    }
    this.view = list;
    this.navList = this.grouped ? list.filter((x) => x.group === undefined) : list;
  }

  /* Add summaries (any order; one already held takes the news: a WebSocket's messages or end).
   * Returns {added, updated}. Grouped, the view is left for the caller to rebuild (a burst
   * of flows then costs one rebuild). */
  add(list) {
    let added = 0, updated = 0;
    if (!list || !list.length) return { added, updated };
    const byIdAsc = this.idAsc();
    const fresh = []; // matching new summaries when the list is sorted by another column
    for (const s of list) {
      if (s && this.byId.has(s.id)) { Object.assign(this.byId.get(s.id), s); updated++; continue; }
      if (!s || typeof s.id !== 'number') continue;
      this.byId.set(s.id, s);
      const fl = this.flows;
      if (!fl.length || fl[fl.length - 1].id < s.id) fl.push(s);
      else fl.splice(lowerBound(fl, s.id), 0, s);
      added++;
      if (!this.grouped && this.matches(s)) {
        if (!byIdAsc) { fresh.push(s); continue; }
        const v = this.view;
        if (!v.length || v[v.length - 1].id < s.id) v.push(s);
        else v.splice(lowerBound(v, s.id), 0, s);
      }
    }
    if (added && !this.grouped) {
      if (fresh.length) this.view = this.mergeSorted(this.view, fresh);
      this.viewIds = this.navList = this.view;
    }
    return { added, updated };
  }

  clear() {
    this.flows.length = 0;
    this.byId.clear();
    this.view = [];
    this.viewIds = [];
    this.navList = [];
  }

  // the index in view of flow id (-1: not shown)
  rowIndexOf(id) {
    if (!this.grouped) {
      const s = this.byId.get(id);
      if (!s) return -1;
      const v = this.view;
      const i = this.idAsc() ? lowerBound(v, id) : this.sortedIndex(v, s);
      if (i < v.length && v[i].id === id) return i;
      return this.idAsc() ? -1 : v.indexOf(s); // a rename can leave a client sort stale
    }
    return this.view.findIndex((x) => x.id === id && x.group === undefined);
  }

  // the flow delta rows away from id in navList (clamped); id 0 or not shown: from an end
  step(id, delta) {
    const nav = this.navList;
    if (!nav.length) return 0;
    let i = id ? nav.findIndex((s) => s.id === id) : -1;
    if (i < 0) i = delta > 0 ? -1 : nav.length;
    i = Math.max(0, Math.min(nav.length - 1, i + delta));
    return nav[i].id;
  }
}

export { FlowStore, compileFilter, statusTest, isError, isWarning, SORT_KEYS, lowerBound };
