/* tunnel.c — CONNECT: eager like sslsplit and mitmproxy (resolve and connect upstream first, so a
 * failure answers the CONNECT itself with 502/504), then "200 Connection established", then a
 * look at the client's first bytes without consuming them (MSG_PEEK):
 *   - a TLS ClientHello: its SNI is read, the upstream TLS handshake (with that SNI) completes
 *     first, then the client is handshaken with a leaf minted for the SNI (or the CONNECT host);
 *   - anything else: an opaque relay, still recorded as a tunnel flow.
 * Peeking instead of reading lets OpenSSL take the ClientHello from the socket itself, so both
 * legs use socket-based TLS bufferevents (no filter layer, no extra copy).
 * When the worker's pool (pool.h) holds an idle verified connection to host:port, the 200 goes out
 * at once and the ClientHello's server name picks the pooled connection (no connect, no upstream
 * handshake); when none fits after all, the connect happens then. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include "clienthello.h"
#include "leafcache.h"
#include "log.h"
#include "mint.h"
#include "mirror.h"
#include "pool.h"
#include "rules.h"
#include "setup.h"
#include "tls_client.h"
#include "tls_facts.h"
#include "tls_wbuf.h"
#include "tls_server.h"
#include "upstream.h"
#include "ws_tap.h"

/* Re-check interval while a ClientHello is still arriving in pieces (ms). */
#define TUNNEL_PEEK_RETRY_MS 5

static void on_peek(evutil_socket_t fd, short what, void *arg);
static void after_peek(struct conn *c);

/* Early upstream TLS: for a CONNECT to a host name, the upstream handshake starts as the 200 goes
 * out, with the CONNECT host as the server name, and runs while the client reads the 200 and
 * builds its ClientHello (a quarter of a millisecond on loopback, an RTT over Wi-Fi). The hello
 * then decides: the same name (or none) and interception: the handshake is used; anything else
 * (another name, a passthrough rule, not TLS) or a failed early handshake: it is dropped unseen and
 * a new connection is made after the hello, exactly as without it, so what the flow records
 * (and any failure the client is shown) comes from the name the client really asked for. */
enum { TUNNEL_EARLY_NONE, TUNNEL_EARLY_RUNNING, TUNNEL_EARLY_DONE, TUNNEL_EARLY_FAILED };

void tunnel_cleanup(struct conn *c)
{
    if (c->peek_ev) {
        event_free(c->peek_ev);
        c->peek_ev = NULL;
    }
}

/* ---- opaque relay ---- */

static void relay_read(struct bufferevent *bev, void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    struct leg *other = leg->is_client ? &c->upstream : &c->client;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    c->last_activity = flow_now_us();
    leg->bytes_in += n;
    if (c->ws_tap)
        ws_tap_feed(c->ws_tap, leg->is_client, in);
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
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    tls_wbuf_flush(leg->ssl);
    leg_drained(leg, leg->is_client ? &c->upstream : &c->client);
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    if (c->tunnel_flow && (what & BEV_EVENT_ERROR) && !c->tunnel_flow->note[0])
        snprintf(c->tunnel_flow->note, sizeof c->tunnel_flow->note, "%s reset the tunnel: %s",
                 leg->is_client ? "client" : "server", strerror(EVUTIL_SOCKET_ERROR()));
    if (c->ws_tap)
        ws_tap_leg_ended(c->ws_tap, leg->is_client, (what & BEV_EVENT_ERROR) != 0);
    /* One side is done: deliver what the other side still has queued, then close both
     * (le-proxy's close-when-drained; half-open tunnels are not kept). */
    leg_close(leg);
    conn__close(c, 1);
}

void tunnel_relay(struct conn *c)
{
    conn__set_state(c, CONN_S_RELAY, "relaying");
    struct leg *legs[2] = {&c->client, &c->upstream};
    for (int i = 0; i < 2; i++) {
        if (!legs[i]->bev)
            continue;
        bufferevent_setcb(legs[i]->bev, relay_read, relay_write, relay_event, legs[i]);
        if (legs[i]->ssl)
            tls_wbuf_bind(legs[i]->ssl, legs[i]->bev); /* relay_write flushes it */
        bufferevent_setwatermark(legs[i]->bev, EV_READ, 0, LEG_INBUF_MAX);
        bufferevent_enable(legs[i]->bev, EV_READ | EV_WRITE);
        leg_read_enabled(legs[i]->bev);
    }
    /* Bytes already buffered behind a CONNECT or a 101 go across now. */
    for (int i = 0; i < 2; i++)
        if (legs[i]->bev && evbuffer_get_length(bufferevent_get_input(legs[i]->bev)) > 0)
            relay_read(legs[i]->bev, legs[i]);
}

