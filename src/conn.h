/* conn.h — one client connection end to end, owned by one worker thread: the client leg, the
 * upstream leg, the exchange in progress and its flow, and an explicit state.
 *
 * Requests are handled one at a time per connection (pipelined requests wait in the client's
 * input buffer, bounded by LEG_INBUF_MAX) so responses go back in order (RFC 9112 §9.3.2).
 * The connection is freed only from the event loop (conn_close schedules it), never under a
 * callback that still uses it. */
#ifndef HTTPEEK_CONN_H
#define HTTPEEK_CONN_H

#include <stdint.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/dns.h>
#include "attrib.h"
#include "flow.h"
#include "leg.h"
#include "proxy.h"
#include "upstream.h"

enum conn_state {
    CONN_S_IDLE,             /* between requests: waiting for a request head (idle timeout) */
    CONN_S_REQUEST_HEAD,     /* a request head is arriving (header timeout) */
    CONN_S_CONNECTING,       /* resolving/connecting/TLS to upstream for a request */
    CONN_S_EXCHANGE,         /* request forwarded; bodies streaming, response awaited/streaming */
    CONN_S_TUNNEL_CONNECTING,/* CONNECT received: resolving and connecting upstream first */
    CONN_S_TUNNEL_PEEK,      /* 200 sent: waiting to see whether the client speaks TLS */
    CONN_S_TUNNEL_UP_TLS,    /* TLS handshake with upstream (SNI from the client's hello) */
    CONN_S_TUNNEL_CLIENT_TLS,/* TLS handshake with the client (our minted leaf) */
    CONN_S_RELAY,            /* opaque byte relay (non-TLS tunnel, or after 101 Switching) */
    CONN_S_CLOSING,          /* flushing what is queued to the client, then freed */
};

/* Name of a state for debug logs. */
const char *conn_state_name(enum conn_state s);

struct worker;
struct pool;

struct ws_tap;

struct conn {
    uint64_t id;                    /* process-unique connection id */
    struct conn **registry;         /* the worker's list of its connections */
    struct conn *prev, *next;       /* neighbours in that list */
    struct proxy *proxy;            /* shared context (borrowed) */
    struct event_base *base;        /* the worker's loop (borrowed) */
    struct resolver *dns;           /* the worker's resolver (borrowed) */
    enum conn_state state;          /* see enum conn_state; change with conn_set_state */
    struct leg client;              /* the app/phone side */
    struct leg upstream;            /* the server side (bev NULL when not connected) */
    char client_addr[64];           /* client IP */
    int client_port;
    struct event *timer;            /* the one deadline of the current state; also frees */
    uint64_t last_activity;         /* monotonic µs of the last byte either way */
    struct upstream_connect *connecting; /* resolve/connect in progress, or NULL */
    struct event *peek_ev;          /* CONNECT: waits for the client's first bytes */
    struct event *hold_ev;          /* a new request waits while the store is behind, or NULL */
    struct pool *pool;              /* the worker's idle upstream connections (borrowed), or NULL */

    /* The exchange in progress (state CONNECTING / EXCHANGE). */
    struct flow *flow;              /* owned until flow_done */
    struct evbuffer *pending_up;    /* request bytes queued while upstream connects */
    enum http1_framing req_out;     /* request body framing towards upstream */
    enum http1_framing resp_out;    /* response body framing towards the client */
    int req_done;                   /* whole request received from the client */
    int resp_started;               /* a final response head was sent to the client */
    int resp_done;                  /* whole response received and queued to the client */
    int upgrade_requested;          /* request asked for a protocol upgrade (WebSocket) */
    struct ws_tap *ws_tap;          /* after a WebSocket 101: its messages (ws_tap.h), or NULL */
    int client_keep_alive;          /* the client may send another request */
    int upstream_reusable;          /* upstream connection may carry another request */
    int tls_buffers_held;           /* idle, TLS record buffers not yet given back (see
                                     * CONN_BUFFER_HOLD in conn.c) */
    unsigned exchanges;             /* exchanges completed on this client connection */
    int retried;                    /* request already retried once on a fresh connection */
    int head_request;               /* current request is HEAD: response has no body */
    int local_request;              /* current request is for httpeek's own pages */
    uint64_t head_started;          /* monotonic µs when the current request head began */

    /* Where the upstream leg goes. */
    char up_host[256];              /* host connected to */
    int up_port;
    int up_tls;                     /* 1 when the upstream leg speaks TLS */
    unsigned up_exchanges;          /* exchanges the upstream connection carried before the
                                     * current one (a pooled connection counts its earlier use):
                                     * what makes a flow's "reused upstream connection" true */

