/* own.h — what httpeek answers itself, made visible as flows: whether a plain (origin-form)
 * request is addressed to httpeek or to some other server, the response of httpeek's own pages
 * captured into a flow (--record-own), and the flows of connections refused at accept (403 outside
 * --allow-client, 503 at --max-connections).
 *
 * Refusals at accept are what a flood produces, so they are recorded within bounds: per worker, at
 * most OWN_REFUSALS_PER_CLIENT identical refusals (same client, same status) a second and
 * OWN_REFUSALS_PER_WORKER of all kinds, none while the store is behind (proxy->sink_busy); the
 * rest are counted, and the next recorded refusal of that client says how many were left out.
 * Everything here runs on one worker's thread and touches only that worker's limiter. */
#ifndef HTTPEEK_OWN_H
#define HTTPEEK_OWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "flow.h"
#include "proxy.h"

/* Identical refusals (client, status) of one client recorded per second by one worker. */
#define OWN_REFUSALS_PER_CLIENT 5
/* Refusal flows of all clients one worker records per second. */
#define OWN_REFUSALS_PER_WORKER 50
/* Clients a worker's limiter tells apart at once (direct-mapped; a collision only resets). */
#define OWN_LIMITER_SLOTS 64

/* One worker's refusal counts. Zero-initialised is ready. */
struct own_limiter {
    uint64_t second;            /* the current one-second window (monotonic seconds) */
    unsigned recorded;          /* refusal flows recorded in it, all clients */
    struct own_slot {
        char client[64];        /* client address */
        int status;             /* 403 or 503 */
        uint64_t second;        /* window of recorded */
        unsigned recorded;      /* recorded in that window */
        unsigned left_out;      /* refusals not recorded since the last recorded one */
    } slot[OWN_LIMITER_SLOTS];
};

/* 1 when an origin-form request with this Host header (NULL or "": none) is addressed to httpeek
 * itself: no Host, httpeek.test, localhost, an IP literal, this machine's host name (also with
 * .local), or any name with the port the client reached httpeek on (local_port). Otherwise the
 * request was meant for another server (no proxy set, or redirected traffic). */
int own_host_is_self(const char *host_header, int local_port);

/* 1 for paths browsers ask any site for by themselves (/favicon.ico, /apple-touch-icon*.png,
 * /robots.txt): httpeek's 404 for them is part of its own site, not worth a flow. */
int own_path_is_automatic(const char *path) HP_NONNULL(1);

/* "ip:port" (IPv6 as "[ip]:port") of socket fd's local address, i.e. httpeek as the client
 * reached it, into out; *port gets the port (may be NULL). "" and 0 when unknown. */
void own_local_address(int fd, char *out, size_t outlen, int *port) HP_NONNULL(2);

/* The client's address (v4-mapped IPv6 shown as IPv4) into out and its port into *port. */
void own_client_address(const struct sockaddr *addr, char *out, size_t outlen, int *port)
    HP_NONNULL(1, 2, 4);

/* Parse the complete response httpeek wrote for its own page (the bytes of out from offset from
 * on) into f->resp and f->resp_body; head_only for a HEAD request. A response that does not
 * parse leaves f as it was. */
void own_capture_response(struct flow *f, struct evbuffer *out, size_t from, int head_only)
    HP_NONNULL(1, 2);

/* An origin-form request (f->req) reached httpeek through socket fd: when its Host is not
 * httpeek (own_host_is_self), fill f as a refused "not a proxy request" (URL, host, failure,
 * where the client reached httpeek), put the client's answer (how to set the proxy) into why and
 * return 1; return 0 (f untouched) when it is for httpeek's own pages. */
int own_not_for_a_proxy(struct flow *f, int fd, char *why, size_t whylen) HP_NONNULL(1, 3);

/* httpeek answered f->req with its own page (status, written to out from offset before on;
 * through an intercepted tunnel when via_tls): give f its URL, and return 1 when f is to be
 * recorded — the page does not exist (404 as a refusal, but for what browsers ask any site
 * for), or record_own (--record-own: f is marked own and carries the response) — 0 when f is
 * to be dropped. */
int own_page_flow(struct flow *f, int record_own, int fd, int via_tls, const char *path,
                  int status, struct evbuffer *out, size_t before, int head_only)
    HP_NONNULL(1, 5, 7);

/* Refuse a just-accepted connection fd (owned: always closed here) without reading it, and record
 * the refusal as a flow within the limiter's bounds. why: FLOW_REFUSED_CLIENT (403, client not
 * allowed), FLOW_REFUSED_BUSY (503, --max-connections; open is how many are open) or
 * FLOW_REFUSED_CLIENT_BUSY (503, --max-client-connections; open is how many this client has). */
void own_refuse_connection(struct proxy *p, struct own_limiter *l, int fd,
                           const struct sockaddr *addr, enum flow_refusal why, int open)
    HP_NONNULL(1, 2, 4);

#endif
