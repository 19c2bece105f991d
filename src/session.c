/* session.c — see session.h: a client connection's lifetime (accept, deadlines, close with
 * flush, free), what its tunnel and relay tell it, the store hold, and pooling its uplink at the
 * end. What the client's bytes mean is the front's (front_h1.c). */
#include "session.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/x509.h>
#include "budget.h"
#include "client_slots.h"
#include "log.h"
#include "own.h"
#include "pool.h"
#include "record.h"
#include "replay_marks.h"
#include "str.h"
#include "tls_facts.h"
#include "tls_server.h"
#include "tls_wbuf.h"
#include "uplink_h2.h"
#include "ws_tap.h"

/* Seconds we keep flushing a final answer to a client that does not read it. */
#define SESSION_FLUSH_TIMEOUT 10.0
/* Seconds an idle keep-alive connection keeps its TLS record buffers (two of ~17 KiB per leg)
 * before they are given back (SSL_free_buffers). A new connection's SSLs give them back after
 * every record (SSL_MODE_RELEASE_BUFFERS: a burst of handshakes, an app's one request, then idle);
 * from its second exchange on a connection is busy, and that cost four allocations and frees of
 * 17 KiB per request, ~6 % of the proxy's instructions: the front clears the mode (front_h1.c's
 * hold_tls_buffers) and the buffers go back once the connection has been idle this long. */
#define SESSION_BUFFER_HOLD 0.1

static void arm_timer(struct session *s);

const char *session_state_name(enum session_state st)
{
    static const char *const names[] = {"idle", "request_head", "connecting", "exchange",
                                        "tunnel_connecting", "tunnel_peek", "tunnel_up_tls",
                                        "tunnel_client_tls", "relay", "closing"};
    return (unsigned)st < sizeof names / sizeof *names ? names[st] : "?";
}

void session_set_state(struct session *s, enum session_state st, const char *why)
{
    if (log_enabled(LOG_DEBUG))
        log_msg(LOG_DEBUG, "conn %llu: %s -> %s (%s)", (unsigned long long)s->id,
                session_state_name(s->state), session_state_name(st), why);
    s->state = st;
    if (st == SESSION_S_IDLE)
        s->tls_buffers_held = s->client.ssl || s->up.leg.ssl;
    arm_timer(s);
}

struct flow *session_flow_new(struct session *s)
{
    struct proxy *p = s->proxy;
    /* numbered when recorded (record_flow): a flow that is never recorded (a CONNECT that
     * became its requests, httpeek's own pages) must not leave a gap the user reads as lost */
    struct flow *f = flow_new(0, s->id, p->opts->max_body);
    if (!f)
        return NULL;
    str_copy(f->client_addr, sizeof f->client_addr, s->client_addr);
    f->client_port = s->client_port;
    f->req_body.budget = f->resp_body.budget = p->budget; /* past the share, bodies spill */
    if (p->replay_marks) /* httpeek's own repeat or composed request: marked so */
        replay_marks_flow(p->replay_marks, f);
    return f;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifetime */

static void session_free(struct session *s)
{
    s->front->end(s, "connection closed before the exchange completed");
    tunnel_end(&s->tun); /* records the tunnel flow if no request took it */
    tunnel_free(&s->tun);
    ws_tap_finish(s->relay.tap); /* a WebSocket's end goes to the store */
    s->relay.tap = NULL;
    uplink_free(&s->up);
    leg_close(&s->client);
    tls_facts_clear(&s->client.tls);
    leg_parser_free(&s->client);
    if (s->timer)
        event_free(s->timer);
    if (s->hold_ev)
        event_free(s->hold_ev);
    if (s->prev)
        s->prev->next = s->next;
    else if (s->registry)
        *s->registry = s->next;
    if (s->next)
        s->next->prev = s->prev;
    atomic_fetch_sub(&s->proxy->live_conns, 1);
    if (s->proxy->budget)
        budget_conn_close(s->proxy->budget);
    if (s->proxy->client_slots)
        client_slots_give(s->proxy->client_slots, s->client_addr);
    log_msg(LOG_DEBUG, "conn %llu: freed", (unsigned long long)s->id);
    free(s);
}

/* Whether nothing is left to write to the leg: its output and its gathered TLS records. */
static int leg_flushed(struct leg *l)
{
    struct evbuffer *o = leg_output(l);
    return (!o || evbuffer_get_length(o) == 0) && tls_wbuf_pending(l->ssl) == 0;
}

static int outputs_flushed(struct session *s)
{
    return leg_flushed(&s->client) && leg_flushed(&s->up.leg);
}

/* Closing callbacks get the session itself (both legs flush towards the same end). */
static void closing_write(struct bufferevent *bev, void *arg)
{
    struct session *s = arg;
    tls_wbuf_flush(bev == s->client.bev ? s->client.ssl : s->up.leg.ssl);
    if (outputs_flushed(s))
        event_active(s->timer, EV_TIMEOUT, 0);
}

static void closing_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    struct session *s = arg;
    event_active(s->timer, EV_TIMEOUT, 0); /* peer gone: nothing left to flush to it */
}

