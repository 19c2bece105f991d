/* web_replay.c — POST /api/flows/{id}/replay (Repeat) and POST /api/requests (compose, edit and
 * resend): turn the request into a replay_spec and hand it to replay.c, which sends it through
 * httpeek's own listener like any client; answer with the ids of the flows it made once they
 * are in the session file (so GET /api/flows/{id} finds them at once).
 *
 * A flow whose request body was not captured whole (cut by --max-body or the memory budget) is
 * not repeated (409): sending part of a body would be a different request; edit and resend it
 * with a body of your own instead. */
#include "web_internal.h"
#include "web_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "base64.h"
#include "replay.h"
#include "store.h"

#define REPLAY_POLL_MS 20     /* how often the ids are looked for in the session file */
#define REPLAY_POLL_MAX 250   /* ... for at most 5 s */

struct replay_wait {
    struct web *w;
    struct evhttp_request *req; /* NULL once its client went away */
    int compose;                /* answer {id} (else {ids}) */
    uint64_t *ids;
    size_t nids, visible;       /* ids[0..visible) are in the file */
    size_t nerrors;
    char error[200];
    int ended, polls;
    struct event *poll;
    struct replay_wait *next;
};

static void wait_free(struct replay_wait *rw)
{
    struct web *w = rw->w;
    for (struct replay_wait **p = &w->replay_waits; *p; p = &(*p)->next)
        if (*p == rw) {
            *p = rw->next;
            break;
        }
    if (rw->req) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(rw->req);
        if (evcon)
            evhttp_connection_set_closecb(evcon, NULL, NULL);
    }
    if (rw->poll)
        event_free(rw->poll);
    free(rw->ids);
    free(rw);
}

/* The client that asked went away: the repeats go on (their flows are recorded all the same). */
static void client_gone(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct replay_wait *rw = arg;
    struct evhttp_request *req = rw->req;
    rw->req = NULL;
    /* a pending request the peer's close detached from its connection is ours to free */
    if (req && !evhttp_request_get_connection(req))
        evhttp_send_reply_end(req);
}

static void answer(struct replay_wait *rw)
{
    struct evhttp_request *req = rw->req;
    if (!req)
        return;
    if (rw->compose) {
        if (rw->nids)
            web__send_json(req, 200, json_pack("{s:I}", "id", (json_int_t)rw->ids[0]));
        else
            web__send_error(req, 502, rw->error[0] ? rw->error : "no flow was recorded");
        return;
    }
    json_t *ids = json_array();
    for (size_t i = 0; i < rw->nids; i++)
        json_array_append_new(ids, json_integer((json_int_t)rw->ids[i]));
    json_t *v = json_pack("{s:o, s:I}", "ids", ids, "errors", (json_int_t)rw->nerrors);
    if (v && rw->error[0])
        json_object_set_new(v, "error", json_string(rw->error));
    web__send_json(req, 200, v);
}

/* Wait until every id is in the file (the store writes in batches), then answer. */
static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct replay_wait *rw = arg;
    while (rw->visible < rw->nids) {
        json_t *d = store_reader_get(rw->w->reader, rw->ids[rw->visible]);
        if (!d)
            break;
        json_decref(d);
        rw->visible++;
    }
    if (rw->visible < rw->nids && ++rw->polls < REPLAY_POLL_MAX && rw->req) {
        struct timeval tv = {0, REPLAY_POLL_MS * 1000};
        event_add(rw->poll, &tv);
        return;
    }
    answer(rw);
    wait_free(rw);
}

static void on_done(void *arg, const uint64_t *ids, size_t nids, size_t nerrors, const char *error)
{
    struct replay_wait *rw = arg;
    rw->ended = 1;
    rw->nerrors = nerrors;
    if (error)
        snprintf(rw->error, sizeof rw->error, "%s", error);
    if (nids && (rw->ids = malloc(nids * sizeof *ids))) {
        memcpy(rw->ids, ids, nids * sizeof *ids);
        rw->nids = nids;
    }
    event_active(rw->poll, EV_TIMEOUT, 0); /* never answer from inside replay.c */
}

/* Send spec (taken) count times and answer req when done. */
static void run(struct web *w, struct evhttp_request *req, struct replay_spec *spec,
                unsigned count, unsigned concurrency, unsigned delay_ms, uint64_t replay_of,
                int compose)
{
    struct replay_wait *rw = calloc(1, sizeof *rw);
    if (!rw || !(rw->poll = evtimer_new(w->base, on_poll, rw))) {
        free(rw);
        replay_spec_free(spec);
        web__send_error(req, 500, "out of memory");
        return;
    }
    rw->w = w;
    rw->compose = compose;
    char err[200];
    if (replay_start(w->replay, spec, count, concurrency, delay_ms, replay_of, compose, on_done,
                     rw, err, sizeof err) < 0) {
        event_free(rw->poll);
        free(rw);
        web__send_error(req, 503, err);
        return;
    }
    rw->req = req;
    rw->next = w->replay_waits;
    w->replay_waits = rw;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), client_gone, rw);
}

