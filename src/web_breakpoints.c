/* web_breakpoints.c — /api/breakpoints: the breakpoints (breakpoint.h) and the exchanges they
 * paused; an action handed to one (breakpoint_apply.h checks it here, its worker applies it);
 * "event: breakpoints" on the live streams whenever the paused list changes, so the viewer shows
 * a pause at once. Token and Origin are checked by web.c before any of this (as for /api/rules). */
#include "web_internal.h"
#include "web_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "breakpoint.h"
#include "breakpoint_apply.h"
#include "breakpoint_edit.h"

/* Most bytes of a request body here (an edited body is at most BREAKPOINT_BODY_MAX, as base64). */
#define WEB_BREAKPOINTS_MAX (12u << 20)

/* A worker listed or unlisted a pause (any thread): wake the web thread. */
static void on_paused_changed(void *arg)
{
    struct web *w = arg;
    event_active(w->breakpoints_wake, EV_TIMEOUT, 0); /* thread-safe: evthread_use_pthreads */
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct web *w = arg;
    char ev[80];
    int n = snprintf(ev, sizeof ev, "event: breakpoints\ndata: {\"paused\":%zu}\n\n",
                     breakpoints_paused_count(w->breakpoints));
    web__events_broadcast(w, ev, (size_t)n);
}

int web__breakpoints_start(struct web *w)
{
    if (!w->breakpoints)
        return 0;
    if (!(w->breakpoints_wake = event_new(w->base, -1, 0, on_wake, w)))
        return -1;
    pthread_mutex_lock(&w->breakpoints->mu);
    w->breakpoints->notify = on_paused_changed;
    w->breakpoints->notify_arg = w;
    pthread_mutex_unlock(&w->breakpoints->mu);
    return 0;
}

void web__breakpoints_stop(struct web *w)
{
    if (w->breakpoints) {
        pthread_mutex_lock(&w->breakpoints->mu);
        w->breakpoints->notify = NULL;
        pthread_mutex_unlock(&w->breakpoints->mu);
    }
    if (w->breakpoints_wake)
        event_free(w->breakpoints_wake);
    w->breakpoints_wake = NULL;
}

/* The request's JSON body, or NULL having answered 400/413. */
static json_t *read_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > WEB_BREAKPOINTS_MAX) {
        web__send_error(req, 413, "at most 12 MiB");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "", len, 0, &jerr);
    if (!v) {
        char why[300];
        snprintf(why, sizeof why, "invalid JSON: line %d: %s", jerr.line, jerr.text);
        web__send_error(req, 400, why);
    }
    return v;
}

static void send_list(struct web *w, struct evhttp_request *req, int code)
{
    web__send_json(req, code, breakpoints_json(w->breakpoints));
}

static void answer_change(struct evhttp_request *req, int rc, const char *err)
{
    if (rc == -1)
        web__send_error(req, 400, err);
    else
        web__send_error(req, 500, "out of memory");
}

static void api_add(struct web *w, struct evhttp_request *req)
{
    json_t *spec = read_json(req);
    if (!spec)
        return;
    char id[64], err[512];
    int rc = breakpoints_add(w->breakpoints, spec, id, sizeof id, err, sizeof err);
    json_decref(spec);
    if (rc)
        answer_change(req, rc, err);
    else
        web__send_json(req, 201, json_pack("{s:s}", "id", id));
}

static void api_replace(struct web *w, struct evhttp_request *req)
{
    json_t *doc = read_json(req);
    if (!doc)
        return;
    json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "breakpoints");
    char err[512];
    int rc = list ? breakpoints_replace(w->breakpoints, list, err, sizeof err) : -1;
    if (!list)
        snprintf(err, sizeof err, "a JSON array of breakpoints, or {breakpoints: [...]}");
    json_decref(doc);
    if (rc)
        answer_change(req, rc, err);
    else
        send_list(w, req, 200);
}

static void api_act(struct web *w, struct evhttp_request *req, const char *idtext)
{
    const char *end;
    uint64_t id = web__parse_id(idtext, &end);
    if (!id || *end) {
        web__send_error(req, 404, "no such paused exchange (expected /api/breakpoints/paused/{id})");
        return;
    }
    json_t *action = read_json(req);
    if (!action)
        return;
    char err[512];
    if (breakpoint_action_check(action, err, sizeof err) < 0) {
        json_decref(action);
        web__send_error(req, 400, err);
        return;
    }
    /* a copy of the action's name: once handed over, action and its members belong to the
     * worker's thread (a shared member's refcount would be touched by both threads) */
    json_t *reply = json_pack("{s:I, s:s}", "id", (json_int_t)id, "action",
                              json_string_value(json_object_get(action, "action")));
    switch (breakpoints_act(w->breakpoints, id, action)) { /* action handed over (or freed) */
    case 0:
        web__send_json(req, 200, reply);
        return;
    case -2:
        json_decref(reply);
        web__send_error(req, 409, "an action for this exchange is already on its way");
        return;
    default:
        json_decref(reply);
        web__send_error(req, 404, "no such paused exchange (resumed, or its client gave up)");
        return;
    }
}

int web__breakpoints_route(struct web *w, struct evhttp_request *req, const char *path,
                           enum evhttp_cmd_type cmd)
{
    if (strncmp(path, "/api/breakpoints", 16) || (path[16] && path[16] != '/'))
        return 0;
    const char *rest = path + 16;
    int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (!w->breakpoints) {
        web__send_error(req, 404, "no breakpoints here");
    } else if (!*rest) {
        if (get)
            send_list(w, req, 200);
        else if (cmd == EVHTTP_REQ_POST)
            api_add(w, req);
        else if (cmd == EVHTTP_REQ_PUT)
            api_replace(w, req);
        else if (cmd == EVHTTP_REQ_DELETE) {
            breakpoints_remove(w->breakpoints, NULL);
            web__common_headers(req, NULL);
            evhttp_send_reply(req, 204, "No Content", NULL);
        } else
            web__send_error(req, 405, "use GET, POST (add one), PUT (replace all) or DELETE");
    } else if (!strncmp(rest, "/paused/", 8)) {
        if (cmd == EVHTTP_REQ_POST)
            api_act(w, req, rest + 8);
        else
            web__send_error(req, 405, "use POST with {action: execute | continue | abort}");
    } else if (cmd == EVHTTP_REQ_DELETE) {
        if (breakpoints_remove(w->breakpoints, rest + 1) < 0) {
            web__send_error(req, 404, "no such breakpoint");
        } else {
            web__common_headers(req, NULL);
            evhttp_send_reply(req, 204, "No Content", NULL);
        }
    } else {
        web__send_error(req, 405, "use DELETE /api/breakpoints/{id}");
    }
    return 1;
}
