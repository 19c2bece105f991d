/* exchange.c — see exchange.h. A request routed (exchange_route.c decides where), its uplink
 * (connect, TLS, HTTP/1 or HTTP/2 out and in), and what each failure means for the flow. The
 * request's way out (connection, head, body) is exchange_request.c.
 *
 * Callback discipline (as the fronts'): parser callbacks only record facts and pass bytes on;
 * the front moves on in ops->settle after the parser returned, so no parser is ever resumed or
 * freed under itself. */
#include "exchange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include "clients.h"
#include "exchange_hold.h"
#include "exchange_request.h"
#include "exchange_route.h"
#include "log.h"
#include "own.h"
#include "record.h"
#include "str.h"
#include "h2_client.h"
#include "tls_facts.h"
#include "trailers.h"
#include "uplink_h2.h"
#include "ws_tap.h"

static const struct uplink_ops uplink_ops;

void exchange_bind(struct exchange *ex, struct uplink *u)
{
    ex->up = u;
    u->ex = ex;
    u->ops = &uplink_ops;
}

void exchange_init(struct exchange *ex, struct flow *f)
{
    if (ex->bp) /* the last exchange ended with its flow taken by the front */
        ex->proxy->policy->bp_drop(ex, 0, 0);
    ex->flow = f;
    ex->phase = EXCHANGE_FORWARDING;
    ex->req_done = ex->resp_started = ex->resp_done = 0;
    ex->retried = ex->retry_h2 = 0;
    exchange_hold_drop(ex);
    ex->rule_local = 0;
    ex->rule_timeout = 0;
    ex->throttle_bytes_per_sec = 0;
    ex->bp_paused = 0;
    ex->head_request = f->req->method == HTTP_HEAD;
    ex->upgrade_requested = f->req->upgrade && f->req->method != HTTP_CONNECT;
    ex->up->req_out = f->req->framing;
}

/* httpeek answers the request itself (enum flow_refusal why): fail, with the facts the diagnosis
 * needs (where the client reached httpeek, for its advice). */
static void refuse(struct exchange *ex, int status, enum flow_refusal why, const char *reason)
{
    struct flow *f = ex->flow;
    f->fail.refusal = why;
    own_local_address(ex->client_fd, f->proxy_addr, sizeof f->proxy_addr, NULL);
    exchange_fail(ex, status, reason);
}

/* The response cannot go on: record the flow, then the front ends the client connection. */
static void cut(struct exchange *ex, int flush)
{
    if (ex->bp)
        ex->proxy->policy->bp_drop(ex, 0, 0);
    struct flow *f = ex->flow;
    ex->flow = NULL;
    exchange_hold_drop(ex);
    uplink_h2_stream_done(ex->up);
    record_flow(ex->proxy, f);
    ex->front->cut(ex, flush);
}

/* ------------------------------------------------------------------------------------------ */
/* Routing */

/* Decide where the request goes (exchange_route.c), let the rules have their say, and queue
 * its head: 0, 1 for httpeek's own pages, or -1 after having failed the exchange. */
