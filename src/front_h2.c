/* front_h2.c — see front_h2.h: the streams (one exchange each), the engine's per-stream
 * callbacks and what an exchange tells the front. The connection (client leg, flushing, the
 * session's calls) is front_h2_conn.c. The engine never writes by itself: every engine call made
 * from an exchange's callback (uplink parser, connect, timer) only queues, and a deferred "kick"
 * event flushes the engine into the client leg from the top of the loop. So the engine's
 * on_close, which frees a stream, never runs under an exchange or uplink callback that still
 * uses it. */
#include "front_h2_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <nghttp2/nghttp2.h>
#include <openssl/x509v3.h>
#include "exchange.h"
#include "h2_server.h"
#include "log.h"
#include "message.h"
#include "pool.h"
#include "record.h"
#include "rules.h"
#include "str.h"
#include "tls_facts.h"
#include "tls_wbuf.h"
#include "trailers.h"
#include "ws_tap.h"

static const struct exchange_front exchange_ops;

static struct h2_stream *stream_of(struct exchange *ex)
{
    return ex->front_arg;
}

/* ------------------------------------------------------------------------------------------ */
/* Streams */

/* The stream's uplink is done with (ok: its exchange completed; a clean connection is kept). */
static void release_uplink(struct h2_stream *st, int ok)
{
    struct session *s = st->s;
    struct front_h2 *h = front_h2_of(s);
    struct uplink *u = st->ex.up;
    if (st->up_released || !u)
        return;
    st->up_released = 1;
    if (u == &s->up) {
        if (!ok) /* nothing of this exchange may reach the next stream's request */
            uplink_drop(u);
        else
            u->exchanges++;
        u->ex = NULL;
        if (h->up_owner == st)
            h->up_owner = NULL;
        return;
    }
    struct leg *l = &u->leg;
    if (ok && s->pool && l->bev && l->ssl && u->reusable && !u->connecting && l->tls.handshake_done &&
        l->tls.verify_result == X509_V_OK && !evbuffer_get_length(bufferevent_get_output(l->bev)) &&
        !evbuffer_get_length(bufferevent_get_input(l->bev))) {
        struct pool_conn pc = {.bev = l->bev, .ssl = l->ssl};
        tls_facts_move(&pc.tls, &l->tls);
        str_copy(pc.server_ip, sizeof pc.server_ip, u->server_ip);
        l->bev = NULL;
        l->ssl = NULL;
        pool_put(s->pool, s->client_addr, s->tun.host, s->tun.port, u->host, &pc);
    }
    uplink_free(u);
}

static void stream_free(struct h2_stream *st, const char *why)
{
    struct session *s = st->s;
    struct front_h2 *h = front_h2_of(s);
    exchange_abandon(&st->ex, why); /* records a flow still in progress; drops a breakpoint's hold */
    release_uplink(st, 0);
    if (st->timer)
        event_free(st->timer);
    if (st->prev)
        st->prev->next = st->next;
    else
        h->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    free(st);
}

/* The connection's flush event (front_h2_conn.c creates it) runs at the next turn of the loop. */
void front_h2_kick(struct session *s)
{
    struct front_h2 *h = front_h2_of(s);
    if (h && h->front_h2_kick)
        event_active(h->front_h2_kick, EV_TIMEOUT, 0);
}

void front_h2_teardown(struct session *s, const char *why)
{
    struct front_h2 *h = front_h2_of(s);
    while (h && h->streams) {
        h2_server_set_stream_arg(h->h2, h->streams->sid, NULL);
        stream_free(h->streams, why);
    }
}

static void stream_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2_stream *st = arg;
    struct exchange *ex = &st->ex;
    if (!ex->flow)
        return;
    int lazy;
    double t = exchange_deadline(ex, ex->phase, &lazy);
    if (t <= 0)
        return;
    if (lazy) {
        double idle = (double)(flow_now_us() - st->activity) / 1e6;
        if (idle < t) {
            double left = t - idle;
            struct timeval tv = {(time_t)left, (suseconds_t)((left - (time_t)left) * 1e6)};
            evtimer_add(st->timer, &tv);
            return;
        }
    }
    exchange_timed_out(ex, ex->phase, t); /* answers 504 on the stream, or resets it */
    front_h2_kick(st->s);
}

