/* conn.c — one client connection: reads requests with llhttp, routes each one (upstream over
 * plain HTTP or TLS, inside an intercepted tunnel, or httpeek's own setup pages), streams both
 * bodies with back-pressure, and turns every exchange into a flow. CONNECT is handed to
 * tunnel.c. See conn.h for the state machine.
 *
 * Callback discipline: parser callbacks only record facts and queue bytes; transitions happen in
 * advance() after the parser returned, so no parser is ever resumed or freed under itself, and
 * the connection itself is only freed from its timer (close_conn schedules it). */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include "budget.h"
#include "log.h"
#include "own.h"
#include "pool.h"
#include "record.h"
#include "setup.h"
#include "str.h"
#include "tls_client.h"
#include "tls_facts.h"
#include "tls_wbuf.h"
#include "uplink.h"
#include "upstream.h"

/* Seconds we keep flushing a final answer to a client that does not read it. */
#define CONN_FLUSH_TIMEOUT 10.0
/* Seconds an idle keep-alive connection keeps its TLS record buffers (two of ~17 KiB per leg)
 * before they are given back (SSL_free_buffers). A new connection's SSLs give them back after
 * every record (SSL_MODE_RELEASE_BUFFERS: a burst of handshakes, an app's one request, then idle);
 * from its second exchange on a connection is busy, and that cost four allocations and frees of
 * 17 KiB per request, ~6 % of the proxy's instructions: the mode is cleared (hold_tls_buffers) and
 * the buffers go back once the connection has been idle this long. */
#define CONN_BUFFER_HOLD 0.1

static const struct http1_handlers request_handlers;
static const struct http1_handlers response_handlers;
static void client_read(struct bufferevent *bev, void *arg);
static void client_write(struct bufferevent *bev, void *arg);
static void client_event(struct bufferevent *bev, short what, void *arg);
static void process_client_input(struct conn *c);
static void advance(struct conn *c);
static void arm_timer(struct conn *c);
static void close_conn(struct conn *c, int flush);
static void start_requests(struct conn *c);
static void upstream_read(struct bufferevent *bev, void *arg);
static void upstream_write(struct bufferevent *bev, void *arg);
static void upstream_event(struct bufferevent *bev, short what, void *arg);

const char *conn_state_name(enum conn_state s)
{
    static const char *const names[] = {"idle", "request_head", "connecting", "exchange",
                                        "tunnel_connecting", "tunnel_peek", "tunnel_up_tls",
                                        "tunnel_client_tls", "relay", "closing"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

static void set_state(struct conn *c, enum conn_state s, const char *why)
{
    if (log_enabled(LOG_DEBUG))
        log_msg(LOG_DEBUG, "conn %llu: %s -> %s (%s)", (unsigned long long)c->id,
                conn_state_name(c->state), conn_state_name(s), why);
    c->state = s;
    if (s == CONN_S_IDLE)
        c->tls_buffers_held = c->client.ssl || c->upstream.ssl;
    arm_timer(c);
}

static struct flow *new_flow(struct conn *c)
{
    struct proxy *p = c->proxy;
    /* numbered when recorded (record_done): a flow that is never recorded (a CONNECT that
     * became its requests, httpeek's own pages) must not leave a gap the user reads as lost */
    struct flow *f = flow_new(0, c->id, p->opts->max_body);
    if (!f)
        return NULL;
    str_copy(f->client_addr, sizeof f->client_addr, c->client_addr);
    f->client_port = c->client_port;
    f->req_body.budget = f->resp_body.budget = p->budget; /* past the share, bodies spill */
    return f;
}

static void record_done(struct conn *c, struct flow *f)
{
    record_flow(c->proxy, f);
}

/* ------------------------------------------------------------------------------------------ */
/* Lifetime */

static void conn_free(struct conn *c)
{
    if (c->flow) {
        if (!c->flow->fail.failed)
            flow_fail(c->flow, c->req_done ? FLOW_STAGE_WAIT : FLOW_STAGE_CLIENT_REQUEST, 0,
                      "connection closed before the exchange completed");
        record_done(c, c->flow);
        c->flow = NULL;
    }
    tunnel_end(&c->tun); /* records the tunnel flow if no request took it */
    if (c->connecting)
        upstream_cancel(c->connecting);
    leg_close(&c->client);
    leg_close(&c->upstream);
    tls_facts_clear(&c->client.tls);
    tls_facts_clear(&c->upstream.tls);
    if (c->client.parser_ready)
        http1_parser_free(&c->client.parser);
    if (c->upstream.parser_ready)
        http1_parser_free(&c->upstream.parser);
    if (c->pending_up)
        evbuffer_free(c->pending_up);
    if (c->timer)
        event_free(c->timer);
    if (c->hold_ev)
        event_free(c->hold_ev);
    if (c->prev)
        c->prev->next = c->next;
    else if (c->registry)
        *c->registry = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(&c->proxy->live_conns, 1);
    if (c->proxy->budget)
        budget_conn_close(c->proxy->budget);
    if (c->proxy->client_slots)
        client_slots_give(c->proxy->client_slots, c->client_addr);
    log_msg(LOG_DEBUG, "conn %llu: freed", (unsigned long long)c->id);
    free(c);
}

/* Whether nothing is left to write to the leg: its output and its gathered TLS records. */
static int leg_flushed(struct leg *l)
{
    struct evbuffer *o = leg_output(l);
    return (!o || evbuffer_get_length(o) == 0) && tls_wbuf_pending(l->ssl) == 0;
}

static int outputs_flushed(struct conn *c)
{
    return leg_flushed(&c->client) && leg_flushed(&c->upstream);
}

static void closing_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    tls_wbuf_flush(leg->ssl);
    if (outputs_flushed(c))
        event_active(c->timer, EV_TIMEOUT, 0);
}

static void closing_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    struct leg *leg = arg;
    event_active(leg->conn->timer, EV_TIMEOUT, 0); /* peer gone: nothing left to flush to it */
}

/* The client connection ends: keep its upstream TLS connection for the next tunnel to the same
 * server when it is clean — verified, its last exchange complete, nothing buffered either way. */
static void pool_upstream(struct conn *c)
{
    struct leg *u = &c->upstream;
    int between_exchanges = c->state == CONN_S_IDLE || c->state == CONN_S_REQUEST_HEAD ||
                            (c->state == CONN_S_EXCHANGE && c->req_done && c->resp_done);
    if (!c->pool || !c->tun.intercepted || !u->bev || !u->ssl || !c->upstream_reusable || c->flow ||
        !between_exchanges || !c->up_tls || c->up_port != c->tun.port ||
        !u->tls.handshake_done || u->tls.verify_result != X509_V_OK || c->tun.mirror_untrusted ||
        c->tun.error[0] || u->paused_by_peer ||
        evbuffer_get_length(bufferevent_get_output(u->bev)) ||
        evbuffer_get_length(bufferevent_get_input(u->bev)))
        return;
    struct pool_conn pc = {.bev = u->bev, .ssl = u->ssl};
    tls_facts_move(&pc.tls, &u->tls);
    str_copy(pc.server_ip, sizeof pc.server_ip, c->up_server_ip);
    u->bev = NULL;
    u->ssl = NULL;
    pool_put(c->pool, c->client_addr, c->tun.host, c->tun.port, c->up_host, &pc);
}

