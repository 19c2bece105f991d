/* warnings.h — app-level warnings of an exchange that worked at the network level but that the
 * app's networking layer would still turn into an error, or that explain what it will do next
 * (issue 16): the response's Content-Type is not what the request accepts (AFNetworking /
 * Alamofire validation), a 4xx/5xx status that default validation rejects, a body declared JSON
 * that does not parse or is empty, a body that does not match its Content-Encoding, an HLS
 * playlist with unsupported or cleartext URIs, cleartext to a local-network host (ATS's
 * NSAllowsLocalNetworking), and what URLCache does with the response (kind "cache", code 0: a
 * note, not an error).
 *
 * Pure but for one cache: the body facts (decoding up to WARNINGS_BODY_MAX captured bytes, a
 * JSON scan, a playlist scan) are computed once per flow into f->checks by the thread that holds
 * the flow, then reused. Called from diagnose_warnings. */
#ifndef HTTPEEK_WARNINGS_H
#define HTTPEEK_WARNINGS_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"
#include "diagnosis.h"
#include "flow.h"
#include "json_scan.h"

/* Bodies whose capture is larger than this are not decoded or parsed (the warning says so). */
#define WARNINGS_BODY_MAX (1024u * 1024)
/* Decoded output larger than this is not parsed either (a small body that inflates hugely). */
#define WARNINGS_DECODED_MAX (4u * 1024 * 1024)

/* flow_checks.body */
enum warnings_body {
    WARNINGS_BODY_UNCHECKED = 0, /* not a body the checks look at */
    WARNINGS_BODY_JSON = JSON_SCAN_CONTAINER,     /* a JSON array or object */
    WARNINGS_BODY_FRAGMENT = JSON_SCAN_FRAGMENT,  /* valid JSON, but a bare value */
    WARNINGS_BODY_BAD_JSON = JSON_SCAN_BAD,       /* does not parse: json_at, json_why */
    WARNINGS_BODY_NOT_JSON = 4,  /* not JSON, under a type that does not say JSON: nothing to say */
    WARNINGS_BODY_EMPTY = JSON_SCAN_EMPTY,        /* no bytes at all */
    WARNINGS_BODY_TRUNCATED = 6, /* the capture was cut at --max-body: cannot tell */
    WARNINGS_BODY_TOO_BIG,       /* over WARNINGS_BODY_MAX / _DECODED_MAX: not checked */
    WARNINGS_BODY_UNDECODED,     /* a coding this build cannot undo, or it failed: cannot tell */
};

/* flow_checks.encoding */
enum warnings_enc {
    WARNINGS_ENC_NONE = 0,       /* no Content-Encoding, or it decoded */
    WARNINGS_ENC_MISMATCH,       /* the bytes are not in the declared coding (-1015) */
    WARNINGS_ENC_UNKNOWN,        /* a coding this build cannot decode */
};

/* 1 when host is on the local network as ATS sees it (a .local name, an unqualified name other
 * than localhost, a private, link-local or unique-local IP address), else 0. Loopback is 0. */
int warnings_local_host(const char *host) HP_NONNULL(1);

/* The app-level warnings of f (a flow that did not fail): up to max entries of out, in the order
 * local-network, status, content-type, decode, hls, cache. Returns how many. Fills f->checks on
 * first use (see above). */
size_t warnings_app(const struct flow *f, struct diagnosis *out, size_t max) HP_NONNULL(1, 2);

/* The warnings entry whose key (diagnose_entry.key) is key, or NULL: how a reader of the session
 * puts back the texts a stored warning leaves out. */
const struct diagnose_entry *warnings_entry(const char *key) HP_NONNULL(1);

/* Remember the kind of each of f's first warnings w[0..n) for its terminal line (flow_format_line
 * reads f->checks.kinds beside f->warn_codes). Only the first call counts. */
void warnings_remember(const struct flow *f, const struct diagnosis *w, size_t n) HP_NONNULL(1);

#endif
