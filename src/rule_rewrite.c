/* rule_rewrite.c — see rule_rewrite.h.
 *
 * The rules matched when the request is routed are kept (with a reference to their set, which a
 * live edit may swap out meanwhile) in a state the flow owns (flow->rules->rewrite), so it is
 * freed with the flow whichever way the exchange ends. A held body is buffered here, not passed
 * to the front nor captured; once edited it is captured and sent as the client's response. */
#include "rule_rewrite.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <llhttp.h>
#include "body_decode.h"
#include "budget.h"
#include "capture.h"
#include "exchange.h"
#include "flow.h"
#include "http1.h"
#include "rewrite.h"
#include "ruleset.h"
#include "str.h"

#define MAX_EDITS 16

struct rewrite_state {
    struct ruleset *set;                 /* a reference: the rules below point into it */
    const struct rule *resp[MAX_EDITS];  /* response edits, in rule order */
    size_t nresp;
    int body_edits;                      /* some of them edit the body */
    int holding;                         /* the body is being held */
    unsigned head_flags;                 /* the exchange's flags for the held head */
    struct evbuffer *body;               /* the held body */
    const struct rule *req[MAX_EDITS];   /* request body edits, in rule order */
    size_t nreq;
    int req_holding;                     /* the request (head and body) is being held */
    struct evbuffer *req_body;           /* the held request body */
    char *req_path, *req_host;           /* where the held request goes (host NULL: its own) */
    struct budget *budget;               /* the memory budget held bytes are taken from, or NULL */
    size_t charged, req_charged;         /* bytes of body / req_body taken from it */
};

static void state_free(void *p)
{
    struct rewrite_state *st = p;
    if (!st)
        return;
    ruleset_release(st->set);
    if (st->budget)
        budget_give(st->budget, st->charged + st->req_charged);
    if (st->body)
        evbuffer_free(st->body);
    if (st->req_body)
        evbuffer_free(st->req_body);
    free(st->req_path);
    free(st->req_host);
    free(st);
}

static struct rewrite_state *state_of(const struct exchange *ex)
{
    return ex->flow && ex->flow->rules ? ex->flow->rules->rewrite : NULL;
}

/* Hold len more bytes of a body in held (its count *charged): within RULE_REWRITE_BODY_MAX and
 * the memory budget (--memory-budget: held bodies count as captures do). 0 held; -1 over the
 * limit (why says so), nothing held. */
static int hold_more(struct exchange *ex, struct rewrite_state *st, struct evbuffer *held,
                     size_t *charged, const char *data, size_t len, char *why, size_t whylen)
{
    const char *whose = held == st->req_body ? "the request body" : "the body";
    if (evbuffer_get_length(held) + len > RULE_REWRITE_BODY_MAX) {
        snprintf(why, whylen, "%s is over the %u MiB limit: left alone", whose,
                 RULE_REWRITE_BODY_MAX >> 20);
        return -1;
    }
    struct budget *b = ex->proxy->budget;
    if (b && !budget_take(b, len)) {
        snprintf(why, whylen, "the memory budget (--memory-budget %zu MiB) is taken: %s was "
                 "streamed on, left alone", atomic_load(&b->limit) >> 20, whose);
        return -1;
    }
    if (evbuffer_add(held, data, len) < 0) {
        if (b)
            budget_give(b, len);
        snprintf(why, whylen, "out of memory: left alone");
        return -1;
    }
    if (b) {
        st->budget = b;
        *charged += len;
    }
    return 0;
}

/* Give back what a held body took (*charged) from the budget. */
static void unhold(struct rewrite_state *st, size_t *charged)
{
    if (st->budget)
        budget_give(st->budget, *charged);
    *charged = 0;
}

/* Note rule r in f with a before / after (NULL: none) and a detail. */
static void hit(struct flow *f, const struct rule *r, const char *before, const char *after,
                const char *fmt, ...) HP_PRINTF(5, 6);