    /* CONNECT tunnels. */
    int intercepted;                /* client leg is TLS we terminate: requests are https */
    char tunnel_host[256];          /* CONNECT authority host */
    int tunnel_port;
    char sni[256];                  /* SNI the client sent ("" when none) */
    struct flow *tunnel_flow;       /* the CONNECT's own flow until it becomes requests */
    char tunnel_error[256];         /* upstream TLS failure answered to each request (502) */
    int mirror_untrusted;           /* upstream's certificate failed verification: the client is
                                     * shown a mirror of its defect (mirror.h), fails as upstream did */
    struct flow_marks tunnel_marks; /* dns/connect/tls marks given to the first request */
    char tunnel_server_ip[64];
    int tunnel_requests;            /* requests seen inside the tunnel */
    uint64_t peek_started;          /* monotonic µs when the 200 went out */
    int peek_result;                /* enum clienthello_result of the client's first bytes */
    int tunnel_pooled;              /* answered 200 without a usable upstream (a pooled one waits,
                                     * or the early handshake was dropped): connect late if needed */
    int early_tls;                  /* TUNNEL_EARLY_*: upstream TLS started at CONNECT time */
    int up_resuming;                /* the tunnel's upstream handshake offers a cached session */
    int up_tls_pending;             /* the client's handshake went ahead of that upstream
                                     * handshake (resuming a verified session), still running */
    int peeked;                     /* the client's first bytes have been looked at */
};

/* Take a freshly accepted client socket (owned from now on, closed on any failure); the
 * connection links itself into *registry (the worker's list) until it is freed. */
void conn_accept(struct proxy *proxy, struct event_base *base, struct resolver *dns,
                 struct pool *pool, struct conn **registry, int fd, const struct sockaddr *addr,
                 socklen_t addrlen) HP_NONNULL(1, 2, 3, 5, 7);

/* Shutdown, step 1: close every connection of registry that is between requests. */
void conn_close_idle(struct conn **registry) HP_NONNULL(1);

/* Shutdown, step 2 (event loop stopped): free every connection left, recording unfinished
 * exchanges as failed flows. */
void conn_free_all(struct conn **registry) HP_NONNULL(1);

/* ---- internal to conn.c and tunnel.c ---- */

/* Change state (logged at debug with why) and re-arm the state's deadline. */
void conn__set_state(struct conn *c, enum conn_state s, const char *why) HP_NONNULL(1, 3);

/* Stop everything and free c from the loop, after flushing what is queued to the client when
 * flush is 1. Safe to call more than once and from any callback of c. */
void conn__close(struct conn *c, int flush) HP_NONNULL(1);

/* Answer the client with a proxy-generated status and text reason, record it in flow (which is
 * finished) and close after flushing. */
void conn__fail_client(struct conn *c, struct flow *flow, int status, const char *reason)
    HP_NONNULL(1, 4);

/* Record an upstream connect result (timings, address; the failure facts when it failed) in
 * flow f. Returns 0 when the socket is ready, -1 when the connect failed. */
int conn__record_connect(struct conn *c, struct flow *f, const struct upstream_result *r)
    HP_NONNULL(1, 2, 3);

/* conn__record_connect, and when it failed answer the client with 502/504 naming host:port and
 * return -1 (c is closing); return 0 when the socket is ready. */
int conn__take_connect_result(struct conn *c, struct flow *f, const struct upstream_result *r,
                              const char *host, int port) HP_NONNULL(1, 2, 3, 4);

/* Hand a finished flow on (terminal line, sink). */
void conn__flow_done(struct conn *c, struct flow *flow) HP_NONNULL(1, 2);

/* The client refused httpeek's certificate for host on tunnel flow f (tunnel.c): tell the clients
 * table and the rules (automatic passthrough for this device), and note both in f. */
void conn__client_refused(struct conn *c, struct flow *f, const char *host) HP_NONNULL(1, 2, 3);

/* A new flow for this connection (client address filled). NULL on OOM. */
struct flow *conn__flow_new(struct conn *c) HP_NONNULL(1);

/* The client finished its TLS handshake: start reading requests inside the tunnel. */
void conn__start_requests(struct conn *c) HP_NONNULL(1);

/* Callbacks for the upstream leg of an exchange (used again when a tunnel's upstream is made). */
void conn__upstream_read(struct bufferevent *bev, void *arg);
void conn__upstream_write(struct bufferevent *bev, void *arg);
void conn__upstream_event(struct bufferevent *bev, short what, void *arg);

/* ---- tunnel.c ---- */

/* The client sent CONNECT host:port: connect upstream, answer, then intercept or relay. */
void tunnel_begin(struct conn *c, const char *host, int port) HP_NONNULL(1, 2);

/* Relay bytes both ways untouched, counting them into c->tunnel_flow (may be NULL). */
void tunnel_relay(struct conn *c) HP_NONNULL(1);

/* Free tunnel-only resources (peek event). */
void tunnel_cleanup(struct conn *c) HP_NONNULL(1);

#endif
