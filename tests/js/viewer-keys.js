#!/usr/bin/env node
// viewer-keys.js — the viewer driven by the keyboard alone in headless Chromium
// (playwright-core), from tests/e2e/88-viewer-compare.sh: "?" opens the overlay listing the
// shortcuts (and Esc closes it), j/k move through the list and open the flow, ] and 3 switch
// tabs, + grows the detail pane, g groups and z folds a group, c copies the request as curl, / focuses the filter and Esc there clears it, e toggles
// errors only, o changes the sort, m marks two flows and the second opens Compare; then issue
// 20's actions: a repeats the selected flow, Shift+A opens Repeat… (3 times, Enter), Shift+E
// edits and resends it (Ctrl+Enter sends), n composes a new request, Shift+B opens the
// Breakpoints panel, and curl requests paused there are executed with an edit typed in the body
// (Ctrl+Enter from the text field: the server got the edit), continued (Alt+C) and aborted
// (Alt+A: curl sees the connection lost), the second reached with Alt+N.
// Environment: VIEWER, PROXY (host:port), BASE (http://cmp.test:PORT), ART (screenshot directory).
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const { ok, rows, waitRows, getJSON, launchChromium, threw } = require('./common');

const PLAN = 32;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

// curl through the proxy: resolves {code (exit status), out (stdout)}
function viaProxy(args) {
  return new Promise((resolve) => {
    const c = spawn('curl', ['-sS', '--max-time', '20', '-x', process.env.PROXY, ...args]);
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('close', (code) => resolve({ code, out }));
  });
}