static void hit(struct flow *f, const struct rule *r, const char *before, const char *after,
                const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    int n = f->rules ? f->rules->n : 0;
    flow_rule_hit(f, r->id, "rewrite", "%s", detail);
    if (!f->rules || f->rules->n == n || !before)
        return;
    struct flow_rule_hit *h = &f->rules->hit[f->rules->n - 1];
    h->changed = 1;
    snprintf(h->before, sizeof h->before, "%s", before);
    snprintf(h->after, sizeof h->after, "%s", after ? after : "");
}

static const char *request_header(const void *arg, const char *name)
{
    return http1_head_get(arg, name);
}

/* A header edit on h, noted. */
static int edit_head(struct flow *f, const struct rule *r, struct http1_head *h, const char *side)
{
    const struct rewrite *w = r->rewrite;
    char before[256];
    int rc = rewrite_head(w, h, before, sizeof before);
    if (rc < 0)
        return -1;
    const char *op = w->op == REWRITE_ADD ? "added" : w->op == REWRITE_SET ? "set" : "removed";
    if (rc == 0)
        hit(f, r, NULL, NULL, "%s header %s: already so, unchanged", side, w->name);
    else
        hit(f, r, before, w->op == REWRITE_REMOVE ? "(removed)" : w->value, "%s header %s %s",
            side, w->name, op);
    return 0;
}

/* Note every request body edit of st as not applied, why. */
static void req_not_applied(struct flow *f, struct rewrite_state *st, const char *why)
{
    for (size_t i = 0; i < st->nreq; i++)
        hit(f, st->req[i], NULL, NULL, "%s: not applied: %s", st->req[i]->target, why);
    st->nreq = 0;
}

/* The request has body edits: hold it (head and body, until the body is whole) when it can be
 * edited, else say why not. Returns 1 held, 0 not, -1 out of memory. */
static int hold_request(struct exchange *ex, struct rewrite_state *st, const struct rule_target *t)
{
    struct flow *f = ex->flow;
    const struct http1_head *req = f->req;
    char why[160];
    if (ex->rule_local) { /* a rule answers: the body goes nowhere */
        st->nreq = 0;
        return 0;
    }
    if (ex->upgrade_requested || req->framing == HTTP1_NO_BODY) {
        req_not_applied(f, st, "the request has no body");
        return 0;
    }
    if (req->framing == HTTP1_LENGTH && req->content_length > RULE_REWRITE_BODY_MAX) {
        snprintf(why, sizeof why, "the request body (%llu bytes) is over the %u MiB limit: left alone",
                 (unsigned long long)req->content_length, RULE_REWRITE_BODY_MAX >> 20);
        req_not_applied(f, st, why);
        return 0;
    }
    const char *cenc = http1_head_get(req, "content-encoding");
    if (cenc && !body_decode_known(cenc)) {
        snprintf(why, sizeof why, "Content-Encoding '%.40s' cannot be decoded: left alone", cenc);
        req_not_applied(f, st, why);
        return 0;
    }
    if (!(st->req_body = evbuffer_new()) || !(st->req_path = strdup(t->path)) ||
        (t->host_field && !(st->req_host = strdup(t->host_field))))
        return -1;
    st->req_holding = 1;
    return 1;
}

