/* web_events.c — GET /api/events: live "flows", "cleared" and "clients" events. Each stream
 * keeps its own place in the session's commit sequence (store_reader_list_seq): a "flows" event's
 * id is the commit sequence number of its last flow, and a stream is sent every visible flow
 * committed after its place, in commit order, a page at a time. A reconnecting EventSource sends
 * that id back as Last-Event-ID and resumes exactly there: a flow that finished late (a small id
 * committed after bigger ones) is neither missed nor sent twice. Flow ids could not do this:
 * they are given when flows start, not when they are committed. */
#include "web_internal.h"
#include "web_reply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "log.h"
#include "store.h"

/* Seconds between keep-alive comments on live event streams (proxies and browsers drop silent
 * streams). */
#define WEB_PING_S 15
/* Event streams are long-lived: only a write that cannot drain for this long closes one. */
#define WEB_SSE_TIMEOUT_S (24 * 3600)
/* Most flows sent in one "flows" event (a bigger commit is split). */
#define WEB_EVENT_FLOWS 1000
/* Most "flows" events one stream is sent per wake-up; the rest follow at the next (a stream
 * resuming far behind must not hold the viewer's thread). */
#define WEB_EVENT_PAGES 8
/* A stream whose client has this much not yet taken is sent nothing more until it drains. */
#define WEB_SSE_BACKLOG (4u << 20)
/* Minimum milliseconds between two "flows" events: a commit every few milliseconds under load
 * would otherwise cost the viewer a query, a JSON array and a browser repaint each; a person
 * cannot tell 40 updates a second from more. */
#define WEB_FLOWS_EVENT_MS 25
/* Minimum milliseconds between two "clients" events. */
#define WEB_CLIENTS_EVENT_MS 1000

static void sse_send(struct sse_client *c, const char *text, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return;
    evbuffer_add(b, text, len);
    evhttp_send_reply_chunk(c->req, b);
    evbuffer_free(b);
}

void web__events_broadcast(struct web *w, const char *text, size_t len)
{
    for (struct sse_client *c = w->streams; c; c = c->next)
        sse_send(c, text, len);
}

static void sse_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct sse_client *c = arg;
    struct web *w = c->web;
    for (struct sse_client **p = &w->streams; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            pthread_mutex_lock(&w->mu);
            w->nstreams--;
            pthread_mutex_unlock(&w->mu);
            break;
        }
    /* A stream the peer closed is detached from its connection and left to us to free; one still
     * attached (the server shutting down) is freed with its connection. */
    if (!evhttp_request_get_connection(c->req))
        evhttp_send_reply_end(c->req);
    free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Flows, in commit order */

/* One "flows" event: the flows committed after seq `from` up to `to`, as text ready to send. */
struct flows_event {
    int valid;            /* built (from, to, n and text say what was committed after from) */
    uint64_t from, to;
    size_t n;             /* flows in it (0: nothing committed after from) */
    struct evbuffer *text;
    struct web_list list; /* while it is being built */
};

static int event_add_flow(const char *summary, size_t len, const char *client, uint64_t seq,
                          void *arg)
{
    struct flows_event *e = arg;
    e->to = seq;
    e->n++;
    return web__list_add(summary, len, client, &e->list);
}

/* Build into e the event of what was committed after seq from. Returns 0, -1 on a store error. */
static int build_event(struct web *w, uint64_t from, struct flows_event *e)
{
    evbuffer_drain(e->text, evbuffer_get_length(e->text));
    e->from = e->to = from;
    e->n = 0;
    struct evbuffer *summaries = evbuffer_new();
    e->list = (struct web_list){.web = w, .out = summaries,
                                .names = store_reader_client_names(w->reader),
                                .shown = json_object()};
    int rc = summaries && e->list.shown
                 ? store_reader_list_seq(w->reader, from, WEB_EVENT_FLOWS, event_add_flow, e)
                 : -1;
    if (rc == 0 && e->n) {
        evbuffer_add_printf(e->text, "id: %llu\nevent: flows\ndata: ", (unsigned long long)e->to);
        evbuffer_add_buffer(e->text, summaries);
        evbuffer_add(e->text, "]\n\n", 3);
    }
    if (summaries)
        evbuffer_free(summaries);
    json_decref(e->list.names);
    json_decref(e->list.shown);
    e->list = (struct web_list){0};
    e->valid = rc == 0;
    if (rc != 0) {
        e->n = 0;
        evbuffer_drain(e->text, evbuffer_get_length(e->text));
    }
    return rc == 0 ? 0 : -1;
}

/* Bytes the client of stream c has not yet taken. */
static size_t unsent(struct sse_client *c)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* Send stream c what was committed after its place, up to WEB_EVENT_PAGES events; e is the
 * last event built (streams at the same place share it). Returns 1 when more remains. */
static int catch_up(struct web *w, struct sse_client *c, struct flows_event *e)
{
    for (int pages = 0; pages < WEB_EVENT_PAGES; pages++) {
        if (unsent(c) > WEB_SSE_BACKLOG)
            return 1;
        if ((!e->valid || e->from != c->seq) && build_event(w, c->seq, e) < 0)
            return 0; /* logged; the next commit tries again */
        if (!e->n)
            return 0;
        struct evbuffer *b = evbuffer_new();
        if (!b)
            return 1;
        evbuffer_add(b, evbuffer_pullup(e->text, -1), evbuffer_get_length(e->text));
        evhttp_send_reply_chunk(c->req, b);
        evbuffer_free(b);
        c->seq = e->to;
        if (e->n < WEB_EVENT_FLOWS)
            return 0;
    }
    return 1;
}

