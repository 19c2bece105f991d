#!/usr/bin/env node
// viewer-breakpoints.js — the viewer's Breakpoints panel (web/breakpoints.js) in headless
// Chromium (playwright-core), driven by tests/e2e/87-viewer-breakpoints.sh with curl as the app:
// a breakpoint added from the panel; a curl POST paused — the panel opens on it at once with the
// JSON body pretty-printed and the app's -1001 countdown — edited (a header and a JSON field) and
// executed: the server received the edit (echoed) and curl got the response; a response paused
// and aborted as -1005: curl sees the connection lost; a pause left until curl gives up
// (--max-time 3): the panel drops it and the flow says -1001. Environment: VIEWER (URL), PROXY
// (host:port), BASE (http://upstream.test:PORT), ART (screenshot directory). Output: "ok - " /
// "not ok - " lines for lib.sh's node_tap.
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const { ok, getJSON, launchChromium } = require('./common');

const PLAN = 12;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

// curl through the proxy: resolves {code (exit status), out (stdout)}
function curl(args) {
  return new Promise((resolve) => {
    const c = spawn('curl', ['-sS', '-x', process.env.PROXY, ...args]);
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('close', (code) => resolve({ code, out }));
  });
}

// The newest flow in the session. curl's answer can come before the store committed its flow:
// ask again (up to 5 s) until the newest flow is newer than flow #after and a whole record whose
// pauses are written.
async function lastFlow(viewer, after = 0) {
  let f = {};
  for (let i = 0; i < 50; i++) {
    const list = await getJSON(viewer + 'api/flows');
    if (list.length) {
      f = await getJSON(viewer + 'api/flows/' + Math.max(...list.map((s) => s.id)));
      if (f.id > after && f.request && f._breakpoints) return f;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return f;
}

(async () => {
  const browser = await launchChromium();
  const art = process.env.ART, base = process.env.BASE, viewer = process.env.VIEWER;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(viewer, { waitUntil: 'load' });
    await page.waitForSelector('#b-breakpoints', { timeout: 5000 });
    await page.click('#b-breakpoints');
    await page.fill('#bp-f-pattern', 'upstream.test');
    await page.selectOption('#bp-f-method', 'POST');
    await page.selectOption('#bp-f-phase', 'request');
    await page.click('#bp-add');
    await page.waitForSelector('#bp-list .bp-row', { timeout: 5000 });
    const bps = await getJSON(viewer + 'api/breakpoints');
    check(bps.breakpoints.length === 1 && bps.breakpoints[0].match.method === 'POST', 'a breakpoint added from the panel', JSON.stringify(bps));
    await page.click('#bp-close');

    // a POST paused: the panel opens on it by itself
    const posted = curl(['--max-time', '30', '-H', 'Content-Type: application/json', '-H', 'X-Mode: original',
      '--data-binary', '{"user":"ann","plan":"free"}', base + '/echo']);
    await page.waitForSelector('#bp-editor:not([hidden])', { timeout: 10000 });
    const body = await page.$eval('#bp-ed-body', (t) => t.value);
    check(body === JSON.stringify({ user: 'ann', plan: 'free' }, null, 2), 'the paused request opens at once, its JSON body pretty-printed', body);
    check(!(await page.$eval('#bp-badge', (b) => b.hidden)) && /Paused: 1/.test(await page.$eval('#bp-badge', (b) => b.textContent)), 'the toolbar badge counts the pause');
    await page.waitForFunction(() => /-1001/.test(document.getElementById('bp-countdown').textContent), null, { timeout: 3000 }).catch(() => {});
    const cd = await page.$eval('#bp-countdown', (t) => t.textContent);
    check(/gives up in \d+ s with -1001/.test(cd), 'a countdown names the app\'s timeout and -1001', cd);
    if (art) await page.screenshot({ path: path.join(art, '87-breakpoint-paused.png') });
    const hdrs = await page.$eval('#bp-ed-headers', (t) => t.value);
    await page.fill('#bp-ed-headers', hdrs.replace('X-Mode: original', 'X-Mode: edited'));
    await page.fill('#bp-ed-body', body.replace('"free"', '"pro"'));
    await page.click('#bp-execute');
    const r1 = await posted;
    check(r1.code === 0 && r1.out === '{"user":"ann","plan":"pro"}', 'executed: the server received the edited JSON field and curl got the response', JSON.stringify(r1));
    const f1 = await lastFlow(viewer);
    check(f1.request.headers.some((h) => h.name === 'X-Mode' && h.value === 'edited') && f1._breakpoints && f1._breakpoints[0].edited === true,
      'the edited header went out; the flow says edited at breakpoint', JSON.stringify(f1.request.headers), JSON.stringify(f1._breakpoints));
    await page.waitForSelector('#bp-editor', { state: 'hidden', timeout: 5000 });
    check(await page.$eval('#bp-badge', (b) => b.hidden), 'once resumed, the badge goes');

    // a response paused and aborted as -1005
    await page.fill('#bp-f-pattern', 'upstream.test');
    await page.selectOption('#bp-f-method', 'GET');
    await page.selectOption('#bp-f-phase', 'response');
    await page.click('#bp-add');
    // the panel's POST is asynchronous: the request goes once the breakpoint is in force
    for (let i = 0; i < 50; i++) {
      const now = await getJSON(viewer + 'api/breakpoints');
      if (now.breakpoints.some((b) => b.phase === 'response')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const got = curl(['--max-time', '30', '-o', '/dev/null', base + '/headers']);
    await page.waitForFunction(() => /Response paused/.test(document.getElementById('bp-ed-title').textContent) &&
      !document.getElementById('bp-editor').hidden, null, { timeout: 10000 });
    check(/^200 /.test(await page.$eval('#bp-ed-line', (i) => i.value)), 'the paused response shows its status line');
    if (art) await page.screenshot({ path: path.join(art, '87-breakpoint-response.png') });
    await page.selectOption('#bp-abort-how', '-1005');
    await page.click('#bp-abort');
    const r2 = await got;
    check(r2.code === 52, 'abort -1005: curl sees the connection lost (empty reply)', JSON.stringify(r2));
    const f2 = await lastFlow(viewer, f1.id || 0);
    check(f2.diagnosis && f2.diagnosis.code === -1005, 'the flow says -1005', JSON.stringify(f2.diagnosis));

    // left paused until curl gives up
    const gaveUp = curl(['--max-time', '3', '-o', '/dev/null', '--data-binary', 'x', base + '/echo']);
    await page.waitForSelector('#bp-editor:not([hidden])', { timeout: 10000 });
    const r3 = await gaveUp;
    await page.waitForSelector('#bp-editor', { state: 'hidden', timeout: 5000 }).catch(() => {});
    check(r3.code === 28 && await page.$eval('#bp-editor', (e) => e.hidden), 'curl gave up (--max-time 3) and the panel dropped the pause', JSON.stringify(r3));
    await new Promise((res) => setTimeout(res, 300));
    const f3 = await lastFlow(viewer, f2.id || 0);
    check(f3.diagnosis && f3.diagnosis.code === -1001 && f3.failure.closed_by === 'client', 'the flow says -1001 from the client side', JSON.stringify(f3.failure));
    if (art) await page.screenshot({ path: path.join(art, '87-breakpoint-gave-up.png') });
  } catch (e) {
    console.log('# ' + String(e.stack || e).split('\n').join('\n# '));
  } finally {
    for (; done < PLAN; done++) ok(false, 'check not reached');
    await browser.close();
  }
})();
