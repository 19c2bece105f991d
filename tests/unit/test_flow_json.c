/* test_flow_json.c — flow_json_texts gives valid JSON (UTF-8, Latin-1 mapping for other bytes)
 * whatever bytes the heads held, the summary/detail shapes of store.h, failure facts included,
 * and exactly what the jansson model (tests/common/flow_json_ref.c) builds for every flow. */
#include "../../src/flow_json.c"

#include <errno.h>
#include <stdlib.h>
#include "../common/flow_json_ref.h"
#include "../../src/flow_detail.h"
#include "tap.h"

static int texts_checked, texts_invalid, texts_differ, texts_keyed_whole, split_checked, split_differ;
static int record_checked, record_differ, record_cut_read;
static size_t record_bytes, record_text_bytes;

/* The summary (detail = 0) or detail text of f parsed back with jansson (which rejects invalid
 * UTF-8 and invalid JSON); also compared with the model. NULL when the text is not valid JSON. */
static json_t *flow_to_json(const struct flow *f, int detail)
{
    static struct flow_json_text t;
    if (flow_json_texts(f, &t) < 0)
        return NULL;
    json_error_t e;
    json_t *j = detail ? json_loadb(t.detail, t.detail_len, 0, &e)
                       : json_loadb(t.buf, t.summary_len, 0, &e);
    json_t *model = flow_json_ref(f, detail);
    if (j && detail) { /* what every reader sees (store_reader_get): the stored text completed */
        static const char whole[] = "\"fix\":\"To make the app refetch";
        if (memmem(t.detail, t.detail_len, whole, sizeof whole - 1)) /* not NUL-terminated */
            texts_keyed_whole++; /* URLCache's note is keyed: its texts must not be stored */
        flow_json_put_back(j);
        /* as the store keeps it: the detail without the summary's members, made whole on read,
         * must be the whole detail, byte for byte once dumped (members in the same order) */
        static struct flow_json_text part;
        part.detail_only = 1;
        json_t *w = NULL, *full = json_loadb(t.detail, t.detail_len, 0, NULL);
        if (flow_json_texts(f, &part) == 0) {
            char *sum = strndup(part.buf, part.summary_len);
            w = flow_json_whole(json_loadb(part.detail, part.detail_len, 0, NULL), sum);
            free(sum);
        }
        char *a = w ? json_dumps(w, JSON_COMPACT) : NULL, *b = full ? json_dumps(full, JSON_COMPACT) : NULL;
        split_checked++;
        if (!a || !b || strcmp(a, b) || part.detail_len >= t.detail_len)
            split_differ++;
        /* the store's way: the detail packed as a flow record when the flow is written, and
         * written as JSON text when it is read: byte for byte the detail_only text */
        static struct flow_json_text rec, back;
        rec.detail_only = rec.detail_record = 1;
        record_checked++;
        if (flow_json_texts(f, &rec) < 0 || !flow_detail_is_record(rec.detail, rec.detail_len) ||
            rec.summary_len != part.summary_len || memcmp(rec.buf, part.buf, part.summary_len) ||
            flow_detail_emit(rec.detail, rec.detail_len, &back) < 0 ||
            back.len != part.detail_len || memcmp(back.buf, part.detail, back.len)) {
            if (record_differ++ < 3)
                printf("# record written back differs:\n#   text:   %.*s\n#   record: %.*s\n",
                       (int)part.detail_len, part.detail, (int)back.len, back.buf ? back.buf : "");
        } else {
            record_bytes += rec.detail_len;
            record_text_bytes += part.detail_len;
            /* a record cut short anywhere is refused, never read past its end */
            size_t cut = rec.detail_len * (size_t)(record_checked % 7 + 1) / 8;
            if (flow_detail_emit(rec.detail, cut, &back) != -1)
                record_cut_read++;
            /* and one with bytes after its end is not taken for a whole record */
            unsigned char *longer = malloc(rec.detail_len + 1);
            if (longer) {
                memcpy(longer, rec.detail, rec.detail_len);
                longer[rec.detail_len] = 0;
                if (flow_detail_emit(longer, rec.detail_len + 1, &back) != -1)
                    record_cut_read++;
                free(longer);
            }
        }
        free(a);
        free(b);
        json_decref(w);
        json_decref(full);
    }
    texts_checked++;
    if (!j) {
        texts_invalid++;
        printf("# invalid JSON (%s at %d): %.*s\n", e.text, e.position,
             (int)(detail ? t.detail_len : t.summary_len), detail ? t.detail : t.buf);
    } else if (!json_equal(j, model)) {
        texts_differ++;
        if (texts_differ < 3) {
            char *a = json_dumps(j, JSON_COMPACT), *b = json_dumps(model, JSON_COMPACT);
            printf("# text and model differ:\n#   text:  %s\n#   model: %s\n", a, b);
            free(a);
            free(b);
        }
    }
    json_decref(model);
    return j;
}