/* Give the client back the window of the request bytes the uplink has taken. */
static void try_consume(struct h2_stream *st)
{
    struct exchange *ex = &st->ex;
    if (!st->unconsumed)
        return;
    if (ex->flow && !st->up_released) {
        if (exchange_connecting(ex) || uplink_full(ex->up))
            return; /* up_drained brings us back */
    }
    h2_server_consume(front_h2_of(st->s)->h2, st->sid, st->unconsumed);
    st->unconsumed = 0;
    front_h2_kick(st->s);
}

/* ------------------------------------------------------------------------------------------ */
/* Requests */

/* The host of an authority ("host", "host:port", "[v6]:port"); 0, or -1 when malformed. */
static int authority_host(const char *authority, char *host, size_t len, int *port)
{
    return opts_split_hostport(authority, host, len, port, 443);
}

/* 1 when the leaf the client got covers host (coalescing: RFC 9113 §9.1.1). The last host found
 * covered is remembered: every stream of a connection names it, and checking the leaf (its
 * extensions decoded) costs more than the rest of routing a request. */
static int leaf_covers(struct session *s, const char *host)
{
    struct front_h2 *h = front_h2_of(s);
    if (h->covered && !strcasecmp(h->covered, host))
        return 1;
    X509 *leaf = s->client.ssl ? SSL_get_certificate(s->client.ssl) : NULL;
    if (leaf && X509_check_ip_asc(leaf, host, 0) != 1 &&
        X509_check_host(leaf, host, 0, 0, NULL) != 1)
        return 0;
    char *copy = strdup(host); /* out of memory: checked again next time */
    if (copy) {
        free(h->covered);
        h->covered = copy;
    }
    return 1;
}

/* A request arrived in the tunnel: the client took our leaf (rules.h learns it on the first). */
static void count_request(struct session *s)
{
    if (!s->tun.requests++ && !s->tun.mirror_untrusted)
        rules_client_accepted(s->proxy->rules, s->client_addr,
                              s->tun.sni[0] ? s->tun.sni : s->tun.host);
}

/* A request that never became an exchange: record it (status answered, or 0 for a reset). */
static void record_refused(struct session *s, const struct message_head *head, int status,
                           enum flow_refusal kind, const char *why)
{
    struct flow *f = session_flow_new(s);
    if (!f)
        return;
    const char *ignored;
    f->req = message_to_http1_recorded(head, &ignored);
    char url[600];
    snprintf(url, sizeof url, "https://%.250s%.300s", head->authority[0] ? head->authority : s->tun.host,
             head->path[0] ? head->path : "/");
    flow_set_url(f, url);
    str_copy(f->scheme, sizeof f->scheme, "https");
    str_copy(f->host, sizeof f->host, s->tun.host);
    f->port = s->tun.port;
    f->h2_stream_id = head->stream_id;
    f->fail.refusal = kind;
    f->fail.status_sent = status;
    flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "%s", why);
    tls_facts_to_flow(&s->client.tls, f, 0);
    record_flow(s->proxy, f);
}

/* Send a generated status and text reason on stream sid (end_stream after it). */
static void send_answer(struct session *s, int32_t sid, int status, const char *reason)
{
    struct message_head m;
    message_head_init(&m, 0);
    m.status = status;
    m.major = 2;
    char body[512], len[24];
    int n = snprintf(body, sizeof body, "httpeek: %s\n", reason);
    if (n < 0 || (size_t)n >= sizeof body)
        n = (int)sizeof body - 1;
    snprintf(len, sizeof len, "%d", n);
    message_add_field(&m, "content-type", 12, "text/plain; charset=utf-8", 25);
    message_add_field(&m, "content-length", 14, len, strlen(len));
    struct h2_server *e = front_h2_of(s)->h2;
    if (h2_server_respond(e, sid, &m, 0) == 0) {
        h2_server_send_body(e, sid, body, (size_t)n);
        h2_server_end(e, sid, NULL);
    } else {
        h2_server_reset(e, sid, NGHTTP2_INTERNAL_ERROR);
    }
    message_head_clear(&m);
}

