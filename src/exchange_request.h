/* exchange_request.h — an exchange's request on its way upstream: the connection there (made,
 * reused, or a stream of a shared HTTP/2 one), the head, then the body and its end (the
 * exchange_req_* calls of exchange.h live in exchange_request.c). Internal to the exchange:
 * exchange.c and exchange_request.c only, on the exchange's worker thread. */
#ifndef HTTPEEK_EXCHANGE_REQUEST_H
#define HTTPEEK_EXCHANGE_REQUEST_H

#include "attrib.h"
#include "exchange.h"

/* exchange_request.c */

/* Make sure an upstream connection to host:port (tls) is there or coming: 0, or -1 (out of
 * memory, or no connection can be started; the caller fails ex). */
int exchange_ensure_upstream(struct exchange *ex, const char *host, int port, int tls)
    HP_NONNULL(1, 2);

/* Queue the request head towards upstream (now, or once connected): 0, or -1. */
int exchange_send_request_head(struct exchange *ex, const char *path, const char *host_field)
    HP_NONNULL(1, 2);

/* exchange.c */

/* Set ex's phase and tell its front why. */
void exchange_set_phase(struct exchange *ex, enum exchange_phase p, const char *why)
    HP_NONNULL(1, 3);

/* Answer the client (status, reason) and record the flow: the exchange is over. */
void exchange_fail(struct exchange *ex, int status, const char *reason) HP_NONNULL(1, 3);

#endif
