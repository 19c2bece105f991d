/* h2_common.h — what the HTTP/2 engines (h2_server, h2_client) share: names of frame types and
 * error codes for diagnoses, the outgoing body queue of one stream (the nghttp2 data provider
 * that pauses when empty), header blocks from message heads, and a token bucket for flood limits.
 *
 * Ownership: a queue belongs to its stream; everything runs on the thread that owns the session.
 * Lower layer: uses nghttp2 and message.h, never the engines' owners. */
#ifndef HTTPEEK_H2_COMMON_H
#define HTTPEEK_H2_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>
#include "attrib.h"
#include "message.h"

/* "HEADERS", "DATA", ... for an HTTP/2 frame type; "unknown frame" otherwise. */
const char *h2_frame_name(uint8_t type);

/* "PROTOCOL_ERROR", "CANCEL", ... for an HTTP/2 error code; "unknown error code" otherwise. */
const char *h2_error_name(uint32_t code);

/* What an error code we send means, in a sentence (for a GOAWAY with no more precise reason). */
const char *h2_error_meaning(uint32_t code);

/* nghttp2's error sentence for a stream, with the frame named: "Invalid HTTP header field was
 * received: frame type: 1, stream: 3, name: [te], value: [gzip]" becomes "HEADERS frame on
 * stream 3: invalid field te: gzip"; other sentences are copied. */
void h2_describe_error(const char *msg, char *out, size_t size) HP_NONNULL(1, 2);

/* Outgoing body of one stream: bytes queued by the exchange, sent as the peer's flow-control
 * window allows. */
struct h2_outq {
    struct evbuffer *buf;        /* bytes not yet framed (owned) */
    int ended;                   /* the exchange said the body is complete */
    int deferred;                /* the data provider returned DEFERRED: resume on new bytes */
    struct message_head trailers; /* trailers to send after the body (ntrailers may be 0) */
    int has_trailers;
    size_t sent;                 /* body bytes framed so far */
    int was_full;                /* the owner was told the queue is full: tell it when drained */
    int drained;                 /* set by h2_outq_read when a full queue fell below the low mark */
};

/* Queue marks: an owner stops producing while a stream has H2_OUTQ_HIGH bytes queued and is told
 * to go on once the queue is under H2_OUTQ_LOW. */
#define H2_OUTQ_HIGH (256 * 1024)
#define H2_OUTQ_LOW (64 * 1024)

/* Prepare q; -1 on OOM. */
int h2_outq_init(struct h2_outq *q, int is_request) HP_NONNULL(1);
void h2_outq_free(struct h2_outq *q) HP_NONNULL(1);

/* The data provider every stream with a body uses (source.ptr = struct h2_outq *). Submits the
 * trailers itself at the end (nghttp2_submit_trailer), as nghttp2 documents. */
ssize_t h2_outq_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                     uint32_t *data_flags, nghttp2_data_source *source, void *user_data);

/* Resume the stream's data provider if it had paused. Returns 0 or an nghttp2 error. */
int h2_outq_kick(nghttp2_session *s, int32_t stream_id, struct h2_outq *q) HP_NONNULL(1, 3);

/* Queue len body bytes on stream_id's q (not ended yet) and wake its data provider. Returns 0,
 * 1 when q is now full (stop producing until told it drained), -1 when q is ended or on OOM. */
int h2_outq_send(nghttp2_session *s, int32_t stream_id, struct h2_outq *q, const void *data,
                 size_t len) HP_NONNULL(1, 3);

/* End q's body, with trailers (ntrailers may be 0, or NULL: none) mapped to HTTP/2 fields, and
 * wake its data provider. Returns 0, -1 when q is ended already or the trailers are invalid. */
int h2_outq_end(nghttp2_session *s, int32_t stream_id, struct h2_outq *q,
                const struct message_head *trailers) HP_NONNULL(1, 3);

/* Build an nghttp2 header list from an HTTP/2-form head (message_to_h2's output): pseudo-headers
 * first, then fields (trailers instead when trailers is 1). *nv is malloc'd (free it); its
 * strings are borrowed from h and status (the :status text of a response). Returns the count,
 * or -1 on OOM. */
ssize_t h2_head_nv(const struct message_head *h, int trailers, char status[4], nghttp2_nv **nv)
    HP_NONNULL(1, 3, 4);

/* h2_head_nv for any head (message_to_h2's rules, without making the HTTP/2-form copy): the
 * pseudo-headers of a request (is_request 1: :authority from Host when src has none) or a
 * response (:status in status), then src's fields in HTTP/2 form (message_h2_fields). *nv is one
 * block that also holds the lower-cased names: room (room_size bytes, pointer-aligned; NULL/0:
 * none) when it fits there, else malloc'd (free it when *nv != room); the other strings are
 * borrowed from src. Returns the count, or -1 on OOM. */
ssize_t h2_head_nv_from(const struct message_head *src, int is_request, char status[4],
                        void *room, size_t room_size, nghttp2_nv **nv) HP_NONNULL(1, 3, 6);

/* Stack room for h2_head_nv_from that a usual head fits in. */
#define H2_NV_ROOM 4096

/* Serialise every frame ng has ready into gather (an evbuffer of the engine's own, empty between
 * calls), then move them to out in one append. Returns 0, or nghttp2's error (< 0). */
int h2_session_drain(nghttp2_session *ng, struct evbuffer *gather, struct evbuffer *out)
    HP_NONNULL(1, 2, 3);

/* Limits of one HTTP/2 connection (defaults: h2_limits_default). */
struct h2_limits {
    uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS we announce (100) */
    uint32_t max_header_list;        /* SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 list size (65536) */
    uint32_t max_header_fields;      /* most fields in one header block (200) */
    uint32_t header_table_size;      /* HPACK dynamic table, both directions (4096) */
    uint32_t stream_window;          /* initial flow-control window of a stream (256 KiB) */
    uint32_t connection_window;      /* connection flow-control window (16 MiB) */
    uint32_t reset_burst, reset_rate;     /* RST_STREAM frames from the peer: burst, per second */
    uint32_t control_burst, control_rate; /* SETTINGS, PING, PRIORITY, empty DATA: same */
    uint32_t max_continuations;      /* CONTINUATION frames after one HEADERS (8) */
    uint32_t max_outbound_ack;       /* SETTINGS/PING ACKs queued unsent before giving up (1000) */
};

void h2_limits_default(struct h2_limits *l) HP_NONNULL(1);

/* Token bucket: burst tokens at most, rate tokens per second added back. */
struct h2_bucket {
    double tokens, burst, rate;
    uint64_t last_ms;
};

void h2_bucket_init(struct h2_bucket *b, double burst, double rate) HP_NONNULL(1);

/* Take one token at now_ms; 0 when there was one, -1 when the bucket is empty (a flood). */
int h2_bucket_take(struct h2_bucket *b, uint64_t now_ms) HP_NONNULL(1);

/* Monotonic clock in milliseconds. */
uint64_t h2_now_ms(void);

#endif
