/* uplink_h2.c — see uplink_h2.h. */
#include "uplink_h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event_struct.h>
#include <llhttp.h>
#include <nghttp2/nghttp2.h>
#include "h2_client.h"
#include "heap_trim.h"
#include "log.h"
#include "message.h"
#include "str.h"
#include "trailers.h"

struct h2_conn {
    struct h2_client *eng;
    struct bufferevent *bev;        /* TLS leg (owns ssl), NULL once closed */
    SSL *ssl;
    struct tls_facts tls;           /* facts of the handshake that made it */
    char client[64];                /* client IP it serves */
    char host[256];                 /* TLS server name (the origin's host) */
    int port;
    char server_ip[64];
    unsigned refs;                  /* uplinks bound to it */
    unsigned exchanges;             /* streams submitted so far (and exchanges before it was h2) */
    int dead;                       /* leg gone or engine failed: takes no stream */
    double idle_s;                  /* kept this long with no uplink bound */
    struct event *kick;             /* deferred flush / free */
    struct event *idle;             /* closes it when no uplink was bound for idle_s */
    struct event *release;          /* gives the TLS buffers back once no stream was open for a
                                       while (hold_buffers) */
    int holding;                    /* TLS buffers kept between records (hold_buffers) */
    struct h2_conn *prev, *next;
};

/* The worker thread's connections. */
static _Thread_local struct h2_conn *conns;

static const struct h2_client_ops engine_ops;

struct tls_facts *uplink_h2_tls(struct h2_conn *c)
{
    return &c->tls;
}

const char *uplink_h2_server_ip(const struct h2_conn *c)
{
    return c->server_ip;
}

static void conn_free(struct h2_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (conns == c)
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h2_client_free(c->eng);
    if (c->bev)
        bufferevent_free(c->bev);
    tls_facts_clear(&c->tls);
    if (c->kick)
        event_free(c->kick);
    if (c->idle)
        event_free(c->idle);
    if (c->release)
        event_free(c->release);
    free(c);
    heap_trim_note_freed(); /* its nghttp2 session (and TLS) */
}

/* Close the leg: every open stream fails (lost), the connection takes no more. */
static void conn_close(struct h2_conn *c)
{
    c->dead = 1;
    if (c->bev) {
        tls_facts_attach(c->ssl, NULL);
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->ssl = NULL;
        heap_trim_note_freed(); /* its TLS: a burst of these is trimmed */
    }
}

/* Seconds a connection with no open stream keeps its TLS record buffers. The SSL comes with
 * SSL_MODE_RELEASE_BUFFERS (tls_client.c): each record would allocate and free its buffer (the
 * read one 64 KiB, LEG_TLS_READ_BUF), ~0.6k instructions per request on a busy connection. So
 * the mode is off while streams come (hold_buffers) and the buffers go back once none was open
 * this long, as an HTTP/1 session's do (session.c's SESSION_BUFFER_HOLD). */
#define H2_CONN_BUFFER_HOLD_US 100000

static void hold_buffers(struct h2_conn *c)
{
    if (c->holding || !c->ssl)
        return;
    SSL_clear_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    c->holding = 1;
}

static void on_release(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2_conn *c = arg;
    if (c->dead || !c->ssl || !c->holding || h2_client_streams(c->eng) > 0)
        return; /* busy again: armed anew when its streams are done */
    h2_client_trim(c->eng); /* the engine's room for response heads too */
    SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    if (leg_free_tls_buffers(c->ssl)) {
        c->holding = 0;
        log_msg(LOG_DEBUG, "HTTP/2 upstream %s:%d: no stream for %d ms, TLS buffers given back",
                c->host, c->port, H2_CONN_BUFFER_HOLD_US / 1000);
    } else { /* a record still buffered: try again after another hold */
        struct timeval tv = {0, H2_CONN_BUFFER_HOLD_US};
        evtimer_add(c->release, &tv);
    }
}

/* No stream open: the buffers go back after the hold, unless streams come meanwhile. */
static void arm_release(struct h2_conn *c)
{
    if (!c->holding || (c->release->ev_evcallback.evcb_flags & EVLIST_INSERTED))
        return; /* the flag, not evtimer_pending (the base's lock): only this thread adds it */
    struct timeval tv = {0, H2_CONN_BUFFER_HOLD_US};
    evtimer_add(c->release, &tv);
}

