/* test_search.c — the body and header search (search.h) through its contract, on a real session
 * file written by the store: body terms match decoded bodies (gzip undone) case-insensitively on
 * the side asked for, header terms match names exactly and values by substring, mitmproxy's ~
 * forms, negation and AND, paging by limit and by the work budget (next_after/done), queries
 * without a search term refused with a reason, and a hidden (cleared) flow never returned. */
#include "../../src/search.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "../../src/flow.h"
#include "../../src/http1.h"
#include "tap.h"

static atomic_ullong committed;
static void on_commit(uint64_t lo, uint64_t hi, void *arg)
{
    (void)arg;
    atomic_fetch_add(&committed, hi - lo + 1);
}

/* A head with the given fields (name, value pairs, NULL-terminated). */
static struct http1_head *head(int request, const char *const *nv)
{
    struct http1_head *h = calloc(1, sizeof *h);
    h->buf = malloc(1024);
    size_t n = 0;
    while (nv[2 * n])
        n++;
    h->fields = calloc(n + 1, sizeof *h->fields);
    char *p = h->buf;
    *p++ = '\0';
    h->reason = h->buf;
    h->target = "/x";
    for (size_t i = 0; i < n; i++) {
        h->fields[i].name = p;
        p = stpcpy(p, nv[2 * i]) + 1;
        h->fields[i].value = p;
        p = stpcpy(p, nv[2 * i + 1]) + 1;
    }
    h->nfields = n;
    h->is_request = request;
    h->method = 3; /* POST */
    h->status = 200;
    h->major = h->minor = 1;
    return h;
}

