/* uplink.c — see uplink.h. */
#include "uplink.h"

#include <event2/buffer.h>
#include "str.h"

int uplink_record_connect(struct flow *f, const struct upstream_result *r)
{
    f->marks.dns_start = r->dns_start;
    f->marks.dns_end = r->dns_end;
    f->marks.connect_start = r->connect_start;
    f->marks.connect_end = r->connect_end;
    str_copy(f->server_ip, sizeof f->server_ip, r->addr);
    f->connect_attempts = r->attempts;
    if (r->fd >= 0)
        return 0;
    f->fail.sys_errno = r->sys_errno;
    f->fail.dns_error = r->dns_error;
    f->fail.timeout = r->timeout;
    flow_fail(f, r->stage, r->sys_errno, "%s", r->reason);
    return -1;
}

void uplink_free(struct uplink *u)
{
    if (u->connecting) {
        upstream_cancel(u->connecting);
        u->connecting = NULL;
    }
    leg_close(&u->leg);
    tls_facts_clear(&u->leg.tls);
    if (u->leg.parser_ready) {
        http1_parser_free(&u->leg.parser);
        u->leg.parser_ready = 0;
    }
    if (u->pending) {
        evbuffer_free(u->pending);
        u->pending = NULL;
    }
}
