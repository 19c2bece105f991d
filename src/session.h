/* session.h — one accepted client socket, owned by one worker thread from accept to free: the
 * client leg, its per-client slot and memory budget share, the one deadline of its state, the
 * uplink its exchanges use one after the other (uplink.h), a CONNECT tunnel (tunnel.h) and the
 * opaque relay (relay.h), and the *front* that speaks the client's wire protocol (front_h1.h).
 * The session knows its front only through struct session_front; the front uses the session_*
 * services below. A session is freed only from the event loop (session_close schedules it),
 * never under a callback that still uses it. */
#ifndef HTTPEEK_SESSION_H
#define HTTPEEK_SESSION_H

#include <stdint.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include "attrib.h"
#include "flow.h"
#include "leg.h"
#include "proxy.h"
#include "relay.h"
#include "tunnel.h"
#include "uplink.h"

enum session_state {
    SESSION_S_IDLE,             /* between requests: waiting for a request head (idle timeout) */
    SESSION_S_REQUEST_HEAD,     /* a request head is arriving (header timeout) */
    SESSION_S_CONNECTING,       /* resolving/connecting/TLS to upstream for a request */
    SESSION_S_EXCHANGE,         /* request forwarded; bodies streaming, response awaited/streaming */
    SESSION_S_TUNNEL_CONNECTING,/* CONNECT received: resolving and connecting upstream first */
    SESSION_S_TUNNEL_PEEK,      /* 200 sent: waiting to see whether the client speaks TLS */
    SESSION_S_TUNNEL_UP_TLS,    /* TLS handshake with upstream (SNI from the client's hello) */
    SESSION_S_TUNNEL_CLIENT_TLS,/* TLS handshake with the client (our minted leaf) */
    SESSION_S_RELAY,            /* opaque byte relay (non-TLS tunnel, or after 101 Switching) */
    SESSION_S_CLOSING,          /* flushing what is queued to the client, then freed */
};

/* Name of a state for debug logs. */
const char *session_state_name(enum session_state s);

struct session;
struct pool;

/* A front: what the session asks of the client's wire protocol (front_h1.h implements it). */
struct session_front {
    size_t state_size;  /* bytes of the front's own state (s->front_state, zeroed) */
    /* Read requests: bev is the accepted plain socket to attach to s->client, or NULL when a
     * tunnel handed over its client leg (TLS, attached) and its upstream facts. */
    void (*start)(struct session *s, struct bufferevent *bev);
    /* The store hold is over: look at the client's waiting input again. */
    void (*input)(struct session *s);
    /* Deadline in seconds of the front's states (REQUEST_HEAD, CONNECTING, EXCHANGE); *lazy when
     * it is an idle deadline moving with s->last_activity. */
    double (*deadline)(struct session *s, int *lazy);
    /* That deadline passed after secs: fail what is in progress (the front closes). */
    void (*timed_out)(struct session *s, double secs);
    /* 1 when no exchange is in progress (the uplink may be pooled at close). */
    int (*between_exchanges)(struct session *s);
    /* The session ends: fail (why, unless failed already) and record the exchanges in progress.
     * May be called twice (shutdown, then free). */
    void (*end)(struct session *s, const char *why);
    /* The front to run instead when a tunnel's client negotiated ALPN h2 (NULL: none). It
     * allocates its own state in start (state_size 0). */
    const struct session_front *h2;
    /* Stop taking new requests, let those in flight finish, then close (httpeek shuts down, or
     * the connection was idle for --idle-timeout; why says which): HTTP/2 sends GOAWAY
     * NO_ERROR. NULL: the session is simply closed when idle. May be called more than once. */
    void (*drain)(struct session *s, const char *why);
    /* Idle for a moment (SESSION_BUFFER_HOLD, with the legs' TLS buffers): give back what the
     * front keeps for the next request (HTTP/2: nghttp2's frame buffer). NULL: nothing. */
    void (*release)(struct session *s);
};

