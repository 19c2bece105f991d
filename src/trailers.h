/* trailers.h — trailer sections (RFC 9110 §6.5; gRPC's status lives there) across wire
 * protocols: recording them with a flow (f->req_trailers / f->resp_trailers: what the API, HAR and
 * the viewer show), writing them at the end of an HTTP/1.1 chunked body, and turning recorded
 * ones into an HTTP/2 trailer head. Any uplink or front that receives trailers records them with
 * trailers_record (HTTP/2: the engine's message_head) or trailers_record_http1 (llhttp's fields);
 * the other leg's writer then reads them from the flow.
 * Pure functions, no I/O of their own: on the thread that holds the flow. */
#ifndef HTTPEEK_TRAILERS_H
#define HTTPEEK_TRAILERS_H

#include <stddef.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "flow.h"
#include "http1.h"
#include "message.h"

/* Record the trailer fields of t (t->trailers, in order) as f's request (response 0) or response
 * (response 1) trailers, replacing any recorded before. Nothing is recorded when t has none.
 * Returns 0, -1 on OOM. */
int trailers_record(struct flow *f, int response, const struct message_head *t) HP_NONNULL(1, 3);

/* The same for n fields parsed from an HTTP/1.1 chunked trailer section. */
int trailers_record_http1(struct flow *f, int response, const struct http1_field *fields, size_t n)
    HP_NONNULL(1);

/* 1 when name (len bytes) may travel as a trailer field to the next hop: not a pseudo-header,
 * not framing (Content-Length, Transfer-Encoding), hop-by-hop (Connection, TE, Trailer, ...) or
 * routing (Host) data (RFC 9110 §6.5.1). */
int trailers_forwardable(const char *name, size_t len) HP_NONNULL(1);

/* Append the end of a body in framing, with t's forwardable fields as the trailer section when
 * framing is chunked (other framings cannot carry one: t is dropped). t may be NULL (then as
 * http1_write_end). Returns 0, -1 on OOM. */
int trailers_write_http1(struct evbuffer *out, enum http1_framing framing,
                         const struct http1_head *t) HP_NONNULL(1);

/* Add t's forwardable fields to m's trailers (for h2_server_end / h2_client_end). Returns the
 * number added, -1 on OOM. */
int trailers_to_message(struct message_head *m, const struct http1_head *t) HP_NONNULL(1, 2);

#endif
