/* test_breakpoint.c — the breakpoint list (phases, ids, refusals, the match by phase, remove),
 * the paused list's hand-over of an action, the checks of an action, and a head rebuilt after an
 * edit (framing field recomputed, Content-Encoding dropped when asked). */
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <event2/thread.h>
#include "breakpoint.h"
#include "breakpoint_apply.h"
#include "breakpoint_edit.h"
#include "tap.h"

static int add(struct breakpoints *b, const char *json, char *id, char *err)
{
    json_t *spec = json_loads(json, 0, NULL);
    int rc = breakpoints_add(b, spec, id, 64, err, 512);
    json_decref(spec);
    return rc;
}

/* The id of the breakpoint of phase matching host/path, or "-". */
static const char *hit(struct breakpoints *b, int phase, const char *host, const char *path)
{
    static char id[64];
    struct ruleset *s = ruleset_holder_get(phase == BREAKPOINT_REQUEST ? &b->req : &b->resp);
    struct rule_request q = {.scheme = "https", .host = host, .port = 443, .path = path,
                             .method = "POST", .client = "127.0.0.1"};
    const struct rule *r = s ? ruleset_match(s, &q, NULL) : NULL;
    strcpy(id, r ? r->id : "-");
    ruleset_release(s);
    return id;
}

static int check(const char *json)
{
    char err[512];
    json_t *a = json_loads(json, 0, NULL);
    int rc = breakpoint_action_check(a, err, sizeof err);
    json_decref(a);
    return rc;
}

static int woken;
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    woken++;
}

