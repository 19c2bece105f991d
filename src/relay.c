/* relay.c — see relay.h. */
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include "tls_wbuf.h"
#include "ws_tap.h"

static void relay_read(struct bufferevent *bev, void *arg)
{
    struct relay_side *s = arg;
    struct leg *leg = s->leg, *other = s->other;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    *s->relay->activity = flow_now_us();
    leg->bytes_in += n;
    if (s->relay->tap) /* looks at the bytes only: nothing is taken, changed or held */
        ws_tap_feed(s->relay->tap, leg->is_client, in);
    if (!other->bev) {
        evbuffer_drain(in, n);
        return;
    }
    evbuffer_add_buffer(bufferevent_get_output(other->bev), in);
    leg_throttle(leg, other);
}

static void relay_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct relay_side *s = arg;
    tls_wbuf_flush(s->leg->ssl);
    leg_drained(s->leg, s->other);
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct relay_side *s = arg;
    struct relay *r = s->relay;
    struct flow *f = *r->note_flow;
    if (f && (what & BEV_EVENT_ERROR) && !f->note[0])
        snprintf(f->note, sizeof f->note, "%s reset the tunnel: %s",
                 s->leg->is_client ? "client" : "server", strerror(EVUTIL_SOCKET_ERROR()));
    if (r->tap)
        ws_tap_leg_ended(r->tap, s->leg->is_client, (what & BEV_EVENT_ERROR) != 0);
    /* One side is done: deliver what the other side still has queued, then close both
     * (le-proxy's close-when-drained; half-open tunnels are not kept). */
    leg_close(s->leg);
    r->ended(r->arg);
}

void relay_start(struct relay *r, struct leg *client, struct leg *upstream, struct flow **note_flow,
                 uint64_t *activity, void (*ended)(void *arg), void *arg)
{
    r->side[0] = (struct relay_side){r, client, upstream};
    r->side[1] = (struct relay_side){r, upstream, client};
    r->note_flow = note_flow;
    r->activity = activity;
    r->ended = ended;
    r->arg = arg;
    for (int i = 0; i < 2; i++) {
        struct leg *l = r->side[i].leg;
        if (!l->bev)
            continue;
        bufferevent_setcb(l->bev, relay_read, relay_write, relay_event, &r->side[i]);
        if (l->ssl)
            tls_wbuf_bind(l->ssl, l->bev); /* relay_write flushes it */
        bufferevent_setwatermark(l->bev, EV_READ, 0, LEG_INBUF_MAX);
        bufferevent_enable(l->bev, EV_READ | EV_WRITE);
        leg_read_enabled(l->bev);
    }
    /* Bytes already buffered behind a CONNECT or a 101 go across now. */
    for (int i = 0; i < 2; i++) {
        struct leg *l = r->side[i].leg;
        if (l->bev && evbuffer_get_length(bufferevent_get_input(l->bev)) > 0)
            relay_read(l->bev, &r->side[i]);
    }
}
