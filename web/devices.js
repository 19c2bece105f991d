/* devices.js — the side panel: a card per client (device) with its apps and set-up checklist,
 * and the interception panel (rules, the built-in passthrough list, automatic passthrough per
 * device and host with "Resume interception"). Fields missing from an older server are left out. */

import { $, el, clear } from './util.js';
import { apiJSON } from './api.js';

// The name a client is shown by: the user's, else the server's display name, else the address.
function clientDisplayName(c) { return c.custom_name || c.name || c.ua_name || c.addr; }

function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

// One app (User-Agent product) seen from a device.
function appItem(a) {
  const li = el('li', { class: 'app' + (a.refused_hosts && a.refused_hosts.length ? ' refusing' : ''), 'data-app': a.name || '' },
    el('span', { class: 'app-name', title: a.ua || '' }, a.name || '(no User-Agent)'),
    // the device's history (Clear does not reset it), so not "flows" like the list's count
    typeof a.flows === 'number' ? el('span', { class: 'muted', title: 'requests seen since httpeek started' },
      ' · ' + plural(a.flows, 'request') + ' seen') : null);
  const refused = a.refused_hosts || [];
  if (refused.length) {
    li.appendChild(el('div', { class: 'app-refuses bad' },
      'refuses httpeek\'s certificate for ' + refused.join(', ') + ' — pins, or uses its own trust store'));
  }
  return li;
}

// opts: {active: bool, appFailures: number, onPick(), onRename(card)}
function clientCard(c, name, opts) {
  const ck = c.checklist || {};
  const card = el('div', { class: 'client' + (opts.active ? ' active' : ''), 'data-addr': c.addr });
  const nameEl = el('button', { type: 'button', class: 'client-name linkish', title: 'Show only this client\'s flows' }, name);
  nameEl.addEventListener('click', opts.onPick);
  const rename = el('button', { type: 'button', class: 'small rename', title: 'Rename this client' }, 'Rename');
  rename.addEventListener('click', () => opts.onRename(card));
  card.appendChild(el('div', { class: 'client-top' }, nameEl, rename));
  const meta = [c.addr];
  if (c.device && c.device !== name) meta.push(c.device);
  else if (!c.device && name !== c.addr && c.ua_name && c.custom_name) meta.push(c.ua_name);
  card.appendChild(el('div', { class: 'client-meta muted' }, meta.join(' · ')));
  card.appendChild(el('div', { class: 'client-counts' },
    el('span', null, plural(c.flows, 'flow')),
    c.failed ? el('span', { class: 'bad', title: 'transport failures: the request did not complete' }, c.failed + ' failed') : null,
    // counted by the viewer from the flows it holds (warnings.js): the network worked, the app's
    // validation or decoding would not (content-type, status, decode, hls warnings)
    opts.appFailures ? el('span', { class: 'warn app-failures', title: 'requests that arrived but that the app\'s response validation or decoding fails (warning:app)' },
      plural(opts.appFailures, 'app-level failure')) : null,
    c.refused ? el('span', { class: 'bad' }, plural(c.refused, 'TLS refusal')) : null));
  if (Array.isArray(c.apps) && c.apps.length) {
    card.appendChild(el('h5', null, 'Apps'));
    card.appendChild(el('ul', { class: 'apps' }, ...c.apps.map(appItem)));
  }
  const items = [
    ['proxy_reached', 'Proxy reached'],
    ['ca_downloaded', 'CA downloaded'],
    ['trusted_tls', 'First trusted TLS handshake'],
    ['app_traffic', 'App traffic seen'],
  ];
  const ul = el('ul', { class: 'checklist' });
  for (const [k, label] of items) {
    const on = !!ck[k];
    ul.appendChild(el('li', { class: 'check-item ' + (on ? 'yes' : 'no'), 'data-check': k },
      el('span', { class: 'mark' }, on ? '✓' : '✗'), ' ', label));
  }
  const refusing = ck.refusing_hosts || [];
  const li = el('li', { class: 'check-item ' + (refusing.length ? 'no' : 'yes'), 'data-check': 'refusing_hosts' },
    el('span', { class: 'mark' }, refusing.length ? '!' : '✓'), ' ',
    refusing.length ? 'Hosts refusing our certificate:' : 'No host refuses our certificate');
  if (refusing.length) li.appendChild(el('ul', { class: 'refusing' }, ...refusing.map((h) => el('li', null, h))));
  ul.appendChild(li);
  card.appendChild(ul);
  if (c.advice) card.appendChild(el('p', { class: 'advice' }, c.advice));
  return card;
}

