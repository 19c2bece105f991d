/* upstream.c — see upstream.h.
 *
 * States: resolving (lookup != NULL, timer = the lookup deadline), then racing (timer = the
 * connect deadline, stagger = when the next address starts, race[] = sockets in flight). Every
 * report goes through report(), which runs from a loop callback only: IP literals start from a
 * deferred event, and resolve.h never answers from inside resolve_start. */
#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/util.h>

struct race {
    int fd;              /* -1 when not in flight */
    struct event *ev;
    uint64_t start;
    int slot;            /* its entry in r.attempts */
};

struct upstream_connect {
    struct event_base *base;
    struct resolver *rv;
    struct resolve_req *lookup;               /* pending lookup, or NULL */
    struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS]; /* in the order they are tried */
    int naddrs, next;
    struct race race[RESOLVE_MAX_ADDRS];
    int in_flight;
    struct event *timer;                      /* lookup deadline, then connect deadline */
    struct event *stagger;                    /* starts the next address */
    struct event *start_ev;                   /* IP literal: connect from the loop */
    double timeout_s;
    int port;
    upstream_cb cb;                           /* NULL once reported or cancelled */
    void *arg;
    int last_errno;
    struct upstream_result r;
    char host[256];
};

static void close_races(struct upstream_connect *uc, const char *outcome)
{
    uint64_t now = flow_now_us();
    for (int i = 0; i < uc->naddrs; i++) {
        struct race *ra = &uc->race[i];
        if (ra->fd < 0)
            continue;
        if (ra->ev)
            event_free(ra->ev);
        ra->ev = NULL;
        close(ra->fd);
        ra->fd = -1;
        struct flow_attempt *a = &uc->r.attempts.a[ra->slot];
        snprintf(a->outcome, sizeof a->outcome, "%s", outcome);
        a->ms = (unsigned)((now - ra->start) / 1000);
    }
    uc->in_flight = 0;
}

static void uc_free(struct upstream_connect *uc)
{
    close_races(uc, "cancelled");
    if (uc->lookup)
        resolve_cancel(uc->lookup);
    if (uc->timer)
        event_free(uc->timer);
    if (uc->stagger)
        event_free(uc->stagger);
    if (uc->start_ev)
        event_free(uc->start_ev);
    free(uc);
}

static void report(struct upstream_connect *uc)
{
    upstream_cb cb = uc->cb;
    uc->cb = NULL;
    if (cb)
        cb(&uc->r, uc->arg);
    uc_free(uc);
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

static const char *outcome_of(int err)
{
    switch (err) {
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT: return "timeout";
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT: return "unreachable";
    default: return "error";
    }
}

static void set_ip(char *buf, size_t len, const struct sockaddr_storage *ss)
{
    evutil_inet_ntop(ss->ss_family,
                     ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
                                              : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr,
                     buf, len);
}

static void start_next(struct upstream_connect *uc);

/* Nothing left to try and nothing in flight: the connect failed. */
static void fail_all_tried(struct upstream_connect *uc)
{
    uc->r.sys_errno = uc->last_errno;
    fail(uc, FLOW_STAGE_CONNECT, "%s (%s)", strerror(uc->last_errno),
         uc->r.addr[0] ? uc->r.addr : uc->host);
}

static void on_attempt(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct upstream_connect *uc = arg;
    struct race *ra = NULL;
    for (int i = 0; i < uc->naddrs && !ra; i++)
        if (uc->race[i].fd == fd)
            ra = &uc->race[i];
    if (!ra)
        return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    struct flow_attempt *a = &uc->r.attempts.a[ra->slot];
    a->ms = (unsigned)((flow_now_us() - ra->start) / 1000);
    event_free(ra->ev);
    ra->ev = NULL;
    ra->fd = -1;
    uc->in_flight--;
    if (err == 0) {
        snprintf(a->outcome, sizeof a->outcome, "connected");
        snprintf(uc->r.addr, sizeof uc->r.addr, "%s", a->addr);
        uc->r.connect_end = flow_now_us();
        uc->r.fd = fd;
        close_races(uc, "cancelled"); /* the losers */
        report(uc);
        return;
    }
    snprintf(a->outcome, sizeof a->outcome, "%s", outcome_of(err));
    uc->last_errno = err;
    close(fd);
    start_next(uc); /* a failed address starts the next one at once (RFC 8305 §5) */
}

static void arm_ms(struct event *ev, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(ev, &tv);
}

static void start_next(struct upstream_connect *uc)
{
    event_del(uc->stagger);
    while (uc->next < uc->naddrs) {
        int i = uc->next++;
        struct sockaddr_storage *ss = &uc->addrs[i];
        struct race *ra = &uc->race[i];
        if (uc->r.attempts.n >= FLOW_MAX_ATTEMPTS)
            break;
        ra->slot = uc->r.attempts.n++;
        struct flow_attempt *a = &uc->r.attempts.a[ra->slot];
        set_ip(a->addr, sizeof a->addr, ss);
        a->family = ss->ss_family == AF_INET6 ? 6 : 4;
        snprintf(uc->r.addr, sizeof uc->r.addr, "%s", a->addr);
        ra->start = flow_now_us();
        int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        int err = fd < 0 ? errno : 0;
        if (fd >= 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
            if (connect(fd, (struct sockaddr *)ss, len) != 0 && errno != EINPROGRESS)
                err = errno;
            else if (!(ra->ev = event_new(uc->base, fd, EV_WRITE, on_attempt, uc)) || event_add(ra->ev, NULL) < 0)
                err = ENOMEM;
        }
        if (err) {
            if (ra->ev)
                event_free(ra->ev);
            ra->ev = NULL;
            if (fd >= 0)
                close(fd);
            snprintf(a->outcome, sizeof a->outcome, "%s", outcome_of(err));
            uc->last_errno = err;
            continue; /* this one failed at once: the next starts now */
        }
        ra->fd = fd;
        uc->in_flight++;
        if (uc->next < uc->naddrs)
            arm_ms(uc->stagger, UPSTREAM_ATTEMPT_DELAY_MS);
        return;
    }
    if (!uc->in_flight)
        fail_all_tried(uc);
}

static void on_stagger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_next(arg);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upstream_connect *uc = arg;
    uc->r.timeout = 1;
    if (uc->lookup) {
        resolve_cancel(uc->lookup);
        uc->lookup = NULL;
        uc->r.dns_error = EVUTIL_EAI_AGAIN;
        fail(uc, FLOW_STAGE_DNS, "no DNS answer for %s within %gs", uc->host, uc->timeout_s);
        return;
    }
    close_races(uc, "timeout");
    uc->r.sys_errno = ETIMEDOUT;
    fail(uc, FLOW_STAGE_CONNECT, "no answer from %s within %gs", uc->r.addr, uc->timeout_s);
}

