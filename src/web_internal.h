/* web_internal.h — what the viewer's modules (web.c: assets, flows, events; web_export.c: HAR;
 * web_devices.c: clients and passthrough; web_search.c: search) share; web_reply.h is how they answer. Private to src/web*.c; everything here runs on the web thread
 * unless a field says otherwise. */
#ifndef HTTPEEK_WEB_INTERNAL_H
#define HTTPEEK_WEB_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include "attrib.h"

struct clients;
struct rules;
struct store_reader;
struct web_export;

struct sse_client {
    struct evhttp_request *req;
    struct web *web;
    struct sse_client *next;
};

struct web {
    char *addr, *session_path, *token, *proxy, *setup_url, *phone_proxy;
    int loopback_only;
    struct clients *clients;
    struct rules *rules;
    const char *const *intercept, *const *passthrough;
    size_t nintercept, npassthrough;
    int loopback; /* bound to a loopback address: Host headers are checked instead of a token */
    char url[512];
    char url_public[512]; /* url without the token */

    pthread_t thread;
    int thread_started;
    struct event_base *base;
    struct evhttp *http;
    struct store_reader *reader;
    struct event *wake, *ping, *clients_timer;
    struct sse_client *streams;
    struct web_export *exports; /* HAR exports running or being joined (web_export.c) */
    struct event *exports_reap; /* activated by an export's thread as it ends */
    uint64_t last_event_id; /* highest flow id sent on the event streams */
    struct timespec last_clients_event, last_flows_event;

    pthread_mutex_t mu;     /* guards the fields below, written by other threads */
    uint64_t pending_first, pending_last;
    int pending_clients;
    int nstreams;   /* event streams open: without one, nobody is woken for a commit */
    int wake_armed; /* on_wake is activated or scheduled: other threads need not activate it */
};


/* What web__devices_route did. */
enum web_routed {
    WEB_NOT_ROUTED = 0,          /* the path belongs elsewhere */
    WEB_ROUTED = 1,              /* answered */
    WEB_ROUTED_CLIENTS_CHANGED,  /* answered, and client facts changed: tell live viewers */
};

/* Answer the /api/clients and /api/passthrough paths (web_devices.c); returns an enum web_routed. */
int web__devices_route(struct web *w, struct evhttp_request *req, const char *path,
                       enum evhttp_cmd_type cmd) HP_NONNULL(1, 2, 3);

/* Parse a decimal flow id (web.c); 0 when s is not one. *end (when given) is where it stopped. */
uint64_t web__parse_id(const char *s, const char **end) HP_NONNULL(1);

/* Answer GET, HEAD or POST /api/har (web_export.c): the HAR is written by a thread of its own and
 * streamed to the client as fast as it reads. */
void web__har(struct web *w, struct evhttp_request *req, struct evkeyvalq *query)
    HP_NONNULL(1, 2, 3);

/* Stop every HAR export and join its thread (web_stop, after evhttp_free). */
void web__exports_stop(struct web *w) HP_NONNULL(1);

/* Answer GET /api/search (web_search.c). */
void web__search(struct web *w, struct evhttp_request *req, struct evkeyvalq *query)
    HP_NONNULL(1, 2, 3);

#endif
