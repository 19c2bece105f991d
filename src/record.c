/* record.c — see record.h. Flows are numbered here, when recorded, so that a flow that never is
 * (a CONNECT that became its requests, httpeek's own pages) leaves no gap a user reads as lost. */
#include "record.h"

#include "diagnose.h"

void record_flow(struct proxy *p, struct flow *f)
{
    struct diagnosis d, w[4];
    if (diagnose_flow(f, &d) && d.entry) {
        f->diag_code = d.entry->code;
        f->diag_name = d.entry->name;
    }
    size_t nw = diagnose_warnings(f, w, 4);
    for (size_t i = 0; i < nw; i++)
        f->warn_codes[f->nwarn++] = w[i].entry->code;
    f->id = atomic_fetch_add(&p->next_flow_id, 1) + 1;
    flow_done(f, p->out, p->sink, p->sink_arg);
}
