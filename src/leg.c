/* leg.c — see leg.h. Back-pressure in the style of libevent's le-proxy sample: a full sink
 * stops its source's reads, and the sink's write watermark wakes the source again. */
#include "leg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include "budget.h"
#include "heap_trim.h"
#include "tls_wbuf.h"

/* Output added to an empty buffer: run the bufferevent's write event in this loop
 * turn instead of after the next epoll_wait reports the socket writable. With the workers' epoll
 * changelist the EPOLLOUT the bufferevent registers and the delete once the buffer is empty then
 * cancel out, so a request's two writes cost no epoll_ctl and no extra loop turn (they cost four
 * epoll_ctl calls and a turn each).
 *
 * The event is added here first: this callback runs before the bufferevent's own (evbuffer
 * callbacks run newest first), and libevent's event_add does not register an event that is
 * already active, so activating it before the bufferevent added it would leave a write that
 * blocks (a full socket) waiting for an EPOLLOUT nobody asked for. Plain legs (never connecting
 * or suspended here: upstream.c connects before the bufferevent exists) and TLS legs with the
 * handshake done: in those states the bufferevent adds the event on this same condition. */
static void kick_write(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct bufferevent *bev = arg;
    if (!info->n_added || info->orig_size || !(bufferevent_get_enabled(bev) & EV_WRITE))
        return;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl && !SSL_is_init_finished(ssl))
        return;
    /* the flag, not event_pending: that takes the base's lock, and only this thread touches a
     * leg's events */
    int added = bev->ev_write.ev_evcallback.evcb_flags & EVLIST_INSERTED;
    if (!added && event_add(&bev->ev_write, NULL) < 0)
        return;
    event_active(&bev->ev_write, EV_WRITE, 1);
}

/* Open TLS legs read ahead: OpenSSL then takes what the socket holds in one read() instead of
 * two per record (its 5-byte header, then the rest), two syscalls fewer per proxied request. The
 * catch: complete records can then wait in OpenSSL's buffer, where epoll does not see them and
 * libevent's read loop does not look (it asks SSL_pending, which counts only decrypted bytes).
 * So whenever such bytes may be left behind (input added or drained, reading enabled again) the
 * read event is run once more; with reading disabled or the input over its high-water mark it
 * reads nothing. Read-ahead starts with the first application data: a handshake never leaves
 * bytes behind for a bufferevent that has not started reading them. */
static void kick_read_if_buffered(struct bufferevent *bev, SSL *ssl)
{
    if (SSL_has_pending(ssl) && (bufferevent_get_enabled(bev) & EV_READ))
        event_active(&bev->ev_read, EV_READ, 1);
}

static void on_input_changed(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct bufferevent *bev = arg;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (!ssl || !SSL_is_init_finished(ssl))
        return;
    if (info->n_added && !SSL_get_read_ahead(ssl)) {
        SSL_set_read_ahead(ssl, 1);
        /* room for several records per read(2) once the buffer is next allocated (records
         * arrive back to back in a download: one read each cost a syscall per 16 KiB) */
        SSL_set_default_read_buffer_len(ssl, LEG_TLS_READ_BUF);
    }
    kick_read_if_buffered(bev, ssl);
}

/* A plain socket's read without asking the socket first. libevent's evbuffer_read makes an
 * ioctl(FIONREAD) before every read(2) to size its buffer, then reads at most 4096 bytes anyway.
 * Here one read(2) into the stack takes up to PLAIN_READ_MAX and evbuffer_add copies what came:
 * two syscalls fewer per plain keep-alive request (the copy of a small message costs less than
 * libevent's own buffer set-up: callgrind, docs/BENCHMARKS.md). The rest is libevent's own read callback's: the high watermark and the leg's read
 * limit bound the read, a read reports to the read callback through bufferevent_trigger
 * (watermarks, deferred callbacks), EOF and errors disable reading and go to the event callback.
 * What this path does not do itself goes to libevent's callback (socket_readcb): the read
 * timeout, rate limits (throttling rules: their token buckets) and an input at its high
 * watermark (libevent suspends reading then). */
