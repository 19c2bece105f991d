// flowstore.test.mjs — web/flowstore.js without a browser: the filter language and the store's
// view (order, sorting, grouping, navigation), imported from the very file the viewer loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowStore, compileFilter } from '../../../web/flowstore.js';

const F = [
  { id: 1, method: 'GET', host: 'api.example.com', port: 443, scheme: 'https', url: 'https://api.example.com/v1/items?q=1', path: '/v1/items?q=1', status: 200, mime: 'application/json', client: '10.0.0.2', resp_size: 900, duration_ms: 30 },
  { id: 2, method: 'POST', host: 'api.example.com', port: 443, scheme: 'https', url: 'https://api.example.com/v1/login', path: '/v1/login', status: 401, mime: 'application/json', client: '10.0.0.3', resp_size: 40, duration_ms: 80 },
  { id: 3, method: 'GET', host: 'cdn.example.net', port: 80, scheme: 'http', url: 'http://cdn.example.net/logo.png', path: '/logo.png', status: 200, mime: 'image/png', client: '10.0.0.2', resp_size: 5000, duration_ms: 10 },
  { id: 4, method: 'GET', host: 'nothere.invalid', port: 80, scheme: 'http', url: 'http://nothere.invalid/x', path: '/x', failed: true, diag_code: -1003, client: '10.0.0.3', duration_ms: 2 },
  { id: 5, method: 'GET', host: 'api.example.com', port: 443, scheme: 'https', url: 'https://api.example.com/v1/Search Term', path: '/v1/Search Term', status: 503, mime: 'text/html', client: '10.0.0.2', warn_code: -1022, warn_kinds: ['ats'], duration_ms: 300 },
];
const copy = () => F.map((s) => ({ ...s }));
const ids = (pred) => copy().filter(pred || (() => true)).map((s) => s.id);
const pick = (f, search) => { const p = compileFilter(f, search); return p ? ids(p) : ids(); };

test('an empty filter lets everything through (null)', () => {
  assert.equal(compileFilter({ text: '  ' }), null);
  assert.equal(compileFilter({}), null);
});

test('words match the URL, case-insensitive; quotes keep spaces', () => {
  assert.deepEqual(pick({ text: 'LOGIN' }), [2]);
  assert.deepEqual(pick({ text: 'v1 items' }), [1]);
  assert.deepEqual(pick({ text: '"search term"' }), [5]);
});

test('host:, method:, status:, type:, is:, client:, and a leading "-" negates', () => {
  assert.deepEqual(pick({ text: 'host:api' }), [1, 2, 5]);
  assert.deepEqual(pick({ text: '-host:api' }), [3, 4]);
  assert.deepEqual(pick({ text: 'method:post' }), [2]);
  assert.deepEqual(pick({ text: 'status:4xx' }), [2]);
  assert.deepEqual(pick({ text: 'status:5xx' }), [5]);
  assert.deepEqual(pick({ text: 'status:failed' }), [4]);
  assert.deepEqual(pick({ text: 'status:200' }), [1, 3]);
  assert.deepEqual(pick({ text: 'type:image' }), [3]);
  assert.deepEqual(pick({ text: 'is:failed' }), [2, 4, 5], 'is:failed: failed or 4xx/5xx');
  assert.deepEqual(pick({ text: 'is:warning' }), [5]);
  assert.deepEqual(pick({ text: 'client:10.0.0.3' }), [2, 4]);
  assert.deepEqual(pick({ text: 'host:api -status:2xx' }), [2, 5], 'terms combine with and');
});

test('the filter bar fields: method, status class, type, client, errors only', () => {
  assert.deepEqual(pick({ method: 'GET' }), [1, 3, 4, 5]);
  assert.deepEqual(pick({ status: '2xx' }), [1, 3]);
  assert.deepEqual(pick({ status: 'warning' }), [5]);
  assert.deepEqual(pick({ type: 'json' }), [1, 2]);
  assert.deepEqual(pick({ client: '10.0.0.2' }), [1, 3, 5]);
  assert.deepEqual(pick({ errors: true }), [2, 4, 5]);
  assert.deepEqual(pick({ text: 'host:api', errors: true, method: 'POST' }), [2]);
});

