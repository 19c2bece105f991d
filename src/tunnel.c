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
 * handshake); when none fits after all, the connect happens then.
 * When the rules in use answer every request to host:port without a server (a host-wide map local
 * or block, ruleset.h), the 200 goes out at once too and the leaf is minted for the hello's name
 * with no upstream at all: the server is never contacted (nor resolved); a request the rules turn
 * out not to answer connects from the exchange, as after a lost upstream. */
#include "tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include "clienthello.h"
#include "clients.h"
#include "leafcache.h"
#include "log.h"
#include "pool.h"
#include "record.h"
#include "rules.h"
#include "ruleset.h"
#include "setup.h"
#include "tls_client.h"
#include "tls_facts.h"
#include "tls_wbuf.h"
#include "tls_server.h"
#include "tunnel_leaf.h"
#include "uplink.h"
#include "uplink_h2.h"
#include "upstream.h"

/* Re-check interval while a ClientHello is still arriving in pieces (ms). */
#define TUNNEL_PEEK_RETRY_MS 5

static void on_peek(evutil_socket_t fd, short what, void *arg);
static void after_peek(struct tunnel *t);

/* Early upstream TLS: for a CONNECT to a host name, the upstream handshake starts as the 200 goes
 * out, with the CONNECT host as the server name, and runs while the client reads the 200 and
 * builds its ClientHello (a quarter of a millisecond on loopback, an RTT over Wi-Fi). The hello
 * then decides: the same name (or none) and interception: the handshake is used; anything else
 * (another name, a passthrough rule, not TLS) or a failed early handshake: it is dropped unseen and
 * a new connection is made after the hello, exactly as without it, so what the flow records
 * (and any failure the client is shown) comes from the name the client really asked for. */
enum { TUNNEL_EARLY_NONE, TUNNEL_EARLY_RUNNING, TUNNEL_EARLY_DONE, TUNNEL_EARLY_FAILED };


void tunnel_init(struct tunnel *t, const struct tunnel_ops *ops, void *ops_arg, uint64_t conn_id,
                 struct proxy *proxy, struct event_base *base, struct resolver *dns,
                 struct pool *pool, struct leg *client, struct leg *upstream,
                 const char *client_addr, uint64_t *activity)
{
    t->ops = ops;
    t->ops_arg = ops_arg;
    t->conn_id = conn_id;
    t->proxy = proxy;
    t->base = base;
    t->dns = dns;
    t->pool = pool;
    t->client = client;
    t->upstream = upstream;
    t->client_addr = client_addr;
    t->activity = activity;
    t->host = t->sni = t->error = t->up_name = NAME_STR_EMPTY;
}

void tunnel_free(struct tunnel *t)
{
    name_str_clear(&t->host);
    name_str_clear(&t->sni);
    name_str_clear(&t->error);
    name_str_clear(&t->up_name);
}

static void set_phase(struct tunnel *t, enum tunnel_phase p, const char *why)
{
    t->phase = p;
    t->ops->phase(t->ops_arg, p, why);
}

static void stop_peek(struct tunnel *t)
{
    if (t->peek_ev) {
        event_free(t->peek_ev);
        t->peek_ev = NULL;
    }
}

void tunnel_cleanup(struct tunnel *t)
{
    stop_peek(t);
    if (t->connecting) {
        upstream_cancel(t->connecting);
        t->connecting = NULL;
    }
    t->phase = TUNNEL_IDLE;
}

void tunnel_timed_out(struct tunnel *t, double secs)
{
    if (!t->flow)
        return;
    static const char *const what[] = {
        [TUNNEL_PEEK] = "timed out waiting for the client's first bytes after the 200",
        [TUNNEL_UP_TLS] = "TLS handshake with the server timed out",
        [TUNNEL_CLIENT_TLS] = "the client's TLS handshake timed out"};
    t->flow->fail.timeout = 1;
    flow_fail(t->flow,
              t->phase == TUNNEL_UP_TLS  ? FLOW_STAGE_UPSTREAM_TLS
              : t->phase == TUNNEL_PEEK ? FLOW_STAGE_TUNNEL
                                        : FLOW_STAGE_CLIENT_TLS,
              ETIMEDOUT, "%s (%gs)",
              t->phase <= TUNNEL_CLIENT_TLS && what[t->phase] ? what[t->phase] : "timed out", secs);
}

