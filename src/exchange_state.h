/* exchange_state.h — what an exchange is (struct exchange), what it tells its front (struct
 * exchange_front), what a policy may do to it (struct exchange_policy) and the small types they
 * share. Types only: every part of the exchange (exchange.c, exchange_base.c, exchange_request.c,
 * exchange_route.c, exchange_hold.c) and the modules above it read them; the calls are in
 * exchange.h. Ownership and thread: those of the exchange (exchange.h). */
#ifndef HTTPEEK_EXCHANGE_STATE_H
#define HTTPEEK_EXCHANGE_STATE_H

#include <stdint.h>
#include <event2/event.h>
#include "attrib.h"
#include "flow.h"
#include "http1.h"
#include "proxy.h"
#include "tunnel.h"
#include "uplink.h"

struct exchange;

/* Where an exchange is, for its front's deadline. */
enum exchange_phase {
    EXCHANGE_CONNECTING,  /* resolving, connecting or TLS to upstream */
    EXCHANGE_FORWARDING,  /* request forwarded; bodies streaming, response awaited or streaming */
};

/* Request body bytes an exchange keeps while an HTTP/2 server may still refuse its stream
 * (REFUSED_STREAM: the request goes out once more); a larger body is not kept and such a
 * request is not retried (its diagnosis says so). */
#define EXCHANGE_HOLD_MAX (64 * 1024)

/* Response head flags for resp_head. */
#define EXCHANGE_STRIP_ALT_SVC 1u /* leave the Alt-Svc fields out (the policy said so) */

/* What an exchange tells its front; each op gets the exchange (ex->front_arg is the front's). */
struct ws_tap;

struct exchange_front {
    /* The exchange entered phase p (the front arms that phase's deadline; why is for logs). */
    void (*phase)(struct exchange *ex, enum exchange_phase p, const char *why);
    /* A response head: interim (1xx but 101) or final (then ex->flow->resp is it). Write it to
     * the client with EXCHANGE_* flags; -1 fails the exchange. */
    int (*resp_head)(struct exchange *ex, struct http1_head *head, unsigned flags);
    /* Response body bytes (already captured) for the client; -1 fails the exchange. */
    int (*resp_body)(struct exchange *ex, const char *data, size_t len);
    /* The whole response arrived. */
    void (*resp_end)(struct exchange *ex);
    /* The uplink's input was parsed: move on (the exchange may be complete). */
    void (*settle)(struct exchange *ex);
    /* Answer the client with status and reason and record flow f (ex->flow is NULL already),
     * then end the client connection after flushing. */
    void (*fail)(struct exchange *ex, struct flow *f, int status, const char *reason);
    /* The response cannot go on (its flow is recorded, ex->flow NULL): end the client
     * connection, after flushing what it was sent when flush. */
    void (*cut)(struct exchange *ex, int flush);
    /* 101 Switching Protocols went out (flow recorded): relay bytes from now on, shown to tap
     * (a WebSocket's message reader, ws_tap.h; NULL for other protocols), which the front's
     * session owns from now on. */
    void (*upgraded)(struct exchange *ex, struct ws_tap *tap);
    /* The uplink connected: request bytes may flow again (the front reads the client again). */
    void (*req_resume)(struct exchange *ex);
    /* The uplink's output drained: a client paused by it may be read again. */
    void (*req_drained)(struct exchange *ex);
};

struct exchange {
    /* set by the front before exchange_start (borrowed) */
    const struct exchange_front *front;
    void *front_arg;
    uint64_t conn_id;               /* for logs */
    struct proxy *proxy;
    struct event_base *base;
    struct resolver *dns;
    struct tunnel *tun;             /* the client connection's tunnel (tun->intercepted) */
    struct uplink *up;              /* its uplink (exchange_bind; the session's) */
    int client_fd;                  /* the client's socket (where it reached httpeek), or -1 */
    const char *client_addr;        /* client IP */
    uint64_t *activity;             /* the front's last-activity stamp (monotonic µs) */
    const char *route_host;         /* inside an intercepted tunnel: the host to send to instead
                                     * of the SNI (HTTP/2's :authority, coalescing), or NULL */

    struct flow *flow;              /* owned until recorded (exchange_finish, or a failure) */
    enum exchange_phase phase;
    int req_done;                   /* whole request received from the client */
    int resp_started;               /* a final response head went to the client */
    int resp_done;                  /* whole response received and passed to the client */
    int upgrade_requested;          /* the request asked for a protocol upgrade (WebSocket) */
    int head_request;               /* the request is HEAD: the response has no body */
    int retried;                    /* already retried once (a fresh connection, or HTTP/2) */
    int retry_h2;                   /* ... and that retry may go out over HTTP/2 again (the
                                     * server refused the stream: REFUSED_STREAM) */
    struct evbuffer *req_held;      /* HTTP/2 upstream: the request body sent so far, kept for
                                     * a retry until the first response byte (at most
                                     * EXCHANGE_HOLD_MAX; owned), or NULL */
    int held_over;                  /* the body outgrew EXCHANGE_HOLD_MAX: it cannot be retried */
    int rule_local;                 /* a rule answers (rule_apply.h): request bytes are dropped,
                                     * the uplink is not kept */
    double rule_timeout;            /* a block rule's timeout: the deadline, in seconds (0: none) */
    uint64_t throttle_bytes_per_sec; /* a throttle shapes the client connection: its down rate
                                     * (throttle_apply.h), else 0 */
    void *bp;                       /* a breakpoint holds the request or response (owned by
                                     * breakpoint_apply.c through the policy), else NULL */
    int bp_paused;                  /* 1 while paused for the user: no deadline runs */
};

