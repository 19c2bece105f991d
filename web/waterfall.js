/* waterfall.js — the timing waterfall of a flow (HAR phases). HAR's `connect` includes `ssl`, so
 * the ssl bar is drawn inside the connect bar's span (at its end, where the handshake happens),
 * and every bar is scaled to the flow's total time (a tunnel's phases are a sliver of it). A
 * throttle rule's added delay (timings.throttle) is its own bar, "throttle", after wait: the
 * response's first byte waited that long on its way to the client. */

import { el, fmtMs } from './util.js';

const PHASES = ['blocked', 'dns', 'connect', 'ssl', 'send', 'wait', 'throttle', 'receive'];

// {phase: {start, dur}} in ms from the flow's start; ssl nested at the end of connect.
function layout(t) {
  const pos = {};
  let at = 0;
  for (const p of PHASES) {
    const v = t[p];
    if (typeof v !== 'number' || v < 0) continue;
    if (p === 'ssl') continue;
    pos[p] = { start: at, dur: v };
    at += v;
  }
  if (typeof t.ssl === 'number' && t.ssl >= 0) {
    const c = pos.connect;
    // within connect when it was counted there; a record without connect gets its own span
    pos.ssl = c && c.dur >= t.ssl ? { start: c.start + c.dur - t.ssl, dur: t.ssl, nested: true }
      : { start: c ? c.start + c.dur : at, dur: t.ssl };
    if (!pos.ssl.nested) at = Math.max(at, pos.ssl.start + pos.ssl.dur);
  }
  const total = Math.max(typeof t.total === 'number' && t.total > 0 ? t.total : 0, at);
  return { pos, total };
}

function waterfall(t) {
  const { pos, total } = layout(t);
  const box = el('div', { class: 'waterfall', 'data-total': total });
  for (const p of PHASES) {
    const q = pos[p];
    if (p === 'throttle' && !q) continue; // a row only when a throttle added a delay
    const bar = el('span', { class: 'bar ph-' + p });
    if (q && total > 0) {
      bar.style.left = (100 * q.start / total) + '%';
      bar.style.width = (100 * q.dur / total) + '%';
      bar.dataset.start = q.start;
      bar.dataset.dur = q.dur;
    } else {
      bar.hidden = true;
    }
    const nested = p === 'ssl' && q && q.nested;
    box.appendChild(el('div', { class: 'wf-row' + (q ? '' : ' none') + (nested ? ' nested' : ''), 'data-phase': p },
      el('span', { class: 'wf-label', title: nested ? 'the TLS handshake, part of connect'
        : p === 'throttle' ? 'delay added by a throttle rule (latency per round trip, DNS delay)' : null }, nested ? '↳ ssl' : p),
      el('span', { class: 'wf-track' }, bar),
      el('span', { class: 'wf-val' }, q ? fmtMs(q.dur) : '—')));
  }
  if (total > 0) {
    box.appendChild(el('div', { class: 'wf-row total' }, el('span', { class: 'wf-label' }, 'total'),
      el('span', { class: 'wf-track' }), el('span', { class: 'wf-val' }, fmtMs(total))));
  }
  return box;
}

export { waterfall };
