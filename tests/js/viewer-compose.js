#!/usr/bin/env node
// viewer-compose.js — compose and edit-and-resend from the viewer (web/compose.js) in headless
// Chromium (playwright-core), driven by tests/e2e/85-viewer-replay.sh: "New request" composes a
// POST from scratch with a JSON body, Send shows the response in place (status, headers, the
// echoed body) and the flow appears in the list marked "composed"; "Edit and resend" opens a
// captured request with its method, URL, headers and body, an edited header reaches the
// server; a bad header line is refused before sending; the history survives a reload and loads
// an entry back. Environment: VIEWER (URL), ECHO (URL of the upstream's /echo), HEADERS (URL of
// its /headers), ART (screenshot directory).
'use strict';
const path = require('path');
const { ok, getJSON, waitRows, launchChromium } = require('./common');

(async () => {
  const browser = await launchChromium();
  const art = process.env.ART, web = process.env.VIEWER.replace(/\/$/, '');
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(web + '/', { waitUntil: 'load' });
    await page.waitForSelector('#b-compose', { timeout: 5000 });

    // from scratch
    await page.click('#b-compose');
    await page.fill('#cp-method', 'POST');
    await page.fill('#cp-url', process.env.ECHO);
    await page.fill('#cp-headers', 'Content-Type: application/json\nX-From: viewer');
    const body = '{"user":{"name":"Ada","plan":"free"}}';
    await page.fill('#cp-body', body);
    await page.click('#cp-send');
    // showResponse (web/compose.js) writes the status line, then awaits the body's own fetch
    // before it fills #cp-resp-body: wait for both, or the body is read while still empty
    await page.waitForFunction(() => /^200/.test(document.getElementById('cp-status').textContent) &&
      document.getElementById('cp-resp-body').textContent !== '', null, { timeout: 10000 }).catch(() => {});
    const status = await page.$eval('#cp-status', (n) => n.textContent);
    ok(/^200 OK/.test(status), 'Send: the response status shows in place', status);
    const shownBody = await page.$eval('#cp-resp-body', (n) => n.textContent);
    ok(shownBody === body, 'the response body in place is what the server echoed: it got the body', shownBody);
    const heads = await page.$$eval('#cp-resp-headers th', (ts) => ts.map((t) => t.textContent));
    ok(heads.includes('X-Body-Length'), 'the response headers show in place', heads.join(','));
    if (art) await page.screenshot({ path: path.join(art, '85-compose-response.png') });
    const id = +(await page.$eval('#cp-open', (b) => b.dataset.id));
    const d = await getJSON(web + '/api/flows/' + id);
    ok(d._composed === true && d.method === 'POST' && d.request.headers.some((h) => h.name === 'X-From' && h.value === 'viewer'),
      'the flow is marked _composed, a POST with the headers typed', JSON.stringify([d._composed, d.method]));
    let rs = await waitRows(page, (r) => r.some((x) => x.id === id));
    const row = rs.find((x) => x.id === id);
    ok(row && /· composed$/.test(row.cells.path), 'the new flow appears in the list marked "composed"', row && row.cells.path);

    // a header line that is not "Name: value" is refused here
    await page.fill('#cp-headers', 'no colon here');
    await page.click('#cp-send');
    const bad = await page.$eval('#cp-note', (n) => n.textContent);
    ok(/header line 1 is not "Name: value"/.test(bad), 'a bad header line is refused before sending', bad);
    await page.click('#cp-close');

    // edit and resend a captured request
    rs = await waitRows(page, (r) => r.some((x) => x.cells.path === '/headers?from=curl'));
    const cap = rs.find((x) => x.cells.path === '/headers?from=curl');
    await page.click(`#list-rows .row[data-id="${cap.id}"]`);
    await page.waitForSelector('#b-edit:not([hidden])', { timeout: 5000 });
    await page.waitForFunction((id) => document.getElementById('d-title').textContent.includes('from=curl'), cap.id, { timeout: 5000 });
    await page.click('#b-edit');
    await page.waitForSelector('#compose-dlg[open]', { timeout: 5000 });
    const url = await page.$eval('#cp-url', (i) => i.value);
    const hdrs = await page.$eval('#cp-headers', (i) => i.value);
    ok(url === process.env.HEADERS + '?from=curl' && /^X-Token: old$/m.test(hdrs), 'Edit and resend opens the captured URL and headers', url + ' | ' + hdrs);
    ok(/edited from flow #\d+/.test(await page.$eval('#cp-origin', (n) => n.textContent)), 'the editor says which flow it came from');
    await page.fill('#cp-headers', hdrs.replace(/^X-Token: old$/m, 'X-Token: edited'));
    await page.click('#cp-send');
    await page.waitForFunction(() => /^200/.test(document.getElementById('cp-status').textContent) &&
      /edited/.test(document.getElementById('cp-resp-body').textContent), null, { timeout: 10000 }).catch(() => {});
    const echoed = await page.$eval('#cp-resp-body', (n) => n.textContent);
    let got = [];
    try { got = JSON.parse(echoed).headers.filter(([n]) => n === 'X-Token').map(([, v]) => v); } catch (e) { /* below */ }
    ok(got.length === 1 && got[0] === 'edited', 'the edited header reached the server (its /headers answer says so)', echoed.slice(0, 300));
    if (art) await page.screenshot({ path: path.join(art, '85-edit-resend.png') });

    // history survives a reload
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#b-compose', { timeout: 5000 });
    await page.click('#b-compose');
    const hist = await page.$$eval('#cp-history .cp-hist', (bs) => bs.map((b) => b.textContent));
    ok(hist.length === 2 && hist[0].startsWith('GET ' + process.env.HEADERS) && hist[1] === 'POST ' + process.env.ECHO,
      'the history lists both requests sent, newest first, after a reload', hist.join(' | '));
    await page.click('#cp-history .cp-hist[data-i="1"]');
    ok(await page.$eval('#cp-body', (t) => t.value) === body && await page.$eval('#cp-method', (t) => t.value) === 'POST',
      'a history entry loads back into the editor (method, body)');
    if (art) await page.screenshot({ path: path.join(art, '85-compose-history.png') });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(web + '/', { waitUntil: 'load' });
    await phone.waitForSelector('#b-compose', { timeout: 5000 });
    await phone.click('#b-compose');
    const over = await phone.$eval('#compose-dlg', (d) => d.scrollWidth > d.clientWidth + 1);
    ok(!over, 'on an iPhone-size screen the editor has no horizontal overflow');
    if (art) await phone.screenshot({ path: path.join(art, '85-compose-phone.png') });
  } catch (e) {
    ok(false, 'the compose test ran to its end', e.stack || String(e));
  } finally {
    await browser.close();
  }
})();