/* Write what the engine has; close when it is done or failed; free when nobody holds it. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2_conn *c = arg;
    if (!c->dead && c->bev) {
        if (h2_client_flush(c->eng, bufferevent_get_output(c->bev)) < 0 || h2_client_done(c->eng)) {
            h2_client_eof(c->eng); /* streams still open fail (lost) */
            conn_close(c);
        }
    }
    if (!c->dead && h2_client_streams(c->eng) == 0)
        arm_release(c);
    if (c->refs == 0 && (c->dead || h2_client_streams(c->eng) == 0)) {
        if (c->dead) {
            conn_free(c);
            return;
        }
        struct timeval tv = {(time_t)c->idle_s, 0};
        if (!evtimer_pending(c->idle, NULL))
            evtimer_add(c->idle, &tv);
    }
}

static void kick(struct h2_conn *c)
{
    event_active(c->kick, EV_TIMEOUT, 0);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2_conn *c = arg;
    if (c->refs)
        return;
    log_msg(LOG_DEBUG, "HTTP/2 upstream %s:%d idle: closed", c->host, c->port);
    conn_free(c); /* the server sees the TLS close; no stream is open */
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    struct h2_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->dead && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len;
        int r = h2_client_feed(c->eng, v.iov_base, n);
        evbuffer_drain(in, n);
        if (r < 0) { /* on_conn_error said why; the GOAWAY goes out, then the leg closes */
            if (c->bev)
                h2_client_flush(c->eng, bufferevent_get_output(c->bev));
            h2_client_eof(c->eng);
            conn_close(c);
        }
    }
    kick(c);
}