int rule_rewrite_request(struct exchange *ex, const char *scheme, const char *host, int port,
                         const char *path, struct rule_target *t)
{
    struct ruleset *s = ruleset_holder_get(ex->proxy->route_rules);
    if (!s)
        return 0; /* no rules: nothing more */
    struct flow *f = ex->flow;
    struct http1_head *req = f->req;
    /* a header edit rebuilds the request head's storage, where path and t->path may point:
     * both are copied out first */
    if (strlen(t->path) >= sizeof t->path_buf) {
        ruleset_release(s); /* a target over 8 KiB: left as it is */
        return 0;
    }
    char *app_path = strdup(path);
    if (!app_path) {
        ruleset_release(s);
        return -1;
    }
    if (t->path != t->path_buf) {
        str_copy(t->path_buf, sizeof t->path_buf, t->path);
        t->path = t->path_buf;
    }
    struct rule_request q = {
        .scheme = scheme, .host = host, .port = port, .path = app_path,
        .method = llhttp_method_name((llhttp_method_t)req->method), .client = ex->client_addr,
        .header = request_header, .header_arg = req};
    struct rewrite_state *st = NULL;
    const struct rule *r;
    size_t from = 0;
    int rc = 0;
    while ((r = ruleset_next_rewrite(s, &q, &from))) {
        const struct rewrite *w = r->rewrite;
        if (w->target == REWRITE_REQ_HEADER) {
            if ((rc = edit_head(f, r, req, "request")) < 0)
                break;
            continue;
        }
        if (w->target == REWRITE_URL || w->target == REWRITE_QUERY) {
            int count = 1;
            char *np = w->target == REWRITE_URL ? rewrite_replace(w, t->path, &count)
                                                : rewrite_query(w, t->path);
            if (!np) {
                rc = -1;
                break;
            }
            if (!count || !strcmp(np, t->path)) {
                hit(f, r, NULL, NULL, "%s: no change to %.300s", r->target, t->path);
            } else if (np[0] != '/' || strlen(np) >= sizeof t->path_buf) {
                hit(f, r, NULL, NULL, "%s: the result '%.200s' is not a path: not applied",
                    r->target, np);
            } else {
                hit(f, r, t->path, np, "%s sent as %.300s", w->target == REWRITE_URL ? "URL" : "query",
                    np);
                memmove(t->path_buf, np, strlen(np) + 1); /* t->path is path_buf */
                t->path = t->path_buf;
                if (f->rules) { /* for a retry on a fresh connection */
                    free(f->rules->sent_path);
                    f->rules->sent_path = strdup(np);
                }
            }
            free(np);
            continue;
        }
        /* a response edit, or a request body edit: kept for when the body is whole */
        if (!st) {
            if (!f->rules && !(f->rules = calloc(1, sizeof *f->rules))) {
                rc = -1;
                break;
            }
            if (!(st = calloc(1, sizeof *st))) {
                rc = -1;
                break;
            }
            st->set = ruleset_retain(s);
            state_free(f->rules->rewrite); /* an earlier routing of this request's */
            f->rules->rewrite = st;
            f->rules->rewrite_free = state_free;
        }
        if (rewrite_on_req_body(w)) {
            if (st->nreq < MAX_EDITS)
                st->req[st->nreq++] = r;
        } else if (st->nresp < MAX_EDITS) {
            st->resp[st->nresp++] = r;
            st->body_edits |= rewrite_on_body(w);
        }
    }
    ruleset_release(s);
    free(app_path);
    if (rc == 0 && st && st->nreq)
        rc = hold_request(ex, st, t);
    return rc;
}

