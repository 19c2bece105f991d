/* warnings.js — the viewer's side of a flow's warnings (issue 16): the filter terms
 * warning:KIND and code:N, the list's warning badge, and the per-client count of app-level
 * failures (requests that worked at the network level but that the app's validation or decoding
 * fails: kinds content-type, status, decode, hls), counted from the summaries the viewer holds. */

// kinds that are failures of the app, not of the network (ATS and cache notes are not)
const APP_KINDS = ['content-type', 'status', 'decode', 'hls'];

function kindsOf(s) { return Array.isArray(s.warn_kinds) ? s.warn_kinds : []; }
function codesOf(s) {
  if (Array.isArray(s.warn_codes)) return s.warn_codes;
  return s.warn_code ? [s.warn_code] : [];
}

// warning:KIND (warning: or warning:any = any warning but cache notes), code:N (the
// diagnosis code or any warning's code). Returns a test on a summary.
function warnTerm(key, v) {
  if (key === 'code') {
    const n = Number(v);
    if (!v || !Number.isInteger(n)) return () => false;
    return (s) => s.diag_code === n || codesOf(s).includes(n);
  }
  if (!v || v === 'any' || v === '*') return (s) => kindsOf(s).some((k) => k !== 'cache') || !!s.warn_code;
  if (v === 'app') return isAppFailure;
  return (s) => kindsOf(s).includes(v);
}

function isAppFailure(s) {
  return !s.failed && kindsOf(s).some((k) => APP_KINDS.includes(k));
}

// The list's badge: "ATS -1022" for App Transport Security, "-1016 content-type" for an
// app-level warning; '' when the flow failed or has none (a cache note alone is not marked).
function warnBadge(s) {
  if (s.failed || !s.warn_code) return '';
  const k = kindsOf(s)[0];
  return !k || k === 'ats' ? 'ATS ' + s.warn_code : s.warn_code + ' ' + k;
}

// Flows of client addr (among flows) the app would fail although the network worked.
function appFailureCount(flows, addr) {
  let n = 0;
  for (const s of flows) if (s.client === addr && isAppFailure(s)) n++;
  return n;
}

export { APP_KINDS, warnTerm, warnBadge, isAppFailure, appFailureCount };