static int route_request(struct exchange *ex)
{
    struct flow *f = ex->flow;
    const struct tunnel *tun = ex->tun;
    struct exchange_route r;
    enum flow_refusal no = FLOW_REFUSED_NONE;
    char reason[400];
    switch (exchange_route(ex, &r, &no, reason, sizeof reason)) {
    case EXCHANGE_ROUTE_OWN:
        return 1;
    case EXCHANGE_ROUTE_REFUSED:
        refuse(ex, 400, no, reason);
        return -1;
    case EXCHANGE_ROUTE_UPSTREAM:
        break;
    }
    const char *path = r.path, *host_field = r.host_field;
    int port = r.port;
    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    if (pol && pol->throttle(ex, r.scheme, r.host, port, path) < 0)
        return -1; /* lost on purpose: the client connection was reset */
    struct rule_target rt; /* ~8.5 KB: filled field by field, not zeroed (S4 paid 8.8k
                            * instructions a request for the memset) */
    rt.port = port;
    rt.path = path;
    rt.host_field = host_field;
    rt.path_buf[0] = rt.authority[0] = '\0';
    str_copy(rt.scheme, sizeof rt.scheme, r.scheme);
    str_copy(rt.host, sizeof rt.host, r.host);
    enum rule_apply_result ruled = pol ? pol->route(ex, &rt) : RULE_APPLY_NONE;
    int held = 0; /* 1: a rewrite holds the request for its body (pol->req_done sends it) */
    if (pol && ruled != RULE_APPLY_FAILED && ex->flow &&
        (held = pol->rewrite_request(ex, r.scheme, r.host, port, path, &rt)) < 0) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        exchange_fail(ex, 500, "out of memory");
        return -1;
    }
    if (ruled == RULE_APPLY_ANSWERED || ruled == RULE_APPLY_FAILED)
        return ruled == RULE_APPLY_ANSWERED ? 0 : -1;
    const char *scheme = r.scheme, *host = r.host;
    if (ruled == RULE_APPLY_REMOTE) { /* elsewhere: the origin's tunnel error does not matter */
        scheme = rt.scheme;
        host = rt.host;
        port = rt.port;
        host_field = rt.host_field;
    } else if (tun->intercepted && tun->error[0]) {
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, 0, "%s", tun->error);
        tls_facts_to_flow(&ex->up->leg.tls, f, 1);
        exchange_fail(ex, 502, tun->error);
        return -1;
    }
    path = rt.path; /* a rewrite's URL or query edit */
    /* a request a rewrite holds for its body edits is not paused too (rule_rewrite sends it) */
    if (!held && pol && pol->bp_request && pol->bp_request(ex, scheme, host, port, path, host_field))
        return 0; /* held by a breakpoint: exchange_resume_request sends it */
    if (exchange_ensure_upstream(ex, host, port, !strcmp(scheme, "https")) < 0 ||
        (!held && exchange_send_request_head(ex, path, host_field) < 0)) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        exchange_fail(ex, 500, "out of memory");
        return -1;
    }
    return 0;
}

