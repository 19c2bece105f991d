#!/usr/bin/env node
// bench/viewer/measure.js URL N — load the viewer in headless Chromium against a session of N
// flows and print: navigation → first screen of rows, → all N summaries loaded, scroll
// responsiveness (random jumps and wheel scrolling), filter latency, and the JS heap.
// Figures only, no thresholds. Uses tests/js/node_modules (cd tests/js && npm ci).
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', '..', 'tests', 'js', 'node_modules', 'playwright-core'));

const URL_ = process.argv[2];
const N = +process.argv[3];

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const f1 = (x) => x.toFixed(1);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const wall0 = Date.now();
  await page.goto(URL_, { waitUntil: 'commit' });
  await page.waitForFunction(() => document.body && document.body.dataset.firstRows === '1', null, { timeout: 60000, polling: 'raf' });
  const wallFirst = Date.now() - wall0;
  await page.waitForFunction(() => document.body.dataset.loaded !== undefined, null, { timeout: 180000, polling: 100 });
  const wallAll = Date.now() - wall0;
  const marks = await page.evaluate(() => {
    const m = (n) => { const e = performance.getEntriesByName(n)[0]; return e ? e.startTime : -1; };
    const nav = performance.getEntriesByType('navigation')[0];
    return { first: m('httpeek-first-rows'), all: m('httpeek-all-loaded'), dcl: nav ? nav.domContentLoadedEventEnd : -1,
      flows: window.httpeekViewer.flows.length, rows: document.querySelectorAll('#list-rows .row[data-id]:not([hidden])').length,
      heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
      page1: performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/flows?after=0&'))
        .map((r) => [r.startTime, r.responseStart, r.responseEnd, r.transferSize])[0] || [] };
  });
  console.log(`flows in the session:             ${N} (viewer holds ${marks.flows})`);
  console.log(`navigation → DOMContentLoaded:    ${f1(marks.dcl)} ms`);
  if (marks.page1.length) console.log(`first page of 2000 summaries:      requested at ${f1(marks.page1[0])} ms, first byte ${f1(marks.page1[1])} ms, complete ${f1(marks.page1[2])} ms`);
  console.log(`navigation → first screen of rows: ${f1(marks.first)} ms (${marks.rows} rows painted; the driver saw them after ${wallFirst} ms)`);
  console.log(`navigation → all ${marks.flows} loaded:   ${f1(marks.all)} ms (wall clock ${wallAll} ms)`);
  console.log(`JS heap after loading:             ${(marks.heap / 1048576).toFixed(1)} MiB`);

  // random jumps: set scrollTop, wait until the frame that painted the new rows
  await page.click('#b-follow'); // stop following so jumps stay where they are put
  const jumps = await page.evaluate(async () => {
    const list = document.getElementById('list');
    const raf = () => new Promise((r) => requestAnimationFrame(r));
    const out = [];
    let wrong = 0;
    for (let i = 0; i < 100; i++) {
      const target = Math.floor(Math.random() * (list.scrollHeight - list.clientHeight));
      const t0 = performance.now();
      list.scrollTop = target;
      await raf(); await raf();
      out.push(performance.now() - t0);
      const idx = Math.floor(list.scrollTop / 22);
      const want = window.httpeekViewer.view[idx];
      const top = [...document.querySelectorAll('#list-rows .row[data-id]:not([hidden])')]
        .find((r) => Math.abs(r.getBoundingClientRect().top - list.getBoundingClientRect().top - (idx * 22 - list.scrollTop)) < 1);
      if (!want || !top || +top.dataset.id !== want.id) wrong++;
    }
    return { out, wrong };
  });
  console.log(`scroll jump → next frame painted (100 random jumps, two rAF waits): median ${f1(pct(jumps.out, 0.5))} ms, p95 ${f1(pct(jumps.out, 0.95))} ms, max ${f1(Math.max(...jumps.out))} ms; wrong rows: ${jumps.wrong}`);

  // wheel scrolling: frame gaps while the list scrolls
  await page.evaluate(() => {
    window.__gaps = [];
    let last = performance.now();
    window.__stop = false;
    const tick = (t) => { window.__gaps.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  await page.mouse.move(700, 300);
  const w0 = Date.now();
  for (let i = 0; i < 120; i++) { await page.mouse.wheel(0, 400); }
  const wheelMs = Date.now() - w0;
  const gaps = await page.evaluate(() => { window.__stop = true; return window.__gaps.slice(1); });
  console.log(`wheel scrolling (120 × 400 px in ${wheelMs} ms): ${gaps.length} frames, median frame ${f1(pct(gaps, 0.5))} ms, p95 ${f1(pct(gaps, 0.95))} ms, max ${f1(Math.max(...gaps))} ms, frames over 50 ms: ${gaps.filter((g) => g > 50).length}`);

  // filter latency (includes the 120 ms input debounce)
  for (const [q, desc] of [['items/4242', 'free text, few matches'], ['status:4xx', 'status class'], ['', 'cleared (all rows back)']]) {
    const t0 = Date.now();
    const before = await page.evaluate(() => window.httpeekViewer.viewIds.length);
    await page.fill('#filter', q);
    await page.waitForFunction((b) => window.httpeekViewer.viewIds.length !== b || false, before, { timeout: 10000, polling: 'raf' }).catch(() => {});
    const n = await page.evaluate(() => window.httpeekViewer.viewIds.length);
    console.log(`filter "${q}" (${desc}): ${Date.now() - t0} ms → ${n} rows (includes the 120 ms debounce)`);
  }

  // live: more flows through the proxy while the page follows them (SSE)
  const LIVE = +(process.env.LIVE_FLOWS || 0);
  if (LIVE && process.env.PROXY_PORT && process.env.UP_PORT) {
    const { spawn } = require('child_process');
    if (!(await page.$eval('#b-follow', (b) => b.classList.contains('on')))) await page.click('#b-follow');
    await page.evaluate(() => {
      window.__gaps = [];
      let last = performance.now();
      window.__stop = false;
      const tick = (t) => { window.__gaps.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    });
    const have = await page.evaluate(() => window.httpeekViewer.flows.length);
    const l0 = Date.now();
    const curl = spawn('curl', ['-s', '-o', '/dev/null', '--max-time', '300', '-x', 'http://127.0.0.1:' + process.env.PROXY_PORT,
      `http://upstream.test:${process.env.UP_PORT}/api/live/[1-${LIVE}]`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const curlDone = new Promise((r) => curl.on('exit', () => r(Date.now() - l0)));
    await page.waitForFunction((n) => window.httpeekViewer.flows.length >= n, have + LIVE, { timeout: 300000, polling: 100 });
    const seen = Date.now() - l0;
    const sent = await curlDone;
    const lg = await page.evaluate(() => { window.__stop = true; return window.__gaps.slice(1); });
    await page.waitForTimeout(100);
    const bottom = await page.evaluate(() => { const l = document.getElementById('list'); return l.scrollTop + l.clientHeight >= l.scrollHeight - 30; });
    console.log(`live: ${LIVE} more flows through the proxy in ${sent} ms (${Math.round(LIVE * 1000 / sent)}/s); all in the viewer after ${seen} ms; ` +
      `frames median ${f1(pct(lg, 0.5))} ms, p95 ${f1(pct(lg, 0.95))} ms, max ${f1(Math.max(...lg))} ms; still following the bottom: ${bottom}`);
  }

  // selecting a flow deep in the list
  const t0 = Date.now();
  await page.evaluate(() => window.httpeekViewer.select(window.httpeekViewer.flows[50000 % window.httpeekViewer.flows.length].id));
  await page.waitForFunction(() => document.querySelector('#d-body .sec'), null, { timeout: 10000 });
  console.log(`select a flow → detail shown:      ${Date.now() - t0} ms (includes the 40 ms selection debounce)`);
  if (errors.length) console.log('page errors: ' + errors.join(' | '));
  await browser.close();
})().catch((e) => { console.error('measure.js: ' + (e.stack || e)); process.exit(1); });
