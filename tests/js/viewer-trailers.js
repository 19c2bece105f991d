#!/usr/bin/env node
// viewer-trailers.js — the Response and Request tabs show a flow's trailer section, in headless
// Chromium, driven by tests/e2e/59-trailers.sh: for the newest flow whose URL contains
// FLOW_URL_PART, a "Trailers" block under the headers lists the response's trailers
// (EXPECT_RESP: "name=value;..." in order) and the request's (EXPECT_REQ). Fixed plan.
// Output: "ok - DESC" / "not ok - DESC" and "# ..." lines (lib.sh node_tap).
'use strict';
const { ok, getJSON, launchChromium } = require('./common');

const WEB = process.env.VIEWER_URL;

async function trailersOf(page, tab) {
  await page.click(`#tabs button[data-tab="${tab}"]`);
  await page.waitForFunction(() => document.querySelector('#d-body .startline'), null, { timeout: 5000 });
  return page.$eval('#d-body', (b) => {
    const sec = [...b.querySelectorAll('section.sec')].find((s) => (s.querySelector('h4') || {}).textContent === 'Trailers');
    if (!sec) return '(no Trailers block)';
    return [...sec.querySelectorAll('table.trailers tr')].map((t) => t.children[0].textContent + '=' + t.children[1].textContent + ';').join('');
  });
}

async function main() {
  const browser = await launchChromium();
  const errors = [];
  try {
    const page = await (await browser.newContext({ viewport: { width: 1300, height: 800 } })).newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(WEB + '/', { waitUntil: 'load' });
    const flows = (await getJSON(`${WEB}/api/flows`)).filter((f) => f.url.includes(process.env.FLOW_URL_PART));
    const id = Math.max(...flows.map((f) => f.id));
    await page.waitForFunction(() => window.httpeekViewer && window.httpeekViewer.select, null, { timeout: 5000 });
    await page.evaluate((id) => window.httpeekViewer.select(id), id);
    await page.waitForFunction(() => !document.getElementById('detail').hidden, null, { timeout: 5000 });
    const resp = await trailersOf(page, 'response');
    ok(resp === process.env.EXPECT_RESP, 'the Response tab shows a Trailers block with the response\'s trailers in order', resp);
    const req = await trailersOf(page, 'request');
    ok(req === process.env.EXPECT_REQ, 'the Request tab shows a Trailers block with the request\'s trailers', req);
    ok(errors.length === 0, 'no script errors in the viewer', errors.join('\n'));
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.log('not ok - viewer-trailers.js crashed'); console.log('# ' + String(e.stack || e)); process.exitCode = 1; });