/* The session ends: keep its upstream TLS connection for the next tunnel to the same server
 * when it is clean — verified, its last exchange complete, nothing buffered either way. */
static void pool_upstream(struct session *s)
{
    struct uplink *up = &s->up;
    struct leg *u = &up->leg;
    if (!s->pool || !s->tun.intercepted || !u->bev || !u->ssl || !up->reusable ||
        !s->front->between_exchanges(s) || !up->tls || up->port != s->tun.port ||
        !u->tls.handshake_done || u->tls.verify_result != X509_V_OK || s->tun.mirror_untrusted ||
        s->tun.error[0] || u->paused_by_peer || uplink_leg_is_h2(u) ||
        evbuffer_get_length(bufferevent_get_output(u->bev)) ||
        evbuffer_get_length(bufferevent_get_input(u->bev)))
        return;
    struct pool_conn pc = {.bev = u->bev, .ssl = u->ssl};
    tls_facts_move(&pc.tls, &u->tls);
    str_copy(pc.server_ip, sizeof pc.server_ip, up->server_ip);
    u->bev = NULL;
    u->ssl = NULL;
    pool_put(s->pool, s->client_addr, s->tun.host, s->tun.port, up->host, &pc);
}

void session_close(struct session *s, int flush)
{
    if (s->state != SESSION_S_CLOSING)
        pool_upstream(s);
    if (s->state == SESSION_S_CLOSING && !flush) {
        event_active(s->timer, EV_TIMEOUT, 0);
        return;
    }
    if (s->up.connecting) {
        upstream_cancel(s->up.connecting);
        s->up.connecting = NULL;
    }
    tunnel_cleanup(&s->tun);
    s->state = SESSION_S_CLOSING;
    struct leg *legs[2] = {&s->client, &s->up.leg};
    for (int i = 0; i < 2; i++) {
        struct leg *l = legs[i];
        if (!l->bev)
            continue;
        tls_wbuf_flush(l->ssl); /* what the socket takes now; the rest waits for it */
        if (flush && !leg_flushed(l)) {
            bufferevent_disable(l->bev, EV_READ);
            bufferevent_setwatermark(l->bev, EV_WRITE, 0, 0);
            bufferevent_setcb(l->bev, NULL, closing_write, closing_event, s);
            bufferevent_enable(l->bev, EV_WRITE);
        } else {
            leg_close(l);
        }
    }
    s->deadline = s->timer_at = 0; /* the timer is the close's from now on */
    if (outputs_flushed(s)) {
        event_active(s->timer, EV_TIMEOUT, 0);
    } else {
        struct timeval tv = {(time_t)SESSION_FLUSH_TIMEOUT, 0};
        evtimer_add(s->timer, &tv);
    }
}

void session_answer(struct session *s, struct flow *f, int status, const char *reason)
{
    if (f) {
        f->fail.status_sent = status;
        if (!f->fail.failed)
            flow_fail(f, FLOW_STAGE_NONE, 0, "%s", reason);
        if (f == s->tun.flow)
            s->tun.flow = NULL;
        tls_facts_to_flow(&s->client.tls, f, 0);
        tls_facts_to_flow(uplink_tls(&s->up), f, 1);
    }
    struct evbuffer *out = leg_output(&s->client);
    if (out) {
        char body[512];
        int n = snprintf(body, sizeof body, "httpeek: %s\n", reason);
        if (n < 0 || (size_t)n >= sizeof body)
            n = (int)sizeof body - 1;
        http1_write_simple_response(out, status, http1_reason(status), NULL, body, (size_t)n, 1);
        bufferevent_enable(s->client.bev, EV_WRITE);
    }
    if (f) {
        log_msg(LOG_DEBUG, "conn %llu %s: %d %s", (unsigned long long)s->id, f->host, status, reason);
        record_flow(s->proxy, f);
    }
    leg_close(&s->up.leg);
    session_close(s, 1);
}