static void close_conn(struct conn *c, int flush)
{
    if (c->state != CONN_S_CLOSING)
        pool_upstream(c);
    if (c->state == CONN_S_CLOSING && !flush) {
        event_active(c->timer, EV_TIMEOUT, 0);
        return;
    }
    if (c->connecting) {
        upstream_cancel(c->connecting);
        c->connecting = NULL;
    }
    tunnel_cleanup(&c->tun);
    c->state = CONN_S_CLOSING;
    struct leg *legs[2] = {&c->client, &c->upstream};
    for (int i = 0; i < 2; i++) {
        struct leg *l = legs[i];
        if (!l->bev)
            continue;
        tls_wbuf_flush(l->ssl); /* what the socket takes now; the rest waits for it */
        if (flush && !leg_flushed(l)) {
            bufferevent_disable(l->bev, EV_READ);
            bufferevent_setwatermark(l->bev, EV_WRITE, 0, 0);
            bufferevent_setcb(l->bev, NULL, closing_write, closing_event, l);
            bufferevent_enable(l->bev, EV_WRITE);
        } else {
            leg_close(l);
        }
    }
    if (outputs_flushed(c)) {
        event_active(c->timer, EV_TIMEOUT, 0);
    } else {
        struct timeval tv = {(time_t)CONN_FLUSH_TIMEOUT, 0};
        evtimer_add(c->timer, &tv);
    }
}

static void fail_client(struct conn *c, struct flow *f, int status, const char *reason)
{
    if (f) {
        f->fail.status_sent = status;
        if (!f->fail.failed)
            flow_fail(f, FLOW_STAGE_NONE, 0, "%s", reason);
        if (f == c->flow)
            c->flow = NULL;
        if (f == c->tun.flow)
            c->tun.flow = NULL;
        tls_facts_get(&c->client.tls, &f->tls_client);
        tls_facts_get(&c->upstream.tls, &f->tls_upstream);
    }
    struct evbuffer *out = leg_output(&c->client);
    if (out) {
        char body[512];
        int n = snprintf(body, sizeof body, "httpeek: %s\n", reason);
        if (n < 0 || (size_t)n >= sizeof body)
            n = (int)sizeof body - 1;
        http1_write_simple_response(out, status, http1_reason(status), NULL, body, (size_t)n, 1);
        bufferevent_enable(c->client.bev, EV_WRITE);
    }
    if (f) {
        log_msg(LOG_DEBUG, "conn %llu %s: %d %s", (unsigned long long)c->id, f->host, status, reason);
        record_done(c, f);
    }
    leg_close(&c->upstream);
    close_conn(c, 1);
}

/* httpeek answers the request in flow f itself (enum flow_refusal why): fail_client, with
 * the facts the diagnosis needs (where the client reached httpeek, for its advice). */
static void refuse(struct conn *c, struct flow *f, int status, enum flow_refusal why,
                   const char *reason)
{
    if (f) {
        f->fail.refusal = why;
        own_local_address(c->client.bev ? bufferevent_getfd(c->client.bev) : -1, f->proxy_addr,
                          sizeof f->proxy_addr, NULL);
    }
    fail_client(c, f, status, reason);
}

/* ------------------------------------------------------------------------------------------ */
/* Deadlines: one timer per connection, meaning what the state says. */

static double state_timeout(struct conn *c, int *lazy_idle)
{
    const struct opts *o = c->proxy->opts;
    *lazy_idle = 0;
    switch (c->state) {
    case CONN_S_IDLE:
        return c->tls_buffers_held && o->idle_timeout > CONN_BUFFER_HOLD ? CONN_BUFFER_HOLD
                                                                         : o->idle_timeout;
    case CONN_S_REQUEST_HEAD: return o->header_timeout;
    case CONN_S_CONNECTING: return c->connecting ? 0 : o->upstream_timeout; /* TLS phase */
    case CONN_S_EXCHANGE:
        if (c->req_done && c->flow && !c->flow->marks.first_byte)
            return o->upstream_timeout; /* first response byte */
        *lazy_idle = 1;
        return o->idle_timeout;
    case CONN_S_TUNNEL_CONNECTING: return 0; /* upstream.c bounds it */
    case CONN_S_TUNNEL_PEEK: return o->header_timeout;
    case CONN_S_TUNNEL_UP_TLS: return o->upstream_timeout;
    case CONN_S_TUNNEL_CLIENT_TLS: return o->header_timeout;
    case CONN_S_RELAY: *lazy_idle = 1; return o->idle_timeout;
    case CONN_S_CLOSING: return CONN_FLUSH_TIMEOUT;
    }
    return 0;
}

static void add_timer(struct conn *c, double secs)
{
    struct timeval tv = {(time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6)};
    evtimer_add(c->timer, &tv);
}

