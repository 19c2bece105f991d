/* har.h — flows → HAR 1.2 (with Chrome's conventions for failures: response.status 0 and
 * response._error; plus _diagnosis and _warnings when present), streamed entry by entry so that
 * memory stays bounded whatever the session size. Used by GET /api/har and `httpeek export`. */
#ifndef HTTPEEK_HAR_H
#define HTTPEEK_HAR_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"
#include "store.h"

/* Where HAR text goes; return 0, or -1 to abort. */
typedef int (*har_write_fn)(const char *data, size_t len, void *arg);

struct har_options {
    int redact;             /* 1: Authorization, Proxy-Authorization, Cookie, Set-Cookie values and
                               token-like query parameters replaced by "[redacted]" */
    const uint64_t *ids;    /* only these flows (NULL = every visible flow) */
    size_t nids;
};

/* Write the whole HAR document for the flows of r. Returns 0, or -1 on a store or write error. */
int har_write(struct store_reader *r, const struct har_options *o, har_write_fn write, void *arg)
    HP_NONNULL(1, 2, 3);

#endif
