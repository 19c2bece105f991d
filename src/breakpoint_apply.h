/* breakpoint_apply.h — what a breakpoint (breakpoint.h) does to one exchange, for exchange.c
 * through the exchange_policy hooks (bp_*): a matching request is held before it goes upstream,
 * a matching response before its head goes to the client, each with its whole body (up to
 * BREAKPOINT_BODY_MAX; a larger one goes on unpaused and the flow says so); once whole it is
 * listed as paused and waits, with no deadline on httpeek's side, for the action the web thread
 * hands over (breakpoints_act): execute (with edits; framing and Content-Encoding made to fit),
 * continue, or abort (a status, or the failure the app is to see). The flow records each pause
 * as "_breakpoints" (docs/CONTRACTS.md). Runs on the exchange's worker thread. */
#ifndef HTTPEEK_BREAKPOINT_APPLY_H
#define HTTPEEK_BREAKPOINT_APPLY_H

#include <jansson.h>
#include "attrib.h"
#include "exchange.h"

/* Add the breakpoint hooks to pol (a copy of the rules' policy, rule_policy). */
void breakpoint_policy_fill(struct exchange_policy *pol) HP_NONNULL(1);

/* breakpoint_action_check (the action check, any thread) is in breakpoint_edit.h. */

#endif
