#!/usr/bin/env node
// viewer-layout.js — the viewer's second pass in headless Chromium, driven by tests/e2e/60-viewer.sh
// after viewer.js, once it has made: a first HTTPS flow to a fresh upstream (FRESH_PORT) with an
// X-Request-Id header, two JSON POSTs with different SKUs in their bodies, failures against a
// self-signed (SELF_PORT) and a wrong-name (WRONG_PORT) upstream, and a CONNECT to a host that
// does not resolve. Checks: the first HTTPS flow's facts, the waterfall's geometry, failure rows
// told apart, body/header search, the raw view, the no-match state and the layout at 1400, 800
// and 600 px; screenshots viewer-1400/800/600.png go to SHOT_DIR.
// Output as viewer.js: "ok - DESC" / "not ok - DESC" and "# ..." lines.
'use strict';
const path = require('path');
const http = require('http');
const { execFileSync } = require('child_process');
const { ok, getJSON, rows, waitRows: waitRowsFor, launchChromium, filtered, nextFrame, threw } = require('./common');
// the second pass waits a little longer: its flows come from fresh upstreams
const waitRows = (page, pred, ms = 6000) => waitRowsFor(page, pred, ms);

const WEB = process.env.VIEWER_URL;
const VUP = +process.env.VUP_PORT;
const FRESH = +process.env.FRESH_PORT;
const SELF = +process.env.SELF_PORT;
const WRONG = +process.env.WRONG_PORT;
const SHOT_DIR = process.env.SHOT_DIR;

function note(msg) { console.log('# ' + msg); }


// type a filter, let it apply (debounce, then any server search: common.js filtered), then wait
// until pred holds for the flows the filter lets through (all of them, not only the rows
// scrolled into view). The result's .applied is false when the filter never applied: the ids
// are then the previous filter's, and every check on them must fail.
async function filterTo(page, text, pred, ms = 6000) {
  const applied = await filtered(page, () => page.fill('#filter', text), 8000);
  const t0 = Date.now();
  let ids = [];
  while (Date.now() - t0 < ms) {
    ids = await page.evaluate(() => window.httpeekViewer.viewIds.map((s) => ({ id: s.id, cells: { method: s.method } })));
    if (pred(ids)) break;
    await page.waitForTimeout(50);
  }
  ids.applied = applied;
  return ids;
}
async function selectRow(page, id, tab) {
  await page.evaluate((id) => window.httpeekViewer.select(id), id);
  const url = (await getJSON(`${WEB}/api/flows/${id}`)).url;
  await page.waitForFunction((u) => !document.getElementById('detail').hidden &&
    document.getElementById('d-title').textContent.includes(u), url, { timeout: 5000 });
  if (tab) await page.click(`#tabs button[data-tab="${tab}"]`);
}
const sameIds = (a, b) => JSON.stringify([...a].sort((x, y) => x - y)) === JSON.stringify([...b].sort((x, y) => x - y));

