#!/usr/bin/env node
// viewer-keys.js — the viewer driven by the keyboard alone in headless Chromium
// (playwright-core), from tests/e2e/88-viewer-compare.sh: "?" opens the overlay listing the
// shortcuts (and Esc closes it), j/k move through the list and open the flow, ] and 3 switch
// tabs, + grows the detail pane, g groups and z folds a group, c copies the request as curl, / focuses the filter and Esc there clears it, e toggles
// errors only, o changes the sort, m marks two flows and the second opens Compare.
// Environment: VIEWER, ART (screenshot directory).
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));
const { ok, rows, waitRows } = require('./common');

const PLAN = 19;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
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
    check(!errors.length, 'no error in the page', errors.join('\n'));
  } catch (e) {
    ok(false, 'viewer-keys.js ran to the end', e.stack || String(e));
  } finally {
    await browser.close();
  }
  ok(done === PLAN, 'viewer-keys.js ran every check of its plan (' + done + ' of ' + PLAN + ')');
  process.exit(0);
})();
