/* exchange.c — see exchange.h. Routing a request, its uplink (connect, TLS, HTTP/1 out and in),
 * and what each failure means for the flow.
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
#include "log.h"
#include "own.h"
#include "record.h"
#include "setup.h"
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
    ex->retried = 0;
    ex->rule_local = 0;
    ex->rule_timeout = 0;
    ex->throttle_bytes_per_sec = 0;
    ex->bp_paused = 0;
    ex->head_request = f->req->method == HTTP_HEAD;
    ex->upgrade_requested = f->req->upgrade && f->req->method != HTTP_CONNECT;
    ex->up->req_out = f->req->framing;
}

static void set_phase(struct exchange *ex, enum exchange_phase p, const char *why)
{
    ex->phase = p;
    ex->front->phase(ex, p, why);
}

int exchange_connecting(const struct exchange *ex)
{
    return ex->up->connecting || ex->phase == EXCHANGE_CONNECTING;
}

/* Answer the client (status, reason) and record the flow: the exchange is over. */
static void fail(struct exchange *ex, int status, const char *reason)
{
    if (ex->bp) /* a breakpoint's hold goes with the exchange */
        ex->proxy->policy->bp_drop(ex, 0, 0);
    struct flow *f = ex->flow;
    ex->flow = NULL;
    uplink_h2_stream_done(ex->up);
    ex->front->fail(ex, f, status, reason);
}

/* httpeek answers the request itself (enum flow_refusal why): fail, with the facts the diagnosis
 * needs (where the client reached httpeek, for its advice). */
static void refuse(struct exchange *ex, int status, enum flow_refusal why, const char *reason)
{
    struct flow *f = ex->flow;
    f->fail.refusal = why;
    own_local_address(ex->client_fd, f->proxy_addr, sizeof f->proxy_addr, NULL);
    fail(ex, status, reason);
}

/* The response cannot go on: record the flow, then the front ends the client connection. */
static void cut(struct exchange *ex, int flush)
{
    if (ex->bp)
        ex->proxy->policy->bp_drop(ex, 0, 0);
    struct flow *f = ex->flow;
    ex->flow = NULL;
    uplink_h2_stream_done(ex->up);
    record_flow(ex->proxy, f);
    ex->front->cut(ex, flush);
}

/* ------------------------------------------------------------------------------------------ */
/* Routing */

