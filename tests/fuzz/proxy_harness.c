/* proxy_harness.c — see proxy_harness.h. */
#include "proxy_harness.h"
#include "budget.h"
#include "capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include "ca.h"
#include "clients.h"
#include "front_h1.h"
#include "session.h"
#include "flow.h"
#include "flow_json.h"
#include "leafcache.h"
#include "log.h"
#include "opts.h"
#include "pool.h"
#include "proxy.h"
#include "store_messages.h"
#include "rule_apply.h"
#include "rules.h"
#include "tls_client.h"
#include "tls_server.h"
#include "upstream.h"

#define MAX_UPSTREAMS 16
#define MAX_PROXY_FDS 64
/* Bytes the harness reads from one peer per pump (what httpeek sent is only counted). */
#define PUMP_READ 65536

struct peer {
    int fd;                   /* harness end, -1 when closed */
    SSL *ssl;                 /* TLS over fd, or NULL */
    int handshaken;
    int upstream;             /* 1: an upstream peer (TLS server when it sees a ClientHello) */
    int raw;                  /* upstream: never answer TLS with TLS */
    int decided;              /* upstream: looked at httpeek's first byte */
    int reading;              /* reads what httpeek sends */
    int eof;                  /* httpeek closed its side */
    int shut;                 /* our write side is shut */
    struct evbuffer *pending; /* bytes to write */
};

static struct {
    struct opts opts;
    struct event_base *base;
    struct ca *ca, *untrusted_ca, *up_ca;
    struct leafcache *leaves, *untrusted;
    SSL_CTX *server_ctx, *client_ctx;  /* httpeek's */
    SSL_CTX *peer_client_ctx, *peer_reject_ctx, *peer_server_ctx; /* the harness's */
    struct proxy proxy;
    struct budget budget;              /* small, so 400 KB bodies spill (capture.h) */
    int dns_dummy;
    int dump;                          /* FUZZ_DUMP set: show what each peer receives */
} G;

struct upstream_connect {
    struct event *ev;
    upstream_cb cb;
    void *arg;
    enum harness_outcome outcome;
    int raw;
    char host[256];
    int port;
    struct upstream_connect *prev, *next;
};

static struct {
    struct session *conns;
    struct pool *pool;
    struct peer clients[HARNESS_MAX_CLIENTS];
    int nclients, cur_client;
    struct peer ups[MAX_UPSTREAMS];
    int nups;
    struct evbuffer *up_waiting; /* upstream bytes written before any upstream existed */
    struct upstream_connect *connecting;
    enum harness_outcome next_outcome;
    int next_raw;
    int store_busy;
    int proxy_fds[MAX_PROXY_FDS];
    int nproxy_fds;
} W;

/* ---- fake upstream.c: hands a socket pair over, or fails as told ---- */

/* A new socket pair may reuse the number of a socket closed earlier in this input. */
static void forget_fd(int fd)
{
    for (int i = 0; i < W.nproxy_fds; i++)
        if (W.proxy_fds[i] == fd)
            W.proxy_fds[i--] = W.proxy_fds[--W.nproxy_fds];
}

static void note_proxy_fd(int fd, int other)
{
    forget_fd(fd);
    forget_fd(other);
    if (W.nproxy_fds < MAX_PROXY_FDS)
        W.proxy_fds[W.nproxy_fds++] = fd;
}

static void peer_init(struct peer *p, int fd, int upstream)
{
    memset(p, 0, sizeof *p);
    p->fd = fd;
    p->upstream = upstream;
    p->reading = 1;
    p->pending = evbuffer_new();
}

