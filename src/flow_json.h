/* flow_json.h — a finished flow as JSON text: the summary shown in lists and the detail shown for
 * one flow, in the shapes documented in store.h. Runs on the store's writer thread, which persists
 * the summary and the detail (as a flow record: detail_record, flow_detail.h); the viewer and HAR
 * export read them back.
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
#include "flow_json_text.h"

/* Write f's summary and detail JSON (compact, members in a fixed order) into out, replacing what
 * it held. Returns 0, -1 on OOM. */
int flow_json_texts(const struct flow *f, struct flow_json_text *out) HP_NONNULL(1, 2);

/* Complete a detail read back from the session: a keyed warning (diagnose_entry.key) is stored
 * without its catalogue texts, which this puts back (name, title, fix, android), so readers see
 * the whole warning. Rows without keys are left as they are. */
void flow_json_put_back(json_t *detail);

/* A detail read back as a whole detail: one written with detail_only (no "id" member) gets the
 * summary's members (summary_text) before its own, the order flow_json_texts writes a whole
 * one in; a whole detail is returned as it is. Takes detail's reference; returns a reference,
 * NULL on OOM or a summary that does not parse (detail is then released). */
json_t *flow_json_whole(json_t *detail, const char *summary_text);

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

/* The app that sent f's request (useragent.h ua_app of its User-Agent; the CONNECT's for a
 * tunnel) into out, "" when it sent none. */
void flow_json_app(const struct flow *f, char *out, size_t outlen) HP_NONNULL(1, 2);

#endif
