/* breakpoint_apply.c — see breakpoint_apply.h. One struct hold per held exchange (ex->bp): it
 * gathers the body, lists the pause (breakpoint.h) once the message is whole, and applies the
 * action the web thread hands over through the pause's wake message (posted to this worker's
 * mailbox under the registry's lock; the hold is only ever freed on this worker thread, after it
 * is unlisted and its message taken back). */
#include "breakpoint_apply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/util.h>
#include <llhttp.h>
#include "breakpoint.h"
#include "breakpoint_edit.h"
#include "body_decode.h"
#include "budget.h"
#include "record.h"
#include "rewrite.h"
#include "str.h"
#include "uplink_h2.h"

/* The app's own deadline the viewer counts down: URLSession's default timeoutIntervalForRequest. */
#define APP_TIMEOUT_S 60

struct hold {
    struct breakpoint_paused entry; /* listed while paused */
    struct exchange *ex;
    unsigned phase;             /* BREAKPOINT_REQUEST or BREAKPOINT_RESPONSE */
    int listed;
    int stalled;                /* aborted as -1001: unanswered until the client gives up */
    char rule_id[64];
    char scheme[16], host[256]; /* request phase: where it was going */
    int port;
    char *path, *host_field;
    unsigned resp_flags;        /* response phase: the exchange's head flags */
    int whole;                  /* the message (and its body) arrived whole */
    int decoded;                /* the view shows the body with its Content-Encoding undone */
    struct evbuffer *body;      /* the held body (de-chunked, still content-coded) */
    size_t charged;             /* bytes of it taken from the memory budget */
    uint64_t paused_us;
    json_t *original;           /* the view of the held message (head and body) */
};

static struct breakpoints *registry(const struct exchange *ex)
{
    return ex->proxy->breakpoints;
}

static void hold_free(struct hold *h)
{
    if (h->charged && h->ex->proxy->budget)
        budget_give(h->ex->proxy->budget, h->charged);
    if (h->body)
        evbuffer_free(h->body);
    if (h->entry.mailbox) /* unlisted: nobody posts it any more */
        mailbox_cancel(h->entry.mailbox, &h->entry.wake_msg);
    if (h->entry.wake)
        event_free(h->entry.wake);
    free(h->entry.view);
    free(h->path);
    free(h->host_field);
    json_decref(h->original);
    free(h);
}

static struct hold *hold_new(struct exchange *ex, unsigned phase, const char *rule_id)
{
    struct hold *h = calloc(1, sizeof *h);
    if (!h || !(h->body = evbuffer_new())) {
        free(h);
        return NULL;
    }
    h->ex = ex;
    h->phase = phase;
    str_copy(h->rule_id, sizeof h->rule_id, rule_id);
    return h;
}

/* Append one pause record to f's "_breakpoints" array (its JSON text, f->breakpoints), with
 * extra's fields (extra taken; NULL: none). */
static void record_pause(struct flow *f, struct hold *h, const char *action, json_t *extra)
{
    json_t *arr = f->breakpoints ? json_loads(f->breakpoints, 0, NULL) : json_array();
    json_t *rec = json_pack("{s:s, s:s, s:s, s:I}", "breakpoint", h->rule_id, "phase",
                            h->phase == BREAKPOINT_REQUEST ? "request" : "response", "action",
                            action, "paused_ms",
                            (json_int_t)(h->paused_us ? (flow_now_us() - h->paused_us) / 1000 : 0));
    if (extra) { /* taken */
        json_object_update(rec, extra);
        json_decref(extra);
    }
    json_array_append_new(arr, rec);
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (text) {
        free(f->breakpoints);
        f->breakpoints = text;
    }
}

/* A note on the flow that a breakpoint let it by (first note wins). */
static void note(struct flow *f, const char *fmt, const char *id)
{
    if (!f->note[0])
        snprintf(f->note, sizeof f->note, fmt, id);
}

/* ------------------------------------------------------------------------------------------ */
/* Pausing */

