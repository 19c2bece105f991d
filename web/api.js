/* api.js — the viewer's client of httpeek's API: URLs with the viewer token forwarded, JSON
 * calls with the server's error text, the event stream (/api/events) and the paged flow list. */

// the token from the page's own URL (?token=...); the HttpOnly cookie normally covers it
let token;
function viewerToken() {
  if (token === undefined) token = new URLSearchParams(globalThis.location ? location.search : '').get('token');
  return token;
}

// API URL with the viewer token forwarded.
function api(path) {
  const t = viewerToken();
  if (!t) return path;
  return path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(t);
}

// fetch → JSON; a non-2xx answer throws an Error carrying the server's `error` text and .status
async function apiJSON(path, opts) {
  const r = await fetch(api(path), Object.assign({ cache: 'no-store' }, opts || {}));
  if (!r.ok) {
    let msg = r.status + ' ' + r.statusText;
    try { const j = await r.json(); if (j && j.error) msg = j.error; } catch (e) { /* not JSON */ }
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return r.status === 204 ? null : r.json();
}

// POST/PUT a JSON body
function sendJSON(method, path, body) {
  return apiJSON(path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

// The event stream: handlers {open, error, flows(list), cleared(), clients()}; returns the EventSource.
function openEvents(handlers) {
  const es = new EventSource(api('/api/events'));
  if (handlers.open) es.addEventListener('open', handlers.open);
  if (handlers.error) es.addEventListener('error', handlers.error);
  es.addEventListener('flows', (ev) => {
    let list;
    try { list = JSON.parse(ev.data); } catch (e) { return; }
    if (handlers.flows) handlers.flows(list);
  });
  if (handlers.cleared) es.addEventListener('cleared', handlers.cleared);
  if (handlers.clients) es.addEventListener('clients', handlers.clients);
  return es;
}

// One page of summaries after id `after`. The first page is preloaded by index.html (same URL,
// no token: the cookie set with the page covers it); when that is refused, ask again with the token.
async function flowPage(after, limit) {
  const path = '/api/flows?after=' + after + '&limit=' + limit;
  if (after === 0) {
    const r = await fetch(path);
    if (r.ok) return r.json();
  }
  return apiJSON(path);
}

// the bytes of a captured body ('request' or 'response'); null when the server has none
async function bodyBytes(id, which) {
  const r = await fetch(api('/api/flows/' + id + '/' + which + '/body'), { cache: 'no-store' });
  return r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
}

export { api, apiJSON, sendJSON, openEvents, flowPage, bodyBytes };
