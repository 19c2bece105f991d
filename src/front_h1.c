/* front_h1.c — see front_h1.h. Parser callbacks only record facts and pass bytes on; transitions
 * happen in advance() after the parser returned (settle), so no parser is ever resumed or freed
 * under itself, and the session is only freed from its timer (session_close schedules it). */
#include "front_h1.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include "clients.h"
#include "exchange.h"
#include "front_h2.h"
#include "log.h"
#include "own.h"
#include "record.h"
#include "rules.h"
#include "setup.h"
#include "tls_facts.h"
#include "tls_wbuf.h"
#include "trailers.h"

struct front_h1 {
    struct exchange ex;             /* the exchange in progress (ex.flow NULL between them) */
    enum http1_framing resp_out;    /* response body framing towards the client */
    int client_keep_alive;          /* the client may send another request */
    int local_request;              /* httpeek's own page: 1 dropped, 2 recorded */
    unsigned exchanges;             /* exchanges completed on this connection */
    uint64_t head_started;          /* monotonic µs when the current request head began */
};

static const struct http1_handlers request_handlers;
static const struct exchange_front exchange_ops;
static void process_client_input(struct session *s);
static void client_read(struct bufferevent *bev, void *arg);
static void client_write(struct bufferevent *bev, void *arg);
static void client_event(struct bufferevent *bev, short what, void *arg);

static struct front_h1 *h1_of(struct session *s)
{
    return s->front_state;
}

static struct session *session_of(struct exchange *ex)
{
    return ex->front_arg;
}

/* ------------------------------------------------------------------------------------------ */
/* Start */

/* A request parser for the client leg, with the request size limits of the options. Returns 0,
 * or -1 out of memory. Every h1 callback below runs with it made (h1_start closes without). */
static int client_parser_init(struct session *s)
{
    const struct opts *o = s->proxy->opts;
    struct http1_parser *p = leg_parser_reset(&s->client, 1, &request_handlers, &s->client);
    if (!p)
        return -1;
    struct http1_limits lim = {o->max_request_line, o->max_header_line, o->max_header_bytes,
                               o->max_headers};
    http1_parser_set_limits(p, &lim);
    return 0;
}

