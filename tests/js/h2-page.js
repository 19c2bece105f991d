#!/usr/bin/env node
// h2-page.js — headless Chromium (playwright-core) loads a page of many resources through
// httpeek (--proxy-server) over HTTP/2, driven by tests/e2e/54-http2.sh.
//
// Environment: PAGE_URL (the page), PROXY (host:port of httpeek), WEB (viewer base URL),
// RESOURCES (how many images the page loads), CHROMIUM (default /usr/bin/chromium).
// Output: "ok - DESC" / "not ok - DESC" lines with "# ..." details (lib.sh's node_tap).
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));
const { ok, getJSON } = require('./common.js');

const PAGE_URL = process.env.PAGE_URL;
const WEB = process.env.WEB;
const N = +(process.env.RESOURCES || 50);

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--proxy-server=http://${process.env.PROXY}`,
      '--proxy-bypass-list=<-loopback>', '--disable-quic'],
  });
  // httpeek's CA is not in this profile's store: the leaf's errors are ignored, the protocol is not
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const protocols = {};
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.responseReceived', (e) => { protocols[e.response.url] = e.response.protocol; });
  const resp = await page.goto(PAGE_URL, { waitUntil: 'load', timeout: 20000 });
  ok(resp && resp.status() === 200, 'Chromium loads the page through httpeek', resp && resp.status());
  const loaded = await page.$$eval('img', (is) => is.filter((i) => i.complete).length);
  ok(loaded === N, `all ${N} resources of the page loaded`, loaded);
  const want = [PAGE_URL];
  for (let i = 0; i < N; i++) want.push(new URL(`/bytes/200?i=${i}`, PAGE_URL).href);
  const notH2 = want.filter((u) => protocols[u] !== 'h2');
  ok(notH2.length === 0, 'Chromium spoke HTTP/2 (h2) for the page and every resource',
    notH2.slice(0, 5).map((u) => `${u}: ${protocols[u]}`).join(' '));
  await browser.close();

  // the flow list: every resource once, each an HTTP/2.0 request
  let flows = [];
  for (let i = 0; i < 50; i++) {
    flows = (await getJSON(`${WEB}/api/flows`)).filter((f) => f.kind === 'http');
    if (flows.length >= N + 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const counts = {};
  for (const f of flows) counts[f.url] = (counts[f.url] || 0) + 1;
  const missing = want.filter((u) => counts[u] !== 1);
  ok(missing.length === 0, `every resource is in the flow list once (${N + 1} flows)`,
    `flows: ${flows.map((f) => f.url).filter((u) => !want.includes(u)).join(' ')}`,
    `not once: ${missing.slice(0, 5).map((u) => `${u} x${counts[u] || 0}`).join(' ')}`);
  const versions = {};
  for (const f of flows.filter((x) => want.includes(x.url))) {
    const d = await getJSON(`${WEB}/api/flows/${f.id}`);
    const v = d.request.http_version;
    versions[v] = (versions[v] || 0) + 1;
    if (v !== 'HTTP/2.0') versions[f.url] = v;
  }
  ok(versions['HTTP/2.0'] === N + 1, `the page and its ${N} resources are HTTP/2.0 flows`, JSON.stringify(versions));
  const conns = new Set(flows.filter((f) => want.includes(f.url)).map((f) => f.conn_id));
  ok(conns.size === 1, 'one connection carried them (multiplexed streams)', [...conns].join(' '));
}

main().catch((e) => { console.log('not ok - the browser could not be driven'); console.log('# ' + e.stack); process.exit(1); });