struct session {
    uint64_t id;                    /* process-unique connection id */
    struct session **registry;      /* the worker's list of its sessions */
    struct session *prev, *next;    /* neighbours in that list */
    struct proxy *proxy;            /* shared context (borrowed) */
    struct event_base *base;        /* the worker's loop (borrowed) */
    struct resolver *dns;           /* the worker's resolver (borrowed) */
    struct pool *pool;              /* the worker's idle upstream connections (borrowed), or NULL */
    enum session_state state;       /* change with session_set_state */
    const struct session_front *front;
    void *front_state;              /* the front's (front->state_size bytes, freed with s) */
    struct leg client;              /* the app/phone side (client.owner is the session) */
    char client_addr[64];           /* client IP */
    int client_port;
    struct event *timer;            /* the one deadline of the current state; also frees */
    uint64_t deadline;              /* coarse monotonic µs the current state's deadline falls
                                     * (0: none); the timer may be set earlier (session.c) */
    uint64_t timer_at;              /* when the armed timer fires (0: not armed by arm_timer) */
    uint64_t last_activity;         /* monotonic µs of the last byte either way */
    struct event *hold_ev;          /* a new request waits while the store is behind, or NULL */
    unsigned pace_owed_us;          /* store pacing not yet waited (session_hold_for_store) */
    int tls_buffers_held;           /* idle, TLS record buffers not yet given back (see
                                     * SESSION_BUFFER_HOLD in session.c) */
    struct uplink up;               /* the server side its exchanges use, one after the other */
    struct tunnel tun;              /* a CONNECT (tun.intercepted: requests arrive over TLS) */
    struct relay relay;             /* the opaque relay, once relaying */
};

/* Take a freshly accepted client socket (owned from now on, closed on any failure) and run
 * front on it; the session links itself into *registry (the worker's list) until it is freed. */
void session_accept(struct proxy *proxy, struct event_base *base, struct resolver *dns,
                    struct pool *pool, struct session **registry, const struct session_front *front,
                    int fd, const struct sockaddr *addr, socklen_t addrlen)
    HP_NONNULL(1, 2, 3, 5, 6, 8);

/* Shutdown, step 1: close every session of registry that is between requests; a front that
 * drains (HTTP/2) is told to (GOAWAY) and closes when its exchanges are done. */
void session_close_idle(struct session **registry) HP_NONNULL(1);

/* Shutdown, step 2 (event loop stopped): free every session left, recording unfinished
 * exchanges as failed flows. */
void session_free_all(struct session **registry) HP_NONNULL(1);

/* ---- services for the front ---- */

/* Change state (logged at debug with why) and re-arm the state's deadline. */
void session_set_state(struct session *s, enum session_state st, const char *why) HP_NONNULL(1, 3);

/* Stop everything and free s from the loop, after flushing what is queued to the client when
 * flush is 1. Safe to call more than once and from any callback of s. */
void session_close(struct session *s, int flush) HP_NONNULL(1);

/* Answer the client with a proxy-generated HTTP/1 status and text reason, record it in flow f
 * (finished; may be NULL) and close after flushing. */
void session_answer(struct session *s, struct flow *f, int status, const char *reason)
    HP_NONNULL(1, 4);

/* session_answer for a request httpeek refuses itself (enum flow_refusal why), with the facts the
 * diagnosis needs (where the client reached httpeek). */
void session_refuse(struct session *s, struct flow *f, int status, enum flow_refusal why,
                    const char *reason) HP_NONNULL(1, 5);

/* A new flow for this session (client address and budget filled). NULL on OOM. */
struct flow *session_flow_new(struct session *s) HP_NONNULL(1);

/* The client sent CONNECT host:port (flow f, given to the tunnel). */
void session_tunnel(struct session *s, struct flow *f, const char *host, int port)
    HP_NONNULL(1, 2, 3);

/* Relay bytes both ways untouched from now on (after 101 Switching Protocols), shown to tap (a
 * WebSocket's message reader, owned by the session from now on) when not NULL. */
void session_relay(struct session *s, struct ws_tap *tap) HP_NONNULL(1);

/* 1 when the next request must wait for the store (reading stops; front->input follows), 0 to
 * go on. */
int session_hold_for_store(struct session *s) HP_NONNULL(1);

#endif