int rule_rewrite_head(struct exchange *ex, struct http1_head *resp, unsigned flags)
{
    struct rewrite_state *st = state_of(ex);
    if (!st || !st->nresp)
        return 0;
    struct flow *f = ex->flow;
    for (size_t i = 0; i < st->nresp; i++) {
        const struct rule *r = st->resp[i];
        const struct rewrite *w = r->rewrite;
        if (w->target == REWRITE_RESP_HEADER) {
            if (edit_head(f, r, resp, "response") < 0)
                return -1;
        } else if (w->target == REWRITE_STATUS && resp->status != 101) {
            char before[16], after[16];
            snprintf(before, sizeof before, "%d", resp->status);
            snprintf(after, sizeof after, "%d", w->status);
            if (rewrite_head_set(resp, NULL, NULL, 0, w->status, http1_reason(w->status)) < 0)
                return -1;
            hit(f, r, before, after, "status %s changed to %s", before, after);
        }
    }
    if (!st->body_edits)
        return 0;
    const char *why = NULL;
    char whybuf[160];
    if (ex->head_request || resp->framing == HTTP1_NO_BODY || resp->status == 101) {
        st->body_edits = 0; /* no body to edit (HEAD, 204, 304): nothing to say */
        return 0;
    }
    if (resp->framing == HTTP1_UNTIL_EOF)
        why = "the body is streamed until the connection closes (no end known): left alone";
    else if (resp->framing == HTTP1_LENGTH && resp->content_length > RULE_REWRITE_BODY_MAX) {
        snprintf(whybuf, sizeof whybuf, "the body (%llu bytes) is over the %u MiB limit: left alone",
                 (unsigned long long)resp->content_length, RULE_REWRITE_BODY_MAX >> 20);
        why = whybuf;
    } else {
        const char *cenc = http1_head_get(resp, "content-encoding");
        if (cenc && !body_decode_known(cenc)) {
            snprintf(whybuf, sizeof whybuf, "Content-Encoding '%.40s' cannot be decoded: left alone",
                     cenc);
            why = whybuf;
        }
    }
    if (why) {
        for (size_t i = 0; i < st->nresp; i++)
            if (rewrite_on_body(st->resp[i]->rewrite))
                hit(f, st->resp[i], NULL, NULL, "%s: not applied: %s", st->resp[i]->target, why);
        st->body_edits = 0;
        return 0;
    }
    if (!(st->body = evbuffer_new()))
        return -1;
    st->holding = 1;
    st->head_flags = flags;
    return 1;
}

int rule_rewrite_holding(const struct exchange *ex)
{
    const struct rewrite_state *st = state_of(ex);
    return st && st->holding;
}

/* The held head and body go to the client as they are (body NULL: the held bytes). */
static int release(struct exchange *ex, struct rewrite_state *st)
{
    struct flow *f = ex->flow;
    st->holding = 0;
    if (ex->front->resp_head(ex, f->resp, st->head_flags) < 0)
        return -1;
    ex->resp_started = 1;
    int rc = 0;
    struct evbuffer_iovec seg;
    while (rc == 0 && evbuffer_peek(st->body, -1, NULL, &seg, 1) > 0) { /* no copy made whole */
        flow_capture_add(&f->resp_body, seg.iov_base, seg.iov_len);
        rc = ex->front->resp_body(ex, seg.iov_base, seg.iov_len);
        evbuffer_drain(st->body, seg.iov_len);
    }
    evbuffer_free(st->body);
    st->body = NULL;
    unhold(st, &st->charged);
    return rc;
}

int rule_rewrite_body(struct exchange *ex, const char *data, size_t len)
{
    struct rewrite_state *st = state_of(ex);
    char why[160];
    if (hold_more(ex, st, st->body, &st->charged, data, len, why, sizeof why) == 0)
        return 0;
    for (size_t i = 0; i < st->nresp; i++) /* a chunked body grew past the limit, or memory */
        if (rewrite_on_body(st->resp[i]->rewrite))
            hit(ex->flow, st->resp[i], NULL, NULL, "%s: not applied: %s", st->resp[i]->target, why);
    if (release(ex, st) < 0)
        return -1;
    flow_capture_add(&ex->flow->resp_body, data, len);
    return ex->front->resp_body(ex, data, len);
}

/* The body edits of rules[0..n) (others skipped) on text (decoded, NUL-terminated, len bytes), on
 * side "request" / "response": the new text (free), or NULL when none changed it. */