static void start_opaque(struct conn *c, const char *note)
{
    struct bufferevent *bev = bufferevent_socket_new(c->base, c->upstream.fd,
                                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        conn__close(c, 0);
        return;
    }
    c->upstream.fd = -1;
    leg_attach(&c->upstream, bev, NULL, NULL, NULL, NULL);
    if (c->tunnel_flow && note)
        snprintf(c->tunnel_flow->note, sizeof c->tunnel_flow->note, "%s", note);
    tunnel_relay(c);
}

/* ---- interception ---- */

static void client_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    if (what & BEV_EVENT_CONNECTED) {
        tls_facts_fill(leg->ssl, &leg->tls);
        leg->tls.handshake_done = 1;
        c->intercepted = 1;
        conn__start_requests(c);
        return;
    }
    /* The client refused our certificate (alert unknown_ca / bad_certificate) or gave up. */
    struct flow *f = c->tunnel_flow;
    tls_facts_fill(leg->ssl, &leg->tls);
    tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    if (f) {
        int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
        const char *host = c->sni[0] ? c->sni : c->tunnel_host;
        /* a client refusing our mirror of a bad upstream certificate is doing the right thing */
        if (leg->tls.alert_received[0] && !c->mirror_untrusted)
            conn__client_refused(c, f, host);
        strcpy(f->fail.closed_by, "client");
        if (leg->tls.alert_received[0])
            flow_fail(f, FLOW_STAGE_CLIENT_TLS, 0,
                      "client refused httpeek's certificate for %s: alert '%s' (CA not trusted, "
                      "or the app pins or has its own trust store)", c->sni[0] ? c->sni : c->tunnel_host,
                      leg->tls.alert_received);
        else
            flow_fail(f, FLOW_STAGE_CLIENT_TLS, err, "client ended the TLS handshake: %s",
                      tls_facts_error(&leg->tls, err ? strerror(err) : "connection closed"));
    }
    leg_close(leg);
    conn__close(c, 0);
}

void conn__client_refused(struct conn *c, struct flow *f, const char *host)
{
    struct proxy *p = c->proxy;
    const char *ua = f->req ? http1_head_get(f->req, "user-agent") : NULL;
    struct client_trust before;
    clients_tls_refused(p->clients, c->client_addr, host, ua, &before);
    f->device_trusted = before.device_trusted;
    f->app_trusted = before.app_trusted;
    if (!rules_client_rejected(p->rules, c->client_addr, host, before.device_trusted > 0))
        return;
    struct client_summary s;
    clients_get(p->clients, c->client_addr, &s);
    snprintf(f->note, sizeof f->note,
             "%s is now passed through untouched for this device only (%s%s%s): it refused "
             "httpeek's certificate %d times. Other devices are still intercepted; \"Resume "
             "interception\" in the viewer's passthrough panel undoes it.",
             host, c->client_addr, s.device[0] ? ", " : "", s.device, p->opts->auto_passthrough);
}

/* Whether httpeek can make a certificate for name at all (mint.h): a mirror of names must not
 * give a name it could never certify a handshake the usual leaf would not get. */
static int certifiable(const char *name)
{
    char san[256];
    unsigned char addr[16];
    return name[0] == '[' || inet_pton(AF_INET, name, addr) == 1 ||
           inet_pton(AF_INET6, name, addr) == 1 || mint_san_name(name, san, sizeof san) == 0;
}

/* The leaf the client is shown and why (mirror.h): the usual one, or when the server's
 * certificate failed verification (c->mirror_untrusted) a mirror of its defect. Mirrors of dates
 * and names are minted each time, never cached: a later good server for the same name must get
 * the usual leaf. Returns the SSL, or NULL with a reason in err. */
