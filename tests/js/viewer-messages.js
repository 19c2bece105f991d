#!/usr/bin/env node
// viewer-messages.js — a WebSocket's Messages tab in headless Chromium (playwright-core), driven
// by tests/e2e/53-websocket.sh while the socket of flow FLOW is still open (ws-peers.js
// --late-file: one more message, "late message", goes both ways once this creates LATE_FILE).
// Environment: VIEWER (URL), FLOW, LATE_FILE, SCREENSHOT (optional). Output: "ok - " / "not ok - " lines and "# " details for
// lib.sh's node_tap; always exits 0 after its checks (one it could not reach is printed failed).
'use strict';
const { ok, waitRows, launchChromium } = require('./common');

const PLAN = 9;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

async function msgRows(page) {
  return page.$$eval('.ws-row', (rs) => rs.map((r) => ({
    dir: r.querySelector('.ws-dir').textContent, type: r.querySelector('.ws-type').textContent,
    prev: r.querySelector('.ws-prev').textContent,
  })));
}
async function waitMsgs(page, pred, ms = 8000) {
  const t0 = Date.now();
  let rs = [];
  while (Date.now() - t0 < ms) {
    rs = await msgRows(page);
    if (pred(rs)) return rs;
    await page.waitForTimeout(100);
  }
  return rs;
}

(async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const F = +process.env.FLOW;
    await page.goto(process.env.VIEWER, { waitUntil: 'load' });
    const rs = await waitRows(page, (r) => r.some((x) => x.id === F));
    await page.click(`#list-rows .row[data-id="${F}"]`);
    await page.waitForFunction(() => document.querySelector('#tab-messages') && !document.querySelector('#tab-messages').hidden,
      null, { timeout: 5000 }).catch(() => {});
    const shown = await page.$eval('#tab-messages', (b) => !b.hidden).catch(() => false);
    check(rs.some((x) => x.id === F) && shown, 'a WebSocket flow has a Messages tab');
    await page.click('#tab-messages');
    let m = await waitMsgs(page, (r) => r.length >= 16);
    check(m.length >= 16 && m.some((r) => r.dir === '↑' && r.prev.startsWith('hello ✓')) &&
      m.some((r) => r.dir === '↓' && r.type === 'pong'),
      'the tab lists the messages both ways, with direction and type', JSON.stringify(m.slice(0, 4)));
    const facts = await page.$eval('.ws-facts', (e) => e.textContent).catch(() => '');
    check(/open/.test(facts) && /permessage-deflate/.test(facts), 'it says the socket is open and deflated: ' + facts);
    await page.selectOption('#ws-dir', 'client');
    m = await msgRows(page);
    check(m.length > 0 && m.every((r) => r.dir === '↑'), 'the direction filter shows only what the client sent', m.length);
    await page.selectOption('#ws-dir', '');
    await page.fill('#ws-find', 'frag-two');
    m = await msgRows(page);
    check(m.length === 2 && m.every((r) => r.prev === 'frag-one frag-two frag-three'),
      'the text filter finds the reassembled fragmented message both ways', JSON.stringify(m));
    await page.fill('#ws-find', '');
    await page.click('.ws-row:has-text("\\"kind\\":\\"json\\"")');
    const json = await page.$eval('.ws-data', (e) => e.className + '|' + e.textContent).catch(() => '');
    check(json.startsWith('ws-data json|') && json.includes('"n": 42'), 'a JSON message opens pretty-printed', json.slice(0, 80));
    await page.click('.ws-views button[data-view="hex"]');
    const hx = await page.$eval('.ws-data', (e) => e.textContent).catch(() => '');
    check(/^00000000  7b 22 6b 69/.test(hx), 'the hex view dumps its bytes', hx.slice(0, 60));
    const before = (await msgRows(page)).filter((x) => x.prev === 'late message').length;
    require('fs').writeFileSync(process.env.LATE_FILE, ''); // the client sends its late message now
    m = await waitMsgs(page, (r) => r.filter((x) => x.prev === 'late message').length === 2, 12000);
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    check(before === 0 && m.filter((x) => x.prev === 'late message').length === 2,
      'a message sent while the tab is open appears by itself, both ways', before, m.length);
    // the client closes right after: the live event stream updates the flow, the tab says so
    await page.waitForFunction(() => /closed · close 1000/.test((document.querySelector('.ws-facts') || {}).textContent || ''),
      null, { timeout: 8000 }).catch(() => {});
    const end = await page.$eval('.ws-facts', (e) => e.textContent).catch(() => '');
    const row = await page.$eval(`#list-rows .row[data-id="${F}"] .c-time`, (e) => e.textContent).catch(() => '');
    check(/closed · close 1000 “done” by client/.test(end) && /s$/.test(row),
      'when it closes the tab says so, and the list row shows its duration: ' + end + ' / ' + row);
  } catch (e) {
    console.log('# ' + String(e.stack || e).split('\n').join('\n# '));
  } finally {
    for (; done < PLAN; done++) ok(false, 'check not reached');
    await browser.close();
  }
})();
