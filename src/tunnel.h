/* tunnel.h — one CONNECT on a client connection, owned by the session that received it and run on
 * that session's worker thread. It borrows the session's two legs, connects upstream, answers
 * 200, looks at the client's first bytes, and ends in one of three ways, each told to its owner
 * through struct tunnel_ops (never by calling into the owner's internals):
 *   - handed: the client leg is TLS httpeek terminates (t->intercepted), the upstream facts are
 *     in the struct (up_name, port, server_ip, marks; the upstream leg connected, still in its
 *     handshake when up_tls_pending, or absent when error says why); requests follow on the
 *     client leg in the protocol the client negotiated;
 *   - opaque: the bytes are to be relayed untouched (relay.h);
 *   - closed/failed: the owner is asked to answer or close.
 * The tunnel flow (t->flow) stays owned here until the first request takes its timings
 * (tunnel_take_flow) or the connection ends (tunnel_end records it). */
#ifndef HTTPEEK_TUNNEL_H
#define HTTPEEK_TUNNEL_H

#include <stdint.h>
#include <event2/event.h>
#include "attrib.h"
#include "flow.h"
#include "leg.h"
#include "name_str.h"
#include "proxy.h"
#include "upstream.h"

struct pool;

/* Where a tunnel is; each phase has its own deadline, kept by the owner (ops->phase). */
enum tunnel_phase {
    TUNNEL_IDLE,         /* no CONNECT (or the tunnel was handed over / closed) */
    TUNNEL_CONNECTING,   /* resolving and connecting upstream */
    TUNNEL_PEEK,         /* 200 sent: waiting for the client's first bytes */
    TUNNEL_UP_TLS,       /* TLS handshake with upstream (SNI from the client's hello) */
    TUNNEL_CLIENT_TLS,   /* TLS handshake with the client (our minted leaf) */
};

/* What a tunnel tells its owner; each call gets ops_arg. */
struct tunnel_ops {
    /* Entered phase p (log why, arm that phase's deadline). */
    void (*phase)(void *arg, enum tunnel_phase p, const char *why);
    /* Stop: close the connection (after flushing what is queued to the client when flush). */
    void (*close)(void *arg, int flush);
    /* Answer the CONNECT with status and reason, record flow f (no longer the tunnel's), close. */
    void (*fail)(void *arg, struct flow *f, int status, const char *reason);
    /* The client's TLS handshake is done: read requests on the client leg (see the facts above). */
    void (*handed)(void *arg);
    /* Relay both legs' bytes untouched from now on (the upstream leg is attached). */
    void (*opaque)(void *arg);
};

/* What the rules do to a tunnel httpeek does not intercept (a passthrough): rule_tunnel.h fills
 * it, main installs it as proxy->tunnel_policy (NULL: no rules, nothing called). */
enum tunnel_rule { TUNNEL_RULE_NONE, TUNNEL_RULE_ANSWER, TUNNEL_RULE_RESET };
struct tunnel;
struct tunnel_policy {
    /* A CONNECT that will be passed through (flow f): NONE go on; ANSWER it with *status (f
     * failed as the rule says); RESET: close without an answer (f failed). */
    enum tunnel_rule (*refuse)(struct tunnel *t, struct flow *f, int *status);
    /* Its relay starts: shape the client connection (NONE), or RESET (the tunnel was lost). */
    enum tunnel_rule (*relay)(struct tunnel *t, struct flow *f);
};

struct tunnel {
    /* set once by tunnel_init (borrowed) */
    const struct tunnel_ops *ops;
    void *ops_arg;
    uint64_t conn_id;               /* for logs */
    struct proxy *proxy;
    struct event_base *base;
    struct resolver *dns;
    struct pool *pool;              /* the worker's idle upstream connections, or NULL */
    struct leg *client, *upstream;  /* the owner's legs */
    const char *client_addr;        /* client IP */
    uint64_t *activity;             /* the owner's last-activity stamp (monotonic µs) */

