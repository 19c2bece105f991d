/* front_h2_conn.c — the h2 front's connection (see front_h2.h, front_h2_int.h): the client leg's
 * callbacks feeding the engine, flushing it into the leg (and closing when it is done), and the
 * session's calls (start, input, end). Streams and exchanges are front_h2.c. */
#include "front_h2_int.h"
#include "front_h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include "http1.h"
#include "log.h"
#include "record.h"
#include "str.h"
#include "tls_facts.h"
#include "tls_wbuf.h"

/* The connection failed (h->conn_error says how: a GOAWAY with an error, sent because the client
 * broke the protocol, or the client's). Every stream in flight fails with that reason as a lost
 * connection (-1005: what the app sees of a connection cut under its requests). With none in
 * flight the failure is still shown once: on the tunnel's flow when no request came yet (not a
 * refusal of httpeek's certificate), else on a connection record of its own. */
static void conn_failed(struct session *s, const char *why)
{
    struct front_h2 *h = front_h2_of(s);
    int in_flight = 0;
    for (struct h2_stream *st = h->streams; st; st = st->next) {
        struct exchange *ex = &st->ex;
        if (!ex->flow)
            continue;
        in_flight++;
        flow_fail(ex->flow, !ex->req_done ? FLOW_STAGE_SEND
                             : ex->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT,
                  0, "%s", why);
    }
    front_h2_teardown(s, why);
    if (in_flight)
        return;
    struct flow *f = s->tun.flow;
    if (!f) {
        if (!(f = session_flow_new(s)))
            return;
        char url[300];
        snprintf(url, sizeof url, "%.255s:%d", s->tun.host, s->tun.port);
        f->kind = FLOW_TUNNEL;
        flow_set_url(f, url);
        str_copy(f->host, sizeof f->host, s->tun.host);
        f->port = s->tun.port;
        snprintf(f->note, sizeof f->note, "HTTP/2 connection after %d request(s) on it",
                 s->tun.requests);
        tls_facts_to_flow(&s->client.tls, f, 0);
        flow_fail(f, FLOW_STAGE_TUNNEL, 0, "%s", why);
        record_flow(s->proxy, f);
        return;
    }
    flow_fail(f, FLOW_STAGE_TUNNEL, 0, "%s", why); /* tunnel_end records it */
}

/* Flush the engine into the client leg; close when it is done or failed. */
static void front_h2_flush(struct session *s)
{
    struct front_h2 *h = front_h2_of(s);
    if (!h || s->state == SESSION_S_CLOSING)
        return;
    front_h2_drain_answers(s, 1);
    struct evbuffer *out = leg_output(&s->client);
    int r = out ? h2_server_flush(h->h2, out) : -1;
    /* a GOAWAY with an error may go out in this flush (nghttp2 queues it while reading) */
    int failed = r < 0 || h->failed || h->conn_failed;
    if (failed || h2_server_done(h->h2) || (h->draining && h2_server_streams(h->h2) == 0)) {
        if (failed)
            conn_failed(s, h->conn_error ? h->conn_error : "the HTTP/2 connection failed");
        else
            front_h2_teardown(s, "connection closed");
        session_close(s, 1);
        return;
    }
    if (h2_server_streams(h->h2) == 0 && s->state != SESSION_S_IDLE)
        session_set_state(s, SESSION_S_IDLE, "no stream open");
    else if (h2_server_streams(h->h2) > 0 && s->state == SESSION_S_IDLE)
        session_set_state(s, SESSION_S_EXCHANGE, "streams open");
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    front_h2_flush(arg);
}


/* ------------------------------------------------------------------------------------------ */
/* The client leg */

static void client_read(struct bufferevent *bev, void *arg)
{
    struct leg *leg = arg;
    struct session *s = leg->owner;
    struct front_h2 *h = front_h2_of(s);
    if (!h || s->state == SESSION_S_CLOSING)
        return;
    s->last_activity = flow_now_us();
    struct evbuffer *in = bufferevent_get_input(bev);
    /* no stream open (idle) and the store is behind: new streams wait, as an HTTP/1.1 client's
     * next request does (docs/HTTP2.md, "Store hold") */
    if (s->state == SESSION_S_IDLE && evbuffer_get_length(in) > 0 && session_hold_for_store(s))
        return;
    while (evbuffer_get_length(in) > 0 && !h->failed) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len;
        if (h2_server_feed(h->h2, v.iov_base, n) < 0)
            h->failed = 1;
        evbuffer_drain(in, n);
        if (s->state == SESSION_S_CLOSING)
            return;
    }
    if (h->failed)
        evbuffer_drain(in, evbuffer_get_length(in));
    front_h2_flush(s);
}