/* A head owning copies of n name/value pairs (values may hold any byte but NUL). */
static struct http1_head *head(int is_request, const char *const *nv, size_t n)
{
    struct http1_head *h = calloc(1, sizeof *h);
    size_t total = 1;
    for (size_t i = 0; i < 2 * n; i++)
        total += strlen(nv[i]) + 1;
    h->buf = malloc(total);
    h->fields = calloc(n ? n : 1, sizeof *h->fields);
    char *p = h->buf;
    *p++ = '\0';
    for (size_t i = 0; i < n; i++) {
        h->fields[i].name = p;
        p = stpcpy(p, nv[2 * i]) + 1;
        h->fields[i].value = p;
        p = stpcpy(p, nv[2 * i + 1]) + 1;
    }
    h->nfields = n;
    h->is_request = is_request;
    h->target = h->reason = h->buf; /* "" */
    h->major = h->minor = 1;
    return h;
}

/* Serialize and parse back: 1 when jansson (which rejects invalid UTF-8) accepts the text. */
static json_t *roundtrip(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_t *back = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return back;
}

/* The Latin-1 → UTF-8 image of bytes (what a non-UTF-8 value must become). */
static void latin1(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i] < 0x80)
            *out++ = (char)in[i];
        else {
            *out++ = (char)(0xc0 | (in[i] >> 6));
            *out++ = (char)(0x80 | (in[i] & 0x3f));
        }
    }
    *out = '\0';
}

static const char *req_value(json_t *d, size_t i)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(d, "request"), "headers"), i), "value"));
}

