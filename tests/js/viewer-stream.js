#!/usr/bin/env node
// viewer-stream.js — the Overview tab's "Stream" row in headless Chromium (playwright-core),
// driven by tests/e2e/61-http2-streams.sh: flow FLOW went from an h2 client (stream CLIENT_SID)
// to an h2 server (stream UPSTREAM_SID); flow PLAIN was HTTP/1.1 both ways.
// Environment: VIEWER (URL), FLOW, CLIENT_SID, UPSTREAM_SID, PLAIN.
// Output: "ok - " / "not ok - " lines and "# " details for lib.sh's node_tap; always exits 0
// after its 2 checks (a check it could not reach is printed as failed).
'use strict';
const { ok, waitRows, launchChromium } = require('./common');

const PLAN = 2;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

// the Overview's "Stream" row of flow id ('' when it has none)
async function streamRow(page, id) {
  await page.click(`#list-rows .row[data-id="${id}"]`);
  // the Overview of that flow (its "Flow" row), not the one shown before it
  await page.waitForFunction((i) => [...document.querySelectorAll('.overview table.kv tr')].some((tr) =>
    tr.querySelector('th') && tr.querySelector('th').textContent === 'Flow' &&
    (tr.querySelector('td').textContent === `#${i}` || tr.querySelector('td').textContent.startsWith(`#${i},`))),
  id, { timeout: 5000 }).catch(() => {});
  return page.$$eval('.overview table.kv tr', (trs) => {
    const r = trs.find((tr) => tr.querySelector('th') && tr.querySelector('th').textContent === 'Stream');
    return r ? r.querySelector('td').textContent : '';
  });
}

(async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(process.env.VIEWER, { waitUntil: 'load' });
    const F = +process.env.FLOW, P = +process.env.PLAIN;
    await waitRows(page, (r) => r.some((x) => x.id === F) && r.some((x) => x.id === P));
    const want = `HTTP/2 stream ${process.env.CLIENT_SID} from the client, stream ${process.env.UPSTREAM_SID} to the server`;
    const got = await streamRow(page, F);
    check(got === want, `Overview of an h2 ↔ h2 flow: "Stream: ${want}"`, 'got: ' + got);
    const plain = await streamRow(page, P);
    check(plain === '', 'Overview of an HTTP/1.1 flow: no Stream row', 'got: ' + plain);
  } catch (e) {
    console.log('# ' + String(e.stack || e).split('\n').join('\n# '));
  } finally {
    for (; done < PLAN; done++) ok(false, 'check not reached');
    await browser.close();
  }
})();
