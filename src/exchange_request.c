/* exchange_request.c — see exchange_request.h: the request leg of an exchange, from the upstream
 * connection it needs to the end of its body (a breakpoint's or a rewrite's hold through
 * proxy->policy). */
#include "exchange_request.h"

#include <errno.h>
#include <string.h>
#include <event2/buffer.h>
#include "exchange_base.h"
#include "exchange_hold.h"
#include "str.h"
#include "trailers.h"
#include "uplink_h2.h"

/* ------------------------------------------------------------------------------------------ */
/* The connection and the head */

/* Queue the request head towards upstream (now or once connected). */
int exchange_send_request_head(struct exchange *ex, const char *path, const char *host_field)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    if (u->h2) { /* one stream of the shared HTTP/2 connection */
        const char *authority = host_field ? host_field : http1_head_get(f->req, "host");
        if (uplink_h2_submit(u, f->req, path, authority ? authority : u->host) < 0)
            return -1;
        f->h2_upstream_stream_id = u->sid; /* a flow fact: the server's view of the stream */
        f->marks.send_start = flow_now_us();
        return 0;
    }
    struct evbuffer *out = u->leg.bev && !u->connecting && ex->phase != EXCHANGE_CONNECTING
                               ? leg_output(&u->leg) : u->pending;
    unsigned flags = ex->upgrade_requested ? HTTP1_KEEP_UPGRADE : 0;
    /* a small request body (an app's JSON POST) goes out with its head: one record, one write */
    if (u->req_out == HTTP1_LENGTH && f->req->framing == HTTP1_LENGTH &&
        f->req->content_length <= LEG_COALESCE_MAX && evbuffer_get_length(out) == 0)
        evbuffer_expand(out, f->req->wire_size + 64 + (size_t)f->req->content_length);
    if (http1_write_request_head(out, f->req, path, host_field, u->req_out, flags) < 0)
        return -1;
    if (out != u->pending)
        f->marks.send_start = flow_now_us();
    return 0;
}

/* Make sure an upstream connection to host:port(tls) is there or coming. */
int exchange_ensure_upstream(struct exchange *ex, const char *host, int port, int tls)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    int h2 = uplink_h2_route(u, ex->proxy, ex->base, ex->client_addr, host, port, tls,
                             ex->upgrade_requested || (ex->retried && !ex->retry_h2));
    if (h2 < 0)
        return -1;
    if (h2) { /* an HTTP/2 connection: reused when it carried an earlier exchange */
        f->reused_upstream = uplink_h2_carried(u) > 0;
        str_copy(f->server_ip, sizeof f->server_ip, uplink_h2_server_ip(u->h2));
        exchange_set_phase(ex, EXCHANGE_FORWARDING, "HTTP/2 stream");
        return 0;
    }
    if (ex->tun->up_tls_pending && u->leg.bev && u->leg.ssl && !u->leg.tls.handshake_done &&
        tls && u->port == port &&
        !strcasecmp(u->host, host) && ex->proxy->opts->http2) {
        /* The tunnel's resumed handshake (offering h2) still runs: the server's protocol is not
         * known yet. The head (and body) wait in u->pending as HTTP/1 bytes; up_event sends
         * them on, or as a stream (resend_over_h2), once it knows. */
        if (!u->pending && !(u->pending = evbuffer_new()))
            return -1;
        u->offer_h2 = !ex->upgrade_requested;
        f->reused_upstream = 0;
        str_copy(f->server_ip, sizeof f->server_ip, u->server_ip);
        exchange_set_phase(ex, EXCHANGE_CONNECTING, "upstream TLS handshake (protocol not known yet)");
        return 0;
    }
    if (uplink_reuse(u, host, port, tls)) {
        /* a tunnel's own upstream carries its first request fresh: only an earlier exchange
         * (or the pool) makes it reused */
        f->reused_upstream = u->exchanges > 0;
        str_copy(f->server_ip, sizeof f->server_ip, u->server_ip);
        exchange_set_phase(ex, EXCHANGE_FORWARDING, "upstream reused");
        return 0;
    }
    /* h2 offered where the head alone waits as HTTP/1 bytes (resend_over_h2) */
    u->offer_h2 = ex->proxy->opts->http2 && tls && !ex->upgrade_requested &&
                  (!ex->retried || ex->retry_h2) && f->req->framing == HTTP1_NO_BODY;
    if (uplink_connect(u, ex->base, ex->dns, host, port, tls,
                       ex->proxy->opts->upstream_timeout) < 0)
        return -1;
    exchange_set_phase(ex, EXCHANGE_CONNECTING, "connecting upstream");
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Request body */