static void connect_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upstream_connect *uc = arg;
    struct upstream_result r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    snprintf(r.addr, sizeof r.addr, "192.0.2.7");
    r.connect_start = flow_now_us();
    r.dns_start = r.connect_start;
    r.dns_end = r.connect_start;
    switch (uc->outcome) {
    case H_CONNECT_OK: {
        int sv[2];
        if (W.nups < MAX_UPSTREAMS &&
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
            r.fd = sv[0];
            note_proxy_fd(sv[0], sv[1]);
            struct peer *p = &W.ups[W.nups++];
            peer_init(p, sv[1], 1);
            p->raw = uc->raw;
            if (evbuffer_get_length(W.up_waiting))
                evbuffer_add_buffer(p->pending, W.up_waiting);
        } else {
            r.stage = FLOW_STAGE_CONNECT;
            r.sys_errno = EMFILE;
            snprintf(r.reason, sizeof r.reason, "connect: %s", strerror(EMFILE));
        }
        break;
    }
    case H_CONNECT_REFUSED:
        r.stage = FLOW_STAGE_CONNECT;
        r.sys_errno = ECONNREFUSED;
        snprintf(r.reason, sizeof r.reason, "connect: %s", strerror(ECONNREFUSED));
        r.attempts.n = 1;
        snprintf(r.attempts.a[0].addr, sizeof r.attempts.a[0].addr, "192.0.2.7");
        r.attempts.a[0].family = 4;
        snprintf(r.attempts.a[0].outcome, sizeof r.attempts.a[0].outcome, "refused");
        break;
    case H_CONNECT_NO_SUCH_HOST:
        r.stage = FLOW_STAGE_DNS;
        r.dns_error = EVUTIL_EAI_NONAME;
        r.addr[0] = '\0';
        snprintf(r.reason, sizeof r.reason, "no such host: %s", uc->host);
        break;
    case H_CONNECT_TIMEOUT:
        r.stage = FLOW_STAGE_CONNECT;
        r.sys_errno = ETIMEDOUT;
        r.timeout = 1;
        snprintf(r.reason, sizeof r.reason, "connect: timed out");
        break;
    }
    r.connect_end = flow_now_us();
    upstream_cb cb = uc->cb;
    void *cbarg = uc->arg;
    upstream_cancel(uc); /* unlinks and frees; the socket is the callee's now */
    cb(&r, cbarg);
}

struct upstream_connect *upstream_connect(struct event_base *base, struct resolver *rv,
                                          const char *host, int port, double timeout_s,
                                          upstream_cb cb, void *arg)
{
    (void)rv;
    (void)timeout_s;
    struct upstream_connect *uc = calloc(1, sizeof *uc);
    if (!uc)
        return NULL;
    uc->ev = evtimer_new(base, connect_fire, uc);
    if (!uc->ev) {
        free(uc);
        return NULL;
    }
    uc->cb = cb;
    uc->arg = arg;
    uc->outcome = W.next_outcome;
    uc->raw = W.next_raw;
    snprintf(uc->host, sizeof uc->host, "%s", host);
    uc->port = port;
    uc->next = W.connecting;
    if (uc->next)
        uc->next->prev = uc;
    W.connecting = uc;
    if (uc->outcome == H_CONNECT_TIMEOUT) {
        struct timeval tv = {3600, 0}; /* fires when the harness advances time */
        evtimer_add(uc->ev, &tv);
    } else {
        event_active(uc->ev, EV_TIMEOUT, 1); /* never from inside upstream_connect */
    }
    return uc;
}

void upstream_cancel(struct upstream_connect *uc)
{
    if (uc->prev)
        uc->prev->next = uc->next;
    else
        W.connecting = uc->next;
    if (uc->next)
        uc->next->prev = uc->prev;
    event_free(uc->ev);
    free(uc);
}

/* ---- the proxy's context ---- */

static void fuzz_sink(struct flow *f, void *arg)
{
    (void)arg;
    struct flow_json_text t;
    memset(&t, 0, sizeof t);
    capture_map(&f->req_body); /* spilled bodies are read from their files, as the store does */
    capture_map(&f->resp_body);
    if (flow_json_texts(f, &t) == 0)
        flow_json_text_free(&t); /* every finished flow is serialized as the store would */
    capture_unmap(&f->req_body);
    capture_unmap(&f->resp_body);
    flow_free(f);
}

static int fuzz_sink_busy(void *arg)
{
    (void)arg;
    return W.store_busy;
}

static void die(const char *what)
{
    fprintf(stderr, "proxy_harness: %s\n", what);
    ERR_print_errors_fp(stderr);
    abort();
}

static SSL_CTX *peer_server_ctx(struct ca *ca)
{
    char err[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    X509 *leaf = ca_mint_leaf(ca, "fuzz.test", err, sizeof err);
    if (!ctx || !leaf || SSL_CTX_use_certificate(ctx, leaf) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, ca_leaf_key(ca)) != 1)
        die("upstream TLS context");
    X509_free(leaf);
    SSL_CTX_set_alpn_select_cb(ctx, NULL, NULL);
    return ctx;
}