static void arm_timer(struct conn *c)
{
    int lazy;
    double t = state_timeout(c, &lazy);
    if (t > 0)
        add_timer(c, t);
    else
        evtimer_del(c->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (c->state == CONN_S_CLOSING) {
        conn_free(c);
        return;
    }
    int lazy;
    double t = state_timeout(c, &lazy);
    if (lazy) {
        /* Idle deadlines move with activity; re-arming per byte would cost a syscall-free but
         * non-trivial heap operation each read, so check lazily here. */
        double idle = (double)(flow_now_us() - c->last_activity) / 1e6;
        if (idle < t) {
            add_timer(c, t - idle);
            return;
        }
    }
    struct flow *f = c->flow;
    switch (c->state) {
    case CONN_S_IDLE:
        if (c->tls_buffers_held && t < c->proxy->opts->idle_timeout) {
            int freed = leg_release_buffers(&c->client);
            freed &= leg_release_buffers(&c->upstream);
            c->tls_buffers_held = !freed; /* a record still buffered: try again after a hold */
            add_timer(c, freed ? c->proxy->opts->idle_timeout - t : t);
            return;
        }
        close_conn(c, 0);
        return;
    case CONN_S_REQUEST_HEAD: {
        struct flow *hf = new_flow(c);
        if (hf) {
            const char *target = http1_parser_target(&c->client.parser); /* as far as it came */
            char url[300];
            snprintf(url, sizeof url, "%.200s%s", target && target[0] ? target : "-",
                     target && strlen(target) > 200 ? "..." : "");
            flow_set_url(hf, url);
            hf->fail.timeout = 1;
            flow_fail(hf, FLOW_STAGE_CLIENT_REQUEST, ETIMEDOUT,
                      "request head not received within %gs (--header-timeout)", t);
        }
        char why[96];
        snprintf(why, sizeof why, "request head not received within %gs", t);
        refuse(c, hf, 408, FLOW_REFUSED_HEADER_TIMEOUT, why);
        return;
    }
    case CONN_S_CONNECTING:
    case CONN_S_EXCHANGE: {
        char why[160];
        if (!f) {
            close_conn(c, 0);
            return;
        }
        f->fail.timeout = 1;
        if (c->state == CONN_S_CONNECTING) {
            snprintf(why, sizeof why, "TLS handshake with %s:%d not done within %gs", c->up_host,
                     c->up_port, t);
            flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, ETIMEDOUT, "tls: %s", why);
        } else if (!f->marks.first_byte && c->req_done) {
            snprintf(why, sizeof why, "%s:%d sent no response within %gs", c->up_host, c->up_port, t);
            flow_fail(f, FLOW_STAGE_WAIT, ETIMEDOUT, "%s", why);
        } else {
            snprintf(why, sizeof why, "no data either way for %gs", t);
            flow_fail(f, c->req_done ? FLOW_STAGE_RECEIVE : FLOW_STAGE_SEND, ETIMEDOUT, "%s", why);
        }
        if (!c->resp_started) {
            fail_client(c, f, 504, why);
        } else {
            c->flow = NULL;
            record_done(c, f);
            close_conn(c, 0);
        }
        return;
    }
    case CONN_S_RELAY:
        if (c->tun.flow)
            snprintf(c->tun.flow->note, sizeof c->tun.flow->note, "closed after %gs idle", t);
        close_conn(c, 1);
        return;
    default:
        tunnel_timed_out(&c->tun, t);
        close_conn(c, 0);
        return;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Accept */

/* A request parser for the client leg, with the request size limits of the options. */
static void client_parser_init(struct conn *c)
{
    const struct opts *o = c->proxy->opts;
    http1_parser_init(&c->client.parser, 1, &request_handlers, &c->client);
    struct http1_limits lim = {o->max_request_line, o->max_header_line, o->max_header_bytes,
                               o->max_headers};
    http1_parser_set_limits(&c->client.parser, &lim);
}

void conn_close_idle(struct conn **registry)
{
    for (struct conn *c = *registry; c; c = c->next)
        if (c->state == CONN_S_IDLE)
            close_conn(c, 0);
}

void conn_free_all(struct conn **registry)
{
    while (*registry) {
        struct conn *c = *registry;
        if (c->flow && !c->flow->fail.failed)
            flow_fail(c->flow, c->req_done ? FLOW_STAGE_WAIT : FLOW_STAGE_CLIENT_REQUEST, 0,
                      "httpeek was shut down during the exchange");
        conn_free(c); /* unlinks itself */
    }
}

/* ---- what a tunnel (tunnel.h) and the relay (relay.h) tell this connection ---- */

static void relay_ended(void *arg)
{
    close_conn(arg, 1);
}

/* Bytes both ways untouched from now on, counted into the legs (and c->tun.flow, if any). */
static void start_relay(struct conn *c)
{
    set_state(c, CONN_S_RELAY, "relaying");
    relay_start(&c->relay, &c->client, &c->upstream, &c->tun.flow, &c->last_activity, relay_ended, c);
}

static void tunnel_phase(void *arg, enum tunnel_phase p, const char *why)
{
    static const enum conn_state state[] = {
        [TUNNEL_IDLE] = CONN_S_IDLE, [TUNNEL_CONNECTING] = CONN_S_TUNNEL_CONNECTING,
        [TUNNEL_PEEK] = CONN_S_TUNNEL_PEEK, [TUNNEL_UP_TLS] = CONN_S_TUNNEL_UP_TLS,
        [TUNNEL_CLIENT_TLS] = CONN_S_TUNNEL_CLIENT_TLS};
    set_state(arg, state[p], why);
}

static void tunnel_close(void *arg, int flush)
{
    close_conn(arg, flush);
}

static void tunnel_fail(void *arg, struct flow *f, int status, const char *reason)
{
    fail_client(arg, f, status, reason);
}

static void tunnel_handed(void *arg)
{
    struct conn *c = arg;
    if (c->tun.up_name[0]) { /* the upstream leg the tunnel made (or tried to) */
        str_copy(c->up_host, sizeof c->up_host, c->tun.up_name);
        c->up_port = c->tun.port;
        c->up_tls = 1;
        c->up_exchanges = c->tun.up_pooled;
    }
    str_copy(c->up_server_ip, sizeof c->up_server_ip, c->tun.server_ip);
    start_requests(c);
}

static void tunnel_opaque(void *arg)
{
    start_relay(arg);
}

static const struct tunnel_ops tunnel_ops = {tunnel_phase, tunnel_close, tunnel_fail,
                                             tunnel_handed, tunnel_opaque};

void conn_accept(struct proxy *proxy, struct event_base *base, struct resolver *dns,
                 struct pool *pool, struct conn **registry, int fd, const struct sockaddr *addr,
                 socklen_t addrlen)
{
    (void)addrlen;
    struct conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = NULL;
    if (!c || !(c->timer = evtimer_new(base, on_timer, c)) ||
        !(bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS))) {
        log_msg(LOG_ERROR, "out of memory accepting a connection");
        char client[64];
        int port;
        own_client_address(addr, client, sizeof client, &port);
        if (proxy->client_slots) /* worker.c counted it */
            client_slots_give(proxy->client_slots, client);
        if (c && c->timer)
            event_free(c->timer);
        free(c);
        close(fd);
        return;
    }
    c->id = atomic_fetch_add(&proxy->next_conn_id, 1) + 1;
    c->registry = registry;
    c->next = *registry;
    if (c->next)
        c->next->prev = c;
    *registry = c;
    c->proxy = proxy;
    c->base = base;
    c->dns = dns;
    c->pool = pool;
    c->client.conn = c;
    c->client.is_client = 1;
    c->upstream.conn = c;
    c->upstream.fd = -1;
    c->last_activity = flow_now_us();
    atomic_fetch_add(&proxy->live_conns, 1);
    c->client.budget = c->upstream.budget = proxy->budget;
    if (proxy->budget)
        budget_conn_open(proxy->budget);
    own_client_address(addr, c->client_addr, sizeof c->client_addr, &c->client_port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tunnel_init(&c->tun, &tunnel_ops, c, c->id, proxy, base, dns, pool, &c->client, &c->upstream,
                c->client_addr, &c->last_activity);
    client_parser_init(c);
    c->client.parser_ready = 1;
    /* clients outside --allow-client never get here: worker.c refuses them at accept */
    leg_attach(&c->client, bev, NULL, client_read, client_write, client_event);
    set_state(c, CONN_S_IDLE, "accepted");
}

/* The tunnel's client TLS handshake completed: read requests inside it. */
static void start_requests(struct conn *c)
{
    if (c->client.parser_ready)
        http1_parser_free(&c->client.parser);
    client_parser_init(c);
    c->client.parser_ready = 1;
    bufferevent_setcb(c->client.bev, client_read, client_write, client_event, &c->client);
    if (c->client.ssl)
        tls_wbuf_bind(c->client.ssl, c->client.bev); /* client_write flushes it */
    bufferevent_setwatermark(c->client.bev, EV_READ, 0, LEG_INBUF_MAX);
    bufferevent_enable(c->client.bev, EV_READ | EV_WRITE);
    leg_read_enabled(c->client.bev);
    if (c->upstream.bev) {
        if (c->upstream.parser_ready)
            http1_parser_free(&c->upstream.parser);
        http1_parser_init(&c->upstream.parser, 0, &response_handlers, &c->upstream);
        c->upstream.parser_ready = 1;
        bufferevent_setcb(c->upstream.bev, upstream_read, upstream_write,
                          upstream_event, &c->upstream);
        bufferevent_setwatermark(c->upstream.bev, EV_READ, 0, LEG_INBUF_MAX);
        bufferevent_enable(c->upstream.bev, EV_READ | EV_WRITE);
        leg_read_enabled(c->upstream.bev);
        c->upstream_reusable = 1;
    }
    set_state(c, CONN_S_IDLE, "tunnel intercepted");
    if (evbuffer_get_length(bufferevent_get_input(c->client.bev)) > 0)
        process_client_input(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Routing a request */

/* Split "scheme://authority/path" into its parts; returns 0 or -1 when malformed. */
static int parse_absolute(const char *target, char *scheme, size_t slen, char *host, size_t hlen,
                          int *port, const char **path)
{
    const char *sep = strstr(target, "://");
    if (!sep || (size_t)(sep - target) >= slen || sep == target)
        return -1;
    memcpy(scheme, target, (size_t)(sep - target));
    scheme[sep - target] = '\0';
    for (char *s = scheme; *s; s++)
        *s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    *path = auth[alen] ? auth + alen : "/";
    if (alen == 0 || memchr(auth, '@', alen)) /* no userinfo through a proxy */
        return -1;
    char authority[300];
    if (alen >= sizeof authority)
        return -1;
    memcpy(authority, auth, alen);
    authority[alen] = '\0';
    int def = !strcmp(scheme, "https") ? 443 : 80;
    return opts_split_hostport(authority, host, hlen, port, def);
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

/* "host" or "[v6]" plus ":port" unless it is the scheme's default. */
static void format_authority(char *out, size_t len, const char *host, int port, int tls)
{
    int v6 = strchr(host, ':') != NULL;
    size_t n = 0;
    out[0] = '\0';
    str_append(out, len, &n, v6 ? "[" : "");
    str_append(out, len, &n, host);
    str_append(out, len, &n, v6 ? "]" : "");
    if (port != (tls ? 443 : 80)) {
        str_append(out, len, &n, ":");
        str_append_uint(out, len, &n, (uint64_t)(unsigned)port);
    }
}

static void on_upstream_connected(const struct upstream_result *r, void *arg);

/* "ip:port" of the proxy as this client reached it (for the setup page's links and PAC). */
static void local_address(struct conn *c, char *out, size_t len)
{
    own_local_address(c->client.bev ? bufferevent_getfd(c->client.bev) : -1, out, len, NULL);
    if (!out[0])
        snprintf(out, len, "127.0.0.1:8080");
}

/* Queue the request head towards upstream (now or once connected). */
static int send_request_head(struct conn *c, const char *path, const char *host_field)
{
    struct flow *f = c->flow;
    struct evbuffer *out = c->upstream.bev && !c->connecting && c->state != CONN_S_CONNECTING
                               ? leg_output(&c->upstream) : c->pending_up;
    unsigned flags = c->upgrade_requested ? HTTP1_KEEP_UPGRADE : 0;
    /* a small request body (an app's JSON POST) goes out with its head: one record, one write */
    if (c->req_out == HTTP1_LENGTH && f->req->framing == HTTP1_LENGTH &&
        f->req->content_length <= LEG_COALESCE_MAX && evbuffer_get_length(out) == 0)
        evbuffer_expand(out, f->req->wire_size + 64 + (size_t)f->req->content_length);
    if (http1_write_request_head(out, f->req, path, host_field, c->req_out, flags) < 0)
        return -1;
    if (out != c->pending_up)
        f->marks.send_start = flow_now_us();
    return 0;
}

/* Make sure an upstream connection to host:port(tls) is there or coming. */
static int ensure_upstream(struct conn *c, const char *host, int port, int tls)
{
    struct flow *f = c->flow;
    if (c->upstream.bev && c->upstream_reusable && c->up_port == port && c->up_tls == tls &&
        !strcasecmp(c->up_host, host)) {
        /* a tunnel's own upstream carries its first request fresh: only an earlier exchange
         * (or the pool) makes it reused */
        f->reused_upstream = c->up_exchanges > 0;
        str_copy(f->server_ip, sizeof f->server_ip, c->up_server_ip);
        http1_parser_resume(&c->upstream.parser); /* it paused at the end of the last response */
        set_state(c, CONN_S_EXCHANGE, "upstream reused");
        return 0;
    }
    leg_close(&c->upstream);
    str_copy(c->up_host, sizeof c->up_host, host);
    c->up_port = port;
    c->up_exchanges = 0;
    c->up_tls = tls;
    tls_facts_clear(&c->upstream.tls);
    if (!c->pending_up && !(c->pending_up = evbuffer_new()))
        return -1;
    c->connecting = upstream_connect(c->base, c->dns, host, port, c->proxy->opts->upstream_timeout,
                                     on_upstream_connected, c);
    if (!c->connecting)
        return -1;
    set_state(c, CONN_S_CONNECTING, "connecting upstream");
    return 0;
}

/* An origin-form request whose Host is not httpeek: answer 400 saying how to set the proxy,
 * record it (-1002) and return 1; 0 when it is for httpeek's own pages. */
static int not_for_a_proxy(struct conn *c, struct flow *f)
{
    char why[400];
    if (!own_not_for_a_proxy(f, c->client.bev ? bufferevent_getfd(c->client.bev) : -1, why,
                             sizeof why))
        return 0;
    refuse(c, f, 400, FLOW_REFUSED_NOT_PROXY, why);
    return 1;
}

/* Decide where the request in c->flow goes and queue its head. Returns 0, or -1 after having
 * answered the client itself (error or local page). */
static int route_request(struct conn *c)
{
    struct flow *f = c->flow;
    struct http1_head *req = f->req;
    const char *target = req->target;
    const char *path = target;
    char scheme[16] = "http", host[256] = "", authority[300];
    int port = 80;
    const char *host_field = NULL;

    if (c->tun.intercepted) {
        if (!strcmp(c->tun.host, SETUP_HOST))
            return 1; /* https://httpeek.test/: the setup site over TLS */
        str_copy(scheme, sizeof scheme, "https");
        str_copy(host, sizeof host, c->tun.sni[0] ? c->tun.sni : c->tun.host);
        port = c->tun.port;
        if (target[0] != '/' && !(req->method == HTTP_OPTIONS && !strcmp(target, "*"))) {
            char s2[16], h2[256];
            int p2;
            if (parse_absolute(target, s2, sizeof s2, h2, sizeof h2, &p2, &path) < 0) {
                flow_set_url(f, target);
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "malformed request-target '%.100s'", target);
                refuse(c, f, 400, FLOW_REFUSED_BAD_TARGET, "malformed request target in the tunnel");
                return -1;
            }
        }
        format_authority(authority, sizeof authority, host, port, 1);
        if (!http1_head_get(req, "host"))
            host_field = authority;
    } else if (target[0] == '/' || (req->method == HTTP_OPTIONS && !strcmp(target, "*"))) {
        /* Not a proxy request: someone opened http://PROXY:PORT/ (the phone set-up path), or a
         * client with no proxy set was sent here for another server. */
        return not_for_a_proxy(c, f) ? -1 : 1;
    } else {
        if (parse_absolute(target, scheme, sizeof scheme, host, sizeof host, &port, &path) < 0) {
            flow_set_url(f, target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "malformed request-target '%.100s'", target);
            refuse(c, f, 400, FLOW_REFUSED_BAD_TARGET,
                   "malformed request target: a proxy request needs an absolute http:// or "
                   "https:// URL with a host");
            return -1;
        }
        if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
            flow_set_url(f, target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "unsupported URL scheme '%s'", scheme);
            char why[96];
            snprintf(why, sizeof why, "unsupported URL scheme '%.20s' (only http and https)", scheme);
            refuse(c, f, 400, FLOW_REFUSED_UNSUPPORTED, why);
            return -1;
        }
        lowercase(host);
        if (!strcmp(host, SETUP_HOST))
            return 1;
        format_authority(authority, sizeof authority, host, port, !strcmp(scheme, "https"));
        host_field = authority;
    }
    lowercase(host);
    str_copy(f->scheme, sizeof f->scheme, scheme);
    str_copy(f->host, sizeof f->host, host);
    f->port = port;
    char url[8192];
    size_t url_len = 0;
    url[0] = '\0';
    str_append(url, sizeof url, &url_len, scheme);
    str_append(url, sizeof url, &url_len, "://");
    str_append(url, sizeof url, &url_len, authority);
    str_append(url, sizeof url, &url_len, path[0] == '*' ? "" : path);
    flow_set_url(f, url);

    if (c->tun.intercepted && c->tun.error[0]) {
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, 0, "%s", c->tun.error);
        tls_facts_get(&c->upstream.tls, &f->tls_upstream);
        fail_client(c, f, 502, c->tun.error);
        return -1;
    }
    if (ensure_upstream(c, host, port, !strcmp(scheme, "https")) < 0 ||
        send_request_head(c, path, host_field) < 0) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        fail_client(c, f, 500, "out of memory");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Request parser callbacks (client leg) */

/* A connection on its second exchange or later keeps its TLS record buffers between records
 * (see CONN_BUFFER_HOLD). */
static void hold_tls_buffers(struct conn *c)
{
    if (c->client.ssl)
        SSL_clear_mode(c->client.ssl, SSL_MODE_RELEASE_BUFFERS);
    if (c->upstream.ssl)
        SSL_clear_mode(c->upstream.ssl, SSL_MODE_RELEASE_BUFFERS);
}

static int on_req_head(void *arg, struct http1_head *head)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    struct flow *f = c->flow = new_flow(c);
    if (!f || !(f->req = http1_head_take(head)))
        return -1;
    if (c->head_started) /* the head began arriving before it was complete */
        f->marks.start = c->head_started;
    c->head_started = 0;
    c->req_done = c->resp_started = c->resp_done = c->local_request = 0;
    c->retried = 0;
    c->client_keep_alive = f->req->keep_alive;
    c->head_request = f->req->method == HTTP_HEAD;
    c->req_out = f->req->framing;
    c->upgrade_requested = f->req->upgrade && f->req->method != HTTP_CONNECT;
    if (c->exchanges)
        hold_tls_buffers(c);
    if (c->tun.intercepted) {
        if (!c->tun.requests++) {
            if (!c->tun.mirror_untrusted) /* a client taking our mirror of a bad server proves nothing */
                rules_client_accepted(c->proxy->rules, c->client_addr,
                                      c->tun.sni[0] ? c->tun.sni : c->tun.host);
        }
        /* The tunnel's connect and TLS timings belong to its first request (as HAR does). */
        tunnel_take_flow(&c->tun, f);
    }
    if (f->req->method == HTTP_CONNECT) {
        if (c->tun.intercepted) {
            flow_set_url(f, f->req->target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "CONNECT inside an intercepted tunnel");
            refuse(c, f, 400, FLOW_REFUSED_UNSUPPORTED,
                   "CONNECT inside an intercepted tunnel is not supported");
            return -1;
        }
        f->kind = FLOW_TUNNEL;
        flow_set_url(f, f->req->target);
        return 0; /* handled when the parser stops at the upgrade */
    }
    int r = route_request(c);
    if (r < 0)
        return -1;
    if (r == 0) {
        clients_request(c->proxy->clients, c->client_addr, http1_head_get(f->req, "user-agent"),
                        c->tun.intercepted && !c->tun.mirror_untrusted);
        if (!c->tun.intercepted)
            clients_note(c->proxy->clients, c->client_addr, CLIENT_PROXIED);
    }
    if (r == 1) { /* httpeek's own pages: answer now, the flow is not recorded */
        c->resp_started = c->resp_done = c->local_request = 1;
        char self[300];
        local_address(c, self, sizeof self);
        const char *path = f->req->target;
        if (path[0] != '/') { /* http://httpeek.test/... through the proxy */
            char s2[16], h2[256];
            int p2;
            if (parse_absolute(f->req->target, s2, sizeof s2, h2, sizeof h2, &p2, &path) < 0)
                path = "/";
        }
        struct client_summary seen;
        clients_get(c->proxy->clients, c->client_addr, &seen);
        struct setup_client who = {.proxy_hostport = self,
                                   .via_proxy = c->tun.intercepted || f->req->target[0] != '/',
                                   .via_tls = c->tun.intercepted, .proxied = seen.proxied,
                                   .tls_trusted = seen.tls_trusted, .tls_refused = seen.tls_refused,
                                   .reach = &c->proxy->reach};
        if (setup_is_ca_download(path))
            clients_note(c->proxy->clients, c->client_addr, CLIENT_CA_DOWNLOADED);
        struct evbuffer *out = leg_output(&c->client);
        size_t before = evbuffer_get_length(out);
        int status = setup_respond(out, path, c->head_request, c->proxy->ca, &who,
                                   !c->client_keep_alive);
        /* recorded (2) when the page does not exist or with --record-own, else dropped (1) */
        c->local_request = own_page_flow(f, c->proxy->opts->record_own,
                                         bufferevent_getfd(c->client.bev), c->tun.intercepted, path,
                                         status, out, before, c->head_request) ? 2 : 1;
        c->req_out = HTTP1_NO_BODY;
        c->upgrade_requested = 0;
    }
    return 0;
}

static void queue_up(struct conn *c, const char *data, size_t len, int end)
{
    if (c->local_request)
        return; /* a local page's request body is read and dropped */
    struct evbuffer *out = c->pending_up && (c->connecting || c->state == CONN_S_CONNECTING)
                               ? c->pending_up : leg_output(&c->upstream);
    if (!out)
        return;
    if (end)
        http1_write_end(out, c->req_out);
    else
        http1_write_body(out, c->req_out, data, len);
    if (out == c->pending_up) {
        if (evbuffer_get_length(out) >= LEG_OUTBUF_MAX) { /* resumed in flush_pending */
            bufferevent_disable(c->client.bev, EV_READ);
            c->client.paused_by_peer = 1;
        }
    } else {
        leg_throttle(&c->client, &c->upstream);
    }
}

static int on_req_body(void *arg, const char *data, size_t len)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    flow_capture_add(&c->flow->req_body, data, len);
    queue_up(c, data, len, 0);
    return 0;
}

static int on_req_done(void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    c->req_done = 1;
    if (c->flow->req->method == HTTP_CONNECT || c->upgrade_requested)
        return 1; /* llhttp stops at the upgrade by itself */
    queue_up(c, NULL, 0, 1);
    if (!c->connecting && c->state != CONN_S_CONNECTING)
        c->flow->marks.send_end = flow_now_us();
    arm_timer(c); /* now waiting for the first response byte */
    return 0;     /* pause: a pipelined request waits for this exchange */
}

static const struct http1_handlers request_handlers = {on_req_head, on_req_body, on_req_done};

/* ------------------------------------------------------------------------------------------ */
/* Response parser callbacks (upstream leg) */

static int on_resp_head(void *arg, struct http1_head *head)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    struct flow *f = c->flow;
    struct evbuffer *out = leg_output(&c->client);
    if (!f || !out)
        return -1;
    if (head->status >= 100 && head->status < 200 && head->status != 101) {
        /* Interim response (100 Continue, 103 Early Hints): pass it on, wait for the final one. */
        http1_write_response_head(out, head, HTTP1_NO_BODY, 0);
        return 0;
    }
    if (head->status == 101 && !c->upgrade_requested)
        return -1;
    if (f->resp) /* a second final response to one request: the upstream is out of step */
        return -1;
    if (!(f->resp = http1_head_take(head)))
        return -1;
    struct http1_head *resp = f->resp;
    struct http1_head *req = f->req;
    int client_11 = req->major == 1 && req->minor >= 1;
    unsigned flags = 0;
    if (resp->status == 101) {
        c->resp_out = HTTP1_NO_BODY;
        flags = HTTP1_KEEP_UPGRADE;
    } else if (c->head_request) {
        c->resp_out = resp->framing; /* Content-Length of a HEAD answer passes unchanged */
    } else if (resp->framing == HTTP1_UNTIL_EOF) {
        /* Re-frame as chunked so an HTTP/1.1 client keeps its connection (RFC 9112 §6.3). */
        c->resp_out = client_11 ? HTTP1_CHUNKED : HTTP1_UNTIL_EOF;
    } else if (resp->framing == HTTP1_CHUNKED && !client_11) {
        c->resp_out = HTTP1_UNTIL_EOF; /* HTTP/1.0 clients do not know chunked */
    } else {
        c->resp_out = resp->framing;
    }
    if (c->resp_out == HTTP1_UNTIL_EOF || !c->req_done)
        c->client_keep_alive = 0;
    c->upstream_reusable = resp->keep_alive && resp->framing != HTTP1_UNTIL_EOF && resp->status != 101;
    if (resp->status != 101) {
        if (!c->client_keep_alive)
            flags |= HTTP1_CLOSE;
        else if (!client_11)
            flags |= HTTP1_KEEP_ALIVE;
    }
    if (!c->proxy->opts->keep_alt_svc && http1_head_get(resp, "alt-svc")) {
        /* QUIC goes around the proxy: an app that learns of h3 stops showing up here */
        flags |= HTTP1_STRIP_ALT_SVC;
        if (!c->flow->note[0])
            snprintf(c->flow->note, sizeof c->flow->note,
                     "Alt-Svc removed so the app stays on this proxy instead of HTTP/3 "
                     "(--strip-alt-svc=no keeps it)");
    }
    /* A small response goes to the client as one TLS record and one write: room for the head
     * and the whole body in one chain (evbuffer_add would start a second chain for the body, and
     * the TLS bufferevent writes each chain as its own record and syscall). */
    if (c->resp_out == HTTP1_LENGTH && resp->framing == HTTP1_LENGTH && !c->head_request &&
        resp->content_length <= LEG_COALESCE_MAX && evbuffer_get_length(out) == 0)
        evbuffer_expand(out, resp->wire_size + 64 + (size_t)resp->content_length);
    if (http1_write_response_head(out, resp, c->resp_out, flags) < 0)
        return -1;
    c->resp_started = 1;
    return c->head_request ? 1 : 0;
}