(async () => {
  const browser = await launchChromium();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(process.env.VIEWER, { waitUntil: 'load' });
    const rs = await waitRows(page, (r) => r.length >= 4);
    const open = (id) => page.$eval('#' + id, (d) => d.open);
    const dlgGone = (id) => page.waitForFunction((i) => !document.getElementById(i).open, id, { timeout: 2000 }).catch(() => {});

    await page.keyboard.press('?');
    await page.waitForSelector('#keys-dlg[open]', { timeout: 3000 }).catch(() => {});
    check(await open('keys-dlg'), '? opens the keyboard overlay');
    const listed = await page.$eval('#keys-list', (e) => e.textContent);
    check(['Next flow', 'Copy the request as curl', 'Copy as…', 'Compare the marked flow with the selected one', 'Export HAR', 'This list']
      .every((s) => listed.includes(s)), 'it lists the shortcuts: moving, copy as, compare, export, itself', listed);
    const kbds = await page.$$eval('#keys-list kbd', (ks) => ks.map((k) => k.textContent));
    check(kbds.includes('?') && kbds.includes('j') && kbds.includes('Shift+c') && kbds.includes('1…9'), 'with their keys', kbds.join(' '));
    if (process.env.ART) await page.screenshot({ path: path.join(process.env.ART, '88-keys.png') });
    await page.keyboard.press('Escape');
    await dlgGone('keys-dlg');
    check(!(await open('keys-dlg')), 'Esc closes it');

    await page.keyboard.press('Home');
    await page.waitForFunction(() => /flow #\d+ selected/.test(document.getElementById('st-sel').textContent), null, { timeout: 3000 }).catch(() => {});
    const first = rs[0].id;
    const sel = () => page.$eval('#st-sel', (e) => +((/flow #(\d+)/.exec(e.textContent) || [])[1] || 0));
    check(await sel() === first && !(await page.$eval('#detail', (d) => d.hidden)), 'Home selects the first flow and opens it', await sel());
    await page.keyboard.press('j');
    check(await sel() === rs[1].id, 'j moves to the next flow');
    await page.keyboard.press('k');
    check(await sel() === first, 'k moves back');
    await page.waitForFunction(() => document.querySelector('#tabs button.on') && document.getElementById('d-title').textContent, null, { timeout: 3000 });
    await page.keyboard.press(']');
    const tab1 = await page.$eval('#tabs button.on', (b) => b.dataset.tab);
    await page.keyboard.press('3');
    const tab3 = await page.$eval('#tabs button.on', (b) => b.dataset.tab);
    check(tab1 === 'request' && tab3 === 'response', '] goes to the next tab, 3 to the third', tab1 + ' ' + tab3);

    const h0 = await page.$eval('#detail', (d) => d.getBoundingClientRect().height);
    await page.keyboard.press('+');
    await page.waitForTimeout(100);
    const h1 = await page.$eval('#detail', (d) => d.getBoundingClientRect().height);
    check(h1 > h0 + 30, '+ makes the detail pane bigger', h0 + ' → ' + h1);
    await page.keyboard.press('g');
    await page.waitForSelector('#list-rows .row.grouprow', { timeout: 3000 }).catch(() => {});
    await page.keyboard.press('z');
    await page.waitForSelector('#list-rows .row.grouprow.collapsed', { timeout: 3000 }).catch(() => {});
    const folded = await page.$$eval('#list-rows .row:not([hidden])', (rs) => rs.map((r) => r.className.includes('grouprow') ? 'g' + (r.className.includes('collapsed') ? '-' : '+') : 'f'));
    check(folded.join(' ') === 'g-', 'g groups by client, z folds the selected flow\'s group', folded.join(' '));
    await page.keyboard.press('g');
    await waitRows(page, (r) => r.length >= 4);
    await page.keyboard.press('Home');

    await page.keyboard.press('c');
    await page.waitForFunction(() => document.getElementById('dlg').open, null, { timeout: 5000 }).catch(() => {});
    const curl = await page.$eval('#dlg-text', (t) => t.value);
    check(/^curl .*\/user\?v=1/m.test(curl), 'c copies the request as curl', curl);
    await page.keyboard.press('Escape');
    await dlgGone('dlg');

    await page.keyboard.press('/');
    const act = await page.evaluate(() => document.activeElement.tagName + '#' + document.activeElement.id +
      ' dialogs open: ' + [...document.querySelectorAll('dialog')].filter((d) => d.open).map((d) => d.id).join(','));
    check(act.startsWith('INPUT#filter'), '/ focuses the filter', act);
    await page.keyboard.type('v=2');
    const one = await waitRows(page, (r) => r.length === 1);
    check(one.length === 1 && /v=2/.test(one[0].cells.path), 'typing there filters the list', JSON.stringify(one.map((r) => r.cells.path)));
    await page.keyboard.press('Escape');
    const back = await waitRows(page, (r) => r.length >= 4);
    check(back.length >= 4 && await page.$eval('#filter', (f) => f.value) === '', 'Esc in the filter clears it');
    await page.evaluate(() => document.activeElement.blur());

    await page.keyboard.press('e');
    const errs = await waitRows(page, (r) => r.length === 1);
    check(await page.$eval('#f-errors', (c) => c.checked) && errs.length === 1 && /missing/.test(errs[0].cells.path),
      'e turns errors only on (the 404 is left)', JSON.stringify(errs.map((r) => r.cells.path)));
    await page.keyboard.press('e');
    await waitRows(page, (r) => r.length >= 4);

    await page.keyboard.press('o');
    const sorted = await page.$eval('#list-head .c.sorted', (h) => h.dataset.sort).catch(() => '');
    check(sorted === 'start', 'o sorts by the next column', sorted);
    await page.evaluate(() => localStorage.removeItem('httpeek.sort'));

    // mark the selected flow, move, mark again: Compare opens
    await page.keyboard.press('Home');
    await page.keyboard.press('m');
    await page.keyboard.press('j');
    await page.keyboard.press('m');
    await page.waitForSelector('#compare-body [data-part="head"]', { timeout: 5000 }).catch(() => {});
    const t = await page.$eval('#compare-title', (e) => e.textContent);
    check(await open('compare-dlg') && /^Compare #\d+ with #\d+$/.test(t), 'm on two flows opens Compare', t);
    await page.keyboard.press('Escape');
    await dlgGone('compare-dlg');
    await page.keyboard.press('x');
    await page.waitForFunction(() => document.getElementById('compare-dlg').open, null, { timeout: 3000 }).catch(() => {});
    check(await open('compare-dlg'), 'x opens it again');
    await page.keyboard.press('Escape');
    await dlgGone('compare-dlg');

    // issue 20's actions, each from the keyboard
    const listed2 = await page.evaluate(() => { window.HP && document.getElementById('b-keys').click(); return document.getElementById('keys-list').textContent; });
    const kbds2 = await page.$$eval('#keys-list kbd', (ks) => ks.map((k) => k.textContent));
    check(['Repeat: send', 'Repeat…', 'Edit and resend', 'New request', 'Breakpoints panel', 'Execute: send it as edited', 'Continue unchanged', 'Abort']
      .every((x) => listed2.includes(x)) && ['a', 'Shift+a', 'Shift+e', 'n', 'Shift+b', 'Ctrl+Enter', 'Alt+C', 'Alt+A', 'Alt+N'].every((k) => kbds2.includes(k)),
    'the overlay lists Repeat, Repeat…, Edit and resend, New request, Breakpoints and the paused exchange\'s actions with their keys', kbds2.join(' '));
    await page.keyboard.press('Escape');
    await dlgGone('keys-dlg');
    await page.keyboard.press('Home');
    await page.waitForFunction((id) => new RegExp('flow #' + id + ' selected').test(document.getElementById('st-sel').textContent), first, { timeout: 3000 }).catch(() => {});
    // "a" repeats the flow compose.js last heard of ('hp-detail'), which select() (web/detail.js)
    // sends after a 40 ms timer and a fetch: until then it is the flow selected before. Wait for
    // the detail shown to be the first flow's (detail.js sets it and sends 'hp-detail' in one step);
    // if it never is, "a" repeats another flow and the check below says so.
    await page.waitForFunction((id) => { const d = window.HP.currentFlow(); const b = document.getElementById('b-repeat');
      return d && d.id === id && b && !b.hidden; }, first, { timeout: 5000 }).catch(() => {});
    const src = await sel();
    await page.keyboard.press('a');
    await page.waitForFunction(() => /sent again: #\d+/.test(document.getElementById('repeat-note').textContent), null, { timeout: 5000 }).catch(() => {});
    const again = +((/#(\d+)/.exec(await page.$eval('#repeat-note', (n) => n.textContent)) || [])[1] || 0);
    const rf = again ? await getJSON(process.env.VIEWER + 'api/flows/' + again) : {};
    check(again > 0 && rf._replay_of === src, 'a repeats the selected flow (a new flow, repeat of it)', again + ' ' + rf._replay_of + ' ' + src);

    await page.keyboard.press('A');
    await page.waitForSelector('#repeat-dlg[open]', { timeout: 3000 }).catch(() => {});
    check(await open('repeat-dlg'), 'Shift+A opens Repeat…');
    await page.focus('#rp-count');
    await page.keyboard.press('Control+a');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /new flows?/.test(document.getElementById('rp-result').textContent), null, { timeout: 8000 }).catch(() => {});
    const rpr = await page.$eval('#rp-result', (n) => n.textContent);
    check(/^3 new flows/.test(rpr), 'Enter there repeats it 3 times', rpr);
    await page.keyboard.press('Escape');
    await dlgGone('repeat-dlg');

    await page.keyboard.press('E');
    await page.waitForSelector('#compose-dlg[open]', { timeout: 3000 }).catch(() => {});
    const eurl = await page.$eval('#cp-url', (u) => u.value).catch(() => '');
    check(await open('compose-dlg') && /\/user\?v=1$/.test(eurl), 'Shift+E opens the selected request in the editor', eurl);
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => { const b = document.getElementById('cp-response'); return b && !b.hidden && /200/.test(document.getElementById('cp-status').textContent); }, null, { timeout: 8000 }).catch(() => {});
    check(/200/.test(await page.$eval('#cp-status', (n) => n.textContent).catch(() => '')), 'Ctrl+Enter in the editor sends it: the response is shown in place');
    await page.keyboard.press('Escape');
    await dlgGone('compose-dlg');
    await page.keyboard.press('n');
    await page.waitForSelector('#compose-dlg[open]', { timeout: 3000 }).catch(() => {});
    check(await open('compose-dlg') && await page.$eval('#cp-url', (u) => u.value) === '', 'n opens the editor on a new, empty request');
    await page.keyboard.press('Escape');
    await dlgGone('compose-dlg');

    await page.keyboard.press('B');
    await page.waitForSelector('#bp-dlg[open]', { timeout: 3000 }).catch(() => {});
    check(await open('bp-dlg'), 'Shift+B opens the Breakpoints panel');
    await page.evaluate(() => window.HP && fetch('/api/breakpoints', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ match: { host: 'cmp.test', path: '/echo' }, phase: 'request' }) }));
    const pausedN = (n) => page.waitForFunction((k) => document.querySelectorAll('#bp-paused .bp-paused-item').length === k &&
      !document.getElementById('bp-editor').hidden, n, { timeout: 8000 }).then(() => true).catch(() => false);
    const c1 = viaProxy(['-H', 'Content-Type: application/json', '--data-binary', '{"a":1}', process.env.BASE + '/echo?one']);
    const c2 = viaProxy([process.env.BASE + '/echo?two']);
    check(await pausedN(2), 'two curl requests paused; the panel edits the first');
    const title = () => page.$eval('#bp-ed-line', (e) => e.value);
    const firstLine = await title();
    await page.keyboard.press('Alt+n');
    await page.waitForFunction((t) => document.getElementById('bp-ed-line').value !== t, firstLine, { timeout: 3000 }).catch(() => {});
    const second = await title();
    check(firstLine !== second, "Alt+N brings the next paused exchange into the editor", firstLine + " / " + second);
    for (let i = 0; i < 3 && !/echo\?two/.test(await title()); i++) { // the GET into the editor
      await page.keyboard.press('Alt+n');
      await page.waitForTimeout(100);
    }
    await page.keyboard.press('Alt+c'); // the GET in the editor goes on unchanged
    const r2 = await Promise.race([c2, c1.then(() => ({ code: -1, out: 'the POST ended first' }))]);
    let got2 = {};
    try { got2 = JSON.parse(r2.out); } catch (e) { /* shown below */ }
    check(r2.code === 0 && got2.path === '/echo?two', 'Alt+C continues it unchanged: curl got the response', JSON.stringify(r2));
    await page.waitForFunction(() => !document.getElementById('bp-editor').hidden && /echo\?one/.test(document.getElementById('bp-ed-line').value), null, { timeout: 8000 }).catch(() => {});
    await page.focus('#bp-ed-body');
    await page.keyboard.press('Control+a');
    await page.keyboard.type('{"a":2}');
    await page.keyboard.press('Control+Enter'); // from inside the text field
    const r1 = await c1;
    let got = {};
    try { got = JSON.parse(r1.out); } catch (e) { /* shown below */ }
    check(r1.code === 0 && got.body === '{"a":2}', 'Ctrl+Enter executes the edited request from its body field: the server got the edit', JSON.stringify(r1));
    const c3 = viaProxy([process.env.BASE + '/echo?three']);
    await page.waitForFunction(() => !document.getElementById('bp-editor').hidden && /echo\?three/.test(document.getElementById('bp-ed-line').value), null, { timeout: 8000 }).catch(() => {});
    await page.keyboard.press('Alt+a'); // the default way: connection lost (-1005)
    const r3 = await c3;
    check(r3.code === 52 || r3.code === 56, 'Alt+A aborts it: curl sees the connection lost', JSON.stringify(r3));
    check(!errors.length, 'no error in the page', errors.join('\n'));
  } catch (e) {
    threw('viewer-keys.js ran to the end', e, errors);
  } finally {
    await browser.close();
  }
  ok(done === PLAN, 'viewer-keys.js ran every check of its plan (' + done + ' of ' + PLAN + ')');
  process.exit(0);
})();
