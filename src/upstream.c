/* upstream.c — see upstream.h.
 *
 * Lifetime: the handle is freed when it has reported (or was cancelled) AND no evdns callback
 * is still owed to it: evdns_getaddrinfo_cancel reports EVUTIL_EAI_CANCEL later, from the loop,
 * so a cancelled lookup keeps the handle alive, detached, until that callback arrives. */
#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdarg.h>
#include <event2/util.h>

struct upstream_connect {
    struct event_base *base;
    struct evdns_base *dns;
    struct evdns_getaddrinfo_request *lookup; /* pending lookup, or NULL */
    struct evutil_addrinfo *addrs;            /* resolved list (owned) */
    struct evutil_addrinfo *next;             /* next address to try */
    struct evutil_addrinfo literal;           /* for IP literals: no lookup */
    struct sockaddr_storage literal_addr;
    struct event *ev;                         /* connect wait / timeouts / deferred report */
    int fd;                                   /* socket being connected, or -1 */
    double timeout_s;
    upstream_cb cb;                           /* NULL once reported or cancelled */
    void *arg;
    int dns_pending;                          /* an evdns callback is still owed to us */
    int starting;                             /* inside upstream_connect: do not report yet */
    int sync_result;                          /* lookup answered synchronously: its result */
    struct evutil_addrinfo *sync_res;         /* ... and its addresses (owned) */
    int last_errno;
    struct upstream_result r;
    char host[256];
};

static void uc_free(struct upstream_connect *uc)
{
    if (uc->fd >= 0)
        close(uc->fd);
    if (uc->addrs)
        evutil_freeaddrinfo(uc->addrs);
    if (uc->sync_res)
        evutil_freeaddrinfo(uc->sync_res);
    if (uc->ev)
        event_free(uc->ev);
    free(uc);
}

static void uc_maybe_free(struct upstream_connect *uc)
{
    if (!uc->cb && !uc->dns_pending)
        uc_free(uc);
}

static void report(struct upstream_connect *uc)
{
    upstream_cb cb = uc->cb;
    uc->cb = NULL;
    if (uc->ev)
        event_del(uc->ev);
    if (uc->r.fd >= 0)
        uc->fd = -1; /* handed over */
    if (cb)
        cb(&uc->r, uc->arg);
    uc_maybe_free(uc);
}

static void fail(struct upstream_connect *uc, enum flow_stage stage, const char *fmt, ...)
    HP_PRINTF(3, 4);
static void fail(struct upstream_connect *uc, enum flow_stage stage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(uc->r.reason, sizeof uc->r.reason, fmt, ap);
    va_end(ap);
    uc->r.stage = stage;
    uc->r.fd = -1;
    if (stage == FLOW_STAGE_CONNECT && !uc->r.connect_end)
        uc->r.connect_end = flow_now_us();
    if (stage == FLOW_STAGE_DNS && !uc->r.dns_end)
        uc->r.dns_end = flow_now_us();
    report(uc);
}

static void try_next(struct upstream_connect *uc);

static void on_connect_event(evutil_socket_t fd, short what, void *arg)
{
    struct upstream_connect *uc = arg;
    if (what & EV_TIMEOUT) {
        uc->r.timeout = 1;
        uc->last_errno = ETIMEDOUT;
        close(uc->fd);
        uc->fd = -1;
        /* A timed-out address does not get the others their own full timeout: report now. */
        fail(uc, FLOW_STAGE_CONNECT, "no answer from %s within %gs", uc->r.addr, uc->timeout_s);
        return;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0) {
        uc->r.connect_end = flow_now_us();
        uc->r.fd = uc->fd;
        report(uc);
        return;
    }
    uc->last_errno = err;
    close(uc->fd);
    uc->fd = -1;
    try_next(uc);
}

static void try_next(struct upstream_connect *uc)
{
    while (uc->next) {
        struct evutil_addrinfo *ai = uc->next;
        uc->next = ai->ai_next;
        evutil_inet_ntop(ai->ai_family,
                         ai->ai_family == AF_INET
                             ? (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                             : (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
                         uc->r.addr, sizeof uc->r.addr);
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) {
            uc->last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!uc->r.connect_start)
            uc->r.connect_start = flow_now_us();
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            uc->fd = fd;
            if (uc->ev)
                event_free(uc->ev);
            uc->ev = event_new(uc->base, fd, EV_WRITE, on_connect_event, uc);
            struct timeval tv = {(time_t)uc->timeout_s,
                                 (suseconds_t)((uc->timeout_s - (time_t)uc->timeout_s) * 1e6)};
            if (!uc->ev || event_add(uc->ev, &tv) < 0) {
                uc->last_errno = ENOMEM;
                close(fd);
                uc->fd = -1;
                continue;
            }
            return;
        }
        uc->last_errno = errno;
        close(fd);
    }
    errno = uc->last_errno;
    uc->r.sys_errno = uc->last_errno;
    fail(uc, FLOW_STAGE_CONNECT, "%s (%s)", strerror(uc->last_errno),
         uc->r.addr[0] ? uc->r.addr : uc->host);
}