static char *edit_body(struct flow *f, const struct rule *const *rules, size_t n, const char *side,
                       const char *text, size_t len)
{
    char *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct rule *r = rules[i];
        const struct rewrite *w = r->rewrite;
        const char *in = cur ? cur : text;
        size_t inlen = cur ? strlen(cur) : len;
        char *out = NULL;
        if (rewrite_is_json(w)) {
            char *before = NULL, why[200];
            out = rewrite_json(w, in, inlen, &before, why, sizeof why);
            if (!out) {
                hit(f, r, NULL, NULL, "%s: not applied: %s", r->target, why);
                continue;
            }
            char *after = w->op == REWRITE_REMOVE ? strdup("(removed)")
                                                  : json_dumps(w->json, JSON_COMPACT | JSON_ENCODE_ANY);
            hit(f, r, before, after, "JSON %s set in the %s body", w->path, side);
            free(before);
            free(after);
        } else if (w->target == REWRITE_RESP_BODY || w->target == REWRITE_REQ_BODY) {
            if (memchr(in, '\0', inlen)) {
                hit(f, r, NULL, NULL, "%s: not applied: the body is binary", r->target);
                continue;
            }
            int count = 0;
            if (!(out = rewrite_replace(w, in, &count)))
                continue;
            if (!count) {
                free(out);
                hit(f, r, NULL, NULL, "%s: no match in the %s body", r->target, side);
                continue;
            }
            char before[256], after[256];
            snprintf(before, sizeof before, "%.255s", in);
            snprintf(after, sizeof after, "%.255s", out);
            hit(f, r, before, after, "%s body: %d replacement%s", side, count, count == 1 ? "" : "s");
        } else
            continue;
        free(cur);
        cur = out;
    }
    return cur;
}

/* Edit head h's body raw[0..n) (in h's Content-Encoding) by rules[0..nr): on a change, out gets
 * the bytes to send (re-encoded) and h a Content-Length for them (no Transfer-Encoding; no
 * Content-Encoding when this build cannot make that coding again, noted). Returns 1 changed, 0
 * unchanged (send raw as it is), -1 out of memory. */
static int edit_coded(struct flow *f, const struct rule *const *rules, size_t nr, const char *side,
                      struct http1_head *h, const unsigned char *raw, size_t n, struct evbuffer *out)
{
    const char *cenc = http1_head_get(h, "content-encoding");
    struct evbuffer *plain = evbuffer_new();
    char *text = NULL, *edited = NULL;
    int rc = -1;
    if (!plain)
        goto out;
    if (cenc && body_decode(cenc, 0, raw, n, RULE_REWRITE_BODY_MAX * 4, plain) != BODY_DECODE_OK) {
        for (size_t i = 0; i < nr; i++)
            if (rewrite_on_body(rules[i]->rewrite) || rewrite_on_req_body(rules[i]->rewrite))
                hit(f, rules[i], NULL, NULL, "%s: not applied: the body is not valid %s",
                    rules[i]->target, cenc);
        rc = 0;
        goto out;
    }
    if (!cenc)
        evbuffer_add(plain, raw, n);
    size_t tl = evbuffer_get_length(plain);
    if (!(text = malloc(tl + 1)))
        goto out;
    evbuffer_remove(plain, text, tl);
    text[tl] = '\0';
    if (!(edited = edit_body(f, rules, nr, side, text, tl))) {
        rc = 0; /* nothing changed: the bytes as they came */
        goto out;
    }
    size_t el = strlen(edited);
    const char *note = "";
    if (cenc && rewrite_encode(cenc, (const unsigned char *)edited, el, out) < 0) {
        /* a coding this build cannot make: sent decoded, the header says so */
        if (rewrite_head_set(h, "Content-Encoding", NULL, 0, 0, NULL) < 0)
            goto out;
        evbuffer_drain(out, evbuffer_get_length(out));
        evbuffer_add(out, edited, el);
        note = " (sent without its Content-Encoding)";
    } else if (!cenc)
        evbuffer_add(out, edited, el);
    char len[32];
    snprintf(len, sizeof len, "%zu", evbuffer_get_length(out));
    if (rewrite_head_set(h, "Transfer-Encoding", NULL, 0, 0, NULL) < 0 ||
        rewrite_head_set(h, "Content-Length", len, 0, 0, NULL) < 0)
        goto out;
    h->framing = HTTP1_LENGTH;
    h->content_length = evbuffer_get_length(out);
    if (*note && f->rules && f->rules->n)
        str_copy(f->rules->hit[f->rules->n - 1].detail + strlen(f->rules->hit[f->rules->n - 1].detail),
                 sizeof f->rules->hit[0].detail - strlen(f->rules->hit[f->rules->n - 1].detail), note);
    rc = 1;
out:
    free(text);
    free(edited);
    if (plain)
        evbuffer_free(plain);
    return rc;
}