void tunnel_take_flow(struct tunnel *t, struct flow *f)
{
    if (!t->flow)
        return;
    f->marks.dns_start = t->marks.dns_start;
    f->marks.dns_end = t->marks.dns_end;
    f->marks.connect_start = t->marks.connect_start;
    f->marks.connect_end = t->marks.connect_end;
    f->marks.tls_start = t->marks.tls_start;
    f->marks.tls_end = t->marks.tls_end;
    if (t->marks.start && t->marks.start < f->marks.start)
        f->marks.start = t->marks.start;
    snprintf(f->server_ip, sizeof f->server_ip, "%s", t->server_ip);
    f->connect_attempts = t->flow->connect_attempts;
    flow_free(t->flow);
    t->flow = NULL;
}

void tunnel_end(struct tunnel *t)
{
    tunnel_cleanup(t);
    struct flow *f = t->flow;
    if (!f)
        return;
    t->flow = NULL;
    f->bytes_up = t->client->bytes_in;
    f->bytes_down = t->upstream->bytes_in;
    tls_facts_to_flow(&t->client->tls, f, 0);
    tls_facts_to_flow(&t->upstream->tls, f, 1);
    if (t->intercepted && !t->requests && !f->fail.failed && !f->note[0]) {
        const char *host = t->sni[0] ? t->sni : t->host;
        f->no_request_after_tls = 1;
        snprintf(f->note, sizeof f->note,
                 "TLS intercepted, but the client closed without sending a request");
        tunnel_leaf_refused(t->proxy, t->client_addr, f, host);
    }
    record_flow(t->proxy, f);
}

/* Answer the CONNECT itself (its flow f leaves the tunnel) with status and reason. */
static void fail(struct tunnel *t, struct flow *f, int status, const char *reason)
{
    if (f == t->flow)
        t->flow = NULL;
    t->ops->fail(t->ops_arg, f, status, reason);
}

/* The upstream connect result r into flow f and the tunnel's facts; 0 when the socket is ready. */
static int record_connect(struct tunnel *t, struct flow *f, const struct upstream_result *r)
{
    t->marks.dns_start = r->dns_start;
    t->marks.dns_end = r->dns_end;
    t->marks.connect_start = r->connect_start;
    t->marks.connect_end = r->connect_end;
    snprintf(t->server_ip, sizeof t->server_ip, "%s", r->addr);
    return uplink_record_connect(f, r);
}

/* ---- opaque relay (relay.h, run by the owner) ---- */

static void start_opaque(struct tunnel *t, const char *note)
{
    struct bufferevent *bev = bufferevent_socket_new(t->base, t->upstream->fd,
                                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        t->ops->close(t->ops_arg, 0);
        return;
    }
    t->upstream->fd = -1;
    leg_attach(t->upstream, bev, NULL, NULL, NULL, NULL);
    if (t->flow && note)
        snprintf(t->flow->note, sizeof t->flow->note, "%s", note);
    const struct tunnel_policy *tp = t->proxy->tunnel_policy; /* a throttle shapes the relay */
    if (tp && t->flow && tp->relay(t, t->flow) == TUNNEL_RULE_RESET) {
        t->ops->close(t->ops_arg, 0);
        return;
    }
    t->phase = TUNNEL_IDLE;
    t->ops->opaque(t->ops_arg);
}

/* ---- interception ---- */

/* The client's TLS is done: its requests are the owner's from now on. */
static void hand(struct tunnel *t)
{
    t->hand_when_up = 0;
    t->intercepted = 1;
    t->phase = TUNNEL_IDLE;
    t->ops->handed(t->ops_arg);
}

