/* json_scan.h — does a byte string hold one JSON text (RFC 8259), and if not, where does it break
 * and what would NSJSONSerialization say. Pure: no allocation, no I/O; any thread. Used by
 * warnings.c on response bodies declared JSON (or looking like it). */
#ifndef HTTPEEK_JSON_SCAN_H
#define HTTPEEK_JSON_SCAN_H

#include <stddef.h>
#include "attrib.h"

/* What a scan found. */
enum json_scan_state {
    JSON_SCAN_CONTAINER = 1, /* one JSON object or array */
    JSON_SCAN_FRAGMENT = 2,  /* valid JSON, but a bare string/number/true/false/null */
    JSON_SCAN_BAD = 3,       /* does not parse: at, line, col, why */
    JSON_SCAN_EMPTY = 5,     /* nothing but whitespace */
};

struct json_scan_result {
    int state;               /* enum json_scan_state */
    size_t at;               /* where it breaks (offset of the offending byte; n at the end) */
    unsigned line, col;      /* same, 1-based */
    const char *why;         /* static message in NSJSONSerialization's words */
};

/* Scan s[0..n) as one JSON text. Nesting deeper than 512 is reported as bad (no stack overflow
 * whatever the input). A UTF-8 byte order mark is skipped; string contents are not checked for
 * valid UTF-8. */
void json_scan(const char *s, size_t n, struct json_scan_result *out) HP_NONNULL(1, 3);

#endif
