/* uplink_h2.h — HTTP/2 towards servers: an upstream TLS connection whose ALPN chose h2 becomes a
 * struct h2_conn (the leg plus its h2_client engine), shared by every uplink bound to it (one per
 * exchange in flight: the streams of an h2 client connection, or the exchanges of several
 * HTTP/1.1 connections of the same client IP), keyed by client IP, host (the TLS server name),
 * port. Never shared between two clients. An uplink bound to one (u->h2) sends each exchange as
 * one stream (u->sid) and hears back through its ops' response handlers (head, body, end) and
 * ops->stream (delivered, or failed with the engine's struct h2_failure).
 *
 * Ownership: connections live in a list of the worker thread that made them (one event loop, no
 * locks); a connection no uplink is bound to closes after --upstream-idle seconds (5 s when 0),
 * or when the server closes it. Engine calls only queue: a deferred event writes the frames, so
 * no engine callback ever runs under an exchange's own call. Thread: that worker's. */
#ifndef HTTPEEK_UPLINK_H2_H
#define HTTPEEK_UPLINK_H2_H

#include <event2/event.h>
#include "attrib.h"
#include "http1.h"
#include "leg.h"
#include "proxy.h"
#include "tls_facts.h"
#include "uplink.h"

/* Decide whether u's next exchange to host:port (tls) goes out over HTTP/2 (--http2=yes only):
 * u's bound connection when it still can take a stream, else this client's connection to that
 * origin, else u's own leg when its handshake chose h2 (made into a shared connection here).
 * want_h1 (an Upgrade request, a retry) never uses one: an h2 leg of u is closed for a new
 * HTTP/1.1 connection. Returns 1 when u->h2 is set (submit next), 0 for HTTP/1, -1 OOM. */
int uplink_h2_route(struct uplink *u, struct proxy *proxy, struct event_base *base,
                    const char *client, const char *host, int port, int tls, int want_h1)
    HP_NONNULL(1, 2, 3, 4, 5);

/* 1 when the calling worker has client's connection to host:port and it can take a stream now
 * (a tunnel then need not connect: its requests go out on it). */
int uplink_h2_can_serve(const char *client, const char *host, int port) HP_NONNULL(1, 2);

/* Exchanges u's connection carried before the one about to be submitted. */
unsigned uplink_h2_carried(const struct uplink *u) HP_NONNULL(1);

/* Open u's stream with request req (fields with ':' names and Host left out: path and authority
 * given; req->framing HTTP1_NO_BODY ends the stream). 0, or -1 (the engine refused it). */
int uplink_h2_submit(struct uplink *u, const struct http1_head *req, const char *path,
                     const char *authority) HP_NONNULL(1, 2, 3, 4);

/* Request body bytes for u's stream: 0, 1 when its queue is full (u->h2_full until
 * ops->drained), -1 when the stream is gone. */
int uplink_h2_body(struct uplink *u, const char *data, size_t len) HP_NONNULL(1);

/* End u's request, with trailers (fields, as f->req_trailers; sent as a trailing HEADERS frame
 * of their forwardable fields) or NULL. 0 or -1. */
int uplink_h2_end(struct uplink *u, const struct http1_head *trailers) HP_NONNULL(1);


/* u's exchange is over: its stream, if still open, is reset (CANCEL); no callback follows. */
void uplink_h2_stream_done(struct uplink *u) HP_NONNULL(1);

/* Give the server the window of the response bytes u withheld while paused. */
void uplink_h2_consume(struct uplink *u) HP_NONNULL(1);

/* u leaves its connection (stream_done first). No-op when u->h2 is NULL. */
void uplink_h2_detach(struct uplink *u) HP_NONNULL(1);

/* TLS facts and address of connection c. */
struct tls_facts *uplink_h2_tls(struct h2_conn *c) HP_NONNULL(1);
const char *uplink_h2_server_ip(const struct h2_conn *c) HP_NONNULL(1);

/* Close and free every connection of the calling worker thread (its loop has ended). */
void uplink_h2_free_all(void);

#endif
