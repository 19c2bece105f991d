/* fuzz_flow_json.c — libFuzzer target: a flow holding arbitrary bytes (request and response
 * heads with any non-NUL bytes in names, values, target and reason; URL, host, failure reason,
 * note, TLS strings; bodies) → flow_json_texts (summary and detail), the terminal line, and a HAR
 * document written by har.c from that detail (the store is replaced by stubs serving this one
 * flow). Oracles: every JSON text produced parses back with jansson's json_loads, and the texts
 * equal the jansson model of the flow (tests/common/flow_json_ref.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <jansson.h>
#include "flow.h"
#include "flow_detail.h"
#include "flow_json.h"
#include "har.h"
#include "store.h"
#include "../common/flow_json_ref.h"

struct reader {
    const uint8_t *p;
    size_t left;
};

/* Next chunk: one length byte, then up to that many bytes. */
static const uint8_t *take(struct reader *r, size_t *n)
{
    if (!r->left) {
        *n = 0;
        return (const uint8_t *)"";
    }
    size_t want = r->p[0];
    r->p++;
    r->left--;
    *n = want < r->left ? want : r->left;
    const uint8_t *out = r->p;
    r->p += *n;
    r->left -= *n;
    return out;
}

/* A chunk as a C string (NULs become 0x01). Caller frees. */
static char *take_str(struct reader *r)
{
    size_t n;
    const uint8_t *d = take(r, &n);
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = d[i] ? (char)d[i] : 1;
    s[n] = '\0';
    return s;
}

static uint8_t take_byte(struct reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

/* A head from a chunk: NUL-separated strings; the first is the target/reason, then name, value. */
static struct http1_head *take_head(struct reader *r, int is_request)
{
    size_t n;
    const uint8_t *d = take(r, &n);
    struct http1_head *h = calloc(1, sizeof *h);
    h->is_request = is_request;
    h->buf = malloc(n + 1);
    memcpy(h->buf, d, n);
    h->buf[n] = '\0';
    h->buf_len = h->buf_cap = n + 1;
    size_t nstr = 1;
    for (size_t i = 0; i < n; i++)
        nstr += h->buf[i] == '\0';
    h->fields = calloc(nstr / 2 + 1, sizeof *h->fields);
    const char *s = h->buf, *end = h->buf + n;
    const char *first = s;
    s += strlen(s) + 1;
    while (s <= end) {
        const char *name = s;
        s += strlen(s) + 1;
        const char *value = s <= end ? s : "";
        if (s <= end)
            s += strlen(s) + 1;
        h->fields[h->nfields].name = name;
        h->fields[h->nfields].value = value;
        h->nfields++;
    }
    h->major = 1;
    h->minor = 1;
    if (is_request) {
        h->target = first;
        h->reason = "";
        h->method = take_byte(r) % 34;
    } else {
        h->reason = first;
        h->target = "";
        h->status = take_byte(r) * 3;
    }
    return h;
}

/* One of the store's texts parsed back; abort when it is not JSON or differs from the model. */
static json_t *parse_text(const char *text, size_t len, const struct flow *f, int detail)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_ALLOW_NUL, &e);
    if (!j) {
        if (getenv("FUZZ_DUMP"))
            fprintf(stderr, "not JSON: %s at %d\n%.*s\n", e.text, e.position, (int)len, text);
        abort();
    }
    if (detail) /* as every reader gets it (store_reader_get): keyed warnings completed */
        flow_json_put_back(j);
    json_t *model = flow_json_ref(f, detail);
    if (!json_equal(j, model))
        abort(); /* the text writer and the model disagree */
    json_decref(model);
    return j;
}

static void check_json(json_t *j)
{
    if (!j)
        abort();
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        abort(); /* jansson refused to encode it: a string was not valid UTF-8 */
    json_error_t e;
    json_t *back = json_loads(s, JSON_ALLOW_NUL, &e);
    if (!back)
        abort();
    json_decref(back);
    free(s);
}

/* ---- the store, as har.c sees it: this one flow ---- */
static json_t *g_detail;
static const uint8_t *g_body[2];
static size_t g_body_len[2];
static int g_decode_fails;

json_t *store_reader_get(struct store_reader *r, uint64_t id)
{
    (void)r;
    return id == 1 && g_detail ? json_incref(g_detail) : NULL;
}

int store_reader_foreach(struct store_reader *r, int (*fn)(uint64_t id, void *arg), void *arg)
{
    (void)r;
    int rc = fn(1, arg);
    return rc > 0 ? rc : 0;
}

