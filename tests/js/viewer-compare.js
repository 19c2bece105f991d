#!/usr/bin/env node
// viewer-compare.js — Compare and Copy as in headless Chromium (playwright-core), driven by
// tests/e2e/88-viewer-compare.sh: two flows of /user picked with ctrl-click open Compare, which
// must show the changed request header (X-Req), the changed and removed response headers
// (X-Version, X-Only-One) and the JSON fields changed, removed and added ($.user.plan,
// $.user.tags[1], $.user.since) and nothing for the fields that are equal; then the POST to
// /echo is copied in every format: the curl command run by bash and the fetch snippet run by node
// (both straight at the upstream) must make the upstream receive what the original request
// carried. Environment: VIEWER, UPSTREAM_PORT, AWK_H (the awkward header value), ART.
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');
const { ok, getJSON, launchChromium, threw } = require('./common');

const PLAN = 27;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

// a row of a compare table: {kind, cells: [th, td, td]}
function cmpRow(page, part, attr, value) {
  return page.evaluate(([p, a, v]) => {
    const t = document.querySelector('#compare-body [data-part="' + p + '"]');
    if (!t) return null;
    for (const r of t.querySelectorAll('tr[' + a + ']')) {
      if (r.getAttribute(a) === v) return { kind: r.dataset.kind, cells: [...r.children].map((c) => c.textContent) };
    }
    return null;
  }, [part, attr, value]);
}

async function copyAs(page, format) {
  await page.selectOption('#copy-as', format);
  await page.waitForFunction(() => document.getElementById('dlg').open && document.getElementById('dlg-text').value, null, { timeout: 5000 });
  const r = await page.evaluate(() => ({ title: document.getElementById('dlg-title').textContent, text: document.getElementById('dlg-text').value }));
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.getElementById('dlg').open, null, { timeout: 2000 }).catch(() => {});
  return r;
}

// what the upstream's /echo received: method, body and the headers by lower-case name
function received(echo) {
  const h = {};
  for (const [k, v] of echo.headers) h[k.toLowerCase()] = v;
  return { method: echo.method, path: echo.path, body: echo.body, awk: h['x-awk'], ctype: h['content-type'] };
}

