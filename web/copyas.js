/* copyas.js — a captured request as a command or a snippet that sends it again: curl, HTTPie,
 * Swift URLRequest, OkHttp (Kotlin), JavaScript fetch. Pure (node --test imports it): each
 * generator takes a request model (requestModel below) and returns text whose quoting survives
 * any byte of a header or a body: shell quoting for curl and HTTPie, string-literal escapes for
 * Swift, Kotlin and JavaScript; a binary body goes inline as base64 where the language can decode
 * it, else as a note to use a file. */

// headers the client makes itself (framing, the connection, the proxy's own)
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization',
  'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);

function fmtBytes(n) {
  if (!(n >= 0)) return 'unknown size';
  if (n < 1000) return n + ' B';
  if (n < 1e6) return (n / 1000).toFixed(1) + ' kB';
  return (n / 1e6).toFixed(1) + ' MB';
}

function utf8Text(bytes) {
  let text;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { return null; }
  return /\x00/.test(text) ? null : text;
}

function base64(bytes) {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/* The request of a flow detail d (GET /api/flows/{id}) with its captured body bytes (or null):
 * {method, url, headers: [[name, value]...] without hop-by-hop ones (and Host when the URL says
 * it), text (the body as UTF-8, or null), bytes (a body that is not text, or null), notes}. */
function requestModel(d, bytes) {
  const req = d.request || {};
  const method = d.method || req.method || 'GET';
  let host = '';
  try { host = new URL(d.url).host; } catch (e) { /* keep */ }
  const headers = [];
  for (const h of req.headers || []) {
    const n = h.name.toLowerCase();
    if (HOP_BY_HOP.has(n)) continue;
    if (n === 'host' && h.value.toLowerCase() === host.toLowerCase()) continue;
    headers.push([h.name, h.value]);
  }
  const notes = [];
  let text = null, bin = null;
  if (bytes && bytes.length) {
    text = utf8Text(bytes);
    if (text === null) bin = bytes;
    if (req.body_truncated) notes.push('the request body was truncated when captured: this body is incomplete');
  } else if (req.body_size > 0) {
    notes.push('the request body (' + fmtBytes(req.body_size) + ') was not captured');
  }
  return { method, url: d.url || '', headers, text, bytes: bin, notes };
}

function headerOf(m, name) {
  const n = name.toLowerCase();
  for (const [k, v] of m.headers) if (k.toLowerCase() === n) return v;
  return undefined;
}

/* ---- shell (curl, HTTPie) ---- */
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
function shellNotes(m) { return m.notes.map((n) => '# ' + n); }

function curl(m) {
  const parts = ['curl'];
  if (m.method === 'HEAD') parts.push('--head');
  else if (m.method !== 'GET') parts.push('-X', shellQuote(m.method));
  parts.push(shellQuote(m.url));
  let compressed = false;
  for (const [n, v] of m.headers) {
    if (n.toLowerCase() === 'accept-encoding' && /gzip|deflate|br/i.test(v)) compressed = true;
    parts.push('-H', shellQuote(n + ': ' + v));
  }
  if (compressed) parts.push('--compressed');
  const notes = shellNotes(m);
  if (m.text !== null) parts.push('--data-binary', shellQuote(m.text));
  else if (m.bytes) notes.push('# the ' + fmtBytes(m.bytes.length) + ' binary request body is not inline: download it and add --data-binary @FILE');
  return notes.concat([parts.join(' ')]).join('\n');
}

// HTTPie: "Name:Value" items; a backslash makes a separator character literal (a value starting
// with "=" would otherwise read as ":=", a JSON field); an empty value is "Name;".
function httpieItem(n, v) {
  if (v === '') return shellQuote(n + ';');
  return shellQuote(n + ':' + v.replace(/^([=@])/, '\\$1'));
}
function httpie(m) {
  const parts = ['http'];
  const notes = shellNotes(m);
  if (m.text !== null) parts.push('--raw', shellQuote(m.text));
  parts.push(shellQuote(m.method), shellQuote(m.url));
  for (const [n, v] of m.headers) parts.push(httpieItem(n, v));
  let cmd = parts.join(' ');
  if (m.bytes) {
    notes.push('# the ' + fmtBytes(m.bytes.length) + ' binary request body: download it to FILE (it is sent from stdin)');
    cmd += ' < FILE';
  }
  return notes.concat([cmd]).join('\n');
}

/* ---- string literals ---- */
function hex4(c) { return c.toString(16).padStart(4, '0'); }

// Swift: "\u{7F}" for control characters; a backslash doubled also stops "\(" interpolation
function swiftString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029) out += '\\u{' + c.toString(16) + '}';
    else out += ch;
  }
  return out + '"';
}