/* WebSocket messages (har_ws.h): this one flow has none to add */
int har_ws_add(struct store_reader *r, json_t *d, json_t *e)
{
    (void)r;
    (void)d;
    (void)e;
    return 0;
}

int store_reader_body(struct store_reader *r, uint64_t id, int response, int decode,
                      struct evbuffer *out, char *mime, size_t mimelen)
{
    (void)r;
    (void)id;
    if (mimelen)
        mime[0] = '\0';
    if (decode && g_decode_fails)
        return -2;
    evbuffer_add(out, g_body[response], g_body_len[response]);
    return 0;
}

static int har_sink(const char *data, size_t len, void *arg)
{
    return evbuffer_add(arg, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = {data, size};
    struct flow *f = flow_new(1, 1, 64);
    if (!f)
        return 0;
    uint8_t flags = take_byte(&r);
    f->kind = (flags & 1) ? FLOW_TUNNEL : FLOW_HTTP;
    char *s = take_str(&r);
    flow_set_url(f, s);
    free(s);
    s = take_str(&r);
    snprintf(f->host, sizeof f->host, "%s", s);
    snprintf(f->scheme, sizeof f->scheme, "%s", (flags & 2) ? "https" : "http");
    free(s);
    s = take_str(&r);
    if (flags & 4)
        flow_fail(f, (enum flow_stage)(take_byte(&r) % FLOW_STAGE_COUNT), take_byte(&r), "%s", s);
    free(s);
    s = take_str(&r);
    snprintf(f->note, sizeof f->note, "%s", s);
    snprintf(flow_tls_edit(f, 0)->sni, sizeof flow_tls_edit(f, 0)->sni, "%s", s);
    snprintf(flow_tls_edit(f, 1)->peer_subject, sizeof flow_tls_edit(f, 1)->peer_subject, "%s", s);
    snprintf(f->client_addr, sizeof f->client_addr, "%s", s);
    flow_tls_edit(f, 1)->present = (flags & 8) != 0;
    free(s);
    if (!(flags & 1)) {
        f->req = take_head(&r, 1);
        if (flags & 16)
            f->resp = take_head(&r, 0);
    }
    size_t n;
    const uint8_t *b = take(&r, &n);
    flow_capture_add(&f->req_body, (const char *)b, n);
    g_body[0] = b;
    g_body_len[0] = n;
    b = take(&r, &n);
    flow_capture_add(&f->resp_body, (const char *)b, n);
    g_body[1] = b;
    g_body_len[1] = n;
    g_decode_fails = (flags & 32) != 0;

    static struct flow_json_text text;
    if (flow_json_texts(f, &text) < 0)
        abort();
    json_t *sum = parse_text(text.buf, text.summary_len, f, 0);
    json_t *det = parse_text(text.detail, text.detail_len, f, 1);
    check_json(sum);
    check_json(det);
    /* the store's way (flow_detail.h): the detail packed as a flow record, written as JSON when
     * read, is byte for byte the detail_only text; cut short, the record is refused */
    static struct flow_json_text part, rec, back;
    part.detail_only = 1;
    rec.detail_only = rec.detail_record = 1;
    if (flow_json_texts(f, &part) < 0 || flow_json_texts(f, &rec) < 0 ||
        flow_detail_emit(rec.detail, rec.detail_len, &back) < 0 ||
        back.len != part.detail_len || memcmp(back.buf, part.detail, back.len))
        abort();
    if (flow_detail_emit(rec.detail, rec.detail_len - 1 - (flags % rec.detail_len), &back) != -1)
        abort();
    char line[1024];
    flow_format_line(f, line, sizeof line);

    g_detail = det;
    struct evbuffer *har = evbuffer_new();
    struct har_options o = {.redact = (flags & 64) != 0};
    if (har_write((struct store_reader *)1, &o, har_sink, har) == 0) {
        evbuffer_add(har, "", 1);
        json_error_t e;
        /* \u0000 is valid JSON (a %00 in a query parameter decodes to it); jansson wants the flag */
        json_t *doc = json_loads((const char *)evbuffer_pullup(har, -1), JSON_ALLOW_NUL, &e);
        if (!doc && getenv("FUZZ_DUMP"))
            fprintf(stderr, "HAR is not JSON: %s at %d:%d\n%s\n", e.text, e.line, e.column,
                    (const char *)evbuffer_pullup(har, -1));
        if (!doc)
            abort(); /* the HAR file is not JSON */
        json_decref(doc);
    }
    evbuffer_free(har);
    g_detail = NULL;
    json_decref(sum);
    json_decref(det);
    flow_free(f);
    return 0;
}
