#!/usr/bin/env node
// viewer-banner.js — the "session not recorded" banner (web/recording.js) in headless Chromium,
// driven by tests/e2e/52-full-disk.sh: with the session's disk full and EXPECT_COUNT flows lost,
// the banner says "Session disk full: N flows not recorded since HH:MM"; the script then prints
// "# banner-seen" and, once the test frees the disk and proxies a request, sees the banner go
// (live, from the event stream, without a reload). Fixed plan: every check below is printed,
// pass or fail.
// Output: "ok - DESC" / "not ok - DESC" and "# ..." lines (lib.sh node_tap).
'use strict';
const { ok, launchChromium } = require('./common');

const WEB = process.env.VIEWER_URL;
const COUNT = process.env.EXPECT_COUNT;

async function bannerState(page) {
  return page.evaluate(() => {
    const b = document.getElementById('recording-banner');
    if (!b) return { exists: false, visible: false, text: '' };
    const r = b.getBoundingClientRect();
    return { exists: true, visible: !b.hidden && r.height > 0, text: b.textContent, reason: b.dataset.reason || '' };
  });
}

async function waitBanner(page, pred, ms) {
  const t0 = Date.now();
  let s = await bannerState(page);
  while (!pred(s) && Date.now() - t0 < ms) {
    await page.waitForTimeout(100);
    s = await bannerState(page);
  }
  return s;
}

async function main() {
  const browser = await launchChromium();
  const errors = [];
  try {
    const page = await (await browser.newContext({ viewport: { width: 1200, height: 700 } })).newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(WEB + '/', { waitUntil: 'load' });
    const want = new RegExp('^Session disk full: ' + Number(COUNT).toLocaleString('en-US') + ' flows not recorded since \\d\\d:\\d\\d\\b');
    let s = await waitBanner(page, (x) => x.visible && want.test(x.text), 8000);
    ok(s.visible, 'the viewer shows a banner while the session disk is full', JSON.stringify(s));
    ok(want.test(s.text), `the banner says "Session disk full: ${COUNT} flows not recorded since HH:MM"`, JSON.stringify(s));
    ok(/\(\d+ waiting in memory, written when it resumes\)/.test(s.text), 'and how many of them wait in memory', JSON.stringify(s));
    ok(s.reason === 'disk_full', 'the banner carries the reason disk_full', JSON.stringify(s));
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    console.log('# banner-seen');
    s = await waitBanner(page, (x) => x.exists && !x.visible, 20000);
    ok(s.exists && !s.visible, 'the banner goes when recording resumes (live, no reload)', JSON.stringify(s));
    ok(errors.length === 0, 'no script errors in the viewer', errors.join('\n'));
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.log('not ok - viewer-banner.js crashed'); console.log('# ' + (e && e.stack || e)); process.exit(1); });
