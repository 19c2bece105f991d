/* exchange.h — one request/response pair, independent of the client's wire protocol: where the
 * request goes (absolute-form, inside an intercepted tunnel, or httpeek's own host: decided by
 * exchange_route.h), its uplink
 * (uplink.h: connect, pool, TLS, then HTTP/1 or HTTP/2 out and in; one retry: a stale reused
 * connection, or a stream an HTTP/2 server refused),
 * the Alt-Svc policy, the flow with its marks, failures and their diagnosis, and what its
 * deadlines mean. Owned by the front that read the request (front_h1 keeps one at a time; an
 * HTTP/2 front would keep one per stream), on that front's worker thread. The exchange talks to
 * its front only through struct exchange_front (the front's ops), so any wire protocol can carry
 * it; the front talks to it with the exchange_* calls below. */
#ifndef HTTPEEK_EXCHANGE_H
#define HTTPEEK_EXCHANGE_H

#include "exchange_state.h"
#include "exchange_base.h"
#include "exchange_request.h"
#include "exchange_route.h"

/* ex uses uplink u from now on (u reports to ex: u->ex, u->ops). */
void exchange_bind(struct exchange *ex, struct uplink *u) HP_NONNULL(1, 2);

/* Make f (its request head set) ex's exchange: reset per-request state. */
void exchange_init(struct exchange *ex, struct flow *f) HP_NONNULL(1, 2);

/* Route the request and start it upstream. Returns 0 when it went (or waits for the uplink), 1
 * when it is for httpeek's own pages (the front answers; nothing sent upstream), -1 when the
 * exchange already failed (answered through ops->fail; the front must stop). */
int exchange_start(struct exchange *ex) HP_NONNULL(1);

/* Seconds of the deadline of phase p; *lazy set when it is an idle deadline that moves with
 * activity (checked when it fires). */
double exchange_deadline(const struct exchange *ex, enum exchange_phase p, int *lazy)
    HP_NONNULL(1, 3);

/* The deadline of phase p passed after secs: fail the exchange (answered 504 or cut off). */
void exchange_timed_out(struct exchange *ex, enum exchange_phase p, double secs) HP_NONNULL(1);

/* The client closed (sock_err its error, or 0): fail and record the flow in progress. */
void exchange_client_gone(struct exchange *ex, int sock_err) HP_NONNULL(1);

/* The exchange is complete: record its flow (own pages: local 1 drops it, 2 records it); the
 * uplink is closed unless reusable. */
void exchange_finish(struct exchange *ex, int local) HP_NONNULL(1);

/* The connection ends with the exchange unfinished: fail (why) and record its flow; a
 * breakpoint's hold is dropped even when the front took the flow. */
void exchange_abandon(struct exchange *ex, const char *why) HP_NONNULL(1, 2);

#endif