int main(void)
{
    evthread_use_pthreads();
    struct breakpoints b;
    char id[64], err[512];
    ok(breakpoints_init(&b) == 0, "init");
    is_int(atomic_load(&b.armed), 0, "nothing armed at start");
    is_int(add(&b, "{\"phase\": \"request\", \"match\": {\"host\": \"api.example.com\", \"path\": \"/v1/*\"}}", id, err), 0, "add a request breakpoint");
    is_str(id, "bp-1", "its id is bp-1");
    is_int(add(&b, "{\"id\": \"r\", \"phase\": \"both\", \"match\": {\"url\": \"https://*.example.com/*\"}}", id, err), 0, "add one for both phases");
    is_int(atomic_load(&b.armed), 2, "two armed");
    is_str(hit(&b, BREAKPOINT_REQUEST, "api.example.com", "/v1/user"), "bp-1", "request phase: the first match");
    is_str(hit(&b, BREAKPOINT_RESPONSE, "api.example.com", "/v1/user"), "r", "response phase: only the ones stopping there");
    is_str(hit(&b, BREAKPOINT_RESPONSE, "api.other.com", "/"), "-", "no match elsewhere");
    is_int(add(&b, "{\"id\": \"r\", \"phase\": \"request\", \"match\": {\"host\": \"x\"}}", id, err), -1, "a taken id is refused");
    is_int(add(&b, "{\"phase\": \"later\", \"match\": {\"host\": \"x\"}}", id, err), -1, "a bad phase is refused");
    ok(strstr(err, "phase") != NULL, "naming the field (%s)", err);
    is_int(add(&b, "{\"phase\": \"request\", \"match\": {\"hots\": \"x\"}}", id, err), -1, "an unknown match field is refused");
    is_int(add(&b, "{\"phase\": \"request\", \"match\": {}}", id, err), -1, "an empty match is refused");
    is_int(add(&b, "{\"phase\": \"request\", \"match\": {\"host\": \"x\"}, \"when\": 1}", id, err), -1, "an unknown field is refused");
    is_int(breakpoints_remove(&b, "bp-1"), 0, "remove one");
    is_int(breakpoints_remove(&b, "bp-1"), -1, "removing it again: no such id");
    is_str(hit(&b, BREAKPOINT_REQUEST, "api.example.com", "/v1/user"), "r", "the other matches now");
    json_t *list = json_loads("[{\"phase\": \"request\", \"enabled\": false, \"match\": {\"host\": \"a\"}}]", 0, NULL);
    is_int(breakpoints_replace(&b, list, err, sizeof err), 0, "replace the list");
    json_decref(list);
    is_int(atomic_load(&b.armed), 0, "a disabled breakpoint arms nothing");
    is_str(hit(&b, BREAKPOINT_REQUEST, "a", "/"), "-", "and matches nothing");

    /* the paused list: an action handed over wakes the worker's event once */
    struct event_base *base = event_base_new();
    struct breakpoint_paused p = {.view = strdup("{\"phase\": \"request\"}")};
    p.wake = event_new(base, -1, 0, on_wake, NULL);
    breakpoints_list(&b, &p);
    ok(p.id > 0, "a pause is listed with an id");
    json_t *doc = breakpoints_json(&b);
    is_int((long long)json_array_size(json_object_get(doc, "paused")), 1, "and shown");
    json_decref(doc);
    is_int(breakpoints_act(&b, p.id + 1, json_pack("{s:s}", "action", "continue")), -1, "an action for no such pause: -1");
    is_int(breakpoints_act(&b, p.id, json_pack("{s:s}", "action", "continue")), 0, "an action handed over");
    is_int(breakpoints_act(&b, p.id, json_pack("{s:s}", "action", "abort")), -2, "a second one: -2 (already on its way)");
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(woken, 1, "the worker's event ran");
    json_t *act = breakpoints_unlist(&b, &p);
    is_str(json_string_value(json_object_get(act, "action")), "continue", "unlisting hands the action over");
    json_decref(act);
    is_int((long long)breakpoints_paused_count(&b), 0, "nothing paused any more");
    event_free(p.wake);
    free(p.view);
    event_base_free(base);

    /* action checks */
    is_int(check("{\"action\": \"continue\"}"), 0, "continue");
    is_int(check("{\"action\": \"execute\", \"request\": {\"method\": \"PUT\", \"url\": \"https://a/b\", \"headers\": [[\"X-A\", \"1\"]], \"body\": \"{}\"}}"), 0, "execute with request edits");
    is_int(check("{\"action\": \"execute\", \"response\": {\"status\": 201, \"body_base64\": \"AAEC\"}}"), 0, "execute with response edits");
    is_int(check("{\"action\": \"abort\", \"abort\": {\"error\": -1005}}"), 0, "abort -1005");
    is_int(check("{\"action\": \"abort\", \"abort\": {\"status\": 503, \"body\": \"down\"}}"), 0, "abort with a status");
    is_int(check("{\"action\": \"abort\"}"), -1, "abort without how");
    is_int(check("{\"action\": \"abort\", \"abort\": {\"error\": -1200}}"), -1, "an error it cannot make");
    is_int(check("{\"action\": \"execute\", \"request\": {\"headers\": [[\"X-A\", \"1\\r\\nX-B: 2\"]]}}"), -1, "a header value with a line break");
    is_int(check("{\"action\": \"execute\", \"request\": {\"headers\": [[\"X A\", \"1\"]]}}"), -1, "a header name with a space");
    is_int(check("{\"action\": \"execute\", \"request\": {\"method\": \"BREW\"}}"), -1, "an unknown method");
    is_int(check("{\"action\": \"execute\", \"request\": {\"url\": \"ftp://x/\"}}"), -1, "a URL that is not http(s)");
    is_int(check("{\"action\": \"execute\", \"response\": {\"status\": 42}}"), -1, "a status out of range");
    is_int(check("{\"action\": \"execute\", \"response\": {\"body_base64\": \"***\"}}"), -1, "bad base64");
    is_int(check("{\"action\": \"fly\"}"), -1, "an unknown action");
    is_int(check("[1]"), -1, "not an object");

    /* a head rebuilt after an edit */
    struct http1_head *h = calloc(1, sizeof *h);
    h->is_request = 1;
    h->framing = HTTP1_CHUNKED;
    json_t *hd = json_loads("[[\"Host\", \"a\"], [\"Content-Length\", \"5\"], [\"Content-Encoding\", \"gzip\"], [\"X-A\", \"1\"]]", 0, NULL);
    is_int(bp_head_rebuild(h, "/p", 0, NULL, hd, HTTP1_LENGTH, 12, 0), 0, "rebuild");
    is_str(http1_head_get(h, "content-length"), "12", "Content-Length recomputed (the edit's own is dropped)");
    is_str(http1_head_get(h, "x-a"), "1", "fields from the edit");
    is_str(h->target, "/p", "the target");
    ok(h->framing == HTTP1_LENGTH && h->content_length == 12, "framing and length set");
    is_str(bp_content_encoding(h, NULL), "gzip", "Content-Encoding kept");
    is_int(bp_head_rebuild(h, NULL, 0, NULL, NULL, HTTP1_CHUNKED, 0, 1), 0, "rebuild chunked, dropping Content-Encoding");
    ok(!http1_head_get(h, "content-length") && !http1_head_get(h, "content-encoding"), "no Content-Length, no Content-Encoding");
    is_str(http1_head_get(h, "transfer-encoding"), "chunked", "Transfer-Encoding: chunked");
    json_decref(hd);
    http1_head_free(h);

    struct evbuffer *out = evbuffer_new();
    json_t *e = json_loads("{\"body_base64\": \"aGk=\"}", 0, NULL);
    is_int(bp_body_edit(e, out), 1, "a base64 body edit");
    is_int((long long)evbuffer_get_length(out), 2, "decoded to its bytes (padding not counted)");
    json_decref(e);
    evbuffer_free(out);

    breakpoints_free(&b);
    return done();
}