static void client_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct tunnel *t = arg;
    struct leg *leg = t->client;
    if (what & BEV_EVENT_CONNECTED) {
        tls_facts_fill(leg->ssl, &leg->tls);
        leg->tls.handshake_done = 1;
        if (t->up_tls_pending && tls_server_alpn_h2(leg->ssl)) {
            /* An h2 client opens its first streams at once: they wait here until the resumed
             * upstream handshake says whether the server speaks h2 (then all share it). */
            t->hand_when_up = 1;
            set_phase(t, TUNNEL_UP_TLS, "upstream TLS handshake (client's done)");
            return;
        }
        hand(t);
        return;
    }
    /* The client refused our certificate (alert unknown_ca / bad_certificate) or gave up (or,
     * its handshake done, closed while the upstream one ran). */
    struct flow *f = t->flow;
    if (t->hand_when_up) {
        if (f) {
            strcpy(f->fail.closed_by, "client");
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "client closed the connection before "
                      "sending a request");
        }
        leg_close(leg);
        t->ops->close(t->ops_arg, 0);
        return;
    }
    tls_facts_fill(leg->ssl, &leg->tls);
    tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    if (f) {
        int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
        const char *host = t->sni[0] ? t->sni : t->host;
        /* a client refusing our mirror of a bad upstream certificate is doing the right thing */
        if (leg->tls.alert_received[0] && !t->mirror_untrusted)
            tunnel_leaf_refused(t->proxy, t->client_addr, f, host);
        strcpy(f->fail.closed_by, "client");
        if (leg->tls.alert_received[0])
            flow_fail(f, FLOW_STAGE_CLIENT_TLS, 0,
                      "client refused httpeek's certificate for %s: alert '%s' (CA not trusted, "
                      "or the app pins or has its own trust store)", t->sni[0] ? t->sni : t->host,
                      leg->tls.alert_received);
        else
            flow_fail(f, FLOW_STAGE_CLIENT_TLS, err, "client ended the TLS handshake: %s",
                      tls_facts_error(&leg->tls, err ? strerror(err) : "connection closed"));
    }
    leg_close(leg);
    t->ops->close(t->ops_arg, 0);
}

