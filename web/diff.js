/* diff.js — what differs between two flows, pure (node --test imports it): head fields, header
 * lists (by name, case-insensitive, repeated headers kept as lists of values), text bodies line
 * by line (a longest common subsequence; huge bodies are compared whole) and JSON bodies
 * structurally (paths added, removed, changed: "$.items[0].name"). */

/* ---- headers ---- */
// [{name, left: [values], right: [values], kind: 'same'|'changed'|'added'|'removed'}] in the
// order names first appear (left, then the ones only on the right); added = only on the right
function diffHeaders(left, right) {
  const groups = new Map(); // lower name → {name, left, right}
  const note = (list, side) => {
    for (const h of list || []) {
      const k = h.name.toLowerCase();
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { name: h.name, left: [], right: [] }));
      g[side].push(h.value);
    }
  };
  note(left, 'left');
  note(right, 'right');
  const out = [];
  for (const g of groups.values()) {
    let kind;
    if (!g.left.length) kind = 'added';
    else if (!g.right.length) kind = 'removed';
    else kind = g.left.length === g.right.length && g.left.every((v, i) => v === g.right[i]) ? 'same' : 'changed';
    out.push({ name: g.name, left: g.left, right: g.right, kind });
  }
  return out;
}

/* ---- head fields ---- */
function headFields(d) {
  const req = d.request || {}, resp = d.response || {};
  return [
    ['Method', d.method || req.method || ''],
    ['URL', d.url || ''],
    ['Status', d.failed ? 'failed' + (d.diagnosis ? ' ' + d.diagnosis.code : '') : d.status ? String(d.status) + (resp.reason ? ' ' + resp.reason : '') : ''],
    ['Request protocol', req.http_version || req.version || ''],
    ['Response protocol', resp.http_version || resp.version || ''],
    ['Response type', d.mime || ''],
    ['Request body', req.body_size === undefined ? '' : String(req.body_size) + ' B'],
    ['Response body', resp.body_size === undefined ? '' : String(resp.body_size) + ' B'],
  ];
}
// [{name, left, right, same}] for two flow details (GET /api/flows/{id})
function diffHeads(a, b) {
  const l = headFields(a), r = headFields(b);
  return l.map(([name, lv], i) => ({ name, left: lv, right: r[i][1], same: lv === r[i][1] }));
}

/* ---- text, line by line ---- */
const LCS_MAX_CELLS = 4e6; // beyond this (≈ 2,000 × 2,000 changed lines) the middle is shown replaced whole

function splitLines(t) {
  if (t === '') return [];
  const lines = t.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// [{op: ' '|'-'|'+', text}]: '-' only in the left, '+' only in the right
function diffLines(leftText, rightText) {
  const a = splitLines(leftText), b = splitLines(rightText);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const out = [];
  for (let i = 0; i < pre; i++) out.push({ op: ' ', text: a[i] });
  const A = a.slice(pre, a.length - suf), B = b.slice(pre, b.length - suf);
  if (A.length * B.length > LCS_MAX_CELLS) {
    for (const t of A) out.push({ op: '-', text: t });
    for (const t of B) out.push({ op: '+', text: t });
  } else {
    // lcs[i][j] = length of the LCS of A[i..] and B[j..], one row at a time in a flat array
    const n = A.length, m = B.length, w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = A[i] === B[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (A[i] === B[j]) { out.push({ op: ' ', text: A[i] }); i++; j++; }
      else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) out.push({ op: '-', text: A[i++] });
      else out.push({ op: '+', text: B[j++] });
    }
    while (i < n) out.push({ op: '-', text: A[i++] });
    while (j < m) out.push({ op: '+', text: B[j++] });
  }
  for (let i = a.length - suf; i < a.length; i++) out.push({ op: ' ', text: a[i] });
  return out;
}

/* ---- JSON, structurally ---- */
function pathKey(path, k) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? path + '.' + k : path + '[' + JSON.stringify(k) + ']';
}
function typeOf(v) { return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v; }

// [{path, kind: 'added'|'removed'|'changed', left, right}]; arrays compared index by index
function diffJSON(a, b, path = '$', out = []) {
  const ta = typeOf(a), tb = typeOf(b);
  if (ta !== tb || (ta !== 'object' && ta !== 'array')) {
    if (ta !== tb || a !== b) out.push({ path, kind: 'changed', left: a, right: b });
    return out;
  }
  if (ta === 'array') {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const p = path + '[' + i + ']';
      if (i >= a.length) out.push({ path: p, kind: 'added', right: b[i] });
      else if (i >= b.length) out.push({ path: p, kind: 'removed', left: a[i] });
      else diffJSON(a[i], b[i], p, out);
    }
    return out;
  }
  for (const k of Object.keys(a)) {
    const p = pathKey(path, k);
    if (!Object.prototype.hasOwnProperty.call(b, k)) out.push({ path: p, kind: 'removed', left: a[k] });
    else diffJSON(a[k], b[k], p, out);
  }
  for (const k of Object.keys(b)) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) out.push({ path: pathKey(path, k), kind: 'added', right: b[k] });
  }
  return out;
}

function parseJSON(t) {
  if (typeof t !== 'string' || !/^\s*[[{"\-0-9tfn]/.test(t)) return undefined;
  try { return JSON.parse(t); } catch (e) { return undefined; }
}

/* Two bodies ('' when absent, null when not text): {kind: 'same'} when equal, {kind: 'json',
 * changes} when both parse as JSON, {kind: 'text', lines} for text, {kind: 'binary'} when either
 * is not text. */
function diffBodies(leftText, rightText) {
  if (leftText === null || rightText === null) return { kind: 'binary' };
  if (leftText === rightText) return { kind: 'same' };
  const ja = parseJSON(leftText), jb = parseJSON(rightText);
  if (ja !== undefined && jb !== undefined) return { kind: 'json', changes: diffJSON(ja, jb) };
  return { kind: 'text', lines: diffLines(leftText, rightText) };
}

export { diffHeaders, diffHeads, diffLines, diffJSON, diffBodies, headFields };