static SSL *client_tls_ssl(struct conn *c, const char *name, char *err, size_t errlen)
{
    struct proxy *p = c->proxy;
    struct ca *ca = p->ca;
    X509 *leaf;
    int send_chain = 1;
    enum mirror_leaf kind = MIRROR_MINTED;
    char minted_reason[300];
    const char *reason = minted_reason;
    struct mirror_plan plan;
    if (c->mirror_untrusted) {
        struct flow_tls up;
        tls_facts_get(&c->upstream.tls, &up);
        mirror_plan(&up, name, time(NULL), &plan);
        kind = plan.leaf;
        reason = plan.reason;
    } else {
        mirror_minted_reason(name, c->tunnel_error[0] != '\0', minted_reason, sizeof minted_reason);
    }
    if (kind == MIRROR_NAMES && !certifiable(name))
        kind = MIRROR_UNTRUSTED; /* no leaf at all for it: closed, as for any leaf */
    if (kind == MIRROR_UNTRUSTED) {
        ca = p->untrusted_ca;
        send_chain = plan.send_chain;
        leaf = leafcache_get(p->untrusted, name, NULL, err, errlen);
    } else if (kind != MIRROR_MINTED) {
        leaf = ca_mint_leaf_spec(ca, name, &plan.spec, err, errlen);
    } else {
        leaf = leafcache_get(p->leaves, name, NULL, err, errlen);
    }
    SSL *ssl = leaf ? tls_server_ssl_new(p->tls_server, leaf, ca_leaf_key(ca),
                                         send_chain ? ca_cert(ca) : NULL) : NULL;
    if (leaf)
        X509_free(leaf);
    if (ssl) {
        tls_facts_attach(ssl, &c->client.tls);
        tls_facts_set_leaf(&c->client.tls, mirror_leaf_name(kind), reason);
        if (kind != MIRROR_MINTED)
            tls_server_no_resumption(ssl);
    }
    return ssl;
}

static void start_client_tls(struct conn *c)
{
    const char *name = c->sni[0] ? c->sni : c->tunnel_host;
    char err[256] = "";
    SSL *ssl = client_tls_ssl(c, name, err, sizeof err);
    struct bufferevent *bev = NULL;
    int fd = bufferevent_getfd(c->client.bev);
    if (ssl) {
        /* Hand the socket from the plain bufferevent to a TLS one without closing it. */
        bufferevent_setcb(c->client.bev, NULL, NULL, NULL, NULL);
        bufferevent_setfd(c->client.bev, -1);
        bufferevent_free(c->client.bev);
        c->client.bev = NULL;
        /* the client's records go out gathered (tls_wbuf.h); without the BIO, libevent makes a
         * plain socket BIO and each record is its own write */
        if (tls_wbuf_attach(ssl, fd) < 0)
            log_msg(LOG_DEBUG, "conn %llu: out of memory for the write-gathering BIO",
                    (unsigned long long)c->id);
        bev = bufferevent_openssl_socket_new(c->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev) {
            SSL_free(ssl);
            close(fd);
        }
    }
    if (!bev) {
        if (c->tunnel_flow)
            flow_fail(c->tunnel_flow, FLOW_STAGE_CLIENT_TLS, 0, "cannot present a certificate for %s: %s",
                      name, err[0] ? err : "out of memory");
        conn__close(c, 0);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    leg_attach(&c->client, bev, ssl, NULL, NULL, client_tls_event);
    conn__set_state(c, CONN_S_TUNNEL_CLIENT_TLS, "client TLS handshake");
}

static void upstream_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct leg *leg = arg;
    struct conn *c = leg->conn;
    c->tunnel_marks.tls_end = flow_now_us();
    tls_facts_fill(leg->ssl, &leg->tls);
    if (what & BEV_EVENT_CONNECTED) {
        leg->tls.handshake_done = 1;
        bufferevent_disable(bev, EV_READ); /* nothing to read until a request went out */
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        if (c->early_tls == TUNNEL_EARLY_RUNNING && !c->peeked) {
            c->early_tls = TUNNEL_EARLY_DONE; /* the client's hello decides (after_peek) */
            return;
        }
        if (c->up_tls_pending) { /* the client's handshake is already under way */
            c->up_tls_pending = 0;
            return;
        }
        start_client_tls(c);
        return;
    }
    if (c->early_tls == TUNNEL_EARLY_RUNNING && !c->peeked) {
        /* not recorded: the name was our guess; after the hello a new connection with the
         * client's own name meets (and records) whatever this was */
        leg_close(leg);
        tls_facts_clear(&leg->tls);
        c->early_tls = TUNNEL_EARLY_FAILED;
        return;
    }
    /* Upstream TLS failed. The client still gets a handshake with our leaf so that each of its
     * requests can be answered with a readable 502 naming the cause (mitmproxy does the same). */
    int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    const char *host = c->sni[0] ? c->sni : c->tunnel_host;
    if (leg->tls.verify_result != X509_V_OK)
        snprintf(c->tunnel_error, sizeof c->tunnel_error,
                 "upstream certificate of %s:%d refused: %s", host, c->tunnel_port,
                 tls_facts_verify_error(&leg->tls));
    else if (leg->tls.alert_received[0])
        snprintf(c->tunnel_error, sizeof c->tunnel_error,
                 "TLS handshake with %s:%d failed: server sent alert '%s'", host, c->tunnel_port,
                 leg->tls.alert_received);
    else
        snprintf(c->tunnel_error, sizeof c->tunnel_error, "TLS handshake with %s:%d failed: %s",
                 host, c->tunnel_port,
                 tls_facts_error(&leg->tls, err ? strerror(err) : "connection closed"));
    if (c->tunnel_flow) {
        tls_facts_get(&leg->tls, &c->tunnel_flow->tls_upstream);
        flow_fail(c->tunnel_flow, FLOW_STAGE_UPSTREAM_TLS, err, "tls: %s", c->tunnel_error);
    }
    struct tls_facts keep = leg->tls; /* without the close_notify leg_close sends */
    leg_close(leg);
    leg->tls = keep;
    if (c->up_tls_pending) {
        /* The client's handshake went ahead (a verified session was being resumed) and cannot
         * be given the untrusted mirror any more: with --upstream-errors=page its requests get
         * the 502 page (route_request), else its connection fails as the app's would. */
        c->up_tls_pending = 0;
        if (!c->proxy->opts->upstream_errors_page)
            conn__close(c, 0);
        return;
    }
    if (!c->proxy->opts->upstream_errors_page) {
        /* Fidelity: the app must fail as it would without httpeek. A certificate problem is
         * mirrored (mirror.h: the same dates, the same names, or a CA nobody trusts); any other
         * handshake failure (version, ciphers, a reset) fails the client's handshake by closing
         * it. */
        if (leg->tls.verify_result == X509_V_OK) {
            conn__close(c, 0);
            return;
        }
        c->mirror_untrusted = 1;
    }
    start_client_tls(c);
}

