#!/usr/bin/env node
// viewer-repeat.js — Repeat from the viewer (web/compose.js) in headless Chromium
// (playwright-core), driven by tests/e2e/85-viewer-replay.sh: a curl flow opened, "Repeat" (one
// click) makes a new flow shown in the list marked "repeat of #id", "Repeat…" x20 at
// concurrency 4 makes 20 more (the dialog says so, the API and the list agree), and a tunnel
// shows no Repeat button. Environment: VIEWER (URL), ART (screenshot directory). Output:
// "ok - " / "not ok - " lines for lib.sh's node_tap.
'use strict';
const path = require('path');
const { ok, getJSON, waitRows, launchChromium } = require('./common');

(async () => {
  const browser = await launchChromium();
  const art = process.env.ART, web = process.env.VIEWER.replace(/\/$/, '');
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(web + '/', { waitUntil: 'load' });
    let rs = await waitRows(page, (r) => r.some((x) => x.cells.path === '/bytes/10?r=view'));
    const orig = rs.find((x) => x.cells.path === '/bytes/10?r=view');
    ok(orig, 'the curl flow is in the list', JSON.stringify(rs.map((r) => r.cells.path)));
    await page.click(`#list-rows .row[data-id="${orig.id}"]`);
    await page.waitForSelector('#b-repeat:not([hidden])', { timeout: 5000 });
    ok(true, 'the detail of a request shows Repeat, Repeat… and Edit and resend');

    await page.click('#b-repeat');
    await page.waitForFunction(() => /sent again: #\d+/.test(document.getElementById('repeat-note').textContent), null, { timeout: 10000 }).catch(() => {});
    const noteText = await page.$eval('#repeat-note', (n) => n.textContent);
    ok(/sent again: #\d+/.test(noteText), 'one click on Repeat: the pane names the new flow', noteText);
    const newId = +(noteText.match(/#(\d+)/) || [])[1];
    rs = await waitRows(page, (r) => r.some((x) => x.id === newId));
    const row = rs.find((x) => x.id === newId);
    ok(row && row.cells.path === '/bytes/10?r=view  · repeat of #' + orig.id, 'the new flow appears in the list marked "repeat of #' + orig.id + '"', row && row.cells.path);
    const d = await getJSON(web + '/api/flows/' + newId);
    ok(d._replay_of === orig.id && d.status === 200, 'the API agrees: _replay_of and status 200', JSON.stringify([d._replay_of, d.status]));
    if (art) await page.screenshot({ path: path.join(art, '85-repeat-once.png') });

    await page.click('#b-repeat-adv');
    await page.fill('#rp-count', '20');
    await page.fill('#rp-conc', '4');
    await page.fill('#rp-delay', '0');
    if (art) await page.screenshot({ path: path.join(art, '85-repeat-dialog.png') });
    await page.click('#rp-go');
    await page.waitForFunction(() => /new flow/.test(document.getElementById('rp-result').textContent), null, { timeout: 20000 }).catch(() => {});
    const res = await page.$eval('#rp-result', (n) => n.textContent);
    ok(/^20 new flows: #\d+–#\d+$/.test(res), 'Repeat… x20 at concurrency 4: the dialog says 20 new flows', res);
    if (art) await page.screenshot({ path: path.join(art, '85-repeat-20.png') });
    await page.click('#repeat-dlg button:not([type=submit])');
    const list = await getJSON(web + '/api/flows');
    const marked = list.filter((f) => f._replay_of === orig.id);
    ok(marked.length === 21, '21 flows in the session are repeats of #' + orig.id + ' (1 + 20)', marked.length);
    // the list is virtual: every row in view of that URL but the original is marked
    const again = (r) => r.filter((x) => x.cells.path.startsWith('/bytes/10?r=view') && x.id !== orig.id);
    rs = await waitRows(page, (r) => again(r).length >= 10 && again(r).every((x) => x.cells.path.endsWith('  · repeat of #' + orig.id)), 8000);
    ok(again(rs).length >= 10 && again(rs).every((x) => x.cells.path.endsWith('  · repeat of #' + orig.id)),
      'the list shows the repeats marked (every one in view)', again(rs).map((x) => x.cells.path).join(' | '));

    // a tunnel (not intercepted) has no request to send again
    const tun = list.find((f) => f.kind === 'tunnel');
    if (tun) {
      await page.evaluate((id) => document.dispatchEvent(new CustomEvent('hp-open-flow', { detail: id })), tun.id);
      await page.waitForFunction(() => document.getElementById('b-repeat').hidden, null, { timeout: 5000 }).catch(() => {});
      ok(await page.$eval('#b-repeat', (b) => b.hidden), 'a tunnel shows no Repeat button');
    } else ok(false, 'a tunnel flow was expected in the session');
  } catch (e) {
    ok(false, 'the Repeat test ran to its end', e.stack || String(e));
  } finally {
    await browser.close();
  }
})();