/* The request's JSON body (NULL allowed when empty and may_be_empty: *out NULL); 0, or -1
 * after answering 400. */
static int read_json(struct evhttp_request *req, int may_be_empty, json_t **out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    *out = NULL;
    if (!len && may_be_empty)
        return 0;
    json_error_t jerr;
    json_t *v = len ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr) : NULL;
    if (!json_is_object(v)) {
        char why[300];
        snprintf(why, sizeof why, "the body must be a JSON object%s%s", v || !len ? "" : ": ",
                 v || !len ? "" : jerr.text);
        json_decref(v);
        web__send_error(req, 400, why);
        return -1;
    }
    *out = v;
    return 0;
}

/* An optional integer member in [lo, hi] into *val (left as is when absent); 0, or -1 with a reason. */
static int int_member(json_t *o, const char *k, long long lo, long long hi, unsigned *val,
                      char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "%s must be an integer from %lld to %lld", k, lo, hi);
        return -1;
    }
    *val = (unsigned)json_integer_value(v);
    return 0;
}

static void api_replay(struct web *w, struct evhttp_request *req, uint64_t id)
{
    json_t *opts;
    if (read_json(req, 1, &opts) < 0)
        return;
    unsigned count = 1, concurrency = 1, delay_ms = 0;
    char err[200];
    if (opts && (int_member(opts, "count", 1, REPLAY_MAX_COUNT, &count, err, sizeof err) < 0 ||
                 int_member(opts, "concurrency", 1, REPLAY_MAX_CONCURRENCY, &concurrency, err,
                            sizeof err) < 0 ||
                 int_member(opts, "delay_ms", 0, REPLAY_MAX_DELAY_MS, &delay_ms, err,
                            sizeof err) < 0)) {
        json_decref(opts);
        web__send_error(req, 400, err);
        return;
    }
    json_decref(opts);
    json_t *d = store_reader_get(w->reader, id);
    if (!d) {
        web__send_error(req, 404, "no such flow");
        return;
    }
    json_t *rq = json_object_get(d, "request");
    const char *method = json_string_value(json_object_get(d, "method"));
    const char *url = json_string_value(json_object_get(d, "url"));
    const char *kind = json_string_value(json_object_get(d, "kind"));
    json_t *headers = json_object_get(rq, "headers");
    long long size = json_integer_value(json_object_get(rq, "body_size"));
    long long captured = json_integer_value(json_object_get(rq, "body_captured"));
    struct replay_spec *spec = NULL;
    if (!kind || strcmp(kind, "http") || !method || !url || !json_is_array(headers)) {
        web__send_error(req, 400, "this flow is no HTTP request (a tunnel or a failed CONNECT): "
                                  "nothing to repeat");
        goto out;
    }
    if (json_is_true(json_object_get(rq, "body_truncated")) || captured < size) {
        snprintf(err, sizeof err, "the request body was not captured whole (%lld of %lld bytes): "
                 "edit and resend it with a body instead", captured, size);
        web__send_error(req, 409, err);
        goto out;
    }
    if (!(spec = replay_spec_new(method, url))) {
        web__send_error(req, 500, "out of memory");
        goto out;
    }
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *n = json_string_value(json_object_get(h, "name"));
        const char *v = json_string_value(json_object_get(h, "value"));
        if (n && v && replay_spec_header(spec, n, v) < 0) {
            web__send_error(req, 400, "too many request headers to repeat");
            goto out;
        }
    }
    if (size > 0) {
        struct evbuffer *body = evbuffer_new();
        char mime[128];
        int bad = !body || store_reader_body(w->reader, id, 0, 0, body, mime, sizeof mime) < 0 ||
                  replay_spec_body(spec, evbuffer_pullup(body, -1), evbuffer_get_length(body)) < 0;
        if (body)
            evbuffer_free(body);
        if (bad) {
            web__send_error(req, 500, "the request body could not be read from the session file");
            goto out;
        }
    }
    if (replay_spec_check(spec, err, sizeof err) < 0) {
        web__send_error(req, 400, err);
        goto out;
    }
    run(w, req, spec, count, concurrency, delay_ms, id, 0);
    spec = NULL;
out:
    replay_spec_free(spec);
    json_decref(d);
}