static void h1_start(struct session *s, struct bufferevent *bev)
{
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    ex->front = &exchange_ops;
    ex->front_arg = s;
    ex->conn_id = s->id;
    ex->proxy = s->proxy;
    ex->base = s->base;
    ex->dns = s->dns;
    ex->tun = &s->tun;
    ex->client_addr = s->client_addr;
    ex->activity = &s->last_activity;
    ex->client_fd = -1;
    exchange_bind(ex, &s->up); /* the one exchange (ex.flow NULL between requests) */
    if (bev) /* accepted */
        leg_attach(&s->client, bev, NULL, client_read, client_write, client_event);
    if (client_parser_init(s) < 0) {
        log_msg(LOG_ERROR, "out of memory starting a connection's request parser");
        session_close(s, 0);
        return;
    }
    if (bev) {
        session_set_state(s, SESSION_S_IDLE, "accepted");
        return;
    }
    /* a tunnel's client TLS handshake completed: requests follow inside it */
    bufferevent_setcb(s->client.bev, client_read, client_write, client_event, &s->client);
    if (s->client.ssl)
        tls_wbuf_bind(s->client.ssl, s->client.bev); /* client_write flushes it */
    bufferevent_setwatermark(s->client.bev, EV_READ, 0, LEG_INBUF_MAX);
    bufferevent_enable(s->client.bev, EV_READ | EV_WRITE);
    leg_read_enabled(s->client.bev);
    uplink_adopt(&s->up);
    session_set_state(s, SESSION_S_IDLE, "tunnel intercepted");
    if (evbuffer_get_length(bufferevent_get_input(s->client.bev)) > 0)
        process_client_input(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Request parser callbacks (client leg) */

/* A connection on its second exchange or later keeps its TLS record buffers between records
 * (see SESSION_BUFFER_HOLD in session.c). */
static void hold_tls_buffers(struct session *s)
{
    if (s->client.ssl)
        SSL_clear_mode(s->client.ssl, SSL_MODE_RELEASE_BUFFERS);
    if (s->up.leg.ssl)
        SSL_clear_mode(s->up.leg.ssl, SSL_MODE_RELEASE_BUFFERS);
}

/* httpeek's own pages (setup site, CA download): answered here, in HTTP/1. */
static void answer_locally(struct session *s, struct front_h1 *h)
{
    struct exchange *ex = &h->ex;
    struct flow *f = ex->flow;
    int intercepted = s->tun.intercepted;
    ex->resp_started = ex->resp_done = 1;
    h->local_request = 1;
    char self[300];
    int fd = bufferevent_getfd(s->client.bev);
    own_local_address(fd, self, sizeof self, NULL);
    if (!self[0])
        snprintf(self, sizeof self, "127.0.0.1:8080");
    const char *path = f->req->target;
    if (path[0] != '/') { /* http://httpeek.test/... through the proxy */
        char s2[16], h2[256];
        int p2;
        if (exchange_parse_absolute(f->req->target, s2, sizeof s2, h2, sizeof h2, &p2, &path) < 0)
            path = "/";
    }
    struct client_summary seen;
    clients_get(s->proxy->clients, s->client_addr, &seen);
    struct setup_client who = {.proxy_hostport = self,
                               .via_proxy = intercepted || f->req->target[0] != '/',
                               .via_tls = intercepted, .proxied = seen.proxied,
                               .tls_trusted = seen.tls_trusted, .tls_refused = seen.tls_refused,
                               .reach = &s->proxy->reach};
    if (setup_is_ca_download(path))
        clients_note(s->proxy->clients, s->client_addr, CLIENT_CA_DOWNLOADED);
    struct evbuffer *out = leg_output(&s->client);
    size_t before = evbuffer_get_length(out);
    int status = setup_respond(out, path, ex->head_request, s->proxy->ca, &who,
                               !h->client_keep_alive);
    /* recorded (2) when the page does not exist or with --record-own, else dropped (1) */
    h->local_request = own_page_flow(f, s->proxy->opts->record_own, fd, intercepted, path, status,
                                     out, before, ex->head_request) ? 2 : 1;
    ex->upgrade_requested = 0;
}

static int on_req_head(void *arg, struct http1_head *head)
{
    struct leg *leg = arg;
    struct session *s = leg->owner;
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    struct flow *f = ex->flow = session_flow_new(s);
    if (!f || !(f->req = http1_head_take(head)))
        return -1;
    exchange_init(ex, f);
    if (f->req->framing == HTTP1_LENGTH)
        flow_capture_expect(&f->req_body, f->req->content_length);
    ex->client_fd = s->client.bev ? bufferevent_getfd(s->client.bev) : -1;
    if (h->head_started) /* the head began arriving before it was complete */
        f->marks.start = h->head_started;
    h->head_started = 0;
    h->local_request = 0;
    h->client_keep_alive = f->req->keep_alive;
    if (h->exchanges)
        hold_tls_buffers(s);
    if (s->tun.intercepted) {
        if (!s->tun.requests++) {
            if (!s->tun.mirror_untrusted) /* a client taking our mirror of a bad server proves nothing */
                rules_client_accepted(s->proxy->rules, s->client_addr,
                                      s->tun.sni[0] ? s->tun.sni : s->tun.host);
        }
        /* The tunnel's connect and TLS timings belong to its first request (as HAR does). */
        tunnel_take_flow(&s->tun, f);
    }
    if (f->req->method == HTTP_CONNECT) {
        if (s->tun.intercepted) {
            flow_set_url(f, f->req->target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "CONNECT inside an intercepted tunnel");
            ex->flow = NULL;
            session_refuse(s, f, 400, FLOW_REFUSED_UNSUPPORTED,
                           "CONNECT inside an intercepted tunnel is not supported");
            return -1;
        }
        f->kind = FLOW_TUNNEL;
        flow_set_url(f, f->req->target);
        return 0; /* handled when the parser stops at the upgrade */
    }
    int r = exchange_start(ex);
    if (r < 0)
        return -1;
    if (r == 1) /* httpeek's own pages: answer now */
        answer_locally(s, h);
    return 0;
}

/* Back-pressure on the client by where its request bytes went. */
static void throttle_client(struct session *s, enum exchange_body where)
{
    if (where == EXCHANGE_BODY_SENT) {
        leg_throttle(&s->client, &s->up.leg);
    } else if (where == EXCHANGE_BODY_FULL) { /* resumed by ex_req_resume */
        bufferevent_disable(s->client.bev, EV_READ);
        s->client.paused_by_peer = 1;
    }
}

static int on_req_body(void *arg, const char *data, size_t len)
{
    struct leg *leg = arg;
    struct session *s = leg->owner;
    struct front_h1 *h = h1_of(s);
    flow_capture_add(&h->ex.flow->req_body, data, len);
    if (h->local_request)
        return 0; /* a local page's request body is read and dropped */
    throttle_client(s, exchange_req_body(&h->ex, data, len));
    return 0;
}

static int on_req_done(void *arg)
{
    struct leg *leg = arg;
    struct session *s = leg->owner;
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    if (ex->flow->req->method == HTTP_CONNECT || ex->upgrade_requested) {
        ex->req_done = 1;
        return 1; /* llhttp stops at the upgrade by itself */
    }
    if (h->local_request) {
        ex->req_done = 1;
        ex->flow->marks.send_end = flow_now_us();
        session_set_state(s, s->state, "request read");
        return 0;
    }
    throttle_client(s, exchange_req_end(ex));
    return 0; /* pause: a pipelined request waits for this exchange */
}

/* A chunked request's trailer section: recorded, and forwarded with the request's end. */
static int on_req_trailers(void *arg, const struct http1_field *fields, size_t n)
{
    struct leg *leg = arg;
    struct exchange *ex = &h1_of(leg->owner)->ex;
    return ex->flow ? trailers_record_http1(ex->flow, 0, fields, n) : 0;
}

static const struct http1_handlers request_handlers = {on_req_head, on_req_body, on_req_done,
                                                       on_req_trailers};

/* ------------------------------------------------------------------------------------------ */
/* What the exchange tells this front */

static void ex_phase(struct exchange *ex, enum exchange_phase p, const char *why)
{
    session_set_state(session_of(ex),
                      p == EXCHANGE_CONNECTING ? SESSION_S_CONNECTING : SESSION_S_EXCHANGE, why);
}

static int ex_resp_head(struct exchange *ex, struct http1_head *resp, unsigned exflags)
{
    struct session *s = session_of(ex);
    struct front_h1 *h = h1_of(s);
    struct evbuffer *out = leg_output(&s->client);
    if (!out)
        return -1;
    if (resp->status >= 100 && resp->status < 200 && resp->status != 101) {
        http1_write_response_head(out, resp, HTTP1_NO_BODY, 0); /* interim: the final one follows */
        return 0;
    }
    struct http1_head *req = ex->flow->req;
    int client_11 = req->major == 1 && req->minor >= 1;
    unsigned flags = exflags & EXCHANGE_STRIP_ALT_SVC ? HTTP1_STRIP_ALT_SVC : 0;
    if (resp->status == 101) {
        h->resp_out = HTTP1_NO_BODY;
        flags |= HTTP1_KEEP_UPGRADE;
    } else if (ex->head_request) {
        h->resp_out = resp->framing; /* Content-Length of a HEAD answer passes unchanged */
    } else if (resp->framing == HTTP1_UNTIL_EOF) {
        /* Re-frame as chunked so an HTTP/1.1 client keeps its connection (RFC 9112 §6.3). */
        h->resp_out = client_11 ? HTTP1_CHUNKED : HTTP1_UNTIL_EOF;
    } else if (resp->framing == HTTP1_CHUNKED && !client_11) {
        h->resp_out = HTTP1_UNTIL_EOF; /* HTTP/1.0 clients do not know chunked */
    } else {
        h->resp_out = resp->framing;
    }
    if (h->resp_out == HTTP1_UNTIL_EOF || !ex->req_done)
        h->client_keep_alive = 0;
    if (resp->status != 101) {
        if (!h->client_keep_alive)
            flags |= HTTP1_CLOSE;
        else if (!client_11)
            flags |= HTTP1_KEEP_ALIVE;
    }
    /* A small response goes to the client as one TLS record and one write: room for the head
     * and the whole body in one chain (evbuffer_add would start a second chain for the body, and
     * the TLS bufferevent writes each chain as its own record and syscall). */
    if (h->resp_out == HTTP1_LENGTH && resp->framing == HTTP1_LENGTH && !ex->head_request &&
        resp->content_length <= LEG_COALESCE_MAX && evbuffer_get_length(out) == 0)
        evbuffer_expand(out, resp->wire_size + 64 + (size_t)resp->content_length);
    return http1_write_response_head(out, resp, h->resp_out, flags);
}

static int ex_resp_body(struct exchange *ex, const char *data, size_t len)
{
    struct session *s = session_of(ex);
    if (s->client.ssl)
        tls_wbuf_out_room(leg_output(&s->client)); /* whole 16 KiB records (tls_wbuf.h) */
    if (http1_write_body(leg_output(&s->client), h1_of(s)->resp_out, data, len) < 0)
        return -1;
    uplink_throttle(&s->up, &s->client);
    return 0;
}

static void ex_resp_end(struct exchange *ex)
{
    struct session *s = session_of(ex);
    struct front_h1 *h = h1_of(s);
    if (!ex->head_request && h->resp_out != HTTP1_UNTIL_EOF) /* chunked: with the trailers */
        trailers_write_http1(leg_output(&s->client), h->resp_out,
                             ex->flow ? ex->flow->resp_trailers : NULL);
}

static void advance(struct session *s);

static void ex_settle(struct exchange *ex)
{
    advance(session_of(ex));
}

static void ex_fail(struct exchange *ex, struct flow *f, int status, const char *reason)
{
    session_answer(session_of(ex), f, status, reason);
}

static void ex_cut(struct exchange *ex, int flush)
{
    session_close(session_of(ex), flush);
}

static void ex_upgraded(struct exchange *ex, struct ws_tap *tap)
{
    session_relay(session_of(ex), tap);
}

static void ex_req_resume(struct exchange *ex)
{
    struct session *s = session_of(ex);
    if (s->client.paused_by_peer) {
        s->client.paused_by_peer = 0;
        bufferevent_enable(s->client.bev, EV_READ);
        leg_read_enabled(s->client.bev);
    }
    if (!ex->req_done && evbuffer_get_length(bufferevent_get_input(s->client.bev)) > 0)
        process_client_input(s);
}

static void ex_req_drained(struct exchange *ex)
{
    struct session *s = session_of(ex);
    leg_drained(&s->up.leg, &s->client);
}

static const struct exchange_front exchange_ops = {
    ex_phase, ex_resp_head, ex_resp_body, ex_resp_end, ex_settle,
    ex_fail,  ex_cut,       ex_upgraded,  ex_req_resume, ex_req_drained};

/* ------------------------------------------------------------------------------------------ */
/* Moving on */

static void finish_exchange(struct session *s)
{
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    if (s->tun.intercepted)
        tls_facts_to_flow(&s->client.tls, ex->flow, 0);
    exchange_finish(ex, h->local_request);
    if (!h->client_keep_alive) {
        session_close(s, 1);
        return;
    }
    session_set_state(s, SESSION_S_IDLE, "exchange done");
    h->exchanges++;
    s->up.exchanges++;
    http1_parser_resume(s->client.parser);
    /* client_read may have stopped it; enabling a bufferevent that reads already would only
     * add its event again (the base's lock and a timer check per request) */
    if (s->client.bev && !s->client.paused_by_peer &&
        !(bufferevent_get_enabled(s->client.bev) & EV_READ))
        bufferevent_enable(s->client.bev, EV_READ);
    if (s->client.bev && evbuffer_get_length(bufferevent_get_input(s->client.bev)) > 0)
        process_client_input(s);
}

/* Move on once the parsers have said what happened. */
static void advance(struct session *s)
{
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    if (!ex->flow || s->state == SESSION_S_CLOSING)
        return;
    if (ex->resp_done && ex->req_done) {
        finish_exchange(s);
    } else if (h->local_request) {
        /* a local page answered before its request body ended: keep reading it */
    } else if (ex->resp_done) {
        /* The server answered before the request ended (e.g. 413): the client connection cannot
         * be reused without reading the rest, so end it here. */
        struct flow *f = ex->flow;
        ex->flow = NULL;
        snprintf(f->note, sizeof f->note, "response arrived before the request body ended");
        record_flow(s->proxy, f);
        session_close(s, 1);
    }
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

/* The request parser failed: answer 400/414/431 (or cut off when a response already went). */
static void refuse_bad_request(struct session *s)
{
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    struct http1_parser *p = s->client.parser;
    struct flow *f = ex->flow;
    char limit[160] = "";
    const struct opts *o = s->proxy->opts;
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
        snprintf(limit, sizeof limit, "more than %zu header fields (--max-headers)", o->max_headers);
        break;
    case HTTP1_LIMIT_NONE:
        break;
    }
    if (!f && (f = session_flow_new(s))) {
        const char *target = http1_parser_target(p);
        char url[300];
        snprintf(url, sizeof url, "%.200s%s", target ? target : "-",
                 target && strlen(target) > 200 ? "..." : "");
        flow_set_url(f, url);
    }
    ex->flow = NULL;
    if (f) {
        f->fail.parse_error = p->error_name;
        if (limit[0])
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "request refused: %s", limit);
        else
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "invalid request: %s (%s at byte %zu)",
                      p->error, p->error_name, p->error_offset);
    }
    if (ex->resp_started) {
        if (f)
            record_flow(s->proxy, f);
        session_close(s, 0);
        return;
    }
    char why[300];
    if (limit[0])
        snprintf(why, sizeof why, "request refused: %s", limit);
    else
        snprintf(why, sizeof why, "invalid request: %s (%s at byte %zu)", p->error, p->error_name,
                 p->error_offset);
    int status = p->limit == HTTP1_LIMIT_TARGET ? 414 : p->limit != HTTP1_LIMIT_NONE ? 431 : 400;
    enum flow_refusal kind = p->limit == HTTP1_LIMIT_TARGET ? FLOW_REFUSED_TARGET_LIMIT
                             : p->limit != HTTP1_LIMIT_NONE ? FLOW_REFUSED_HEAD_LIMIT
                             : p->error_name && !strcmp(p->error_name, "HPE_INVALID_URL")
                                 ? FLOW_REFUSED_BAD_TARGET
                                 : FLOW_REFUSED_BAD_REQUEST;
    session_refuse(s, f, status, kind, why);
}

