/* urlcache.h — what URLCache (URLSession's default cache) would do with a response: store it or
 * not, and for how long it would hand it to the app without asking the server; plus the headers
 * the app-level warnings read, found in one pass. Pure: no allocation, no I/O; any thread. Used
 * by warnings.c for its "cache" notes. */
#ifndef HTTPEEK_URLCACHE_H
#define HTTPEEK_URLCACHE_H

#include <stddef.h>
#include "attrib.h"
#include "flow.h"

/* URLCache.shared's default disk capacity assumed (10,000,000 bytes): URLCache does not store a
 * response larger than 5% of it. An app with its own URLCache may differ; the note says so. */
#define URLCACHE_DISK 10000000u

/* The headers the warnings look at (the first of each), borrowed from the flow's heads; NULL
 * when absent. */
struct urlcache_heads {
    const char *content_type, *content_encoding, *cache_control, *expires, *last_modified,
        *etag, *pragma, *vary, *date, *age;                          /* response */
    const char *accept, *req_cache_control, *if_none_match, *if_modified_since; /* request */
};

/* Fill h from f's request and response heads in one pass over each. */
void urlcache_heads(const struct flow *f, struct urlcache_heads *h) HP_NONNULL(1, 2);

/* Seconds URLCache would treat f's response as fresh (max-age, else Expires - Date, else 10% of
 * Date - Last-Modified; minus Age), -1 when it would not store it. Sets *why to a static phrase
 * ("max-age", "Expires", "heuristic", "none", "no-cache", "no-store", "Vary: *", "too large"). */
long urlcache_lifetime(const struct flow *f, const struct urlcache_heads *h, const char **why)
    HP_NONNULL(1, 2, 3);

/* The note for f (a GET answered 200, 203, 301 or 304 with caching headers, a conditional
 * request, or a body too large to cache): 1 with detail[0..len) filled, else 0 (nothing to say). */
int urlcache_note(const struct flow *f, const struct urlcache_heads *h, char *detail, size_t len)
    HP_NONNULL(1, 2, 3);

#endif