/* Answer stream sid with a generated status at the next flush (queued in order). */
static void answer(struct session *s, int32_t sid, int status, const char *reason)
{
    struct front_h2 *h = front_h2_of(s);
    size_t n = strlen(reason) + 1;
    struct h2_answer *a = malloc(sizeof *a + n), **tail = &h->answers;
    if (!a) {
        h2_server_reset(h->h2, sid, NGHTTP2_INTERNAL_ERROR);
    } else {
        a->sid = sid;
        a->status = status;
        a->next = NULL;
        memcpy(a->reason, reason, n);
        while (*tail)
            tail = &(*tail)->next;
        *tail = a;
    }
    front_h2_kick(s);
}

/* Send (send 1) or drop the queued answers. */
void front_h2_drain_answers(struct session *s, int send)
{
    struct front_h2 *h = front_h2_of(s);
    while (h->answers) {
        struct h2_answer *a = h->answers;
        h->answers = a->next;
        if (send)
            send_answer(s, a->sid, a->status, a->reason);
        free(a);
    }
}

static int on_request(void *arg, int32_t sid, struct message_head *head)
{
    struct session *s = arg;
    struct front_h2 *h = front_h2_of(s);
    if (s->state == SESSION_S_CLOSING || h->draining)
        return -1; /* after our GOAWAY: REFUSED_STREAM, the client retries elsewhere */
    count_request(s);
    char host[256];
    int port = 0;
    if (authority_host(head->authority, host, sizeof host, &port) < 0 || port != s->tun.port ||
        !leaf_covers(s, host)) {
        char why[400];
        snprintf(why, sizeof why, "421 Misdirected Request: this connection's certificate (for %.200s) "
                 "does not cover %.150s", s->tun.sni[0] ? s->tun.sni : s->tun.host, head->authority);
        record_refused(s, head, 421, FLOW_REFUSED_MISDIRECTED, why);
        answer(s, sid, 421, why);
        return 0; /* the stream is answered; its close finds no exchange */
    }
    struct h2_stream *st = calloc(1, sizeof *st);
    struct flow *f = st ? session_flow_new(s) : NULL;
    const char *why = NULL;
    if (!f || !(f->req = message_to_http1_recorded(head, &why)) ||
        !(st->timer = evtimer_new(s->base, stream_timer, st))) {
        if (f) {
            flow_free(f);
            f = NULL;
        }
        if (st && st->timer)
            event_free(st->timer);
        free(st);
        if (why) {
            record_refused(s, head, 501, FLOW_REFUSED_UNSUPPORTED, why);
            answer(s, sid, 501, why);
            return 0;
        }
        return -1; /* out of memory: REFUSED_STREAM, the client may retry */
    }
    st->s = s;
    st->sid = sid;
    f->h2_stream_id = sid; /* a flow fact: the client's stream */
    st->activity = flow_now_us();
    str_copy(st->route_host, sizeof st->route_host, host);
    st->next = h->streams;
    if (st->next)
        st->next->prev = st;
    h->streams = st;
    struct exchange *ex = &st->ex;
    ex->front = &exchange_ops;
    ex->front_arg = st;
    ex->conn_id = s->id;
    ex->proxy = s->proxy;
    ex->base = s->base;
    ex->dns = s->dns;
    ex->tun = &s->tun;
    ex->client_addr = s->client_addr;
    ex->activity = &st->activity;
    ex->route_host = st->route_host;
    ex->client_fd = s->client.bev ? bufferevent_getfd(s->client.bev) : -1;
    if (!h->up_owner) {
        h->up_owner = st;
        exchange_bind(ex, &s->up);
    } else {
        uplink_init(&st->own, s->proxy->budget);
        exchange_bind(ex, &st->own);
        struct pool_conn pc;
        if (s->pool &&
            pool_take(s->pool, s->client_addr, s->tun.host, s->tun.port, host, &pc)) {
            struct uplink *u = &st->own;
            tls_facts_move(&u->leg.tls, &pc.tls);
            tls_facts_attach(pc.ssl, &u->leg.tls);
            leg_attach(&u->leg, pc.bev, pc.ssl, NULL, NULL, NULL);
            str_copy(u->server_ip, sizeof u->server_ip, pc.server_ip);
            name_str_set(&u->host, host);
            u->port = s->tun.port;
            u->tls = 1;
            u->exchanges = 1;
            uplink_adopt(u); /* its callbacks and response parser */
        }
    }
    h2_server_set_stream_arg(h->h2, sid, st);
    exchange_init(ex, f);
    tunnel_take_flow(&s->tun, f); /* the tunnel's timings go to its first request */
    if (exchange_start(ex) == 1) { /* httpeek's own pages are served over HTTP/1.1 only */
        struct flow *own = ex->flow;
        ex->flow = NULL;
        flow_free(own);
        answer(s, sid, 421, "httpeek's own pages are served over HTTP/1.1");
    }
    if (s->state == SESSION_S_IDLE)
        session_set_state(s, SESSION_S_EXCHANGE, "stream opened");
    return 0;
}