/* Start the upstream handshake on c->upstream.fd (early: at CONNECT time, state unchanged). */
static void start_upstream_tls(struct conn *c, int early)
{
    const char *name = c->sni[0] ? c->sni : c->tunnel_host;
    SSL *ssl = tls_client_ssl_new(c->proxy->tls_client, name, c->tunnel_port, c->tunnel_server_ip);
    struct bufferevent *bev = NULL;
    if (ssl) {
        c->up_resuming = SSL_get_session(ssl) != NULL; /* set by tls_client_ssl_new, not yet used */
        tls_facts_attach(ssl, &c->upstream.tls);
        bev = bufferevent_openssl_socket_new(c->base, c->upstream.fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev)
            SSL_free(ssl);
    }
    if (!bev) {
        conn__close(c, 0);
        return;
    }
    c->upstream.fd = -1;
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    snprintf(c->up_host, sizeof c->up_host, "%s", name);
    c->up_port = c->tunnel_port;
    c->up_tls = 1;
    c->up_exchanges = 0;
    c->tunnel_marks.tls_start = flow_now_us();
    leg_attach(&c->upstream, bev, ssl, NULL, NULL, upstream_tls_event);
    if (early)
        c->early_tls = TUNNEL_EARLY_RUNNING;
    else
        conn__set_state(c, CONN_S_TUNNEL_UP_TLS, "upstream TLS handshake");
}

/* Whether to start the upstream handshake at CONNECT time: a host name (an IP literal gives no
 * server name to guess), not port 80 (plain HTTP through CONNECT: WebSocket, ws://), intercepted. */
static int early_tls_wanted(const struct conn *c)
{
    unsigned char addr[16];
    const char *why;
    return c->tunnel_port != 80 && strcmp(c->tunnel_host, SETUP_HOST) &&
           inet_pton(AF_INET, c->tunnel_host, addr) != 1 &&
           inet_pton(AF_INET6, c->tunnel_host, addr) != 1 &&
           rules_intercept(c->proxy->rules, c->client_addr, c->tunnel_host, c->tunnel_port, &why);
}

/* The client's hello came: keep the early handshake when it is for the same name (or the hello
 * names none) and the tunnel is intercepted; else drop it (a late connect follows). Returns 1 when
 * kept. */
