/* replay.c — see replay.h. One batch sends one spec count times; each request is a connection
 * of its own to httpeek's listener (struct rconn), so its flow is told apart by the connection's
 * address and port (replay_marks.h). A connection's life: connect → register → [CONNECT, TLS] →
 * request → response read to its end → wait (≤ 3 s, socket still open) for the proxy to record
 * the flow and report its id → close and unregister. */
#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "http1.h"
#include "own.h"
#include "replay_marks.h"

#define REPLAY_IDLE_S 60     /* a connection silent this long fails */
#define REPLAY_ID_WAIT_MS 3000 /* how long a finished request waits for its flow's id */
#define REPLAY_MAX_CONNECT_HEAD 16384

struct batch;

enum rconn_state { RC_CONNECTING, RC_CONNECT_HEAD, RC_TLS, RC_RESPONSE, RC_WAIT_ID };

struct rconn {
    struct batch *b;
    size_t index;                 /* which request of the batch (its place in ids) */
    struct bufferevent *bev;      /* the socket, or the TLS filter over it */
    evutil_socket_t fd;
    enum rconn_state state;
    char addr[64];                /* our side of the connection, as the proxy sees it */
    int port;
    int registered;
    struct http1_parser parser;
    int parser_ready, response_done;
    struct event *recorded, *wait_timer;
    char error[200];
    struct rconn *next;
};

struct batch {
    struct replay *r;
    int tls;
    char *connect_head, *head, tls_host[256];
    struct replay_spec *spec;
    unsigned count, concurrency, delay_ms, started, running;
    uint64_t replay_of;
    int composed;
    uint64_t *ids;                /* count slots: 0 until known */
    size_t nerrors;
    char first_error[200];
    struct event *delay_timer;
    struct timeval last_start;
    replay_done_fn done;
    void *done_arg;
    struct rconn *conns;
    struct batch *next;
};

struct replay {
    struct event_base *base;
    struct replay_marks *marks;
    SSL_CTX *ctx;
    struct sockaddr_storage proxy;
    int proxy_len;
    struct batch *batches;
    unsigned nbatches;
    size_t body_bytes;            /* request bodies of the running batches */
};

static void pump(struct batch *b);

/* ------------------------------------------------------------------------------------------ */
/* One connection */

static void conn_free(struct rconn *c)
{
    struct batch *b = c->b;
    for (struct rconn **p = &b->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    if (c->registered) {
        uint64_t id = replay_marks_remove(b->r->marks, c->addr, c->port);
        if (id)
            b->ids[c->index] = id;
    }
    if (!b->ids[c->index]) {
        if (!b->nerrors++)
            snprintf(b->first_error, sizeof b->first_error, "%s",
                     c->error[0] ? c->error : "no flow was recorded for it");
    }
    if (c->bev)
        bufferevent_free(c->bev); /* closes the socket: the port is free only now */
    if (c->parser_ready)
        http1_parser_free(&c->parser);
    if (c->recorded)
        event_free(c->recorded);
    if (c->wait_timer)
        event_free(c->wait_timer);
    free(c);
    b->running--;
}

static void on_id_or_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rconn *c = arg;
    struct batch *b = c->b;
    conn_free(c);
    pump(b);
}

/* The request ended (error NULL) or failed: wait for the proxy to record its flow. The socket
 * stays open (its port cannot be taken by anyone else) but says it is done writing, so a proxy
 * still waiting for more of the request ends the flow now. */
static void conn_finish(struct rconn *c, const char *error)
{
    if (c->state == RC_WAIT_ID)
        return;
    if (error && !c->error[0])
        snprintf(c->error, sizeof c->error, "%s", error);
    c->state = RC_WAIT_ID;
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (!c->registered || replay_marks_recorded_id(c->b->r->marks, c->addr, c->port)) {
        event_active(c->recorded, EV_TIMEOUT, 0);
        return;
    }
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_WR);
    struct timeval tv = {REPLAY_ID_WAIT_MS / 1000, (REPLAY_ID_WAIT_MS % 1000) * 1000};
    event_add(c->wait_timer, &tv);
}

