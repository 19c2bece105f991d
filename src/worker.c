/* worker.c — see worker.h. The kernel spreads new connections over the workers' SO_REUSEPORT
 * sockets, so no connection ever crosses threads and workers share nothing but struct proxy. */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/dns.h>
#include "resolve.h"
#include <event2/event.h>
#include <event2/listener.h>
#include "front_h1.h"
#include "heap_trim.h"
#include "session.h"
#include "log.h"
#include "mailbox.h"
#include "own.h"
#include "pool.h"
#include "uplink_h2.h"

/* Pause before accepting again when out of file descriptors (ms). */
#define WORKER_ACCEPT_BACKOFF_MS 200
/* On SIGINT/SIGTERM, how long exchanges in progress may take to finish (ms). */
#define WORKER_GRACE_MS 2000
/* How often the grace period checks whether every connection is gone (ms). */
#define WORKER_GRACE_POLL_MS 50
/* Quiet time after the last new connection before the freed heap is given back (ms). */
#define WORKER_TRIM_QUIET_MS 500

struct worker {
    int index;
    struct proxy *proxy;
    struct event_base *base;
    struct resolver *dns;         /* names to addresses (resolve.h) */
    struct evconnlistener *listeners[OPTS_MAX_LISTEN + 1];
    int nlisteners;
    uint64_t fd_warned_us;    /* when the last "out of descriptors" line was logged */
    unsigned fd_pauses;       /* pauses since then (logged with the next line) */
    struct event *resume_accept;  /* re-enables listeners after an accept error */
    pthread_t thread;
    int started;
    struct session *conns;        /* every live connection of this worker */
    struct pool *pool;            /* idle upstream TLS connections kept for the next tunnel */
    struct mailbox *mailbox;      /* how other threads reach this one (its base has no locks) */
    struct mailbox_msg stop_msg;  /* posted by worker_request_stop (main thread) */
    struct event *grace_ev;       /* polls during the grace period */
    uint64_t grace_deadline;      /* monotonic µs */
    int busy_logged;              /* said once that --max-connections is reached */
    uint64_t busy_refused;        /* connections refused since */
    uint64_t client_busy_warned_us; /* last "client at --max-client-connections" line */
    struct event *trim_ev;        /* gives freed heap back once new connections stop coming */
    uint64_t accepted;            /* connections accepted, for trim_ev */
    uint64_t trim_seen;           /* accepted when trim_ev was last armed */
    int stopping;                 /* on_stop ran: trim_ev is not armed again */
    struct own_limiter refusals;  /* bounds the flows of connections refused at accept */
};

/* A burst of new connections leaves the heap full of freed handshake memory (each TLS
 * handshake in flight holds several 16 KiB record and message buffers) scattered between the
 * connections that stay. glibc keeps it mapped; malloc_trim hands its whole free pages back, so
 * the proxy's resident size follows what its connections hold. Done once per burst, when no
 * connection arrived for WORKER_TRIM_QUIET_MS (never on a steady stream of connections). */
static void on_trim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    if (w->accepted != w->trim_seen) { /* still arriving: look again later */
        w->trim_seen = w->accepted;
        struct timeval tv = {0, WORKER_TRIM_QUIET_MS * 1000};
        evtimer_add(w->trim_ev, &tv);
        return;
    }
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Count a new connection (or a burst of frees, heap_trim.h) for on_trim and make sure the trim
 * is scheduled. */
static void note_accept(struct worker *w)
{
    w->accepted++;
    if (!evtimer_pending(w->trim_ev, NULL)) {
        w->trim_seen = w->accepted;
        struct timeval tv = {0, WORKER_TRIM_QUIET_MS * 1000};
        evtimer_add(w->trim_ev, &tv);
    }
}

/* Over --max-connections: answer 503 without reading and hang up (no conn is made); the refusal
 * is a flow (own.h bounds how many). */
static void refuse_busy(struct worker *w, evutil_socket_t fd, const struct sockaddr *addr)
{
    int open = atomic_load(&w->proxy->live_conns);
    if (!w->busy_logged) {
        log_msg(LOG_WARN, "%d client connections open (--max-connections %d): refusing new ones "
                "with 503 until some close", open, w->proxy->opts->max_connections);
        w->busy_logged = 1;
    }
    w->busy_refused++;
    own_refuse_connection(w->proxy, &w->refusals, fd, addr, FLOW_REFUSED_BUSY, open);
}

/* Seconds between two "one client at --max-client-connections" log lines of one worker. */
#define WORKER_CLIENT_BUSY_WARN_S 10

/* Count the connection for its client address: 0 when it may go on, else it was refused (503
 * and a flow when the client is at --max-client-connections) and fd is closed. */