static void client_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct session *s = leg->owner;
    tls_wbuf_flush(leg->ssl);
    front_h2_flush(s); /* the client read: response bytes waiting in the queues go out */
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
    struct leg *leg = arg;
    struct session *s = leg->owner;
    struct front_h2 *h = front_h2_of(s);
    (void)what;
    if (leg->ssl)
        tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    if (h && s->state != SESSION_S_CLOSING)
        h2_server_eof(h->h2); /* every open stream closes: by the client */
    front_h2_teardown(s, "client closed the connection before the response was complete");
    session_close(s, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* What the session asks of this front */

static void h2f_start(struct session *s, struct bufferevent *bev)
{
    (void)bev; /* only ever handed a tunnel's client leg */
    s->front_state = NULL; /* the accepting front's inline state is not ours */
    const struct opts *o = s->proxy->opts;
    struct front_h2 *h = calloc(1, sizeof *h);
    struct h2_limits lim;
    h2_limits_default(&lim);
    if (o->max_header_bytes)
        lim.max_header_list = (uint32_t)o->max_header_bytes;
    if (o->max_headers)
        lim.max_header_fields = (uint32_t)o->max_headers;
    if (!h || !(h->front_h2_kick = event_new(s->base, -1, 0, on_kick, s)) ||
        !(h->h2 = h2_server_new(&front_h2_engine_ops, s, &lim))) {
        if (h && h->front_h2_kick)
            event_free(h->front_h2_kick);
        free(h);
        log_msg(LOG_ERROR, "out of memory starting an HTTP/2 connection");
        session_close(s, 0);
        return;
    }
    s->front_state = h;
    leg_parser_free(&s->client); /* requests come as h2 frames from now on: the HTTP/1 request
                                  * parser (and the CONNECT's head in it) is not needed again */
    s->up.ex = NULL; /* the tunnel's upstream leg waits for the first stream */
    bufferevent_setcb(s->client.bev, client_read, client_write, client_event, &s->client);
    if (s->client.ssl)
        tls_wbuf_bind(s->client.ssl, s->client.bev);
    bufferevent_setwatermark(s->client.bev, EV_READ, 0, LEG_INBUF_MAX);
    bufferevent_enable(s->client.bev, EV_READ | EV_WRITE);
    leg_read_enabled(s->client.bev);
    uplink_adopt(&s->up);
    session_set_state(s, SESSION_S_IDLE, "tunnel intercepted (h2)");
    if (evbuffer_get_length(bufferevent_get_input(s->client.bev)) > 0)
        client_read(s->client.bev, &s->client);
    else
        front_h2_flush(s); /* our SETTINGS */
}

static void h2f_input(struct session *s)
{
    if (s->client.bev)
        client_read(s->client.bev, &s->client);
}

static double h2f_deadline(struct session *s, int *lazy)
{
    (void)s;
    *lazy = 0;
    return 0; /* each stream has its own */
}

static void h2f_timed_out(struct session *s, double secs)
{
    (void)s;
    (void)secs;
}

static int h2f_between_exchanges(struct session *s)
{
    struct front_h2 *h = front_h2_of(s);
    return !h || (!h->up_owner && !h->streams);
}

static void h2f_end(struct session *s, const char *why)
{
    struct front_h2 *h = front_h2_of(s);
    if (!h)
        return;
    front_h2_teardown(s, why);
    front_h2_drain_answers(s, 0);
    h2_server_free(h->h2);
    if (h->front_h2_kick)
        event_free(h->front_h2_kick);
    free(h->covered);
    free(h->conn_error);
    free(h);
    s->front_state = NULL;
}

/* Shutdown or idle timeout: GOAWAY NO_ERROR with the last stream taken (nghttpx does the same):
 * the client opens no new stream here, those in flight finish, then the connection closes. */
static void h2f_drain(struct session *s, const char *why)
{
    struct front_h2 *h = front_h2_of(s);
    if (!h || h->draining || h->failed || s->state == SESSION_S_CLOSING)
        return;
    h->draining = 1;
    log_msg(LOG_DEBUG, "conn %llu: HTTP/2 GOAWAY NO_ERROR sent (%s), %zu stream(s) to finish",
            (unsigned long long)s->id, why, h2_server_streams(h->h2));
    h2_server_shutdown(h->h2);
    front_h2_flush(s);
}

static void h2f_release(struct session *s)
{
    struct front_h2 *h = front_h2_of(s);
    if (h && h->h2)
        h2_server_release_idle(h->h2);
}

const struct session_front front_h2 = {0,
                                       h2f_start,
                                       h2f_input,
                                       h2f_deadline,
                                       h2f_timed_out,
                                       h2f_between_exchanges,
                                       h2f_end,
                                       NULL,
                                       h2f_drain,
                                       h2f_release};
