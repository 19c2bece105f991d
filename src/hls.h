/* hls.h — the URIs of an HLS playlist (RFC 8216): each URI line and each URI="..." attribute of
 * an #EXT tag, in order, and how a relative one resolves against the playlist's own URL. Pure:
 * no allocation, no I/O; any thread. Used by warnings.c (each URI checked) and links.c (each URI
 * matched to the flow that later fetched it). */
#ifndef HTTPEEK_HLS_H
#define HTTPEEK_HLS_H

#include <stddef.h>
#include "attrib.h"

/* Called with each URI u[0..n) (not terminated), its 1-based line, and attr = 1 for a URI="..."
 * attribute (keys and maps may use skd:// and data:), 0 for a URI line. */
typedef void (*hls_uri_fn)(const char *u, size_t n, unsigned line, int attr, void *arg);

/* Call fn for each URI of the playlist text s[0..n). */
void hls_each_uri(const char *s, size_t n, hls_uri_fn fn, void *arg) HP_NONNULL(1, 3);

/* Resolve u[0..n) against the absolute http(s) URL base (RFC 3986 section 5.2, without the
 * fragment) into out. Returns 0, or -1 when u is not an http(s) reference (another scheme,
 * control characters) or the result does not fit. */
int hls_resolve(const char *base, const char *u, size_t n, char *out, size_t outlen)
    HP_NONNULL(1, 2, 4);

#endif