/* Remove the start-up directory: the CA and trust anchors are in memory from now on (every
 * fuzzing process and fork-mode job makes one). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int harness_init(void)
{
    char err[512];
    static char dir[] = "/tmp/httpeek-fuzz-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    signal(SIGPIPE, SIG_IGN); /* as main.c: a peer gone is an error return, not a signal */
    G.dump = getenv("FUZZ_DUMP") != NULL;
    log_set_level(G.dump ? LOG_DEBUG : LOG_ERROR);
    /* the upstream's CA: httpeek trusts it through --upstream-ca, as tests do */
    if (!(G.up_ca = ca_new_untrusted("httpeek fuzz upstream CA", err, sizeof err)))
        die(err);
    char upca[sizeof dir + 16];
    snprintf(upca, sizeof upca, "%s/upstream.pem", dir);
    FILE *f = fopen(upca, "w");
    if (!f || PEM_write_X509(f, ca_cert(G.up_ca)) != 1 || fclose(f) != 0)
        die("writing the upstream CA");
    static char *argv[] = {"httpeek", "--confdir", NULL, "--upstream-ca", NULL, "--upstream-idle",
                           "30", NULL};
    argv[2] = dir;
    argv[4] = strdup(upca);
    if (opts_parse(&G.opts, 7, argv, err, sizeof err) != 0)
        die(err);
    if (!(G.base = event_base_new()) || !(G.ca = ca_load_or_create(dir, err, sizeof err)) ||
        !(G.leaves = leafcache_new(G.ca, 64)) ||
        !(G.untrusted_ca = ca_new_untrusted("httpeek UNTRUSTED fuzz", err, sizeof err)) ||
        !(G.untrusted = leafcache_new(G.untrusted_ca, 64)) ||
        !(G.server_ctx = tls_server_ctx_new(err, sizeof err)) ||
        !(G.client_ctx = tls_client_ctx_new(G.opts.upstream_ca, 0, err, sizeof err)))
        die(err);
    G.peer_client_ctx = SSL_CTX_new(TLS_client_method());
    G.peer_reject_ctx = SSL_CTX_new(TLS_client_method());
    if (!G.peer_client_ctx || !G.peer_reject_ctx)
        die("client TLS contexts");
    SSL_CTX_set_verify(G.peer_client_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_verify(G.peer_reject_ctx, SSL_VERIFY_PEER, NULL); /* trusts nothing */
    G.peer_server_ctx = peer_server_ctx(G.up_ca);
    G.proxy = (struct proxy){.opts = &G.opts, .ca = G.ca, .leaves = G.leaves,
                             .untrusted = G.untrusted, .untrusted_ca = G.untrusted_ca,
                             .tls_server = G.server_ctx, .tls_client = G.client_ctx,
                             .sink = fuzz_sink, .sink_busy = fuzz_sink_busy,
                             .budget = &G.budget};
    /* 4 MiB: a connection's share is 512 KiB, so captures past 256 KiB spill to an unnamed file
     * and a tight budget throttles reads (budget.h), as under a slow-read attack */
    budget_init(&G.budget, 4u << 20);
    if (budget_set_spill_dir(&G.budget, "/tmp") < 0)
        die("spill dir");
    if (acl_add(&G.proxy.allowed, ACL_DEFAULT, err, sizeof err) < 0)
        die(err);
    remove_dir(dir);
    return 0;
}

void harness_begin(void)
{
    const struct opts *o = &G.opts;
    struct rules_config rcfg = {.builtin = !o->no_default_passthrough,
                                .auto_after = o->auto_passthrough, .auto_ttl = o->auto_passthrough_ttl};
    memset(&W, 0, sizeof W);
    W.up_waiting = evbuffer_new();
    W.cur_client = -1;
    G.proxy.rules = rules_new(&rcfg);
    G.proxy.policy = &rule_policy; /* as main installs it: the rule paths run (no rules) */
    G.proxy.clients = clients_new(NULL);
    /* WebSocket messages after a 101 are read and queued as for the store (dropped at the end) */
    G.proxy.ws_messages = store_messages_new(&G.budget);
    W.pool = pool_new(G.base, o->upstream_idle);
    if (!G.proxy.rules || !G.proxy.clients || !G.proxy.ws_messages || !W.pool || !W.up_waiting)
        die("out of memory");
}

int harness_new_client(void)
{
    if (W.nclients >= HARNESS_MAX_CLIENTS)
        return -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    int i = W.nclients++;
    peer_init(&W.clients[i], sv[1], 0);
    W.cur_client = i;
    note_proxy_fd(sv[0], sv[1]);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(40000 + i))};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    session_accept(&G.proxy, G.base, (struct resolver *)&G.dns_dummy, W.pool, &W.conns,
                   &front_h1, sv[0], (struct sockaddr *)&sin, sizeof sin);
    return i;
}

static struct peer *cur_client(void)
{
    return W.cur_client >= 0 ? &W.clients[W.cur_client] : NULL;
}

