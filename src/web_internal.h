/* web_internal.h — what the viewer's modules (web.c: assets, flows; web_events.c: live events; web_export.c: HAR;
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
struct store;
struct store_reader;
struct web_export;
struct replay;
struct replay_marks;
struct replay_wait;
struct proxy;
#include <openssl/x509.h>

struct sse_client {
    struct evhttp_request *req;
    uint64_t seq;   /* the last commit sent to it (its last event id; web_events.c) */
    struct web *web;
    struct sse_client *next;
};

struct web {
    char *addr, *session_path, *token, *proxy, *setup_url, *phone_proxy;
    char *keylog;                  /* the TLS key log being written, or NULL */
    int loopback_only;
    struct clients *clients;
    struct rules *rules;
    struct ruleset_file *route_rules; /* GET/PUT /api/rules (web_rules.c), or NULL */
    struct breakpoints *breakpoints;  /* /api/breakpoints (web_breakpoints.c), or NULL */
    struct proxy *recorder;           /* POST /api/har/import records through it, or NULL */
    struct event *breakpoints_wake;   /* activated by a worker when the paused list changes */
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
    struct timespec last_clients_event, last_flows_event;

    pthread_mutex_t mu;     /* guards the fields below, written by other threads */
    int pending_flows;  /* flows were committed since the streams were last sent theirs */
    int pending_clients;
    int nstreams;   /* event streams open: without one, nobody is woken for a commit */
    int wake_armed; /* on_wake is activated or scheduled: other threads need not activate it */
    struct store *store; /* the session's writer (web_set_store), for its recording state */

    struct replay *replay;             /* web_replay.c: httpeek's own requests, or NULL */
    struct replay_wait *replay_waits;  /* API requests waiting for their flows */

    struct event *recording_timer; /* web_session.c: looks for recording state changes */
    uint64_t recording_seen;       /* the store_recording_changes value last sent */
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

/* Start (0) the timer that sends "event: recording" when the store's recording state changes;
 * -1 on OOM. web__session_stop frees it (web_session.c). */
/* GET/PUT /api/rules (web_rules.c): 1 when path was it (answered), 0 otherwise. */
int web__rules_route(struct web *w, struct evhttp_request *req, const char *path,
                     enum evhttp_cmd_type cmd) HP_NONNULL(1, 2, 3);

/* POST /api/flows/{id}/replay and POST /api/requests (web_replay.c): 1 when path was one
 * (answered), 0 otherwise. */
int web__replay_route(struct web *w, struct evhttp_request *req, const char *path,
                      enum evhttp_cmd_type cmd) HP_NONNULL(1, 2, 3);

/* Make the sender of those (w->base and w->proxy set); no marks or ca: none (the endpoints say
 * so). Returns 0, -1 with a reason. web__replay_stop (after evhttp_free) ends and frees it. */
int web__replay_start(struct web *w, struct replay_marks *marks, X509 *ca, char *err,
                      size_t errlen) HP_NONNULL(1, 4);
void web__replay_stop(struct web *w) HP_NONNULL(1);

/* POST /api/har/import (web_har_import.c): 1 when path was it (answered), 0 otherwise. */
int web__har_import_route(struct web *w, struct evhttp_request *req, const char *path,
                          enum evhttp_cmd_type cmd) HP_NONNULL(1, 2, 3);

/* /api/breakpoints... (web_breakpoints.c): 1 when path was one (answered), 0 otherwise; start
 * (0, -1 OOM) and stop the "breakpoints" events. */
int web__breakpoints_route(struct web *w, struct evhttp_request *req, const char *path,
                           enum evhttp_cmd_type cmd) HP_NONNULL(1, 2, 3);
int web__breakpoints_start(struct web *w) HP_NONNULL(1);
void web__breakpoints_stop(struct web *w) HP_NONNULL(1);

int web__session_start(struct web *w) HP_NONNULL(1);
void web__session_stop(struct web *w) HP_NONNULL(1);

/* Answer GET /api/session (web_session.c); returns 1 when path was that, else 0. */
int web__session_route(struct web *w, struct evhttp_request *req, const char *path,
                       enum evhttp_cmd_type cmd) HP_NONNULL(1, 2, 3);

/* A JSON array of summaries being built from their stored texts (web.c). */
struct web_list {
    struct web *web;
    struct evbuffer *out; /* "[" then summaries and commas; the caller adds "]" (or "[]" if n=0) */
    json_t *names;        /* the user's client names (store_reader_client_names) */
    json_t *shown;        /* addr -> JSON-encoded name, computed once per client */
    size_t n;
};

/* Add one stored summary to the web_list arg, with "client_name" added (web_list.c); a callback of
 * store_reader_list_text. Returns 0. */
int web__list_add(const char *summary, size_t len, const char *client, void *arg);

/* The event streams (web_events.c): create their timers (web_start). Returns 0, -1. */
int web__events_start(struct web *w) HP_NONNULL(1);

/* Answer GET /api/events: a new live stream. */
void web__events(struct web *w, struct evhttp_request *req) HP_NONNULL(1, 2);

/* Send text (an event, whole) to every live stream. */
void web__events_broadcast(struct web *w, const char *text, size_t len) HP_NONNULL(1, 2);

/* Send a "clients" event (client facts changed) to every live stream. */
void web__events_clients(struct web *w) HP_NONNULL(1);

/* The name to show for client addr: the user's (names, from store_reader_client_names), else the
 * device its User-Agent named, else "" (web_list.c). */
void web__client_name(struct web *w, json_t *names, const char *addr, char *out, size_t outlen);

/* Parse a decimal flow id (web_list.c); 0 when s is not one. *end (when given) is where it stopped. */
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
