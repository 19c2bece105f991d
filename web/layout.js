/* layout.js — the page's layout at every width: the clients panel docked on wide screens and an
 * overlay behind ☰ on narrow ones, the detail pane below the list or beside it (wide screens, a
 * toggle remembered in localStorage) or over the list on a phone-sized window, and the border
 * between list and detail dragged to resize. Columns hide by priority in style.css. */

import { $, pref } from './util.js';

const NARROW = matchMedia('(max-width: 899px)'); // the clients panel overlays the list
const WIDE = matchMedia('(min-width: 1100px)');  // room for the detail beside the list
const body = document.body;

// the list repaints its rows on resize
function relayout() { window.dispatchEvent(new Event('resize')); }

function setSide(show) {
  $('side').hidden = !show;
  $('b-side').classList.toggle('on', show);
  relayout();
}
function applyWidth() {
  body.classList.toggle('narrow', NARROW.matches);
  body.classList.toggle('wide', WIDE.matches);
  // narrow: closed until asked for; wide: as the user left it
  setSide(NARROW.matches ? false : pref('side') !== '0');
  applyDock();
}
$('b-side').addEventListener('click', () => {
  setSide($('side').hidden);
  if (!NARROW.matches) pref('side', $('side').hidden ? 0 : 1);
});
// an overlaid panel closes when the list is used
$('listpane').addEventListener('pointerdown', () => { if (NARROW.matches && !$('side').hidden) setSide(false); });

function applyDock() {
  const right = WIDE.matches && pref('dock') === 'right';
  body.classList.toggle('dock-right', right);
  const b = $('b-dock');
  b.textContent = right ? '⬓' : '◧';
  b.title = right ? 'Show the detail below the list' : 'Show the detail beside the list';
  b.setAttribute('aria-pressed', right ? 'true' : 'false');
  relayout();
}
$('b-dock').addEventListener('click', () => {
  pref('dock', body.classList.contains('dock-right') ? 'below' : 'right');
  applyDock();
});

const pane = $('listpane');
const savedH = +pref('detailH'), savedW = +pref('detailW');
if (savedH >= 120) pane.style.setProperty('--detail-h', savedH + 'px');
if (savedW >= 280) pane.style.setProperty('--detail-w', savedW + 'px');

// the detail pane grown (px > 0) or shrunk from the keyboard (+ and -), remembered like a drag
function resizeDetail(px) {
  const detailEl = $('detail');
  if (detailEl.hidden) return;
  const right = body.classList.contains('dock-right');
  const r = detailEl.getBoundingClientRect();
  if (right) {
    const w = Math.max(280, Math.min(pane.clientWidth - 240, r.width + px));
    pane.style.setProperty('--detail-w', w + 'px');
    pref('detailW', Math.round(w));
  } else {
    const h = Math.max(120, Math.min(window.innerHeight - 160, r.height + px));
    pane.style.setProperty('--detail-h', h + 'px');
    pref('detailH', Math.round(h));
  }
  relayout();
}

// drag the border between the list and the detail pane (height below, width beside)
$('resizer').addEventListener('mousedown', (ev) => {
  ev.preventDefault();
  const detailEl = $('detail');
  const right = body.classList.contains('dock-right');
  const r0 = detailEl.getBoundingClientRect();
  const startX = ev.clientX, startY = ev.clientY;
  const move = (e) => {
    if (right) {
      const w = Math.max(280, Math.min(pane.clientWidth - 240, r0.width - (e.clientX - startX)));
      pane.style.setProperty('--detail-w', w + 'px');
    } else {
      const h = Math.max(120, Math.min(window.innerHeight - 160, r0.height - (e.clientY - startY)));
      pane.style.setProperty('--detail-h', h + 'px');
    }
    relayout();
  };
  const up = () => {
    document.removeEventListener('mousemove', move);
    document.removeEventListener('mouseup', up);
    const r = detailEl.getBoundingClientRect();
    if (right) pref('detailW', Math.round(r.width)); else pref('detailH', Math.round(r.height));
  };
  document.addEventListener('mousemove', move);
  document.addEventListener('mouseup', up);
});

NARROW.addEventListener('change', applyWidth);
WIDE.addEventListener('change', applyWidth);
applyWidth();

export { resizeDetail };
