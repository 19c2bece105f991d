/* upstream.h — reach an upstream host: resolve the name (resolve.h: never a blocking lookup on
 * a worker), then connect the way apps do (Happy Eyeballs, RFC 8305): the preferred family first
 * (IPv6 when both), the next address 250 ms later if none connected yet (at once when one
 * fails), first to connect wins and the others are closed. The lookup and the whole connect are
 * each bounded by the timeout. The result is a connected socket that the caller wraps in a
 * bufferevent (plain or TLS once it knows the SNI), which is why this module stops at the socket. */
#ifndef HTTPEEK_UPSTREAM_H
#define HTTPEEK_UPSTREAM_H

#include <stdint.h>
#include <event2/event.h>
#include "attrib.h"
#include "flow.h"
#include "resolve.h"

/* Delay before racing the next address (RFC 8305 "Connection Attempt Delay"). */
#define UPSTREAM_ATTEMPT_DELAY_MS 250

struct upstream_result {
    int fd;                 /* connected non-blocking socket (caller owns it), -1 on failure */
    enum flow_stage stage;  /* on failure: FLOW_STAGE_DNS or FLOW_STAGE_CONNECT */
    int sys_errno;          /* connect errno, 0 if none */
    int dns_error;          /* EVUTIL_EAI_* of the resolution, 0 if none */
    int timeout;            /* 1 when the failure was a timeout (a server reachable, silent) */
    char reason[200];       /* "connect: Connection refused", "no such host: ..." ... */
    char addr[64];          /* IP address connected (or last tried) */
    struct flow_attempts attempts; /* every address tried, with its outcome */
    uint64_t dns_start, dns_end;         /* monotonic µs; 0 when no lookup (IP literal) */
    uint64_t connect_start, connect_end; /* monotonic µs */
};

/* Called once, always from the event loop (never from inside upstream_connect). */
typedef void (*upstream_cb)(const struct upstream_result *r, void *arg);

struct upstream_connect;

/* Start reaching host:port. timeout_s bounds the lookup and the connect. Returns NULL on OOM
 * (cb is then never called). The handle is valid until cb runs or upstream_cancel. */
struct upstream_connect *upstream_connect(struct event_base *base, struct resolver *rv,
                                          const char *host, int port, double timeout_s,
                                          upstream_cb cb, void *arg) HP_NONNULL(1, 2, 3, 6) HP_WUNRES;

/* Abandon an attempt: cb will not be called; sockets are closed. */
void upstream_cancel(struct upstream_connect *uc) HP_NONNULL(1);

#endif