int exchange_parse_absolute(const char *target, char *scheme, size_t slen, char *host, size_t hlen,
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

/* Queue the request head towards upstream (now or once connected). */
static int send_request_head(struct exchange *ex, const char *path, const char *host_field)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    if (u->h2) { /* one stream of the shared HTTP/2 connection */
        const char *authority = host_field ? host_field : http1_head_get(f->req, "host");
        if (uplink_h2_submit(u, f->req, path, authority ? authority : u->host) < 0)
            return -1;
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
static int ensure_upstream(struct exchange *ex, const char *host, int port, int tls)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    int h2 = uplink_h2_route(u, ex->proxy, ex->base, ex->client_addr, host, port, tls,
                             ex->upgrade_requested || ex->retried);
    if (h2 < 0)
        return -1;
    if (h2) { /* an HTTP/2 connection: reused when it carried an earlier exchange */
        f->reused_upstream = uplink_h2_carried(u) > 0;
        str_copy(f->server_ip, sizeof f->server_ip, uplink_h2_server_ip(u->h2));
        set_phase(ex, EXCHANGE_FORWARDING, "HTTP/2 stream");
        return 0;
    }
    if (uplink_reuse(u, host, port, tls)) {
        /* a tunnel's own upstream carries its first request fresh: only an earlier exchange
         * (or the pool) makes it reused */
        f->reused_upstream = u->exchanges > 0;
        str_copy(f->server_ip, sizeof f->server_ip, u->server_ip);
        set_phase(ex, EXCHANGE_FORWARDING, "upstream reused");
        return 0;
    }
    /* h2 offered where the head alone waits as HTTP/1 bytes (resend_over_h2) */
    u->offer_h2 = ex->proxy->opts->http2 && tls && !ex->upgrade_requested && !ex->retried &&
                  f->req->framing == HTTP1_NO_BODY;
    if (uplink_connect(u, ex->base, ex->dns, host, port, tls,
                       ex->proxy->opts->upstream_timeout) < 0)
        return -1;
    set_phase(ex, EXCHANGE_CONNECTING, "connecting upstream");
    return 0;
}

/* An origin-form request whose Host is not httpeek: answer 400 saying how to set the proxy,
 * record it (-1002) and return 1; 0 when it is for httpeek's own pages. */
static int not_for_a_proxy(struct exchange *ex)
{
    char why[400];
    if (!own_not_for_a_proxy(ex->flow, ex->client_fd, why, sizeof why))
        return 0;
    refuse(ex, 400, FLOW_REFUSED_NOT_PROXY, why);
    return 1;
}

/* Decide where the request goes and queue its head: 0, 1 for httpeek's own pages, or -1 after
 * having failed the exchange. */
static int route_request(struct exchange *ex)
{
    struct flow *f = ex->flow;
    struct http1_head *req = f->req;
    const struct tunnel *tun = ex->tun;
    const char *target = req->target;
    const char *path = target;
    char scheme[16] = "http", host[256] = "", authority[300];
    int port = 80;
    const char *host_field = NULL;

    if (tun->intercepted) {
        if (!strcmp(tun->host, SETUP_HOST))
            return 1; /* https://httpeek.test/: the setup site over TLS */
        str_copy(scheme, sizeof scheme, "https");
        str_copy(host, sizeof host,
                 ex->route_host && ex->route_host[0] ? ex->route_host
                 : tun->sni[0]                      ? tun->sni
                                                    : tun->host);
        port = tun->port;
        if (target[0] != '/' && !(req->method == HTTP_OPTIONS && !strcmp(target, "*"))) {
            char s2[16], h2[256];
            int p2;
            if (exchange_parse_absolute(target, s2, sizeof s2, h2, sizeof h2, &p2, &path) < 0) {
                flow_set_url(f, target);
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "malformed request-target '%.100s'", target);
                refuse(ex, 400, FLOW_REFUSED_BAD_TARGET, "malformed request target in the tunnel");
                return -1;
            }
        }
        format_authority(authority, sizeof authority, host, port, 1);
        if (!http1_head_get(req, "host"))
            host_field = authority;
    } else if (target[0] == '/' || (req->method == HTTP_OPTIONS && !strcmp(target, "*"))) {
        /* Not a proxy request: someone opened http://PROXY:PORT/ (the phone set-up path), or a
         * client with no proxy set was sent here for another server. */
        return not_for_a_proxy(ex) ? -1 : 1;
    } else {
        if (exchange_parse_absolute(target, scheme, sizeof scheme, host, sizeof host, &port,
                                    &path) < 0) {
            flow_set_url(f, target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "malformed request-target '%.100s'", target);
            refuse(ex, 400, FLOW_REFUSED_BAD_TARGET,
                   "malformed request target: a proxy request needs an absolute http:// or "
                   "https:// URL with a host");
            return -1;
        }
        if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
            flow_set_url(f, target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "unsupported URL scheme '%s'", scheme);
            char why[96];
            snprintf(why, sizeof why, "unsupported URL scheme '%.20s' (only http and https)", scheme);
            refuse(ex, 400, FLOW_REFUSED_UNSUPPORTED, why);
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

    const struct exchange_policy *pol = ex->proxy->policy; /* NULL: no rules */
    if (pol && pol->throttle(ex, scheme, host, port, path) < 0)
        return -1; /* lost on purpose: the client connection was reset */
    struct rule_target rt; /* ~8.5 KB: filled field by field, not zeroed (S4 paid 8.8k
                            * instructions a request for the memset) */
    rt.port = port;
    rt.path = path;
    rt.host_field = host_field;
    rt.path_buf[0] = rt.authority[0] = '\0';
    str_copy(rt.scheme, sizeof rt.scheme, scheme);
    str_copy(rt.host, sizeof rt.host, host);
    enum rule_apply_result ruled = pol ? pol->route(ex, &rt) : RULE_APPLY_NONE;
    if (pol && ruled != RULE_APPLY_FAILED && ex->flow &&
        pol->rewrite_request(ex, scheme, host, port, path, &rt) < 0) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        fail(ex, 500, "out of memory");
        return -1;
    }
    if (ruled == RULE_APPLY_ANSWERED || ruled == RULE_APPLY_FAILED)
        return ruled == RULE_APPLY_ANSWERED ? 0 : -1;
    if (ruled == RULE_APPLY_REMOTE) { /* elsewhere: the origin's tunnel error does not matter */
        str_copy(scheme, sizeof scheme, rt.scheme);
        str_copy(host, sizeof host, rt.host);
        port = rt.port;
        path = rt.path;
        host_field = rt.host_field;
    } else if (tun->intercepted && tun->error[0]) {
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, 0, "%s", tun->error);
        tls_facts_to_flow(&ex->up->leg.tls, f, 1);
        fail(ex, 502, tun->error);
        return -1;
    }
    path = rt.path; /* a rewrite's URL or query edit */
    if (pol && pol->bp_request && pol->bp_request(ex, scheme, host, port, path, host_field))
        return 0; /* held by a breakpoint: exchange_resume_request sends it */
    if (ensure_upstream(ex, host, port, !strcmp(scheme, "https")) < 0 ||
        send_request_head(ex, path, host_field) < 0) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        fail(ex, 500, "out of memory");
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
        clients_request(p->clients, ex->client_addr, http1_head_get(ex->flow->req, "user-agent"),
                        tun->intercepted && !tun->mirror_untrusted);
        if (!tun->intercepted)
            clients_note(p->clients, ex->client_addr, CLIENT_PROXIED);
    }
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Request body */