// "in 29 min" / "in 40 s" from unix seconds; '' when unknown
function fromNow(unix) {
  if (typeof unix !== 'number' || !unix) return '';
  const s = Math.round(unix - Date.now() / 1000);
  if (s <= 0) return 'now';
  return s < 90 ? 'in ' + s + ' s' : s < 5400 ? 'in ' + Math.round(s / 60) + ' min' : 'in ' + (s / 3600).toFixed(1) + ' h';
}

function autoEntry(a) {
  const who = a.device || a.client || '';
  const li = el('li', { class: 'auto-entry', 'data-host': a.host || '', 'data-client': a.client || '' },
    el('div', null, el('b', { class: 'auto-host' }, (a.host || '') + (a.port && a.port !== 443 ? ':' + a.port : '')),
      who ? el('span', { class: 'muted' }, ' for ', el('span', { class: 'auto-device' }, who + (a.device && a.client ? ' (' + a.client + ')' : ''))) : null));
  const facts = [];
  if (a.rejections) facts.push(a.rejections + ' refusal' + (a.rejections === 1 ? '' : 's'));
  const exp = fromNow(a.expires);
  if (exp) facts.push('expires ' + exp);
  if (facts.length) li.appendChild(el('div', { class: 'muted small auto-facts', title: a.expires ? new Date(a.expires * 1000).toLocaleString() : '' }, facts.join(' · ')));
  if (a.reason) li.appendChild(el('div', { class: 'small' }, a.reason));
  if (a.client && a.host) {
    const b = el('button', { type: 'button', class: 'small resume', title: 'Intercept this host for this device again' }, 'Resume interception');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await apiJSON('/api/passthrough/' + encodeURIComponent(a.client) + '/' + encodeURIComponent(a.host), { method: 'DELETE' });
      } catch (e) {
        li.appendChild(el('div', { class: 'error small' }, 'Could not resume: ' + e.message));
      }
      refreshPassthrough();
    });
    li.appendChild(b);
  }
  return li;
}

async function refreshPassthrough() {
  let p;
  try { p = await apiJSON('/api/passthrough'); } catch (e) { return; }
  const box = $('passthrough');
  clear(box);
  const rules = p.rules || {};
  const list = (arr, none) => arr && arr.length ? el('ul', { class: 'globs' }, ...arr.map((g) => el('li', null, String(g))))
    : el('p', { class: 'muted' }, none);
  box.appendChild(el('h5', null, 'Intercepted (--intercept)'));
  box.appendChild(list(rules.intercept, 'every host'));
  box.appendChild(el('h5', null, 'Passed through (--passthrough)'));
  box.appendChild(list(rules.passthrough, 'none'));
  if (p.builtin && typeof p.builtin === 'object') {
    const b = p.builtin;
    box.appendChild(el('h5', { class: 'builtin-head' }, 'Passed through, built in' + (b.enabled === false ? ' (off)' : '')));
    const sec = el('div', { class: 'builtin' + (b.enabled === false ? ' off' : '') });
    const flag = el('code', null, '--no-default-passthrough');
    sec.appendChild(el('p', { class: 'muted small' }, b.enabled === false
      ? ['Off (', flag, '): these pinned platform services are intercepted.']
      : ['Platform services that pin their certificates; ', flag, ' turns this list off.']));
    const globs = Array.isArray(b.globs) ? b.globs : [];
    // a long list stays folded: the panel is for what the user's own traffic does
    sec.appendChild(globs.length > 4 ? el('details', null, el('summary', null, globs.length + ' host patterns'), list(globs, 'none'))
      : list(globs, 'none'));
    box.appendChild(sec);
  }
  box.appendChild(el('h5', null, 'Automatic passthrough'));
  const auto = Array.isArray(p.auto) ? p.auto : [];
  if (!auto.length) box.appendChild(el('p', { class: 'muted' }, 'none: no device refused httpeek\'s certificate repeatedly'));
  else box.appendChild(el('ul', { class: 'auto' }, ...auto.map((a) => (typeof a === 'string' ? el('li', null, a) : autoEntry(a)))));
}

export { clientCard, clientDisplayName, refreshPassthrough };