static void on_body(void *arg, int32_t sid, void *stream_arg, const uint8_t *data, size_t len)
{
    struct session *s = arg;
    struct h2_stream *st = stream_arg;
    if (!st || !st->ex.flow) {
        h2_server_consume(front_h2_of(s)->h2, sid, len); /* nobody takes it: window back at once */
        return;
    }
    st->activity = s->last_activity = flow_now_us();
    flow_capture_add(&st->ex.flow->req_body, (const char *)data, len);
    exchange_req_body(&st->ex, (const char *)data, len);
    st->unconsumed += len;
    try_consume(st);
}

static void on_end(void *arg, int32_t sid, void *stream_arg, struct message_head *trailers)
{
    (void)arg;
    (void)sid;
    struct h2_stream *st = stream_arg;
    if (!st || !st->ex.flow || st->ex.req_done)
        return;
    if (trailers) /* recorded; the uplink writes them as the chunked request's trailer section */
        trailers_record(st->ex.flow, 0, trailers);
    exchange_req_end(&st->ex);
}

/* The exchange completed: record it, keep its uplink for later streams when clean. */
static void finish_stream(struct h2_stream *st)
{
    struct session *s = st->s;
    struct exchange *ex = &st->ex;
    if (ex->flow)
        tls_facts_to_flow(&s->client.tls, ex->flow, 0);
    exchange_finish(ex, 0);
    release_uplink(st, 1);
}

static void on_close(void *arg, int32_t sid, void *stream_arg, uint32_t code, int by_client,
                     const char *why)
{
    (void)arg;
    (void)sid;
    struct h2_stream *st = stream_arg;
    if (!st)
        return;
    struct exchange *ex = &st->ex;
    struct flow *f = ex->flow;
    if (f && code == 0 && ex->req_done && ex->resp_done) {
        finish_stream(st);
    } else if (f && by_client && ex->bp) {
        exchange_client_gone(ex, 0); /* it gave up while a breakpoint held it: recorded as such */
    } else if (f) {
        ex->flow = NULL;
        if (by_client)
            strcpy(f->fail.closed_by, "client");
        /* we reset it (an error code, not the client's RST_STREAM): the client broke the
         * protocol on it, and the app sees its stream fail (-1005) */
        int ours = !by_client && code;
        enum flow_stage stage = !ex->req_done && ours ? FLOW_STAGE_SEND
                                : !ex->req_done       ? FLOW_STAGE_CLIENT_REQUEST
                                : ex->resp_started    ? FLOW_STAGE_RECEIVE
                                                      : FLOW_STAGE_WAIT;
        flow_fail(f, stage, 0, "%s%s%s%s", ours ? "RST_STREAM " : "",
                  ours ? h2_error_name(code) : "", ours ? " sent: " : "",
                  why && why[0] ? why : "stream closed");
        tls_facts_to_flow(&st->s->client.tls, f, 0);
        record_flow(st->s->proxy, f);
    }
    stream_free(st, why ? why : "stream closed");
}

