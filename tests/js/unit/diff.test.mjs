// diff.test.mjs — web/diff.js, what Compare shows: heads, headers, text lines, JSON paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffHeaders, diffHeads, diffLines, diffJSON, diffBodies } from '../../../web/diff.js';

const H = (...pairs) => pairs.map(([name, value]) => ({ name, value }));

test('headers: same, changed, added, removed; names case-insensitive; repeated values in order', () => {
  const r = diffHeaders(
    H(['Host', 'a'], ['Accept', '*/*'], ['X-Dup', 'one'], ['X-Dup', 'two'], ['Cookie', 's=1']),
    H(['host', 'a'], ['X-Dup', 'two'], ['X-Dup', 'one'], ['Cookie', 's=2'], ['X-New', 'n']));
  const by = Object.fromEntries(r.map((x) => [x.name.toLowerCase(), x]));
  assert.equal(by.host.kind, 'same');
  assert.equal(by.accept.kind, 'removed');
  assert.deepEqual(by['x-dup'], { name: 'X-Dup', left: ['one', 'two'], right: ['two', 'one'], kind: 'changed' });
  assert.equal(by.cookie.kind, 'changed');
  assert.equal(by['x-new'].kind, 'added');
  assert.deepEqual(r.map((x) => x.name), ['Host', 'Accept', 'X-Dup', 'Cookie', 'X-New'], 'left order, then the new ones');
  assert.deepEqual(diffHeaders(undefined, []), []);
});

test('head fields: method, URL, status and protocol compared', () => {
  const a = { method: 'GET', url: 'http://a/x', status: 200, request: { http_version: 'HTTP/1.1' }, response: { reason: 'OK', http_version: 'HTTP/1.1' } };
  const b = { method: 'GET', url: 'http://a/y', failed: true, diagnosis: { code: -1001 }, request: { http_version: 'HTTP/2' } };
  const r = Object.fromEntries(diffHeads(a, b).map((f) => [f.name, f]));
  assert.equal(r.Method.same, true);
  assert.equal(r.URL.same, false);
  assert.deepEqual([r.Status.left, r.Status.right], ['200 OK', 'failed -1001']);
  assert.equal(r['Request protocol'].same, false);
});

test('text: a line changed in the middle, lines added at the end, CRLF the same as LF', () => {
  assert.deepEqual(diffLines('a\nb\nc\n', 'a\nB\nc\nd\n'), [
    { op: ' ', text: 'a' }, { op: '-', text: 'b' }, { op: '+', text: 'B' }, { op: ' ', text: 'c' }, { op: '+', text: 'd' }]);
  assert.deepEqual(diffLines('x\r\ny', 'x\ny'), [{ op: ' ', text: 'x' }, { op: ' ', text: 'y' }]);
  assert.deepEqual(diffLines('', 'n'), [{ op: '+', text: 'n' }]);
  // the common subsequence is kept even when lines move
  const r = diffLines('1\n2\n3\n4\n5', '0\n1\n3\n4\n6\n5');
  assert.deepEqual(r.filter((l) => l.op === ' ').map((l) => l.text), ['1', '3', '4', '5']);
  assert.deepEqual(r.filter((l) => l.op !== ' ').map((l) => l.op + l.text).sort(), ['+0', '+6', '-2']);
});

test('text: a huge change is shown replaced whole rather than hanging', () => {
  const a = Array.from({ length: 3000 }, (_, i) => 'a' + i).join('\n');
  const b = Array.from({ length: 3000 }, (_, i) => 'b' + i).join('\n');
  const t0 = Date.now();
  const r = diffLines(a, b);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(r.length, 6000);
});

test('JSON: changed, added, removed paths; arrays by index; odd keys quoted', () => {
  const a = { user: { name: 'Ann', plan: 'free', tags: ['a', 'b'] }, 'a key': 1, n: null, same: [1, { x: 1 }] };
  const b = { user: { name: 'Ann', plan: 'pro', tags: ['a'], since: 2020 }, 'a key': 2, n: 0, same: [1, { x: 1 }] };
  assert.deepEqual(diffJSON(a, b), [
    { path: '$.user.plan', kind: 'changed', left: 'free', right: 'pro' },
    { path: '$.user.tags[1]', kind: 'removed', left: 'b' },
    { path: '$.user.since', kind: 'added', right: 2020 },
    { path: '$["a key"]', kind: 'changed', left: 1, right: 2 },
    { path: '$.n', kind: 'changed', left: null, right: 0 },
  ]);
  assert.deepEqual(diffJSON([1], { 0: 1 }), [{ path: '$', kind: 'changed', left: [1], right: { 0: 1 } }], 'an array is not an object');
  assert.deepEqual(diffJSON({ a: 1 }, { a: 1 }), []);
});

test('bodies: JSON structurally, text by lines, equal, not text', () => {
  const j = diffBodies('{"a":1,"b":[1,2]}', '{\n  "a": 1,\n  "b": [1, 3]\n}');
  assert.equal(j.kind, 'json');
  assert.deepEqual(j.changes, [{ path: '$.b[1]', kind: 'changed', left: 2, right: 3 }]);
  assert.equal(diffBodies('{"a":1}', '{"a":1}').kind, 'same');
  assert.equal(diffBodies('', '').kind, 'same');
  assert.equal(diffBodies('hello', 'hullo').kind, 'text');
  assert.equal(diffBodies('{"a":1}', 'not json').kind, 'text');
  assert.equal(diffBodies(null, 'x').kind, 'binary');
  assert.equal(diffBodies('', '{"a":1}').kind, 'text', 'an absent body against JSON is a text diff');
});