/* What a resolver error means to a person (evutil's texts are getaddrinfo's). */
static const char *dns_error_text(int e)
{
    switch (e) {
    case EVUTIL_EAI_NONAME: return "no such host (NXDOMAIN or no address)";
    case EVUTIL_EAI_AGAIN: return "the DNS server did not answer";
    case EVUTIL_EAI_FAIL: return "the DNS server failed";
    case EVUTIL_EAI_MEMORY: return "out of memory";
    default: return evutil_gai_strerror(e);
    }
}

static void handle_lookup(struct upstream_connect *uc, int result, struct evutil_addrinfo *res)
{
    if (!uc->cb) { /* cancelled or already reported (timeout) */
        if (res)
            evutil_freeaddrinfo(res);
        uc_maybe_free(uc);
        return;
    }
    if (uc->ev)
        event_del(uc->ev); /* the lookup deadline */
    uc->r.dns_end = flow_now_us();
    if (result != 0 || !res) {
        uc->r.dns_error = result ? result : EVUTIL_EAI_NONAME;
        if (res)
            evutil_freeaddrinfo(res);
        fail(uc, FLOW_STAGE_DNS, "cannot resolve %s: %s", uc->host, dns_error_text(uc->r.dns_error));
        return;
    }
    uc->addrs = uc->next = res;
    try_next(uc);
}

static void on_lookup(int result, struct evutil_addrinfo *res, void *arg)
{
    struct upstream_connect *uc = arg;
    uc->dns_pending = 0;
    uc->lookup = NULL;
    if (uc->starting) { /* answered from inside evdns_getaddrinfo (hosts file, bad name) */
        uc->sync_result = result;
        uc->sync_res = res;
        return;
    }
    handle_lookup(uc, result, res);
}

static void on_deferred_lookup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upstream_connect *uc = arg;
    struct evutil_addrinfo *res = uc->sync_res;
    uc->sync_res = NULL;
    handle_lookup(uc, uc->sync_result, res);
}

static void on_lookup_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upstream_connect *uc = arg;
    uc->r.timeout = 1;
    uc->r.dns_error = EVUTIL_EAI_AGAIN;
    if (uc->lookup)
        evdns_getaddrinfo_cancel(uc->lookup); /* its callback arrives later and frees us */
    fail(uc, FLOW_STAGE_DNS, "no DNS answer for %s within %gs", uc->host, uc->timeout_s);
}

static void on_deferred_start(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    try_next(arg);
}

struct upstream_connect *upstream_connect(struct event_base *base, struct evdns_base *dns,
                                          const char *host, int port, double timeout_s,
                                          upstream_cb cb, void *arg)
{
    struct upstream_connect *uc = calloc(1, sizeof *uc);
    if (!uc)
        return NULL;
    uc->base = base;
    uc->dns = dns;
    uc->fd = -1;
    uc->timeout_s = timeout_s;
    uc->cb = cb;
    uc->arg = arg;
    uc->r.fd = -1;
    snprintf(uc->host, sizeof uc->host, "%s", host);
    struct timeval tv = {(time_t)timeout_s, (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6)};

    /* IP literals skip the resolver (HAR: dns -1). */
    struct sockaddr_in *sin = (struct sockaddr_in *)&uc->literal_addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&uc->literal_addr;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        uc->literal.ai_addrlen = sizeof *sin;
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        uc->literal.ai_addrlen = sizeof *sin6;
    }
    if (uc->literal.ai_addrlen) {
        uc->literal.ai_family = uc->literal_addr.ss_family;
        uc->literal.ai_addr = (struct sockaddr *)&uc->literal_addr;
        uc->next = &uc->literal;
        uc->ev = event_new(base, -1, 0, on_deferred_start, uc);
        if (!uc->ev) {
            free(uc);
            return NULL;
        }
        event_active(uc->ev, EV_TIMEOUT, 0); /* report from the loop, never from here */
        return uc;
    }

    uc->ev = evtimer_new(base, on_lookup_timeout, uc);
    if (!uc->ev || evtimer_add(uc->ev, &tv) < 0) {
        if (uc->ev)
            event_free(uc->ev);
        free(uc);
        return NULL;
    }
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    uc->r.dns_start = flow_now_us();
    uc->dns_pending = 1;
    uc->starting = 1;
    uc->lookup = evdns_getaddrinfo(dns, host, portstr, &hints, on_lookup, uc);
    uc->starting = 0;
    if (!uc->dns_pending) {
        /* Answered synchronously: report from the loop, as promised in upstream.h. */
        event_free(uc->ev);
        uc->ev = event_new(base, -1, 0, on_deferred_lookup, uc);
        if (!uc->ev) {
            uc_free(uc);
            return NULL;
        }
        event_active(uc->ev, EV_TIMEOUT, 0);
    }
    return uc;
}

void upstream_cancel(struct upstream_connect *uc)
{
    uc->cb = NULL;
    if (uc->ev)
        event_del(uc->ev);
    if (uc->lookup && uc->dns_pending)
        evdns_getaddrinfo_cancel(uc->lookup);
    uc_maybe_free(uc);
}