static void process_client_input(struct session *s)
{
    struct front_h1 *h = h1_of(s);
    struct exchange *ex = &h->ex;
    struct evbuffer *in = bufferevent_get_input(s->client.bev);
    if (s->state == SESSION_S_CLOSING || (ex->flow && ex->req_done))
        return; /* paused: a pipelined request waits for the current exchange */
    if (s->state == SESSION_S_IDLE && evbuffer_get_length(in) > 0 && session_hold_for_store(s))
        return;
    if (s->state == SESSION_S_IDLE && evbuffer_get_length(in) > 0) {
        h->head_started = flow_now_us();
        session_set_state(s, SESSION_S_REQUEST_HEAD, "request begins");
    }
    enum http1_feed_result r = http1_feed(s->client.parser, in);
    if (s->state == SESSION_S_CLOSING)
        return;
    switch (r) {
    case HTTP1_FEED_MORE:
    case HTTP1_FEED_PAUSED:
        break;
    case HTTP1_FEED_UPGRADE:
        if (ex->flow && ex->flow->req && ex->flow->req->method == HTTP_CONNECT) {
            char host[256];
            int port;
            struct flow *f = ex->flow;
            ex->flow = NULL;
            if (opts_split_hostport(f->req->target, host, sizeof host, &port, 0) < 0) {
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "CONNECT needs host:port, got '%.100s'",
                          f->req->target);
                session_refuse(s, f, 400, FLOW_REFUSED_BAD_TARGET,
                               "CONNECT needs a host:port authority");
                return;
            }
            lowercase(host);
            session_tunnel(s, f, host, port);
            return;
        }
        break; /* an upgrade request: the response decides */
    case HTTP1_FEED_ERROR:
        refuse_bad_request(s);
        return;
    }
    advance(s);
}