int main(void)
{
    /* every single byte 0x01..0xff as a header value, and as part of the URL */
    int all_valid = 1, all_mapped = 1;
    for (int b = 1; b < 256; b++) {
        char v[2] = {(char)b, 0}, want[4];
        const char *nv[] = {"X-Byte", v};
        struct flow *f = flow_new((uint64_t)b, 1, 1024);
        f->req = head(1, nv, 1);
        char url[64];
        snprintf(url, sizeof url, "http://h.test/p%c?q=%c", b, b);
        flow_set_url(f, url);
        json_t *j = flow_to_json(f, 1), *back = j ? roundtrip(j) : NULL;
        if (!back)
            all_valid = 0;
        latin1((const unsigned char *)v, 1, want);
        if (!back || !req_value(back, 0) || strcmp(req_value(back, 0), want))
            all_mapped = 0;
        json_decref(j);
        json_decref(back);
        flow_free(f);
    }
    ok(all_valid, "each byte 0x01..0xff in a header value and the URL gives valid JSON");
    ok(all_mapped, "bytes >= 0x80 alone are mapped as Latin-1 (0xe9 -> U+00E9)");

    /* random byte strings: always valid, valid UTF-8 parts kept */
    srand(42);
    int rnd_ok = 1;
    for (int n = 0; n < 2000 && rnd_ok; n++) {
        char v[64];
        size_t len = (size_t)(rand() % 63);
        for (size_t i = 0; i < len; i++)
            v[i] = (char)(1 + rand() % 255);
        v[len] = '\0';
        const char *nv[] = {v, v};
        struct flow *f = flow_new(1, 1, 1024);
        f->resp = head(0, nv, 1);
        f->resp->status = 200;
        json_t *j = flow_to_json(f, 1), *back = j ? roundtrip(j) : NULL;
        rnd_ok = back != NULL;
        json_decref(j);
        json_decref(back);
        flow_free(f);
    }
    ok(rnd_ok, "2000 random header names and values (bytes 0x01..0xff) all give valid JSON");

    /* the writer scans plain text 8 bytes at a time: every byte value at every place of the
     * first two words and the tail of a 21-byte value (each text is checked against the model) */
    int sweep_ok = 1;
    for (int b = 1; b < 256 && sweep_ok; b++)
        for (int at = 0; at < 21 && sweep_ok; at++) {
            char v[22];
            memset(v, 'a' + at % 26, 21);
            v[21] = '\0';
            v[at] = (char)b;
            const char *nv[] = {"X-Sweep", v};
            struct flow *f = flow_new(1, 1, 1024);
            f->req = head(1, nv, 1);
            int before = texts_differ;
            json_t *j = flow_to_json(f, 1);
            sweep_ok = j && texts_differ == before;
            json_decref(j);
            flow_free(f);
        }
    ok(sweep_ok, "each byte 0x01..0xff at each of 21 places of a value is written as the model");

    const char *utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    json_t *s = flow_json_string(utf8, strlen(utf8));
    is_str(json_string_value(s), utf8, "valid UTF-8 (2, 3 and 4-byte sequences) is kept as is");
    json_decref(s);
    const char mixed[] = "a\xc3\xa9\xff\xc3z\xed\xa0\x80\xc0\xaf";
    s = flow_json_string(mixed, sizeof mixed - 1);
    is_str(json_string_value(s),
           "a\xc3\xa9\xc3\xbf\xc3\x83z\xc3\xad\xc2\xa0\xc2\x80\xc3\x80\xc2\xaf",
           "invalid bytes (0xff, a lone lead, a surrogate, an overlong) mapped one by one");
    json_decref(s);
    s = flow_json_string("a\0b", 3);
    char *dump = json_dumps(s, JSON_ENCODE_ANY);
    is_str(dump, "\"a\\u0000b\"", "a NUL byte is kept as \\u0000");
    free(dump);
    json_decref(s);
    ok(!flow_json_is_utf8("\xf4\x90\x80\x80", 4) && flow_json_is_utf8("\xf4\x8f\xbf\xbf", 4),
       "code points above U+10FFFF are not UTF-8, U+10FFFF is");

    char mime[64];
    flow_json_mime(" Text/HTML; charset=utf-8", mime, sizeof mime);
    is_str(mime, "text/html", "mime: lower-cased media type without parameters");

    /* a failed flow: connection refused */
    struct flow *f = flow_new(7, 3, 1024);
    const char *nv[] = {"Host", "api.example.com:1"};
    f->req = head(1, nv, 1);
    f->req->method = HTTP_GET;
    snprintf(f->host, sizeof f->host, "api.example.com");
    snprintf(f->scheme, sizeof f->scheme, "http");
    f->port = 1;
    flow_set_url(f, "http://api.example.com:1/v1/items?x=1");
    f->marks.connect_start = f->marks.start + 100;
    f->fail.status_sent = 502;
    flow_fail(f, FLOW_STAGE_CONNECT, ECONNREFUSED, "connect: Connection refused");
    flow_done(f, NULL, NULL, NULL); /* runs compute_timings on a real failed flow; NULL sink frees it */
    f = flow_new(7, 3, 1024);
    f->req = head(1, nv, 1);
    f->req->method = HTTP_GET;
    snprintf(f->host, sizeof f->host, "api.example.com");
    snprintf(f->scheme, sizeof f->scheme, "http");
    f->port = 1;
    flow_set_url(f, "http://api.example.com:1/v1/items?x=1");
    f->fail.status_sent = 502;
    flow_fail(f, FLOW_STAGE_CONNECT, ECONNREFUSED, "connect: Connection refused");
    f->timings = (struct flow_timings){.blocked = 0.1, .dns = 1.5, .connect = -1, .ssl = -1,
                                       .send = -1, .wait = -1, .receive = -1, .total = 2};
    f->connect_attempts = (struct flow_attempts){
        .n = 2, .a = {{"2001:db8::1", 6, "timeout", 250}, {"192.0.2.1", 4, "refused", 3}}};
    json_t *sum = flow_to_json(f, 0), *d = flow_to_json(f, 1);
    ok(json_is_true(json_object_get(sum, "failed")), "failed flow: summary failed = true");
    is_str(json_string_value(json_object_get(sum, "error")), "connect: Connection refused",
           "failed flow: summary error = the reason");
    is_int(json_integer_value(json_object_get(sum, "status")), 0, "failed flow: status 0 (no response)");
    is_str(json_string_value(json_object_get(sum, "path")), "/v1/items?x=1", "summary path");
    is_str(json_string_value(json_object_get(sum, "method")), "GET", "summary method");
    ok(!json_object_get(sum, "request") && !json_object_get(sum, "failure"),
       "the summary has no detail fields");
    int prefix = 1;
    const char *sk;
    json_t *sv;
    json_object_foreach(sum, sk, sv)
        if (!json_equal(sv, json_object_get(d, sk)))
            prefix = 0;
    ok(prefix, "the detail holds every summary member with the same value");
    static const char *const keys[] = {"id", "conn_id", "kind", "started", "method", "url", "scheme",
                                       "host", "port", "path", "status", "failed", "error", "mime",
                                       "req_size", "resp_size", "duration_ms", "client", "app", "note",
                                       "reason_short", "failed_before_tls"};
    int all = 1;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!json_object_get(sum, keys[i]))
            all = 0;
    ok(all, "summary has every field of store.h");
    const char *st = json_string_value(json_object_get(sum, "started"));
    ok(st && strlen(st) == 24 && st[10] == 'T' && st[19] == '.' && st[23] == 'Z',
       "started is ISO 8601 UTC with milliseconds (%s)", st ? st : "null");
    json_t *fl = json_object_get(d, "failure");
    is_str(json_string_value(json_object_get(fl, "stage")), "connect", "failure.stage");
    is_int(json_integer_value(json_object_get(fl, "errno")), ECONNREFUSED, "failure.errno");
    is_int(json_integer_value(json_object_get(fl, "status_sent")), 502, "failure.status_sent");
    is_str(json_string_value(json_object_get(fl, "reason")), "connect: Connection refused", "failure.reason");
    ok(json_is_null(json_object_get(d, "response")), "failed flow without a response: response null");
    json_t *att = json_object_get(d, "connect_attempts");
    ok(json_array_size(att) == 2 &&
           !strcmp(json_string_value(json_object_get(json_array_get(att, 0), "addr")), "2001:db8::1") &&
           json_integer_value(json_object_get(json_array_get(att, 0), "family")) == 6 &&
           !strcmp(json_string_value(json_object_get(json_array_get(att, 1), "outcome")), "refused") &&
           json_integer_value(json_object_get(json_array_get(att, 0), "ms")) == 250,
       "connect_attempts: each address tried with family, outcome and ms, in order");
    ok(!json_object_get(sum, "connect_attempts"), "connect_attempts is a detail field only");
    ok(json_is_null(json_object_get(d, "http2")), "http2 null when neither leg spoke HTTP/2");
    f->h2_stream_id = 5;
    json_t *d2 = flow_to_json(f, 1), *h2 = json_object_get(d2, "http2");
    ok(json_integer_value(json_object_get(h2, "stream_id")) == 5 &&
           json_is_null(json_object_get(h2, "upstream_stream_id")),
       "http2: stream_id 5 (the client's stream), upstream_stream_id null (HTTP/1 to the server)");
    f->h2_stream_id = 0;
    json_decref(d2);
    json_t *t = json_object_get(d, "timings");
    ok(json_integer_value(json_object_get(t, "connect")) == -1 &&
       json_real_value(json_object_get(t, "dns")) == 1.5, "timings: -1 where a phase did not happen");
    json_t *dg = json_object_get(d, "diagnosis");
    is_int(json_integer_value(json_object_get(dg, "code")), -1004,
           "diagnosis: NSURLErrorCannotConnectToHost (-1004)");
    ok(json_is_null(json_object_get(json_object_get(d, "tls"), "upstream")), "no TLS: tls.upstream null");
    json_decref(sum);
    json_decref(d);
    flow_free(f);

    /* a successful flow has failure null and the response head */
    f = flow_new(8, 3, 1024);
    const char *rv[] = {"Content-Type", "application/json; charset=utf-8", "Set-Cookie", "a=1",
                        "set-cookie", "b=2"};
    f->resp = head(0, rv, 3);
    f->resp->status = 200;
    flow_tls_edit(f, 1)->present = 1;
    snprintf(flow_tls_edit(f, 1)->version, sizeof flow_tls_edit(f, 1)->version, "TLSv1.3");
    flow_capture_add(&f->resp_body, "{}", 2);
    const char *tv[] = {"grpc-status", "0", "grpc-message", "caf\xc3\xa9 \"ok\""};
    f->resp_trailers = head(0, tv, 2);
    d = flow_to_json(f, 1);
    ok(json_is_null(json_object_get(d, "failure")) && !json_is_true(json_object_get(d, "failed")),
       "successful flow: failure null");
    is_str(json_string_value(json_object_get(d, "mime")), "application/json", "mime from Content-Type");
    json_t *rh = json_object_get(json_object_get(d, "response"), "headers");
    ok(json_array_size(rh) == 3 &&
       !strcmp(json_string_value(json_object_get(json_array_get(rh, 2), "name")), "set-cookie"),
       "response headers kept in order, case and duplicates");
    is_str(json_string_value(json_object_get(json_object_get(json_object_get(d, "tls"), "upstream"), "version")),
           "TLSv1.3", "tls.upstream.version");
    is_int(json_integer_value(json_object_get(d, "resp_size")), 2, "resp_size");
    json_t *rt = json_object_get(json_object_get(d, "response"), "trailers");
    ok(json_array_size(rt) == 2 &&
           !strcmp(json_string_value(json_object_get(json_array_get(rt, 1), "value")), "caf\xc3\xa9 \"ok\""),
       "response trailers in order, values escaped");
    ok(json_array_size(json_object_get(json_object_get(d, "request"), "trailers")) == 0,
       "request without trailers: trailers []");
    json_decref(d);
    flow_free(f);
    /* a mirrored expired certificate: which leaf the client was shown and why, the server's names,
     * both legs' OpenSSL errors in words; the summary's short reason */
    f = flow_new(9, 4, 1024);
    f->kind = FLOW_TUNNEL;
    snprintf(f->host, sizeof f->host, "api.shop.test");
    f->port = 443;
    flow_set_url(f, "api.shop.test:443");
    struct flow_tls *up = flow_tls_edit(f, 1), *cl = flow_tls_edit(f, 0);
    up->present = cl->present = 1;
    up->verify_result = 10;
    snprintf(up->verify_error, sizeof up->verify_error, "certificate has expired");
    snprintf(up->error, sizeof up->error, "error:0A000086:SSL routines::certificate verify failed");
    snprintf(up->peer_names, sizeof up->peer_names, "api.shop.test, *.shop.test, 10.0.0.1");
    up->cert_requested = 1;
    snprintf(up->client_cert, sizeof up->client_cert, "CN=app \"user\",O=Shop");
    snprintf(up->peer_not_after, sizeof up->peer_not_after, "2020-02-01T00:00:00Z");
    snprintf(cl->leaf, sizeof cl->leaf, "mirror_dates");
    snprintf(cl->leaf_reason, sizeof cl->leaf_reason, "The server's certificate expired on 2020-02-01, \"so\"...");
    snprintf(cl->error, sizeof cl->error, "error:0A000415:SSL routines::sslv3 alert certificate expired");
    snprintf(cl->alert_received, sizeof cl->alert_received, "certificate expired");
    flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, 0, "tls: upstream certificate refused: certificate has expired");
    sum = flow_to_json(f, 0);
    d = flow_to_json(f, 1);
    is_str(json_string_value(json_object_get(sum, "reason_short")), "expired 2020-02-01",
           "summary reason_short of an expired server certificate");
    ok(json_is_false(json_object_get(sum, "failed_before_tls")),
       "summary failed_before_tls false: the client was shown a mirror");
    json_t *tc = json_object_get(json_object_get(d, "tls"), "client"),
           *tu = json_object_get(json_object_get(d, "tls"), "upstream");
    is_str(json_string_value(json_object_get(tc, "leaf")), "mirror_dates", "tls.client.leaf");
    is_str(json_string_value(json_object_get(tc, "leaf_reason")), cl->leaf_reason, "tls.client.leaf_reason");
    is_str(json_string_value(json_object_get(tc, "error_text")),
           "the client refused the certificate: certificate expired (alert 45)", "tls.client.error_text");
    is_str(json_string_value(json_object_get(tu, "error_text")),
           "httpeek refused the server's certificate: certificate has expired", "tls.upstream.error_text");
    is_str(json_string_value(json_object_get(tu, "peer_names")), up->peer_names, "tls.upstream.peer_names");
    is_str(json_string_value(json_object_get(tu, "leaf")), "", "tls.upstream.leaf empty");
    ok(json_is_true(json_object_get(tu, "cert_requested")) &&
           json_is_false(json_object_get(tc, "cert_requested")),
       "tls.upstream.cert_requested true (the server sent a CertificateRequest), client leg false");
    is_str(json_string_value(json_object_get(tu, "client_cert")), up->client_cert,
           "tls.upstream.client_cert: the subject of the certificate sent, quotes escaped");
    is_str(json_string_value(json_object_get(tc, "client_cert")), "", "tls.client.client_cert empty");
    json_decref(sum);
    json_decref(d);
    flow_free(f);
    f = flow_new(10, 5, 1024);
    f->kind = FLOW_TUNNEL;
    flow_set_url(f, "api.shop.test:1");
    flow_fail(f, FLOW_STAGE_CONNECT, ECONNREFUSED, "connect: Connection refused");
    sum = flow_to_json(f, 0);
    ok(json_is_true(json_object_get(sum, "failed_before_tls")) &&
           !strcmp(json_string_value(json_object_get(sum, "reason_short")), "connection refused"),
       "a refused CONNECT: failed_before_tls true, reason_short 'connection refused'");
    json_decref(sum);
    flow_free(f);
    /* app-level warnings: kind on each, domain when not NSURLErrorDomain, summary lists */
    f = flow_new(11, 6, 1024);
    const char *qv[] = {"Accept", "application/json"};
    f->req = head(1, qv, 1);
    f->req->method = HTTP_GET;
    snprintf(f->host, sizeof f->host, "mybox.local");
    snprintf(f->scheme, sizeof f->scheme, "http");
    flow_set_url(f, "http://mybox.local/api");
    const char *hv[] = {"Content-Type", "text/html", "Cache-Control", "max-age=60"};
    f->resp = head(0, hv, 2);
    f->resp->status = 502;
    flow_capture_add(&f->resp_body, "<html>", 6);
    sum = flow_to_json(f, 0);
    d = flow_to_json(f, 1);
    char *kinds = json_dumps(json_object_get(sum, "warn_kinds"), JSON_COMPACT),
         *codes = json_dumps(json_object_get(sum, "warn_codes"), JSON_COMPACT);
    is_str(kinds, "[\"local-network\",\"status\",\"content-type\"]", "summary warn_kinds: each kind once, in order");
    is_str(codes, "[-1022,-1011,-1016]", "summary warn_codes: the non-zero codes");
    free(kinds);
    free(codes);
    json_t *wa = json_object_get(d, "warnings"), *w1 = json_array_get(wa, 1), *w0 = json_array_get(wa, 0);
    ok(json_array_size(wa) == 3 && !strcmp(json_string_value(json_object_get(w1, "kind")), "status") &&
       !strcmp(json_string_value(json_object_get(w1, "domain")), "AFURLResponseSerializationErrorDomain") &&
       !json_object_get(w0, "domain") && !strcmp(json_string_value(json_object_get(w0, "kind")), "local-network"),
       "detail warnings carry kind, and domain only outside NSURLErrorDomain");
    ok(!json_object_get(json_object_get(d, "diagnosis"), "kind"), "a diagnosis has no kind");
    json_decref(sum);
    json_decref(d);
    flow_free(f);
    /* URLCache's note is stored keyed (~500 bytes less a flow) and read back whole */
    f = flow_new(12, 6, 1024);
    f->req = head(1, qv, 1);
    f->req->method = HTTP_GET;
    snprintf(f->host, sizeof f->host, "api.example.com");
    snprintf(f->scheme, sizeof f->scheme, "https");
    flow_set_url(f, "https://api.example.com/v1");
    const char *cv[] = {"Content-Type", "application/json", "Cache-Control", "max-age=60"};
    f->resp = head(0, cv, 2);
    f->resp->status = 200;
    flow_capture_add(&f->resp_body, "{}", 2);
    static struct flow_json_text kt;
    ok(flow_json_texts(f, &kt) == 0 && memmem(kt.detail, kt.detail_len, "\"entry\":\"cache\"", 15) &&
       !memmem(kt.detail, kt.detail_len, "To make the app refetch", 23),
       "URLCache's note is stored by its key, without the catalogue's texts");
    d = flow_to_json(f, 1);
    json_t *cw = json_array_get(json_object_get(d, "warnings"), 0);
    ok(cw && !strcmp(json_string_value(json_object_get(cw, "kind")), "cache") &&
       !strncmp(json_string_value(json_object_get(cw, "fix")), "To make the app refetch", 23) &&
       !strcmp(json_string_value(json_object_get(cw, "title")), "What URLCache does with this response") &&
       json_object_get(cw, "android") && !json_object_get(cw, "entry"),
       "read back, the note has its name, title, fix and android again, and no key");
    json_decref(d);
    flow_json_text_free(&kt);
    flow_free(f);
    ok(texts_checked > 2000 && !texts_invalid, "all %d texts written are valid JSON", texts_checked);
    ok(!texts_differ, "every text equals the jansson model of its flow (%d differ)", texts_differ);
    ok(split_checked > 1000 && !split_differ,
       "a detail stored without the summary's members reads back whole, the same text (%d of %d "
       "differ)", split_differ, split_checked);
    ok(!texts_keyed_whole, "a keyed warning is stored without its catalogue texts (%d were not)",
       texts_keyed_whole);
    ok(record_checked > 1000 && !record_differ,
       "a detail packed as a flow record is written back byte for byte the JSON text written at "
       "once (%d of %d differ)", record_differ, record_checked);
    printf("# flow records: %zu bytes for %zu bytes of detail text\n", record_bytes,
           record_text_bytes);
    ok(!record_cut_read, "a flow record cut short, or with bytes after its end, is refused (%d "
       "were read)", record_cut_read);
    /* not a record: JSON text, too short, another version, trailing bytes */
    struct flow_json_text o = {0};
    unsigned char v2[] = {FLOW_RECORD_MAGIC, FLOW_RECORD_VERSION + 1, 0};
    ok(flow_detail_emit("{}", 2, &o) == -1 && flow_detail_emit(v2, 1, &o) == -1 &&
       flow_detail_emit(v2, sizeof v2, &o) == -1 && !flow_detail_is_record("{\"a\":1}", 7),
       "JSON text, a record of an unknown version and a stub are not read as records");
    json_t *j = flow_detail_load("{\"a\":1}", 7);
    ok(j && json_integer_value(json_object_get(j, "a")) == 1,
       "flow_detail_load reads a JSON text detail (schema 1 rows) as it is");
    json_decref(j);
    flow_json_text_free(&o);
    return done();
}
