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
#include "relay.h"
#include "tunnel.h"
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
    char up_server_ip[64];          /* address of the upstream connection */

    /* CONNECT tunnels (tunnel.h) and the opaque relay (relay.h) on this connection. */
    struct tunnel tun;              /* tun.intercepted: requests arrive over TLS we terminate */
    struct relay relay;
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

#endif