static void on_wake(evutil_socket_t fd, short what, void *arg);
static void on_wake_msg(void *arg);

static const char *request_header(const void *arg, const char *name)
{
    return http1_head_get(arg, name);
}

/* The first breakpoint of phase matching ex's request (rule id into id), 1; else 0. */
static int matches(struct exchange *ex, unsigned phase, const char *scheme, const char *host,
                   int port, const char *path, char *id, size_t idlen)
{
    struct breakpoints *b = registry(ex);
    struct ruleset *s = ruleset_holder_get(phase == BREAKPOINT_REQUEST ? &b->req : &b->resp);
    if (!s)
        return 0;
    const struct http1_head *req = ex->flow->req;
    struct rule_request q = {
        .scheme = scheme, .host = host, .port = port, .path = path,
        .method = llhttp_method_name((llhttp_method_t)req->method), .client = ex->client_addr,
        .header = request_header, .header_arg = req};
    const struct rule *r = ruleset_match(s, &q, NULL);
    if (r)
        str_copy(id, idlen, r->id);
    ruleset_release(s);
    return r != NULL;
}

/* Wall-clock milliseconds now. */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The message is whole: list it for the user and stop every deadline. */
static void pause_now(struct hold *h)
{
    struct exchange *ex = h->ex;
    struct flow *f = ex->flow;
    h->whole = 1;
    size_t len = evbuffer_get_length(h->body);
    const unsigned char *data = len ? evbuffer_pullup(h->body, -1) : (const unsigned char *)"";
    int req = h->phase == BREAKPOINT_REQUEST;
    struct http1_head *head = req ? f->req : f->resp;
    json_t *msg = bp_head_view(head, req ? f->url : NULL);
    if (msg)
        bp_body_view(msg, http1_head_get(head, "content-encoding"), data, len, &h->decoded);
    /* the app's clock runs from when it last heard from us: its request's end */
    uint64_t now = flow_now_us(), since = f->marks.send_end && !req ? f->marks.send_end : now;
    int64_t waiting_ms = wall_ms() - (int64_t)((now - since) / 1000);
    json_t *view = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I}", "phase", req ? "request" : "response",
                             "breakpoint", h->rule_id, "client", ex->client_addr ? ex->client_addr : "",
                             "paused_at", (json_int_t)wall_ms(), "client_timeout_s", APP_TIMEOUT_S,
                             "client_deadline", (json_int_t)(waiting_ms + APP_TIMEOUT_S * 1000));
    if (view && msg)
        json_object_set(view, req ? "request" : "response", msg);
    if (view && !req) {
        json_t *rq = bp_head_view(f->req, f->url);
        if (rq)
            json_object_set_new(view, "request", rq);
    }
    h->original = msg;
    h->entry.view = view ? json_dumps(view, JSON_COMPACT) : NULL;
    json_decref(view);
    /* on a worker its mailbox wakes us (its base has no locks); elsewhere an event does */
    if ((h->entry.mailbox = mailbox_current()))
        mailbox_msg_init(&h->entry.wake_msg, on_wake_msg, h);
    else
        h->entry.wake = event_new(ex->base, -1, 0, on_wake, h);
    if (!h->entry.view || (!h->entry.mailbox && !h->entry.wake) || !msg)
        return; /* out of memory: never listed; the caller lets it go on */
    h->paused_us = now;
    h->listed = 1;
    ex->bp_paused = 1;
    breakpoints_list(registry(ex), &h->entry);
    ex->front->phase(ex, ex->phase, "paused at a breakpoint"); /* no deadline while paused */
}

/* Hold n more body bytes: 0, or -1 when they would pass the limit (or the memory budget). */
static int hold_bytes(struct hold *h, const char *data, size_t n)
{
    struct budget *bud = h->ex->proxy->budget;
    if (evbuffer_get_length(h->body) + n > BREAKPOINT_BODY_MAX || (bud && budget_take(bud, n) < 0))
        return -1;
    h->charged += bud ? n : 0;
    return evbuffer_add(h->body, data, n);
}

