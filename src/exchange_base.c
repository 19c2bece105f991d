/* exchange_base.c — see exchange_base.h. */
#include "exchange_base.h"

#include "exchange_hold.h"
#include "uplink_h2.h"

void exchange_set_phase(struct exchange *ex, enum exchange_phase p, const char *why)
{
    ex->phase = p;
    ex->front->phase(ex, p, why);
}

int exchange_connecting(const struct exchange *ex)
{
    return ex->up->connecting || ex->phase == EXCHANGE_CONNECTING;
}

/* Answer the client (status, reason) and record the flow: the exchange is over. */
void exchange_fail(struct exchange *ex, int status, const char *reason)
{
    if (ex->bp) /* a breakpoint's hold goes with the exchange */
        ex->proxy->policy->bp_drop(ex, 0, 0);
    struct flow *f = ex->flow;
    ex->flow = NULL;
    exchange_hold_drop(ex);
    uplink_h2_stream_done(ex->up);
    ex->front->fail(ex, f, status, reason);
}