/* Every stream sent what it has not seen; what is left is scheduled. */
static void pump(struct web *w)
{
    struct flows_event e = {.text = evbuffer_new()};
    if (!e.text)
        return;
    int more = 0;
    for (struct sse_client *c = w->streams; c; c = c->next)
        more |= catch_up(w, c, &e);
    evbuffer_free(e.text);
    if (!more)
        return;
    pthread_mutex_lock(&w->mu);
    w->pending_flows = 1;
    int arm = !w->wake_armed;
    w->wake_armed = 1;
    pthread_mutex_unlock(&w->mu);
    if (arm) {
        struct timeval tv = {0, WEB_FLOWS_EVENT_MS * 1000};
        event_add(w->wake, &tv);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Wake-ups */

void web__events_clients(struct web *w)
{
    static const char ev[] = "event: clients\ndata: {}\n\n";
    web__events_broadcast(w, ev, sizeof ev - 1);
    clock_gettime(CLOCK_MONOTONIC, &w->last_clients_event);
}

static void on_clients_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    web__events_clients(arg);
}

static long ms_since(const struct timespec *then)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - then->tv_sec) * 1000 + (now.tv_nsec - then->tv_nsec) / 1000000;
}

/* Woken by web_notify / web_clients_changed from other threads (only while an event stream is
 * open), at most every WEB_FLOWS_EVENT_MS: sooner, it reschedules itself and stays armed, so
 * the commits in between are sent together. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct web *w = arg;
    long since = ms_since(&w->last_flows_event);
    if (w->streams && since >= 0 && since < WEB_FLOWS_EVENT_MS) {
        struct timeval tv = {0, (WEB_FLOWS_EVENT_MS - since) * 1000};
        event_add(w->wake, &tv);
        return;
    }
    pthread_mutex_lock(&w->mu);
    int flows = w->pending_flows, clients = w->pending_clients;
    w->pending_flows = w->pending_clients = 0;
    w->wake_armed = 0;
    pthread_mutex_unlock(&w->mu);

    if (flows && w->streams) {
        clock_gettime(CLOCK_MONOTONIC, &w->last_flows_event);
        pump(w);
    }
    if (clients && w->streams && !evtimer_pending(w->clients_timer, NULL)) {
        long ms = ms_since(&w->last_clients_event);
        if (ms >= WEB_CLIENTS_EVENT_MS) {
            web__events_clients(w);
        } else {
            struct timeval tv = {0, (WEB_CLIENTS_EVENT_MS - ms) * 1000};
            evtimer_add(w->clients_timer, &tv);
        }
    }
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    static const char ping[] = ": ping\n\n";
    web__events_broadcast(arg, ping, sizeof ping - 1);
}

void web__events(struct web *w, struct evhttp_request *req)
{
    struct sse_client *c = calloc(1, sizeof *c);
    if (!c) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    /* Where this stream starts: after Last-Event-ID (a reconnecting EventSource sends the last
     * id it saw), else after everything committed so far (the viewer lists that itself). An id
     * beyond the session's last commit is not from this session (another file, a restart on a
     * new one): the stream starts now. */
    uint64_t now = 0;
    if (store_reader_last_seq(w->reader, &now) < 0) {
        free(c);
        web__send_error(req, 500, "the session file could not be read (see the log)");
        return;
    }
    const char *last = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    uint64_t seen = last ? web__parse_id(last, NULL) : 0;
    c->seq = last && seen <= now ? seen : now;
    c->req = req;
    c->web = w;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    evhttp_connection_set_timeout(evcon, WEB_SSE_TIMEOUT_S);
    evhttp_connection_set_closecb(evcon, sse_closed, c);
    web__common_headers(req, "text/event-stream; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Accel-Buffering", "no");
    evhttp_send_reply_start(req, 200, "OK");
    c->next = w->streams;
    w->streams = c;
    pthread_mutex_lock(&w->mu);
    w->nstreams++; /* from now on commits wake us */
    pthread_mutex_unlock(&w->mu);
    char hello[64];
    int n = snprintf(hello, sizeof hello, "retry: 2000\n: httpeek %s\n\n", HTTPEEK_VERSION);
    sse_send(c, hello, (size_t)n);
    /* what it missed (or what was committed since now was read), and what follows */
    pthread_mutex_lock(&w->mu);
    w->pending_flows = 1;
    int arm = !w->wake_armed;
    w->wake_armed = 1;
    pthread_mutex_unlock(&w->mu);
    if (arm)
        event_active(w->wake, 0, 0);
}

int web__events_start(struct web *w)
{
    if (!(w->wake = event_new(w->base, -1, 0, on_wake, w)) ||
        !(w->ping = event_new(w->base, -1, EV_PERSIST, on_ping, w)) ||
        !(w->clients_timer = evtimer_new(w->base, on_clients_timer, w)))
        return -1;
    struct timeval ping = {WEB_PING_S, 0};
    event_add(w->ping, &ping);
    return 0;
}