#define PLAIN_READ_MAX 4096 /* libevent's cap: a throttle set once the request head is read
                              * then limits all but this much of the body, as before */
static event_callback_fn socket_readcb; /* bufferevent_sock.c's, the same for every socket bev */
static pthread_once_t socket_readcb_once = PTHREAD_ONCE_INIT;

/* Learn socket_readcb from a socket bev made for the purpose (libevent does not export it). */
static void find_socket_readcb(void)
{
    struct event_base *base = event_base_new();
    struct bufferevent *bev = base ? bufferevent_socket_new(base, -1, 0) : NULL;
    if (bev)
        socket_readcb = event_get_callback(&bev->ev_read);
    if (bev)
        bufferevent_free(bev);
    if (base)
        event_base_free(base);
}

static void plain_read(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in), high = bev->wm_read.high;
    ev_ssize_t max = bufferevent_get_max_to_read(bev);
    if (what == EV_TIMEOUT || (high && len >= high) || max <= 0 ||
        bufferevent_get_token_bucket_cfg(bev)) {
        socket_readcb(fd, what, arg);
        return;
    }
    size_t want = (size_t)max < PLAIN_READ_MAX ? (size_t)max : PLAIN_READ_MAX;
    if (high && high - len < want)
        want = high - len;
    char buf[PLAIN_READ_MAX];
    ssize_t got;
    do
        got = read(fd, buf, want);
    while (got < 0 && errno == EINTR);
    int err = errno, added = 0;
    if (got > 0) {
        evbuffer_unfreeze(in, 0); /* a socket bev's input is frozen at its end but while it reads */
        added = evbuffer_add(in, buf, (size_t)got) == 0;
        evbuffer_freeze(in, 0);
    }
    if (got > 0 && added) {
        bufferevent_trigger(bev, EV_READ, 0); /* the read callback, as libevent's would */
        return;
    }
    if (got > 0 && !added) { /* out of memory: as libevent's read when its buffer cannot grow */
        err = ENOMEM;
        got = -1;
    } else if (got < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
        return;
    }
    bufferevent_disable(bev, EV_READ);
    errno = err; /* the event callback reads it (EVUTIL_SOCKET_ERROR) */
    bufferevent_trigger_event(bev, BEV_EVENT_READING | (got == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), 0);
}

/* Make a plain socket bev read through plain_read (once per bev; a pooled one has it already). */
static void use_plain_read(struct bufferevent *bev)
{
    pthread_once(&socket_readcb_once, find_socket_readcb);
    if (!socket_readcb || event_get_callback(&bev->ev_read) != socket_readcb)
        return; /* not a socket bev, or plain_read already */
    short enabled = bufferevent_get_enabled(bev);
    bufferevent_disable(bev, EV_READ); /* event_assign needs it neither pending nor active */
    if (event_assign(&bev->ev_read, bufferevent_get_base(bev), event_get_fd(&bev->ev_read),
                     event_get_events(&bev->ev_read), plain_read, bev) < 0)
        event_assign(&bev->ev_read, bufferevent_get_base(bev), event_get_fd(&bev->ev_read),
                     event_get_events(&bev->ev_read), socket_readcb, bev);
    if (enabled & EV_READ)
        bufferevent_enable(bev, EV_READ);
}

void leg_read_enabled(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl && SSL_is_init_finished(ssl))
        kick_read_if_buffered(bev, ssl);
}

