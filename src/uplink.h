/* uplink.h — the server side of an exchange: one upstream connection (its leg, where it goes,
 * whether it may carry another request) and the request bytes queued while it connects. Owned by
 * the session that holds it (an HTTP/1.1 session keeps one, reused by its exchanges one after the
 * other, and a tunnel makes it), driven by the exchange using it (exchange.c), one worker thread.
 * Plus what an upstream connection attempt (upstream.h) leaves in a flow: pure, any thread. */
#ifndef HTTPEEK_UPLINK_H
#define HTTPEEK_UPLINK_H

#include "attrib.h"
#include "flow.h"
#include "http1.h"
#include "leg.h"
#include "upstream.h"

struct exchange;

struct uplink {
    struct leg leg;                 /* the server side (bev NULL when not connected); first
                                     * member: its callbacks find the uplink from the leg */
    struct exchange *ex;            /* the exchange using it now, or NULL between exchanges */
    char host[256];                 /* host connected to */
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
};

/* Record an upstream connect result in flow f (lookup and connect timings, address, attempts;
 * the failure facts when it failed). Returns 0 when the socket is ready, -1 when it failed. */
int uplink_record_connect(struct flow *f, const struct upstream_result *r) HP_NONNULL(1, 2);

/* Free what the uplink holds (connect in progress, leg, parser, facts, pending bytes). */
void uplink_free(struct uplink *u) HP_NONNULL(1);

#endif