static int on_resp_head(void *arg, struct http1_head *head)
{
    (void)head;
    struct rconn *c = arg;
    return !strcasecmp(c->b->spec->method, "HEAD"); /* its response has no body */
}

static int on_resp_body(void *arg, const char *data, size_t len)
{
    (void)arg, (void)data, (void)len; /* the proxy captured it: nothing to keep here */
    return 0;
}

static int on_resp_done(void *arg)
{
    struct rconn *c = arg;
    c->response_done = 1;
    return 0; /* pause: one response is all we want */
}

static const struct http1_handlers resp_handlers = {
    .on_head = on_resp_head, .on_body = on_resp_body, .on_done = on_resp_done};

static void send_request(struct rconn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct batch *b = c->b;
    http1_parser_init(&c->parser, 0, &resp_handlers, c);
    c->parser_ready = 1;
    c->state = RC_RESPONSE;
    if (evbuffer_add(out, b->head, strlen(b->head)) < 0 ||
        (b->spec->body_len &&
         evbuffer_add_reference(out, b->spec->body, b->spec->body_len, NULL, NULL) < 0))
        conn_finish(c, "out of memory");
}

static void on_event(struct bufferevent *bev, short what, void *arg);

/* The proxy's answer to CONNECT is whole in the input: 200 goes on with TLS. */
static void connect_answered(struct rconn *c, struct evbuffer *in, size_t head_len)
{
    char line[64] = "";
    size_t n = evbuffer_get_length(in) < sizeof line - 1 ? evbuffer_get_length(in) : sizeof line - 1;
    evbuffer_copyout(in, line, n);
    line[n] = '\0';
    int status = 0;
    if (sscanf(line, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
        char why[96];
        snprintf(why, sizeof why, "httpeek answered CONNECT with %d", status);
        conn_finish(c, why);
        return;
    }
    evbuffer_drain(in, head_len);
    SSL *ssl = SSL_new(c->b->r->ctx);
    struct in6_addr ip6;
    struct in_addr ip4;
    const char *host = c->b->tls_host;
    int is_ip = evutil_inet_pton(AF_INET, host, &ip4) == 1 || evutil_inet_pton(AF_INET6, host, &ip6) == 1;
    if (ssl && !is_ip)
        SSL_set_tlsext_host_name(ssl, host);
    if (!ssl || (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                       : SSL_set1_host(ssl, host)) != 1) {
        if (ssl)
            SSL_free(ssl);
        conn_finish(c, "out of memory");
        return;
    }
    struct bufferevent *tls = bufferevent_openssl_filter_new(
        c->b->r->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!tls) {
        SSL_free(ssl);
        conn_finish(c, "out of memory");
        return;
    }
    c->bev = tls; /* owns the socket's bufferevent now */
    c->state = RC_TLS;
    bufferevent_setcb(tls, NULL, NULL, on_event, c); /* read callback set below */
    struct timeval idle = {REPLAY_IDLE_S, 0};
    bufferevent_set_timeouts(tls, &idle, &idle);
    bufferevent_enable(tls, EV_READ | EV_WRITE);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct rconn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->state == RC_CONNECT_HEAD) {
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) {
            if (evbuffer_get_length(in) > REPLAY_MAX_CONNECT_HEAD)
                conn_finish(c, "httpeek's answer to CONNECT is too long");
            return;
        }
        connect_answered(c, in, (size_t)end.pos + 4);
        if (c->state == RC_TLS)
            bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
        return;
    }
    if (c->state != RC_RESPONSE) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    enum http1_feed_result r = http1_feed(&c->parser, in);
    if (c->response_done)
        conn_finish(c, NULL);
    else if (r == HTTP1_FEED_ERROR) {
        char why[160];
        snprintf(why, sizeof why, "the response could not be read: %s",
                 c->parser.error ? c->parser.error : "malformed");
        conn_finish(c, why);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct rconn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->state == RC_TLS) {
            send_request(c);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        c->fd = bufferevent_getfd(bev);
        if (getsockname(c->fd, (struct sockaddr *)&ss, &len) < 0) {
            conn_finish(c, "getsockname failed");
            return;
        }
        own_client_address((struct sockaddr *)&ss, c->addr, sizeof c->addr, &c->port);
        /* registered before the first byte: the proxy's flow for it is marked */
        if (replay_marks_add(c->b->r->marks, c->addr, c->port, c->b->replay_of, c->b->composed,
                             c->recorded) < 0) {
            conn_finish(c, "out of memory");
            return;
        }
        c->registered = 1;
        if (c->b->tls) {
            c->state = RC_CONNECT_HEAD;
            if (evbuffer_add(bufferevent_get_output(bev), c->b->connect_head,
                             strlen(c->b->connect_head)) < 0)
                conn_finish(c, "out of memory");
        } else
            send_request(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (c->state == RC_RESPONSE && c->parser_ready && http1_finish(&c->parser) == HTTP1_FEED_MORE &&
            c->response_done)
            conn_finish(c, NULL);
        else
            conn_finish(c, c->state == RC_CONNECTING ? "httpeek's listener closed the connection"
                                                     : "httpeek closed the connection before the "
                                                       "response ended");
        return;
    }
    char why[200];
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(why, sizeof why, "no answer for %d s", REPLAY_IDLE_S);
    else if (c->state == RC_CONNECTING)
        snprintf(why, sizeof why, "cannot connect to httpeek's own listener: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    else if (c->state == RC_TLS) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char ebuf[120] = "closed";
        if (e)
            ERR_error_string_n(e, ebuf, sizeof ebuf);
        snprintf(why, sizeof why, "TLS with httpeek failed: %s", ebuf);
    } else
        snprintf(why, sizeof why, "connection error: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    conn_finish(c, why);
}

/* Start request number index of b. */
static void conn_start(struct batch *b, size_t index)
{
    struct rconn *c = calloc(1, sizeof *c);
    b->running++;
    if (!c) {
        b->running--;
        if (!b->nerrors++)
            snprintf(b->first_error, sizeof b->first_error, "out of memory");
        return;
    }
    c->b = b;
    c->index = index;
    c->fd = -1;
    c->next = b->conns;
    b->conns = c;
    struct event_base *base = b->r->base;
    c->recorded = event_new(base, -1, 0, on_id_or_timeout, c);
    c->wait_timer = evtimer_new(base, on_id_or_timeout, c);
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->recorded || !c->wait_timer || !c->bev) {
        snprintf(c->error, sizeof c->error, "out of memory");
        conn_free(c); /* pump goes on from here */
        return;
    }
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    struct timeval idle = {REPLAY_IDLE_S, 0};
    bufferevent_set_timeouts(c->bev, &idle, &idle);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->r->proxy, b->r->proxy_len) < 0) {
        snprintf(c->error, sizeof c->error, "cannot connect to httpeek's own listener");
        event_active(c->recorded, EV_TIMEOUT, 0); /* not from inside the caller's loop */
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Batches */

static void batch_free(struct batch *b)
{
    struct replay *r = b->r;
    for (struct batch **p = &r->batches; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    r->nbatches--;
    r->body_bytes -= b->spec->body_len;
    if (b->delay_timer)
        event_free(b->delay_timer);
    replay_spec_free(b->spec);
    free(b->connect_head);
    free(b->head);
    free(b->ids);
    free(b);
}

/* Every request ended: tell the caller (ids in start order, the ones that made no flow left out). */
static void batch_end(struct batch *b, const char *why)
{
    size_t n = 0;
    for (size_t i = 0; i < b->count; i++)
        if (b->ids[i])
            b->ids[n++] = b->ids[i];
    if (why && !b->first_error[0])
        snprintf(b->first_error, sizeof b->first_error, "%s", why);
    b->done(b->done_arg, b->ids, n, b->nerrors, b->first_error[0] ? b->first_error : NULL);
    batch_free(b);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    pump(arg);
}

/* Start what may start now; end the batch when all ended. */
static void pump(struct batch *b)
{
    while (b->started < b->count && b->running < b->concurrency) {
        if (b->delay_ms && b->started) {
            struct timeval now, due, add = {b->delay_ms / 1000, (b->delay_ms % 1000) * 1000};
            event_base_gettimeofday_cached(b->r->base, &now);
            evutil_timeradd(&b->last_start, &add, &due);
            if (evutil_timercmp(&now, &due, <)) {
                struct timeval wait;
                evutil_timersub(&due, &now, &wait);
                if (!evtimer_pending(b->delay_timer, NULL))
                    evtimer_add(b->delay_timer, &wait);
                return;
            }
        }
        event_base_gettimeofday_cached(b->r->base, &b->last_start);
        conn_start(b, b->started++);
    }
    if (b->started == b->count && !b->running)
        batch_end(b, NULL);
}

int replay_start(struct replay *r, struct replay_spec *spec, unsigned count, unsigned concurrency,
                 unsigned delay_ms, uint64_t replay_of, int composed, replay_done_fn done,
                 void *arg, char *err, size_t errlen)
{
    if (r->nbatches >= REPLAY_MAX_BATCHES ||
        spec->body_len > REPLAY_MAX_BODY_BYTES - r->body_bytes) {
        snprintf(err, errlen, "too many repeats are running now: try again when they end");
        replay_spec_free(spec);
        return -1;
    }
    struct batch *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        replay_spec_free(spec);
        return -1;
    }
    b->spec = spec;
    if (replay_spec_wire(spec, &b->tls, &b->connect_head, &b->head, b->tls_host,
                         sizeof b->tls_host, err, errlen) < 0) {
        replay_spec_free(spec);
        free(b);
        return -1;
    }
    b->r = r;
    b->count = count < 1 ? 1 : count > REPLAY_MAX_COUNT ? REPLAY_MAX_COUNT : count;
    b->concurrency = concurrency < 1 ? 1
                     : concurrency > REPLAY_MAX_CONCURRENCY ? REPLAY_MAX_CONCURRENCY : concurrency;
    b->delay_ms = delay_ms > REPLAY_MAX_DELAY_MS ? REPLAY_MAX_DELAY_MS : delay_ms;
    b->replay_of = replay_of;
    b->composed = composed;
    b->done = done;
    b->done_arg = arg;
    b->ids = calloc(b->count, sizeof *b->ids);
    b->delay_timer = evtimer_new(r->base, on_delay, b);
    b->next = r->batches;
    r->batches = b;
    r->nbatches++;
    r->body_bytes += spec->body_len;
    if (!b->ids || !b->delay_timer) {
        snprintf(err, errlen, "out of memory");
        batch_free(b);
        return -1;
    }
    pump(b);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The sender */

struct replay *replay_new(struct event_base *base, struct replay_marks *marks,
                          const char *proxy_addrs, X509 *ca, char *err, size_t errlen)
{
    char first[128];
    size_t n = strcspn(proxy_addrs, ", ");
    snprintf(first, sizeof first, "%.*s", (int)(n < sizeof first ? n : sizeof first - 1),
             proxy_addrs);
    struct replay *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->base = base;
    r->marks = marks;
    r->proxy_len = (int)sizeof r->proxy;
    if (evutil_parse_sockaddr_port(first, (struct sockaddr *)&r->proxy, &r->proxy_len) < 0) {
        snprintf(err, errlen, "repeat: cannot tell where the proxy listens ('%s')", first);
        free(r);
        return NULL;
    }
    /* a listener on every address is reached on loopback */
    if (r->proxy.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&r->proxy;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY))
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (r->proxy.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r->proxy;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            in6->sin6_addr = in6addr_loopback;
    }
    if (!(r->ctx = SSL_CTX_new(TLS_client_method())) ||
        X509_STORE_add_cert(SSL_CTX_get_cert_store(r->ctx), ca) != 1) {
        snprintf(err, errlen, "repeat: cannot make its TLS context");
        SSL_CTX_free(r->ctx);
        free(r);
        return NULL;
    }
    SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL); /* httpeek's own leaf, as a client sees it */
    SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
    return r;
}

void replay_free(struct replay *r)
{
    if (!r)
        return;
    while (r->batches) {
        struct batch *b = r->batches;
        b->started = b->count; /* nothing more starts */
        while (b->conns)
            conn_free(b->conns);
        batch_end(b, "httpeek is shutting down");
    }
    SSL_CTX_free(r->ctx);
    free(r);
}