static void start_client_tls(struct tunnel *t)
{
    const char *name = t->sni[0] ? t->sni : t->host;
    char err[256] = "";
    SSL *ssl = tunnel_leaf_ssl(t->proxy, name, t->mirror_untrusted ? &t->upstream->tls : NULL,
                               t->error[0] != '\0', &t->client->tls, err, sizeof err);
    struct bufferevent *bev = NULL;
    int fd = bufferevent_getfd(t->client->bev);
    if (ssl) {
        /* Hand the socket from the plain bufferevent to a TLS one without closing it. */
        bufferevent_setcb(t->client->bev, NULL, NULL, NULL, NULL);
        bufferevent_setfd(t->client->bev, -1);
        bufferevent_free(t->client->bev);
        t->client->bev = NULL;
        /* the client's records go out gathered (tls_wbuf.h); without the BIO, libevent makes a
         * plain socket BIO and each record is its own write */
        if (tls_wbuf_attach(ssl, fd) < 0)
            log_msg(LOG_DEBUG, "conn %llu: out of memory for the write-gathering BIO",
                    (unsigned long long)t->conn_id);
        bev = bufferevent_openssl_socket_new(t->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev) {
            SSL_free(ssl);
            close(fd);
        }
    }
    if (!bev) {
        if (t->flow)
            flow_fail(t->flow, FLOW_STAGE_CLIENT_TLS, 0, "cannot present a certificate for %s: %s",
                      name, err[0] ? err : "out of memory");
        t->ops->close(t->ops_arg, 0);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    leg_attach(t->client, bev, ssl, NULL, NULL, NULL);
    bufferevent_setcb(bev, NULL, NULL, client_tls_event, t);
    set_phase(t, TUNNEL_CLIENT_TLS, "client TLS handshake");
}

static void upstream_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct tunnel *t = arg;
    struct leg *leg = t->upstream;
    t->marks.tls_end = flow_now_us();
    tls_facts_fill(leg->ssl, &leg->tls);
    if (what & BEV_EVENT_CONNECTED) {
        leg->tls.handshake_done = 1;
        bufferevent_disable(bev, EV_READ); /* nothing to read until a request went out */
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        if (t->early_tls == TUNNEL_EARLY_RUNNING && !t->peeked) {
            t->early_tls = TUNNEL_EARLY_DONE; /* the client's hello decides (after_peek) */
            return;
        }
        if (t->up_tls_pending) { /* the client's handshake is already under way (or done) */
            t->up_tls_pending = 0;
            if (t->hand_when_up)
                hand(t);
            return;
        }
        start_client_tls(t);
        return;
    }
    if (t->early_tls == TUNNEL_EARLY_RUNNING && !t->peeked) {
        /* not recorded: the name was our guess; after the hello a new connection with the
         * client's own name meets (and records) whatever this was */
        leg_close(leg);
        tls_facts_clear(&leg->tls);
        t->early_tls = TUNNEL_EARLY_FAILED;
        return;
    }
    /* Upstream TLS failed. The client still gets a handshake with our leaf so that each of its
     * requests can be answered with a readable 502 naming the cause (mitmproxy does the same). */
    int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    tls_facts_take_error(&leg->tls, bufferevent_get_openssl_error(bev));
    const char *host = t->sni[0] ? t->sni : t->host;
    if (leg->tls.verify_result != X509_V_OK)
        name_str_printf(&t->error, "upstream certificate of %s:%d refused: %s", host, t->port,
                 tls_facts_verify_error(&leg->tls));
    else if (leg->tls.alert_received[0])
        name_str_printf(&t->error, "TLS handshake with %s:%d failed: server sent alert '%s'",
                        host, t->port,
                 leg->tls.alert_received);
    else
        name_str_printf(&t->error, "TLS handshake with %s:%d failed: %s", host, t->port,
                        tls_facts_error(&leg->tls, err ? strerror(err) : "connection closed"));
    if (t->flow) {
        tls_facts_to_flow(&leg->tls, t->flow, 1);
        flow_fail(t->flow, FLOW_STAGE_UPSTREAM_TLS, err, "tls: %s", t->error);
    }
    struct tls_facts keep = leg->tls; /* without the close_notify leg_close sends */
    leg_close(leg);
    leg->tls = keep;
    if (t->up_tls_pending) {
        /* The client's handshake went ahead (a verified session was being resumed) and cannot
         * be given the untrusted mirror any more: with --upstream-errors=page its requests get
         * the 502 page (route_request), else its connection fails as the app's would. */
        t->up_tls_pending = 0;
        if (!t->proxy->opts->upstream_errors_page)
            t->ops->close(t->ops_arg, 0);
        else if (t->hand_when_up)
            hand(t);
        return;
    }
    if (!t->proxy->opts->upstream_errors_page) {
        /* Fidelity: the app must fail as it would without httpeek. A certificate problem is
         * mirrored (mirror.h: the same dates, the same names, or a CA nobody trusts); any other
         * handshake failure (version, ciphers, a reset) fails the client's handshake by closing
         * it. */
        if (leg->tls.verify_result == X509_V_OK) {
            t->ops->close(t->ops_arg, 0);
            return;
        }
        t->mirror_untrusted = 1;
    }
    start_client_tls(t);
}

/* Start the upstream handshake on t->upstream->fd (early: at CONNECT time, state unchanged). */
static void start_upstream_tls(struct tunnel *t, int early)
{
    const char *name = t->sni[0] ? t->sni : t->host;
    SSL *ssl = tls_client_ssl_new(t->proxy->tls_client, name, t->port, t->server_ip);
    struct bufferevent *bev = NULL;
    if (ssl && t->proxy->opts->http2 && tls_client_offer_h2(ssl) < 0) {
        SSL_free(ssl);
        ssl = NULL;
    }
    if (ssl) {
        t->up_resuming = SSL_get_session(ssl) != NULL; /* set by tls_client_ssl_new, not yet used */
        tls_facts_attach(ssl, &t->upstream->tls);
        bev = bufferevent_openssl_socket_new(t->base, t->upstream->fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev)
            SSL_free(ssl);
    }
    if (!bev) {
        t->ops->close(t->ops_arg, 0);
        return;
    }
    t->upstream->fd = -1;
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    name_str_set(&t->up_name, name);
    t->up_pooled = 0;
    t->marks.tls_start = flow_now_us();
    leg_attach(t->upstream, bev, ssl, NULL, NULL, NULL);
    bufferevent_setcb(bev, NULL, NULL, upstream_tls_event, t);
    if (early)
        t->early_tls = TUNNEL_EARLY_RUNNING;
    else
        set_phase(t, TUNNEL_UP_TLS, "upstream TLS handshake");
}

