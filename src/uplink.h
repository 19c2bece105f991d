/* uplink.h — the server side of an exchange: one upstream connection (resolve and connect via
 * upstream.h, TLS via tls_client.h, or a leg a tunnel made), HTTP/1 requests out and responses
 * in. Owned by the session that holds it (an HTTP/1.1 session keeps one, reused by its exchanges
 * one after the other), driven by the exchange using it now (u->ex), on the session's worker
 * thread. It reports to that exchange through struct uplink_ops: the connect's result, each
 * response's head, body bytes and end (the response parser's callbacks), bytes arriving, its
 * output draining, and the connection's events (TLS done, EOF, error). When the server chose h2
 * (uplink_h2.h), u is bound to a shared HTTP/2 connection instead (u->h2, its stream u->sid) and
 * reports through the same response handlers, plus ops->stream.
 * Plus uplink_record_connect: what a connect attempt leaves in a flow (pure, any thread). */
#ifndef HTTPEEK_UPLINK_H
#define HTTPEEK_UPLINK_H

#include <event2/event.h>
#include "attrib.h"
#include "flow.h"
#include "http1.h"
#include "leg.h"
#include "name_str.h"
#include "proxy.h"
#include "upstream.h"

struct exchange;
struct uplink;
struct h2_conn;
struct h2_failure;
struct message_head;

/* What an uplink tells the exchange using it; each op gets the uplink (u->ex is the exchange). */
struct uplink_ops {
    struct http1_handlers response; /* each response's head, body, end (arg: the uplink) */
    /* The connect started by uplink_connect finished (r->fd < 0: it failed). */
    void (*connected)(struct uplink *u, const struct upstream_result *r);
    /* Bytes arrived (already counted in u->leg.bytes_in); feed them with uplink_feed. */
    void (*input)(struct uplink *u, struct evbuffer *in, size_t n);
    /* The output drained below its mark: a client paused by it may be read again. */
    void (*drained)(struct uplink *u);
    /* A bufferevent event: BEV_EVENT_CONNECTED (TLS done), EOF or ERROR (sock_err its errno). */
    void (*event)(struct uplink *u, short what, int sock_err);
    /* HTTP/2 only: fail NULL: response events of u's stream were delivered (move on); else the
     * stream failed (struct h2_failure: code, retryable, lost, why). */
    void (*stream)(struct uplink *u, const struct h2_failure *fail);
};

struct uplink {
    struct leg leg;                 /* the server side (bev NULL when not connected) */
    struct exchange *ex;            /* the exchange using it (its flow NULL between exchanges) */
    const struct uplink_ops *ops;   /* that exchange's */
    const char *host;               /* host connected to (name_str.h: never NULL after
                                     * uplink_init; "" before the first connect) */
    int port;
    int tls;                        /* 1 when the leg speaks TLS */
    unsigned exchanges;             /* exchanges the connection carried before the current one (a
                                     * pooled connection counts its earlier use): what makes a
                                     * flow's "reused upstream connection" true */
    char server_ip[64];             /* address of the connection */
    int reusable;                   /* may carry another request */
    struct upstream_connect *connecting; /* resolve/connect in progress, or NULL */
    struct evbuffer *pending;       /* request bytes queued while connecting (owned), or NULL */
    enum http1_framing req_out;     /* request body framing towards the server */
    int offer_h2;                   /* uplink_open offers ALPN h2, http/1.1 (else http/1.1) */
    struct h2_conn *h2;             /* HTTP/2 connection u's exchanges go out on (uplink_h2.h), or
                                     * NULL: HTTP/1 on leg */
    int32_t sid;                    /* the current exchange's stream on h2, 0 when none */
    int h2_full;                    /* the stream's request queue is full (until ops->drained) */
    int h2_paused;                  /* response window withheld: the client side is full */
    size_t h2_unconsumed;           /* response bytes delivered while paused */
    struct message_head *trailers;  /* trailers of the HTTP/2 response that just ended (owned),
                                     * or NULL; kept until the next exchange */
};