test('body and header terms go to the server search; the rest stays local', () => {
  const asked = [];
  const search = (q) => { asked.push(q); return q ? { has: (id) => id === 2 || id === 3 } : null; };
  assert.deepEqual(pick({ text: 'body:token host:api' }, search), [2]);
  assert.deepEqual(asked, ['body:token']);
  pick({ text: 'host:api' }, search);
  assert.equal(asked[1], '', 'without a server term the search is told to stop');
  assert.deepEqual(pick({ text: '~b secret' }, search), [2, 3], 'mitmproxy ~b TEXT is a server term');
});

test('add: any order, duplicates update the summary held, the view stays sorted by id', () => {
  const st = new FlowStore();
  const fl = copy();
  assert.deepEqual(st.add([fl[2], fl[0]]), { added: 2, updated: 0 });
  st.add([fl[4], fl[1], fl[3]]);
  assert.deepEqual(st.flows.map((s) => s.id), [1, 2, 3, 4, 5]);
  assert.deepEqual(st.view.map((s) => s.id), [1, 2, 3, 4, 5]);
  assert.deepEqual(st.add([{ id: 3, status: 304 }]), { added: 0, updated: 1 });
  assert.equal(st.byId.get(3).status, 304);
  assert.equal(st.byId.get(3).host, 'cdn.example.net', 'the news is merged, not replaced');
  assert.deepEqual(st.add([null, { id: 'x' }]), { added: 0, updated: 0 }, 'junk is ignored');
});

test('a filter applies to flows added later', () => {
  const st = new FlowStore();
  st.filter = compileFilter({ text: 'host:api' });
  st.add(copy());
  assert.deepEqual(st.view.map((s) => s.id), [1, 2, 5]);
  assert.deepEqual(st.viewIds.map((s) => s.id), [1, 2, 5]);
});

test('sorting by a column, reversed, with new flows merged into place (one by one and a burst)', () => {
  const st = new FlowStore();
  st.setSort('time', -1);
  st.add(copy());
  st.rebuild();
  assert.deepEqual(st.view.map((s) => s.id), [5, 2, 1, 3, 4]);
  st.add([{ id: 6, url: 'http://a/', duration_ms: 50 }]);
  assert.deepEqual(st.view.map((s) => s.id), [5, 2, 6, 1, 3, 4]);
  const burst = [];
  for (let i = 7; i < 60; i++) burst.push({ id: i, url: 'http://b/', duration_ms: i });
  st.add(burst);
  const times = st.view.map((s) => s.duration_ms);
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'a burst of 53 is merged in order');
  assert.equal(st.rowIndexOf(6), st.view.findIndex((s) => s.id === 6));
  assert.equal(st.setSort('nosuch', 1), false);
  st.setSort('status', 1);
  st.rebuild();
  assert.equal(st.view[0].id, 4, 'failed sorts before any status');
});

test('grouping by client: a header per client, folding one hides its flows, navigation skips headers', () => {
  const st = new FlowStore();
  st.add(copy());
  st.grouped = true;
  st.clientNames.set('10.0.0.3', 'iPhone');
  st.rebuild();
  assert.deepEqual(st.view.map((x) => (x.group !== undefined ? 'g:' + x.label + ':' + x.count : x.id)),
    ['g:10.0.0.2:3', 1, 3, 5, 'g:iPhone:2', 2, 4]);
  assert.equal(st.view[4].failed, 1);
  assert.deepEqual(st.navList.map((s) => s.id), [1, 3, 5, 2, 4]);
  assert.equal(st.step(5, 1), 2, 'the next flow after a group header');
  st.collapsed.add('10.0.0.2');
  st.rebuild();
  assert.deepEqual(st.view.map((x) => (x.group !== undefined ? 'g' : x.id)), ['g', 'g', 2, 4]);
  assert.equal(st.rowIndexOf(4), 3);
  assert.equal(st.rowIndexOf(1), -1);
});

test('step: from nothing, clamped at both ends', () => {
  const st = new FlowStore();
  assert.equal(st.step(0, 1), 0, 'an empty list has no next flow');
  st.add(copy());
  assert.equal(st.step(0, 1), 1);
  assert.equal(st.step(0, -1), 5);
  assert.equal(st.step(2, 10), 5);
  assert.equal(st.step(2, -10), 1);
  st.clear();
  assert.equal(st.flows.length + st.view.length + st.byId.size, 0);
});