/* Whether to start the upstream handshake at CONNECT time: a host name (an IP literal gives no
 * server name to guess), not port 80 (plain HTTP through CONNECT: WebSocket, ws://), intercepted. */
static int early_tls_wanted(const struct tunnel *t)
{
    unsigned char addr[16];
    const char *why;
    return t->port != 80 && strcmp(t->host, SETUP_HOST) &&
           inet_pton(AF_INET, t->host, addr) != 1 &&
           inet_pton(AF_INET6, t->host, addr) != 1 &&
           rules_intercept(t->proxy->rules, t->client_addr, t->host, t->port, &why);
}

/* The client's hello came: keep the early handshake when it is for the same name (or the hello
 * names none) and the tunnel is intercepted; else drop it (a late connect follows). Returns 1 when
 * kept. */
static int keep_early_tls(struct tunnel *t)
{
    enum clienthello_result r = (enum clienthello_result)t->peek_result;
    const char *why;
    int keep = t->early_tls != TUNNEL_EARLY_FAILED &&
               (r == CLIENTHELLO_SNI || r == CLIENTHELLO_NO_SNI) &&
               (!t->sni[0] || !strcasecmp(t->sni, t->host)) &&
               rules_intercept(t->proxy->rules, t->client_addr,
                               t->sni[0] ? t->sni : t->host, t->port, &why);
    if (!keep) {
        leg_close(t->upstream);
        tls_facts_clear(&t->upstream->tls);
        t->early_tls = TUNNEL_EARLY_NONE;
        t->pooled = 1; /* no usable upstream: after_peek connects late */
    }
    return keep;
}

static void peek_retry_later(struct tunnel *t)
{
    event_del(t->peek_ev);
    event_assign(t->peek_ev, t->base, -1, EV_TIMEOUT, on_peek, t);
    struct timeval tv = {0, TUNNEL_PEEK_RETRY_MS * 1000};
    event_add(t->peek_ev, &tv);
}

/* A pooled tunnel (no upstream yet) that cannot use a pooled connection after all: connect now,
 * then decide again. The client already has its 200, so a failure closes it (and is recorded). */
static void on_late_connected(const struct upstream_result *r, void *arg)
{
    struct tunnel *t = arg;
    t->connecting = NULL;
    if (record_connect(t, t->flow, r) < 0) {
        t->ops->close(t->ops_arg, 0); /* the client has its 200 already: no 502 to send */
        return;
    }
    t->upstream->fd = r->fd;
    t->pooled = 0;
    after_peek(t);
}

