// copyas.test.mjs — web/copyas.js with awkward values: quotes of every kind, newlines, control
// bytes, "$" and "\(" (templates in Kotlin and Swift), a header value starting with "=", repeated
// headers and a binary body. The shell commands are run by bash (argv checked byte for byte);
// the fetch snippet is run by node with fetch stubbed; Swift and Kotlin literals are checked
// against their escapes (no compiler on the test machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { requestModel, curl, httpie, swift, okhttp, fetchJs, swiftString, kotlinString, FORMATS } from '../../../web/copyas.js';

const AWKWARD = 'it\'s "quoted" $HOME `id` \\(x) \\n\n2nd line\ttab\x01ctl';
const enc = (s) => new TextEncoder().encode(s);
const BIN = new Uint8Array(256).map((_, i) => i);

function detail(headers, extra) {
  return Object.assign({
    id: 7, method: 'POST', url: 'https://api.example.com/v1/items?q=a%20b&x=\'1\'',
    request: { headers: headers.map(([name, value]) => ({ name, value })), body_captured: 1, body_size: 10 },
  }, extra || {});
}
const HEADERS = [['Host', 'api.example.com'], ['Content-Type', 'application/json'], ['X-Awk', AWKWARD],
  ['X-Eq', '=starts-with-equals'], ['X-Dup', 'one'], ['X-Dup', 'two'], ['Connection', 'keep-alive'], ['Content-Length', '10']];
const JSON_BODY = '{"name":"it\'s \\"x\\"","note":"$a\\n"}';

// what bash passes to the command: the argv, each element exact
function argv(cmd, name) {
  const script = 'args() { for a; do printf "%s\\0" "$a"; done; }\n' + cmd.replace(new RegExp('^' + name + ' ', 'm'), 'args ');
  return execFileSync('bash', ['-c', script]).toString('utf8').split('\0').slice(0, -1);
}

test('the model drops hop-by-hop headers and a Host the URL already says, keeps repeats in order', () => {
  const m = requestModel(detail(HEADERS), enc(JSON_BODY));
  assert.deepEqual(m.headers.map(([n]) => n), ['Content-Type', 'X-Awk', 'X-Eq', 'X-Dup', 'X-Dup']);
  assert.equal(m.text, JSON_BODY);
  assert.equal(m.bytes, null);
  const b = requestModel(detail(HEADERS), BIN);
  assert.equal(b.text, null);
  assert.equal(b.bytes, BIN);
  const nc = requestModel(detail([], { request: { headers: [], body_size: 5000, body_captured: 0 } }), null);
  assert.match(nc.notes[0], /was not captured/);
});

test('curl: bash hands curl every header and the body byte for byte', () => {
  const cmd = curl(requestModel(detail(HEADERS), enc(JSON_BODY)));
  const a = argv(cmd, 'curl');
  assert.deepEqual(a, ['-X', 'POST', 'https://api.example.com/v1/items?q=a%20b&x=\'1\'',
    '-H', 'Content-Type: application/json', '-H', 'X-Awk: ' + AWKWARD, '-H', 'X-Eq: =starts-with-equals',
    '-H', 'X-Dup: one', '-H', 'X-Dup: two', '--data-binary', JSON_BODY]);
});