static void on_drain(void *arg, int32_t sid, void *stream_arg)
{
    (void)arg;
    (void)sid;
    struct h2_stream *st = stream_arg;
    if (!st || !st->up_paused || st->up_released)
        return;
    st->up_paused = 0;
    uplink_resume(st->ex.up);
}

static void on_refused(void *arg, int32_t sid, const struct message_head *head, int status,
                       const char *why)
{
    (void)sid;
    struct session *s = arg;
    count_request(s);
    record_refused(s, head, status,
                   status == 431 ? FLOW_REFUSED_HEAD_LIMIT
                   : status      ? FLOW_REFUSED_UNSUPPORTED
                                 : FLOW_REFUSED_BAD_REQUEST,
                   why);
}

/* The engine's connection failure: kept (the first one) for the streams it fails. */
void front_h2_on_conn_error(void *arg, uint32_t code, int by_client, const char *why)
{
    struct session *s = arg;
    struct front_h2 *h = front_h2_of(s);
    log_msg(LOG_DEBUG, "conn %llu: HTTP/2 %s (%s, code %u)", (unsigned long long)s->id, why,
            by_client ? "from the client" : "sent", code);
    if (h && !h->conn_failed) {
        h->conn_failed = 1;
        h->conn_error = strdup(why);
    }
}

const struct h2_server_ops front_h2_engine_ops = {on_request, on_body,    on_end,       on_close,
                                                on_drain,   on_refused, front_h2_on_conn_error};

/* ------------------------------------------------------------------------------------------ */
/* What an exchange tells this front */

static void ex_phase(struct exchange *ex, enum exchange_phase p, const char *why)
{
    (void)why;
    struct h2_stream *st = stream_of(ex);
    int lazy;
    double t = exchange_deadline(ex, p, &lazy);
    if (t > 0) {
        struct timeval tv = {(time_t)t, (suseconds_t)((t - (time_t)t) * 1e6)};
        evtimer_add(st->timer, &tv);
    } else {
        evtimer_del(st->timer);
    }
}

static int ex_resp_head(struct exchange *ex, struct http1_head *resp, unsigned flags)
{
    struct h2_stream *st = stream_of(ex);
    struct front_h2 *h = front_h2_of(st->s);
    if (resp->status == 101 || st->resp_ended)
        return -1;
    struct message_head m;
    message_head_init(&m, 0);
    m.status = resp->status;
    m.major = 2;
    int bad = 0;
    for (size_t i = 0; i < resp->nfields && !bad; i++) {
        const char *name = resp->fields[i].name;
        if ((flags & EXCHANGE_STRIP_ALT_SVC) && !strcasecmp(name, "alt-svc"))
            continue;
        bad = message_add_field_borrowed(&m, name, strlen(name), resp->fields[i].value,
                                         strlen(resp->fields[i].value)) < 0; /* sent at once */
    }
    int interim = resp->status < 200;
    int end = !interim && (ex->head_request || resp->status == 204 || resp->status == 304);
    if (!bad)
        bad = h2_server_respond(h->h2, st->sid, &m, end) < 0;
    message_head_clear(&m);
    if (end)
        st->resp_ended = 1;
    front_h2_kick(st->s);
    return bad ? -1 : 0;
}