static int keep_early_tls(struct conn *c)
{
    enum clienthello_result r = (enum clienthello_result)c->peek_result;
    const char *why;
    int keep = c->early_tls != TUNNEL_EARLY_FAILED &&
               (r == CLIENTHELLO_SNI || r == CLIENTHELLO_NO_SNI) &&
               (!c->sni[0] || !strcasecmp(c->sni, c->tunnel_host)) &&
               rules_intercept(c->proxy->rules, c->client_addr,
                               c->sni[0] ? c->sni : c->tunnel_host, c->tunnel_port, &why);
    if (!keep) {
        leg_close(&c->upstream);
        tls_facts_clear(&c->upstream.tls);
        c->early_tls = TUNNEL_EARLY_NONE;
        c->tunnel_pooled = 1; /* no usable upstream: after_peek connects late */
    }
    return keep;
}

static void peek_retry_later(struct conn *c)
{
    event_del(c->peek_ev);
    event_assign(c->peek_ev, c->base, -1, EV_TIMEOUT, on_peek, c);
    struct timeval tv = {0, TUNNEL_PEEK_RETRY_MS * 1000};
    event_add(c->peek_ev, &tv);
}

/* A pooled tunnel (no upstream yet) that cannot use a pooled connection after all: connect now,
 * then decide again. The client already has its 200, so a failure closes it (and is recorded). */
/* The lookup and connect timings of the tunnel's upstream, given to its first request. */
static void take_tunnel_marks(struct conn *c, const struct upstream_result *r)
{
    c->tunnel_marks.dns_start = r->dns_start;
    c->tunnel_marks.dns_end = r->dns_end;
    c->tunnel_marks.connect_start = r->connect_start;
    c->tunnel_marks.connect_end = r->connect_end;
}

static void on_late_connected(const struct upstream_result *r, void *arg)
{
    struct conn *c = arg;
    c->connecting = NULL;
    take_tunnel_marks(c, r);
    if (conn__record_connect(c, c->tunnel_flow, r) < 0) {
        conn__close(c, 0); /* the client has its 200 already: no 502 to send */
        return;
    }
    c->upstream.fd = r->fd;
    c->tunnel_pooled = 0;
    after_peek(c);
}

