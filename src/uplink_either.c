/* uplink_either.c — see uplink.h: the uplink calls whose work differs for an HTTP/1 leg and for
 * a stream of a shared HTTP/2 connection, in one place above both (uplink.c knows nothing of
 * HTTP/2 connections; uplink_h2.c uses uplink.h's struct). Thread: the uplink's worker. */
#include "uplink.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include "budget.h"
#include "tls_facts.h"
#include "uplink_h2.h"

struct tls_facts *uplink_tls(struct uplink *u)
{
    return u->h2 ? uplink_h2_tls(u->h2) : &u->leg.tls;
}

void uplink_drop(struct uplink *u)
{
    if (u->connecting) {
        upstream_cancel(u->connecting);
        u->connecting = NULL;
    }
    uplink_h2_stream_done(u);
    leg_close(&u->leg);
    if (u->pending)
        evbuffer_drain(u->pending, evbuffer_get_length(u->pending));
    u->reusable = 0;
}

int uplink_full(struct uplink *u)
{
    if (u->h2)
        return u->h2_full;
    struct evbuffer *out = leg_output(&u->leg);
    return out && evbuffer_get_length(out) >= LEG_OUTBUF_MAX;
}

void uplink_pause(struct uplink *u)
{
    if (u->h2)
        u->h2_paused = 1;
    else if (u->leg.bev)
        bufferevent_disable(u->leg.bev, EV_READ);
}

void uplink_resume(struct uplink *u)
{
    if (u->h2) {
        u->h2_paused = 0;
        uplink_h2_consume(u);
    } else if (u->leg.bev) {
        bufferevent_enable(u->leg.bev, EV_READ);
        leg_read_enabled(u->leg.bev);
    }
}

void uplink_throttle(struct uplink *u, struct leg *client)
{
    if (!u->h2) {
        leg_throttle(&u->leg, client);
        return;
    }
    size_t limit = budget_outbuf_max(client->budget, LEG_OUTBUF_MAX);
    if (client->bev && evbuffer_get_length(bufferevent_get_output(client->bev)) >= limit) {
        u->h2_paused = 1; /* the stream's window stays with us: the server waits */
        bufferevent_setwatermark(client->bev, EV_WRITE, limit / 2, 0);
    }
}

void uplink_client_drained(struct uplink *u, struct leg *client)
{
    if (!u->h2) {
        leg_drained(client, &u->leg);
        return;
    }
    size_t limit = budget_outbuf_max(client->budget, LEG_OUTBUF_MAX);
    if (!u->h2_paused || !client->bev ||
        evbuffer_get_length(bufferevent_get_output(client->bev)) > limit / 2)
        return;
    bufferevent_setwatermark(client->bev, EV_WRITE, 0, 0);
    uplink_resume(u);
}

void uplink_free(struct uplink *u)
{
    uplink_h2_detach(u);
    if (u->connecting) {
        upstream_cancel(u->connecting);
        u->connecting = NULL;
    }
    leg_close(&u->leg);
    tls_facts_clear(&u->leg.tls);
    leg_parser_free(&u->leg);
    name_str_clear(&u->host);
    if (u->pending) {
        evbuffer_free(u->pending);
        u->pending = NULL;
    }
}
