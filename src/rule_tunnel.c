/* rule_tunnel.c — see rule_tunnel.h. */
#include "rule_tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <event2/bufferevent.h>
#include <event2/util.h>
#include "flow.h"
#include "leg.h"
#include "ruleset.h"
#include "throttle.h"

static const char *no_header(const void *arg, const char *name)
{
    (void)arg;
    (void)name;
    return NULL; /* a CONNECT's headers are not the app's request: header predicates never match */
}

/* The CONNECT as a request the rules can match. */
static struct rule_request as_request(const struct tunnel *t)
{
    return (struct rule_request){.scheme = "https", .host = t->host, .port = t->port, .path = "/",
                                 .method = "CONNECT", .client = t->client_addr,
                                 .header = no_header, .header_arg = NULL};
}

static enum tunnel_rule refuse(struct tunnel *t, struct flow *f, int *status)
{
    struct ruleset *s = ruleset_holder_get(t->proxy->route_rules);
    if (!s)
        return TUNNEL_RULE_NONE;
    struct rule_request q = as_request(t);
    const char *rest = NULL;
    const struct rule *r = ruleset_match(s, &q, &rest);
    enum tunnel_rule res = TUNNEL_RULE_NONE;
    if (r && r->action == RULE_BLOCK) {
        const char *id = r->id;
        res = TUNNEL_RULE_ANSWER;
        switch (r->block) {
        case RULE_BLOCK_STATUS:
            *status = r->status;
            flow_rule_hit(f, id, "block", "CONNECT answered %d (passthrough)", r->status);
            flow_fail(f, FLOW_STAGE_CONNECT, 0, "blocked by rule '%s': CONNECT answered %d", id,
                      r->status);
            break;
        case RULE_BLOCK_DNS:
            *status = 502;
            flow_rule_hit(f, id, "block", "DNS failure: %s not found (passthrough)", t->host);
            f->fail.dns_error = EVUTIL_EAI_NONAME;
            flow_fail(f, FLOW_STAGE_DNS, 0, "blocked by rule '%s': %s not found (DNS)", id, t->host);
            break;
        case RULE_BLOCK_REFUSED:
            *status = 502;
            flow_rule_hit(f, id, "block", "connection to %s:%d refused (passthrough)", t->host, t->port);
            flow_fail(f, FLOW_STAGE_CONNECT, ECONNREFUSED,
                      "blocked by rule '%s': connect to %s:%d refused", id, t->host, t->port);
            break;
        default: /* reset; tls, timeout, reset_body need a session or a request: reset too */
            res = TUNNEL_RULE_RESET;
            flow_rule_hit(f, id, "block", "CONNECT closed without an answer (passthrough%s%s)",
                          r->block == RULE_BLOCK_RESET ? "" : ": ",
                          r->block == RULE_BLOCK_RESET ? "" : "a passthrough tunnel can only be reset");
            strcpy(f->fail.closed_by, "server");
            flow_fail(f, FLOW_STAGE_WAIT, ECONNRESET, /* the app waited for the CONNECT's answer */
                      "blocked by rule '%s': connection closed without an answer to the CONNECT", id);
            break;
        }
    }
    ruleset_release(s);
    return res;
}

static enum tunnel_rule relay(struct tunnel *t, struct flow *f)
{
    struct ruleset *s = ruleset_holder_get(t->proxy->route_rules);
    if (!s)
        return TUNNEL_RULE_NONE;
    struct rule_request q = as_request(t);
    const struct rule *r = ruleset_match_throttle(s, &q);
    enum tunnel_rule res = TUNNEL_RULE_NONE;
    struct bufferevent *bev = t->client ? t->client->bev : NULL;
    if (r && bev) {
        const struct throttle_profile *p = &r->throttle;
        char what[160];
        throttle_describe(p, what, sizeof what);
        if (throttle_lost(p)) {
            flow_rule_hit(f, r->id, "throttle", "%s: tunnel lost (connection reset)", what);
            strcpy(f->fail.closed_by, "server");
            flow_fail(f, FLOW_STAGE_WAIT, ECONNRESET,
                      "lost by throttle '%s' (%s): connection closed", r->id, p->name);
            res = TUNNEL_RULE_RESET;
        } else {
            const struct ev_token_bucket_cfg *cfg = throttle_bucket_cfg(p);
            if (cfg && bufferevent_set_rate_limit(bev, (struct ev_token_bucket_cfg *)cfg) == 0)
                flow_rule_hit(f, r->id, "throttle", "%s (passthrough: bandwidth only, no latency "
                              "per round trip)", what);
            else
                flow_rule_hit(f, r->id, "throttle", "%s: not applied (too many distinct throttle "
                              "rates)", p->name);
            if (f->rules)
                snprintf(f->rules->throttle, sizeof f->rules->throttle, "%s", p->name);
        }
    }
    ruleset_release(s);
    return res;
}

const struct tunnel_policy rule_tunnel_policy = {
    .refuse = refuse,
    .relay = relay,
};
