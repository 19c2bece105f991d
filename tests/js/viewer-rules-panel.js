#!/usr/bin/env node
// viewer-rules-panel.js — the viewer's Rules panel (web/rules.js) in headless Chromium
// (playwright-core), driven by tests/e2e/68-viewer-rules-panel.sh while curl traffic flows: the
// empty state teaching the five actions, a block rule added from the panel blocking the next
// request, disabled and traffic passing, "test a URL", a throttle rule turning the toolbar's
// indicator on, the throttled flow's waterfall showing its added delay as a "throttle" bar, a
// 412 when someone else changed the rules (the panel says so and reloads), rewrite rules made
// and edited through the form (a response header set, then edited; a request JSON field set)
// and seen applied by the next requests, and an iPhone-size layout without horizontal overflow. Environment: VIEWER (URL), PROXY
// (host:port), TARGET (URL a block rule on host blk.test answers), ART (screenshot directory).
// Output: "ok - " / "not ok - " lines for lib.sh's node_tap.
'use strict';
const path = require('path');
const http = require('http');
const { ok, launchChromium } = require('./common');

const PLAN = 17;
let done = 0;
const check = (c, d, ...x) => { done++; return ok(c, d, ...x); };

// a request through the proxy: {status, headers, body} (status 0: no answer)
function proxyReq(url, method, body) {
  const [host, port] = process.env.PROXY.split(':');
  return new Promise((resolve) => {
    const r = http.request({ host, port: +port, path: url, method: method || 'GET', headers: { Host: new URL(url).host } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: b }));
    });
    r.on('error', () => resolve({ status: 0, headers: {}, body: '' }));
    r.setTimeout(5000, () => { r.destroy(); resolve({ status: 0, headers: {}, body: '' }); });
    r.end(body);
  });
}
const getJSON = (url) => new Promise((resolve, reject) => http.get(url, (r) => {
  let b = '';
  r.on('data', (d) => { b += d; });
  r.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } });
}).on('error', reject));

