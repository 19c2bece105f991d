#!/usr/bin/env node
// viewer-rules.js — a flow a rule touched, in headless Chromium (playwright-core), driven by
// tests/e2e/64-map-rules.sh: its list row is marked "· rule", and its Overview names the rule,
// the action and what it did. Environment: VIEWER (URL), FLOW (a flow with _rules), PLAIN (a
// flow without), SCREENSHOT (optional). Output: "ok - " / "not ok - " lines for lib.sh's node_tap.
'use strict';
const { ok, waitRows, launchChromium } = require('./common');

const PLAN = 3;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

(async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const F = +process.env.FLOW, P = +process.env.PLAIN;
    await page.goto(process.env.VIEWER, { waitUntil: 'load' });
    const rs = await waitRows(page, (r) => r.some((x) => x.id === F) && r.some((x) => x.id === P));
    const row = rs.find((x) => x.id === F), plain = rs.find((x) => x.id === P);
    check(row && /· rule$/.test(row.cells.status) && plain && !/rule/.test(plain.cells.status),
      'the list marks the flow a rule touched, and only it', row && row.cells.status, plain && plain.cells.status);
    await page.click(`#list-rows .row[data-id="${F}"]`);
    await page.waitForFunction(() => /Changed by rules/.test(document.body.textContent), null, { timeout: 5000 }).catch(() => {});
    const sec = await page.$$eval('section.sec', (ss) => (ss.find((s) => /Changed by rules/.test(s.textContent)) || {}).textContent || '');
    check(/Rule cli-1/.test(sec) && /map local: file .*user\.json \(200/.test(sec), 'the Overview names the rule and what it did: ' + sec);
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    await page.click(`#list-rows .row[data-id="${P}"]`);
    // select() (web/detail.js) loads the flow after a 40 ms timer and a fetch, and the Overview
    // shown until then is the touched flow's: wait until the detail is P's (currentFlow is set in
    // the same step that draws its Overview), then look; not shown in 5 s: no answer, a failure
    const shownP = await page.waitForFunction((id) => { const d = window.HP.currentFlow(); return d && d.id === id; }, P, { timeout: 5000 })
      .then(() => true, () => false);
    const none = await page.$$eval('section.sec', (ss) => ss.some((s) => /Changed by rules/.test(s.textContent)));
    check(shownP && !none, 'a flow no rule touched has no such section', shownP ? '' : 'flow ' + P + ' was never shown');
  } catch (e) {
    console.log('# ' + String(e.stack || e).split('\n').join('\n# '));
  } finally {
    for (; done < PLAN; done++) ok(false, 'check not reached');
    await browser.close();
  }
})();