    enum tunnel_phase phase;
    struct flow *flow;              /* the CONNECT's own flow until it becomes requests */
    const char *host;               /* CONNECT authority host (name_str.h: never NULL after
                                     * tunnel_init, at most NAME_STR_MAX bytes, as are the
                                     * three below; freed by tunnel_free) */
    int port;
    const char *sni;                /* SNI the client sent ("" when none) */
    int intercepted;                /* client leg is TLS we terminate: requests are https */
    const char *error;              /* upstream TLS failure answered to each request (502) */
    int mirror_untrusted;           /* upstream's certificate failed verification: the client is
                                     * shown a mirror of its defect (mirror.h), fails as upstream did */
    struct flow_marks marks;        /* dns/connect/tls marks given to the first request */
    char server_ip[64];             /* address of the upstream connection */
    const char *up_name;            /* server name of the upstream TLS leg ("" when none made) */
    int up_pooled;                  /* the upstream leg came from the pool (carried exchanges) */
    int up_tls_pending;             /* the client's handshake went ahead of the upstream one
                                     * (resuming a verified session), still running: the owner
                                     * clears it and sets marks.tls_end when it completes */
    int hand_when_up;               /* the client's handshake ended (ALPN h2) while the upstream
                                     * one ran (up_tls_pending): handed once that one ends, so
                                     * the client's first streams know the server's protocol */
    int requests;                   /* requests seen inside the tunnel (counted by the owner) */

    /* internal */
    struct upstream_connect *connecting;
    struct event *peek_ev;          /* waits for the client's first bytes */
    int peek_result;                /* enum clienthello_result of the client's first bytes */
    int pooled;                     /* answered 200 without a usable upstream: connect late */
    int early_tls;                  /* upstream TLS started at CONNECT time (tunnel.c) */
    int up_resuming;                /* the upstream handshake offers a cached session */
    int peeked;                     /* the client's first bytes have been looked at */
    int rule_answered;              /* rules answer every request to host:port (no upstream made
                                     * at CONNECT; a request they do not answer connects itself) */
    int h2_shared;                  /* this client's shared HTTP/2 connection to host:port was
                                     * there at CONNECT (uplink_h2.h): none made for the tunnel */
};

/* Bind t to its owner and the owner's legs; t must be zeroed. Its names are "" until set. */
void tunnel_init(struct tunnel *t, const struct tunnel_ops *ops, void *ops_arg, uint64_t conn_id,
                 struct proxy *proxy, struct event_base *base, struct resolver *dns,
                 struct pool *pool, struct leg *client, struct leg *upstream,
                 const char *client_addr, uint64_t *activity) HP_NONNULL(1, 2, 5, 6, 9, 10, 11, 12);

/* The client sent CONNECT host:port (flow f, now owned by t): connect upstream, answer, then
 * intercept or relay. Any upstream leg left from an earlier request is closed first. */
void tunnel_begin(struct tunnel *t, struct flow *f, const char *host, int port)
    HP_NONNULL(1, 2, 3);

/* The deadline of t's phase passed after secs: record it in the tunnel flow (the owner closes). */
void tunnel_timed_out(struct tunnel *t, double secs) HP_NONNULL(1);

/* The first request inside an intercepted tunnel: give it the tunnel's connect and TLS timings,
 * server address and attempts (as HAR does), and drop the tunnel flow (it became requests). */
void tunnel_take_flow(struct tunnel *t, struct flow *f) HP_NONNULL(1, 2);

/* Stop what runs (connect, peek); the tunnel no longer acts. Safe to call more than once. */
void tunnel_cleanup(struct tunnel *t) HP_NONNULL(1);

/* The connection ends: record the tunnel flow if still held (bytes, TLS facts, a client that
 * closed after our handshake without a request counts as refusing our certificate). */
void tunnel_end(struct tunnel *t) HP_NONNULL(1);

/* Free the tunnel's names (host, sni, error, up_name): the owner frees t after this. */
void tunnel_free(struct tunnel *t) HP_NONNULL(1);

#endif