async function main() {
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1400, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // a renderer that died (memory, a crash) fails every later call: say so in the diagnostics
  page.on('crash', () => pageErrors.push('the page crashed (its renderer process is gone)'));
  browser.on('disconnected', () => pageErrors.push('the browser disconnected'));
  page.setDefaultTimeout(8000);
  try {
    const api = await getJSON(`${WEB}/api/flows`);
    const find = (pred) => api.find(pred);
    const fresh = find((f) => f.port === FRESH && !f.failed && f.scheme === 'https');
    const sku = find((f) => f.method === 'POST' && f.req_size > 0 && f.id > (fresh ? fresh.id : 0));
    const self = find((f) => f.port === SELF && f.failed);
    const wrong = find((f) => f.port === WRONG && f.failed);
    const nohost = find((f) => f.host === 'nothere.invalid' && f.failed);
    ok(fresh && sku && self && wrong && nohost, 'the second pass\'s flows are listed (HTTPS, POST, self-signed, wrong name, CONNECT to no host)',
      JSON.stringify(api.map((f) => [f.id, f.method, f.host, f.port, f.failed, f.kind])));
    await page.goto(WEB + '/');
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    let rs = await waitRows(page, (r) => r.length >= api.length);

    // ---- item 8: failure rows told apart ------------------------------------------------------
    {
      const row = (f) => rs.find((r) => r.id === (f && f.id)) || { cells: {} };
      const rSelf = row(self), rWrong = row(wrong), rNo = row(nohost);
      ok(rSelf.cells.status.startsWith(String(self.diag_code)) && rWrong.cells.status.startsWith(String(wrong.diag_code)),
        `failed rows start with the code the app saw (${rSelf.cells.status} | ${rWrong.cells.status})`);
      {
        ok(rSelf.cells.status === `${self.diag_code} ${self.reason_short}` && rWrong.cells.status === `${wrong.diag_code} ${wrong.reason_short}`,
          `the status column shows "code reason_short" (${rSelf.cells.status} | ${rWrong.cells.status})`);
        ok(rSelf.cells.status !== rWrong.cells.status, 'a self-signed and a wrong-name failure read differently in the list',
          rSelf.cells.status, rWrong.cells.status);
      }
      {
        ok(nohost && nohost.failed_before_tls && rNo.cells.path === 'CONNECT failed before TLS', `a CONNECT that never reached TLS says so in the path (${rNo.cells.path})`);
      }
    }

    // ---- item 8: the TLS tab of a mirrored failure: which leaf and why, the server's names, the
    // OpenSSL error in words (the raw text kept in a tooltip and a second line)
    {
      const sd = await getJSON(`${WEB}/api/flows/${self.id}`);
      const cl = (sd.tls || {}).client || {}, up = (sd.tls || {}).upstream || {};
      {
        await selectRow(page, self.id, 'tls');
        const legs = await page.$$eval('#d-body .sec', (ss) => ss.map((x) => ({
          kv: Object.fromEntries([...x.querySelectorAll('table.kv tr')].map((t) => [t.children[0].textContent, t.children[1].textContent])),
          state: (x.querySelector('.tls-state') || {}).textContent || '',
          title: (x.querySelector('.tls-state .tls-error') || {}).title || '' })));
        const [c, u] = [legs[0] || { kv: {} }, legs[1] || { kv: {} }];
        ok(cl.leaf === 'mirror_untrusted' && /never-trusted/.test(c.kv['Certificate shown'] || '') && c.kv.Why === cl.leaf_reason,
          `the client leg says which leaf was shown and why (${c.kv['Certificate shown']})`, JSON.stringify(c.kv), JSON.stringify(cl));
        ok(u.kv.Names === up.peer_names && up.peer_names, `the server leg shows the certificate's names (${u.kv.Names})`);
        ok(c.state.includes(cl.error_text) && c.title === cl.error && u.state.includes(up.error_text) && u.title === up.error && !/^Handshake failed: error:/.test(c.state),
          'each leg words its error in plain language, the OpenSSL text in the tooltip', JSON.stringify(legs.map((l) => [l.state, l.title])));
      }
    }

    // ---- item 6: the first HTTPS flow's facts -------------------------------------------------
    const det = await getJSON(`${WEB}/api/flows/${fresh.id}`);
    await selectRow(page, fresh.id, 'overview');
    const ov = await page.$eval('#d-body', (b) => Object.fromEntries([...b.querySelectorAll('table.kv tr')].map((t) => [t.children[0].textContent, t.children[1].textContent])));
    ok(!/reused/i.test(ov.Connection || ''), `the first HTTPS flow to a fresh server does not say its connection was reused (${ov.Connection || 'no Connection row'})`,
      JSON.stringify({ reused_upstream: det.reused_upstream, timings: det.timings }));
    if (det.reused_upstream === false) ok(ov.Connection === 'new connection', `and says "new connection" (${ov.Connection})`);
    const wire = det.bytes_up > 0 || det.bytes_down > 0;
    ok(wire ? /↑ .*↓ /.test(ov['On the wire'] || '') : !('On the wire' in ov),
      `"On the wire" only when bytes were counted (bytes_up ${det.bytes_up}, bytes_down ${det.bytes_down}: ${ov['On the wire'] || 'not shown'})`);
    await page.click('#tabs button[data-tab="tls"]');
    const legs = await page.$$eval('#d-body .sec', (ss) => ss.map((x) => Object.fromEntries([...x.querySelectorAll('table.kv tr')].map((t) => [t.children[0].textContent, t.children[1].textContent]))));
    const t13 = ((det.tls || {}).client || {}).version === 'TLSv1.3' && ((det.tls || {}).upstream || {}).version === 'TLSv1.3';
    ok(t13 && legs.length === 2 && legs[0]['Forward secrecy'] === 'yes' && legs[1]['Forward secrecy'] === 'yes',
      'TLS 1.3 on both legs: forward secrecy yes on both', JSON.stringify(legs.map((l) => [l.Version, l['Forward secrecy']])));

    // ---- item 7: the waterfall scales to the total and nests ssl inside connect --------------
    await page.click('#tabs button[data-tab="overview"]');
    const wf = await page.$eval('#d-body .waterfall', (w) => {
      const out = { total: +w.dataset.total, bars: {} };
      for (const row of w.querySelectorAll('.wf-row[data-phase]')) {
        const bar = row.querySelector('.bar'), track = row.querySelector('.wf-track');
        const b = bar.getBoundingClientRect(), t = track.getBoundingClientRect();
        out.bars[row.dataset.phase] = { hidden: bar.hidden, left: b.left, right: b.right, width: b.width, tleft: t.left, twidth: t.width, dur: +bar.dataset.dur, start: +bar.dataset.start };
      }
      return out;
    });
    const tm = det.timings || {};
    const sumNoSsl = ['blocked', 'dns', 'connect', 'send', 'wait', 'receive'].reduce((a, p) => a + (tm[p] > 0 ? tm[p] : 0), 0);
    ok(Math.abs(wf.total - Math.max(tm.total || 0, sumNoSsl)) < 0.01, `the waterfall's scale is the flow's total (${wf.total} ms; timings total ${tm.total}, phases without ssl ${sumNoSsl.toFixed(3)})`);
    const c = wf.bars.connect, s = wf.bars.ssl;
    ok(c && s && !c.hidden && !s.hidden && tm.ssl > 0 && s.left >= c.left - 0.5 && s.right <= c.right + 0.5,
      `the ssl bar lies within the connect bar's span (ssl ${s && s.left.toFixed(1)}..${s && s.right.toFixed(1)}, connect ${c && c.left.toFixed(1)}..${c && c.right.toFixed(1)})`,
      JSON.stringify(tm));
    const off = Object.entries(wf.bars).filter(([, b]) => !b.hidden).filter(([, b]) =>
      Math.abs(b.width - Math.max(2, b.twidth * b.dur / wf.total)) > 2 || Math.abs(b.left - b.tleft - b.twidth * b.start / wf.total) > 2);
    ok(off.length === 0, 'every bar\'s width and place are its duration and start over the total (within 2 px)', JSON.stringify(off), JSON.stringify(tm));

    // ---- item 11: body and header search, the raw view ----------------------------------------
    const all = await getJSON(`${WEB}/api/flows`);
    rs = await filterTo(page, 'body:SKU-1002', (r) => r.length === 1);
    ok(rs.applied && rs.length === 1 && rs[0].id === sku.id, `body:SKU-1002 finds the one POST whose body holds it (#${sku.id})`, JSON.stringify(rs.map((r) => r.id)));
    rs = await filterTo(page, '~b sku-2001', (r) => r.length === 1);
    ok(rs.applied && rs.length === 1 && rs[0].id !== sku.id && rs[0].cells.method === 'POST', 'mitmproxy\'s ~b finds the other POST, case-insensitively', JSON.stringify(rs.map((r) => r.id)));
    rs = await filterTo(page, 'header:x-request-id', (r) => r.length === 1);
    ok(rs.applied && rs.length === 1 && rs[0].id === fresh.id, 'header:x-request-id finds the flow that sent that header', JSON.stringify(rs.map((r) => r.id)));
    rs = await filterTo(page, 'header:X-Request-Id=req-7781', (r) => r.length === 1);
    ok(rs.applied && rs.length === 1 && rs[0].id === fresh.id, 'header:NAME=VALUE matches the value', JSON.stringify(rs.map((r) => r.id)));
    // none wanted: filterTo has waited for the search's end and the paint, so the rows are final
    rs = await filterTo(page, 'header:x-request-id=other', (r) => r.length === 0);
    const applied = rs.applied;
    rs = await rows(page);
    ok(applied && rs.length === 0, 'and not another value', JSON.stringify(rs.map((r) => r.id)));
    rs = await filterTo(page, 'body:SKU-1002 method:GET', (r) => r.length === 0);
    ok(rs.applied && (await rows(page)).length === 0, 'server and viewer terms combine (body:SKU-1002 method:GET: none)');
    const notSku = all.filter((f) => f.id !== sku.id && (f.url || '').toLowerCase().includes('upstream.test')).map((f) => f.id);
    rs = await filterTo(page, '-body:SKU-1002 upstream.test', (r) => r.length === notSku.length);
    ok(rs.applied && sameIds(rs.map((r) => r.id), notSku), `-body:SKU-1002 excludes it and keeps the rest (${rs.length})`, JSON.stringify(rs.map((r) => r.id)), JSON.stringify(notSku));
    await page.fill('#filter', '');
    await waitRows(page, (r) => r.length === all.length);

    const sd = await getJSON(`${WEB}/api/flows/${sku.id}`);
    await selectRow(page, sku.id, 'raw');
    await page.waitForFunction(() => { const b = document.querySelector('#d-body .raw-request .raw-body'); return b && b.textContent.length > 0; }, null, { timeout: 5000 }).catch(() => {});
    const raw = await page.$eval('#d-body', (b) => ({ reqHead: (b.querySelector('.raw-request .raw-head') || {}).textContent,
      reqBody: (b.querySelector('.raw-request .raw-body') || {}).textContent, respHead: (b.querySelector('.raw-response .raw-head') || {}).textContent }));
    const wantReq = [`${sd.request.method} ${sd.request.target} ${sd.request.http_version}`].concat(sd.request.headers.map((h) => h.name + ': ' + h.value)).join('\n');
    const wantResp = [`${sd.response.http_version} ${sd.response.status} ${sd.response.reason}`].concat(sd.response.headers.map((h) => h.name + ': ' + h.value)).join('\n');
    ok(raw.reqHead === wantReq, 'Raw: the request line and header lines exactly as received', raw.reqHead, wantReq);
    ok(raw.respHead === wantResp, 'Raw: the status line and response header lines exactly as received', raw.respHead, wantResp);
    ok(raw.reqBody === '{"sku":"SKU-1002","qty":1}', 'Raw: the textual request body below its head', raw.reqBody);

    // ---- items 9 and 12: the no-match state and the layout at three widths ------------------
    for (const w of [1400, 800, 600]) {
      await page.setViewportSize({ width: w, height: 800 });
      // layout.js lays the page out for a width in applyWidth, run by the media queries' change
      // events, which the page fires on its next rendering step after the resize (not at once):
      // wait until the body's classes are those of this width (no change at all from 800 to 600);
      // never: the panel checks below read the old layout and fail
      await page.waitForFunction(() => document.body.classList.contains('narrow') === matchMedia('(max-width: 899px)').matches &&
        document.body.classList.contains('wide') === matchMedia('(min-width: 1100px)').matches, null, { timeout: 3000 }).catch(() => {});
      // before any click (using the list closes an overlaid panel)
      const sideW = await page.evaluate(() => (document.getElementById('side').hidden ? 0 : document.getElementById('side').getBoundingClientRect().width));
      if (w === 1400) ok(sideW > 0, `1400 px: the clients panel is docked (${sideW} px)`);
      else ok(sideW === 0, `${w} px: the clients panel starts tucked behind ☰ (it took ${sideW} px)`);
      await page.evaluate(() => { if (!document.getElementById('detail').hidden) document.getElementById('b-close').click(); });
      await page.fill('#filter', 'zz-no-such-flow');
      await page.waitForFunction(() => !document.getElementById('list-nomatch').hidden, null, { timeout: 3000 }).catch(() => {});
      const st = await page.evaluate(() => {
        const nm = document.getElementById('list-nomatch'), em = document.getElementById('list-empty');
        const b = document.getElementById('b-clearfilter').getBoundingClientRect();
        return { nm: !nm.hidden && nm.offsetHeight > 0 ? nm.textContent : '', empty: !em.hidden && em.offsetHeight > 0,
          button: b.width > 0 && b.left >= 0 && b.right <= innerWidth, over: document.documentElement.scrollWidth - innerWidth };
      });
      ok(st.nm.includes('No flows match the filter') && !st.empty && st.button, `${w} px: a filter matching nothing says "No flows match the filter" with a Clear filter button`, JSON.stringify(st));
      ok(st.over <= 0, `${w} px: no horizontal overflow with the no-match state (scrollWidth - innerWidth = ${st.over})`);
      await page.click('#b-clearfilter');
      rs = await waitRows(page, (r) => r.length > 0);
      ok(rs.length > 0 && (await page.inputValue('#filter')) === '', `${w} px: Clear filter brings the flows back`);
      await selectRow(page, fresh.id, 'overview');
      await nextFrame(page); // the list's paint after the detail opened (scheduleRender: its header's scrollbar padding)
      const lay = await page.evaluate(() => {
        const vis = (e) => { const r = e.getBoundingClientRect(); if (!r.width || r.left < 0 || r.right > innerWidth + 0.5 || r.top < 0 || r.bottom > innerHeight) return false;
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); return hit === e || e.contains(hit); };
        const side = document.getElementById('side').getBoundingClientRect();
        const f = document.getElementById('filter');
        const cs = getComputedStyle(f);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = cs.font;
        const room = f.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        const cells = [...document.querySelectorAll('#list-head .c')].filter((c) => c.offsetWidth > 0);
        return { over: document.documentElement.scrollWidth - innerWidth, tls: vis(document.querySelector('#tabs button[data-tab="tls"]')),
          raw: vis(document.querySelector('#tabs button[data-tab="raw"]')), side: document.getElementById('side').hidden ? 0 : side.width,
          ph: ctx.measureText(f.placeholder).width, room, fscroll: f.scrollWidth, fclient: f.clientWidth,
          headCut: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent), cols: cells.map((c) => c.textContent) };
      });
      ok(lay.over <= 0, `${w} px: no horizontal overflow with a flow open (scrollWidth - innerWidth = ${lay.over})`);
      ok(lay.tls && lay.raw, `${w} px: the TLS and Raw tabs are on screen and clickable`, JSON.stringify(lay));
      ok(lay.headCut.length === 0, `${w} px: no column header is cut (${lay.cols.join(' ')})`, JSON.stringify(lay.headCut));
      if (w === 1400) {
        ok(lay.fscroll <= lay.fclient && lay.ph <= lay.room, `1400 px: the filter shows its whole placeholder (${lay.ph.toFixed(0)} px of text in ${lay.room.toFixed(0)} px)`, JSON.stringify(lay));
        ok(lay.cols.length === 10, `1400 px: all 10 columns show (${lay.cols.length})`);
      }
      if (w === 600) {
        const d = await page.evaluate(() => { const r = document.getElementById('detail').getBoundingClientRect(); return [r.left, r.width, innerWidth, r.top, document.getElementById('list-head').getBoundingClientRect().top]; });
        ok(d[0] <= 0.5 && d[1] >= d[2] - 1 && d[3] <= d[4] + 0.5, '600 px: the detail covers the list, full width', JSON.stringify(d));
        await page.click('#b-side');
        const sw = await page.evaluate(() => document.getElementById('side').getBoundingClientRect().width);
        ok(sw > 0 && sw <= 0.86 * 600 && (await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)), `600 px: ☰ opens the clients panel over the page (${sw} px)`);
        await page.click('#b-side');
      }
      if (SHOT_DIR) await page.screenshot({ path: path.join(SHOT_DIR, `viewer-${w}.png`) }).catch((e) => note('screenshot failed: ' + e.message));
    }

    // ---- the detail beside the list, remembered --------------------------------------------
    await page.setViewportSize({ width: 1400, height: 800 });
    await selectRow(page, fresh.id, 'overview');
    await page.click('#b-dock');
    const beside = () => page.evaluate(() => {
      const l = document.getElementById('list').getBoundingClientRect(), d = document.getElementById('detail').getBoundingClientRect();
      return d.left >= l.right - 1 && d.top <= l.top + 40 && d.width > 200;
    });
    ok(await beside(), '1400 px: ◧ puts the detail beside the list');
    await page.reload();
    await waitRows(page, (r) => r.length > 0);
    await selectRow(page, fresh.id);
    ok(await beside(), 'and a reload keeps it there (localStorage)');
    await page.click('#b-dock');
    ok(!(await beside()), 'a second click puts it back below');

    // ---- items 10 and 1: apps under the device, the passthrough panel ------------------------
    const clients = await getJSON(`${WEB}/api/clients`);
    const withApps = clients.find((x) => Array.isArray(x.apps) && x.apps.length);
    ok(withApps, 'the server lists apps under the device', JSON.stringify(clients));
    // after the reload the cards and the passthrough panel come from GET /api/clients and
    // /api/passthrough once the first page of flows is in (refreshClients, refreshPassthrough), not
    // with the detail selectRow waited for: wait for what the checks read (never: they fail)
    if (withApps) {
      await page.waitForFunction(([addr, want]) => {
        const got = [...document.querySelectorAll(`#clients .client[data-addr="${addr}"] li.app .app-name`)].map((e) => e.textContent);
        return want.every((n) => got.includes(n));
      }, [withApps.addr, withApps.apps.map((a) => a.name || '(no User-Agent)')], { timeout: 5000 }).catch(() => {});
      const names = await page.$$eval(`#clients .client[data-addr="${withApps.addr}"] li.app .app-name`, (e) => e.map((x) => x.textContent));
      ok(withApps.apps.every((a) => names.includes(a.name || '(no User-Agent)')), 'the clients panel lists each app under its device', JSON.stringify(names));
    }
    const pt = await getJSON(`${WEB}/api/passthrough`);
    await page.waitForFunction(() => /built in/.test(document.getElementById('passthrough').textContent), null, { timeout: 5000 }).catch(() => {});
    const ptext = await page.$eval('#passthrough', (e) => e.textContent);
    {
      ok(pt.builtin && /built in/.test(ptext) && ptext.includes('--no-default-passthrough'), 'the built-in passthrough list is labelled, with the flag that turns it off', ptext);
    }

    // a device without httpeek's CA (127.0.0.4) refuses it three times: an automatic passthrough
    // entry for that device and host, shown with its device, and "Resume interception" ends it
    ok(process.env.SERVER_CA, 'SERVER_CA is given (the refusing device needs it)');
    if (process.env.SERVER_CA) {
      for (let i = 0; i < 3; i++) {
        try {
          execFileSync('curl', ['-sS', '-o', '/dev/null', '--max-time', '5', '--interface', '127.0.0.4', '--cacert', process.env.SERVER_CA,
            '-x', `http://127.0.0.1:${process.env.PROXY_PORT}`, `https://upstream.test:${FRESH}/refuse`], { stdio: 'ignore', timeout: 8000 });
        } catch (e) { /* refused, as it should be */ }
      }
      let auto = [];
      for (let i = 0; i < 100 && !auto.some((a) => a.client === '127.0.0.4'); i++) {
        await page.waitForTimeout(50);
        auto = (await getJSON(`${WEB}/api/passthrough`)).auto || [];
      }
      const entry = auto.find((a) => a.client === '127.0.0.4');
      ok(entry && entry.host === 'upstream.test', 'three refusals from 127.0.0.4 make an automatic passthrough entry for it', JSON.stringify(auto));
      const sel = '#passthrough li.auto-entry[data-client="127.0.0.4"]';
      await page.waitForSelector(sel, { timeout: 6000 }).catch(() => {});
      const li = await page.$eval(sel, (e) => e.textContent).catch(() => '');
      ok(li.includes('upstream.test') && li.includes(entry && entry.device ? entry.device : '127.0.0.4') && /expires (in|now)/.test(li) && li.includes('Resume interception'),
        'the panel shows the entry: host, device, when it expires, and "Resume interception"', li);
      await page.click(sel + ' button.resume').catch(() => {});
      let gone = false;
      for (let i = 0; i < 60 && !gone; i++) {
        await page.waitForTimeout(50);
        gone = !((await getJSON(`${WEB}/api/passthrough`)).auto || []).some((a) => a.client === '127.0.0.4');
      }
      await page.waitForFunction((s) => !document.querySelector(s), sel, { timeout: 3000 }).catch(() => {});
      ok(gone && !(await page.$(sel)), '"Resume interception" ends it (DELETE /api/passthrough/{client}/{host}) and the panel drops it');
    }

    ok(pageErrors.length === 0, 'no script errors in the page', pageErrors.join('\n'));
  } catch (e) {
    threw('viewer-layout.js ran to the end', e, pageErrors);
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.log('not ok - the browser could be driven'); console.log('# ' + (e.stack || e)); process.exit(1); });