void session_refuse(struct session *s, struct flow *f, int status, enum flow_refusal why,
                    const char *reason)
{
    if (f) {
        f->fail.refusal = why;
        own_local_address(s->client.bev ? bufferevent_getfd(s->client.bev) : -1, f->proxy_addr,
                          sizeof f->proxy_addr, NULL);
    }
    session_answer(s, f, status, reason);
}

/* ------------------------------------------------------------------------------------------ */
/* Deadlines: one timer per session, meaning what the state says. */

static double state_timeout(struct session *s, int *lazy_idle)
{
    const struct opts *o = s->proxy->opts;
    *lazy_idle = 0;
    switch (s->state) {
    case SESSION_S_IDLE:
        return s->tls_buffers_held && o->idle_timeout > SESSION_BUFFER_HOLD ? SESSION_BUFFER_HOLD
                                                                            : o->idle_timeout;
    case SESSION_S_REQUEST_HEAD:
    case SESSION_S_CONNECTING:
    case SESSION_S_EXCHANGE: return s->front->deadline(s, lazy_idle);
    case SESSION_S_TUNNEL_CONNECTING: return 0; /* upstream.c bounds it */
    case SESSION_S_TUNNEL_PEEK: return o->header_timeout;
    case SESSION_S_TUNNEL_UP_TLS: return o->upstream_timeout;
    case SESSION_S_TUNNEL_CLIENT_TLS: return o->header_timeout;
    case SESSION_S_RELAY: *lazy_idle = 1; return o->idle_timeout;
    case SESSION_S_CLOSING: return SESSION_FLUSH_TIMEOUT;
    }
    return 0;
}

/* The clock of the deadlines: libevent's own timers read a coarse monotonic clock as well, and a
 * deadline needs no better than its few milliseconds. */
static uint64_t coarse_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The deadline secs from now, and the timer set for it. */
static void add_timer(struct session *s, double secs)
{
    struct timeval tv = {(time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6)};
    evtimer_add(s->timer, &tv);
    s->deadline = s->timer_at = coarse_now_us() + (uint64_t)(secs * 1e6);
}

/* A keep-alive exchange changes state five times; re-adding the timer each time cost five
 * event_add (a timer heap operation and the base's lock each: ~1.8k instructions a request on
 * S4). So only the deadline is written, and the timer is added only when it would fire after it;
 * a timer that fires before the deadline (the state moved on) is added again for what is left. */
static void arm_timer(struct session *s)
{
    int lazy;
    double t = state_timeout(s, &lazy);
    if (t <= 0) {
        s->deadline = 0; /* a timer still armed finds no deadline and does nothing */
        return;
    }
    s->deadline = coarse_now_us() + (uint64_t)(t * 1e6);
    if (s->timer_at && s->timer_at <= s->deadline)
        return;
    add_timer(s, t);
}

