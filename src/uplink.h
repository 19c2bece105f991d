/* uplink.h — the server side of an exchange or a tunnel: what an upstream connection attempt
 * (upstream.h) leaves in a flow. Pure functions on the caller's data, any thread. */
#ifndef HTTPEEK_UPLINK_H
#define HTTPEEK_UPLINK_H

#include "attrib.h"
#include "flow.h"
#include "upstream.h"

/* Record an upstream connect result in flow f (lookup and connect timings, address, attempts;
 * the failure facts when it failed). Returns 0 when the socket is ready, -1 when it failed. */
int uplink_record_connect(struct flow *f, const struct upstream_result *r) HP_NONNULL(1, 2);

#endif