/* Where request bytes went, for the front's back-pressure. */
enum exchange_body {
    EXCHANGE_BODY_SENT,   /* into the uplink's output: throttle the client by it (leg_throttle) */
    EXCHANGE_BODY_QUEUED, /* waiting for the uplink to connect (or dropped: none) */
    EXCHANGE_BODY_FULL,   /* waiting, LEG_OUTBUF_MAX of it: stop reading until ops->req_resume */
};

/* Where a request goes: filled by exchange.c, changed by a policy's route (a map remote rule). */
struct rule_target {
    char scheme[16];
    char host[256];
    int port;
    const char *path;           /* path and query */
    const char *host_field;     /* Host value to send (NULL: the request's own) */
    char path_buf[8192];        /* a mapped path lives here */
    char authority[300];        /* a mapped Host value lives here */
};

enum rule_apply_result {
    RULE_APPLY_NONE,      /* no rule: go on as routed */
    RULE_APPLY_REMOTE,    /* a map remote rule changed t: go there */
    RULE_APPLY_ANSWERED,  /* answered (or waiting to fail): the exchange goes on, nothing upstream */
    RULE_APPLY_FAILED,    /* the exchange failed (answered through ops->fail or cut) */
};

/* What the rules in use do to an exchange, at the points the exchange offers them. The exchange
 * knows the rules only through this table (proxy->policy; NULL: no rules, nothing is called); the
 * rule modules fill it (rule_policy, rule_apply.h), so they sit above the exchange and it never
 * calls them by name. Each hook is documented where it is defined. */
struct exchange_policy {
    /* throttle_apply.h: network conditions; -1 when the request was lost (connection cut). */
    int (*throttle)(struct exchange *ex, const char *scheme, const char *host, int port,
                    const char *path);
    /* rule_apply.h: map local / map remote / block. */
    enum rule_apply_result (*route)(struct exchange *ex, struct rule_target *t);
    /* rule_rewrite.h: the request's edits (0; 1 the request is held for its body edits: no
     * head goes until req_done; -1 out of memory). */
    int (*rewrite_request)(struct exchange *ex, const char *scheme, const char *host, int port,
                           const char *path, struct rule_target *t);
    /* throttle_apply.h: the response head is about to go (its first byte waits the delay). */
    void (*resp_delay)(struct exchange *ex);
    /* rule_rewrite.h: the response head's edits: 0 send on, 1 held, -1 out of memory. */
    int (*resp_head)(struct exchange *ex, struct http1_head *resp, unsigned flags);
    /* rule_rewrite.h: 1 while the response body is held for its edits. */
    int (*holding)(const struct exchange *ex);
    /* rule_rewrite.h: held body bytes (0, -1), and the held response's end (0, -1). */
    int (*resp_body)(struct exchange *ex, const char *data, size_t len);
    int (*resp_done)(struct exchange *ex);
    /* rule_rewrite.h: 1 while the request is held; its body bytes, and its end (the policy
     * sends head and body with exchange_req_send_head and exchange_req_body). */
    int (*req_holding)(const struct exchange *ex);
    enum exchange_body (*req_body)(struct exchange *ex, const char *data, size_t len);
    void (*req_done)(struct exchange *ex);
    /* rule_apply.h: a block rule's timeout (ex->rule_timeout) passed after secs. */
    void (*timed_out)(struct exchange *ex, double secs);
    /* breakpoint_apply.h (NULL: no breakpoints). The request is about to go to
     * scheme://host:port path (host_field: the Host to send, or NULL): 1 when a breakpoint holds
     * it (ex->bp: its bytes go to bp_req_body; it goes on through exchange_resume_request), 0. */
    int (*bp_request)(struct exchange *ex, const char *scheme, const char *host, int port,
                      const char *path, const char *host_field);
    /* Request bytes (end 1: the request's end) while ex->bp holds it: an enum exchange_body. */
    int (*bp_req_body)(struct exchange *ex, const char *data, size_t len, int end);
    /* The final response head (not held by resp_head): 1 held by a breakpoint (ex->bp), 0 send
     * on, -1 fail. Then its body bytes and its end while ex->bp holds it (0, -1). */
    int (*bp_response)(struct exchange *ex, struct http1_head *resp, unsigned flags);
    int (*bp_resp_body)(struct exchange *ex, const char *data, size_t len);
    int (*bp_resp_done)(struct exchange *ex);
    /* The uplink closed while ex->bp holds: 1 when nothing more was needed from it. */
    int (*bp_upstream_gone)(struct exchange *ex);
    /* The exchange ends while ex->bp holds (client_gone: the client closed, sock_err its error):
     * ex->bp is dropped; returns 1 when it recorded the flow itself (ex->flow NULL). */
    int (*bp_drop)(struct exchange *ex, int client_gone, int sock_err);
};

#endif