void leg_attach(struct leg *leg, struct bufferevent *bev, SSL *ssl, bufferevent_data_cb readcb,
                bufferevent_data_cb writecb, bufferevent_event_cb eventcb)
{
    leg->bev = bev;
    leg->ssl = ssl;
    leg->fd = -1;
    leg->paused_by_peer = 0;
    bufferevent_setcb(bev, readcb, writecb, eventcb, leg);
    if (!ssl)
        use_plain_read(bev);
    bufferevent_setwatermark(bev, EV_READ, 0, LEG_INBUF_MAX);
    bufferevent_set_max_single_read(bev, LEG_READ_MAX);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_remove_cb(out, kick_write, bev); /* a pooled bev comes with it already */
    evbuffer_add_cb(out, kick_write, bev);
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_remove_cb(in, on_input_changed, bev);
    evbuffer_add_cb(in, on_input_changed, bev);
    leg_read_enabled(bev);
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
            tls_wbuf_unbind(leg->ssl); /* the close_notify and anything gathered: out now */
            tls_facts_attach(leg->ssl, NULL); /* the SSL may outlive the leg's facts */
        }
        bufferevent_free(leg->bev);
        leg->bev = NULL;
        leg->ssl = NULL;
        heap_trim_note_freed(); /* a burst of closed legs is trimmed (heap_trim.h) */
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

int leg_free_tls_buffers(SSL *ssl)
{
    tls_wbuf_release(ssl);
    if (!ssl || !free_buffers_safe())
        return 1;
    return SSL_free_buffers(ssl); /* 0 (kept) when a record is still buffered either way */
}

int leg_release_buffers(struct leg *leg)
{
    tls_facts_release_snapshot(&leg->tls);
    if (leg->parser) /* its head scratch: ~1 KiB per leg that spoke HTTP/1 */
        http1_parser_release_scratch(leg->parser);
    heap_trim_note_freed(); /* idle connections giving these back in a burst are trimmed */
    return leg_free_tls_buffers(leg->ssl);
}

struct evbuffer *leg_output(struct leg *leg)
{
    return leg->bev ? bufferevent_get_output(leg->bev) : NULL;
}

void leg_throttle(struct leg *src, struct leg *dst)
{
    if (!dst->bev || !src->bev)
        return;
    /* the memory budget's share of this connection, not a fixed size, bounds what waits for a
     * slow peer (budget.h); the source's reads shrink with it so one read cannot overshoot it */
    size_t limit = budget_outbuf_max(src->budget, LEG_OUTBUF_MAX);
    ev_ssize_t read_max = limit < LEG_READ_MAX ? (ev_ssize_t)limit : LEG_READ_MAX;
    if (bufferevent_get_max_single_read(src->bev) != read_max)
        bufferevent_set_max_single_read(src->bev, (size_t)read_max);
    if (evbuffer_get_length(bufferevent_get_output(dst->bev)) >= limit) {
        bufferevent_disable(src->bev, EV_READ);
        src->paused_by_peer = 1;
        bufferevent_setwatermark(dst->bev, EV_WRITE, limit / 2, 0);
    }
}

void leg_drained(struct leg *dst, struct leg *src)
{
    if (!src->paused_by_peer || !dst->bev)
        return;
    size_t limit = budget_outbuf_max(src->budget, LEG_OUTBUF_MAX);
    if (evbuffer_get_length(bufferevent_get_output(dst->bev)) > limit / 2)
        return;
    src->paused_by_peer = 0;
    bufferevent_setwatermark(dst->bev, EV_WRITE, 0, 0);
    if (src->bev) {
        bufferevent_enable(src->bev, EV_READ);
        leg_read_enabled(src->bev);
    }
}

struct http1_parser *leg_parser_reset(struct leg *leg, int is_request,
                                      const struct http1_handlers *h, void *arg)
{
    if (leg->parser)
        http1_parser_free(leg->parser);
    else if (!(leg->parser = malloc(sizeof *leg->parser)))
        return NULL;
    http1_parser_init(leg->parser, is_request, h, arg);
    return leg->parser;
}

void leg_parser_free(struct leg *leg)
{
    if (!leg->parser)
        return;
    http1_parser_free(leg->parser);
    free(leg->parser);
    leg->parser = NULL;
}
