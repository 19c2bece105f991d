/* record.h — the last step of every flow, on the worker thread that made it: its diagnosis
 * (code and name for the terminal line and the list), the next flow id, the terminal line, and
 * the hand-over to the store (proxy->sink). */
#ifndef HTTPEEK_RECORD_H
#define HTTPEEK_RECORD_H

#include "attrib.h"
#include "flow.h"
#include "proxy.h"

/* Give f its id now unless it has one (a WebSocket's messages need it before it is recorded);
 * returns the id. */
uint64_t record_number(struct proxy *p, struct flow *f) HP_NONNULL(1, 2);

/* Diagnose f, number it (unless record_number did) and pass it on; f belongs to the sink
 * afterwards. */
void record_flow(struct proxy *p, struct flow *f) HP_NONNULL(1, 2);

#endif
