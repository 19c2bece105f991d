/* rule_apply.h — what the rules in use (ruleset.h, proxy->route_rules) do to one exchange, for
 * exchange.c (through rule_policy, below): map local (the answer comes from a file, through a
 * socketless connection that takes the uplink's place, so the exchange's own response path
 * carries it on every front), map remote (the route changes before the uplink connects), block
 * (a failure at the stage the rule names, with the facts the diagnosis of that real failure
 * needs). Each rule that applies is noted in the flow (flow_rule_hit). Runs on the exchange's
 * worker thread. */
#ifndef HTTPEEK_RULE_APPLY_H
#define HTTPEEK_RULE_APPLY_H

#include "attrib.h"
#include "exchange.h"

/* Apply the first matching route rule to ex's request, routed to t (f->url set). */
enum rule_apply_result rule_apply_route(struct exchange *ex, struct rule_target *t) HP_NONNULL(1, 2);

/* A block rule's "timeout" passed after secs: fail the exchange as a timeout (504, -1001). */
void rule_apply_timed_out(struct exchange *ex, double secs) HP_NONNULL(1);

/* The rules' hooks for the exchange (route, rewrite, throttle: rule_apply.c, rule_rewrite.c,
 * throttle_apply.c), installed by main as proxy->policy. Each hook checks the rules in use. */
extern const struct exchange_policy rule_policy;

#endif
