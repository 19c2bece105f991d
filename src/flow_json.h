/* flow_json.h — a finished flow as JSON (jansson): the summary shown in lists and the detail
 * shown for one flow, in the shapes documented in store.h. Runs on the store's writer thread,
 * which persists the detail text; the viewer and HAR export read it back.
 *
 * Every string is valid UTF-8 whatever bytes the flow held: a byte sequence that is not valid
 * UTF-8 is mapped byte by byte as Latin-1 (0x80..0xff → U+0080..U+00FF), so header values survive
 * and can be told apart, and the JSON always encodes. */
#ifndef HTTPEEK_FLOW_JSON_H
#define HTTPEEK_FLOW_JSON_H

#include <stddef.h>
#include <sys/time.h>
#include <jansson.h>
#include "attrib.h"
#include "flow.h"

/* The summary (detail = 0) or detail (detail = 1) object of f. Returns a new reference
 * (caller json_decref), NULL on OOM. */
json_t *flow_to_json(const struct flow *f, int detail) HP_NONNULL(1);

/* Turn the summary object o of f (from flow_to_json(f, 0)) into its detail, in place: for a
 * writer that needs both texts without building the summary twice. */
void flow_json_add_detail(json_t *o, const struct flow *f) HP_NONNULL(1, 2);

/* A JSON string of len bytes of s: valid UTF-8 sequences kept, other bytes mapped as Latin-1.
 * NUL bytes are kept (as \u0000). Returns a new reference, NULL on OOM. */
json_t *flow_json_string(const char *s, size_t len);

/* 1 when s[0..len) is entirely valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
int flow_json_is_utf8(const char *s, size_t len);

/* Format tv as ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z") into buf (>= 32). */
void flow_json_iso_time(const struct timeval *tv, char *buf, size_t buflen) HP_NONNULL(1, 2);

/* The media type of a Content-Type value, lower-cased, without parameters ("" when ctype is
 * NULL or empty), into out. */
void flow_json_mime(const char *ctype, char *out, size_t outlen) HP_NONNULL(2);

#endif
