/* exchange_hold.c — see exchange_hold.h. */
#include "exchange_hold.h"

#include <event2/buffer.h>
#include "trailers.h"
#include "uplink_h2.h"

void exchange_hold_drop(struct exchange *ex)
{
    if (ex->req_held)
        evbuffer_free(ex->req_held);
    ex->req_held = NULL;
    ex->held_over = 0;
}

/* Bounded: a body larger than EXCHANGE_HOLD_MAX is not retried (the diagnosis says so). */
void exchange_hold_body(struct exchange *ex, const char *data, size_t len)
{
    if (ex->retried || ex->held_over || !ex->flow || ex->flow->marks.first_byte)
        return;
    if ((!ex->req_held && !(ex->req_held = evbuffer_new())) ||
        evbuffer_get_length(ex->req_held) + len > EXCHANGE_HOLD_MAX ||
        evbuffer_add(ex->req_held, data, len) < 0) {
        exchange_hold_drop(ex);
        ex->held_over = 1;
    }
}

int exchange_hold_replay(struct exchange *ex)
{
    struct uplink *u = ex->up;
    const struct http1_head *trailers = ex->flow->req_trailers;
    size_t n = ex->req_held ? evbuffer_get_length(ex->req_held) : 0;
    const char *data = n ? (const char *)evbuffer_pullup(ex->req_held, -1) : NULL;
    int r = 0;
    if (u->h2) {
        if (n && uplink_h2_body(u, data, n) < 0)
            r = -1;
        else if (ex->req_done && uplink_h2_end(u, trailers) < 0)
            r = -1;
    } else {
        if (n && http1_write_body(u->pending, u->req_out, data, n) < 0)
            r = -1;
        else if (ex->req_done && trailers_write_http1(u->pending, u->req_out, trailers) < 0)
            r = -1;
    }
    return r; /* still kept: a stream resent by resend_over_h2 may yet be refused */
}
