/* upstream.h — reach an upstream host: evdns resolution (never a blocking getaddrinfo on a
 * worker), then a non-blocking TCP connect to each address in turn, each step bounded by a
 * timeout. The result is a connected socket that the caller wraps in a bufferevent (plain or TLS
 * once it knows the SNI), which is why this module stops at the socket. */
#ifndef HTTPEEK_UPSTREAM_H
#define HTTPEEK_UPSTREAM_H

#include <stdint.h>
#include <event2/event.h>
#include <event2/dns.h>
#include "attrib.h"
#include "flow.h"

struct upstream_result {
    int fd;                 /* connected non-blocking socket (caller owns it), -1 on failure */
    enum flow_stage stage;  /* on failure: FLOW_STAGE_DNS or FLOW_STAGE_CONNECT */
    int sys_errno;          /* connect errno, 0 if none */
    int dns_error;          /* EVUTIL_EAI_* of the resolution, 0 if none */
    int timeout;            /* 1 when the failure was a timeout */
    char reason[200];       /* "connect: Connection refused", "dns: no such host" ... */
    char addr[64];          /* IP address connected (or last tried) */
    uint64_t dns_start, dns_end;         /* monotonic µs; 0 when no lookup (IP literal) */
    uint64_t connect_start, connect_end; /* monotonic µs */
};

/* Called once, always from the event loop (never from inside upstream_connect). */
typedef void (*upstream_cb)(const struct upstream_result *r, void *arg);

struct upstream_connect;

/* Start reaching host:port. timeout_s bounds the lookup and each connect attempt. Returns NULL
 * on OOM (cb is then never called). The handle is valid until cb runs or upstream_cancel. */
struct upstream_connect *upstream_connect(struct event_base *base, struct evdns_base *dns,
                                          const char *host, int port, double timeout_s,
                                          upstream_cb cb, void *arg) HP_NONNULL(1, 2, 3, 6) HP_WUNRES;

/* Abandon an attempt: cb will not be called; sockets are closed. */
void upstream_cancel(struct upstream_connect *uc) HP_NONNULL(1);

#endif
