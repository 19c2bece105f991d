/* record.c — see record.h. Flows are numbered here, when recorded, so that a flow that never is
 * (a CONNECT that became its requests, httpeek's own pages) leaves no gap a user reads as lost. */
#include "record.h"

#include "diagnose.h"
#include "replay_marks.h"

uint64_t record_number(struct proxy *p, struct flow *f)
{
    if (!f->id)
        f->id = atomic_fetch_add(&p->next_flow_id, 1) + 1;
    return f->id;
}

void record_flow(struct proxy *p, struct flow *f)
{
    struct diagnosis d;
    if (diagnose_flow(f, &d) && d.entry) {
        f->diag_code = d.entry->code;
        f->diag_name = d.entry->name;
    }
    /* warnings (ATS, app-level: body checks, URLCache notes) are not computed here on the
     * worker: the store computes them once, writing the flow's JSON, and marks the terminal
     * line from that (store.c write_batch) */
    record_number(p, f);
    if (p->replay_marks) /* the repeat waiting for this flow's id learns it */
        replay_marks_recorded(p->replay_marks, f);
    flow_done(f, p->out, p->sink, p->sink_arg);
}