static void client_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct session *s = leg->owner;
    s->last_activity = flow_now_us();
    process_client_input(s);
    /* libevent 2.1 runs the read callback again (deferred, without reading) for as long as the
     * input stays at its high-water mark with reading on: pipelined requests filling it while an
     * exchange is in progress would spin the worker. Stop reading; finish_exchange resumes. */
    if (s->state != SESSION_S_CLOSING && s->client.bev &&
        evbuffer_get_length(bufferevent_get_input(s->client.bev)) >= LEG_INBUF_MAX)
        bufferevent_disable(s->client.bev, EV_READ);
}

static void client_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct session *s = leg->owner;
    tls_wbuf_flush(leg->ssl); /* the output drained into the gathered records: out they go */
    uplink_client_drained(&s->up, &s->client);
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
    struct leg *leg = arg;
    struct session *s = leg->owner;
    struct exchange *ex = &h1_of(s)->ex;
    int sock_err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    if (leg->ssl)
        tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    if (ex->flow && !ex->resp_done) {
        tls_facts_to_flow(&s->client.tls, ex->flow, 0);
        exchange_client_gone(ex, sock_err);
    }
    session_close(s, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* What the session asks of this front */

static void h1_input(struct session *s)
{
    process_client_input(s);
}

static double h1_deadline(struct session *s, int *lazy)
{
    struct exchange *ex = &h1_of(s)->ex;
    *lazy = 0;
    if (s->state == SESSION_S_REQUEST_HEAD)
        return s->proxy->opts->header_timeout;
    return exchange_deadline(ex, s->state == SESSION_S_CONNECTING ? EXCHANGE_CONNECTING
                                                                  : EXCHANGE_FORWARDING, lazy);
}

static void h1_timed_out(struct session *s, double secs)
{
    struct exchange *ex = &h1_of(s)->ex;
    if (s->state != SESSION_S_REQUEST_HEAD) {
        if (!ex->flow) {
            session_close(s, 0);
            return;
        }
        exchange_timed_out(ex, s->state == SESSION_S_CONNECTING ? EXCHANGE_CONNECTING
                                                                : EXCHANGE_FORWARDING, secs);
        return;
    }
    struct flow *hf = session_flow_new(s);
    if (hf) {
        const char *target = /* as far as it came */
            s->client.parser ? http1_parser_target(s->client.parser) : NULL;
        char url[300];
        snprintf(url, sizeof url, "%.200s%s", target && target[0] ? target : "-",
                 target && strlen(target) > 200 ? "..." : "");
        flow_set_url(hf, url);
        hf->fail.timeout = 1;
        flow_fail(hf, FLOW_STAGE_CLIENT_REQUEST, ETIMEDOUT,
                  "request head not received within %gs (--header-timeout)", secs);
    }
    char why[96];
    snprintf(why, sizeof why, "request head not received within %gs", secs);
    session_refuse(s, hf, 408, FLOW_REFUSED_HEADER_TIMEOUT, why);
}

static int h1_between_exchanges(struct session *s)
{
    struct exchange *ex = &h1_of(s)->ex;
    return !ex->flow &&
           (s->state == SESSION_S_IDLE || s->state == SESSION_S_REQUEST_HEAD ||
            (s->state == SESSION_S_EXCHANGE && ex->req_done && ex->resp_done));
}

static void h1_end(struct session *s, const char *why)
{
    exchange_abandon(&h1_of(s)->ex, why);
}

const struct session_front front_h1 = {sizeof(struct front_h1), h1_start,     h1_input,
                                       h1_deadline,             h1_timed_out, h1_between_exchanges,
                                       h1_end,                  &front_h2,
                                       NULL,                    NULL};
