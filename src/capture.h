/* capture.h — where a flow's body capture (struct flow_capture, flow.h) keeps its bytes: in
 * memory while its connection's share of the memory budget (capture.budget, budget.h) allows,
 * else in a spill file of its own (unnamed, in the budget's spill_dir: the session's directory)
 * written as the bytes arrive; when neither is possible the capture stops there, marked cut
 * ("memory budget"), and forwarding goes on unchanged. Without a budget (NULL) a capture stays
 * in memory up to its max. flow_capture_add (flow.h) runs on the flow's worker; capture_map and
 * capture_unmap on the thread that holds the flow afterwards (the store's writer). */
#ifndef HTTPEEK_CAPTURE_H
#define HTTPEEK_CAPTURE_H

#include <stddef.h>
#include "attrib.h"
#include "flow.h"

/* flow_capture.cut of a capture stopped because memory was short and it could not spill. */
#define CAPTURE_CUT_BUDGET "memory budget"

/* Free what a capture holds (memory, spill file, mapping) and give its bytes back to the budget;
 * the capture is empty afterwards. */
void capture_release(struct flow_capture *c) HP_NONNULL(1);

/* Make a spilled capture's bytes readable at c->data (c->len bytes, read-only mapping) until
 * capture_unmap; nothing to do for one in memory. Returns 0, -1 when the file cannot be mapped
 * (the capture is then empty and marked cut). */
int capture_map(struct flow_capture *c) HP_NONNULL(1);

/* Undo capture_map (the spill file stays). */
void capture_unmap(struct flow_capture *c) HP_NONNULL(1);

#endif