(async () => {
  const viewer = process.env.VIEWER;
  const browser = await launchChromium();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(viewer, { waitUntil: 'load' });
    await page.waitForFunction(() => window.httpeekViewer && window.httpeekViewer.flows.length >= 4, null, { timeout: 8000 });
    const flows = await getJSON(viewer + 'api/flows');
    const id = (re) => (flows.find((f) => re.test(f.url)) || {}).id;
    const a = id(/\/user\?v=1$/), b = id(/\/user\?v=2$/), echo = id(/\/echo/);
    await page.waitForSelector('#list-rows .row[data-id="' + b + '"]', { timeout: 5000 });

    // ---- Compare: ctrl-click two rows
    await page.click('#list-rows .row[data-id="' + a + '"]', { modifiers: ['Control'] });
    // the list draws the mark on its next frame (scheduleRenderAll): wait for it, not for a fixed time
    const marked = await page.waitForFunction((sel) => { const r = document.querySelector(sel); return r && r.classList.contains('marked'); },
      '#list-rows .row[data-id="' + a + '"]', { timeout: 3000 }).then(() => true, () => false);
    check(marked, 'ctrl-click marks a flow for Compare (the row says so)');
    check(!(await page.$eval('#compare-dlg', (d) => d.open)), 'one marked flow does not open Compare yet');
    await page.click('#list-rows .row[data-id="' + b + '"]', { modifiers: ['Control'] });
    await page.waitForSelector('#compare-body [data-part="response-body"]', { timeout: 8000 });
    check(await page.$eval('#compare-dlg', (d) => d.open), 'the second ctrl-click opens Compare');
    const title = await page.$eval('#compare-title', (e) => e.textContent);
    check(title === 'Compare #' + a + ' with #' + b, 'it compares the two flows picked, in order', title);
    const url = await cmpRow(page, 'head', 'data-name', 'URL');
    check(url && url.kind === 'changed' && /v=1$/.test(url.cells[1]) && /v=2$/.test(url.cells[2]), 'the head: the URL changed', JSON.stringify(url));
    const method = await cmpRow(page, 'head', 'data-name', 'Method');
    check(method && method.kind === 'same', 'the head: the method is the same', JSON.stringify(method));
    const xreq = await cmpRow(page, 'request-headers', 'data-name', 'x-req');
    check(xreq && xreq.kind === 'changed' && xreq.cells[1] === 'one' && xreq.cells[2] === 'two', 'request headers: X-Req changed from one to two', JSON.stringify(xreq));
    const accept = await cmpRow(page, 'request-headers', 'data-name', 'accept');
    check(accept && accept.kind === 'same', 'request headers: Accept is the same', JSON.stringify(accept));
    const xv = await cmpRow(page, 'response-headers', 'data-name', 'x-version');
    check(xv && xv.kind === 'changed' && xv.cells[1] === '1' && xv.cells[2] === '2', 'response headers: X-Version changed', JSON.stringify(xv));
    const only = await cmpRow(page, 'response-headers', 'data-name', 'x-only-one');
    check(only && only.kind === 'removed' && only.cells[1] === 'yes' && only.cells[2] === '', 'response headers: X-Only-One only on the first', JSON.stringify(only));
    const kind = await page.$eval('#compare-body [data-part="response-body"]', (e) => e.dataset.kind);
    check(kind === 'json', 'the response bodies are compared as JSON', kind);
    const plan = await cmpRow(page, 'response-body', 'data-path', '$.user.plan');
    check(plan && plan.kind === 'changed' && plan.cells[1] === '"free"' && plan.cells[2] === '"pro"', 'JSON: $.user.plan changed from "free" to "pro"', JSON.stringify(plan));
    const tag = await cmpRow(page, 'response-body', 'data-path', '$.user.tags[1]');
    check(tag && tag.kind === 'removed' && tag.cells[1] === '"b"', 'JSON: $.user.tags[1] removed', JSON.stringify(tag));
    const since = await cmpRow(page, 'response-body', 'data-path', '$.user.since');
    check(since && since.kind === 'added' && since.cells[2] === '2020', 'JSON: $.user.since added', JSON.stringify(since));
    const paths = await page.$$eval('#compare-body [data-part="response-body"] tr[data-path]', (rs) => rs.map((r) => r.dataset.path));
    check(paths.length === 3 && !paths.includes('$.user.name') && !paths.includes('$.n'), 'JSON: nothing listed for the equal fields', paths.join(' '));
    const reqBody = await page.$eval('#compare-body [data-part="request-body"]', (e) => e.dataset.kind + ': ' + e.textContent);
    check(/^same: No body/.test(reqBody), 'no request body on either side says so', reqBody);
    if (process.env.ART) await page.screenshot({ path: path.join(process.env.ART, '88-compare.png') });
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('compare-dlg').open, null, { timeout: 2000 }).catch(() => {});
    check(!(await page.$eval('#compare-dlg', (d) => d.open)), 'Esc closes Compare');

    // ---- Copy as, for the POST with awkward values
    const original = received(await getJSON(viewer + 'api/flows/' + echo + '/response/body'));
    check(original.awk === process.env.AWK_H && /"1\n2"/.test(original.body), 'the original request reached the upstream with its awkward header and body',
      JSON.stringify(original));
    await page.click('#list-rows .row[data-id="' + echo + '"]');
    await page.waitForFunction(() => /\/echo/.test(document.getElementById('d-title').textContent), null, { timeout: 5000 });
    const curl = await copyAs(page, 'curl');
    let again = null;
    try {
      const env = Object.assign({}, process.env);
      for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy']) delete env[k];
      again = received(JSON.parse(execFileSync('bash', ['-c', curl.text.replace(/^curl /m, 'curl -sS --max-time 5 ')], { env }).toString()));
    } catch (e) { again = String(e); }
    check(JSON.stringify(again) === JSON.stringify(original), 'Copy as curl: bash runs it and the upstream receives the same request', curl.text, JSON.stringify(again));
    const fetchS = await copyAs(page, 'fetch');
    try {
      const AsyncFunction = (async () => {}).constructor;
      const res = await new AsyncFunction('fetch', fetchS.text + '\nreturn response.json();')(fetch);
      again = received(res);
    } catch (e) { again = String(e); }
    // fetch's URL parser sends the query's ' as %27 (WHATWG URL), curl as it is: the same URL
    const fetchWant = Object.assign({}, original, { path: original.path.replace(/'/g, '%27') });
    check(JSON.stringify(again) === JSON.stringify(fetchWant), 'Copy as JavaScript fetch: node runs it and the upstream receives the same request',
      fetchS.text, JSON.stringify(again));
    const httpie = await copyAs(page, 'httpie');
    check(/^http --raw '.*' POST /s.test(httpie.text) && httpie.text.includes("'X-Awk:it'\\''s \"q\" $HOME `id` \\(x)'"),
      'Copy as HTTPie: the body as --raw, the header shell-quoted', httpie.title, httpie.text);
    const swift = await copyAs(page, 'swift');
    check(swift.title === 'Copy as Swift URLRequest' && swift.text.includes('request.httpMethod = "POST"') &&
      swift.text.includes('request.addValue("it\'s \\"q\\" $HOME `id` \\\\(x)", forHTTPHeaderField: "X-Awk")'),
      'Copy as Swift URLRequest: quotes and the backslash escaped (no \\( interpolation)', swift.text);
    const kt = await copyAs(page, 'okhttp');
    check(kt.text.includes('.addHeader("X-Awk", "it\'s \\"q\\" \\$HOME `id` \\\\(x)")') && kt.text.includes('.method("POST", "'),
      'Copy as OkHttp (Kotlin): "$" escaped, the body posted', kt.text);

    // ---- the detail's Compare button: mark the POST, open /missing, compare with the marked one
    const miss = id(/\/missing$/);
    const label = () => page.$eval('#b-compare', (b) => b.textContent);
    await page.click('#b-compare');
    check(await label() === 'Unmark', 'the detail\'s Compare marks the flow shown (the button then offers to unmark it)', await label());
    await page.click('#list-rows .row[data-id="' + miss + '"]');
    await page.waitForFunction((w) => document.getElementById('b-compare').textContent === w, 'Compare with #' + echo, { timeout: 5000 }).catch(() => {});
    check(await label() === 'Compare with #' + echo, 'another flow shown: the button offers to compare it with the marked one', await label());
    await page.click('#b-compare');
    await page.waitForSelector('#compare-body [data-part="request-body"]', { timeout: 8000 }).catch(() => {});
    const t2 = await page.$eval('#compare-title', (e) => e.textContent);
    const rb = await page.$eval('#compare-body [data-part="request-body"]', (e) => e.dataset.kind).catch(() => '');
    check(t2 === 'Compare #' + echo + ' with #' + miss && rb === 'text', 'it compares them (the JSON body against a text one: by lines)', t2 + ' ' + rb);
    await page.keyboard.press('Escape');
    check(!errors.length, 'no error in the page', errors.join('\n'));
  } catch (e) {
    threw('viewer-compare.js ran to the end', e, errors);
  } finally {
    await browser.close();
  }
  ok(done === PLAN, 'viewer-compare.js ran every check of its plan (' + done + ' of ' + PLAN + ')');
  process.exit(0);
})();
