/* throttle_apply.c — see throttle_apply.h. */
#include "throttle_apply.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <event2/bufferevent.h>
#include <llhttp.h>
#include "exchange.h"
#include "leg.h"
#include "record.h"
#include "ruleset.h"
#include "str.h"

static const char *request_header(const void *arg, const char *name)
{
    return http1_head_get(arg, name);
}

/* The client connection's bufferevent, or NULL. */
static struct bufferevent *client_bev(const struct exchange *ex)
{
    return ex->tun && ex->tun->client ? ex->tun->client->bev : NULL;
}

int throttle_apply(struct exchange *ex, const char *scheme, const char *host, int port,
                   const char *path)
{
    struct bufferevent *bev = client_bev(ex);
    struct ruleset *s = ruleset_holder_get(ex->proxy->route_rules);
    const struct rule *r = NULL;
    const struct http1_head *req = ex->flow->req;
    if (s) {
        struct rule_request q = {
            .scheme = scheme, .host = host, .port = port, .path = path,
            .method = llhttp_method_name((llhttp_method_t)req->method), .client = ex->client_addr,
            .header = request_header, .header_arg = req};
        r = ruleset_match_throttle(s, &q);
    }
    int shaped = bev && bufferevent_get_write_limit(bev) != EV_SSIZE_MAX;
    ex->throttle_bytes_per_sec = 0;
    if (!r) {
        if (shaped) /* an earlier request on this connection was throttled; this one is not */
            bufferevent_set_rate_limit(bev, NULL);
        ruleset_release(s);
        return 0;
    }
    struct flow *f = ex->flow;
    const struct throttle_profile *p = &r->throttle;
    char what[200];
    throttle_describe(p, what, sizeof what);
    if (throttle_lost(p)) {
        flow_rule_hit(f, r->id, "throttle", "%s: request lost (connection reset)", what);
        if (f->rules)
            str_copy(f->rules->throttle, sizeof f->rules->throttle, p->name);
        strcpy(f->fail.closed_by, "server");
        flow_fail(f, FLOW_STAGE_WAIT, ECONNRESET,
                  "lost by throttle '%s' (%s): connection closed without a response", r->id,
                  p->name);
        ruleset_release(s);
        ex->flow = NULL;
        record_flow(ex->proxy, f);
        ex->front->cut(ex, 0);
        return -1;
    }
    const struct ev_token_bucket_cfg *cfg = bev ? throttle_bucket_cfg(p) : NULL;
    unsigned delay = p->latency_ms + (shaped ? 0 : p->dns_ms);
    /* set again on each request: libevent keeps the bucket's level when it is the same cfg */
    if (cfg && bufferevent_set_rate_limit(bev, (struct ev_token_bucket_cfg *)cfg) == 0) {
        ex->throttle_bytes_per_sec = throttle_down_bytes_per_sec(p);
    } else {
        delay = 0;
        what[0] = '\0';
        snprintf(what, sizeof what, "%s: not applied (too many distinct throttle rates)", p->name);
    }
    flow_rule_hit(f, r->id, "throttle", "%s", what);
    if (f->rules) {
        str_copy(f->rules->throttle, sizeof f->rules->throttle, p->name);
        f->rules->throttled_ms = delay;
    }
    ruleset_release(s);
    return 0;
}

void throttle_response(struct exchange *ex)
{
    struct bufferevent *bev = client_bev(ex);
    const struct flow_rule_hits *h = ex->flow ? ex->flow->rules : NULL;
    if (!bev || !h || !h->throttled_ms || !ex->throttle_bytes_per_sec ||
        bufferevent_get_write_limit(bev) == EV_SSIZE_MAX)
        return;
    /* the delay is owed on the write bucket: nothing goes to the client until it is paid */
    ev_ssize_t left = bufferevent_get_write_limit(bev);
    ev_ssize_t owe = (ev_ssize_t)(ex->throttle_bytes_per_sec * h->throttled_ms / 1000);
    bufferevent_decrement_write_limit(bev, owe + (left > 0 ? left : 0));
}