// the status a request through the proxy gets (0: no answer)
function viaProxy(url) {
  const [host, port] = process.env.PROXY.split(':');
  return new Promise((resolve) => {
    const r = http.request({ host, port: +port, path: url, method: 'GET', headers: { Host: new URL(url).host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    r.on('error', () => resolve(0));
    r.setTimeout(5000, () => { r.destroy(); resolve(0); });
    r.end();
  });
}

// The note the panel writes once act's save is answered. save() (web/rules.js) writes
// #rules-note only after its PUT /api/rules comes back, and leaves the last note up meanwhile:
// after a first save the note already says "Saved", so waiting for the text alone would go on
// (and send the next request) before the new rules are in. Count only what is written after act
// (a MutationObserver sees each write, the same words again included); none in 5 s: the note as
// it stands, which the caller's check then judges.
async function noteAfter(page, act, re) {
  await page.evaluate(() => {
    const n = document.getElementById('rules-note');
    window.hpNotes = [];
    if (n && !window.hpNoteObs) {
      window.hpNoteObs = new MutationObserver(() => window.hpNotes.push(n.textContent));
      window.hpNoteObs.observe(n, { childList: true, characterData: true, subtree: true });
    }
  });
  await act();
  return page.waitForFunction((s) => window.hpNotes.find((t) => new RegExp(s).test(t)), re.source, { timeout: 5000 })
    .then((h) => h.jsonValue(), () => page.$eval('#rules-note', (n) => n.textContent));
}

async function addRule(page, pattern, type, param) {
  await page.click('#rules-add');
  await page.fill('#rf-pattern', pattern);
  await page.selectOption('#rf-type', type);
  await page.fill('#rf-param', param);
  await page.click('#rf-save');
}

(async () => {
  const browser = await launchChromium();
  const art = process.env.ART, target = process.env.TARGET;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(process.env.VIEWER, { waitUntil: 'load' });
    await page.waitForSelector('#b-rules', { timeout: 5000 });
    check(await page.$eval('#throttle-on', (b) => b.hidden), 'no throttle: the toolbar shows no indicator');
    await page.click('#b-rules');
    await page.waitForSelector('#rules-empty', { timeout: 5000 });
    const teach = await page.$$eval('.rules-teach li', (ls) => ls.map((l) => l.textContent));
    check(teach.length === 5 && ['Map local', 'Map remote', 'Rewrite', 'Block', 'Throttle'].every((k, i) => teach[i].startsWith(k)) &&
      teach.every((t) => /example\.com/.test(t)), 'the empty state teaches the five actions with an example each', teach.join(' | '));
    if (art) await page.screenshot({ path: path.join(art, '68-rules-empty.png') });

    check(await viaProxy(target) === 200, 'before any rule: the request passes');
    let n = await noteAfter(page, () => addRule(page, 'blk.test', 'block', '403'), /Saved/);
    check(/Saved/.test(n), 'a block rule added from the panel is saved', n);
    check(await viaProxy(target) === 403, 'the next request is blocked (403)');
    const listed = await page.$$eval('.rules-list .rule', (rs) => rs.map((r) => r.textContent));
    if (art) await page.screenshot({ path: path.join(art, '68-rules-list.png') });

    n = await noteAfter(page, () => page.uncheck('.rules-list .rule .rule-on'), /Saved/);
    check(await viaProxy(target) === 200, 'disabled from the panel: traffic passes again', n, listed.join(' | '));

    await page.fill('#rules-test-url', 'http://slow.test/a');
    await noteAfter(page, () => addRule(page, 'slow.test', 'throttle', '3g'), /Saved/);
    await page.fill('#rules-test-url', 'http://slow.test/a/b');
    await page.dispatchEvent('#rules-test-url', 'input');
    const tested = await page.$eval('#rules-test-out', (o) => o.textContent);
    check(/Throttle — 3g/.test(tested) && !/Block/.test(tested), 'test a URL: the throttle it meets (the disabled block does not match)', tested);
    await page.waitForFunction(() => !document.getElementById('throttle-on').hidden, null, { timeout: 7000 }).catch(() => {});
    const badge = await page.$eval('#throttle-on', (b) => (b.hidden ? '' : b.textContent));
    check(/Throttled: 3g/.test(badge), 'the toolbar shows a throttle is on', badge);

    // the throttled flow's waterfall: the added delay as its own "throttle" bar
    const slowUrl = target.replace('blk.test', 'slow.test') + '?wf';
    await viaProxy(slowUrl);
    const base0 = new URL(process.env.VIEWER);
    let slow = null;
    for (let i = 0; i < 30 && !slow; i++) {
      slow = (await getJSON(new URL('/api/flows', base0))).filter((f) => f.url === slowUrl).pop();
      if (!slow) await new Promise((r) => setTimeout(r, 100));
    }
    await page.click('#rules-close');
    const det = slow ? await getJSON(new URL('/api/flows/' + slow.id, base0)) : {};
    let wf = null;
    if (slow) {
      await page.evaluate((id) => window.httpeekViewer.select(id), slow.id);
      await page.waitForSelector('#d-body .waterfall', { timeout: 5000 }).catch(() => {});
      wf = await page.$eval('#d-body .waterfall', (w) => {
        const row = w.querySelector('.wf-row[data-phase="throttle"]');
        const wait = w.querySelector('.wf-row[data-phase="wait"] .bar');
        return row && { label: row.children[0].textContent, dur: +row.querySelector('.bar').dataset.dur,
          start: +row.querySelector('.bar').dataset.start, waitEnd: +wait.dataset.start + +wait.dataset.dur };
      }).catch((e) => String(e));
    }
    check(wf && wf.label === 'throttle' && wf.dur === 100 && det.timings && det.timings.throttle === 100 && Math.abs(wf.start - wf.waitEnd) < 0.01,
      'the 3g flow\'s waterfall shows its 100 ms added delay as a "throttle" bar after wait', JSON.stringify(wf), JSON.stringify(det.timings));
    if (art) await page.screenshot({ path: path.join(art, '68-rules-waterfall-throttle.png') });
    // open() reads the rules again (load: GET /api/rules) while the list drawn before stays up:
    // wait for that read, so the change made below by someone else comes after it
    const reread = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/rules' && r.request().method() === 'GET', { timeout: 5000 });
    await page.click('#b-rules');
    await reread;
    await page.waitForSelector('.rules-list .rule', { timeout: 5000 });

    // someone else changes the rules: the panel's next save gets 412, says so, reloads
    const other = JSON.stringify({ version: 1, rules: [{ id: 'theirs', match: { host: 'other.test' }, action: { type: 'block', status: 451 } }] });
    const base = new URL(process.env.VIEWER);
    const etag = await new Promise((resolve) => http.get(new URL('/api/rules', base), (r) => { r.resume(); resolve(r.headers.etag); }));
    const put = await new Promise((resolve) => {
      const r = http.request(new URL('/api/rules', base), { method: 'PUT', headers: { 'If-Match': etag, Origin: base.origin } }, (res) => { res.resume(); resolve(res.statusCode); });
      r.end(other);
    });
    n = await noteAfter(page, () => page.click('.rules-list .rule .rule-del'), /Someone else/);
    const after = await page.$$eval('.rules-list .rule', (rs) => rs.map((r) => r.dataset.id));
    check(put === 200 && /Someone else changed/.test(n) && after.join() === 'theirs',
      'a save over someone else\'s change: 412, the panel says so and shows their rules', put, n, after.join());

    // rewrite rules through the form: a response header set, seen by the next request, then edited
    const rw = target.replace('blk.test', 'rw.test');
    await page.click('#rules-add');
    await page.fill('#rf-pattern', 'rw.test');
    await page.selectOption('#rf-type', 'rewrite');
    await page.selectOption('#rf-edit', 'resp-header:set');
    await page.fill('#rf-a', 'X-Panel');
    await page.fill('#rf-b', 'yes');
    const preview = await page.$eval('#rf-preview', (p) => p.textContent);
    n = await noteAfter(page, () => page.click('#rf-save'), /Saved|Not saved/);
    check(/Saved/.test(n) && preview === 'edit: resp-header:set:X-Panel:yes', 'a rewrite rule made with the form (kind, name, value) is saved', n, preview);
    let got = await proxyReq(rw);
    check(got.headers['x-panel'] === 'yes', 'the next request through httpeek gets the response header the form set', JSON.stringify(got.headers));
    await page.click('.rules-list .rule:last-child .rule-edit');
    const shown = await page.evaluate(() => ['rf-type', 'rf-edit', 'rf-a', 'rf-b'].map((i) => document.getElementById(i).value));
    await page.fill('#rf-b', 'edited');
    n = await noteAfter(page, () => page.click('#rf-save'), /Saved|Not saved/);
    check(shown.join() === 'rewrite,resp-header:set,X-Panel,yes', 'Edit on a rewrite rule shows its kind and fields in the form', shown.join());
    got = await proxyReq(rw);
    check(got.headers['x-panel'] === 'edited', 'edited from the form: the next request gets the new value', n, JSON.stringify(got.headers));
    // a request JSON field by path (the server echoes what it got)
    await page.click('#rules-add');
    await page.fill('#rf-pattern', 'rw.test/echo/*');
    await page.selectOption('#rf-type', 'rewrite');
    await page.selectOption('#rf-edit', 'req-json');
    await page.fill('#rf-a', '$.plan');
    await page.fill('#rf-b', '"pro"');
    n = await noteAfter(page, () => page.click('#rf-save'), /Saved|Not saved/);
    got = await proxyReq(rw.replace(/\/bytes\/.*/, '/echo/panel'), 'POST', '{"plan": "free"}');
    let plan = null;
    try { plan = JSON.parse(got.body).plan; } catch (e) { /* shown below */ }
    check(plan === 'pro', 'a request JSON rewrite from the form: the server got "plan": "pro"', n, got.body);
    if (art) await page.screenshot({ path: path.join(art, '68-rules-rewrite.png') });

    // iPhone size
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await phone.goto(process.env.VIEWER, { waitUntil: 'load' });
    await phone.waitForSelector('#b-rules', { timeout: 5000 });
    const tb = await phone.$eval('#b-rules', (b) => { const r = b.getBoundingClientRect(); return r.right <= innerWidth + 1 && r.width > 0; });
    await phone.click('#b-rules');
    await phone.waitForSelector('.rules-list .rule', { timeout: 5000 });
    const fit = await phone.$eval('#rules-dlg', (d) => {
      const r = d.getBoundingClientRect();
      const over = [...d.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1).map((e) => e.id || e.className);
      return { left: r.left, right: r.right, w: innerWidth, over };
    });
    check(tb && fit.left >= 0 && fit.right <= fit.w + 1 && !fit.over.length, 'iPhone size: the Rules button and panel fit the screen', JSON.stringify(fit));
    await phone.click('#rules-add');
    const form = await phone.$eval('#rules-form', (f) => f.getBoundingClientRect().right <= innerWidth + 1);
    check(form, 'iPhone size: the rule form fits the screen');
    if (art) await phone.screenshot({ path: path.join(art, '68-rules-iphone.png') });
  } catch (e) {
    console.log('# ' + String(e.stack || e).split('\n').join('\n# '));
  } finally {
    for (; done < PLAN; done++) ok(false, 'check not reached');
    await browser.close();
  }
})();