/* Set up a zeroed uplink: its leg (owner u, no socket, budget: may be NULL) and names. */
void uplink_init(struct uplink *u, struct budget *budget) HP_NONNULL(1);

/* 1 when u's connection goes to host:port (tls) and may carry another request (its response
 * parser, paused at the end of the last response, is resumed); 0 otherwise. */
int uplink_reuse(struct uplink *u, const char *host, int port, int tls) HP_NONNULL(1, 2);

/* Close any connection u has and start a new one to host:port (tls); ops->connected follows.
 * Returns 0, or -1 out of memory. */
int uplink_connect(struct uplink *u, struct event_base *base, struct resolver *dns,
                   const char *host, int port, int tls, double timeout) HP_NONNULL(1, 2, 3, 4);

/* The connect succeeded (r->fd): make the leg (TLS handshake started when u->tls, ops->event
 * says when it is done). Returns 0, or -1 out of memory (r->fd closed). */
int uplink_open(struct uplink *u, struct proxy *proxy, struct event_base *base,
                const struct upstream_result *r) HP_NONNULL(1, 2, 3, 4);

/* A leg made elsewhere (a tunnel's) becomes u's: response parser and callbacks. */
void uplink_adopt(struct uplink *u) HP_NONNULL(1);

/* Where request bytes go now: the leg's output, or the pending buffer while connecting (NULL
 * when neither is there). */
struct evbuffer *uplink_output(struct uplink *u, int connecting) HP_NONNULL(1);

/* Connected: what waited in the pending buffer goes out. Returns 1 when there was any. */
int uplink_flush_pending(struct uplink *u) HP_NONNULL(1);

/* Parse what arrived (ops->response callbacks run). */
enum http1_feed_result uplink_feed(struct uplink *u, struct evbuffer *in) HP_NONNULL(1, 2);

/* Record an upstream connect result in flow f (lookup and connect timings, address, attempts;
 * the failure facts when it failed). Returns 0 when the socket is ready, -1 when it failed. */
int uplink_record_connect(struct flow *f, const struct upstream_result *r) HP_NONNULL(1, 2);

/* 1 when leg's TLS handshake is done and chose h2 (such a leg must never carry HTTP/1 bytes). */
int uplink_leg_is_h2(const struct leg *leg) HP_NONNULL(1);

/* The calls below work on either kind of uplink (uplink_either.c): an HTTP/1 leg, or a stream of
 * a shared HTTP/2 connection (uplink_h2.h). */

/* What the uplink's connection says of TLS (its HTTP/2 connection's when bound to one). */
struct tls_facts *uplink_tls(struct uplink *u) HP_NONNULL(1);

/* The exchange using u failed: nothing of it may reach the next one (connect cancelled, leg
 * closed, queued bytes dropped, HTTP/2 stream reset). */
void uplink_drop(struct uplink *u) HP_NONNULL(1);

/* 1 when u's output is full (LEG_OUTBUF_MAX; HTTP/2: the stream's queue): wait for ops->drained. */
int uplink_full(struct uplink *u) HP_NONNULL(1);

/* Stop / start reading responses (HTTP/2: withhold / give back the stream's window). */
void uplink_pause(struct uplink *u) HP_NONNULL(1);
void uplink_resume(struct uplink *u) HP_NONNULL(1);

/* After response bytes went into client's output: pause u while that output is full (leg_throttle
 * for HTTP/1); uplink_client_drained from client's write callback resumes it (leg_drained). */
void uplink_throttle(struct uplink *u, struct leg *client) HP_NONNULL(1, 2);
void uplink_client_drained(struct uplink *u, struct leg *client) HP_NONNULL(1, 2);

/* Free what the uplink holds (connect in progress, leg, parser, facts, pending bytes, its
 * stream and its share of an HTTP/2 connection). */
void uplink_free(struct uplink *u) HP_NONNULL(1);

#endif