static int bp_request(struct exchange *ex, const char *scheme, const char *host, int port,
                      const char *path, const char *host_field)
{
    struct breakpoints *b = registry(ex);
    if (!b || !atomic_load_explicit(&b->armed, memory_order_relaxed))
        return 0;
    char id[64];
    if (ex->upgrade_requested || !matches(ex, BREAKPOINT_REQUEST, scheme, host, port, path, id,
                                          sizeof id))
        return 0;
    struct hold *h = hold_new(ex, BREAKPOINT_REQUEST, id);
    if (!h || !(h->path = strdup(path)) || (host_field && !(h->host_field = strdup(host_field)))) {
        if (h)
            hold_free(h);
        return 0;
    }
    str_copy(h->scheme, sizeof h->scheme, scheme);
    str_copy(h->host, sizeof h->host, host);
    h->port = port;
    ex->bp = h;
    return 1;
}

/* Let a held request go on as it is (held bytes first); ex->bp is dropped. */
static int release_request(struct exchange *ex)
{
    struct hold *h = ex->bp;
    ex->bp = NULL;
    size_t len = evbuffer_get_length(h->body);
    int rc = exchange_resume_request(ex, h->scheme, h->host, h->port, h->path, h->host_field,
                                     len ? (const char *)evbuffer_pullup(h->body, -1) : "", len);
    hold_free(h);
    return rc;
}

static int bp_req_body(struct exchange *ex, const char *data, size_t len, int end)
{
    struct hold *h = ex->bp;
    if (!end) {
        if (h->listed || hold_bytes(h, data, len) == 0)
            return EXCHANGE_BODY_QUEUED;
        note(ex->flow, "not paused at breakpoint '%s': the request body is over the hold limit",
             h->rule_id);
        if (release_request(ex) < 0)
            return EXCHANGE_BODY_QUEUED;
        return exchange_req_body(ex, data, len);
    }
    pause_now(h);
    if (!h->listed)
        release_request(ex);
    return EXCHANGE_BODY_QUEUED;
}

static int bp_response(struct exchange *ex, struct http1_head *resp, unsigned flags)
{
    struct breakpoints *b = registry(ex);
    if (!b || !atomic_load_explicit(&b->armed, memory_order_relaxed) || resp->status == 101)
        return 0;
    struct flow *f = ex->flow;
    const char *path = strstr(f->url, "://");
    path = path ? path + 3 + strcspn(path + 3, "/") : "/";
    char id[64];
    if (!matches(ex, BREAKPOINT_RESPONSE, f->scheme, f->host, f->port, path[0] ? path : "/", id,
                 sizeof id))
        return 0;
    struct hold *h = hold_new(ex, BREAKPOINT_RESPONSE, id);
    if (!h)
        return 0;
    h->resp_flags = flags;
    ex->bp = h;
    return 1;
}

/* Send the response head (and what was held) on now: the pause is over or never began. */
static int send_response(struct exchange *ex, struct hold *h)
{
    struct flow *f = ex->flow;
    ex->bp = NULL;
    ex->bp_paused = 0;
    ex->front->phase(ex, ex->phase, "resumed at a breakpoint");
    if (ex->front->resp_head(ex, f->resp, h->resp_flags) < 0)
        return -1;
    ex->resp_started = 1;
    size_t len = evbuffer_get_length(h->body);
    if (len) {
        const char *data = (const char *)evbuffer_pullup(h->body, -1);
        flow_capture_add(&f->resp_body, data, len);
        if (ex->front->resp_body(ex, data, len) < 0)
            return -1;
    }
    return 0;
}

