#!/usr/bin/env node
// viewer-links.js — the detail pane's "Related flows" in headless Chromium (playwright-core),
// driven by tests/e2e/51-links.sh, which has recorded the playlist /live/v1/index.m3u8 (flow
// PLAYLIST) and its failed segment s1.ts?sig=abc (flow SEGMENT). Environment: VIEWER (URL), PLAYLIST, SEGMENT, SCREENSHOT (optional).
// Output: "ok - " / "not ok - " lines and "# " details for lib.sh's node_tap; always exits 0
// after its 5 checks (a check it could not reach is printed as failed).
'use strict';
const { ok, waitRows, launchChromium } = require('./common');

const PLAN = 5;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

// the Related list once the detail of the flow whose URL ends with urlEnd is shown
async function related(page, urlEnd) {
  await page.waitForFunction((t) => {
    const u = document.querySelector('#d-title .u');
    return u && u.textContent.endsWith(t) && document.querySelector('.related');
  }, urlEnd, { timeout: 5000 }).catch(() => {});
  return page.$$eval('.related li', (ls) => ls.map((l) => l.dataset.rel + ' ' +
    (l.querySelector('.flow-link') ? l.querySelector('.flow-link').textContent : '-')));
}

(async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(process.env.VIEWER, { waitUntil: 'load' });
    const P = +process.env.PLAYLIST, S = +process.env.SEGMENT;
    const rs = await waitRows(page, (r) => r.some((x) => x.id === P));
    check(rs.some((x) => x.id === P), 'the playlist is in the list');
    await page.click(`#list-rows .row[data-id="${P}"]`);
    const r1 = await related(page, '/live/v1/index.m3u8');
    check(r1.includes('hls-failed #' + S), `the playlist's detail lists its failed segment #${S} under Related flows`, r1.join(', '));
    const warn = await page.$eval(`.diag.warn[data-kind="hls"] .flow-link`, (a) => a.textContent).catch(() => '');
    check(warn === '#' + S, `the playlist's hls warning links to #${S}`, 'got ' + warn);
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    await page.click(`.related li[data-rel="hls-failed"] .flow-link`);
    const r2 = await related(page, '/live/v1/s1.ts?sig=abc');
    const sel = await page.$eval('#st-sel', (e) => e.textContent).catch(() => '');
    check(sel.startsWith(`flow #${S} selected`), `clicking #${S} opens flow ${S}`, 'status line: ' + sel);
    check(r2.includes('hls-playlist #' + P), `flow ${S} links back to its playlist #${P}`, r2.join(', '));
  } catch (e) {
    console.log('# ' + String(e.stack || e).split('\n').join('\n# '));
  } finally {
    for (; done < PLAN; done++) ok(false, 'check not reached');
    await browser.close();
  }
})();
