/* h2_client.h — the HTTP/2 uplink's protocol engine: an nghttp2 client session over plain bytes
 * (bytes from the server leg in with h2_client_feed, bytes for it out with h2_client_flush), no
 * sockets, no event loop. Many requests are multiplexed on one connection; per stream it takes a
 * request head, body bytes (with a pause when the queue is full), trailers and end, and tells the
 * response heads (1xx interim and final), body, trailers (gRPC's grpc-status lives there), end,
 * or why the stream failed — whether the request may be retried on another connection (GOAWAY
 * past the stream, REFUSED_STREAM once) and whether the connection was lost (-1005 for the app).
 *
 * Flow control is back-pressure: a response body's window goes back to the server only when the
 * owner calls h2_client_consume. Push is off (SETTINGS_ENABLE_PUSH 0).
 *
 * Ownership: the owner (an upstream connection of the pool) creates and frees the engine; heads
 * passed in are copied, heads passed out are the engine's for the call (the callee may
 * message_head_move them). Thread: the one thread that owns the server leg; callbacks run
 * inside feed, flush and eof. Callbacks may call any h2_client_* function but h2_client_free. */
#ifndef HTTPEEK_H2_CLIENT_H
#define HTTPEEK_H2_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "h2_common.h"
#include "message.h"

struct h2_client;

/* Why a stream failed. */
struct h2_failure {
    uint32_t code;   /* HTTP/2 error code (RST_STREAM or GOAWAY), CANCEL when the leg closed */
    int retryable;   /* 1: the server did not process the request; it may go out again */
    int lost;        /* 1: the connection went away under the stream (the app sees -1005) */
    const char *why; /* "RST_STREAM PROTOCOL_ERROR from the server", "GOAWAY ... " */
};

/* What the engine tells its owner. stream_arg is the pointer given to h2_client_submit. */
struct h2_client_ops {
    /* A response head: interim (head->status < 200, more follow) or final. */
    void (*on_response)(void *arg, int32_t sid, void *stream_arg, struct message_head *head);
    /* Response body bytes; give the window back with h2_client_consume once they are taken. */
    void (*on_body)(void *arg, int32_t sid, void *stream_arg, const uint8_t *data, size_t len);
    /* The response is complete; trailers is NULL or a head whose trailers are set. The stream
     * is done for the owner (no on_fail follows). */
    void (*on_end)(void *arg, int32_t sid, void *stream_arg, struct message_head *trailers);
    /* The stream failed before on_end; the stream is gone afterwards. */
    void (*on_fail)(void *arg, int32_t sid, void *stream_arg, const struct h2_failure *f);
    /* The request queue of sid fell under H2_OUTQ_LOW after h2_client_send_body returned 1. */
    void (*on_drain)(void *arg, int32_t sid, void *stream_arg);
    /* The connection failed or the server said GOAWAY with an error (at most once). */
    void (*on_conn_error)(void *arg, uint32_t error_code, int by_server, const char *why);
};

/* Flags of h2_client_submit. */
#define H2_CLIENT_RETRY 0x1 /* this request is already a retry: REFUSED_STREAM is final now */

/* A new engine with its preface and SETTINGS queued (limits NULL: h2_limits_default). */
struct h2_client *h2_client_new(const struct h2_client_ops *ops, void *arg,
                                const struct h2_limits *limits) HP_NONNULL(1) HP_WUNRES;

/* Free the engine and its streams; no callbacks. NULL allowed. */
void h2_client_free(struct h2_client *c);

/* The connection has no stream open: give back the storage kept for the next response head
 * (~2.5 KiB). */
void h2_client_trim(struct h2_client *c) HP_NONNULL(1);

/* Bytes from the server. 0, or -1 when the connection failed (on_conn_error called). */
int h2_client_feed(struct h2_client *c, const uint8_t *data, size_t len) HP_NONNULL(1);

/* Append the frames ready for the server to out. 0, -1 on a fatal session error. */
int h2_client_flush(struct h2_client *c, struct evbuffer *out) HP_NONNULL(1, 2);

/* The server leg closed or failed: every open stream gets on_fail (lost 1, retryable 0: the
 * server may have processed the request). */
void h2_client_eof(struct h2_client *c) HP_NONNULL(1);

/* 1 when the connection can take another stream: open, no GOAWAY seen, under the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS, stream ids left. For the upstream pool. */
int h2_client_can_take(const struct h2_client *c) HP_NONNULL(1);

/* Open streams. */
size_t h2_client_streams(const struct h2_client *c) HP_NONNULL(1);

/* Submit a request (any form: sent by message_to_h2's rules; head->end_stream 1 means no body).
 * Returns the stream id (> 0) or -1. The body follows with send_body / end. */
int32_t h2_client_submit(struct h2_client *c, const struct message_head *head, unsigned flags,
                         void *stream_arg) HP_NONNULL(1, 2);

/* Queue request body bytes. 0, 1 when the queue reached H2_OUTQ_HIGH (pause until on_drain),
 * -1 when the stream is gone. */
int h2_client_send_body(struct h2_client *c, int32_t sid, const void *data, size_t len)
    HP_NONNULL(1);

/* End the request body, with trailers (a head whose trailers are set) or NULL. 0 or -1. */
int h2_client_end(struct h2_client *c, int32_t sid, const struct message_head *trailers)
    HP_NONNULL(1);

/* Reset stream sid (e.g. CANCEL when the app cancelled). No callback follows for it. 0 or -1. */
int h2_client_reset(struct h2_client *c, int32_t sid, uint32_t error_code) HP_NONNULL(1);

/* The owner took n response body bytes of sid: give the server that much window back. */
void h2_client_consume(struct h2_client *c, int32_t sid, size_t n) HP_NONNULL(1);

/* Graceful shutdown: GOAWAY NO_ERROR; open streams finish. */
void h2_client_shutdown(struct h2_client *c) HP_NONNULL(1);

/* 1 when the connection has nothing more to do (the owner closes the leg). */
int h2_client_done(struct h2_client *c) HP_NONNULL(1);

/* Text of the last connection error ("" when none). */
const char *h2_client_error(const struct h2_client *c) HP_NONNULL(1);

#endif
