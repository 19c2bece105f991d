/* web_har_import.c — POST /api/har/import?name=FILE.har: a HAR file dropped on the viewer (or
 * picked with "Open HAR…") recorded into the live session, each entry as a flow the way
 * `httpeek view` imports one (har_import_entry: heads, bodies, timings, diagnosis recomputed
 * where the HAR's facts allow), numbered and stored through record_flow like any exchange, its
 * note "imported from FILE.har". The list, filters, detail panes, compare and Repeat then work
 * on them as on any flow. Answers {ids, skipped} once the flows are in the session file, so
 * GET /api/flows/{id} finds them at once. The body is bounded by the viewer's request limit
 * (WEB_MAX_BODY in web.c; larger: 413 from evhttp). */
#include "web_internal.h"
#include "web_reply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "flow.h"
#include "har_import.h"
#include "opts.h"
#include "proxy.h"
#include "record.h"
#include "store.h"

#define IMPORT_WAIT_MS 5000 /* at most this long for the last flow to reach the file */

/* The name the flows' note gives: the file's base name, printable ASCII only, or "a HAR file". */
static void source_name(struct evhttp_request *req, char *out, size_t outlen)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *qs = u ? evhttp_uri_get_query(u) : NULL;
    const char *name = NULL;
    if (qs && evhttp_parse_query_str(qs, &q) == 0)
        name = evhttp_find_header(&q, "name");
    const char *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name;
    size_t n = 0;
    for (const char *c = base; c && *c && n + 1 < outlen && n < 120; c++)
        if (*c >= 0x20 && *c < 0x7f)
            out[n++] = *c;
    out[n] = '\0';
    if (!n)
        snprintf(out, outlen, "a HAR file");
    evhttp_clear_headers(&q);
}

static void import_har(struct web *w, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *doc = len ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr) : NULL;
    char why[300];
    if (!doc) {
        snprintf(why, sizeof why, "not a HAR file: %s", len ? jerr.text : "empty body");
        web__send_error(req, 400, why);
        return;
    }
    json_t *entries = json_object_get(json_object_get(doc, "log"), "entries");
    if (!json_is_array(entries)) {
        json_decref(doc);
        web__send_error(req, 400, "not a HAR file (no log.entries array)");
        return;
    }
    char source[128];
    source_name(req, source, sizeof source);
    json_t *ids = json_array();
    json_int_t skipped = 0;
    uint64_t last = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        struct flow *f = json_is_object(e) ? har_import_entry(e, w->recorder->opts->max_body, source)
                                           : NULL;
        if (!f) {
            skipped++;
            continue;
        }
        /* w->store is NULL once main is about to close the store: record only while it is
         * set, under w->mu, so the store cannot close in between (store_sink never blocks) */
        int open = 1;
        for (int waited = 0; waited < 500; waited++) { /* the writer is behind: let it catch up */
            pthread_mutex_lock(&w->mu);
            open = w->store != NULL;
            int busy = open && w->recorder->sink_busy && w->recorder->sink_busy(w->recorder->sink_arg);
            pthread_mutex_unlock(&w->mu);
            if (!busy)
                break;
            usleep(10000);
        }
        pthread_mutex_lock(&w->mu);
        if ((open = w->store != NULL)) {
            last = record_number(w->recorder, f); /* before: f is the sink's afterwards */
            record_flow(w->recorder, f);
        }
        pthread_mutex_unlock(&w->mu);
        if (!open) {
            flow_free(f);
            json_decref(doc);
            json_decref(ids);
            web__send_error(req, 503, "httpeek is shutting down: nothing more is recorded");
            return;
        }
        json_array_append_new(ids, json_integer((json_int_t)last));
    }
    json_decref(doc);
    /* the store writes in batches, in order: once the last is readable, all are. Waiting here
     * on the viewer's thread is short (one commit) and keeps the answer simple. */
    for (int waited = 0; last && waited < IMPORT_WAIT_MS / 10; waited++) {
        json_t *d = store_reader_get(w->reader, last);
        if (d) {
            json_decref(d);
            break;
        }
        usleep(10000);
    }
    web__send_json(req, 200, json_pack("{s:o, s:I}", "ids", ids, "skipped", skipped));
}

int web__har_import_route(struct web *w, struct evhttp_request *req, const char *path,
                          enum evhttp_cmd_type cmd)
{
    if (strcmp(path, "/api/har/import"))
        return 0;
    if (cmd != EVHTTP_REQ_POST)
        web__send_error(req, 405, "use POST with the HAR file as the body");
    else if (!w->recorder)
        web__send_error(req, 503, "this viewer records no flows (no proxy)");
    else
        import_har(w, req);
    return 1;
}