static int ex_resp_body(struct exchange *ex, const char *data, size_t len)
{
    struct h2_stream *st = stream_of(ex);
    if (st->resp_ended)
        return 0;
    int r = h2_server_send_body(front_h2_of(st->s)->h2, st->sid, data, len);
    if (r < 0)
        return -1;
    if (r == 1 && !st->up_paused) { /* resumed by on_drain */
        st->up_paused = 1;
        uplink_pause(ex->up);
    }
    front_h2_kick(st->s);
    return 0;
}

static void ex_resp_end(struct exchange *ex)
{
    struct h2_stream *st = stream_of(ex);
    if (!st->resp_ended) {
        st->resp_ended = 1;
        struct message_head t; /* the upstream's trailers (recorded) as a trailing HEADERS */
        message_head_init(&t, 0);
        const struct http1_head *rt = ex->flow ? ex->flow->resp_trailers : NULL;
        int with = rt && trailers_to_message(&t, rt) > 0;
        h2_server_end(front_h2_of(st->s)->h2, st->sid, with ? &t : NULL);
        message_head_clear(&t);
    }
    front_h2_kick(st->s);
}

static void ex_settle(struct exchange *ex)
{
    struct h2_stream *st = stream_of(ex);
    if (!ex->flow || !ex->resp_done)
        return;
    if (ex->req_done) {
        evtimer_del(st->timer);
        finish_stream(st);
        return;
    }
    /* The server answered before the request ended (e.g. 413): the response is whole, the rest
     * of the request is not wanted (RFC 9113 §8.1: RST_STREAM NO_ERROR). */
    struct flow *f = ex->flow;
    ex->flow = NULL;
    snprintf(f->note, sizeof f->note, "response arrived before the request body ended");
    record_flow(ex->proxy, f);
    release_uplink(st, 0);
    h2_server_reset(front_h2_of(st->s)->h2, st->sid, NGHTTP2_NO_ERROR);
    front_h2_kick(st->s);
}

static void ex_fail(struct exchange *ex, struct flow *f, int status, const char *reason)
{
    struct h2_stream *st = stream_of(ex);
    struct session *s = st->s;
    f->fail.status_sent = status;
    if (!f->fail.failed)
        flow_fail(f, FLOW_STAGE_NONE, 0, "%s", reason);
    tls_facts_to_flow(&s->client.tls, f, 0);
    tls_facts_to_flow(uplink_tls(ex->up), f, 1);
    record_flow(s->proxy, f);
    evtimer_del(st->timer);
    release_uplink(st, 0);
    if (!ex->resp_started && !st->resp_ended) {
        st->resp_ended = 1;
        answer(s, st->sid, status, reason);
    } else {
        h2_server_reset(front_h2_of(s)->h2, st->sid, NGHTTP2_INTERNAL_ERROR);
        front_h2_kick(s);
    }
}

static void ex_cut(struct exchange *ex, int flush)
{
    (void)flush;
    struct h2_stream *st = stream_of(ex);
    evtimer_del(st->timer);
    release_uplink(st, 0);
    h2_server_reset(front_h2_of(st->s)->h2, st->sid, NGHTTP2_INTERNAL_ERROR);
    front_h2_kick(st->s);
}

static void ex_upgraded(struct exchange *ex, struct ws_tap *tap)
{
    ws_tap_finish(tap); /* never asked for over HTTP/2 (resp_head refuses a 101) */
    ex_cut(ex, 0);
}

static void ex_req_resume(struct exchange *ex)
{
    try_consume(stream_of(ex));
}

static void ex_req_drained(struct exchange *ex)
{
    try_consume(stream_of(ex));
}

static const struct exchange_front exchange_ops = {
    ex_phase, ex_resp_head, ex_resp_body, ex_resp_end,   ex_settle,
    ex_fail,  ex_cut,       ex_upgraded,  ex_req_resume, ex_req_drained};
