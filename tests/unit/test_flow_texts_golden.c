/* test_flow_texts_golden.c — the store's texts of a flow, byte for byte, against what they were
 * before the writer's texts were made cheaper (i25-texts): the summary JSON, the detail record
 * as packed into the row (its bytes: the format of every session file), and the detail JSON it
 * gives back when read (flow_detail_emit). Flows: bench's S1 (TLS facts by reference and
 * written out), S4 (plain), a failed one (no response, connect attempts, HTTP/2 stream ids,
 * trailers, bytes to escape or map as Latin-1, a cut body), one touched by rules (hits,
 * throttle, breakpoints, replayed) with a JSON answer that warns, and a tunnel. A changed byte
 * anywhere shows as a differing text. HP_GOLDEN_PRINT=1 prints the texts as C literals instead
 * (tests/unit/test_flow_texts_golden.h is that output). Records change only with the session
 * format (docs/CONTRACTS.md): each flow's record as d970759 wrote it (test_flow_texts_golden_i25.h)
 * must read (flow_detail_load and flow_json_put_back, as store_reader_get) as today's does, byte
 * for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/flow.h"
#include "../../src/flow_detail.h"
#include "../../src/flow_json.h"
#include "tap.h"
#include <jansson.h>

static struct http1_head *head(int is_request, const char *const *nv)
{
    struct http1_head *h = calloc(1, sizeof *h);
    size_t n = 0, total = 1;
    while (nv && nv[2 * n]) {
        total += strlen(nv[2 * n]) + strlen(nv[2 * n + 1]) + 2;
        n++;
    }
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
    h->target = h->reason = h->buf;
    h->major = h->minor = 1;
    return h;
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

static struct flow_tls_shared *tls_leg(int upstream)
{
    struct flow_tls_shared *s = flow_tls_shared_new();
    struct flow_tls *t = &s->t;
    t->present = t->handshake_done = 1;
    strcpy(t->version, "TLSv1.3");
    strcpy(t->cipher, "TLS_AES_128_GCM_SHA256");
    strcpy(t->alpn, "http/1.1");
    strcpy(t->sni, "bench.test");
    t->forward_secret = 1;
    if (upstream) {
        strcpy(t->peer_subject, "CN=bench.test");
        strcpy(t->peer_issuer, "CN=httpeek test root");
        strcpy(t->peer_not_before, "2026-01-01T00:00:00Z");
        strcpy(t->peer_not_after, "2027-01-01T00:00:00Z");
        strcpy(t->peer_key_type, "EC");
        t->peer_key_bits = 256;
        strcpy(t->peer_sig, "ecdsa-with-SHA256");
        strcpy(t->peer_names, "bench.test, 127.0.0.1");
        t->resumed = 1;
    } else {
        strcpy(t->leaf, "minted");
        strcpy(t->leaf_reason, "httpeek's CA signed a certificate for the name the app asked for.");
    }
    return s;
}

static void fixed_times(struct flow *f, double total)
{
    f->started.tv_sec = 1796750401; /* 2026-12-08T17:20:01Z */
    f->started.tv_usec = 123456;
    f->timings = (struct flow_timings){.blocked = -1, .dns = 0.25, .connect = 1.5, .ssl = 3.125,
                                       .send = 0.005, .wait = 12.5, .receive = 0.0004,
                                       .total = total};
}

/* bench's S1 (tls) or S4 flow: loadgen's GET /1k, nginx's answer with a KiB of bytes */
static struct flow *bench_flow(uint64_t id, int tls, struct flow_tls_shared *legs[2])
{
    struct flow *f = flow_new(id, 7, 1 << 20);
    f->kind = FLOW_HTTP;
    strcpy(f->client_addr, "127.0.0.1");
    f->client_port = 40123;
    strcpy(f->scheme, tls ? "https" : "http");
    strcpy(f->host, "bench.test");
    f->port = tls ? 8443 : 8080;
    strcpy(f->server_ip, "127.0.0.1");
    flow_set_url(f, tls ? "https://bench.test:8443/1k" : "http://bench.test:8080/1k");
    f->reused_upstream = 1;
    f->req = head(1, H("Host", "bench.test:8443", "User-Agent", "httpeek-loadgen"));
    f->req->method = HTTP_GET;
    f->req->target = "/1k";
    f->req->wire_size = 64;
    f->resp = head(0, H("Server", "nginx/1.22.1", "Date", "Mon, 07 Dec 2026 17:20:01 GMT",
                        "Content-Type", "application/octet-stream", "Content-Length", "1024",
                        "Last-Modified", "Mon, 07 Dec 2026 17:14:51 GMT", "Connection",
                        "keep-alive", "ETag", "\"6935ba2b-400\"", "Accept-Ranges", "bytes"));
    f->resp->status = 200;
    f->resp->reason = "OK";
    f->resp->wire_size = 250;
    unsigned char body[1024];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (unsigned char)(i * 131 + 7);
    flow_capture_add(&f->resp_body, (const char *)body, sizeof body);
    if (tls) {
        flow_set_tls(f, 0, legs[0]);
        flow_set_tls(f, 1, legs[1]);
    }
    f->bytes_up = 80;
    f->bytes_down = 1300;
    fixed_times(f, 17.375);
    return f;
}