static struct peer *cur_upstream(void)
{
    for (int i = W.nups - 1; i >= 0; i--)
        if (W.ups[i].fd >= 0)
            return &W.ups[i];
    return NULL;
}

void harness_client_write(const void *d, size_t n)
{
    struct peer *p = cur_client();
    if (p && p->fd >= 0 && !p->shut)
        evbuffer_add(p->pending, d, n);
}

void harness_upstream_write(const void *d, size_t n)
{
    struct peer *p = cur_upstream();
    if (p && !p->shut)
        evbuffer_add(p->pending, d, n);
    else if (!p)
        evbuffer_add(W.up_waiting, d, n);
}

static void peer_close(struct peer *p)
{
    if (p->fd < 0)
        return;
    if (p->ssl)
        SSL_free(p->ssl);
    p->ssl = NULL;
    close(p->fd);
    p->fd = -1;
}

static void peer_shutdown(struct peer *p)
{
    if (!p || p->fd < 0 || p->shut)
        return;
    /* what is queued goes first: a half-close comes after the bytes written before it */
    p->shut = 1;
}

void harness_client_shutdown(void)
{
    peer_shutdown(cur_client());
}

void harness_client_close(void)
{
    struct peer *p = cur_client();
    if (p)
        peer_close(p);
}

void harness_upstream_shutdown(void)
{
    peer_shutdown(cur_upstream());
}

void harness_upstream_close(void)
{
    struct peer *p = cur_upstream();
    if (p)
        peer_close(p);
}

void harness_client_reading(int on)
{
    struct peer *p = cur_client();
    if (p)
        p->reading = on;
}

void harness_upstream_reading(int on)
{
    struct peer *p = cur_upstream();
    if (p)
        p->reading = on;
}

void harness_client_start_tls(int reject)
{
    struct peer *p = cur_client();
    if (!p || p->fd < 0 || p->ssl || p->shut)
        return;
    p->ssl = SSL_new(reject ? G.peer_reject_ctx : G.peer_client_ctx);
    if (!p->ssl)
        return;
    SSL_set_fd(p->ssl, p->fd);
    SSL_set_tlsext_host_name(p->ssl, "fuzz.test");
    SSL_set_connect_state(p->ssl);
}

void harness_next_connect(enum harness_outcome o, int raw)
{
    W.next_outcome = o;
    W.next_raw = raw;
}

void harness_store_busy(int busy)
{
    W.store_busy = busy;
}

/* httpeek dropped this upstream connection: what was queued for it goes to the next one. */
static void upstream_gone(struct peer *p)
{
    if (p->upstream && evbuffer_get_length(p->pending))
        evbuffer_prepend_buffer(W.up_waiting, p->pending);
}

/* Read and write what the socket takes now; returns 1 when anything moved. */
static int pump(struct peer *p)
{
    int moved = 0;
    if (p->fd < 0)
        return 0;
    if (p->upstream && !p->decided && !p->raw && !p->ssl) {
        unsigned char b;
        ssize_t n = recv(p->fd, &b, 1, MSG_PEEK);
        if (n == 1) {
            p->decided = 1;
            if (b == 0x16 && (p->ssl = SSL_new(G.peer_server_ctx)) != NULL) {
                SSL_set_fd(p->ssl, p->fd);
                SSL_set_accept_state(p->ssl);
            }
        }
    }
    if (p->ssl && !p->handshaken) {
        ERR_clear_error();
        int r = SSL_do_handshake(p->ssl);
        if (r == 1) {
            p->handshaken = 1;
            moved = 1;
        } else {
            int e = SSL_get_error(p->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                upstream_gone(p);
                peer_close(p); /* the handshake failed: hang up as a client or server would */
                return 1;
            }
        }
    }
    char buf[PUMP_READ];
    if (p->reading && !p->eof && (!p->ssl || p->handshaken)) {
        for (int i = 0; i < 4; i++) {
            ssize_t n;
            if (p->ssl) {
                ERR_clear_error();
                int r = SSL_read(p->ssl, buf, sizeof buf);
                if (r > 0) {
                    n = r;
                } else {
                    int e = SSL_get_error(p->ssl, r);
                    n = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -1 : 0;
                    errno = EAGAIN;
                }
            } else {
                n = read(p->fd, buf, sizeof buf);
            }
            if (n > 0) {
                if (G.dump)
                    fprintf(stderr, "---- %s %d got %zd bytes%s ----\n%.*s\n", p->upstream ? "upstream" : "client",
                            (int)(p - (p->upstream ? W.ups : W.clients)), n, p->ssl ? " (TLS)" : "",
                            (int)n, buf);
                moved = 1;
                continue;
            }
            if (n == 0) {
                p->eof = 1;
                upstream_gone(p);
                moved = 1;
            }
            break;
        }
    }
    while (evbuffer_get_length(p->pending) && (!p->ssl || p->handshaken) && p->fd >= 0) {
        size_t len = evbuffer_get_length(p->pending);
        if (len > PUMP_READ)
            len = PUMP_READ;
        const void *d = evbuffer_pullup(p->pending, (ssize_t)len);
        ssize_t n;
        if (p->ssl) {
            ERR_clear_error();
            int r = SSL_write(p->ssl, d, (int)len);
            n = r > 0 ? r : -1;
        } else {
            n = send(p->fd, d, len, MSG_NOSIGNAL);
        }
        if (n <= 0)
            break;
        evbuffer_drain(p->pending, (size_t)n);
        moved = 1;
    }
    if (p->shut == 1 && !evbuffer_get_length(p->pending) && (!p->ssl || p->handshaken)) {
        if (p->ssl)
            SSL_shutdown(p->ssl); /* close_notify, then the TCP half-close */
        shutdown(p->fd, SHUT_WR);
        p->shut = 2;
        moved = 1;
    }
    return moved;
}