// Kotlin: "$" starts a template and must be escaped; \uXXXX for control characters
function kotlinString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '$') out += '\\$';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029) out += '\\u' + hex4(c);
    else out += ch;
  }
  return out + '"';
}

// JavaScript: JSON's escapes are valid in a JS literal; U+2028/9 escaped for older parsers
function jsString(s) {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function lineNotes(m, prefix) { return m.notes.map((n) => prefix + n); }

function swift(m) {
  const L = lineNotes(m, '// ');
  L.push('var request = URLRequest(url: URL(string: ' + swiftString(m.url) + ')!)');
  L.push('request.httpMethod = ' + swiftString(m.method));
  for (const [n, v] of m.headers) L.push('request.addValue(' + swiftString(v) + ', forHTTPHeaderField: ' + swiftString(n) + ')');
  if (m.text !== null) L.push('request.httpBody = Data(' + swiftString(m.text) + '.utf8)');
  else if (m.bytes) L.push('request.httpBody = Data(base64Encoded: ' + swiftString(base64(m.bytes)) + ')!');
  L.push('let (data, response) = try await URLSession.shared.data(for: request)');
  return L.join('\n');
}

// OkHttp takes the Content-Type from the body's media type (a header would be replaced by it)
function okhttp(m) {
  const L = lineNotes(m, '// ');
  const hasBody = m.text !== null || !!m.bytes;
  const ctype = headerOf(m, 'content-type');
  L.push('import okhttp3.OkHttpClient');
  L.push('import okhttp3.Request');
  if (hasBody || !['GET', 'HEAD'].includes(m.method)) {
    L.push('import okhttp3.MediaType.Companion.toMediaTypeOrNull');
    L.push('import okhttp3.RequestBody.Companion.toRequestBody');
  }
  if (m.bytes) L.push('import okio.ByteString.Companion.decodeBase64');
  L.push('');
  L.push('val client = OkHttpClient()');
  L.push('val request = Request.Builder()');
  L.push('    .url(' + kotlinString(m.url) + ')');
  for (const [n, v] of m.headers) {
    if (hasBody && n.toLowerCase() === 'content-type') continue;
    L.push('    .addHeader(' + kotlinString(n) + ', ' + kotlinString(v) + ')');
  }
  const media = ctype !== undefined && hasBody ? kotlinString(ctype) + '.toMediaTypeOrNull()' : 'null';
  let body = 'null';
  if (m.text !== null) body = kotlinString(m.text) + '.toRequestBody(' + media + ')';
  else if (m.bytes) body = kotlinString(base64(m.bytes)) + '.decodeBase64()!!.toRequestBody(' + media + ')';
  else if (!['GET', 'HEAD'].includes(m.method)) body = 'ByteArray(0).toRequestBody(null)'; // OkHttp wants a body for POST, PUT, PATCH
  L.push('    .method(' + kotlinString(m.method) + ', ' + body + ')');
  L.push('    .build()');
  L.push('client.newCall(request).execute().use { response -> println(response.body?.string()) }');
  return L.join('\n');
}

function fetchJs(m) {
  const L = lineNotes(m, '// ');
  const opts = ['  method: ' + jsString(m.method) + ','];
  if (m.headers.length) {
    // pairs, not an object: a header sent twice stays twice
    opts.push('  headers: [');
    for (const [n, v] of m.headers) opts.push('    [' + jsString(n) + ', ' + jsString(v) + '],');
    opts.push('  ],');
  }
  if (m.text !== null) opts.push('  body: ' + jsString(m.text) + ',');
  else if (m.bytes) opts.push('  body: Uint8Array.from(atob(' + jsString(base64(m.bytes)) + '), (c) => c.charCodeAt(0)),');
  L.push('const response = await fetch(' + jsString(m.url) + ', {');
  L.push(...opts);
  L.push('});');
  return L.join('\n');
}

const FORMATS = [
  { id: 'curl', label: 'curl', gen: curl },
  { id: 'httpie', label: 'HTTPie', gen: httpie },
  { id: 'swift', label: 'Swift URLRequest', gen: swift },
  { id: 'okhttp', label: 'OkHttp (Kotlin)', gen: okhttp },
  { id: 'fetch', label: 'JavaScript fetch', gen: fetchJs },
];

export { requestModel, curl, httpie, swift, okhttp, fetchJs, FORMATS, shellQuote, swiftString, kotlinString, jsString, base64 };