static int on_resp_body(void *arg, const char *data, size_t len)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    flow_capture_add(&c->flow->resp_body, data, len);
    if (http1_write_body(leg_output(&c->client), c->resp_out, data, len) < 0)
        return -1;
    leg_throttle(&c->upstream, &c->client);
    return 0;
}

static int on_resp_done(void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    if (!c->flow || !c->flow->resp)
        return 1; /* an interim response ended: the final one follows */
    if (c->local_request)
        return 1;
    if (c->head_request) {
        /* nothing to write */
    } else if (c->resp_out != HTTP1_UNTIL_EOF) {
        http1_write_end(leg_output(&c->client), c->resp_out);
    }
    c->resp_done = 1;
    c->flow->marks.end = flow_now_us();
    return c->flow->resp->status == 101 ? 1 : 0;
}

static const struct http1_handlers response_handlers = {on_resp_head, on_resp_body, on_resp_done};

/* ------------------------------------------------------------------------------------------ */
/* Upstream connection */

static void flush_pending(struct conn *c)
{
    struct flow *f = c->flow;
    if (c->pending_up && evbuffer_get_length(c->pending_up) > 0) {
        evbuffer_add_buffer(leg_output(&c->upstream), c->pending_up);
        if (f) {
            f->marks.send_start = flow_now_us();
            if (c->req_done)
                f->marks.send_end = f->marks.send_start;
        }
    }
    set_state(c, CONN_S_EXCHANGE, "upstream ready");
    if (c->client.paused_by_peer) {
        c->client.paused_by_peer = 0;
        bufferevent_enable(c->client.bev, EV_READ);
        leg_read_enabled(c->client.bev);
    }
    if (!c->req_done && evbuffer_get_length(bufferevent_get_input(c->client.bev)) > 0)
        process_client_input(c);
}

