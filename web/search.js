/* search.js — the filter's body and header terms, searched by the server (GET /api/search):
 * body:TEXT, reqbody:, respbody:, header:NAME[=VALUE], and mitmproxy's ~b ~bq ~bs ~h ~hq ~hs
 * TEXT. The other terms (URL words, host:, status:, ...) stay with the viewer, which filters the
 * summaries it holds. One search runs at a time, a page of the session per request, and
 * continues over flows that arrive while it is active. */

import { $, setText } from './util.js';
import { apiJSON } from './api.js';

const SERVER_TERM = /^-?(body|reqbody|respbody|header):./i;
const MITM_OP = /^-?~(b|bq|bs|h|hq|hs)$/;

// {local: [tokens], server: "query for /api/search" ('' when none)}
function splitQuery(text) {
  const tokens = text.match(/(?:[^\s"]+|"[^"]*")+/g) || [];
  const local = [], server = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (MITM_OP.test(t)) {
      if (i + 1 < tokens.length) server.push(t + ' ' + tokens[++i]);
      continue; // an operator still waiting for its text: nothing to filter by yet
    }
    if (SERVER_TERM.test(t)) server.push(t);
    else if (/^-?(body|reqbody|respbody|header):$/i.test(t)) continue; // being typed
    else local.push(t);
  }
  return { local, server: server.join(' ') };
}

let current = null;

class Search {
  constructor(q, onProgress) {
    this.q = q;
    this.ids = new Set();
    this.after = 0;
    this.done = false;
    this.busy = false;
    this.stopped = false;
    this.error = '';
    this.onProgress = onProgress;
    this.run();
  }
  has(id) { return this.ids.has(id); }
  async run() {
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.done = false;
    try {
      while (!this.done && !this.stopped) {
        setText($('st-search'), 'searching bodies and headers… (through #' + this.after + ')');
        const r = await apiJSON('/api/search?q=' + encodeURIComponent(this.q) + '&after=' + this.after);
        if (this.stopped) return;
        for (const id of r.ids || []) this.ids.add(id);
        if (typeof r.next_after === 'number' && r.next_after > this.after) this.after = r.next_after;
        this.done = !!r.done || !(r.next_after > 0);
        this.error = '';
        if ((r.ids || []).length || this.done) this.onProgress();
      }
      setText($('st-search'), '');
    } catch (e) {
      this.error = e.message;
      this.done = true;
      setText($('st-search'), 'search: ' + e.message);
      this.onProgress();
    } finally {
      this.busy = false;
      if (this.again && !this.stopped) { this.again = false; this.run(); }
    }
  }
  // new flows arrived: search them too
  more() {
    if (this.stopped) return;
    if (this.busy) { this.again = true; return; }
    this.run();
  }
  stop() { this.stopped = true; setText($('st-search'), ''); }
}

// The search for q (kept when q is the one already running), or null when q is empty.
function serverSearch(q, onProgress) {
  if (current && current.q === q) { current.onProgress = onProgress; return current; }
  if (current) current.stop();
  current = q ? new Search(q, onProgress) : null;
  return current;
}
let moreTimer = 0;
function searchMore() {
  if (!current || moreTimer) return;
  moreTimer = setTimeout(() => { moreTimer = 0; if (current) current.more(); }, 150);
}
function searchReset() { if (current) { current.stop(); current = null; } }

export { splitQuery, serverSearch, searchMore, searchReset };