int exchange_start(struct exchange *ex)
{
    int r = route_request(ex);
    if (r == 0) {
        const struct tunnel *tun = ex->tun;
        struct proxy *p = ex->proxy;
        const char *ua = http1_head_get(ex->flow->req, "user-agent");
        if (tun->intercepted)
            clients_request(p->clients, ex->client_addr, ua, !tun->mirror_untrusted);
        else
            clients_plain_request(p->clients, ex->client_addr, ua);
    }
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Response parser callbacks (uplink leg) */

static int on_resp_head(void *arg, struct http1_head *head)
{
    struct uplink *u = arg;
    struct exchange *ex = u->ex;
    struct flow *f = ex ? ex->flow : NULL;
    if (!f)
        return -1;
    if (head->status >= 100 && head->status < 200 && head->status != 101) {
        /* Interim response (100 Continue, 103 Early Hints): pass it on, wait for the final one. */
        return ex->front->resp_head(ex, head, 0) < 0 ? -1 : 0;
    }
    if (head->status == 101 && !ex->upgrade_requested)
        return -1;
    if (f->resp) /* a second final response to one request: the upstream is out of step */
        return -1;
    if (!(f->resp = http1_head_take(head)))
        return -1;
    struct http1_head *resp = f->resp;
    if (resp->framing == HTTP1_LENGTH && !ex->head_request)
        flow_capture_expect(&f->resp_body, resp->content_length);
    u->reusable = resp->keep_alive && resp->framing != HTTP1_UNTIL_EOF && resp->status != 101;
    unsigned flags = exchange_alt_svc_flags(ex, f, resp);
    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    int held = 0;
    if (pol) {
        pol->resp_delay(ex);
        held = pol->resp_head(ex, resp, flags); /* status / headers edited; body held? */
        if (!held && pol->bp_response)
            held = pol->bp_response(ex, resp, flags); /* paused by a breakpoint */
    }
    if (held < 0 || (!held && ex->front->resp_head(ex, resp, flags) < 0))
        return -1;
    ex->resp_started = !held; /* a held head goes with its edited body (pol->resp_done) */
    return ex->head_request ? 1 : 0;
}

static int on_resp_body(void *arg, const char *data, size_t len)
{
    struct uplink *u = arg;
    struct exchange *ex = u->ex;
    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    if (ex->bp)
        return pol->bp_resp_body(ex, data, len);
    if (pol && pol->holding(ex))
        return pol->resp_body(ex, data, len);
    flow_capture_add(&ex->flow->resp_body, data, len);
    return ex->front->resp_body(ex, data, len);
}

/* A chunked response's trailer section: recorded (the front sends it on with the end). */
static int on_resp_trailers(void *arg, const struct http1_field *fields, size_t n)
{
    struct uplink *u = arg;
    struct exchange *ex = u->ex;
    if (!ex || !ex->flow || !ex->flow->resp)
        return 0; /* an interim response has none */
    return trailers_record_http1(ex->flow, 1, fields, n);
}

static int on_resp_done(void *arg)
{
    struct uplink *u = arg;
    struct exchange *ex = u->ex;
    if (!ex || !ex->flow || !ex->flow->resp)
        return 1; /* an interim response ended: the final one follows */
    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    if (pol && pol->holding(ex) && pol->resp_done(ex) < 0)
        return -1;
    if (u->trailers && !ex->flow->resp_trailers) /* HTTP/2: recorded, and passed on by the front */
        trailers_record(ex->flow, 1, u->trailers);
    if (ex->bp) /* paused whole: the breakpoint sends it on */
        return pol->bp_resp_done(ex);
    ex->front->resp_end(ex);
    ex->resp_done = 1;
    ex->flow->marks.end = flow_now_us();
    return ex->flow->resp->status == 101 ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Uplink connection */

static void flush_pending(struct exchange *ex)
{
    struct flow *f = ex->flow;
    if (uplink_flush_pending(ex->up) && f) {
        f->marks.send_start = flow_now_us();
        if (ex->req_done)
            f->marks.send_end = f->marks.send_start;
    }
    exchange_set_phase(ex, EXCHANGE_FORWARDING, "upstream ready");
    ex->front->req_resume(ex);
}

/* The uplink's connect finished. */
static void up_connected(struct uplink *u, const struct upstream_result *r)
{
    struct exchange *ex = u->ex;
    struct flow *f = ex ? ex->flow : NULL;
    if (!f) { /* client went away meanwhile */
        if (r->fd >= 0)
            close(r->fd);
        if (ex)
            ex->front->cut(ex, 0);
        return;
    }
    if (uplink_record_connect(f, r) < 0) {
        char why[320];
        snprintf(why, sizeof why, "cannot reach %s:%d: %s", u->host, u->port, r->reason);
        exchange_fail(ex, r->timeout ? 504 : 502, why);
        return;
    }
    if (uplink_open(u, ex->proxy, ex->base, r) < 0) {
        flow_fail(f, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        exchange_fail(ex, 500, "out of memory");
        return;
    }
    if (u->leg.ssl) {
        f->marks.tls_start = flow_now_us();
        exchange_set_phase(ex, EXCHANGE_CONNECTING, "upstream TLS handshake");
    } else {
        flush_pending(ex);
    }
}

/* The server chose h2 where the request waited as HTTP/1 bytes (a new connection offering h2
 * for a bodiless request, or a resumed tunnel handshake whose protocol was not known yet): it
 * goes out as a stream, its body from exchange_hold; a body not kept whole (or an Upgrade) goes
 * on a new HTTP/1.1 connection instead. 0, or -1 (the caller fails ex). */
static int resend_over_h2(struct exchange *ex)
{
    struct uplink *u = ex->up;
    char host[256], host_field[300];
    const char *path;
    int body = ex->flow->req->framing != HTTP1_NO_BODY;
    str_copy(host, sizeof host, u->host);
    if (ex->upgrade_requested || (body && ex->held_over)) {
        exchange_hold_drop(ex);
        u->offer_h2 = 0; /* the HTTP/1 bytes stay in u->pending for the new connection */
        if (uplink_connect(u, ex->base, ex->dns, host, u->port, 1,
                           ex->proxy->opts->upstream_timeout) < 0)
            return -1;
        exchange_set_phase(ex, EXCHANGE_CONNECTING, "connecting upstream (HTTP/1.1)");
        return 0;
    }
    if (exchange_route_again(ex, &path, host_field, sizeof host_field) < 0 ||
        uplink_h2_route(u, ex->proxy, ex->base, ex->client_addr, host, u->port, 1, 0) != 1)
        return -1;
    if (u->pending) /* the HTTP/1 head */
        evbuffer_drain(u->pending, evbuffer_get_length(u->pending));
    if (exchange_send_request_head(ex, path, host_field[0] ? host_field : NULL) < 0 ||
        (body && exchange_hold_replay(ex) < 0))
        return -1;
    if (ex->req_done)
        ex->flow->marks.send_end = ex->flow->marks.send_start;
    exchange_set_phase(ex, EXCHANGE_FORWARDING, "HTTP/2 stream on a new connection");
    ex->front->req_resume(ex);
    return 0;
}

/* Send the request once more: a bodiless request whose reused upstream closed before answering
 * (the keep-alive race of RFC 9112 §9.3.1) goes on a fresh HTTP/1.1 connection; one an HTTP/2
 * server did not process (unseen 1: REFUSED_STREAM, or queued under a GOAWAY) goes out again
 * over HTTP/2 — on the same shared connection when it can take a stream, another of this
 * client's, else a new connection (offering h2 when bodiless) — with its body when the whole
 * of what was sent is kept (EXCHANGE_HOLD_MAX). 0, or -1 when it cannot be retried (why_not
 * says why when that is worth telling the developer). */
static int retry_request(struct exchange *ex, int unseen, char *why_not, size_t len)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    int body = f && f->req->framing != HTTP1_NO_BODY;
    if (!f || !(f->reused_upstream || unseen) || ex->retried || ex->resp_started ||
        f->marks.first_byte) /* bytes_in counts earlier responses too */
        return -1;
    if (body && !(unseen && u->h2)) /* an HTTP/1 body went out and is not kept */
        return -1;
    if (body && ex->held_over) {
        snprintf(why_not, len, "not sent again: its body is larger than the %d KiB kept for a retry",
                 EXCHANGE_HOLD_MAX / 1024);
        return -1;
    }
    ex->retried = 1;
    ex->retry_h2 = unseen && u->h2;
    f->reused_upstream = 0;
    f->h2_upstream_stream_id = 0;
    if (!ex->retry_h2) /* else uplink_h2_route keeps the stream's connection if it can take one */
        uplink_h2_detach(u);
    leg_close(&u->leg);
    u->reusable = 0;
    char host_field[300];
    const char *path;
    if (exchange_route_again(ex, &path, host_field, sizeof host_field) < 0)
        return -1;
    char host[256];
    str_copy(host, sizeof host, u->host);
    if (exchange_ensure_upstream(ex, host, u->port, u->tls) < 0)
        return -1;
    if (u->h2) { /* a stream of a shared connection again */
        if (exchange_send_request_head(ex, path, host_field[0] ? host_field : NULL) < 0)
            return -1;
    } else if (http1_write_request_head(u->pending, f->req, path, host_field[0] ? host_field : NULL,
                                        u->req_out, 0) < 0) {
        return -1;
    }
    if (body && exchange_hold_replay(ex) < 0) /* a bodiless request's head ended it */
        return -1;
    log_msg(LOG_DEBUG, "conn %llu: %s, sent again%s", (unsigned long long)ex->conn_id,
            unseen ? "the HTTP/2 server did not process the request" : "reused upstream closed",
            u->h2 ? " as an HTTP/2 stream" : " on a new connection");
    return 0;
}

/* Response bytes arrived. */
static void up_input(struct uplink *u, struct evbuffer *in, size_t n)
{
    struct exchange *ex = u->ex;
    uint64_t now = flow_now_us();
    if (ex)
        *ex->activity = now;
    if (!ex || !ex->flow || ex->resp_done) {
        if (uplink_leg_is_h2(&u->leg) && !u->h2) { /* the h2 server speaks first (SETTINGS): */
            bufferevent_disable(u->leg.bev, EV_READ); /* kept for its shared connection */
            return;
        }
        /* Bytes nobody asked for: the connection is not reusable. */
        evbuffer_drain(in, n);
        leg_close(&u->leg);
        return;
    }
    struct flow *f = ex->flow;
    if (!f->marks.first_byte && n) {
        f->marks.first_byte = now;
        ex->front->phase(ex, ex->phase, "first response byte");
    }
    enum http1_feed_result r = uplink_feed(u, in);
    if (r == HTTP1_FEED_ERROR && ex->flow) {
        f = ex->flow;
        static const struct http1_parser no_parser = {.error = "out of memory",
                                                      .error_name = "HPE_USER"};
        const struct http1_parser *p = u->leg.parser ? u->leg.parser : &no_parser;
        f->fail.parse_error = p->error_name;
        flow_fail(f, ex->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, 0,
                  "invalid response from upstream: %s (%s at byte %zu)", p->error, p->error_name,
                  p->error_offset);
        if (!ex->resp_started)
            exchange_fail(ex, 502, f->fail.reason);
        else
            cut(ex, 0);
        return;
    }
    if (r == HTTP1_FEED_PAUSED && ex->resp_done && evbuffer_get_length(in) > 0) {
        /* Bytes past the end of the response (more than its Content-Length): never forwarded;
         * the connection is out of step, so it is not reused for the next request. */
        size_t extra = evbuffer_get_length(in);
        evbuffer_drain(in, extra);
        u->reusable = 0;
        if (!ex->flow->note[0])
            snprintf(ex->flow->note, sizeof ex->flow->note,
                     "upstream sent %zu bytes past the end of the response: dropped", extra);
    }
    if (r == HTTP1_FEED_UPGRADE && ex->flow && ex->flow->resp && ex->flow->resp->status == 101) {
        f = ex->flow;
        ex->flow = NULL;
        snprintf(f->note, sizeof f->note, "switched protocols: bytes relayed, not recorded");
        /* a WebSocket's messages are read off the relay: the tap numbers f and sets its note */
        struct ws_tap *tap = ws_tap_new(ex->proxy, f);
        record_flow(ex->proxy, f);
        ex->front->upgraded(ex, tap);
        return;
    }
    ex->front->settle(ex);
}

static void up_drained(struct uplink *u)
{
    if (u->ex && u->h2) /* an HTTP/2 stream's request queue has room again */
        u->ex->front->req_resume(u->ex);
    else if (u->ex)
        u->ex->front->req_drained(u->ex);
}

/* The connection's TLS handshake ended, or it closed or failed. */
static void up_event(struct uplink *u, short what, int sock_err)
{
    struct leg *leg = &u->leg;
    struct bufferevent *bev = leg->bev;
    struct exchange *ex = u->ex;
    struct flow *f = ex ? ex->flow : NULL;
    if (what & BEV_EVENT_CONNECTED) {
        if (ex && ex->tun->up_tls_pending) {
            /* a tunnel's resumed handshake, which the client's went ahead of */
            struct tunnel *tun = ex->tun;
            tun->up_tls_pending = 0;
            tun->marks.tls_end = flow_now_us(); /* for a first request still to come */
        }
        if (f)
            f->marks.tls_end = flow_now_us();
        int h2 = uplink_leg_is_h2(leg), offered = u->offer_h2;
        u->offer_h2 = 0;
        if (f && offered && h2 && resend_over_h2(ex) < 0) {
            flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "cannot open an HTTP/2 stream");
            exchange_fail(ex, 502, "cannot open an HTTP/2 stream");
            return;
        }
        if (u->connecting) /* resend_over_h2: a new HTTP/1.1 connection after all */
            return;
        if (h2 && !u->h2 && (!f || !offered)) /* the server speaks first: read once a request */
            bufferevent_disable(bev, EV_READ); /* makes it a shared connection (uplink_h2_route) */
        if (ex && !u->h2)
            flush_pending(ex);
        return;
    }
    if (f && ex->phase == EXCHANGE_CONNECTING && leg->ssl) {
        /* The TLS handshake failed: certificate refused, protocol mismatch, or a reset. */
        tls_facts_fill(leg->ssl, &leg->tls);
        unsigned long e = bufferevent_get_openssl_error(bev);
        tls_facts_take_error(&leg->tls, e);
        f->marks.tls_end = flow_now_us();
        tls_facts_to_flow(&leg->tls, f, 1);
        char why[400];
        if (leg->tls.verify_result != X509_V_OK)
            snprintf(why, sizeof why, "upstream certificate of %s:%d refused: %s", u->host,
                     u->port, tls_facts_verify_error(&leg->tls));
        else if (leg->tls.alert_received[0])
            snprintf(why, sizeof why, "TLS handshake with %s:%d failed: server sent alert '%s'",
                     u->host, u->port, leg->tls.alert_received);
        else
            snprintf(why, sizeof why, "TLS handshake with %s:%d failed: %s", u->host, u->port,
                     tls_facts_error(&leg->tls, sock_err ? strerror(sock_err) : "connection closed"));
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, sock_err, "tls: %s", why);
        exchange_fail(ex, 502, why);
        return;
    }
    if (leg->ssl)
        tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    if (!f || ex->resp_done || (ex->bp && ex->proxy->policy->bp_upstream_gone(ex))) {
        /* an idle kept-alive upstream went away (or one a breakpoint needs no more): forget it */
        leg_close(leg);
        return;
    }
    if ((what & BEV_EVENT_EOF) && ex->resp_started &&
        leg->parser && http1_finish(leg->parser) == HTTP1_FEED_MORE && ex->resp_done) {
        leg_close(leg); /* end of an until-EOF response */
        ex->front->settle(ex);
        return;
    }
    if (leg->ssl && leg->tls.alert_received[0] && !ex->resp_started) {
        /* A TLS 1.3 server refuses after the handshake (e.g. certificate_required arrives once
         * we sent Finished): that is a TLS failure, not a lost connection. */
        tls_facts_fill(leg->ssl, &leg->tls);
        tls_facts_to_flow(&leg->tls, f, 1);
        char why[300];
        snprintf(why, sizeof why, "%s:%d ended TLS with alert '%s'", u->host, u->port,
                 leg->tls.alert_received);
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, sock_err, "tls: %s", why);
        exchange_fail(ex, 502, why);
        return;
    }
    char why_not[96] = "";
    if (!ex->resp_started && retry_request(ex, 0, why_not, sizeof why_not) == 0)
        return;
    strcpy(f->fail.closed_by, "server");
    if (!ex->resp_started) {
        char why[300];
        snprintf(why, sizeof why, "%s:%d closed the connection without a response%s%s", u->host,
                 u->port, sock_err ? ": " : "", sock_err ? strerror(sock_err) : "");
        flow_fail(f, FLOW_STAGE_WAIT, sock_err, "%s", why);
        exchange_fail(ex, 502, why);
    } else {
        flow_fail(f, FLOW_STAGE_RECEIVE, sock_err,
                  "%s:%d closed the connection in the middle of the response%s%s", u->host, u->port,
                  sock_err ? ": " : "", sock_err ? strerror(sock_err) : "");
        leg_close(leg);
        cut(ex, 1); /* what we have goes out; the client sees the body cut short */
    }
}