static void connect_late(struct tunnel *t)
{
    t->connecting = upstream_connect(t->base, t->dns, t->host, t->port,
                                     t->proxy->opts->upstream_timeout, on_late_connected, t);
    if (!t->connecting) {
        if (t->flow)
            flow_fail(t->flow, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        t->ops->close(t->ops_arg, 0);
        return;
    }
    set_phase(t, TUNNEL_CONNECTING, "connecting upstream after the client's hello");
}

/* Intercept on a pooled upstream connection made for this server name: no connect, no upstream
 * handshake. Returns 0, or -1 when none is pooled (any more). */
static int take_pooled(struct tunnel *t)
{
    const char *name = t->sni[0] ? t->sni : t->host;
    struct pool_conn pc;
    if (!t->pool || !pool_take(t->pool, t->client_addr, t->host, t->port, name, &pc))
        return -1;
    tls_facts_move(&t->upstream->tls, &pc.tls);
    tls_facts_attach(pc.ssl, &t->upstream->tls);
    snprintf(t->server_ip, sizeof t->server_ip, "%s", pc.server_ip);
    if (t->flow)
        snprintf(t->flow->server_ip, sizeof t->flow->server_ip, "%s", pc.server_ip);
    name_str_set(&t->up_name, name);
    t->up_pooled = 1; /* it carried an earlier tunnel's exchanges */
    t->pooled = 0;
    leg_attach(t->upstream, pc.bev, pc.ssl, NULL, NULL, NULL);
    bufferevent_disable(pc.bev, EV_READ); /* nothing to read until a request went out */
    log_msg(LOG_DEBUG, "conn %llu: %s:%d intercepted on a pooled upstream connection",
            (unsigned long long)t->conn_id, t->host, t->port);
    start_client_tls(t);
    return 0;
}

/* Whether the route rules in use answer every https request to name:port from this client. */
static int rules_answer(const struct tunnel *t, const char *name)
{
    char host[256];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof host; i++)
        host[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    host[i] = '\0';
    struct ruleset *s = ruleset_holder_get(t->proxy->route_rules);
    int yes = ruleset_answers_host(s, "https", host, t->port, t->client_addr);
    ruleset_release(s);
    return yes;
}

/* What the client's first bytes (t->peek_result, t->sni) decide: intercept, pass through, or
 * relay opaque bytes. */
static void after_peek(struct tunnel *t)
{
    enum clienthello_result r = (enum clienthello_result)t->peek_result;
    if (t->early_tls != TUNNEL_EARLY_NONE) {
        int running = t->early_tls == TUNNEL_EARLY_RUNNING;
        if (keep_early_tls(t)) {
            t->early_tls = TUNNEL_EARLY_NONE;
            /* with h2 offered a request must not go out before the server's ALPN choice is
             * known (a resumed session does not bind it): an HTTP/1.1 client's first request
             * waits in the exchange (ensure_upstream), an h2 client's handing waits here
             * (client_tls_event) */
            if (running && t->up_resuming && !t->mirror_untrusted) {
                /* A verified session whose certificate covers the name is being resumed: the
                 * certificate the client would be shown a mirror of is known good, so its
                 * handshake need not wait for the upstream's (the new host's extra latency, S6);
                 * requests wait in the upstream's output until that handshake is done, and a
                 * failure goes the way of a lost upstream (a new, verified connection). */
                t->up_tls_pending = 1;
                start_client_tls(t);
            } else if (running) /* upstream_tls_event goes on from here */
                set_phase(t, TUNNEL_UP_TLS, "upstream TLS handshake");
            else
                start_client_tls(t);
            return;
        }
    }
    if (r == CLIENTHELLO_SNI || r == CLIENTHELLO_NO_SNI) {
        if (!strcmp(t->host, SETUP_HOST)) {
            start_client_tls(t);
            return;
        }
        const char *why;
        if (!rules_intercept(t->proxy->rules, t->client_addr, t->sni[0] ? t->sni : t->host,
                             t->port, &why)) {
            if (t->pooled) {
                connect_late(t);
                return;
            }
            char note[256];
            snprintf(note, sizeof note, "TLS passed through, not intercepted: %s", why);
            bufferevent_enable(t->client->bev, EV_READ);
            start_opaque(t, note);
            return;
        }
        if (t->rule_answered && (!t->sni[0] || rules_answer(t, t->sni))) {
            log_msg(LOG_DEBUG, "conn %llu: %s:%d answered by rules: no upstream",
                    (unsigned long long)t->conn_id, t->sni[0] ? t->sni : t->host, t->port);
            start_client_tls(t); /* the leaf for the name, and no server at all */
            return;
        }
        if (t->h2_shared && (!t->sni[0] || !strcasecmp(t->sni, t->host)) &&
            uplink_h2_can_serve(t->client_addr, t->host, t->port)) {
            /* the usual leaf: that connection's certificate was verified; requests go out on
             * it (uplink_h2_route), or connect themselves should it be gone by then */
            log_msg(LOG_DEBUG, "conn %llu: %s:%d on this client's shared HTTP/2 connection",
                    (unsigned long long)t->conn_id, t->host, t->port);
            start_client_tls(t);
            return;
        }
        if (!t->pooled)
            start_upstream_tls(t, 0);
        else if (take_pooled(t) < 0)
            connect_late(t);
        return;
    }
    if (t->pooled) {
        connect_late(t);
        return;
    }
    if (t->upstream->fd < 0) { /* plain bytes into the setup host's tunnel: nothing to relay to */
        t->ops->close(t->ops_arg, 0);
        return;
    }
    bufferevent_enable(t->client->bev, EV_READ);
    start_opaque(t, r == CLIENTHELLO_NOT_TLS ? NULL : "malformed TLS ClientHello: relayed, not intercepted");
}

static void on_peek(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tunnel *t = arg;
    int cfd = bufferevent_getfd(t->client->bev);
    if (evbuffer_get_length(bufferevent_get_output(t->client->bev)) > 0) {
        peek_retry_later(t); /* the 200 is still on its way out */
        return;
    }
    static __thread unsigned char buf[CLIENTHELLO_MAX_BYTES];
    ssize_t n = recv(cfd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        event_del(t->peek_ev);
        event_assign(t->peek_ev, t->base, cfd, EV_READ | EV_PERSIST, on_peek, t);
        event_add(t->peek_ev, NULL);
        return;
    }
    if (n <= 0) {
        if (t->flow)
            snprintf(t->flow->note, sizeof t->flow->note,
                     "client closed the tunnel without sending anything");
        t->ops->close(t->ops_arg, 0);
        return;
    }
    *t->activity = flow_now_us();
    char sni[NAME_STR_MAX + 1] = "";
    enum clienthello_result r = clienthello_parse(buf, (size_t)n, sni, sizeof sni);
    if (r == CLIENTHELLO_INCOMPLETE && (size_t)n < sizeof buf) {
        if (t->flow) /* said with the deadline's failure if the rest never comes */
            snprintf(t->flow->note, sizeof t->flow->note,
                     "TLS ClientHello incomplete: %zd bytes received", n);
        peek_retry_later(t); /* level-triggered readiness would spin on the unread bytes */
        return;
    }
    stop_peek(t);
    if (t->flow && !strncmp(t->flow->note, "TLS ClientHello incomplete", 26))
        t->flow->note[0] = '\0'; /* it came whole after all */
    if (r == CLIENTHELLO_SNI) {
        for (char *s = sni; *s; s++)
            if (*s >= 'A' && *s <= 'Z')
                *s = (char)(*s + 32);
        name_str_set(&t->sni, sni);
    } else
        name_str_clear(&t->sni);
    t->peek_result = (int)r;
    t->peeked = 1;
    after_peek(t);
}

static void send_200_and_peek(struct tunnel *t);

static void on_tunnel_connected(const struct upstream_result *r, void *arg)
{
    struct tunnel *t = arg;
    struct flow *f = t->flow;
    t->connecting = NULL;
    if (record_connect(t, f, r) < 0) {
        char why[320];
        snprintf(why, sizeof why, "cannot reach %s:%d: %s", t->host, t->port, r->reason);
        fail(t, f, r->timeout ? 504 : 502, why);
        return;
    }
    t->upstream->fd = r->fd;
    send_200_and_peek(t);
    if (t->phase == TUNNEL_PEEK && early_tls_wanted(t)) {
        start_upstream_tls(t, 1);
        /* and have the leaf for that name minted now on the cache's mint thread, on the other
         * core while this worker does the upstream handshake, instead of after it (on the new
         * host's critical path) or before it (delaying the upstream's ClientHello) */
        if (t->early_tls == TUNNEL_EARLY_RUNNING)
            leafcache_prefetch(t->proxy->leaves, t->host);
    }
}

static void send_200_and_peek(struct tunnel *t)
{
    struct flow *f = t->flow;
    struct evbuffer *out = bufferevent_get_output(t->client->bev);
    char ok[48];
    int n = snprintf(ok, sizeof ok, "HTTP/1.%d 200 Connection established\r\n\r\n",
                     f->req && f->req->minor == 0 ? 0 : 1);
    /* sent now, not when this loop turn ends: the client's ClientHello is on the new host's
     * critical path, and what the turn does next (the upstream handshake) would delay it; what
     * the socket does not take goes out through the bufferevent as before */
    ssize_t sent = 0;
    if (!t->client->ssl && evbuffer_get_length(out) == 0) {
        sent = send(bufferevent_getfd(t->client->bev), ok, (size_t)n, MSG_NOSIGNAL);
        if (sent < 0)
            sent = 0; /* EAGAIN, or an error the bufferevent meets and reports as before */
    }
    evbuffer_add(out, ok + sent, (size_t)(n - sent));
    set_phase(t, TUNNEL_PEEK, "connected");
    if (evbuffer_get_length(bufferevent_get_input(t->client->bev)) > 0) {
        /* The client did not wait for our 200: its bytes are already out of the socket, so they
         * cannot be peeked for OpenSSL. Relay them untouched instead of guessing. */
        start_opaque(t, "client sent data before the 200: relayed, not intercepted");
        return;
    }
    bufferevent_disable(t->client->bev, EV_READ);
    bufferevent_setcb(t->client->bev, NULL, NULL, NULL, NULL);
    t->peek_ev = event_new(t->base, bufferevent_getfd(t->client->bev), EV_READ | EV_PERSIST, on_peek, t);
    if (!t->peek_ev || event_add(t->peek_ev, NULL) < 0)
        t->ops->close(t->ops_arg, 0);
}

void tunnel_begin(struct tunnel *t, struct flow *f, const char *host, int port)
{
    clients_note(t->proxy->clients, t->client_addr, CLIENT_PROXIED);
    /* An earlier request on this client connection may have left its upstream connection open
     * for reuse: the tunnel makes its own, and attaching that over it would orphan the old one
     * (its socket and buffers leaked, its callbacks firing after the conn is freed). */
    leg_close(t->upstream);
    tls_facts_clear(&t->upstream->tls);
    t->flow = f;
    f->kind = FLOW_TUNNEL;
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    t->port = port;
    if (name_str_set(&t->host, host) < 0) {
        log_msg(LOG_ERROR, "out of memory starting a tunnel");
        t->ops->close(t->ops_arg, 0);
        return;
    }
    t->marks = f->marks;
    char url[300];
    snprintf(url, sizeof url, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    flow_set_url(f, url);
    bufferevent_disable(t->client->bev, EV_READ);
    if (!strcmp(host, SETUP_HOST)) {
        /* httpeek itself: no upstream; the tunnel is terminated here and served by setup.c */
        snprintf(t->flow->note, sizeof t->flow->note, "httpeek's own setup site");
        send_200_and_peek(t);
        return;
    }
    const struct tunnel_policy *tp = t->proxy->tunnel_policy;
    const char *why_not;
    int status = 0;
    enum tunnel_rule ruled = tp && !rules_intercept(t->proxy->rules, t->client_addr, host, port,
                                                    &why_not) ? tp->refuse(t, f, &status)
                                                              : TUNNEL_RULE_NONE;
    if (ruled != TUNNEL_RULE_NONE) { /* a block rule on a passthrough host */
        if (ruled == TUNNEL_RULE_ANSWER)
            fail(t, f, status, "blocked by a rule");
        else
            t->ops->close(t->ops_arg, 0);
        return;
    }
    if (t->proxy->route_rules && rules_answer(t, host)) {
        /* the rules answer every request here: no connect; the hello decides (after_peek) */
        t->rule_answered = 1;
        t->pooled = 1; /* not intercepted after all (not TLS, a passthrough): connect late */
        send_200_and_peek(t);
        return;
    }
    if (t->proxy->opts->http2 && uplink_h2_can_serve(t->client_addr, host, port)) {
        /* this client's HTTP/2 connection takes the requests (uplink_h2_route): no connect */
        t->h2_shared = 1;
        t->pooled = 1;
        send_200_and_peek(t);
        return;
    }
    if (t->pool && pool_has(t->pool, t->client_addr, host, port)) {
        /* an idle verified connection to this server is pooled: answer now, pick it (or connect
         * after all) once the ClientHello tells the server name */
        t->pooled = 1;
        send_200_and_peek(t);
        return;
    }
    t->connecting = upstream_connect(t->base, t->dns, host, port, t->proxy->opts->upstream_timeout,
                                     on_tunnel_connected, t);
    if (!t->connecting) {
        flow_fail(f, FLOW_STAGE_CONNECT, ENOMEM, "out of memory");
        fail(t, f, 500, "out of memory");
        return;
    }
    set_phase(t, TUNNEL_CONNECTING, "CONNECT");
}
