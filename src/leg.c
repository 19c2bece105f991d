/* leg.c — see leg.h. Back-pressure in the style of libevent's le-proxy sample: a full sink
 * stops its source's reads, and the sink's write watermark wakes the source again. */
#include "leg.h"

#include <unistd.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

void leg_attach(struct leg *leg, struct bufferevent *bev, SSL *ssl, bufferevent_data_cb readcb,
                bufferevent_data_cb writecb, bufferevent_event_cb eventcb)
{
    leg->bev = bev;
    leg->ssl = ssl;
    leg->fd = -1;
    leg->paused_by_peer = 0;
    bufferevent_setcb(bev, readcb, writecb, eventcb, leg);
    bufferevent_setwatermark(bev, EV_READ, 0, LEG_INBUF_MAX);
    bufferevent_set_max_single_read(bev, LEG_READ_MAX);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void leg_close(struct leg *leg)
{
    if (leg->bev) {
        bufferevent_setcb(leg->bev, NULL, NULL, NULL, NULL);
        bufferevent_disable(leg->bev, EV_READ | EV_WRITE);
        if (leg->ssl) {
            /* Send close_notify when we can without waiting; a peer that already went away
             * gets nothing (SSL_shutdown fails quietly). */
            SSL_set_shutdown(leg->ssl, SSL_RECEIVED_SHUTDOWN);
            SSL_shutdown(leg->ssl);
        }
        bufferevent_free(leg->bev);
        leg->bev = NULL;
        leg->ssl = NULL;
    }
    if (leg->fd >= 0) {
        close(leg->fd);
        leg->fd = -1;
    }
}

/* SSL_free_buffers could free a record that was read but not yet returned before OpenSSL 3.0.14,
 * 3.1.6, 3.2.2 and 3.3.1 (CVE-2024-4741): with those, the buffers are left alone. */
static int free_buffers_safe(void)
{
    unsigned long v = OpenSSL_version_num(); /* 0xMNN00PP0 */
    unsigned long major = v >> 28, minor = (v >> 20) & 0xff, patch = (v >> 4) & 0xff;
    static const unsigned char fixed[] = {14, 6, 2, 1};
    if (major != 3)
        return major > 3;
    return minor >= sizeof fixed || patch >= fixed[minor];
}

void leg_release_buffers(struct leg *leg)
{
    if (leg->ssl && free_buffers_safe())
        SSL_free_buffers(leg->ssl); /* 0 (kept) when a record is still buffered either way */
}

struct evbuffer *leg_output(struct leg *leg)
{
    return leg->bev ? bufferevent_get_output(leg->bev) : NULL;
}

void leg_throttle(struct leg *src, struct leg *dst)
{
    if (!dst->bev || !src->bev)
        return;
    if (evbuffer_get_length(bufferevent_get_output(dst->bev)) >= LEG_OUTBUF_MAX) {
        bufferevent_disable(src->bev, EV_READ);
        src->paused_by_peer = 1;
        bufferevent_setwatermark(dst->bev, EV_WRITE, LEG_OUTBUF_MAX / 2, 0);
    }
}

void leg_drained(struct leg *dst, struct leg *src)
{
    if (!src->paused_by_peer || !dst->bev)
        return;
    if (evbuffer_get_length(bufferevent_get_output(dst->bev)) > LEG_OUTBUF_MAX / 2)
        return;
    src->paused_by_peer = 0;
    bufferevent_setwatermark(dst->bev, EV_WRITE, 0, 0);
    if (src->bev)
        bufferevent_enable(src->bev, EV_READ);
}