/* HTTP/2: the stream's response events were delivered (hf NULL): move on; or it failed. Not
 * processed (REFUSED_STREAM, queued under a GOAWAY): once more on a new connection; lost (past
 * a GOAWAY, reset, connection closed): -1005 (closed_by server), the engine's words for it. */
static void up_stream(struct uplink *u, const struct h2_failure *hf)
{
    struct exchange *ex = u->ex;
    struct flow *f = ex ? ex->flow : NULL;
    if (!f)
        return;
    uint64_t now = flow_now_us();
    *ex->activity = now;
    if (!hf) {
        if (!f->marks.first_byte) {
            exchange_hold_drop(ex); /* the server took the stream: no retry any more */
            f->marks.first_byte = now;
            ex->front->phase(ex, ex->phase, "first response byte");
        }
        ex->front->settle(ex);
        return;
    }
    char why_not[96] = "";
    if (hf->retryable && !hf->lost && retry_request(ex, 1, why_not, sizeof why_not) == 0) {
        if (!f->note[0])
            snprintf(f->note, sizeof f->note, "sent once more: the server did not process it (%s)",
                     hf->why);
        return;
    }
    char why[400];
    snprintf(why, sizeof why, "%s:%d over HTTP/2: %s%s%s", u->host, u->port, hf->why,
             why_not[0] ? "; " : "", why_not);
    if (hf->lost)
        strcpy(f->fail.closed_by, "server");
    else if (!hf->retryable)
        f->fail.parse_error = "HTTP/2 stream error";
    flow_fail(f, ex->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, 0, "%s", why);
    if (!ex->resp_started)
        exchange_fail(ex, 502, why);
    else
        cut(ex, 1);
}