int rule_rewrite_done(struct exchange *ex)
{
    struct rewrite_state *st = state_of(ex);
    size_t n = evbuffer_get_length(st->body);
    const unsigned char *raw = n ? evbuffer_pullup(st->body, -1) : (const unsigned char *)"";
    struct evbuffer *enc = evbuffer_new();
    if (enc && edit_coded(ex->flow, st->resp, st->nresp, "response", ex->flow->resp, raw, n, enc) == 1) {
        evbuffer_free(st->body);
        st->body = enc;
        enc = NULL;
    }
    if (enc)
        evbuffer_free(enc);
    return release(ex, st);
}

/* ------------------------------------------------------------------------------------------ */
/* Request bodies */

int rule_rewrite_req_holding(const struct exchange *ex)
{
    const struct rewrite_state *st = state_of(ex);
    return st && st->req_holding;
}

/* The held request goes upstream: its head, then the held body. What it needs is taken out of
 * st first: a failed head fails the exchange, which records (and may free) the flow and st. */
static enum exchange_body release_request(struct exchange *ex, struct rewrite_state *st)
{
    struct evbuffer *body = st->req_body;
    char *path = st->req_path, *host = st->req_host;
    st->req_body = NULL;
    st->req_path = st->req_host = NULL;
    st->req_holding = 0;
    unhold(st, &st->req_charged);
    enum exchange_body r = EXCHANGE_BODY_QUEUED;
    struct evbuffer_iovec seg;
    if (exchange_req_send_head(ex, path, host) == 0)
        while (ex->flow && evbuffer_peek(body, -1, NULL, &seg, 1) > 0) { /* no copy made whole */
            r = exchange_req_body(ex, seg.iov_base, seg.iov_len);
            evbuffer_drain(body, seg.iov_len);
        }
    evbuffer_free(body);
    free(path);
    free(host);
    return r;
}

enum exchange_body rule_rewrite_req_body(struct exchange *ex, const char *data, size_t len)
{
    struct rewrite_state *st = state_of(ex);
    char why[160];
    if (hold_more(ex, st, st->req_body, &st->req_charged, data, len, why, sizeof why) == 0)
        return EXCHANGE_BODY_QUEUED;
    req_not_applied(ex->flow, st, why); /* a chunked body grew past the limit, or memory */
    release_request(ex, st);
    return ex->flow ? exchange_req_body(ex, data, len) : EXCHANGE_BODY_QUEUED;
}

void rule_rewrite_req_done(struct exchange *ex)
{
    struct rewrite_state *st = state_of(ex);
    struct flow *f = ex->flow;
    size_t n = evbuffer_get_length(st->req_body);
    const unsigned char *raw = n ? evbuffer_pullup(st->req_body, -1) : (const unsigned char *)"";
    struct evbuffer *enc = evbuffer_new();
    if (enc && edit_coded(f, st->req, st->nreq, "request", f->req, raw, n, enc) == 1) {
        /* the flow shows what the server got, as it shows what the client got */
        capture_release(&f->req_body);
        f->req_body.total = 0;
        f->req_body.truncated = 0;
        f->req_body.cut = NULL;
        size_t el = evbuffer_get_length(enc);
        flow_capture_add(&f->req_body, el ? (const char *)evbuffer_pullup(enc, -1) : "", el);
        evbuffer_free(st->req_body);
        st->req_body = enc;
        enc = NULL;
    }
    if (enc)
        evbuffer_free(enc);
    release_request(ex, st);
}
