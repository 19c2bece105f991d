/* recording.js — the banner that says the session is not being recorded (disk full, read-only,
 * deleted, I/O error): "Session disk full: 1,234 flows not recorded since 18:07", from
 * GET /api/session and the event stream's "recording" events; hidden again when recording
 * resumes. Proxying goes on meanwhile, so the list keeps what was recorded before. */

import { el } from './util.js';
import { apiJSON } from './api.js';

let banner = null;

function bannerEl() {
  if (banner) return banner;
  banner = el('div', { id: 'recording-banner', role: 'alert' });
  banner.hidden = true;
  const main = document.getElementById('main');
  main.parentNode.insertBefore(banner, main);
  return banner;
}

function hhmm(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

// the sentence for a failing state: what happened, how many flows, since when
function sentence(r) {
  const n = Number(r.not_recorded) || 0;
  const count = n.toLocaleString('en-US') + (n === 1 ? ' flow' : ' flows');
  const since = r.since ? ' since ' + hhmm(r.since) : '';
  const w = Number(r.waiting) || 0;
  const waiting = w ? ' (' + w.toLocaleString('en-US') + ' waiting in memory, written when it resumes)' : '';
  switch (r.reason) {
    case 'disk_full': return 'Session disk full: ' + count + ' not recorded' + since + waiting + '. Proxying goes on; recording resumes when space is freed.';
    case 'read_only': return 'Session file read-only: ' + count + ' not recorded' + since + waiting + '. Proxying goes on.';
    case 'deleted': return 'Session file deleted: ' + count + since + ' are not saved to any file. Export a HAR to keep them.';
    default: return 'Session not recorded (' + String(r.reason_text || 'I/O error') + '): ' + count + ' not recorded' + since + waiting + '. Proxying goes on.';
  }
}

function show(r) {
  if (!r || typeof r !== 'object') return;
  const b = bannerEl();
  if (r.state === 'failing') {
    b.textContent = sentence(r);
    b.title = String(r.last_error || '');
    b.dataset.reason = String(r.reason || '');
    b.dataset.count = String(Number(r.not_recorded) || 0);
    b.hidden = false;
  } else {
    b.hidden = true;
    b.textContent = '';
    delete b.dataset.reason;
    delete b.dataset.count;
  }
}

async function refresh() {
  try {
    const s = await apiJSON('/api/session');
    show(s && s.recording);
  } catch (e) { /* an older httpeek: no banner */ }
}

// app.js hands over its EventSource: listen for changes, and ask again after a reconnect
// (changes made while disconnected were not sent)
function watch(es) {
  es.addEventListener('recording', (ev) => {
    let r;
    try { r = JSON.parse(ev.data); } catch (e) { return; }
    show(r);
  });
  es.addEventListener('open', refresh);
}

window.httpeekRecording = { watch, refresh };
export { watch, refresh };