static const struct uplink_ops uplink_ops = {
    {on_resp_head, on_resp_body, on_resp_done, on_resp_trailers}, up_connected, up_input, up_drained,
    up_event, up_stream};

/* ------------------------------------------------------------------------------------------ */
/* Deadlines and ends */

double exchange_deadline(const struct exchange *ex, enum exchange_phase p, int *lazy)
{
    const struct opts *o = ex->proxy->opts;
    *lazy = 0;
    if (ex->bp_paused)
        return 0; /* paused at a breakpoint: the user is not a timeout */
    if (ex->rule_timeout > 0)
        return ex->rule_timeout;
    if (p == EXCHANGE_CONNECTING)
        return ex->up->connecting ? 0 : o->upstream_timeout; /* TLS phase; upstream.c bounds the rest */
    if (ex->req_done && ex->flow && !ex->flow->marks.first_byte)
        return o->upstream_timeout; /* first response byte */
    *lazy = 1;
    return o->idle_timeout;
}

void exchange_timed_out(struct exchange *ex, enum exchange_phase p, double secs)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    char why[160];
    if (ex->rule_timeout > 0 && ex->proxy->policy) { /* only a policy sets it */
        ex->proxy->policy->timed_out(ex, secs);
        return;
    }
    f->fail.timeout = 1;
    if (p == EXCHANGE_CONNECTING) {
        snprintf(why, sizeof why, "TLS handshake with %s:%d not done within %gs", u->host, u->port,
                 secs);
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, ETIMEDOUT, "tls: %s", why);
    } else if (!f->marks.first_byte && ex->req_done) {
        snprintf(why, sizeof why, "%s:%d sent no response within %gs", u->host, u->port, secs);
        flow_fail(f, FLOW_STAGE_WAIT, ETIMEDOUT, "%s", why);
    } else {
        snprintf(why, sizeof why, "no data either way for %gs", secs);
        flow_fail(f, ex->req_done ? FLOW_STAGE_RECEIVE : FLOW_STAGE_SEND, ETIMEDOUT, "%s", why);
    }
    if (!ex->resp_started)
        exchange_fail(ex, 504, why);
    else
        cut(ex, 0);
}