static void api_compose(struct web *w, struct evhttp_request *req)
{
    json_t *o;
    if (read_json(req, 0, &o) < 0)
        return;
    json_t *jm = json_object_get(o, "method"), *ju = json_object_get(o, "url");
    json_t *jh = json_object_get(o, "headers"), *jb = json_object_get(o, "body");
    json_t *jb64 = json_object_get(o, "body_base64");
    char err[200] = "";
    struct replay_spec *spec = NULL;
    unsigned char *raw = NULL;
    if (jm && !json_is_string(jm))
        snprintf(err, sizeof err, "method must be a string");
    else if (!json_is_string(ju))
        snprintf(err, sizeof err, "url must be a string: an absolute http:// or https:// URL");
    else if (jh && !json_is_null(jh) && !json_is_array(jh))
        snprintf(err, sizeof err, "headers must be an array of [name, value] pairs");
    else if ((jb && !json_is_null(jb) && !json_is_string(jb)) ||
             (jb64 && !json_is_null(jb64) && !json_is_string(jb64)))
        snprintf(err, sizeof err, "body and body_base64 must be strings");
    else if (json_is_string(jb) && json_is_string(jb64))
        snprintf(err, sizeof err, "give body or body_base64, not both");
    if (err[0])
        goto bad;
    if (!(spec = replay_spec_new(jm ? json_string_value(jm) : "GET", json_string_value(ju)))) {
        web__send_error(req, 500, "out of memory");
        goto out;
    }
    size_t i;
    json_t *h;
    json_array_foreach(jh, i, h) {
        json_t *n = json_array_get(h, 0), *v = json_array_get(h, 1);
        if (!json_is_array(h) || json_array_size(h) != 2 || !json_is_string(n) ||
            !json_is_string(v) || strlen(json_string_value(n)) != json_string_length(n) ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(err, sizeof err, "headers[%zu] must be [name, value], two strings", i);
            goto bad;
        }
        if (replay_spec_header(spec, json_string_value(n), json_string_value(v)) < 0) {
            snprintf(err, sizeof err, "at most %d headers", REPLAY_MAX_HEADERS);
            goto bad;
        }
    }
    if (json_is_string(jb) &&
        replay_spec_body(spec, json_string_value(jb), json_string_length(jb)) < 0) {
        web__send_error(req, 500, "out of memory");
        goto out;
    }
    if (json_is_string(jb64)) {
        size_t len = json_string_length(jb64);
        long long n;
        if (!(raw = malloc(len / 4 * 3 + 3))) {
            web__send_error(req, 500, "out of memory");
            goto out;
        }
        if ((n = base64_decode(json_string_value(jb64), len, raw)) < 0) {
            snprintf(err, sizeof err, "body_base64 is not base64");
            goto bad;
        }
        if (replay_spec_body(spec, raw, (size_t)n) < 0) {
            web__send_error(req, 500, "out of memory");
            goto out;
        }
    }
    if (replay_spec_check(spec, err, sizeof err) < 0)
        goto bad;
    run(w, req, spec, 1, 1, 0, 0, 1);
    spec = NULL;
    goto out;
bad:
    web__send_error(req, 400, err);
out:
    free(raw);
    replay_spec_free(spec);
    json_decref(o);
}

int web__replay_route(struct web *w, struct evhttp_request *req, const char *path,
                      enum evhttp_cmd_type cmd)
{
    uint64_t id = 0;
    int compose = !strcmp(path, "/api/requests");
    if (!compose) {
        const char *end;
        if (strncmp(path, "/api/flows/", 11) || !(id = web__parse_id(path + 11, &end)) ||
            strcmp(end, "/replay"))
            return 0;
    }
    if (cmd != EVHTTP_REQ_POST)
        web__send_error(req, 405, compose ? "use POST with {method, url, headers, body}"
                                          : "use POST (optional {count, concurrency, delay_ms})");
    else if (!w->replay)
        web__send_error(req, 404, "httpeek cannot send requests itself here (no proxy listener)");
    else if (compose)
        api_compose(w, req);
    else
        api_replay(w, req, id);
    return 1;
}

int web__replay_start(struct web *w, struct replay_marks *marks, X509 *ca, char *err,
                      size_t errlen)
{
    if (!marks || !ca || !w->proxy || !*w->proxy)
        return 0; /* no repeats: the endpoints say so */
    return (w->replay = replay_new(w->base, marks, w->proxy, ca, err, errlen)) ? 0 : -1;
}

void web__replay_stop(struct web *w)
{
    replay_free(w->replay); /* each batch's on_done runs: its wait is left to poll */
    w->replay = NULL;
    while (w->replay_waits) {
        w->replay_waits->req = NULL; /* freed with its connection by evhttp_free */
        wait_free(w->replay_waits);
    }
}
