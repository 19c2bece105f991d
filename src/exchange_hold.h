/* exchange_hold.h — the request body an exchange keeps while an HTTP/2 server may still refuse
 * its stream (REFUSED_STREAM, or queued under a GOAWAY: the server did not process it, and the
 * request may go out once more), or while a resumed upstream handshake has not said yet whether
 * the server speaks h2: what was sent, up to EXCHANGE_HOLD_MAX (exchange.h), from the first
 * body byte to the first response byte. Kept in ex->req_held (owned by the exchange),
 * on the exchange's worker thread. */
#ifndef HTTPEEK_EXCHANGE_HOLD_H
#define HTTPEEK_EXCHANGE_HOLD_H

#include <stddef.h>
#include "attrib.h"
#include "exchange_state.h"

/* Body bytes about to go to ex's HTTP/2 stream: kept unless ex was retried already or the
 * response began; past EXCHANGE_HOLD_MAX nothing is kept and ex->held_over is set. */
void exchange_hold_body(struct exchange *ex, const char *data, size_t len) HP_NONNULL(1);

/* What was kept goes out again after the request's new head (ex->up: its HTTP/2 stream, or
 * u->pending for a new HTTP/1 connection), with the request's end and the client's trailers
 * when the client's request was complete. It stays kept (until the first response byte): a
 * request resent as a stream may still be refused once. 0, or -1. */
int exchange_hold_replay(struct exchange *ex) HP_NONNULL(1);

/* Nothing is kept any more (the response began, or the exchange ended). */
void exchange_hold_drop(struct exchange *ex) HP_NONNULL(1);

#endif