static int take_client_slot(struct worker *w, evutil_socket_t fd, const struct sockaddr *addr)
{
    if (!w->proxy->client_slots)
        return 0;
    char client[64];
    int port;
    own_client_address(addr, client, sizeof client, &port);
    int open = client_slots_take(w->proxy->client_slots, client);
    if (!open)
        return 0;
    if (open < 0) {
        log_msg(LOG_ERROR, "out of memory accepting a connection from %s", client);
        close(fd);
        return -1;
    }
    uint64_t now = flow_now_us();
    if (!w->client_busy_warned_us ||
        now - w->client_busy_warned_us >= WORKER_CLIENT_BUSY_WARN_S * 1000000ull) {
        log_msg(LOG_WARN, "client %s has %d connections open (--max-client-connections %d): "
                "refusing its new ones with 503 until some close", client, open,
                w->proxy->opts->max_client_connections);
        w->client_busy_warned_us = now;
    }
    own_refuse_connection(w->proxy, &w->refusals, fd, addr, FLOW_REFUSED_CLIENT_BUSY, open);
    return -1;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
    (void)l;
    (void)addrlen;
    struct worker *w = arg;
    if (!acl_allows(&w->proxy->allowed, addr)) {
        /* never an open proxy: a 403 saying why, without reading a byte */
        own_refuse_connection(w->proxy, &w->refusals, fd, addr, FLOW_REFUSED_CLIENT, 0);
        return;
    }
    if (atomic_load(&w->proxy->live_conns) >= w->proxy->opts->max_connections) {
        refuse_busy(w, fd, addr);
        return;
    }
    if (take_client_slot(w, fd, addr) < 0)
        return;
    if (w->busy_logged) {
        log_msg(LOG_INFO, "accepting connections again (%llu refused while at --max-connections)",
                (unsigned long long)w->busy_refused);
        w->busy_logged = 0;
        w->busy_refused = 0;
    }
    session_accept(w->proxy, w->base, w->dns, w->pool, &w->conns, &front_h1, fd, addr,
                   (socklen_t)addrlen);
    note_accept(w);
}

static void on_resume_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    for (int i = 0; i < w->nlisteners; i++)
        evconnlistener_enable(w->listeners[i]);
}

/* Seconds between two "out of descriptors" log lines of one worker. */
#define WORKER_FD_WARN_S 10

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    struct worker *w = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Out of descriptors: stop accepting for a moment instead of spinning on the error.
         * One log line per WORKER_FD_WARN_S, not one per pause, or the log floods. */
        uint64_t now = flow_now_us();
        w->fd_pauses++;
        if (!w->fd_warned_us || now - w->fd_warned_us >= WORKER_FD_WARN_S * 1000000ull) {
            log_msg(LOG_WARN, "accept: %s (%d connections open); pausing accepts (%u pauses)",
                    strerror(err), atomic_load(&w->proxy->live_conns), w->fd_pauses);
            w->fd_warned_us = now;
            w->fd_pauses = 0;
        }
        for (int i = 0; i < w->nlisteners; i++)
            evconnlistener_disable(w->listeners[i]);
        struct timeval tv = {0, WORKER_ACCEPT_BACKOFF_MS * 1000};
        event_add(w->resume_accept, &tv);
    } else {
        log_msg(LOG_WARN, "accept: %s", strerror(err));
    }
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    session_close_idle(&w->conns); /* exchanges that finished meanwhile leave their idle conns */
    if (!w->conns || flow_now_us() >= w->grace_deadline) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    struct timeval tv = {0, WORKER_GRACE_POLL_MS * 1000};
    evtimer_add(w->grace_ev, &tv);
}

/* Runs on the worker's thread: stop accepting, let exchanges in progress finish. */
static void on_stop(void *arg)
{
    struct worker *w = arg;
    if (w->stopping)
        return;
    for (int i = 0; i < w->nlisteners; i++)
        evconnlistener_disable(w->listeners[i]);
    event_del(w->resume_accept);
    event_del(w->trim_ev);
    w->stopping = 1; /* no trim any more */
    w->grace_deadline = flow_now_us() + WORKER_GRACE_MS * 1000ull;
    on_grace(-1, 0, w);
}

static int bind_one(struct worker *w, const char *spec, int v6only, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (opts_split_hostport(spec, host, sizeof host, &port, 0) < 0) {
        snprintf(err, errlen, "--listen: expected HOST:PORT, got '%s'", spec);
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sslen;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        sslen = sizeof *in;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        sslen = sizeof *in6;
    } else if (!strcmp(host, "localhost")) {
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in->sin_port = htons((uint16_t)port);
        sslen = sizeof *in;
    } else {
        snprintf(err, errlen, "--listen: '%s' is not an IP address", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 1024) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    struct evconnlistener *l = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!l) {
        snprintf(err, errlen, "cannot listen on %s: out of memory", spec);
        close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l, on_accept_error);
    w->listeners[w->nlisteners++] = l;
    return 0;
}