void exchange_client_gone(struct exchange *ex, int sock_err)
{
    struct flow *f = ex->flow;
    if (!f || ex->resp_done)
        return;
    exchange_hold_drop(ex);
    uplink_h2_stream_done(ex->up);
    if (ex->bp && ex->proxy->policy->bp_drop(ex, 1, sock_err))
        return; /* it gave up while paused: recorded as such */
    strcpy(f->fail.closed_by, "client");
    if (!ex->req_done)
        flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, sock_err,
                  "client closed the connection before sending the whole request");
    else
        flow_fail(f, ex->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, sock_err,
                  "client closed the connection before the response was complete");
    ex->flow = NULL;
    record_flow(ex->proxy, f);
}

void exchange_finish(struct exchange *ex, int local)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    ex->flow = NULL;
    exchange_hold_drop(ex);
    if (ex->rule_local)
        u->reusable = 0; /* the socketless connection of a rule's answer */
    else if (u->tls && local != 2)
        tls_facts_to_flow(uplink_tls(u), f, 1);
    if (local == 1)
        flow_free(f); /* httpeek's own setup page: not part of the app's traffic */
    else
        record_flow(ex->proxy, f);
    if (!u->reusable)
        leg_close(&u->leg);
}

void exchange_abandon(struct exchange *ex, const char *why)
{
    struct flow *f = ex->flow;
    if (ex->bp) /* even when the front took the flow: the pause must not outlive the exchange */
        ex->proxy->policy->bp_drop(ex, 0, 0);
    if (!f)
        return;
    ex->flow = NULL;
    exchange_hold_drop(ex);
    uplink_h2_stream_done(ex->up);
    if (!f->fail.failed)
        flow_fail(f, ex->req_done ? FLOW_STAGE_WAIT : FLOW_STAGE_CLIENT_REQUEST, 0, "%s", why);
    record_flow(ex->proxy, f);
}