/* The connect result into flow f; when it failed answer the client with 502/504 naming
 * host:port and return -1 (c is closing); 0 when the socket is ready. */
static int take_connect_result(struct conn *c, struct flow *f, const struct upstream_result *r,
                              const char *host, int port)
{
    str_copy(c->up_server_ip, sizeof c->up_server_ip, r->addr);
    if (uplink_record_connect(f, r) == 0)
        return 0;
    char why[320];
    snprintf(why, sizeof why, "cannot reach %s:%d: %s", host, port, r->reason);
    fail_client(c, f, r->timeout ? 504 : 502, why);
    return -1;
}

static void on_upstream_connected(const struct upstream_result *r, void *arg)
{
    struct conn *c = arg;
    struct flow *f = c->flow;
    c->connecting = NULL;
    if (!f) { /* client went away meanwhile */
        if (r->fd >= 0)
            close(r->fd);
        close_conn(c, 0);
        return;
    }
    if (take_connect_result(c, f, r, c->up_host, c->up_port) < 0)
        return;
    struct bufferevent *bev;
    SSL *ssl = NULL;
    if (c->up_tls) {
        ssl = tls_client_ssl_new(c->proxy->tls_client, c->up_host, c->up_port, r->addr);
        if (ssl)
            tls_facts_attach(ssl, &c->upstream.tls);
        bev = ssl ? bufferevent_openssl_socket_new(c->base, r->fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                  : NULL;
        if (bev)
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        else if (ssl)
            SSL_free(ssl);
    } else {
        bev = bufferevent_socket_new(c->base, r->fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!bev) {
        close(r->fd);
        flow_fail(f, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        fail_client(c, f, 500, "out of memory");
        return;
    }
    if (c->upstream.parser_ready)
        http1_parser_free(&c->upstream.parser);
    http1_parser_init(&c->upstream.parser, 0, &response_handlers, &c->upstream);
    c->upstream.parser_ready = 1;
    c->upstream_reusable = 1;
    leg_attach(&c->upstream, bev, ssl, upstream_read, upstream_write, upstream_event);
    if (ssl) {
        f->marks.tls_start = flow_now_us();
        set_state(c, CONN_S_CONNECTING, "upstream TLS handshake");
    } else {
        flush_pending(c);
    }
}

/* A fresh connection for a bodiless request whose reused upstream closed before answering
 * (the keep-alive race of RFC 9112 §9.3.1): safe to repeat once. */
static int retry_request(struct conn *c)
{
    struct flow *f = c->flow;
    if (!f || !f->reused_upstream || c->retried || f->req->framing != HTTP1_NO_BODY ||
        c->resp_started || f->marks.first_byte) /* bytes_in counts earlier responses too */
        return -1;
    c->retried = 1;
    f->reused_upstream = 0;
    leg_close(&c->upstream);
    c->upstream_reusable = 0;
    char host_field[300];
    format_authority(host_field, sizeof host_field, c->up_host, c->up_port, c->up_tls);
    const char *path = f->req->target;
    if (path[0] != '/') {
        char s[16], h[256];
        int p;
        if (parse_absolute(f->req->target, s, sizeof s, h, sizeof h, &p, &path) < 0)
            return -1;
    }
    char host[256];
    str_copy(host, sizeof host, c->up_host);
    if (ensure_upstream(c, host, c->up_port, c->up_tls) < 0)
        return -1;
    if (http1_write_request_head(c->pending_up, f->req, path,
                                 http1_head_get(f->req, "host") && c->tun.intercepted ? NULL : host_field,
                                 c->req_out, 0) < 0)
        return -1;
    log_msg(LOG_DEBUG, "conn %llu: reused upstream closed, retrying on a new connection",
            (unsigned long long)c->id);
    return 0;
}

static void upstream_read(struct bufferevent *bev, void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    c->last_activity = flow_now_us();
    leg->bytes_in += n;
    if (!c->flow || c->resp_done) {
        /* Bytes nobody asked for: the connection is not reusable. */
        evbuffer_drain(in, n);
        leg_close(&c->upstream);
        return;
    }
    if (!c->flow->marks.first_byte && n) {
        c->flow->marks.first_byte = c->last_activity;
        arm_timer(c);
    }
    enum http1_feed_result r = http1_feed(&c->upstream.parser, in);
    if (r == HTTP1_FEED_ERROR && c->flow) {
        struct flow *f = c->flow;
        f->fail.parse_error = c->upstream.parser.error_name;
        flow_fail(f, c->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, 0,
                  "invalid response from upstream: %s (%s at byte %zu)", c->upstream.parser.error,
                  c->upstream.parser.error_name, c->upstream.parser.error_offset);
        if (!c->resp_started) {
            fail_client(c, f, 502, f->fail.reason);
        } else {
            c->flow = NULL;
            record_done(c, f);
            close_conn(c, 0);
        }
        return;
    }
    if (r == HTTP1_FEED_PAUSED && c->resp_done && evbuffer_get_length(in) > 0) {
        /* Bytes past the end of the response (more than its Content-Length): never forwarded;
         * the connection is out of step, so it is not reused for the next request. */
        size_t extra = evbuffer_get_length(in);
        evbuffer_drain(in, extra);
        c->upstream_reusable = 0;
        if (!c->flow->note[0])
            snprintf(c->flow->note, sizeof c->flow->note,
                     "upstream sent %zu bytes past the end of the response: dropped", extra);
    }
    if (r == HTTP1_FEED_UPGRADE && c->flow && c->flow->resp && c->flow->resp->status == 101) {
        struct flow *f = c->flow;
        c->flow = NULL;
        snprintf(f->note, sizeof f->note, "switched protocols: bytes relayed, not recorded");
        record_done(c, f);
        start_relay(c);
        return;
    }
    advance(c);
}

static void upstream_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    leg_drained(&c->upstream, &c->client);
}

static void upstream_event(struct bufferevent *bev, short what, void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    struct flow *f = c->flow;
    if (what & BEV_EVENT_CONNECTED) {
        if (leg->ssl) {
            tls_facts_fill(leg->ssl, &leg->tls);
            leg->tls.handshake_done = 1;
        }
        if (c->tun.up_tls_pending) { /* a tunnel's resumed handshake, which the client's went ahead of */
            c->tun.up_tls_pending = 0;
            c->tun.marks.tls_end = flow_now_us(); /* for a first request still to come */
        }
        if (f)
            f->marks.tls_end = flow_now_us();
        flush_pending(c);
        return;
    }
    int sock_err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    if (c->state == CONN_S_CONNECTING && leg->ssl && f) {
        /* The TLS handshake failed: certificate refused, protocol mismatch, or a reset. */
        tls_facts_fill(leg->ssl, &leg->tls);
        unsigned long e = bufferevent_get_openssl_error(bev);
        tls_facts_take_error(&leg->tls, e);
        f->marks.tls_end = flow_now_us();
        tls_facts_get(&leg->tls, &f->tls_upstream);
        char why[400];
        if (leg->tls.verify_result != X509_V_OK)
            snprintf(why, sizeof why, "upstream certificate of %s:%d refused: %s", c->up_host,
                     c->up_port, tls_facts_verify_error(&leg->tls));
        else if (leg->tls.alert_received[0])
            snprintf(why, sizeof why, "TLS handshake with %s:%d failed: server sent alert '%s'",
                     c->up_host, c->up_port, leg->tls.alert_received);
        else
            snprintf(why, sizeof why, "TLS handshake with %s:%d failed: %s", c->up_host, c->up_port,
                     tls_facts_error(&leg->tls, sock_err ? strerror(sock_err) : "connection closed"));
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, sock_err, "tls: %s", why);
        fail_client(c, f, 502, why);
        return;
    }
    if (leg->ssl)
        tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    if (!f || c->resp_done) { /* an idle kept-alive upstream went away: forget it */
        leg_close(&c->upstream);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->resp_started &&
        http1_finish(&c->upstream.parser) == HTTP1_FEED_MORE && c->resp_done) {
        leg_close(&c->upstream); /* end of an until-EOF response */
        advance(c);
        return;
    }
    if (leg->ssl && leg->tls.alert_received[0] && !c->resp_started) {
        /* A TLS 1.3 server refuses after the handshake (e.g. certificate_required arrives once
         * we sent Finished): that is a TLS failure, not a lost connection. */
        tls_facts_fill(leg->ssl, &leg->tls);
        tls_facts_get(&leg->tls, &f->tls_upstream);
        char why[300];
        snprintf(why, sizeof why, "%s:%d ended TLS with alert '%s'", c->up_host, c->up_port,
                 leg->tls.alert_received);
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, sock_err, "tls: %s", why);
        fail_client(c, f, 502, why);
        return;
    }
    if (!c->resp_started && retry_request(c) == 0)
        return;
    strcpy(f->fail.closed_by, "server");
    if (!c->resp_started) {
        char why[300];
        snprintf(why, sizeof why, "%s:%d closed the connection without a response%s%s", c->up_host,
                 c->up_port, sock_err ? ": " : "", sock_err ? strerror(sock_err) : "");
        flow_fail(f, FLOW_STAGE_WAIT, sock_err, "%s", why);
        fail_client(c, f, 502, why);
    } else {
        flow_fail(f, FLOW_STAGE_RECEIVE, sock_err, "%s:%d closed the connection in the middle of the response%s%s",
                  c->up_host, c->up_port, sock_err ? ": " : "", sock_err ? strerror(sock_err) : "");
        c->flow = NULL;
        record_done(c, f);
        leg_close(&c->upstream);
        close_conn(c, 1); /* what we have goes out; the client sees the body cut short */
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Client leg */

static void finish_exchange(struct conn *c)
{
    struct flow *f = c->flow;
    c->flow = NULL;
    int local = c->local_request;
    if (c->tun.intercepted)
        tls_facts_get(&c->client.tls, &f->tls_client);
    if (c->up_tls && local != 2)
        tls_facts_get(&c->upstream.tls, &f->tls_upstream);
    if (local == 1)
        flow_free(f); /* httpeek's own setup page: not part of the app's traffic */
    else
        record_done(c, f);
    if (!c->upstream_reusable)
        leg_close(&c->upstream);
    if (!c->client_keep_alive) {
        close_conn(c, 1);
        return;
    }
    set_state(c, CONN_S_IDLE, "exchange done");
    c->exchanges++;
    c->up_exchanges++;
    http1_parser_resume(&c->client.parser);
    if (c->client.bev && !c->client.paused_by_peer) /* client_read may have stopped it */
        bufferevent_enable(c->client.bev, EV_READ);
    if (c->client.bev && evbuffer_get_length(bufferevent_get_input(c->client.bev)) > 0)
        process_client_input(c);
}

/* Move on once the parsers have said what happened. */
static void advance(struct conn *c)
{
    if (!c->flow || c->state == CONN_S_CLOSING)
        return;
    if (c->resp_done && c->req_done) {
        finish_exchange(c);
    } else if (c->local_request) {
        /* a local page answered before its request body ended: keep reading it */
    } else if (c->resp_done) {
        /* The server answered before the request ended (e.g. 413): the client connection cannot
         * be reused without reading the rest, so end it here. */
        struct flow *f = c->flow;
        c->flow = NULL;
        snprintf(f->note, sizeof f->note, "response arrived before the request body ended");
        record_done(c, f);
        close_conn(c, 1);
    }
}

/* Back-pressure from the store: while finished flows wait for the disk beyond the store's mark,
 * a client's next request is not read (the client sees a slower proxy) and is looked at again
 * every STORE_HOLD_US; exchanges in progress go on. This keeps memory bounded when the proxy
 * outruns the session store, instead of queueing flows without limit. */
#define STORE_HOLD_US 2000

static void on_hold(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (c->state != CONN_S_IDLE || !c->client.bev)
        return;
    bufferevent_enable(c->client.bev, EV_READ);
    leg_read_enabled(c->client.bev);
    process_client_input(c);
}

/* 1 when the next request must wait (the hold is armed), 0 to go on. */
static int hold_for_store(struct conn *c)
{
    const struct proxy *p = c->proxy;
    if (!p->sink_busy || !p->sink_busy(p->sink_arg))
        return 0;
    if (!c->hold_ev && !(c->hold_ev = evtimer_new(c->base, on_hold, c)))
        return 0; /* out of memory: better to go on than to stall this client for good */
    if (!evtimer_pending(c->hold_ev, NULL)) {
        struct timeval tv = {0, STORE_HOLD_US};
        bufferevent_disable(c->client.bev, EV_READ);
        evtimer_add(c->hold_ev, &tv);
    }
    return 1;
}

static void process_client_input(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->client.bev);
    if (c->state == CONN_S_CLOSING || (c->flow && c->req_done))
        return; /* paused: a pipelined request waits for the current exchange */
    if (c->state == CONN_S_IDLE && evbuffer_get_length(in) > 0 && hold_for_store(c))
        return;
    if (c->state == CONN_S_IDLE && evbuffer_get_length(in) > 0) {
        c->head_started = flow_now_us();
        set_state(c, CONN_S_REQUEST_HEAD, "request begins");
    }
    enum http1_feed_result r = http1_feed(&c->client.parser, in);
    if (c->state == CONN_S_CLOSING)
        return;
    switch (r) {
    case HTTP1_FEED_MORE:
    case HTTP1_FEED_PAUSED:
        break;
    case HTTP1_FEED_UPGRADE:
        if (c->flow && c->flow->req && c->flow->req->method == HTTP_CONNECT) {
            char host[256];
            int port;
            struct flow *f = c->flow;
            if (opts_split_hostport(f->req->target, host, sizeof host, &port, 0) < 0) {
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "CONNECT needs host:port, got '%.100s'",
                          f->req->target);
                refuse(c, f, 400, FLOW_REFUSED_BAD_TARGET, "CONNECT needs a host:port authority");
                return;
            }
            lowercase(host);
            c->flow = NULL;
            c->upstream_reusable = 0;
            tunnel_begin(&c->tun, f, host, port);
            return;
        }
        break; /* an upgrade request: the response decides */
    case HTTP1_FEED_ERROR: {
        struct http1_parser *p = &c->client.parser;
        struct flow *f = c->flow;
        char limit[160] = "";
        const struct opts *o = c->proxy->opts;
        switch (p->limit) {
        case HTTP1_LIMIT_TARGET:
            snprintf(limit, sizeof limit, "request-target longer than %zu bytes (--max-request-line)",
                     o->max_request_line);
            break;
        case HTTP1_LIMIT_FIELD_LINE:
            snprintf(limit, sizeof limit, "a header line longer than %zu bytes (--max-header-line)",
                     o->max_header_line);
            break;
        case HTTP1_LIMIT_HEAD:
            snprintf(limit, sizeof limit, "request head larger than %zu bytes (--max-header-bytes)",
                     o->max_header_bytes);
            break;
        case HTTP1_LIMIT_FIELDS:
            snprintf(limit, sizeof limit, "more than %zu header fields (--max-headers)",
                     o->max_headers);
            break;
        case HTTP1_LIMIT_NONE:
            break;
        }
        if (!f && (f = new_flow(c))) {
            const char *target = http1_parser_target(p);
            char url[300];
            snprintf(url, sizeof url, "%.200s%s", target ? target : "-",
                     target && strlen(target) > 200 ? "..." : "");
            flow_set_url(f, url);
        }
        if (f) {
            f->fail.parse_error = p->error_name;
            if (limit[0])
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "request refused: %s", limit);
            else
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "invalid request: %s (%s at byte %zu)",
                          p->error, p->error_name, p->error_offset);
        }
        if (c->resp_started) {
            if (f) {
                c->flow = NULL;
                record_done(c, f);
            }
            close_conn(c, 0);
            return;
        }
        char why[300];
        if (limit[0])
            snprintf(why, sizeof why, "request refused: %s", limit);
        else
            snprintf(why, sizeof why, "invalid request: %s (%s at byte %zu)", p->error,
                     p->error_name, p->error_offset);
        int status = p->limit == HTTP1_LIMIT_TARGET ? 414 : p->limit != HTTP1_LIMIT_NONE ? 431 : 400;
        enum flow_refusal kind = p->limit == HTTP1_LIMIT_TARGET ? FLOW_REFUSED_TARGET_LIMIT
                                 : p->limit != HTTP1_LIMIT_NONE ? FLOW_REFUSED_HEAD_LIMIT
                                 : p->error_name && !strcmp(p->error_name, "HPE_INVALID_URL")
                                     ? FLOW_REFUSED_BAD_TARGET
                                     : FLOW_REFUSED_BAD_REQUEST;
        refuse(c, f, status, kind, why);
        return;
    }
    }
    advance(c);
}

static void client_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    c->last_activity = flow_now_us();
    process_client_input(c);
    /* libevent 2.1 runs the read callback again (deferred, without reading) for as long as the
     * input stays at its high-water mark with reading on: pipelined requests filling it while an
     * exchange is in progress would spin the worker. Stop reading; finish_exchange resumes. */
    if (c->state != CONN_S_CLOSING && c->client.bev &&
        evbuffer_get_length(bufferevent_get_input(c->client.bev)) >= LEG_INBUF_MAX)
        bufferevent_disable(c->client.bev, EV_READ);
}

static void client_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    tls_wbuf_flush(leg->ssl); /* the output drained into the gathered records: out they go */
    leg_drained(&c->client, &c->upstream);
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    int sock_err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    if (leg->ssl)
        tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    struct flow *f = c->flow;
    if (f && !c->resp_done) {
        strcpy(f->fail.closed_by, "client");
        if (!c->req_done)
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, sock_err,
                      "client closed the connection before sending the whole request");
        else
            flow_fail(f, c->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, sock_err,
                      "client closed the connection before the response was complete");
        c->flow = NULL;
        tls_facts_get(&c->client.tls, &f->tls_client);
        record_done(c, f);
    }
    close_conn(c, 0);
}
