/* exchange_base.h — what every part of an exchange uses: its phase (told to its front), whether
 * its request is still waiting for the uplink's connection, and failing it (the client answered,
 * the flow recorded). On the exchange's worker thread. */
#ifndef HTTPEEK_EXCHANGE_BASE_H
#define HTTPEEK_EXCHANGE_BASE_H

#include "attrib.h"
#include "exchange_state.h"

/* Set ex's phase and tell its front why. */
void exchange_set_phase(struct exchange *ex, enum exchange_phase p, const char *why)
    HP_NONNULL(1, 3);

/* Where the request is while in flight: 1 while the uplink connects (or its TLS runs). */
int exchange_connecting(const struct exchange *ex) HP_NONNULL(1);

/* Answer the client (status, reason) and record the flow: the exchange is over. */
void exchange_fail(struct exchange *ex, int status, const char *reason) HP_NONNULL(1, 3);

#endif
