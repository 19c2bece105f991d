/* uplink.c — see uplink.h. */
#include "uplink.h"

#include <strings.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include "budget.h"
#include "str.h"
#include "tls_client.h"
#include "tls_facts.h"

/* The leg's callbacks: the uplink is the leg's owner, and its first member. */
static void uplink_read(struct bufferevent *bev, void *arg)
{
    struct uplink *u = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    u->leg.bytes_in += n;
    u->ops->input(u, in, n);
}

static void uplink_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct uplink *u = arg;
    u->ops->drained(u);
}

static void uplink_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct uplink *u = arg;
    int sock_err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    if ((what & BEV_EVENT_CONNECTED) && u->leg.ssl) {
        tls_facts_fill(u->leg.ssl, &u->leg.tls);
        u->leg.tls.handshake_done = 1;
    }
    u->ops->event(u, what, sock_err); /* a failure's TLS error is taken there, with its facts */
}

static void on_connected(const struct upstream_result *r, void *arg)
{
    struct uplink *u = arg;
    u->connecting = NULL;
    str_copy(u->server_ip, sizeof u->server_ip, r->addr);
    u->ops->connected(u, r);
}

/* A fresh response parser for the leg (made when HTTP/1 first needs it): a new connection may
 * carry requests. Returns 0, or -1 out of memory (uplink_feed tries again). */
static int parser_reset(struct uplink *u)
{
    u->reusable = 1;
    return leg_parser_reset(&u->leg, 0, &u->ops->response, u) ? 0 : -1;
}

void uplink_init(struct uplink *u, struct budget *budget)
{
    u->leg.owner = u;
    u->leg.fd = -1;
    u->leg.budget = budget;
    u->host = NAME_STR_EMPTY;
}

int uplink_reuse(struct uplink *u, const char *host, int port, int tls)
{
    if (!u->leg.bev || !u->reusable || u->port != port || u->tls != tls || strcasecmp(u->host, host))
        return 0;
    if (u->leg.parser)
        http1_parser_resume(u->leg.parser); /* it paused at the end of the last response */
    return 1;
}

int uplink_connect(struct uplink *u, struct event_base *base, struct resolver *dns,
                   const char *host, int port, int tls, double timeout)
{
    leg_close(&u->leg);
    if (name_str_set(&u->host, host) < 0)
        return -1;
    u->port = port;
    u->exchanges = 0;
    u->tls = tls;
    tls_facts_clear(&u->leg.tls);
    if (!u->pending && !(u->pending = evbuffer_new()))
        return -1;
    u->connecting = upstream_connect(base, dns, host, port, timeout, on_connected, u);
    return u->connecting ? 0 : -1;
}

int uplink_open(struct uplink *u, struct proxy *proxy, struct event_base *base,
                const struct upstream_result *r)
{
    struct bufferevent *bev;
    SSL *ssl = NULL;
    if (u->tls) {
        ssl = tls_client_ssl_new(proxy->tls_client, u->host, u->port, r->addr);
        if (ssl && u->offer_h2 && tls_client_offer_h2(ssl) < 0) {
            SSL_free(ssl);
            ssl = NULL;
        }
        if (ssl)
            tls_facts_attach(ssl, &u->leg.tls);
        bev = ssl ? bufferevent_openssl_socket_new(base, r->fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                  : NULL;
        if (bev)
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        else if (ssl)
            SSL_free(ssl);
    } else {
        bev = bufferevent_socket_new(base, r->fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        close(r->fd);
        return -1;
    }
    parser_reset(u); /* out of memory: uplink_feed tries again */
    leg_attach(&u->leg, bev, ssl, uplink_read, uplink_write, uplink_event);
    return 0;
}

void uplink_adopt(struct uplink *u)
{
    u->offer_h2 = 0; /* not a connection of uplink_connect's: resend_over_h2 is not for it */
    if (!u->leg.bev)
        return;
    int h2 = uplink_leg_is_h2(&u->leg);
    if (h2) { /* never carries HTTP/1 bytes: no response parser (S5: memory per idle tunnel) */
        leg_parser_free(&u->leg);
        u->reusable = 1;
    } else
        parser_reset(u); /* out of memory: uplink_feed tries again */
    bufferevent_setcb(u->leg.bev, uplink_read, uplink_write, uplink_event, u);
    if (h2)
        return; /* the server speaks first (SETTINGS): read once its connection is made */
    bufferevent_setwatermark(u->leg.bev, EV_READ, 0, LEG_INBUF_MAX);
    bufferevent_enable(u->leg.bev, EV_READ | EV_WRITE);
    leg_read_enabled(u->leg.bev);
}

struct evbuffer *uplink_output(struct uplink *u, int connecting)
{
    return u->pending && connecting ? u->pending : leg_output(&u->leg);
}

int uplink_flush_pending(struct uplink *u)
{
    if (!u->pending || evbuffer_get_length(u->pending) == 0)
        return 0;
    evbuffer_add_buffer(leg_output(&u->leg), u->pending);
    return 1;
}

enum http1_feed_result uplink_feed(struct uplink *u, struct evbuffer *in)
{
    if (!u->leg.parser && !leg_parser_reset(&u->leg, 0, &u->ops->response, u))
        return HTTP1_FEED_ERROR; /* out of memory (the exchange says so) */
    return http1_feed(u->leg.parser, in);
}

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

int uplink_leg_is_h2(const struct leg *leg)
{
    const unsigned char *p = NULL;
    unsigned n = 0;
    /* The choice is known mid-handshake (TLS 1.3 EncryptedExtensions), but the leg is not
     * ready until its BEV_EVENT_CONNECTED was delivered (tls.handshake_done: uplink_event, or
     * the tunnel's): a shared connection made of it before would take that deferred event for
     * a failure. */
    if (!leg->ssl || !leg->bev || !leg->tls.handshake_done)
        return 0;
    SSL_get0_alpn_selected(leg->ssl, &p, &n);
    return n == 2 && p && !memcmp(p, "h2", 2);
}