static void connect_late(struct conn *c)
{
    c->connecting = upstream_connect(c->base, c->dns, c->tunnel_host, c->tunnel_port,
                                     c->proxy->opts->upstream_timeout, on_late_connected, c);
    if (!c->connecting) {
        if (c->tunnel_flow)
            flow_fail(c->tunnel_flow, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        conn__close(c, 0);
        return;
    }
    conn__set_state(c, CONN_S_TUNNEL_CONNECTING, "connecting upstream after the client's hello");
}

/* Intercept on a pooled upstream connection made for this server name: no connect, no upstream
 * handshake. Returns 0, or -1 when none is pooled (any more). */
static int take_pooled(struct conn *c)
{
    const char *name = c->sni[0] ? c->sni : c->tunnel_host;
    struct pool_conn pc;
    if (!c->pool || !pool_take(c->pool, c->client_addr, c->tunnel_host, c->tunnel_port, name, &pc))
        return -1;
    tls_facts_move(&c->upstream.tls, &pc.tls);
    tls_facts_attach(pc.ssl, &c->upstream.tls);
    snprintf(c->tunnel_server_ip, sizeof c->tunnel_server_ip, "%s", pc.server_ip);
    if (c->tunnel_flow)
        snprintf(c->tunnel_flow->server_ip, sizeof c->tunnel_flow->server_ip, "%s", pc.server_ip);
    snprintf(c->up_host, sizeof c->up_host, "%s", name);
    c->up_port = c->tunnel_port;
    c->up_tls = 1;
    c->up_exchanges = 1; /* it carried an earlier tunnel's exchanges */
    c->tunnel_pooled = 0;
    leg_attach(&c->upstream, pc.bev, pc.ssl, NULL, NULL, NULL);
    bufferevent_disable(pc.bev, EV_READ); /* nothing to read until a request went out */
    log_msg(LOG_DEBUG, "conn %llu: %s:%d intercepted on a pooled upstream connection",
            (unsigned long long)c->id, c->tunnel_host, c->tunnel_port);
    start_client_tls(c);
    return 0;
}

/* What the client's first bytes (c->peek_result, c->sni) decide: intercept, pass through, or
 * relay opaque bytes. */
static void after_peek(struct conn *c)
{
    enum clienthello_result r = (enum clienthello_result)c->peek_result;
    if (c->early_tls != TUNNEL_EARLY_NONE) {
        int running = c->early_tls == TUNNEL_EARLY_RUNNING;
        if (keep_early_tls(c)) {
            c->early_tls = TUNNEL_EARLY_NONE;
            if (running && c->up_resuming && !c->mirror_untrusted) {
                /* A verified session whose certificate covers the name is being resumed: the
                 * certificate the client would be shown a mirror of is known good, so its
                 * handshake need not wait for the upstream's (the new host's extra latency, S6);
                 * requests wait in the upstream's output until that handshake is done, and a
                 * failure goes the way of a lost upstream (a new, verified connection). */
                c->up_tls_pending = 1;
                start_client_tls(c);
            } else if (running) /* upstream_tls_event goes on from here */
                conn__set_state(c, CONN_S_TUNNEL_UP_TLS, "upstream TLS handshake");
            else
                start_client_tls(c);
            return;
        }
    }
    if (r == CLIENTHELLO_SNI || r == CLIENTHELLO_NO_SNI) {
        if (!strcmp(c->tunnel_host, SETUP_HOST)) {
            start_client_tls(c);
            return;
        }
        const char *why;
        if (!rules_intercept(c->proxy->rules, c->client_addr, c->sni[0] ? c->sni : c->tunnel_host,
                             c->tunnel_port, &why)) {
            if (c->tunnel_pooled) {
                connect_late(c);
                return;
            }
            char note[256];
            snprintf(note, sizeof note, "TLS passed through, not intercepted: %s", why);
            bufferevent_enable(c->client.bev, EV_READ);
            start_opaque(c, note);
            return;
        }
        if (!c->tunnel_pooled)
            start_upstream_tls(c, 0);
        else if (take_pooled(c) < 0)
            connect_late(c);
        return;
    }
    if (c->tunnel_pooled) {
        connect_late(c);
        return;
    }
    if (c->upstream.fd < 0) { /* plain bytes into the setup host's tunnel: nothing to relay to */
        conn__close(c, 0);
        return;
    }
    bufferevent_enable(c->client.bev, EV_READ);
    start_opaque(c, r == CLIENTHELLO_NOT_TLS ? NULL : "malformed TLS ClientHello: relayed, not intercepted");
}

static void on_peek(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    int cfd = bufferevent_getfd(c->client.bev);
    if (evbuffer_get_length(bufferevent_get_output(c->client.bev)) > 0) {
        peek_retry_later(c); /* the 200 is still on its way out */
        return;
    }
    static __thread unsigned char buf[CLIENTHELLO_MAX_BYTES];
    ssize_t n = recv(cfd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        event_del(c->peek_ev);
        event_assign(c->peek_ev, c->base, cfd, EV_READ | EV_PERSIST, on_peek, c);
        event_add(c->peek_ev, NULL);
        return;
    }
    if (n <= 0) {
        if (c->tunnel_flow)
            snprintf(c->tunnel_flow->note, sizeof c->tunnel_flow->note,
                     "client closed the tunnel without sending anything");
        conn__close(c, 0);
        return;
    }
    c->last_activity = flow_now_us();
    enum clienthello_result r = clienthello_parse(buf, (size_t)n, c->sni, sizeof c->sni);
    if (r == CLIENTHELLO_INCOMPLETE && (size_t)n < sizeof buf) {
        if (c->tunnel_flow) /* said with the deadline's failure if the rest never comes */
            snprintf(c->tunnel_flow->note, sizeof c->tunnel_flow->note,
                     "TLS ClientHello incomplete: %zd bytes received", n);
        peek_retry_later(c); /* level-triggered readiness would spin on the unread bytes */
        return;
    }
    tunnel_cleanup(c);
    if (c->tunnel_flow && !strncmp(c->tunnel_flow->note, "TLS ClientHello incomplete", 26))
        c->tunnel_flow->note[0] = '\0'; /* it came whole after all */
    if (r == CLIENTHELLO_SNI || r == CLIENTHELLO_NO_SNI) {
        if (r == CLIENTHELLO_NO_SNI)
            c->sni[0] = '\0';
        for (char *s = c->sni; *s; s++)
            if (*s >= 'A' && *s <= 'Z')
                *s = (char)(*s + 32);
    } else
        c->sni[0] = '\0';
    c->peek_result = (int)r;
    c->peeked = 1;
    after_peek(c);
}

static void send_200_and_peek(struct conn *c);

static void on_tunnel_connected(const struct upstream_result *r, void *arg)
{
    struct conn *c = arg;
    struct flow *f = c->tunnel_flow;
    c->connecting = NULL;
    take_tunnel_marks(c, r);
    if (conn__take_connect_result(c, f, r, c->tunnel_host, c->tunnel_port) < 0)
        return;
    c->upstream.fd = r->fd;
    send_200_and_peek(c);
    if (c->state == CONN_S_TUNNEL_PEEK && early_tls_wanted(c)) {
        start_upstream_tls(c, 1);
        /* and mint the leaf for that name now, while the worker waits for both peers anyway,
         * instead of after the upstream handshake (on the new host's critical path) */
        if (c->early_tls == TUNNEL_EARLY_RUNNING) {
            char ignored[8];
            X509 *leaf = leafcache_get(c->proxy->leaves, c->tunnel_host, NULL, ignored, sizeof ignored);
            if (leaf)
                X509_free(leaf);
        }
    }
}

static void send_200_and_peek(struct conn *c)
{
    struct flow *f = c->tunnel_flow;
    struct evbuffer *out = bufferevent_get_output(c->client.bev);
    evbuffer_add_printf(out, "HTTP/1.%d 200 Connection established\r\n\r\n",
                        f->req && f->req->minor == 0 ? 0 : 1);
    c->peek_started = flow_now_us();
    conn__set_state(c, CONN_S_TUNNEL_PEEK, "connected");
    if (evbuffer_get_length(bufferevent_get_input(c->client.bev)) > 0) {
        /* The client did not wait for our 200: its bytes are already out of the socket, so they
         * cannot be peeked for OpenSSL. Relay them untouched instead of guessing. */
        start_opaque(c, "client sent data before the 200: relayed, not intercepted");
        return;
    }
    bufferevent_disable(c->client.bev, EV_READ);
    bufferevent_setcb(c->client.bev, NULL, NULL, NULL, NULL);
    c->peek_ev = event_new(c->base, bufferevent_getfd(c->client.bev), EV_READ | EV_PERSIST, on_peek, c);
    if (!c->peek_ev || event_add(c->peek_ev, NULL) < 0)
        conn__close(c, 0);
}

void tunnel_begin(struct conn *c, const char *host, int port)
{
    clients_note(c->proxy->clients, c->client_addr, CLIENT_PROXIED);
    /* An earlier request on this client connection may have left its upstream connection open
     * for reuse: the tunnel makes its own, and attaching that over it would orphan the old one
     * (its socket and buffers leaked, its callbacks firing after the conn is freed). */
    leg_close(&c->upstream);
    tls_facts_clear(&c->upstream.tls);
    c->upstream_reusable = 0;
    c->tunnel_flow = c->flow;
    c->flow = NULL;
    struct flow *f = c->tunnel_flow;
    f->kind = FLOW_TUNNEL;
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    snprintf(c->tunnel_host, sizeof c->tunnel_host, "%s", host);
    c->tunnel_port = port;
    c->tunnel_marks = f->marks;
    char url[300];
    snprintf(url, sizeof url, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    flow_set_url(f, url);
    bufferevent_disable(c->client.bev, EV_READ);
    if (!strcmp(host, SETUP_HOST)) {
        /* httpeek itself: no upstream; the tunnel is terminated here and served by setup.c */
        snprintf(c->tunnel_flow->note, sizeof c->tunnel_flow->note, "httpeek's own setup site");
        send_200_and_peek(c);
        return;
    }
    if (c->pool && pool_has(c->pool, c->client_addr, host, port)) {
        /* an idle verified connection to this server is pooled: answer now, pick it (or connect
         * after all) once the ClientHello tells the server name */
        c->tunnel_pooled = 1;
        send_200_and_peek(c);
        return;
    }
    c->connecting = upstream_connect(c->base, c->dns, host, port, c->proxy->opts->upstream_timeout,
                                     on_tunnel_connected, c);
    if (!c->connecting) {
        flow_fail(f, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        conn__fail_client(c, f, 500, "out of memory");
        return;
    }
    conn__set_state(c, CONN_S_TUNNEL_CONNECTING, "CONNECT");
}
