/* breakpoint_edit.h — heads and bodies of a paused exchange as the API shows them, and the
 * user's edits applied back to them (for breakpoint_apply.c; the checks also for the web thread).
 * Pure functions on their arguments; any thread. */
#ifndef HTTPEEK_BREAKPOINT_EDIT_H
#define HTTPEEK_BREAKPOINT_EDIT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>
#include <jansson.h>
#include "attrib.h"
#include "http1.h"

/* {method, url, headers: [[name, value], ...]} of a request (url given), or {status, reason,
 * headers} of a response (url NULL). A new object, NULL out of memory. */
json_t *bp_head_view(const struct http1_head *h, const char *url) HP_NONNULL(1);

/* Add a body's view to o: "body" (text) or "body_base64", "body_size" (bytes held) and, when the
 * bytes were decoded for showing, "body_encoding" (the Content-Encoding undone; *decoded 1). */
void bp_body_view(json_t *o, const char *cenc, const unsigned char *data, size_t len, int *decoded)
    HP_NONNULL(1, 5);

/* The body an edit gives ("body" text or "body_base64") into out: 1 given, 0 not, -1 invalid. */
int bp_body_edit(const json_t *edit, struct evbuffer *out) HP_NONNULL(1, 2);

/* 1 when an abort can make the app see NSURLError code (-1005, -1001, -1004, -1003). */
int bp_abort_error_known(json_int_t code);

/* The llhttp method of name (upper case), or -1. */
int bp_method(const char *name) HP_NONNULL(1);

/* Rebuild h: target (requests; NULL keeps it), status and reason (responses; 0 / NULL keep),
 * fields from headers ([[name, value]...]; NULL keeps h's) less any Content-Length and
 * Transfer-Encoding (and Content-Encoding when drop_cenc), then the framing's own field
 * (Content-Length: clen, or Transfer-Encoding: chunked). Returns 0, -1 out of memory. */
int bp_head_rebuild(struct http1_head *h, const char *target, int status, const char *reason,
                    const json_t *headers, enum http1_framing framing, uint64_t clen,
                    int drop_cenc) HP_NONNULL(1);

/* The Content-Encoding a rebuilt head would carry: headers' (an edit) or h's; NULL when none. */
const char *bp_content_encoding(const struct http1_head *h, const json_t *headers) HP_NONNULL(1);

/* Check an action's JSON ({action, request|response edits, abort}) before it is handed over
 * (any thread). Returns 0, or -1 with err naming the field. */
int breakpoint_action_check(const json_t *action, char *err, size_t errlen) HP_NONNULL(2);

#endif
