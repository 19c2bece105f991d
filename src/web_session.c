/* web_session.c — the session's facts for the viewer (recording state, key log): GET /api/session, and an
 * "event: recording" on the event streams whenever that state changes (the writer's
 * store_recording_changes counter, looked at once a second by a timer on the web thread), so the
 * viewer's banner appears when the disk fills and goes when recording resumes. */
#include "web_internal.h"
#include "web_reply.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "ruleset.h"
#include "ruleset_file.h"
#include "store.h"

/* How often the recording state is looked at (ms): a banner a second late is soon enough, and
 * the writer is not asked to call into the viewer. */
#define WEB_RECORDING_POLL_MS 1000

/* The recording object, or NULL when no store is attached (shutting down) or on OOM. */
static json_t *recording_now(struct web *w, uint64_t *changes)
{
    pthread_mutex_lock(&w->mu);
    json_t *o = w->store ? store_recording(w->store) : NULL;
    if (w->store && changes)
        *changes = store_recording_changes(w->store);
    pthread_mutex_unlock(&w->mu);
    return o;
}

static void on_recording_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct web *w = arg;
    uint64_t changes = w->recording_seen;
    json_t *o = recording_now(w, &changes);
    if (o && changes != w->recording_seen) {
        w->recording_seen = changes;
        char *text = json_dumps(o, JSON_COMPACT);
        struct evbuffer *b = text ? evbuffer_new() : NULL;
        if (b) {
            evbuffer_add_printf(b, "event: recording\ndata: %s\n\n", text);
            for (struct sse_client *c = w->streams; c; c = c->next) {
                struct evbuffer *one = evbuffer_new();
                if (!one)
                    break;
                evbuffer_add(one, evbuffer_pullup(b, -1), evbuffer_get_length(b));
                evhttp_send_reply_chunk(c->req, one);
                evbuffer_free(one);
            }
            evbuffer_free(b);
        }
        free(text);
    }
    json_decref(o);
}

int web__session_start(struct web *w)
{
    if (!(w->recording_timer = event_new(w->base, -1, EV_PERSIST, on_recording_timer, w)))
        return -1;
    struct timeval tv = {0, WEB_RECORDING_POLL_MS * 1000};
    return event_add(w->recording_timer, &tv);
}

void web__session_stop(struct web *w)
{
    if (w->recording_timer)
        event_free(w->recording_timer);
    w->recording_timer = NULL;
}

/* The enabled throttle rules ([{id, profile, detail}], [] when none): the viewer's indicator. */
static json_t *throttles_now(struct web *w)
{
    json_t *list = json_array();
    struct ruleset *s = w->route_rules ? ruleset_holder_get(&w->route_rules->holder) : NULL;
    for (size_t i = 0; list && s && i < s->n; i++) {
        const struct rule *r = &s->rules[i];
        if (!r->enabled || r->action != RULE_THROTTLE)
            continue;
        char what[200];
        throttle_describe(&r->throttle, what, sizeof what);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", r->id, "profile",
                                              r->throttle.name, "detail", what));
    }
    ruleset_release(s);
    return list;
}

int web__session_route(struct web *w, struct evhttp_request *req, const char *path,
                       enum evhttp_cmd_type cmd)
{
    if (strcmp(path, "/api/session"))
        return 0;
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        web__send_error(req, 405, "use GET");
        return 1;
    }
    json_t *rec = recording_now(w, NULL);
    if (!rec) /* no writer attached (httpeek is stopping): nothing more will be recorded */
        rec = json_pack("{s:s}", "state", "stopped");
    /* keylog: the path whose file holds this session's TLS secrets, so the viewer can say so */
    web__send_json(req, 200, json_pack("{s:s, s:o*, s:s?, s:o*}", "session", w->session_path,
                                       "recording", rec, "keylog", w->keylog, "throttle",
                                       throttles_now(w)));
    return 1;
}