/* Queue request bytes (or the end: data NULL) towards the uplink. */
static enum exchange_body queue_up(struct exchange *ex, const char *data, size_t len, int end)
{
    struct uplink *u = ex->up;
    if (ex->bp) /* a breakpoint holds the request */
        return (enum exchange_body)ex->proxy->policy->bp_req_body(ex, data, len, end);
    if (u->h2) {
        if (end)
            return ex->flow->req->framing == HTTP1_NO_BODY || uplink_h2_end(u) == 0
                       ? EXCHANGE_BODY_SENT : EXCHANGE_BODY_QUEUED;
        return uplink_h2_body(u, data, len) == 1 ? EXCHANGE_BODY_FULL : EXCHANGE_BODY_SENT;
    }
    struct evbuffer *out = uplink_output(u, exchange_connecting(ex));
    if (!out || ex->rule_local) /* a rule answers: the request body goes nowhere */
        return EXCHANGE_BODY_QUEUED;
    if (end) /* chunked: with the client's trailers (an h2 client's, or a chunked request's) */
        trailers_write_http1(out, u->req_out, ex->flow ? ex->flow->req_trailers : NULL);
    else
        http1_write_body(out, u->req_out, data, len);
    if (out != u->pending)
        return EXCHANGE_BODY_SENT;
    return evbuffer_get_length(out) >= LEG_OUTBUF_MAX ? EXCHANGE_BODY_FULL : EXCHANGE_BODY_QUEUED;
}