test('curl: a binary body is a note to use a file, never mangled inline', () => {
  const cmd = curl(requestModel(detail(HEADERS), BIN));
  assert.match(cmd, /^# the 256 B binary request body is not inline: download it and add --data-binary @FILE$/m);
  assert.ok(!argv(cmd, 'curl').includes('--data-binary'));
});

test('HTTPie: method, URL, Name:Value items (a leading "=" escaped, empty values as Name;), --raw body', () => {
  const m = requestModel(detail(HEADERS.concat([['X-Empty', '']])), enc(JSON_BODY));
  const a = argv(httpie(m), 'http');
  assert.deepEqual(a, ['--raw', JSON_BODY, 'POST', 'https://api.example.com/v1/items?q=a%20b&x=\'1\'',
    'Content-Type:application/json', 'X-Awk:' + AWKWARD, 'X-Eq:\\=starts-with-equals', 'X-Dup:one', 'X-Dup:two', 'X-Empty;']);
  const bin = httpie(requestModel(detail(HEADERS), BIN));
  assert.match(bin, /^# the 256 B binary request body: download it to FILE/m);
  assert.match(bin, / < FILE$/);
});

test('fetch: the snippet run by node sends the same method, URL, headers and body', async () => {
  for (const [bytes, want] of [[enc(JSON_BODY), JSON_BODY], [BIN, BIN]]) {
    const code = fetchJs(requestModel(detail(HEADERS), bytes));
    let got;
    const stub = async (url, opts) => { got = { url, opts }; return {}; };
    const AsyncFunction = (async () => {}).constructor;
    await new AsyncFunction('fetch', 'atob', code)(stub, (s) => Buffer.from(s, 'base64').toString('latin1'));
    assert.equal(got.url, 'https://api.example.com/v1/items?q=a%20b&x=\'1\'');
    assert.equal(got.opts.method, 'POST');
    assert.deepEqual(got.opts.headers, [['Content-Type', 'application/json'], ['X-Awk', AWKWARD], ['X-Eq', '=starts-with-equals'], ['X-Dup', 'one'], ['X-Dup', 'two']]);
    assert.deepEqual(got.opts.body, want);
  }
});

test('Swift: string literals escape quotes, backslashes (no \\( interpolation), newlines and control bytes', () => {
  assert.equal(swiftString('a"b\\(c)\n\r\t\x00\x01\x7f é'), '"a\\"b\\\\(c)\\n\\r\\t\\0\\u{1}\\u{7f} é"');
  const s = swift(requestModel(detail(HEADERS), enc(JSON_BODY)));
  assert.match(s, /^var request = URLRequest\(url: URL\(string: "https:\/\/api\.example\.com\/v1\/items\?q=a%20b&x='1'"\)!\)$/m);
  assert.match(s, /^request\.httpMethod = "POST"$/m);
  assert.match(s, /^request\.addValue\("one", forHTTPHeaderField: "X-Dup"\)\nrequest\.addValue\("two", forHTTPHeaderField: "X-Dup"\)$/m);
  assert.ok(s.includes('request.httpBody = Data(' + swiftString(JSON_BODY) + '.utf8)'));
  for (const line of s.split('\n')) assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(line), 'no raw control byte: ' + line);
  assert.equal(s.split('\n').length, 9, 'one line per statement: the newline in a value stays escaped');
  const b = swift(requestModel(detail(HEADERS), BIN));
  assert.ok(b.includes('request.httpBody = Data(base64Encoded: "' + Buffer.from(BIN).toString('base64') + '")!'));
});

test('Kotlin (OkHttp): "$" escaped (string templates), the Content-Type as the body\'s media type', () => {
  assert.equal(kotlinString('a"b\\c$d\n\x01'), '"a\\"b\\\\c\\$d\\n\\u0001"');
  const k = okhttp(requestModel(detail(HEADERS), enc(JSON_BODY)));
  assert.ok(k.includes('.url("https://api.example.com/v1/items?q=a%20b&x=\'1\'")'));
  assert.ok(k.includes('.addHeader("X-Awk", ' + kotlinString(AWKWARD) + ')'));
  assert.ok(!k.includes('.addHeader("Content-Type"'), 'OkHttp sets it from the media type');
  assert.ok(k.includes('.method("POST", ' + kotlinString(JSON_BODY) + '.toRequestBody("application/json".toMediaTypeOrNull()))'));
  assert.ok(!/[^\\]\$[a-zA-Z{]/.test(k.replace(/\\\\/g, '')), 'no unescaped template');
  const b = okhttp(requestModel(detail(HEADERS), BIN));
  assert.ok(b.includes('"' + Buffer.from(BIN).toString('base64') + '".decodeBase64()!!.toRequestBody('));
  assert.ok(b.includes('import okio.ByteString.Companion.decodeBase64'));
  const get = okhttp(requestModel({ id: 1, method: 'GET', url: 'http://a/', request: { headers: [] } }, null));
  assert.ok(get.includes('.method("GET", null)'));
  const del = okhttp(requestModel({ id: 1, method: 'DELETE', url: 'http://a/', request: { headers: [] } }, null));
  assert.ok(del.includes('.method("DELETE", ByteArray(0).toRequestBody(null))'));
});

test('every format says when the captured body was cut short', () => {
  const d = detail(HEADERS, {});
  d.request.body_truncated = true;
  for (const f of FORMATS) assert.match(f.gen(requestModel(d, enc('{"a":'))), /truncated when captured/, f.id);
});
