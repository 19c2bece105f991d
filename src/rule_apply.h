/* rule_apply.h — what the rules in use (ruleset.h, proxy->route_rules) do to one exchange, for
 * exchange.c: map local (the answer comes from a file, through a socketless connection that
 * takes the uplink's place, so the exchange's own response path carries it on every front), map
 * remote (the route changes before the uplink connects), block (a failure at the stage the rule
 * names, with the facts the diagnosis of that real failure needs). Each rule that applies is
 * noted in the flow (flow_rule_hit). Runs on the exchange's worker thread. */
#ifndef HTTPEEK_RULE_APPLY_H
#define HTTPEEK_RULE_APPLY_H

#include "attrib.h"

struct exchange;

/* Where a request goes: filled by exchange.c, changed by a map remote rule. */
struct rule_target {
    char scheme[16];
    char host[256];
    int port;
    const char *path;           /* path and query */
    const char *host_field;     /* Host value to send (NULL: the request's own) */
    char path_buf[8192];        /* a mapped path lives here */
    char authority[300];        /* a mapped Host value lives here */
};

enum rule_apply_result {
    RULE_APPLY_NONE,      /* no rule: go on as routed */
    RULE_APPLY_REMOTE,    /* a map remote rule changed t: go there */
    RULE_APPLY_ANSWERED,  /* answered (or waiting to fail): the exchange goes on, nothing upstream */
    RULE_APPLY_FAILED,    /* the exchange failed (answered through ops->fail or cut) */
};

/* Apply the first matching route rule to ex's request, routed to t (f->url set). */
enum rule_apply_result rule_apply_route(struct exchange *ex, struct rule_target *t) HP_NONNULL(1, 2);

/* A block rule's "timeout" passed after secs: fail the exchange as a timeout (504, -1001). */
void rule_apply_timed_out(struct exchange *ex, double secs) HP_NONNULL(1);

#endif