/* Queue request bytes (or the end: data NULL) towards the uplink. */
static enum exchange_body queue_up(struct exchange *ex, const char *data, size_t len, int end)
{
    struct uplink *u = ex->up;
    if (ex->bp) /* a breakpoint holds the request */
        return (enum exchange_body)ex->proxy->policy->bp_req_body(ex, data, len, end);
    if (u->h2) { /* the client's trailers (an h2 client's, or a chunked request's) end it */
        if (end)
            return ex->flow->req->framing == HTTP1_NO_BODY ||
                           uplink_h2_end(u, ex->flow->req_trailers) == 0
                       ? EXCHANGE_BODY_SENT : EXCHANGE_BODY_QUEUED;
        exchange_hold_body(ex, data, len);
        return uplink_h2_body(u, data, len) == 1 ? EXCHANGE_BODY_FULL : EXCHANGE_BODY_SENT;
    }
    struct evbuffer *out = uplink_output(u, exchange_connecting(ex));
    if (!out || ex->rule_local) /* a rule answers: the request body goes nowhere */
        return EXCHANGE_BODY_QUEUED;
    if (end) { /* chunked: with the client's trailers (an h2 client's, or a chunked request's) */
        trailers_write_http1(out, u->req_out, ex->flow ? ex->flow->req_trailers : NULL);
    } else {
        if (u->offer_h2 && out == u->pending) /* the server may yet choose h2 (resend_over_h2) */
            exchange_hold_body(ex, data, len);
        http1_write_body(out, u->req_out, data, len);
    }
    if (out != u->pending)
        return EXCHANGE_BODY_SENT;
    return evbuffer_get_length(out) >= LEG_OUTBUF_MAX ? EXCHANGE_BODY_FULL : EXCHANGE_BODY_QUEUED;
}

int exchange_req_send_head(struct exchange *ex, const char *path, const char *host_field)
{
    ex->up->req_out = ex->flow->req->framing; /* an edited body has a Content-Length now */
    if (exchange_send_request_head(ex, path, host_field) < 0) {
        flow_fail(ex->flow, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        exchange_fail(ex, 500, "out of memory");
        return -1;
    }
    return 0;
}

int exchange_resume_request(struct exchange *ex, const char *scheme, const char *host, int port,
                            const char *path, const char *host_field, const char *body, size_t len)
{
    struct flow *f = ex->flow;
    ex->bp_paused = 0;
    ex->up->req_out = f->req->framing;
    ex->head_request = f->req->method == HTTP_HEAD;
    if (exchange_ensure_upstream(ex, host, port, !strcmp(scheme, "https")) < 0 ||
        exchange_send_request_head(ex, path, host_field) < 0) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        exchange_fail(ex, 500, "out of memory");
        return -1;
    }
    if (len)
        queue_up(ex, body, len, 0);
    if (ex->req_done) {
        queue_up(ex, NULL, 0, 1);
        if (!exchange_connecting(ex))
            f->marks.send_end = flow_now_us();
    }
    ex->front->phase(ex, ex->phase, "resumed at a breakpoint");
    return 0;
}

enum exchange_body exchange_req_body(struct exchange *ex, const char *data, size_t len)
{
    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    if (pol && pol->req_holding(ex))
        return pol->req_body(ex, data, len);
    return queue_up(ex, data, len, 0);
}

enum exchange_body exchange_req_end(struct exchange *ex)
{
    ex->req_done = 1;
    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    if (pol && pol->req_holding(ex)) {
        pol->req_done(ex); /* the head and the edited body go */
        if (!ex->flow)
            return EXCHANGE_BODY_QUEUED; /* it failed */
    }
    enum exchange_body r = queue_up(ex, NULL, 0, 1);
    if (!exchange_connecting(ex))
        ex->flow->marks.send_end = flow_now_us();
    ex->front->phase(ex, ex->phase, "request sent"); /* now waiting for the first response byte */
    return r;
}
