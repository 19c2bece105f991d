#!/usr/bin/env node
// viewer-tls-facts.js — the TLS tab's session-level and upstream facts in headless Chromium,
// driven by tests/e2e/81-client-cert.sh: for the newest flow whose URL contains FLOW_URL_PART,
// the upstream leg shows the client certificate httpeek sent (EXPECT_CLIENT_CERT) and the tab
// says the connection's TLS secrets go to the key log (EXPECT_KEYLOG). Fixed plan.
// Output: "ok - DESC" / "not ok - DESC" and "# ..." lines (lib.sh node_tap).
'use strict';
const { ok, getJSON, launchChromium } = require('./common');

const WEB = process.env.VIEWER_URL;

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
    await page.click('#tabs button[data-tab="tls"]');
    await page.waitForFunction(() => { const n = document.querySelector('#d-body .tls-keylog'); return n && !n.hidden; }, null, { timeout: 5000 }).catch(() => {});
    const tab = await page.$eval('#d-body', (b) => ({
      keylog: ((b.querySelector('.tls-keylog:not([hidden])') || {}).textContent) || '',
      sent: Object.fromEntries([...b.querySelectorAll('.tls-client-cert table.kv tr')].map((t) => [t.children[0].textContent, t.children[1].textContent])),
    }));
    ok(tab.keylog.startsWith('TLS secrets of this connection are written to the key log ' + process.env.EXPECT_KEYLOG),
      'the TLS tab says the connection\'s secrets go to the key log, naming the file', JSON.stringify(tab));
    ok(tab.sent['Certificate subject'] === process.env.EXPECT_CLIENT_CERT,
      `the TLS tab shows the client certificate sent upstream (${tab.sent['Certificate subject']})`, JSON.stringify(tab));
    ok(errors.length === 0, 'no script errors in the viewer', errors.join('\n'));
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.log('not ok - viewer-tls-facts.js crashed'); console.log('# ' + String(e.stack || e)); process.exitCode = 1; });
