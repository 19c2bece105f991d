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
#include "diagnose.h"
#include "flow.h"

/* Bodies whose capture is larger than this are not decoded or parsed (the warning says so). */
#define WARNINGS_BODY_MAX (1024u * 1024)
/* Decoded output larger than this is not parsed either (a small body that inflates hugely). */
#define WARNINGS_DECODED_MAX (4u * 1024 * 1024)
/* URLCache.shared's default disk capacity assumed for "too large to cache" (10,000,000 bytes);
 * URLCache skips a response larger than 5% of it. */
#define WARNINGS_URLCACHE_DISK 10000000u

/* flow_checks.body */
enum warnings_body {
    WARNINGS_BODY_UNCHECKED = 0, /* not a body the checks look at */
    WARNINGS_BODY_JSON,          /* a JSON array or object */
    WARNINGS_BODY_FRAGMENT,      /* valid JSON, but a bare string/number/true/false/null */
    WARNINGS_BODY_BAD_JSON,      /* does not parse: json_at, json_why */
    WARNINGS_BODY_NOT_JSON,      /* does not start like JSON (checked only for '{' / '[') */
    WARNINGS_BODY_EMPTY,         /* no bytes at all */
    WARNINGS_BODY_TRUNCATED,     /* the capture was cut at --max-body: cannot tell */
    WARNINGS_BODY_TOO_BIG,       /* over WARNINGS_BODY_MAX / _DECODED_MAX: not checked */
    WARNINGS_BODY_UNDECODED,     /* a coding this build cannot undo, or it failed: cannot tell */
};

/* flow_checks.encoding */
enum warnings_enc {
    WARNINGS_ENC_NONE = 0,       /* no Content-Encoding, or it decoded */
    WARNINGS_ENC_MISMATCH,       /* the bytes are not in the declared coding (-1015) */
    WARNINGS_ENC_UNKNOWN,        /* a coding this build cannot decode */
};

/* Result of warnings_json_scan. */
struct warnings_json {
    int state;                   /* WARNINGS_BODY_JSON, _FRAGMENT, _BAD_JSON or _EMPTY */
    size_t at;                   /* where it breaks (offset of the offending byte) */
    unsigned line, col;          /* same, 1-based */
    const char *why;             /* static message in NSJSONSerialization's words */
};

/* Scan s[0..n) as one JSON text (RFC 8259; nesting deeper than 512 is reported as bad, as
 * NSJSONSerialization does). No allocation. */
void warnings_json_scan(const char *s, size_t n, struct warnings_json *out) HP_NONNULL(1, 3);

/* 1 when host is on the local network as ATS sees it (a .local name, an unqualified name other
 * than localhost, a private, link-local or unique-local IP address), else 0. Loopback is 0. */
int warnings_local_host(const char *host) HP_NONNULL(1);

/* Seconds URLCache would treat f's response as fresh (max-age, else Expires - Date, else 10% of
 * Date - Last-Modified; minus Age), -1 when it would not store it. Sets *why to a static phrase
 * ("max-age", "Expires", "heuristic", "no-store", ...). */
long warnings_cache_lifetime(const struct flow *f, const char **why) HP_NONNULL(1, 2);

/* The app-level warnings of f (a flow that did not fail): up to max entries of out, in the order
 * local-network, status, content-type, decode, hls, cache. Returns how many. Fills f->checks on
 * first use (see above). */
size_t warnings_app(const struct flow *f, struct diagnosis *out, size_t max) HP_NONNULL(1, 2);

/* Remember the kind of each of f's first warnings w[0..n) for its terminal line (flow_format_line
 * reads f->checks.kinds beside f->warn_codes). Only the first call counts. */
void warnings_remember(const struct flow *f, const struct diagnosis *w, size_t n) HP_NONNULL(1);

#endif