static int bp_resp_body(struct exchange *ex, const char *data, size_t len)
{
    struct hold *h = ex->bp;
    if (hold_bytes(h, data, len) == 0)
        return 0;
    note(ex->flow, "not paused at breakpoint '%s': the response body is over the hold limit",
         h->rule_id);
    int rc = send_response(ex, h);
    hold_free(h);
    if (rc < 0)
        return -1;
    flow_capture_add(&ex->flow->resp_body, data, len);
    return ex->front->resp_body(ex, data, len);
}

/* The held response goes to the client whole (after an action): end, and the front moves on. */
static void finish_response(struct exchange *ex, struct hold *h)
{
    if (send_response(ex, h) < 0) {
        hold_free(h);
        struct flow *f = ex->flow;
        ex->flow = NULL;
        flow_fail(f, FLOW_STAGE_RECEIVE, 0, "the client connection failed");
        record_flow(ex->proxy, f);
        ex->front->cut(ex, 0);
        return;
    }
    hold_free(h);
    ex->front->resp_end(ex);
    ex->resp_done = 1;
    ex->flow->marks.end = flow_now_us();
    ex->front->settle(ex);
}

static int bp_resp_done(struct exchange *ex)
{
    struct hold *h = ex->bp;
    pause_now(h);
    if (h->listed)
        return 0; /* the parser waits after this message */
    if (send_response(ex, h) < 0) {
        hold_free(h);
        return -1;
    }
    hold_free(h);
    ex->front->resp_end(ex);
    ex->resp_done = 1;
    ex->flow->marks.end = flow_now_us();
    return ex->flow->resp->status == 101 ? 1 : 0;
}

static int bp_upstream_gone(struct exchange *ex)
{
    struct hold *h = ex->bp;
    if (h->phase == BREAKPOINT_REQUEST || h->whole)
        return 1; /* nothing more needed from it: a new connection is made on execute */
    if (ex->flow->resp && ex->flow->resp->framing == HTTP1_UNTIL_EOF) {
        if (ex->up->leg.parser) /* the end of the body: bp_resp_done pauses it */
            http1_finish(ex->up->leg.parser);
        return ex->bp == h && h->whole;
    }
    return 0;
}

