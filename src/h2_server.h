/* h2_server.h — the HTTP/2 front's protocol engine: an nghttp2 server session over plain bytes
 * (bytes from the client leg in with h2_server_feed, bytes for it out with h2_server_flush), no
 * sockets, no event loop. It tells its owner, per stream, the request head, body, end (with
 * trailers) and close (reset by the client, or failed), and takes the response head, body,
 * trailers, end or a reset.
 *
 * Flow control is back-pressure both ways: a request body's window goes back to the client only
 * when the owner calls h2_server_consume (so a slow upstream holds back its own stream, never the
 * others, and httpeek buffers at most a window per stream); a response body waits in its stream's
 * queue until the client's window opens, and h2_server_send_body says when to pause.
 * Limits (h2_common.h struct h2_limits) hold against rapid reset, CONTINUATION, SETTINGS and PING
 * floods, large header lists, too many streams. No server push, no CONNECT (answered 501),
 * no h2c upgrade (the owner only ever feeds bytes after a TLS ALPN "h2").
 *
 * Ownership: the owner creates and frees the engine; heads passed in are borrowed (copied),
 * heads passed out are the engine's for the call (the callee may message_head_move them).
 * Thread: the one thread that owns the client leg; callbacks run inside feed, flush and eof.
 * An owner may call any h2_server_* function from a callback except h2_server_free. */
#ifndef HTTPEEK_H2_SERVER_H
#define HTTPEEK_H2_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "h2_common.h"
#include "message.h"

struct h2_server;

/* What the engine tells its owner. stream_arg is what the owner set with
 * h2_server_set_stream_arg (NULL before). Every callback may be NULL except on_request. */
struct h2_server_ops {
    /* A request head arrived whole on stream sid (head->stream_id, version 2.0, fields as the
     * client sent them). Return 0 to take the exchange (the stream then ends with on_close), -1
     * to refuse it (the engine resets it with REFUSED_STREAM). */
    int (*on_request)(void *arg, int32_t sid, struct message_head *head);
    /* Request body bytes; give the window back with h2_server_consume once they are taken. */
    void (*on_body)(void *arg, int32_t sid, void *stream_arg, const uint8_t *data, size_t len);
    /* The request is complete; trailers is NULL or a head whose trailers are set. */
    void (*on_end)(void *arg, int32_t sid, void *stream_arg, struct message_head *trailers);
    /* The stream closed (after on_request). error_code NO_ERROR (0) after a complete response,
     * else why it failed: by_client 1 when the client reset it (RST_STREAM; CANCEL is what an
     * app's cancelled task sends) or the connection is gone. why is a static-or-engine string
     * naming the frame ("RST_STREAM CANCEL from the client"). The stream is gone afterwards. */
    void (*on_close)(void *arg, int32_t sid, void *stream_arg, uint32_t error_code, int by_client,
                     const char *why);
    /* The response queue of sid fell under H2_OUTQ_LOW after h2_server_send_body returned 1. */
    void (*on_drain)(void *arg, int32_t sid, void *stream_arg);
    /* A request that never reached on_request: the engine answered it itself (status 431 header
     * list too large, 501 CONNECT) or reset it (status 0: malformed, e.g. a bad pseudo-header;
     * why says which rule). head holds what arrived. For the record: every refusal is a flow. */
    void (*on_refused)(void *arg, int32_t sid, const struct message_head *head, int status,
                       const char *why);
    /* The connection failed (called at most once): a GOAWAY we sent (by_client 0: flood, protocol
     * error — why names the frame) or one with an error the client sent (by_client 1). */
    void (*on_conn_error)(void *arg, uint32_t error_code, int by_client, const char *why);
};

/* A new engine with its SETTINGS queued (limits NULL: h2_limits_default). NULL on OOM. */
struct h2_server *h2_server_new(const struct h2_server_ops *ops, void *arg,
                                const struct h2_limits *limits) HP_NONNULL(1) HP_WUNRES;

/* Free the engine and its streams; no callbacks. NULL allowed. */
void h2_server_free(struct h2_server *s);

/* Bytes from the client. Returns 0, or -1 when the connection failed (on_conn_error was called;
 * flush once more to send the GOAWAY, then close). */
int h2_server_feed(struct h2_server *s, const uint8_t *data, size_t len) HP_NONNULL(1);

/* Append the frames ready for the client to out. Returns 0, -1 on a fatal session error. */
int h2_server_flush(struct h2_server *s, struct evbuffer *out) HP_NONNULL(1, 2);

/* The client leg closed or failed: every open stream gets on_close (by_client 1, CANCEL). */
void h2_server_eof(struct h2_server *s) HP_NONNULL(1);

/* 1 when the connection has nothing more to do (GOAWAY exchanged, no stream left, nothing to
 * send): the owner closes the leg. */
int h2_server_done(struct h2_server *s) HP_NONNULL(1);

/* Open streams (requests taken and not closed). */
size_t h2_server_streams(const struct h2_server *s) HP_NONNULL(1);

/* The connection is idle (no stream, nothing to send): give back the pages of nghttp2's frame
 * buffer (h2_mem.h); a no-op otherwise. */
void h2_server_release_idle(struct h2_server *s) HP_NONNULL(1);

/* The owner's pointer for stream sid (its exchange). Returns 0, -1 when no such stream. */
int h2_server_set_stream_arg(struct h2_server *s, int32_t sid, void *stream_arg) HP_NONNULL(1);

/* Response head for sid (any form: sent by message_to_h2's rules). A status < 200 is interim
 * (sent, the final head follows). end_stream 1: no body (so for answers to HEAD, and for 204
 * and 304). Returns 0, -1 (no such stream, already answered, OOM). */
int h2_server_respond(struct h2_server *s, int32_t sid, const struct message_head *head,
                      int end_stream) HP_NONNULL(1, 3);

/* Queue response body bytes. Returns 0, 1 when the queue reached H2_OUTQ_HIGH (pause until
 * on_drain), -1 when the stream is gone. */
int h2_server_send_body(struct h2_server *s, int32_t sid, const void *data, size_t len)
    HP_NONNULL(1);

/* End the response body, with trailers (a head whose trailers are set) or NULL. 0 or -1. */
int h2_server_end(struct h2_server *s, int32_t sid, const struct message_head *trailers)
    HP_NONNULL(1);

/* Reset stream sid with an HTTP/2 error code (e.g. NGHTTP2_INTERNAL_ERROR when the upstream
 * failed mid-body). 0 or -1. */
int h2_server_reset(struct h2_server *s, int32_t sid, uint32_t error_code) HP_NONNULL(1);

/* The owner took n request body bytes of sid: give the client that much window back. */
void h2_server_consume(struct h2_server *s, int32_t sid, size_t n) HP_NONNULL(1);

/* Graceful shutdown: GOAWAY NO_ERROR; open streams finish. */
void h2_server_shutdown(struct h2_server *s) HP_NONNULL(1);

/* Text of the last connection error ("" when none). */
const char *h2_server_error(const struct h2_server *s) HP_NONNULL(1);

#endif
