// common.js — what the headless viewer tests share: TAP-like output ("ok - " / "not ok - " and
// "# " diagnostics, turned into checks by lib.sh's node_tap), JSON from the API, the list's
// rows as the page shows them, and headless Chromium started the one way every test starts it.
'use strict';
const http = require('http');
const path = require('path');
const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));

// Debian's Chromium, headless, with nothing that would reach the network on its own
function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

function ok(cond, desc, ...diag) {
  console.log((cond ? 'ok - ' : 'not ok - ') + desc.replace(/[\r\n]+/g, ' '));
  if (!cond) for (const d of diag) for (const l of String(d).split('\n')) console.log('# ' + l);
  return !!cond;
}

function getJSON(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (r) => {
      let b = '';
      r.setEncoding('utf8');
      r.on('data', (c) => { b += c; });
      r.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

async function rows(page) {
  return page.$$eval('#list-rows .row[data-id]:not([hidden])', (rs) => rs.map((r) => {
    const cells = {};
    for (const c of r.children) if (c.className.startsWith('c c-')) cells[c.className.slice(4)] = c.textContent;
    return { id: +r.dataset.id, cls: r.className, top: r.getBoundingClientRect().top, cells };
  }).sort((a, b) => a.top - b.top));
}

async function waitRows(page, pred, ms = 5000) {
  const t0 = Date.now();
  let rs = [];
  while (Date.now() - t0 < ms) {
    rs = await rows(page);
    if (pred(rs)) return rs;
    await page.waitForTimeout(50);
  }
  return rs;
}

// Resolves after the list's next paint: the list draws on an animation frame (scheduleRender,
// web/list.js), and a frame asked for after it runs after it.
function nextFrame(page) {
  return page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
}

// act (typing in the filter, a filter select or checkbox), then wait until the list shows its
// result: the filter bar applies a change 120 ms after it (onFilterInput's debounce, web/app.js:
// readFilter replaces store.filter), body and header terms once the server search has answered
// (search.js empties #st-search), and the rows are painted on the next frame. Without this a wait
// on the rows can pass on the rows of the filter before, when they happen to satisfy it.
// Resolves true, or false when no new filter was applied within ms (the caller's check fails).
// act must change what the filter lets through (an empty filter again compiles to the same null).
async function filtered(page, act, ms = 5000) {
  await page.evaluate(() => { window.hpFilterBefore = window.HP.store.filter; });
  await act();
  const applied = await page.waitForFunction(() => window.HP.store.filter !== window.hpFilterBefore &&
    document.getElementById('st-search').textContent === '', null, { timeout: ms }).then(() => true, () => false);
  await nextFrame(page);
  return applied;
}

// A test that threw before its end: the check says where (the test's own line) and what (the
// message's first line) on its one line, then the whole stack and the page's script errors so far,
// so that a failure seen once can be diagnosed from its log alone.
function threw(desc, e, pageErrors = []) {
  const stack = String((e && (e.stack || e.message)) || e);
  const at = (stack.match(/tests\/js\/([\w.-]+\.js:\d+)/) || [])[1] || 'unknown line';
  const first = String((e && e.message) || e).split('\n')[0].slice(0, 200);
  return ok(false, `${desc} (threw at ${at}: ${first})`, stack,
    ...(pageErrors.length ? ['page errors so far:', ...pageErrors] : ['no page error so far']));
}

module.exports = { ok, getJSON, rows, waitRows, launchChromium, nextFrame, filtered, threw };