static int setup_dns(struct worker *w, char *err, size_t errlen)
{
    const struct opts *o = w->proxy->opts;
    /* --hosts first; then --dns alone when given, else the system resolver (resolve.h). */
    w->dns = resolver_new(w->base, w->mailbox, o->hosts_file, o->dns, err, errlen);
    return w->dns ? 0 : -1;
}

struct worker *worker_new(struct proxy *proxy, int index, char *err, size_t errlen)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->index = index;
    w->proxy = proxy;
    /* the changelist folds an event added and deleted in one loop turn into no epoll_ctl at all
     * (see kick_write in leg.c). No locks: only this worker's thread touches its base, others
     * post to its mailbox (mailbox.h); libevent's lock and unlock on every event_add, event_del,
     * event_active and callback cost ~1.6k instructions per request. */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    }
    w->base = cfg ? event_base_new_with_config(cfg) : NULL;
    event_config_free(cfg);
    if (!w->base) {
        snprintf(err, errlen, "cannot create an event loop");
        worker_free(w);
        return NULL;
    }
    w->resume_accept = evtimer_new(w->base, on_resume_accept, w);
    w->mailbox = mailbox_new(w->base);
    mailbox_msg_init(&w->stop_msg, on_stop, w);
    w->grace_ev = evtimer_new(w->base, on_grace, w);
    w->trim_ev = evtimer_new(w->base, on_trim, w);
    if (proxy->opts->upstream_idle > 0)
        w->pool = pool_new(w->base, proxy->opts->upstream_idle);
    if (!w->resume_accept || !w->mailbox || !w->grace_ev || !w->trim_ev || setup_dns(w, err, errlen) < 0 ||
        (proxy->opts->upstream_idle > 0 && !w->pool)) {
        worker_free(w);
        return NULL;
    }
    const struct opts *o = proxy->opts;
    if (o->nlisten == 0) {
        if (bind_one(w, OPTS_DEFAULT_LISTEN, 0, err, errlen) < 0) {
            worker_free(w);
            return NULL;
        }
        char e2[256];
        (void)bind_one(w, "[::]:8080", 1, e2, sizeof e2); /* IPv6 too, when the host has it */
    }
    for (int i = 0; i < o->nlisten; i++) {
        if (bind_one(w, o->listen[i], 1, err, errlen) < 0) {
            worker_free(w);
            return NULL;
        }
    }
    return w;
}

/* heap_trim.h's hook: connections' memory is being freed (idle upstream legs the servers
 * closed): trim once that burst is over too. */
static void note_freed(void *arg)
{
    struct worker *w = arg;
    if (!w->stopping)
        note_accept(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    heap_trim_register(note_freed, w);
    mailbox_set_current(w->mailbox);
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    heap_trim_register(NULL, NULL);
    session_free_all(&w->conns); /* what the grace period did not finish */
    uplink_h2_free_all();
    pool_free(w->pool);
    w->pool = NULL;
    /* nothing of this worker is left to post for (lookups and pauses were cancelled with their
     * connections); a late stop request is dropped */
    mailbox_close(w->mailbox);
    mailbox_set_current(NULL);
    return NULL;
}

int worker_start(struct worker *w, char *err, size_t errlen)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc) {
        snprintf(err, errlen, "cannot start a worker thread: %s", strerror(rc));
        return -1;
    }
    w->started = 1;
    return 0;
}

void worker_request_stop(struct worker *w)
{
    if (w->started)
        (void)mailbox_post(w->mailbox, &w->stop_msg); /* -1: it has stopped already */
}

void worker_stop(struct worker *w)
{
    if (!w->started)
        return;
    worker_request_stop(w);
    pthread_join(w->thread, NULL);
    w->started = 0;
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->nlisteners; i++)
        evconnlistener_free(w->listeners[i]);
    session_free_all(&w->conns); /* a worker that never ran its loop */
    pool_free(w->pool);
    if (w->resume_accept)
        event_free(w->resume_accept);
    if (w->grace_ev)
        event_free(w->grace_ev);
    if (w->trim_ev)
        event_free(w->trim_ev);
    resolver_free(w->dns);
    mailbox_free(w->mailbox);
    if (w->base)
        event_base_free(w->base);
    free(w);
}

void worker_describe(struct worker *w, char *buf, size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < w->nlisteners && used < buflen; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = evconnlistener_get_fd(w->listeners[i]);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
            continue;
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
        int n = snprintf(buf + used, buflen - used, ss.ss_family == AF_INET6 ? "%s[%s]:%d" : "%s%s:%d",
                         i ? ", " : "", host, port);
        if (n > 0)
            used += (size_t)n;
    }
}