int exchange_resume_request(struct exchange *ex, const char *scheme, const char *host, int port,
                            const char *path, const char *host_field, const char *body, size_t len)
{
    struct flow *f = ex->flow;
    ex->bp_paused = 0;
    ex->up->req_out = f->req->framing;
    ex->head_request = f->req->method == HTTP_HEAD;
    if (ensure_upstream(ex, host, port, !strcmp(scheme, "https")) < 0 ||
        send_request_head(ex, path, host_field) < 0) {
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        fail(ex, 500, "out of memory");
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
    return queue_up(ex, data, len, 0);
}

enum exchange_body exchange_req_end(struct exchange *ex)
{
    ex->req_done = 1;
    enum exchange_body r = queue_up(ex, NULL, 0, 1);
    if (!exchange_connecting(ex))
        ex->flow->marks.send_end = flow_now_us();
    ex->front->phase(ex, ex->phase, "request sent"); /* now waiting for the first response byte */
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
    u->reusable = resp->keep_alive && resp->framing != HTTP1_UNTIL_EOF && resp->status != 101;
    unsigned flags = 0;
    if (!ex->proxy->opts->keep_alt_svc && http1_head_get(resp, "alt-svc")) {
        /* QUIC goes around the proxy: an app that learns of h3 stops showing up here */
        flags |= EXCHANGE_STRIP_ALT_SVC;
        if (!f->note[0])
            snprintf(f->note, sizeof f->note,
                     "Alt-Svc removed so the app stays on this proxy instead of HTTP/3 "
                     "(--strip-alt-svc=no keeps it)");
    }
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
    if (uplink_flush_pending(ex->up)) {
        if (f) {
            f->marks.send_start = flow_now_us();
            if (ex->req_done)
                f->marks.send_end = f->marks.send_start;
        }
    }
    set_phase(ex, EXCHANGE_FORWARDING, "upstream ready");
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
        fail(ex, r->timeout ? 504 : 502, why);
        return;
    }
    if (uplink_open(u, ex->proxy, ex->base, r) < 0) {
        flow_fail(f, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        fail(ex, 500, "out of memory");
        return;
    }
    if (u->leg.ssl) {
        f->marks.tls_start = flow_now_us();
        set_phase(ex, EXCHANGE_CONNECTING, "upstream TLS handshake");
    } else {
        flush_pending(ex);
    }
}

/* Where a request goes once more (path, and the Host to add: "" for none) on ex's uplink. */
static int resend_target(struct exchange *ex, const char **path, char *host_field, size_t len)
{
    struct uplink *u = ex->up;
    const struct http1_head *req = ex->flow->req;
    format_authority(host_field, len, u->host, u->port, u->tls);
    const char *mapped = ex->flow->rules ? ex->flow->rules->sent_path : NULL; /* map remote's */
    if (http1_head_get(req, "host") && ex->tun->intercepted && !mapped)
        host_field[0] = '\0';
    *path = req->target;
    if (mapped) {
        *path = mapped;
    } else if ((*path)[0] != '/') {
        char s[16], h[256];
        int p;
        if (exchange_parse_absolute(req->target, s, sizeof s, h, sizeof h, &p, path) < 0)
            return -1;
    }
    return 0;
}

/* The new connection's server chose h2 (offered for a bodiless request: uplink_open): the head
 * waiting as HTTP/1 bytes goes out as a stream instead. 0, or -1 (the caller fails ex). */
static int resend_over_h2(struct exchange *ex)
{
    struct uplink *u = ex->up;
    char host[256], host_field[300];
    const char *path;
    str_copy(host, sizeof host, u->host);
    if (resend_target(ex, &path, host_field, sizeof host_field) < 0 ||
        uplink_h2_route(u, ex->proxy, ex->base, ex->client_addr, host, u->port, 1, 0) != 1)
        return -1;
    if (u->pending) /* the HTTP/1 head */
        evbuffer_drain(u->pending, evbuffer_get_length(u->pending));
    if (send_request_head(ex, path, host_field[0] ? host_field : NULL) < 0)
        return -1;
    if (ex->req_done)
        ex->flow->marks.send_end = ex->flow->marks.send_start;
    set_phase(ex, EXCHANGE_FORWARDING, "HTTP/2 stream on a new connection");
    ex->front->req_resume(ex);
    return 0;
}

/* A fresh connection for a bodiless request whose reused upstream closed before answering
 * (the keep-alive race of RFC 9112 §9.3.1), or that an HTTP/2 server did not process (unseen
 * 1): safe to repeat once, over HTTP/1.1 (ensure_upstream: ex->retried). */
static int retry_request(struct exchange *ex, int unseen)
{
    struct flow *f = ex->flow;
    struct uplink *u = ex->up;
    if (!f || !(f->reused_upstream || unseen) || ex->retried || f->req->framing != HTTP1_NO_BODY ||
        ex->resp_started || f->marks.first_byte) /* bytes_in counts earlier responses too */
        return -1;
    ex->retried = 1;
    f->reused_upstream = 0;
    uplink_h2_detach(u);
    leg_close(&u->leg);
    u->reusable = 0;
    char host_field[300];
    const char *path;
    if (resend_target(ex, &path, host_field, sizeof host_field) < 0)
        return -1;
    char host[256];
    str_copy(host, sizeof host, u->host);
    if (ensure_upstream(ex, host, u->port, u->tls) < 0)
        return -1;
    if (http1_write_request_head(u->pending, f->req, path, host_field[0] ? host_field : NULL,
                                 u->req_out, 0) < 0)
        return -1;
    log_msg(LOG_DEBUG, "conn %llu: reused upstream closed, retrying on a new connection",
            (unsigned long long)ex->conn_id);
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
        f->fail.parse_error = u->leg.parser.error_name;
        flow_fail(f, ex->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, 0,
                  "invalid response from upstream: %s (%s at byte %zu)", u->leg.parser.error,
                  u->leg.parser.error_name, u->leg.parser.error_offset);
        if (!ex->resp_started)
            fail(ex, 502, f->fail.reason);
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
        if (f && u->offer_h2 && uplink_leg_is_h2(leg) && resend_over_h2(ex) < 0) {
            flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "cannot open an HTTP/2 stream");
            fail(ex, 502, "cannot open an HTTP/2 stream");
            return;
        }
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
        fail(ex, 502, why);
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
        http1_finish(&leg->parser) == HTTP1_FEED_MORE && ex->resp_done) {
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
        fail(ex, 502, why);
        return;
    }
    if (!ex->resp_started && retry_request(ex, 0) == 0)
        return;
    strcpy(f->fail.closed_by, "server");
    if (!ex->resp_started) {
        char why[300];
        snprintf(why, sizeof why, "%s:%d closed the connection without a response%s%s", u->host,
                 u->port, sock_err ? ": " : "", sock_err ? strerror(sock_err) : "");
        flow_fail(f, FLOW_STAGE_WAIT, sock_err, "%s", why);
        fail(ex, 502, why);
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
            f->marks.first_byte = now;
            ex->front->phase(ex, ex->phase, "first response byte");
        }
        ex->front->settle(ex);
        return;
    }
    if (hf->retryable && !hf->lost && retry_request(ex, 1) == 0)
        return;
    char why[400];
    snprintf(why, sizeof why, "%s:%d over HTTP/2: %s", u->host, u->port, hf->why);
    if (hf->lost)
        strcpy(f->fail.closed_by, "server");
    else if (!hf->retryable)
        f->fail.parse_error = "HTTP/2 stream error";
    flow_fail(f, ex->resp_started ? FLOW_STAGE_RECEIVE : FLOW_STAGE_WAIT, 0, "%s", why);
    if (!ex->resp_started)
        fail(ex, 502, why);
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
        fail(ex, 504, why);
    else
        cut(ex, 0);
}

void exchange_client_gone(struct exchange *ex, int sock_err)
{
    struct flow *f = ex->flow;
    if (!f || ex->resp_done)
        return;
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
    uplink_h2_stream_done(ex->up);
    if (!f->fail.failed)
        flow_fail(f, ex->req_done ? FLOW_STAGE_WAIT : FLOW_STAGE_CLIENT_REQUEST, 0, "%s", why);
    record_flow(ex->proxy, f);
}