static void conn_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    kick(arg); /* the window may let more DATA out */
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct h2_conn *c = arg;
    log_msg(LOG_DEBUG, "HTTP/2 upstream %s:%d: connection %s", c->host, c->port,
            (what & BEV_EVENT_EOF) ? "closed by the server" : "failed");
    c->dead = 1;
    h2_client_eof(c->eng);
    conn_close(c);
    kick(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Engine callbacks: to the uplink of each stream (stream_arg) */

/* The stream of u failed for why (code): tell its exchange. */
static void stream_fail(struct h2_conn *c, struct uplink *u, int32_t sid, uint32_t code,
                        const char *why)
{
    h2_client_reset(c->eng, sid, code);
    u->sid = 0;
    struct h2_failure f = {code, 0, 0, why};
    u->ops->stream(u, &f);
}

static int pass_head(void *arg, struct http1_head *h)
{
    struct uplink *u = arg;
    return u->ops->response.on_head(u, h);
}

static void on_response(void *arg, int32_t sid, void *stream_arg, struct message_head *head)
{
    struct h2_conn *c = arg;
    struct uplink *u = stream_arg;
    if (!u || u->sid != sid)
        return;
    const char *why = NULL;
    int r;
    /* the head is lent on the stack: the exchange's http1_head_take is its one heap copy */
    if (message_to_http1_lend(head, &why, pass_head, u, &r) < 0) {
        stream_fail(c, u, sid, NGHTTP2_INTERNAL_ERROR,
                    why ? why : "out of memory reading a response head");
        return;
    }
    if (r < 0 && u->sid == sid) {
        stream_fail(c, u, sid, NGHTTP2_CANCEL, "the response head could not be passed on");
        return;
    }
    if (u->sid == sid)
        u->ops->stream(u, NULL);
}

static void on_body(void *arg, int32_t sid, void *stream_arg, const uint8_t *data, size_t len)
{
    struct h2_conn *c = arg;
    struct uplink *u = stream_arg;
    if (!u || u->sid != sid) {
        h2_client_consume(c->eng, sid, len);
        return;
    }
    int r = u->ops->response.on_body(u, (const char *)data, len);
    if (u->sid != sid) /* the exchange ended under it */
        return;
    if (r < 0) {
        stream_fail(c, u, sid, NGHTTP2_CANCEL, "the response body could not be passed on");
        return;
    }
    if (u->h2_paused) {
        u->h2_unconsumed += len; /* the window goes back when the client took it */
    } else {
        h2_client_consume(c->eng, sid, len);
        kick(c);
    }
    u->ops->stream(u, NULL);
}

static void drop_trailers(struct uplink *u)
{
    if (u->trailers) {
        message_head_clear(u->trailers);
        free(u->trailers);
        u->trailers = NULL;
    }
}

static void on_end(void *arg, int32_t sid, void *stream_arg, struct message_head *trailers)
{
    (void)arg;
    struct uplink *u = stream_arg;
    if (!u || u->sid != sid)
        return;
    u->sid = 0;
    drop_trailers(u);
    if (trailers && trailers->ntrailers && (u->trailers = malloc(sizeof *u->trailers))) {
        message_head_init(u->trailers, 0);
        message_head_move(u->trailers, trailers); /* the exchange's front passes them on */
    }
    u->h2_unconsumed = 0;
    u->ops->response.on_done(u);
    u->ops->stream(u, NULL);
}

static void on_fail(void *arg, int32_t sid, void *stream_arg, const struct h2_failure *f)
{
    struct h2_conn *c = arg;
    struct uplink *u = stream_arg;
    if (!u || u->sid != sid)
        return;
    u->sid = 0;
    /* a stream lost with its connection: the connection's reason names the frame (GOAWAY
     * PROTOCOL_ERROR from the server ...: its debug data) */
    const char *ce = h2_client_error(c->eng);
    char why[600];
    struct h2_failure named = *f;
    if (ce[0] && !strstr(f->why, ce)) {
        snprintf(why, sizeof why, "%s (%s)", f->why, ce);
        named.why = why;
    }
    u->ops->stream(u, &named);
}

static void on_drain(void *arg, int32_t sid, void *stream_arg)
{
    (void)arg;
    struct uplink *u = stream_arg;
    if (!u || u->sid != sid || !u->h2_full)
        return;
    u->h2_full = 0;
    u->ops->drained(u);
}

static void on_conn_error(void *arg, uint32_t code, int by_server, const char *why)
{
    struct h2_conn *c = arg;
    c->dead = 1; /* takes no new stream; open ones hear on_fail */
    log_msg(LOG_DEBUG, "HTTP/2 upstream %s:%d: %s (%s, code %u)", c->host, c->port, why,
            by_server ? "from the server" : "sent", code);
}

static const struct h2_client_ops engine_ops = {on_response, on_body,  on_end,
                                                on_fail,     on_drain, on_conn_error};

/* ------------------------------------------------------------------------------------------ */
/* Binding uplinks */

static void bind_conn(struct uplink *u, struct h2_conn *c)
{
    u->h2 = c;
    name_str_set(&u->host, c->host);
    u->port = c->port;
    u->tls = 1;
    u->sid = 0;
    u->h2_full = u->h2_paused = 0;
    u->h2_unconsumed = 0;
    c->refs++;
    evtimer_del(c->idle);
}

void uplink_h2_stream_done(struct uplink *u)
{
    struct h2_conn *c = u->h2;
    if (!c || !u->sid)
        return;
    h2_client_reset(c->eng, u->sid, NGHTTP2_CANCEL);
    u->sid = 0;
    u->h2_unconsumed = 0;
    kick(c);
}

void uplink_h2_detach(struct uplink *u)
{
    struct h2_conn *c = u->h2;
    drop_trailers(u);
    if (!c)
        return;
    uplink_h2_stream_done(u);
    u->h2 = NULL;
    c->refs--;
    kick(c); /* freed there when dead and unbound; else its idle time starts */
}

/* This client's connection to host:port that can take a stream now. */
static struct h2_conn *find(const char *client, const char *host, int port)
{
    for (struct h2_conn *c = conns; c; c = c->next)
        if (!c->dead && c->port == port && !strcasecmp(c->host, host) &&
            !strcmp(c->client, client) && h2_client_can_take(c->eng))
            return c;
    return NULL;
}

int uplink_h2_can_serve(const char *client, const char *host, int port)
{
    return find(client, host, port) != NULL;
}

/* Make u's leg (ALPN h2) a shared connection. */
static struct h2_conn *conn_from_leg(struct uplink *u, struct proxy *proxy,
                                     struct event_base *base, const char *client)
{
    const struct opts *o = proxy->opts;
    struct h2_conn *c = calloc(1, sizeof *c);
    struct h2_limits lim;
    h2_limits_default(&lim);
    if (o->max_header_bytes)
        lim.max_header_list = (uint32_t)o->max_header_bytes;
    if (o->max_headers)
        lim.max_header_fields = (uint32_t)o->max_headers;
    if (!c || !(c->kick = event_new(base, -1, 0, on_kick, c)) ||
        !(c->idle = evtimer_new(base, on_idle, c)) ||
        !(c->release = evtimer_new(base, on_release, c)) ||
        !(c->eng = h2_client_new(&engine_ops, c, &lim))) {
        if (c) {
            if (c->kick)
                event_free(c->kick);
            if (c->idle)
                event_free(c->idle);
            if (c->release)
                event_free(c->release);
            free(c);
        }
        return NULL;
    }
    struct leg *l = &u->leg;
    c->bev = l->bev;
    c->ssl = l->ssl;
    tls_facts_move(&c->tls, &l->tls);
    tls_facts_attach(c->ssl, &c->tls);
    l->bev = NULL;
    l->ssl = NULL;
    l->paused_by_peer = 0;
    str_copy(c->client, sizeof c->client, client);
    str_copy(c->host, sizeof c->host, u->host);
    c->port = u->port;
    str_copy(c->server_ip, sizeof c->server_ip, u->server_ip);
    c->exchanges = u->exchanges;
    c->idle_s = o->upstream_idle > 0 ? o->upstream_idle : 5;
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    leg_read_enabled(c->bev);
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    log_msg(LOG_DEBUG, "HTTP/2 upstream %s:%d for %s: new connection", c->host, c->port, client);
    kick(c); /* preface and SETTINGS */
    return c;
}

int uplink_h2_route(struct uplink *u, struct proxy *proxy, struct event_base *base,
                    const char *client, const char *host, int port, int tls, int want_h1)
{
    struct h2_conn *c = u->h2;
    uplink_h2_stream_done(u);
    if (c && !want_h1 && tls && !c->dead && c->port == port && !strcasecmp(c->host, host) &&
        h2_client_can_take(c->eng))
        return 1;
    uplink_h2_detach(u);
    int own_h2 = uplink_leg_is_h2(&u->leg);
    if (!tls || !proxy->opts->http2 || want_h1) {
        if (own_h2)
            leg_close(&u->leg); /* never HTTP/1 bytes on it: a new connection says http/1.1 */
        return 0;
    }
    if ((c = find(client, host, port))) {
        leg_close(&u->leg); /* this client's open connection serves it (an idle HTTP/1 leg,
                               * e.g. a pooled one, would only fail the exchange by closing) */
        bind_conn(u, c);
        return 1;
    }
    if (!own_h2 || u->port != port || strcasecmp(u->host, host))
        return 0;
    if (!(c = conn_from_leg(u, proxy, base, client)))
        return -1;
    bind_conn(u, c);
    return 1;
}

unsigned uplink_h2_carried(const struct uplink *u)
{
    return u->h2 ? u->h2->exchanges : 0;
}

int uplink_h2_submit(struct uplink *u, const struct http1_head *req, const char *path,
                     const char *authority)
{
    struct h2_conn *c = u->h2;
    struct message_head m;
    message_head_init(&m, 1);
    /* a head made only to be submitted at once (nghttp2 copies what it sends): every string
     * is borrowed from req and the route */
    m.method = llhttp_method_name((llhttp_method_t)req->method);
    m.scheme = "https";
    m.authority = authority;
    m.path = path;
    /* a usual request's fields fit on the stack: no allocation (the head never grows past
     * req's count, so message.c never reallocates it; detached before message_head_clear) */
    struct message_field on_stack[24];
    if (req->nfields <= sizeof on_stack / sizeof *on_stack) {
        m.fields = on_stack;
        m.fields_cap = sizeof on_stack / sizeof *on_stack;
    }
    int bad = 0;
    for (size_t i = 0; i < req->nfields && !bad; i++) {
        const char *name = req->fields[i].name, *value = req->fields[i].value;
        if (name[0] == ':' || !strcasecmp(name, "host"))
            continue; /* pseudo-headers are made from the route; Host is :authority */
        bad = message_add_field_borrowed(&m, name, strlen(name), value, strlen(value)) < 0;
    }
    m.end_stream = req->framing == HTTP1_NO_BODY;
    drop_trailers(u);
    int32_t sid = bad ? -1 : h2_client_submit(c->eng, &m, 0, u);
    if (m.fields == on_stack)
        m.fields = NULL;
    message_head_clear(&m);
    if (sid <= 0)
        return -1;
    u->sid = sid;
    u->h2_full = u->h2_paused = 0;
    u->h2_unconsumed = 0;
    c->exchanges++;
    hold_buffers(c);
    kick(c);
    return 0;
}

int uplink_h2_body(struct uplink *u, const char *data, size_t len)
{
    if (!u->h2 || !u->sid)
        return -1;
    int r = h2_client_send_body(u->h2->eng, u->sid, data, len);
    if (r == 1)
        u->h2_full = 1;
    kick(u->h2);
    return r;
}

int uplink_h2_end(struct uplink *u, const struct http1_head *trailers)
{
    if (!u->h2 || !u->sid)
        return -1;
    kick(u->h2);
    if (!trailers || !trailers->nfields)
        return h2_client_end(u->h2->eng, u->sid, NULL);
    struct message_head t; /* a trailing HEADERS frame */
    message_head_init(&t, 1);
    int r = trailers_to_message(&t, trailers) < 0 ? -1 : h2_client_end(u->h2->eng, u->sid, &t);
    message_head_clear(&t);
    return r;
}

void uplink_h2_consume(struct uplink *u)
{
    if (!u->h2 || !u->sid || !u->h2_unconsumed)
        return;
    h2_client_consume(u->h2->eng, u->sid, u->h2_unconsumed);
    u->h2_unconsumed = 0;
    kick(u->h2);
}

void uplink_h2_free_all(void)
{
    while (conns)
        conn_free(conns);
}
