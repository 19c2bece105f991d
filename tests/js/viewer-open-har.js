#!/usr/bin/env node
// viewer-open-har.js — Open a HAR in headless Chromium (playwright-core), driven by
// tests/e2e/89-viewer-open-har.sh after its API checks: the same HAR file picked with "Open HAR…"
// (the file input) is imported into the live session; its two flows show in the list (client
// "har"), the first is opened, and the failed one's detail shows the recomputed diagnosis -1003.
// Environment: VIEWER (with ?token=), TOKEN, HAR (the file), ART (screenshot folder).
'use strict';
const path = require('path');
const http = require('http');
const { ok, rows, launchChromium } = require('./common');

function flows(viewer) {
  return new Promise((resolve, reject) => {
    const u = new URL('/api/flows', viewer);
    http.get(u, { headers: { Authorization: 'Bearer ' + process.env.TOKEN } }, (r) => {
      let b = '';
      r.on('data', (c) => { b += c; });
      r.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

(async () => {
  const viewer = process.env.VIEWER;
  const browser = await launchChromium();
  const errors = [];
  let failed = 0;
  const check = (c, ...a) => { if (!ok(c, ...a)) failed++; };
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(viewer, { waitUntil: 'load' });
    await page.waitForFunction(() => window.httpeekViewer && window.httpeekViewer.flows.length >= 2, null, { timeout: 8000 });
    const before = (await flows(viewer)).map((f) => f.id);

    check(await page.isVisible('#b-har-open'), 'the toolbar has "Open HAR…"');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 5000 }), page.click('#b-har-open')]);
    await chooser.setFiles(process.env.HAR);
    const rs = await (async () => {
      for (let i = 0; i < 100; i++) {
        const r = await rows(page);
        if (r.length >= before.length + 2) return r;
        await page.waitForTimeout(50);
      }
      return rows(page);
    })();
    const all = await flows(viewer);
    const fresh = all.filter((f) => !before.includes(f.id)).sort((a, b) => a.id - b.id);
    check(fresh.length === 2, 'the picked file made two new flows', JSON.stringify(fresh.map((f) => f.url)));
    const okFlow = fresh.find((f) => /\/v1\/user\?id=7$/.test(f.url)) || {};
    const failFlow = fresh.find((f) => /\/track$/.test(f.url)) || {};
    const shown = rs.map((r) => r.id);
    check(shown.includes(okFlow.id) && shown.includes(failFlow.id), 'both show in the list', JSON.stringify(rs.map((r) => [r.id, r.cells])));
    const title = await page.waitForFunction((id) => {
      const t = document.getElementById('d-title');
      return t && /\/v1\/user\?id=7/.test(t.textContent) && window.httpeekViewer && t.textContent;
    }, okFlow.id, { timeout: 5000 }).then((h) => h.jsonValue()).catch(() => '');
    check(/\/v1\/user\?id=7/.test(title), 'the first imported flow is opened', title);

    await page.click('#list-rows .row[data-id="' + failFlow.id + '"]');
    await page.waitForFunction(() => /\/track/.test(document.getElementById('d-title').textContent), null, { timeout: 5000 }).catch(() => {});
    await page.waitForSelector('#d-diagnosis .diag-code, .diag-code', { timeout: 5000 }).catch(() => {});
    const code = await page.evaluate(() => {
      const c = document.querySelector('#d-diagnosis .diag-code') || document.querySelector('.diag-code');
      return c ? c.textContent : '';
    });
    check(code === '-1003', 'the failed entry\'s detail shows the recomputed diagnosis -1003', code);
    const row = (await rows(page)).find((r) => r.id === failFlow.id);
    check(row && /-1003/.test(JSON.stringify(row.cells)), 'its row says -1003 too', JSON.stringify(row));
    if (process.env.ART) await page.screenshot({ path: path.join(process.env.ART, '89-open-har.png') });
    check(!errors.length, 'no errors in the page', errors.join('\n'));
  } catch (e) {
    ok(false, 'the script ran to its end', e.stack || String(e));
    failed++;
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