static struct flow *failed_flow(void)
{
    struct flow *f = flow_new(41, 9, 16);
    f->kind = FLOW_HTTP;
    strcpy(f->client_addr, "::1");
    f->client_port = 51000;
    strcpy(f->scheme, "https");
    strcpy(f->host, "api.example.test");
    f->port = 443;
    flow_set_url(f, "https://api.example.test/v1/items?q=caf\xe9&x=\"1\"#frag");
    f->req = head(1, H("Host", "api.example.test", "User-Agent",
                       "MyApp/3.2 CFNetwork/1496.0.7 Darwin/23.5.0", "X-Odd",
                       "tab\there \"quoted\" back\\slash \x01\x1f caf\xe9 \xc3\xa9t\xc3\xa9",
                       "Content-Type", "application/json"));
    f->req->method = HTTP_POST;
    f->req->target = "/v1/items?q=caf\xe9&x=\"1\"";
    f->req->wire_size = 300;
    f->req->major = 2;
    f->req->minor = 0;
    f->req_trailers = head(1, H("grpc-status", "0", "x-checksum", "abc"));
    flow_capture_add(&f->req_body, "{\"name\":\"a long enough body to be cut\"}", 40);
    f->connect_attempts.n = 2;
    strcpy(f->connect_attempts.a[0].addr, "2001:db8::1");
    f->connect_attempts.a[0].family = 6;
    strcpy(f->connect_attempts.a[0].outcome, "timeout");
    f->connect_attempts.a[0].ms = 250;
    strcpy(f->connect_attempts.a[1].addr, "192.0.2.7");
    f->connect_attempts.a[1].family = 4;
    strcpy(f->connect_attempts.a[1].outcome, "refused");
    f->connect_attempts.a[1].ms = 3;
    f->h2_stream_id = 5;
    f->fail.failed = 1;
    f->fail.stage = FLOW_STAGE_CONNECT;
    f->fail.sys_errno = 111;
    f->fail.status_sent = 502;
    strcpy(f->fail.closed_by, "server");
    f->fail.parse_error = "HPE_INVALID_METHOD";
    strcpy(f->fail.reason, "connect: Connection refused");
    strcpy(f->note, "a note with \"quotes\" and a\nnewline");
    f->diag_code = -1004;
    f->bytes_up = 340;
    fixed_times(f, 253.0);
    return f;
}

static struct flow *ruled_flow(void)
{
    struct flow *f = flow_new(42, 9, 1 << 20);
    f->kind = FLOW_HTTP;
    strcpy(f->client_addr, "10.0.0.2");
    f->client_port = 50999;
    strcpy(f->scheme, "http");
    strcpy(f->host, "shop.test");
    f->port = 80;
    strcpy(f->server_ip, "10.0.0.9");
    flow_set_url(f, "http://shop.test/api/cart");
    f->req = head(1, H("Host", "shop.test", "User-Agent", "okhttp/4.12.0", "Accept",
                       "application/json", "If-None-Match", "\"v1\""));
    f->req->method = HTTP_GET;
    f->req->target = "/api/cart";
    f->resp = head(0, H("Content-Type", "text/html; charset=utf-8", "Cache-Control",
                        "max-age=60", "Vary", "*", "Date", "Mon, 07 Dec 2026 17:20:01 GMT"));
    f->resp->status = 404;
    f->resp->reason = "Not Found";
    flow_capture_add(&f->resp_body, "{\"error\":\"no cart\"}", 19);
    f->rules = calloc(1, sizeof *f->rules);
    f->rules->n = 2;
    strcpy(f->rules->hit[0].id, "r1");
    strcpy(f->rules->hit[0].action, "rewrite");
    strcpy(f->rules->hit[0].detail, "response header X-A");
    f->rules->hit[0].changed = 1;
    strcpy(f->rules->hit[0].before, "old");
    strcpy(f->rules->hit[0].after, "new \"one\"");
    strcpy(f->rules->hit[1].id, "r2");
    strcpy(f->rules->hit[1].action, "map_remote");
    strcpy(f->rules->hit[1].detail, "sent to http://10.0.0.9/api/cart");
    strcpy(f->rules->throttle, "3g");
    f->rules->throttled_ms = 300;
    f->breakpoints = strdup("[{\"stage\":\"request\",\"rule\":\"b1\",\"waited_ms\":12}]");
    f->replay_of = 40;
    f->composed = 1;
    f->h2_upstream_stream_id = 3;
    f->own = 0;
    fixed_times(f, 1.0);
    return f;
}