/* Granularity of the coarse clocks: a timer that fires this close to the deadline is due. */
#define SESSION_TIMER_SLACK_US 5000

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct session *s = arg;
    s->timer_at = 0; /* a timer is not pending while its callback runs */
    if (s->state == SESSION_S_CLOSING) {
        session_free(s);
        return;
    }
    if (!s->deadline)
        return;
    uint64_t now = coarse_now_us();
    if (now + SESSION_TIMER_SLACK_US < s->deadline) { /* armed for an earlier state */
        add_timer(s, (double)(s->deadline - now) / 1e6);
        return;
    }
    int lazy;
    double t = state_timeout(s, &lazy);
    if (lazy) {
        /* Idle deadlines move with activity; re-arming per byte would cost a syscall-free but
         * non-trivial heap operation each read, so check lazily here. */
        double idle = (double)(flow_now_us() - s->last_activity) / 1e6;
        if (idle < t) {
            add_timer(s, t - idle);
            return;
        }
    }
    switch (s->state) {
    case SESSION_S_IDLE:
        if (s->tls_buffers_held && t < s->proxy->opts->idle_timeout) {
            int freed = leg_release_buffers(&s->client);
            freed &= leg_release_buffers(&s->up.leg);
            if (s->front->release)
                s->front->release(s);
            s->tls_buffers_held = !freed; /* a record still buffered: try again after a hold */
            add_timer(s, freed ? s->proxy->opts->idle_timeout - t : t);
            return;
        }
        if (s->front->drain) { /* HTTP/2: GOAWAY first, so the client opens no stream on it */
            s->front->drain(s, "idle timeout");
            return;
        }
        session_close(s, 0);
        return;
    case SESSION_S_REQUEST_HEAD:
    case SESSION_S_CONNECTING:
    case SESSION_S_EXCHANGE:
        s->front->timed_out(s, t);
        return;
    case SESSION_S_RELAY:
        if (s->tun.flow)
            snprintf(s->tun.flow->note, sizeof s->tun.flow->note, "closed after %gs idle", t);
        session_close(s, 1);
        return;
    default:
        tunnel_timed_out(&s->tun, t);
        session_close(s, 0);
        return;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Back-pressure from the store: while finished flows wait for the disk beyond the store's mark,
 * a client's next request is not read (the client sees a slower proxy) and is looked at again
 * every STORE_HOLD_US; exchanges in progress go on. This keeps memory bounded when the proxy
 * outruns the session store, instead of queueing flows without limit. Before the mark the store
 * asks each request to wait a little (proxy->sink_pace_us, a few 100 µs): the session owes it,
 * and waits once it owes STORE_PACE_TICK_US (a timer is no finer than 1 ms in an epoll loop),
 * so every client slows evenly and none stops. */
#define STORE_HOLD_US 2000
#define STORE_PACE_TICK_US 1000

static void on_hold(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct session *s = arg;
    if (s->state != SESSION_S_IDLE || !s->client.bev)
        return;
    bufferevent_enable(s->client.bev, EV_READ);
    leg_read_enabled(s->client.bev);
    s->front->input(s);
}

int session_hold_for_store(struct session *s)
{
    const struct proxy *p = s->proxy;
    if (s->hold_ev && evtimer_pending(s->hold_ev, NULL))
        return 1;
    unsigned wait_us = STORE_HOLD_US;
    if (!p->sink_busy || !p->sink_busy(p->sink_arg)) {
        unsigned pace = p->sink_pace_us ? p->sink_pace_us(p->sink_arg) : 0;
        if (!pace) {
            s->pace_owed_us = 0; /* the store caught up: what was owed is forgiven */
            return 0;
        }
        s->pace_owed_us += pace;
        if (s->pace_owed_us < STORE_PACE_TICK_US)
            return 0;
        wait_us = s->pace_owed_us;
        s->pace_owed_us = 0;
    }
    if (!s->hold_ev && !(s->hold_ev = evtimer_new(s->base, on_hold, s)))
        return 0; /* out of memory: better to go on than to stall this client for good */
    struct timeval tv = {wait_us / 1000000, wait_us % 1000000};
    bufferevent_disable(s->client.bev, EV_READ);
    evtimer_add(s->hold_ev, &tv);
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* What a tunnel (tunnel.h) and the relay (relay.h) tell the session */

static void relay_ended(void *arg)
{
    session_close(arg, 1);
}

void session_relay(struct session *s, struct ws_tap *tap)
{
    session_set_state(s, SESSION_S_RELAY, "relaying");
    s->relay.tap = tap; /* before relay_start: bytes already buffered go across at once */
    relay_start(&s->relay, &s->client, &s->up.leg, &s->tun.flow, &s->last_activity, relay_ended, s);
}

static void tunnel_phase(void *arg, enum tunnel_phase p, const char *why)
{
    static const enum session_state state[] = {
        [TUNNEL_IDLE] = SESSION_S_IDLE, [TUNNEL_CONNECTING] = SESSION_S_TUNNEL_CONNECTING,
        [TUNNEL_PEEK] = SESSION_S_TUNNEL_PEEK, [TUNNEL_UP_TLS] = SESSION_S_TUNNEL_UP_TLS,
        [TUNNEL_CLIENT_TLS] = SESSION_S_TUNNEL_CLIENT_TLS};
    session_set_state(arg, state[p], why);
}

static void tunnel_close(void *arg, int flush)
{
    session_close(arg, flush);
}

static void tunnel_fail(void *arg, struct flow *f, int status, const char *reason)
{
    session_answer(arg, f, status, reason);
}

/* The client's TLS handshake inside the tunnel is done: the tunnel's upstream leg becomes the
 * uplink, and the front the ALPN named reads requests (HTTP/1.1, or HTTP/2: front->h2). */
static void tunnel_handed(void *arg)
{
    struct session *s = arg;
    struct uplink *up = &s->up;
    if (s->tun.up_name[0]) { /* the upstream leg the tunnel made (or tried to) */
        name_str_set(&up->host, s->tun.up_name);
        up->port = s->tun.port;
        up->tls = 1;
        up->exchanges = (unsigned)s->tun.up_pooled;
    }
    str_copy(up->server_ip, sizeof up->server_ip, s->tun.server_ip);
    if (s->front->h2 && s->client.ssl && tls_server_alpn_h2(s->client.ssl))
        s->front = s->front->h2; /* the client chose HTTP/2 (offered with --http2=yes) */
    s->front->start(s, NULL);
}

static void tunnel_opaque(void *arg)
{
    session_relay(arg, NULL);
}

static const struct tunnel_ops tunnel_ops = {tunnel_phase, tunnel_close, tunnel_fail,
                                             tunnel_handed, tunnel_opaque};

void session_tunnel(struct session *s, struct flow *f, const char *host, int port)
{
    s->up.reusable = 0;
    tunnel_begin(&s->tun, f, host, port);
}

/* ------------------------------------------------------------------------------------------ */
/* Accept and shutdown */

void session_close_idle(struct session **registry)
{
    for (struct session *s = *registry; s; s = s->next) {
        if (s->state == SESSION_S_CLOSING)
            continue;
        if (s->front->drain)
            s->front->drain(s, "httpeek is shutting down");
        else if (s->state == SESSION_S_IDLE)
            session_close(s, 1); /* an exchange that just ended may have its answer unsent */
    }
}

void session_free_all(struct session **registry)
{
    while (*registry) {
        struct session *s = *registry;
        s->front->end(s, "httpeek was shut down during the exchange");
        session_free(s); /* unlinks itself */
    }
}

void session_accept(struct proxy *proxy, struct event_base *base, struct resolver *dns,
                    struct pool *pool, struct session **registry, const struct session_front *front,
                    int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    struct session *s = calloc(1, sizeof *s + front->state_size);
    struct bufferevent *bev = NULL;
    if (!s || !(s->timer = evtimer_new(base, on_timer, s)) ||
        !(bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE))) {
        log_msg(LOG_ERROR, "out of memory accepting a connection");
        char client[64];
        int port;
        own_client_address(addr, client, sizeof client, &port);
        if (proxy->client_slots) /* worker.c counted it */
            client_slots_give(proxy->client_slots, client);
        if (s && s->timer)
            event_free(s->timer);
        free(s);
        close(fd);
        return;
    }
    s->id = atomic_fetch_add(&proxy->next_conn_id, 1) + 1;
    s->registry = registry;
    s->next = *registry;
    if (s->next)
        s->next->prev = s;
    *registry = s;
    s->proxy = proxy;
    s->base = base;
    s->dns = dns;
    s->pool = pool;
    s->front = front;
    s->front_state = s + 1;
    s->client.owner = s;
    s->client.is_client = 1;
    uplink_init(&s->up, proxy->budget);
    s->last_activity = flow_now_us();
    atomic_fetch_add(&proxy->live_conns, 1);
    s->client.budget = proxy->budget;
    if (proxy->budget)
        budget_conn_open(proxy->budget);
    own_client_address(addr, s->client_addr, sizeof s->client_addr, &s->client_port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tunnel_init(&s->tun, &tunnel_ops, s, s->id, proxy, base, dns, pool, &s->client, &s->up.leg,
                s->client_addr, &s->last_activity);
    /* clients outside --allow-client never get here: worker.c refuses them at accept */
    front->start(s, bev);
}