static size_t gzip_of(const char *text, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static struct flow *mk(uint64_t id, const char *const *reqh, const char *reqbody, const char *const *resph,
                       const void *respbody, size_t resplen)
{
    struct flow *f = flow_new(id, 1, 1 << 20);
    snprintf(f->host, sizeof f->host, "h%llu.test", (unsigned long long)id);
    snprintf(f->scheme, sizeof f->scheme, "http");
    f->port = 80;
    char url[64];
    snprintf(url, sizeof url, "http://h%llu.test/x", (unsigned long long)id);
    flow_set_url(f, url);
    f->req = head(1, reqh);
    if (reqbody)
        flow_capture_add(&f->req_body, reqbody, strlen(reqbody));
    f->resp = head(0, resph);
    if (respbody)
        flow_capture_add(&f->resp_body, respbody, resplen);
    f->marks.end = flow_now_us();
    return f;
}

/* The ids search_run returns for q (after, limit, budget), as "1,2,3" + " done"/" more@N". */
static const char *run(struct store_reader *r, const char *q, uint64_t after, size_t limit, size_t budget)
{
    static char out[256];
    char err[160];
    struct search_query *sq = search_parse(q, err, sizeof err);
    if (!sq) {
        snprintf(out, sizeof out, "error: %s", err);
        return out;
    }
    json_t *ids = json_array();
    struct search_page page;
    int rc = search_run(r, sq, after, limit, budget, ids, &page);
    size_t n = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(ids, i, v)
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
    snprintf(out + n, sizeof out - n, rc < 0 ? " store-error" : page.done ? " done" : " more@%llu",
             (unsigned long long)page.next_after);
    json_decref(ids);
    search_free(sq);
    return out;
}

int main(void)
{
    char dir[] = "/tmp/test_search.XXXXXX", path[128], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/s.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    ok(s != NULL, "a session to search (%s)", s ? "ok" : err);
    if (!s)
        return 1;
    store_set_notify(s, on_commit, NULL);

    static const char *const req_id[] = {"Host", "h1.test", "X-Request-Id", "Req-7781", "Content-Type", "application/json", NULL};
    static const char *const req_plain[] = {"Host", "h.test", "X-Request-IdX", "nope", NULL};
    static const char *const resp_json[] = {"Content-Type", "application/json", NULL};
    static const char *const resp_gz[] = {"Content-Type", "application/json", "Content-Encoding", "gzip", NULL};
    unsigned char gz[256];
    size_t gzlen = gzip_of("{\"order\":\"SKU-1002\",\"note\":\"gzipped\"}", gz, sizeof gz);
    /* 1: header X-Request-Id, request body with SKU-1002; 2: gzip response body with SKU-1002;
     * 3: a look-alike header name, response body SKU-2001; 4: no bodies */
    store_sink(mk(1, req_id, "{\"sku\":\"SKU-1002\"}", resp_json, "{\"ok\":true}", 11), s);
    store_sink(mk(2, req_plain, NULL, resp_gz, gz, gzlen), s);
    store_sink(mk(3, req_plain, "plain", resp_json, "{\"sku\":\"SKU-2001\"}", 18), s);
    store_sink(mk(4, req_plain, NULL, resp_json, NULL, 0), s);
    for (int i = 0; i < 500 && atomic_load(&committed) < 4; i++)
        usleep(10000);
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    ok(r != NULL, "a reader (%s)", r ? "ok" : err);
    if (!r)
        return 1;

    is_str(run(r, "body:SKU-1002", 0, 0, 1 << 20), "1,2 done", "body: matches the request body and a gzip response body, decoded");
    is_str(run(r, "body:sku-1002", 0, 0, 1 << 20), "1,2 done", "case-insensitively");
    is_str(run(r, "reqbody:SKU-1002", 0, 0, 1 << 20), "1 done", "reqbody: only the request body");
    is_str(run(r, "respbody:SKU", 0, 0, 1 << 20), "2,3 done", "respbody: only the response body");
    is_str(run(r, "~bq SKU-1002", 0, 0, 1 << 20), "1 done", "~bq TEXT is reqbody:");
    is_str(run(r, "~bs sku-2001", 0, 0, 1 << 20), "3 done", "~bs TEXT is respbody:");
    is_str(run(r, "~b gzipped", 0, 0, 1 << 20), "2 done", "~b TEXT is body:");
    is_str(run(r, "header:x-request-id", 0, 0, 1 << 20), "1 done", "header:NAME matches the name exactly (not X-Request-IdX)");
    is_str(run(r, "header:X-Request-Id=req-77", 0, 0, 1 << 20), "1 done", "header:NAME=VALUE matches a value substring");
    is_str(run(r, "header:X-Request-Id=zzz", 0, 0, 1 << 20), " done", "and not another value");
    is_str(run(r, "~hq x-request-id: zzz", 0, 0, 1 << 20), "1 done", "~hq takes the next word only (zzz is left to the viewer)");
    is_str(run(r, "~hq \"request-idx: nope\"", 0, 0, 1 << 20), "2,3,4 done", "~hq \"TEXT\" matches a request header line Name: value");
    is_str(run(r, "~hs content-encoding", 0, 0, 1 << 20), "2 done", "~hs matches response header lines");
    is_str(run(r, "-body:SKU-1002", 0, 0, 1 << 20), "3,4 done", "a leading - negates");
    is_str(run(r, "body:SKU header:x-request-id", 0, 0, 1 << 20), "1 done", "terms combine with AND");
    is_str(run(r, "host:h1.test body:SKU-1002 /x", 0, 0, 1 << 20), "1,2 done", "the viewer's own terms are ignored");
    is_str(run(r, "body:SKU", 0, 1, 1 << 20), "1 more@1", "limit: stops at the first match, next_after is it");
    is_str(run(r, "body:SKU", 1, 1, 1 << 20), "2 more@2", "after=next_after goes on");
    is_str(run(r, "body:SKU", 3, 0, 1 << 20), " done", "after the last flow: nothing, done");
    is_str(run(r, "body:SKU", 0, 0, 1), "1 more@1", "a tiny budget still examines one flow per call");
    is_str(run(r, "body:SKU", 1, 0, 1), "2 more@2", "and the next call the next one");
    is_str(run(r, "hello", 0, 0, 1 << 20), "error: no body or header term (body:TEXT, header:NAME[=VALUE], ~b, ~h)", "no search term: refused with a reason");
    is_str(run(r, "body:", 0, 0, 1 << 20), "error: body: needs a text to search for", "body: without text: refused");
    is_str(run(r, "header:=x", 0, 0, 1 << 20), "error: header: needs a name before '='", "header:=VALUE: refused");
    is_str(run(r, "~b", 0, 0, 1 << 20), "error: ~b needs a text to search for", "~b without text: refused");
    /* any bytes as a query: a term list or a reason, never a crash (ASan build checks the rest) */
    {
        static const char alphabet[] = "bodyheaderq:~-=\" \t\xff\x01SKU";
        unsigned seed = 12345;
        int answered = 1;
        for (int i = 0; i < 20000 && answered; i++) {
            char q[40];
            size_t n = (seed = seed * 1103515245u + 12345u) % sizeof q;
            for (size_t k = 0; k < n; k++)
                q[k] = alphabet[(seed = seed * 1103515245u + 12345u) % (sizeof alphabet - 1)];
            q[n] = '\0';
            char why[160] = "";
            struct search_query *sq = search_parse(q, why, sizeof why);
            answered = sq != NULL || why[0] != '\0';
            search_free(sq);
        }
        ok(answered, "20,000 random queries: each parsed or refused with a reason");
    }
    ok(store_reader_clear(r) == 0, "clear");
    is_str(run(r, "body:SKU", 0, 0, 1 << 20), " done", "cleared flows are never returned");

    store_reader_close(r);
    store_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