static struct flow *tunnel_flow(void)
{
    struct flow *f = flow_new(43, 10, 1 << 20);
    f->kind = FLOW_TUNNEL;
    strcpy(f->client_addr, "127.0.0.1");
    f->client_port = 40000;
    strcpy(f->host, "pinned.test");
    f->port = 443;
    strcpy(f->server_ip, "127.0.0.1");
    flow_set_url(f, "pinned.test:443");
    strcpy(f->note, "tunnel not intercepted");
    f->bytes_up = 5120;
    f->bytes_down = 88000;
    fixed_times(f, 900.5);
    return f;
}

#include "test_flow_texts_golden.h"
#include "test_flow_texts_golden_i25.h"

/* A detail record read as store_reader_get reads it, as compact JSON text (malloc'd), or NULL. */
static char *read_back(const char *rec, size_t len)
{
    json_t *o = flow_detail_load(rec, len);
    if (!o)
        return NULL;
    flow_json_put_back(o);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* The bytes as a C string literal: printable ASCII as is, others as 3-digit octal escapes (no
 * hex escape that could run into the next character). */
static void print_literal(const char *name, const char *p, size_t n)
{
    printf("    /* %s */\n    {\"", name);
    size_t col = 5;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (col > 92) {
            printf("\"\n     \"");
            col = 5;
        }
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
            putchar(c);
            col++;
        } else {
            printf("\\%03o", c);
            col += 4;
        }
    }
    printf("\",\n     %zu},\n", n);
}

int main(void)
{
    int print = getenv("HP_GOLDEN_PRINT") != NULL;
    struct flow_tls_shared *legs[2] = {tls_leg(0), tls_leg(1)};
    struct flow *flows[] = {bench_flow(1001, 1, legs), bench_flow(1002, 1, legs),
                            bench_flow(1003, 0, legs), failed_flow(), ruled_flow(),
                            tunnel_flow()};
    /* the refs of TLS facts written apart (the store's way for shared facts), 0: written out */
    const long long refs[][2] = {{5, 6}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}};
    const char *names[] = {"S1, TLS facts by reference", "S1, TLS facts written out", "S4",
                           "failed", "rules", "tunnel"};
    size_t nflows = sizeof flows / sizeof *flows;
    if (print)
        printf("/* test_flow_texts_golden.h — made by HP_GOLDEN_PRINT=1 test_flow_texts_golden: per "
               "flow its\n * summary, detail record and detail as read back, each text then its "
               "length. */\nstatic const struct {\n    const char *text;\n    size_t len;\n} "
               "golden[] = {\n");
    int all_ok = 1;
    for (size_t i = 0; i < nflows; i++) {
        struct flow_json_text t = {0}, back = {0};
        t.detail_only = t.detail_record = 1; /* as store_row.c writes a row */
        t.tls_ref[0] = refs[i][0];
        t.tls_ref[1] = refs[i][1];
        int rc = flow_json_texts(flows[i], &t);
        int emitted = rc == 0 ? flow_detail_emit(t.detail, t.detail_len, &back) : -1;
        const char *text[3] = {t.buf, t.detail, back.buf};
        size_t len[3] = {t.summary_len, t.detail_len, back.len};
        const char *what[3] = {"summary", "detail record", "detail read back"};
        for (int k = 0; k < 3; k++) {
            char label[96];
            snprintf(label, sizeof label, "%s: %s", names[i], what[k]);
            if (print) {
                print_literal(label, text[k] ? text[k] : "", len[k]);
                continue;
            }
            size_t g = i * 3 + (size_t)k;
            int same = rc == 0 && emitted == 0 && g < sizeof golden / sizeof *golden &&
                       golden[g].len == len[k] && !memcmp(golden[g].text, text[k], len[k]);
            if (!same) {
                all_ok = 0;
                printf("# %s differs:\n#   now:    %.*s\n#   before: %s\n", label, (int)len[k],
                       text[k] ? text[k] : "", g < sizeof golden / sizeof *golden ? golden[g].text
                                                                                : "(none)");
            }
            ok(same, "%s is what it was, byte for byte", label);
        }
        if (!print) { /* a file written before reads as one written now */
            char *now = rc == 0 ? read_back(t.detail, t.detail_len) : NULL;
            char *before = read_back(golden_i25[i * 3 + 1].text, golden_i25[i * 3 + 1].len);
            int same = now && before && !strcmp(now, before);
            if (!same)
                printf("# %s: read back differs:\n#   now:    %s\n#   before: %s\n", names[i],
                       now ? now : "(none)", before ? before : "(none)");
            ok(same, "%s: its record and d970759's read back the same, byte for byte", names[i]);
            all_ok &= same;
            free(now);
            free(before);
        }
        flow_json_text_free(&t);
        flow_json_text_free(&back);
        flow_free(flows[i]);
    }
    if (print) {
        printf("};\n");
        return 0;
    }
    ok(all_ok && nflows * 3 == sizeof golden / sizeof *golden, "every text of the %zu flows", nflows);
    flow_tls_shared_unref(legs[0]);
    flow_tls_shared_unref(legs[1]);
    return done();
}