static void arm_deadline(struct upstream_connect *uc)
{
    double t = uc->timeout_s;
    struct timeval tv = {(time_t)t, (suseconds_t)((t - (time_t)t) * 1e6)};
    event_add(uc->timer, &tv);
}

/* RFC 8305 §4: IPv6 first when there is one, then alternate families. */
static void begin_connect(struct upstream_connect *uc, const struct sockaddr_storage *in, int n)
{
    int k = 0;
    const struct sockaddr_storage *six[RESOLVE_MAX_ADDRS], *four[RESOLVE_MAX_ADDRS];
    int a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        if (in[i].ss_family == AF_INET6)
            six[a++] = &in[i];
        else
            four[b++] = &in[i];
    }
    for (int i = 0, j = 0; i < a || j < b;) {
        if (i < a)
            uc->addrs[k++] = *six[i++];
        if (j < b)
            uc->addrs[k++] = *four[j++];
    }
    uc->naddrs = k;
    for (int i = 0; i < k; i++) {
        if (uc->addrs[i].ss_family == AF_INET)
            ((struct sockaddr_in *)&uc->addrs[i])->sin_port = htons((uint16_t)uc->port);
        else
            ((struct sockaddr_in6 *)&uc->addrs[i])->sin6_port = htons((uint16_t)uc->port);
    }
    uc->r.connect_start = flow_now_us();
    event_del(uc->timer);
    arm_deadline(uc);
    start_next(uc);
}

static void on_resolved(const struct resolve_result *res, void *arg)
{
    struct upstream_connect *uc = arg;
    uc->lookup = NULL;
    uc->r.dns_end = flow_now_us();
    if (res->status == RESOLVE_OK && !res->naddrs) {
        uc->r.dns_error = EVUTIL_EAI_NONAME;
        fail(uc, FLOW_STAGE_DNS, "no such host: %s has no IPv4 or IPv6 address", uc->host);
        return;
    }
    if (res->status != RESOLVE_OK) {
        uc->r.dns_error = res->eai ? res->eai : EVUTIL_EAI_NONAME;
        uc->r.timeout = res->status == RESOLVE_TIMEOUT;
        fail(uc, FLOW_STAGE_DNS, "%s", res->why);
        return;
    }
    begin_connect(uc, res->addrs, res->naddrs);
}

static void on_literal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upstream_connect *uc = arg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, uc->host, &sin->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else {
        inet_pton(AF_INET6, uc->host, &sin6->sin6_addr);
        ss.ss_family = AF_INET6;
    }
    begin_connect(uc, &ss, 1);
}

struct upstream_connect *upstream_connect(struct event_base *base, struct resolver *rv,
                                          const char *host, int port, double timeout_s,
                                          upstream_cb cb, void *arg)
{
    struct upstream_connect *uc = calloc(1, sizeof *uc);
    if (!uc)
        return NULL;
    uc->base = base;
    uc->rv = rv;
    uc->timeout_s = timeout_s;
    uc->port = port;
    uc->cb = cb;
    uc->arg = arg;
    uc->r.fd = -1;
    for (int i = 0; i < RESOLVE_MAX_ADDRS; i++)
        uc->race[i].fd = -1;
    snprintf(uc->host, sizeof uc->host, "%s", host);
    uc->timer = evtimer_new(base, on_deadline, uc);
    uc->stagger = evtimer_new(base, on_stagger, uc);
    if (!uc->timer || !uc->stagger) {
        uc->cb = NULL;
        uc_free(uc);
        return NULL;
    }

    /* IP literals skip the resolver (HAR: dns -1). */
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) {
        uc->start_ev = event_new(base, -1, 0, on_literal, uc);
        if (!uc->start_ev) {
            uc->cb = NULL;
            uc_free(uc);
            return NULL;
        }
        event_active(uc->start_ev, EV_TIMEOUT, 0); /* report from the loop, never from here */
        return uc;
    }
    arm_deadline(uc);
    uc->r.dns_start = flow_now_us();
    uc->lookup = resolve_start(rv, host, on_resolved, uc);
    if (!uc->lookup) {
        uc->cb = NULL;
        uc_free(uc);
        return NULL;
    }
    return uc;
}

void upstream_cancel(struct upstream_connect *uc)
{
    uc->cb = NULL;
    uc_free(uc);
}
