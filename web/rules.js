/* rules.js — the Rules panel (issue 19): the rules in use from GET /api/rules (the command
 * line's read-only, the file's editable), add / edit / enable / delete / reorder, "test a URL"
 * against them (matched here, the way src/ruleset.c matches: URL pattern globs, first enabled
 * rule of each kind), saved whole with PUT /api/rules and If-Match (412: someone else changed
 * them; the panel says so and reloads). With no rules, an empty state teaches the five actions.
 * Rewrite rules are made and edited by kind (header, status, URL, query, body, JSON path, on the
 * request or the response) with two fields, composed into rules.json's "edit" text (shown).
 * The toolbar shows when a throttle is on (GET /api/session's "throttle" list).
 * Rule text reaches the DOM through textContent and input values only. */
'use strict';

(function () {
  const { $, el, append, clear, apiJSON, api } = window.HP;

  const EXAMPLES = [
    ['Map local', 'answer from a file, the server is never asked',
      'https://api.example.com/v1/user', 'map_local', './user.json'],
    ['Map remote', 'send production requests to staging',
      'https://api.example.com/*', 'map_remote', 'https://staging.example.com/'],
    ['Rewrite', 'change a header or a JSON field on the way',
      'https://api.example.com/v1/*', 'rewrite', 'resp-json:$.user.plan="pro"'],
    ['Block', 'fail on purpose: a status, dns, refused, reset, tls, timeout',
      'ads.example.com', 'block', '403'],
    ['Throttle', 'a bad network: 3g, lte, edge, dsl, very-bad, loss100, dns-slow',
      'api.example.com', 'throttle', '3g'],
  ];
  const KINDS = { map_local: 'Map local', map_remote: 'Map remote', block: 'Block', throttle: 'Throttle', rewrite: 'Rewrite' };
  const PARAM = {
    map_local: 'File or directory', map_remote: 'URL (https://...)',
    block: 'reset, dns, refused, tls, timeout, reset_body, or a status (403)',
    throttle: '3g, lte, edge, dsl, very-bad, loss100, dns-slow',
    rewrite: 'the edit (composed from the fields)',
  };
  // every rewrite kind of docs/RULES.md: [value of rf-edit, label, first field, second field or null]
  const EDITS = [
    ['req-header:set', 'Request header: set', 'Header name', 'Value'],
    ['req-header:add', 'Request header: add', 'Header name', 'Value'],
    ['req-header:remove', 'Request header: remove', 'Header name', null],
    ['resp-header:set', 'Response header: set', 'Header name', 'Value'],
    ['resp-header:add', 'Response header: add', 'Header name', 'Value'],
    ['resp-header:remove', 'Response header: remove', 'Header name', null],
    ['status', 'Response status', 'Status (200..599)', null],
    ['url', 'URL (path and query), regex', 'Regex, e.g. ^/v1/', 'Replacement (\\1 a group)'],
    ['query:set', 'Query parameter: set', 'Name', 'Value'],
    ['query:add', 'Query parameter: add', 'Name', 'Value'],
    ['query:remove', 'Query parameter: remove', 'Name', null],
    ['req-body', 'Request body, regex', 'Regex', 'Replacement (\\1 a group)'],
    ['req-body-literal', 'Request body, text', 'Text', 'Replacement'],
    ['req-json', 'Request JSON: set at a path', 'Path, e.g. $.user.plan', 'JSON value, e.g. "pro"'],
    ['req-json:remove', 'Request JSON: remove at a path', 'Path, e.g. $.user.debug', null],
    ['resp-body', 'Response body, regex', 'Regex', 'Replacement (\\1 a group)'],
    ['resp-body-literal', 'Response body, text', 'Text', 'Replacement'],
    ['resp-json', 'Response JSON: set at a path', 'Path, e.g. $.user.plan', 'JSON value, e.g. "pro"'],
    ['resp-json:remove', 'Response JSON: remove at a path', 'Path, e.g. $.user.debug', null],
  ];
  const editKind = (k) => EDITS.find((e) => e[0] === k) || EDITS[0];

  // the edit text of a kind and its two fields (rules.json "edit", as --rewrite takes it)
  function composeEdit(k, a, b) {
    if (/^(req|resp)-header:(set|add)$/.test(k)) return k + ':' + a + ':' + b;
    if (/:remove$/.test(k) && /json/.test(k)) return k + ':' + a;
    if (/:remove$/.test(k)) return k + ':' + a;
    if (k === 'status') return 'status:' + a;
    if (/^query:/.test(k)) return k + ':' + a + '=' + b;
    if (/json$/.test(k)) return k + ':' + a + '=' + b;
    return k + ':' + a + '=>' + b; // url, bodies
  }
  // the kind and two fields of an edit text (as src/rewrite.c splits it: the first ':' / '=' / '=>')
  function splitEdit(text) {
    text = String(text || '');
    const cut = (s, sep) => { const i = s.indexOf(sep); return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)]; };
    let m = /^((?:req|resp)-header|query):(set|add|remove):(.*)$/.exec(text);
    if (m) {
      const k = m[1] + ':' + m[2];
      if (m[2] === 'remove') return [k, m[3], ''];
      const [a, b] = cut(m[3], m[1] === 'query' ? '=' : ':');
      return [k, a, b];
    }
    m = /^((?:req|resp)-json):(.*)$/.exec(text);
    if (m) {
      if (m[2].startsWith('remove:')) return [m[1] + ':remove', m[2].slice(7), ''];
      const [a, b] = cut(m[2], '=');
      return [m[1], a, b];
    }
    m = /^(status):(.*)$/.exec(text);
    if (m) return ['status', m[2], ''];
    m = /^(url|req-body-literal|req-body|resp-body-literal|resp-body):(.*)$/.exec(text);
    if (m) { const [a, b] = cut(m[2], '=>'); return [m[1], a, b]; }
    return ['req-header:set', '', ''];
  }

  let dlg = null, doc = null, etag = '', cli = [], rules = [], dirty = false, editing = -1;

  /* ---------------------------------------------------------------------------------------- */
  /* Matching (as src/ruleset.c) */

  function globRe(g, icase) {
    let s = '^';
    for (const c of g) s += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    return new RegExp(s + '$', icase ? 'i' : '');
  }
  function splitPattern(p) {
    const m = /^([a-z*]+):\/\/([^/]*)(\/.*)?$/i.exec(p);
    let scheme = null, hostport = p, path = null;
    if (m) { scheme = m[1] === '*' ? null : m[1].toLowerCase(); hostport = m[2]; path = m[3] || null; }
    let host = hostport, port = 0;
    const hp = /^(.*):(\d+)$/.exec(hostport);
    if (hp) { host = hp[1]; port = +hp[2]; }
    return { scheme, host: host.toLowerCase(), port, path };
  }
  function matchOf(r) {
    const m = r.match || {};
    const out = m.url ? splitPattern(m.url) : { scheme: null, host: null, port: 0, path: null };
    if (m.host) { const h = splitPattern(m.host); out.host = h.host; out.port = h.port || out.port; }
    if (m.port) out.port = m.port;
    if (m.scheme) out.scheme = m.scheme;
    if (m.path) out.path = m.path;
    out.regex = m.path_regex || null;
    out.method = m.method ? m.method.toUpperCase() : null;
    return out;
  }
  function matches(r, u, method) {
    if (r.enabled === false) return false;
    const m = matchOf(r);
    if (m.host && !globRe(m.host, true).test(u.hostname)) return false;
    const port = +u.port || (u.protocol === 'https:' ? 443 : 80);
    if (m.port && m.port !== port) return false;
    if (m.scheme && m.scheme + ':' !== u.protocol) return false;
    if (m.method && m.method !== method) return false;
    const pq = u.pathname + u.search;
    if (m.path && !globRe(m.path, false).test(m.path.includes('?') ? pq : u.pathname)) return false;
    if (m.regex) { try { if (!new RegExp(m.regex).test(pq)) return false; } catch (e) { return false; } }
    return true;
  }
  // the rule of each kind ("route" and "throttle") that a URL would meet
  function testUrl(text) {
    let u;
    try { u = new URL(/^[a-z]+:\/\//i.test(text) ? text : 'https://' + text); } catch (e) { return null; }
    const all = cli.map((r) => ({ r, ro: true })).concat(rules.map((r) => ({ r, ro: false })));
    const route = all.find((x) => x.r.action && x.r.action.type !== 'throttle' && matches(x.r, u, 'GET'));
    const thr = all.find((x) => x.r.action && x.r.action.type === 'throttle' && matches(x.r, u, 'GET'));
    return { route, thr };
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Describing */

  function patternText(r) {
    const m = r.match || {};
    if (!r.match) return '(every request)';
    if (m.url !== undefined) return m.url;
    return (m.scheme ? m.scheme + '://' : '') + (m.host || '*') + (m.path || '');
  }
  function actionText(a) {
    if (!a) return '?';
    switch (a.type) {
      case 'map_local': return 'answer from ' + a.path;
      case 'map_remote': return 'send to ' + a.url;
      case 'block': return a.status ? 'answer ' + a.status : 'fail: ' + (a.how || 'reset') + (a.secs ? ' after ' + a.secs + ' s' : '');
      case 'throttle': return a.preset ? a.preset : ['down', 'up', 'latency', 'dns', 'loss'].filter((k) => a[k] !== undefined).map((k) => k + ' ' + a[k]).join(', ');
      case 'rewrite': return a.edit ? String(a.edit) : 'rewrite';
      default: return a.type;
    }
  }
  function paramOf(a) {
    if (!a) return '';
    switch (a.type) {
      case 'map_local': return a.path || '';
      case 'map_remote': return a.url || '';
      case 'block': return a.status ? String(a.status) : (a.how || 'reset');
      case 'throttle': return a.preset || 'custom:' + ['down', 'up', 'latency', 'dns', 'loss'].filter((k) => a[k] !== undefined).map((k) => k + '=' + a[k]).join(',');
      case 'rewrite': return a.edit || '';
      default: return '';
    }
  }
  function actionFrom(type, p) {
    p = p.trim();
    switch (type) {
      case 'map_local': return { type, path: p };
      case 'map_remote': return { type, url: p };
      case 'block': return /^\d{3}$/.test(p) ? { type, status: +p } : { type, how: p || 'reset' };
      case 'throttle': {
        if (!p.startsWith('custom:')) return { type, preset: p || '3g' };
        const a = { type };
        for (const kv of p.slice(7).split(',')) { const i = kv.indexOf('='); if (i > 0) a[kv.slice(0, i).trim()] = kv.slice(i + 1).trim(); }
        return a;
      }
      case 'rewrite': return { type, edit: p };
    }
    return { type };
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Panel */

  function note(text, bad) {
    const n = $('rules-note');
    n.textContent = text;
    n.className = bad ? 'rules-note bad' : 'rules-note';
  }

  function row(r, i, ro) {
    const on = r.enabled !== false;
    const tr = el('li', { class: 'rule' + (on ? '' : ' off') + (ro ? ' ro' : ''), dataset: { id: r.id || '' } },
      el('span', { class: 'rule-kind k-' + ((r.action && r.action.type) || 'x'), text: KINDS[r.action && r.action.type] || '?' }),
      el('span', { class: 'rule-pat', text: patternText(r), title: r.id || '' }),
      el('span', { class: 'rule-act', text: actionText(r.action) }));
    if (ro) {
      append(tr, el('span', { class: 'muted rule-ro', text: 'command line', title: 'From the command line: read-only' }));
      return tr;
    }
    const box = el('input', { type: 'checkbox', class: 'rule-on', title: 'Enabled', 'aria-label': 'Enabled' });
    box.checked = on;
    box.addEventListener('change', () => { r.enabled = box.checked; save(); });
    append(tr, el('span', { class: 'rule-btns' }, box,
      el('button', { type: 'button', class: 'icon', title: 'Move up', 'aria-label': 'Move up', text: '↑', disabled: i === 0, onclick: () => move(i, -1) }),
      el('button', { type: 'button', class: 'icon', title: 'Move down', 'aria-label': 'Move down', text: '↓', disabled: i === rules.length - 1, onclick: () => move(i, 1) }),
      el('button', { type: 'button', class: 'rule-edit', text: 'Edit', disabled: !PARAM[r.action && r.action.type],
        title: PARAM[r.action && r.action.type] ? 'Edit' : 'Edit this kind in rules.json', onclick: () => openForm(i) }),
      el('button', { type: 'button', class: 'rule-del danger', text: 'Delete', onclick: () => { rules.splice(i, 1); save(); } })));
    return tr;
  }

  function move(i, d) {
    const j = i + d;
    if (j < 0 || j >= rules.length) return;
    [rules[i], rules[j]] = [rules[j], rules[i]];
    save();
  }

  function emptyState() {
    const list = el('ul', { class: 'rules-teach' });
    for (const [name, what, pat, type, p] of EXAMPLES) {
      const li = el('li', null,
        el('span', { class: 'rule-kind k-' + type, text: name }),
        el('span', { class: 'teach-what', text: what }),
        el('code', { text: '--' + type.replace('_', '-') + " '" +
          (type === 'throttle' ? p + '@' + pat : pat + '=' + p) + "'" }));
      append(li, el('button', { type: 'button', class: 'teach-try', text: 'Add', title: 'Start a rule like this one',
          onclick: () => openForm(-1, { match: { url: pat }, action: actionFrom(type, p) }) }));
      append(list, li);
    }
    return el('div', { id: 'rules-empty' },
      el('p', { class: 'teach-lead', text: 'No rules yet. Rules change traffic on its way through httpeek, and every flow a rule touched says which one.' }),
      list,
      el('p', { class: 'muted', text: 'Patterns: scheme://host[:port]/path with * globs, or a bare host. Rules live in rules.json in the confdir (docs/RULES.md).' }));
  }

  function render() {
    const body = $('rules-body');
    clear(body);
    if (!rules.length && !cli.length) { append(body, emptyState()); return; }
    const ul = el('ul', { class: 'rules-list' });
    cli.forEach((r, i) => append(ul, row(r, i, true)));
    rules.forEach((r, i) => append(ul, row(r, i, false)));
    append(body, ul);
    if (!rules.length) append(body, el('p', { class: 'muted', text: 'No rules of your own yet: "Add rule" makes one (saved to rules.json).' }));
  }

  function openForm(i, start) {
    editing = i;
    const r = i >= 0 ? rules[i] : (start || { match: { url: '' }, action: { type: 'block', how: 'reset' } });
    const f = $('rules-form');
    f.hidden = false;
    $('rf-pattern').value = r.match ? patternText(r) : '';
    $('rf-type').value = (r.action && r.action.type) || 'block';
    $('rf-param').value = paramOf(r.action);
    $('rf-param').placeholder = PARAM[$('rf-type').value] || '';
    const [k, a, b] = splitEdit(r.action && r.action.type === 'rewrite' ? r.action.edit : '');
    $('rf-edit').value = k;
    $('rf-a').value = a;
    $('rf-b').value = b;
    formKind();
    $('rf-pattern').focus();
  }

  // the form's fields for its action: the parameter, or (rewrite) the edit's kind and fields
  function formKind() {
    const rw = $('rf-type').value === 'rewrite';
    $('rf-param').hidden = rw;
    $('rf-edit').hidden = $('rf-a').hidden = $('rf-preview').hidden = !rw;
    const e = editKind($('rf-edit').value);
    $('rf-a').placeholder = e[2];
    $('rf-b').placeholder = e[3] || '';
    $('rf-b').hidden = !rw || !e[3];
    $('rf-a').setAttribute('aria-label', e[2]);
    $('rf-b').setAttribute('aria-label', e[3] || 'unused');
    $('rf-preview').textContent = rw ? 'edit: ' + composeEdit(e[0], $('rf-a').value, $('rf-b').value) : '';
  }

  function submitForm() {
    const pat = $('rf-pattern').value.trim(), type = $('rf-type').value;
    let p = $('rf-param').value;
    if (!pat && type !== 'throttle') { note('A rule needs a URL pattern or a host (e.g. api.example.com).', true); return; }
    if (type === 'rewrite') {
      const e = editKind($('rf-edit').value);
      if (!$('rf-a').value) { note('The edit needs its ' + e[2].replace(/,.*/, '').toLowerCase() + '.', true); return; }
      p = composeEdit(e[0], $('rf-a').value, e[3] ? $('rf-b').value : '');
    }
    const old = editing >= 0 ? rules[editing] : null;
    const r = old ? Object.assign({}, old) : { id: uniqueId(), enabled: true };
    if (!old || pat !== patternText(old)) {
      const keep = Object.assign({}, (old && old.match) || {});
      for (const k of ['url', 'host', 'port', 'scheme', 'path']) delete keep[k];
      if (pat) r.match = Object.assign(keep, { url: pat });
      else if (Object.keys(keep).length) r.match = keep;
      else delete r.match;
    }
    r.action = actionFrom(type, p);
    if (old) rules[editing] = r; else rules.push(r);
    $('rules-form').hidden = true;
    save();
  }

  function uniqueId() {
    const used = new Set(rules.map((r) => r.id));
    for (let n = rules.length + 1; ; n++) if (!used.has('rule-' + n)) return 'rule-' + n;
  }

  async function load(msg) {
    try {
      const r = await fetch(api('/api/rules'), { cache: 'no-store' });
      if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
      etag = r.headers.get('ETag') || '';
      doc = await r.json();
      cli = doc.command_line || [];
      rules = doc.rules || [];
      dirty = false;
      render();
      note(msg || '', !!msg);
    } catch (e) { note('Could not read the rules: ' + e.message, true); }
    refreshThrottle();
  }

  async function save() {
    render();
    const body = Object.assign({}, doc || {}, { version: 1, rules });
    delete body.command_line;
    try {
      const r = await fetch(api('/api/rules'), { method: 'PUT', headers: { 'If-Match': etag, 'Content-Type': 'application/json' },
        body: JSON.stringify(body, null, 2) + '\n' });
      if (r.status === 412) { await load('Someone else changed the rules meanwhile: this is their version now. Make your change again.'); return; }
      const j = await r.json().catch(() => ({}));
      if (!r.ok) { note('Not saved: ' + (j.error || r.status), true); dirty = true; return; }
      etag = r.headers.get('ETag') || j.etag || etag;
      dirty = false;
      note('Saved. The next request meets these rules.');
    } catch (e) { note('Not saved: ' + e.message, true); }
    refreshThrottle();
  }

  function showTest() {
    const out = $('rules-test-out'), v = $('rules-test-url').value.trim();
    clear(out);
    if (!v) return;
    const t = testUrl(v);
    if (!t) { out.textContent = 'Not a URL.'; return; }
    const say = (x) => (x.ro ? 'command-line rule ' : 'rule ') + (x.r.id || '') + ': ' + (KINDS[x.r.action.type] || '') + ' — ' + actionText(x.r.action);
    out.textContent = !t.route && !t.thr ? 'No rule matches: the request goes to the server unchanged.'
      : [t.route && say(t.route), t.thr && 'and ' + say(t.thr)].filter(Boolean).join(' ');
  }

  function build() {
    if (dlg) return dlg;
    const types = el('select', { id: 'rf-type', 'aria-label': 'Action' });
    for (const k of ['map_local', 'map_remote', 'rewrite', 'block', 'throttle']) append(types, el('option', { value: k, text: KINDS[k] }));
    types.addEventListener('change', () => { $('rf-param').placeholder = PARAM[types.value] || ''; formKind(); });
    const edits = el('select', { id: 'rf-edit', 'aria-label': 'What the rewrite changes', hidden: true, onchange: formKind });
    for (const [k, label] of EDITS) append(edits, el('option', { value: k, text: label }));
    dlg = el('dialog', { id: 'rules-dlg', 'aria-label': 'Rules' },
      el('div', { class: 'rules-head' },
        el('h3', { text: 'Rules' }),
        el('button', { type: 'button', id: 'rules-add', text: 'Add rule', onclick: () => openForm(-1) }),
        el('span', { class: 'spacer' }),
        el('button', { type: 'button', id: 'rules-close', text: 'Close', onclick: () => dlg.close() })),
      el('div', { id: 'rules-note', class: 'rules-note', role: 'status' }),
      el('form', { id: 'rules-form', hidden: true, onsubmit: (e) => { e.preventDefault(); submitForm(); } },
        el('input', { id: 'rf-pattern', type: 'text', placeholder: 'https://api.example.com/v1/*  or  ads.example.com', spellcheck: 'false', 'aria-label': 'URL pattern' }),
        types,
        el('input', { id: 'rf-param', type: 'text', spellcheck: 'false', 'aria-label': 'Action parameter' }),
        edits,
        el('input', { id: 'rf-a', type: 'text', spellcheck: 'false', hidden: true, oninput: formKind }),
        el('input', { id: 'rf-b', type: 'text', spellcheck: 'false', hidden: true, oninput: formKind }),
        el('code', { id: 'rf-preview', class: 'rf-preview', hidden: true }),
        el('button', { type: 'submit', id: 'rf-save', text: 'Save rule' }),
        el('button', { type: 'button', text: 'Cancel', onclick: () => { $('rules-form').hidden = true; } })),
      el('div', { id: 'rules-body' }),
      el('div', { class: 'rules-test' },
        el('input', { id: 'rules-test-url', type: 'text', placeholder: 'Test a URL: https://api.example.com/v1/user', spellcheck: 'false', 'aria-label': 'Test a URL', oninput: showTest }),
        el('div', { id: 'rules-test-out', class: 'muted' })));
    document.body.appendChild(dlg);
    return dlg;
  }

  async function open() {
    build();
    if (!dlg.open) dlg.showModal();
    await load();
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Toolbar: the button and the throttle indicator */

  async function refreshThrottle() {
    const b = $('throttle-on');
    if (!b) return;
    try {
      const s = await apiJSON('/api/session');
      const t = (s && s.throttle) || [];
      b.hidden = !t.length;
      b.textContent = t.length ? 'Throttled: ' + t.map((x) => x.profile).join(', ') : '';
      b.title = t.map((x) => x.id + ' — ' + x.detail).join('\n');
    } catch (e) { /* the next refresh tells */ }
  }

  function init() {
    const anchor = $('b-follow');
    if (!anchor) return;
    const btn = el('button', { id: 'b-rules', type: 'button', text: 'Rules', title: 'Map local, map remote, rewrite, block, throttle', onclick: open });
    const badge = el('button', { id: 'throttle-on', type: 'button', class: 'throttle-on', hidden: true, onclick: open });
    anchor.parentNode.insertBefore(btn, anchor);
    anchor.parentNode.insertBefore(badge, btn);
    refreshThrottle();
    setInterval(refreshThrottle, 5000);
  }

  window.HP.openRules = open;
  window.HP.rulesDirty = () => dirty;
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