static int bp_drop(struct exchange *ex, int client_gone, int sock_err)
{
    struct hold *h = ex->bp;
    struct flow *f = ex->flow;
    int paused = ex->bp_paused;
    ex->bp = NULL;
    ex->bp_paused = 0;
    if (h->listed)
        json_decref(breakpoints_unlist(registry(ex), &h->entry));
    if (!client_gone || !paused || !f) {
        hold_free(h);
        return 0;
    }
    /* The app gave up while the user held it: its own timeout (URLSession: -1001). */
    double secs = (double)(flow_now_us() - h->paused_us) / 1e6;
    if (!h->stalled)
        record_pause(f, h, "client gave up", NULL);
    strcpy(f->fail.closed_by, "client");
    f->fail.timeout = 1;
    flow_fail(f, FLOW_STAGE_WAIT, sock_err,
              "the client gave up after %.1fs paused at breakpoint '%s' (its own timeout: -1001)",
              secs, h->rule_id);
    hold_free(h);
    ex->flow = NULL;
    record_flow(ex->proxy, f);
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Actions */

/* The body to send: edited (into out, 1) or the held one (0); -1 out of memory. Content-Encoding
 * of the head it goes with (cenc) is applied to an edited body the user saw decoded; *drop_cenc
 * when it cannot be. A held body whose Content-Encoding the edit removed goes decoded (1). */
static int final_body(struct hold *h, const json_t *edit, const char *cenc, struct evbuffer *out,
                      int *drop_cenc)
{
    *drop_cenc = 0;
    struct evbuffer *plain = evbuffer_new();
    int given = plain && edit ? bp_body_edit(edit, plain) : 0;
    if (!plain || given < 0) {
        if (plain)
            evbuffer_free(plain);
        return -1;
    }
    if (!given) {
        evbuffer_free(plain);
        size_t n = evbuffer_get_length(h->body);
        if (!h->decoded || (cenc && strcasecmp(cenc, "identity")) || !n)
            return 0;
        /* the edit took the Content-Encoding header away: the body goes decoded to match */
        const char *was = json_string_value(json_object_get(h->original, "body_encoding"));
        return body_decode(was ? was : "identity", 0, evbuffer_pullup(h->body, -1), n,
                           4 * (size_t)BREAKPOINT_BODY_MAX, out) == BODY_DECODE_OK ? 1 : 0;
    }
    size_t n = evbuffer_get_length(plain);
    const unsigned char *p = n ? evbuffer_pullup(plain, -1) : (const unsigned char *)"";
    if (cenc && strcasecmp(cenc, "identity") && h->decoded) { /* the user edited it decoded */
        if (rewrite_encode(cenc, p, n, out) < 0) { /* cannot make it: sent plain, header gone */
            *drop_cenc = 1;
            evbuffer_add(out, p, n);
        }
    } else {
        evbuffer_add(out, p, n);
    }
    evbuffer_free(plain);
    return 1;
}

/* Any change an edit asks for (so the flow keeps the original). */
static int edits(const json_t *edit)
{
    return edit && json_object_size(edit) > 0;
}

static void replace_capture(struct flow_capture *c, const char *data, size_t len)
{
    capture_release(c);
    c->total = 0;
    c->truncated = 0;
    c->cut = NULL;
    flow_capture_add(c, data, len);
}

/* Execute (or continue: edit NULL) a held request. */
static void execute_request(struct exchange *ex, struct hold *h, const json_t *edit)
{
    struct flow *f = ex->flow;
    struct http1_head *req = f->req;
    ex->bp = NULL;
    if (!edits(edit)) {
        record_pause(f, h, edit ? "execute" : "continue", json_pack("{s:b}", "edited", 0));
        ex->bp = h;
        release_request(ex);
        return;
    }
    record_pause(f, h, "execute", json_pack("{s:b, s:O}", "edited", 1, "original", h->original));
    const json_t *headers = json_object_get(edit, "headers");
    const char *method = json_string_value(json_object_get(edit, "method"));
    const char *url = json_string_value(json_object_get(edit, "url"));
    if (method)
        req->method = bp_method(method);
    char authority[300] = "";
    if (url) {
        const char *path;
        char scheme[16], host[256];
        int port;
        if (exchange_parse_absolute(url, scheme, sizeof scheme, host, sizeof host, &port,
                                    &path) == 0) {
            str_copy(h->scheme, sizeof h->scheme, scheme);
            str_copy(h->host, sizeof h->host, host);
            h->port = port;
            free(h->path);
            h->path = strdup(path);
            const char *a = strstr(url, "://") + 3;
            snprintf(authority, sizeof authority, "%.*s", (int)strcspn(a, "/?#"), a);
            free(h->host_field);
            h->host_field = strdup(authority);
            str_copy(f->scheme, sizeof f->scheme, scheme);
            str_copy(f->host, sizeof f->host, host);
            f->port = port;
            flow_set_url(f, url);
        }
    }
    if (headers && !url) { /* a Host edit is what goes out */
        const char *host_edit = NULL;
        size_t i;
        json_t *pair;
        json_array_foreach(headers, i, pair)
            if (!strcasecmp(json_string_value(json_array_get(pair, 0)), "host"))
                host_edit = json_string_value(json_array_get(pair, 1));
        if (host_edit && h->host_field) {
            free(h->host_field);
            h->host_field = strdup(host_edit);
        }
    }
    struct evbuffer *body = evbuffer_new();
    int drop_cenc = 0;
    int given = body ? final_body(h, edit, bp_content_encoding(req, headers), body, &drop_cenc) : -1;
    if (given < 0 || !h->path) {
        if (body)
            evbuffer_free(body);
        ex->bp = h;
        release_request(ex); /* out of memory: as it came */
        return;
    }
    if (!given)
        evbuffer_add_buffer(body, h->body);
    size_t len = evbuffer_get_length(body);
    enum http1_framing framing = req->framing == HTTP1_CHUNKED ? HTTP1_CHUNKED
                                 : len || req->framing == HTTP1_LENGTH ? HTTP1_LENGTH
                                                                       : HTTP1_NO_BODY;
    const char *data = len ? (const char *)evbuffer_pullup(body, -1) : "";
    if (bp_head_rebuild(req, url ? h->path : NULL, 0, NULL, headers, framing, len, drop_cenc) < 0) {
        evbuffer_free(body);
        ex->bp = h;
        release_request(ex);
        return;
    }
    if (given)
        replace_capture(&f->req_body, data, len);
    int rc = exchange_resume_request(ex, h->scheme, h->host, h->port, h->path, h->host_field, data,
                                     len);
    (void)rc; /* a failure was answered and recorded */
    evbuffer_free(body);
    hold_free(h);
}

/* Execute (or continue) a held response; answer (abort with a status): status set. */
static void execute_response(struct exchange *ex, struct hold *h, const json_t *edit, int status,
                             const char *action)
{
    struct flow *f = ex->flow;
    struct http1_head *resp = f->resp;
    if (!edits(edit) && !status) {
        record_pause(f, h, action, json_pack("{s:b}", "edited", 0));
        finish_response(ex, h);
        return;
    }
    if (strcmp(action, "abort")) { /* an abort recorded itself */
        record_pause(f, h, action, json_pack("{s:b, s:O}", "edited", 1, "original", h->original));
        status = (int)json_integer_value(json_object_get(edit, "status"));
    }
    const char *reason = json_string_value(json_object_get(edit, "reason"));
    if (status && !reason)
        reason = http1_reason(status)[0] ? http1_reason(status) : "Status";
    const json_t *headers = json_object_get(edit, "headers");
    struct evbuffer *body = evbuffer_new();
    int drop_cenc = 0;
    int given = body ? final_body(h, edit, bp_content_encoding(resp, headers), body, &drop_cenc) : -1;
    if (given < 0) {
        if (body)
            evbuffer_free(body);
        finish_response(ex, h);
        return;
    }
    if (given) { /* the held body gives way to the edit */
        evbuffer_drain(h->body, evbuffer_get_length(h->body));
        evbuffer_add_buffer(h->body, body);
    }
    evbuffer_free(body);
    size_t len = evbuffer_get_length(h->body);
    enum http1_framing framing = ex->head_request                ? resp->framing
                                 : resp->framing == HTTP1_CHUNKED ? HTTP1_CHUNKED
                                                                  : HTTP1_LENGTH;
    uint64_t clen = ex->head_request ? resp->content_length : len;
    if (bp_head_rebuild(resp, NULL, status, reason, headers, framing, clen, drop_cenc) < 0)
        evbuffer_drain(h->body, len); /* out of memory: the head as it was, no body */
    finish_response(ex, h);
}

/* Abort with a status: a response made here (the abort's headers and body, or a short text)
 * instead of the request's way upstream or the held response. */
static void abort_status(struct exchange *ex, struct hold *h, const json_t *abort)
{
    struct flow *f = ex->flow;
    int status = (int)json_integer_value(json_object_get(abort, "status"));
    record_pause(f, h, "abort", json_pack("{s:b, s:i}", "edited", 0, "status", status));
    evbuffer_drain(h->body, evbuffer_get_length(h->body));
    h->decoded = 0; /* the abort's body goes as given */
    if (!f->resp) { /* request phase: no response yet */
        if (!(f->resp = calloc(1, sizeof *f->resp))) {
            ex->bp = h;
            release_request(ex);
            return;
        }
        f->resp->major = f->resp->minor = 1;
        f->resp->keep_alive = 1;
        f->resp->framing = HTTP1_LENGTH;
        ex->req_done = 1;
    }
    json_t *e = json_object();
    json_t *headers = json_object_get(abort, "headers"), *body = json_object_get(abort, "body");
    json_t *b64 = json_object_get(abort, "body_base64");
    char text[200];
    snprintf(text, sizeof text, "Aborted at httpeek breakpoint '%s'\n", h->rule_id);
    json_object_set_new(e, "headers", headers ? json_incref(headers)
                                              : json_pack("[[s,s]]", "Content-Type", "text/plain"));
    if (body || b64)
        json_object_set(e, body ? "body" : "body_base64", body ? body : b64);
    else
        json_object_set_new(e, "body", json_string(text));
    h->phase = BREAKPOINT_RESPONSE; /* what remains is the response's way */
    execute_response(ex, h, e, status, "abort");
    json_decref(e);
}

/* Fail the exchange the way the app is to see (NSURLError code). */
static void abort_error(struct exchange *ex, struct hold *h, int code)
{
    struct flow *f = ex->flow;
    char id[64];
    str_copy(id, sizeof id, h->rule_id); /* h goes before the failure is written */
    record_pause(f, h, "abort", json_pack("{s:b, s:i}", "edited", 0, "error", code));
    if (code == -1001) { /* unanswered until the app's own timeout: bp_drop records it */
        h->stalled = 1;
        ex->bp = h;
        ex->bp_paused = 1;
        return;
    }
    hold_free(h);
    ex->bp_paused = 0;
    uplink_h2_stream_done(ex->up);
    if (code == -1004 || code == -1003) {
        if (code == -1003) {
            f->fail.dns_error = EVUTIL_EAI_NONAME;
            flow_fail(f, FLOW_STAGE_DNS, 0, "aborted at breakpoint '%s': %s not found (DNS)", id,
                      f->host);
        } else {
            flow_fail(f, FLOW_STAGE_CONNECT, ECONNREFUSED,
                      "aborted at breakpoint '%s': connect to %s:%d refused", id, f->host, f->port);
        }
        ex->flow = NULL;
        ex->front->fail(ex, f, 502, f->fail.reason);
        return;
    }
    strcpy(f->fail.closed_by, "server");
    flow_fail(f, FLOW_STAGE_WAIT, ECONNRESET,
              "aborted at breakpoint '%s': connection closed without a response", id);
    ex->flow = NULL;
    record_flow(ex->proxy, f);
    ex->front->cut(ex, 0);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    on_wake_msg(arg);
}

static void on_wake_msg(void *arg)
{
    struct hold *h = arg;
    struct exchange *ex = h->ex;
    json_t *act = breakpoints_unlist(registry(ex), &h->entry);
    h->listed = 0;
    if (!act || ex->bp != h || !ex->flow) {
        json_decref(act);
        return;
    }
    if (h->entry.wake)
        event_free(h->entry.wake);
    h->entry.wake = NULL;
    const char *name = json_string_value(json_object_get(act, "action"));
    int req = h->phase == BREAKPOINT_REQUEST;
    json_t *edit = json_object_get(act, req ? "request" : "response");
    json_t *abort = json_object_get(act, "abort");
    if (!strcmp(name, "abort") && json_object_get(abort, "error")) {
        ex->bp = NULL;
        abort_error(ex, h, (int)json_integer_value(json_object_get(abort, "error")));
    } else if (!strcmp(name, "abort")) {
        ex->bp = NULL;
        abort_status(ex, h, abort);
    } else if (req) {
        execute_request(ex, h, !strcmp(name, "execute") ? edit : NULL);
    } else {
        ex->bp = NULL;
        execute_response(ex, h, !strcmp(name, "execute") ? edit : NULL, 0, name);
    }
    json_decref(act);
}

void breakpoint_policy_fill(struct exchange_policy *pol)
{
    pol->bp_request = bp_request;
    pol->bp_req_body = bp_req_body;
    pol->bp_response = bp_response;
    pol->bp_resp_body = bp_resp_body;
    pol->bp_resp_done = bp_resp_done;
    pol->bp_upstream_gone = bp_upstream_gone;
    pol->bp_drop = bp_drop;
}
