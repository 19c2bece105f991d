/* throttle_apply.h — network conditions (throttle.h) on one exchange's client connection, for
 * exchange.c (through rule_policy, rule_apply.h): the first matching throttle rule
 * (ruleset_match_throttle) shapes the client's bufferevent with libevent's token buckets (down:
 * what it writes to the client, up: what it reads from it; TLS bufferevents honour them too),
 * owes the round trip's latency (and, on a connection's first throttled request, the DNS delay)
 * on the write bucket when the response head comes, so its first byte waits that long, and
 * drops the request (connection reset) at the profile's loss rate. A request no throttle
 * matches takes the shaping off. Runs on the exchange's worker. */
#ifndef HTTPEEK_THROTTLE_APPLY_H
#define HTTPEEK_THROTTLE_APPLY_H

#include "attrib.h"

struct exchange;

/* Apply to ex's request (f->url set; scheme/host/port/path as the client asked). Returns 0 to
 * go on, -1 when the request was lost (flow recorded, client connection cut). */
int throttle_apply(struct exchange *ex, const char *scheme, const char *host, int port,
                   const char *path) HP_NONNULL(1, 2, 3, 5);

/* A final response head is about to go to the client: its first byte waits the request's added
 * delay (owed on the connection's write bucket). */
void throttle_response(struct exchange *ex) HP_NONNULL(1);

#endif
