#!/usr/bin/env node
// setup-page.js — the phone set-up page at iPhone size in headless Chromium (playwright-core),
// driven by tests/e2e/35-setup.sh, which has started httpeek.
//
// Environment: SETUP_URLS (space-separated page URLs on the proxy port), EXPECT_TEXT (optional:
// text the first page must show on screen), SCREENSHOT (optional PNG of the first page),
// CHROMIUM (default /usr/bin/chromium), WIDTH x HEIGHT (default 390 x 844: iPhone 14/15).
// Output: one line per check, "ok - DESC" or "not ok - DESC" followed by "# ..." details;
// the shell script turns them into TAP. Exits 0 unless the browser could not be driven at all.
'use strict';
const { launchChromium } = require('./common');

const URLS = (process.env.SETUP_URLS || '').split(/\s+/).filter(Boolean);
const WIDTH = +(process.env.WIDTH || 390);
const HEIGHT = +(process.env.HEIGHT || 844);
const MIN_TAP = 44; // Apple's minimum tap target (Human Interface Guidelines), in CSS px

function ok(cond, desc, ...diag) {
  console.log((cond ? 'ok - ' : 'not ok - ') + desc.replace(/[\r\n]+/g, ' '));
  if (!cond) for (const d of diag) for (const l of String(d).split('\n')) console.log('# ' + l);
  return !!cond;
}

(async () => {
  const browser = await launchChromium();
  // a phone: the page's viewport meta is honoured, as Mobile Safari does
  const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 1,
    isMobile: true, hasTouch: true });
  const page = await context.newPage();
  for (const [i, url] of URLS.entries()) {
    const where = new URL(url).hostname;
    await page.goto(url, { waitUntil: 'load' });
    const m = await page.evaluate(() => {
      const de = document.documentElement;
      const body = document.body;
      const cs = getComputedStyle(body);
      const column = body.getBoundingClientRect().right - parseFloat(cs.paddingRight);
      // every element that sticks out of the text column (a cut or edge-to-edge line on a phone)
      const out = [];
      for (const el of body.querySelectorAll('*')) {
        for (const r of el.getClientRects())
          if (r.width && r.right > column + 1) { out.push(`${el.tagName} "${el.textContent.slice(0, 40)}" right ${Math.round(r.right)} > ${Math.round(column)}`); break; }
      }
      const small = [...document.querySelectorAll('a.btn')].map((a) => a.getBoundingClientRect())
        .filter((r) => r.height < 44 || r.width < 44).map((r) => `${Math.round(r.width)}x${Math.round(r.height)}`);
      return { scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, out, buttons: document.querySelectorAll('a.btn').length,
        small, text: body.innerText };
    });
    ok(m.scrollWidth <= WIDTH && m.clientWidth === WIDTH, `${where}: no horizontal scrolling at ${WIDTH} px (scrollWidth ${m.scrollWidth})`,
      `clientWidth ${m.clientWidth}`);
    ok(m.out.length === 0, `${where}: no text sticks out of the page's column at ${WIDTH} px`, ...m.out.slice(0, 5));
    ok(m.buttons >= 3 && m.small.length === 0, `${where}: the ${m.buttons} download buttons are at least ${MIN_TAP} px tap targets`,
      `too small: ${m.small.join(', ')}`);
    if (i === 0 && process.env.EXPECT_TEXT)
      ok(m.text.includes(process.env.EXPECT_TEXT), `${where}: the page shows "${process.env.EXPECT_TEXT}"`, m.text.slice(0, 400));
    if (i === 0 && process.env.SCREENSHOT)
      await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  }
  await browser.close();
})().catch((e) => {
  console.log('not ok - the setup page in headless Chromium');
  console.log('# ' + String(e && e.stack || e).split('\n').join('\n# '));
  process.exit(1);
});