static int pump_all(void)
{
    int moved = 0;
    for (int i = 0; i < W.nclients; i++)
        moved |= pump(&W.clients[i]);
    for (int i = 0; i < W.nups; i++)
        moved |= pump(&W.ups[i]);
    return moved;
}

void harness_settle(int rounds)
{
    for (int i = 0; i < rounds + 32; i++) {
        event_base_loop(G.base, EVLOOP_NONBLOCK);
        int moved = pump_all();
        int active = event_base_get_num_events(G.base, EVENT_BASE_COUNT_ACTIVE);
        if (i >= rounds && !moved && !active)
            break;
    }
}

static void fire(struct event *ev)
{
    if (ev && event_pending(ev, EV_TIMEOUT, NULL))
        event_active(ev, EV_TIMEOUT, 1);
}

void harness_timeouts(int long_time)
{
    for (struct session *c = W.conns; c; c = c->next) {
        fire(c->tun.peek_ev);
        fire(c->hold_ev);
        if (long_time) {
            c->last_activity = 0; /* quiet since long ago: lazy idle deadlines (session.c) expire too */
            if (c->deadline) /* and the state's deadline has passed (else on_timer re-arms) */
                c->deadline = 1;
            fire(c->timer);
        }
    }
    if (long_time)
        for (struct upstream_connect *uc = W.connecting; uc; uc = uc->next)
            fire(uc->ev);
    harness_settle(2);
}

int harness_conns(void)
{
    int n = 0;
    for (struct session *c = W.conns; c; c = c->next)
        n++;
    return n;
}

static void close_peers(void)
{
    for (int i = 0; i < W.nclients; i++)
        peer_close(&W.clients[i]);
    for (int i = 0; i < W.nups; i++)
        peer_close(&W.ups[i]);
}

void harness_end(void)
{
    harness_settle(2);
    close_peers();
    harness_settle(2);
    W.store_busy = 0;
    for (int round = 0; round < 16 && (W.conns || W.connecting); round++) {
        harness_timeouts(1);
        close_peers(); /* a connect that completed meanwhile made a new one */
    }
    if (W.conns) {
        fprintf(stderr, "proxy_harness: connection %s outlived its peers and deadlines\n",
                session_state_name(W.conns->state));
        abort();
    }
    session_free_all(&W.conns);
    pool_free(W.pool);
    harness_settle(2);
    for (int i = 0; i < W.nproxy_fds; i++) {
        if (fcntl(W.proxy_fds[i], F_GETFD) != -1) {
            fprintf(stderr, "proxy_harness: socket %d handed to httpeek is still open\n",
                    W.proxy_fds[i]);
            abort();
        }
    }
    for (int i = 0; i < W.nclients; i++)
        evbuffer_free(W.clients[i].pending);
    for (int i = 0; i < W.nups; i++)
        evbuffer_free(W.ups[i].pending);
    evbuffer_free(W.up_waiting);
    rules_free(G.proxy.rules);
    clients_free(G.proxy.clients);
    store_messages_free(G.proxy.ws_messages);
    G.proxy.rules = NULL;
    G.proxy.clients = NULL;
    G.proxy.ws_messages = NULL;
}
