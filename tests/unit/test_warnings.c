/* test_warnings.c — the app-level warnings of warnings.c: each fires exactly where the app's
 * networking layer would fail (or, for cache notes, says what URLCache does), and stays silent
 * otherwise; the JSON scan reports where a body breaks; the body facts are computed once. */
#include "../../src/warnings.c"
#include "../../src/diagnose.h"

#include <stdlib.h>
#include <zlib.h>
#include "tap.h"

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

/* A finished GET to url (http://host/...) answered with status, resp headers and body. */
static struct flow *mk(const char *scheme, const char *host, const char *const *req, int status,
                       const char *const *resp, const char *body, size_t blen)
{
    struct flow *f = flow_new(1, 1, 1 << 20);
    f->kind = FLOW_HTTP;
    snprintf(f->scheme, sizeof f->scheme, "%s", scheme);
    snprintf(f->host, sizeof f->host, "%s", host);
    char url[300];
    snprintf(url, sizeof url, "%s://%s/x", scheme, host);
    flow_set_url(f, url);
    f->req = head(1, req);
    f->req->method = HTTP_GET;
    if (status) {
        f->resp = head(0, resp);
        f->resp->status = status;
    }
    if (body)
        flow_capture_add(&f->resp_body, body, blen);
    return f;
}

/* The warnings of f as "kind:code kind:code ..." (f freed). */
static char *kinds(struct flow *f, struct diagnosis *first)
{
    static char out[256];
    struct diagnosis w[10];
    size_t n = warnings_app(f, w, 10);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s:%d", i ? " " : "", w[i].kind,
                 w[i].entry->code);
    if (first && n)
        *first = w[0];
    flow_free(f);
    return out;
}

static const char *const ACCEPT_JSON[] = {"Accept", "application/json", NULL};
static const char *const NO_HEADERS[] = {NULL};
static const char *const HTML[] = {"Content-Type", "text/html", NULL};
static const char *const JSON[] = {"Content-Type", "application/json; charset=utf-8", NULL};

int main(void)
{
    struct json_scan_result j;
    const char *valid = "{\"a\": [1, 2.5e3, -0.5, true, false, null, \"x\\u00e9\\n\"], \"b\": {}}";
    json_scan(valid, strlen(valid), &j);
    is_int(j.state, JSON_SCAN_CONTAINER, "json scan: a valid object");
    json_scan("{\"a\": 1, \"b\": }", 15, &j);
    ok(j.state == JSON_SCAN_BAD && j.at == 14 && !strcmp(j.why, "Invalid value"),
       "json scan: a missing value breaks at its byte (14), 'Invalid value'");
    json_scan("<html>", 6, &j);
    ok(j.state == JSON_SCAN_BAD && j.at == 0 && strstr(j.why, "did not start with array"),
       "json scan: HTML is 'JSON text did not start with array or object' at 0");
    json_scan("[1,\n 2,\n 3", 10, &j);
    ok(j.state == JSON_SCAN_BAD && j.line == 3 && j.col == 3 && j.at == 10,
       "json scan: a cut array breaks at the end, line 3 column 3");
    json_scan("{} x", 4, &j);
    ok(j.state == JSON_SCAN_BAD && !strcmp(j.why, "Garbage at end") && j.at == 3,
       "json scan: garbage after the value");
    json_scan("\"ok\"", 4, &j);
    is_int(j.state, JSON_SCAN_FRAGMENT, "json scan: a bare string is a fragment");
    json_scan(" \r\n", 3, &j);
    is_int(j.state, JSON_SCAN_EMPTY, "json scan: whitespace only is empty");
    char deep[1200];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    json_scan(deep, 1200, &j);
    ok(j.state == JSON_SCAN_BAD && strstr(j.why, "nested"), "json scan: nesting over 512 is refused, not a stack overflow");

    ok(warnings_local_host("mybox.local") && warnings_local_host("nas") &&
       warnings_local_host("192.168.1.20") && warnings_local_host("10.0.0.1") &&
       warnings_local_host("172.20.1.1") && warnings_local_host("169.254.3.4") &&
       warnings_local_host("fe80::1") && warnings_local_host("[fd00::1]"),
       "local hosts: .local, unqualified, private, link-local and unique-local addresses");
    ok(!warnings_local_host("localhost") && !warnings_local_host("127.0.0.1") &&
       !warnings_local_host("::1") && !warnings_local_host("api.example.com") &&
       !warnings_local_host("8.8.8.8") && !warnings_local_host("172.32.0.1"),
       "not local: loopback, public names and public addresses");

    struct diagnosis d;
    const char *body = "<html>502 Bad Gateway</html>";
    is_str(kinds(mk("https", "api.example.com", ACCEPT_JSON, 502, HTML, body, strlen(body)), &d),
           "status:-1011 content-type:-1016", "HTML 502 to a JSON call: status then content-type");
    ok(strstr(d.detail, "Request failed: bad gateway (502)") && d.domain &&
       !strcmp(d.domain, "AFURLResponseSerializationErrorDomain") && !strcmp(d.stage, "response"),
       "status warning quotes AFNetworking's words for 502, in its domain");
    const char *ok_json = "{\"ok\": true}";
    is_str(kinds(mk("https", "api.example.com", ACCEPT_JSON, 200, JSON, ok_json, strlen(ok_json)), NULL),
           "", "valid JSON answering Accept: application/json: silent");
    const char *const ACCEPT_ANY[] = {"Accept", "application/json, text/plain, */*", NULL};
    is_str(kinds(mk("https", "a.example", ACCEPT_ANY, 200, HTML, body, strlen(body)), NULL), "",
           "HTML when the request also accepts */*: silent");
    const char *const ACCEPT_Q0[] = {"Accept", "application/json, text/html;q=0", NULL};
    is_str(kinds(mk("https", "a.example", ACCEPT_Q0, 200, HTML, body, strlen(body)), NULL),
           "content-type:-1016", "text/html;q=0 is not acceptable");
    const char *const PLAIN[] = {"Content-Type", "text/plain", NULL};
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, PLAIN, ok_json, strlen(ok_json)), &d),
           "content-type:-1016", "JSON served as text/plain (no Accept): content-type");
    ok(strstr(d.detail, "served as text/plain") != NULL, "…saying the body is JSON served as text/plain");
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, PLAIN, "hello {", 7), NULL), "",
           "plain text under text/plain: silent");
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, PLAIN, "{not json", 9), NULL), "",
           "text/plain starting with { that is not JSON: silent");

    const char *broken = "{\"a\": 1, \"b\": }";
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, JSON, broken, strlen(broken)), &d),
           "decode:3840", "broken JSON: decode 3840");
    ok(strstr(d.detail, "byte 14") && strstr(d.detail, "Invalid value around character 14") &&
       !strcmp(d.domain, "NSCocoaErrorDomain"), "…with the byte offset and NSCocoaErrorDomain");
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, JSON, NULL, 0), &d), "decode:3840",
           "empty 200 declared JSON: decode 3840");
    ok(strstr(d.detail, "inputDataNilOrZeroLength") != NULL, "…naming Alamofire's inputDataNilOrZeroLength");
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 204, JSON, NULL, 0), NULL), "",
           "empty 204: silent");
    struct flow *f = mk("https", "a.example", NO_HEADERS, 200, JSON, broken, strlen(broken));
    f->resp_body.truncated = 1;
    f->resp_body.total = 5000000;
    is_str(kinds(f, NULL), "cache:0", "a body over the 1 MiB bound is not parsed (only the size note)");
    f = mk("https", "a.example", NO_HEADERS, 200, JSON, broken, 5);
    f->resp_body.truncated = 1;
    f->resp_body.total = 400;
    is_str(kinds(f, &d), "decode:3840", "a truncated JSON capture: a note that httpeek cannot tell");
    ok(strstr(d.detail, "Cannot tell") != NULL, "…worded 'Cannot tell', not a guess");

    const char *const GZ[] = {"Content-Type", "application/json", "Content-Encoding", "gzip", NULL};
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, GZ, ok_json, strlen(ok_json)), &d),
           "decode:-1015", "gzip declared, plain bytes sent: -1015");
    ok(!d.domain && strstr(d.detail, "Content-Encoding: gzip"), "…in NSURLErrorDomain (no domain field)");
    unsigned char gz[128];
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)broken;
    z.avail_in = (unsigned)strlen(broken);
    z.next_out = gz;
    z.avail_out = sizeof gz;
    deflate(&z, Z_FINISH);
    size_t gzlen = sizeof gz - z.avail_out;
    deflateEnd(&z);
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, GZ, (char *)gz, gzlen), NULL),
           "decode:3840", "gzip body decoded first, then its broken JSON found");

    const char *pl = "#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://key1\"\nhttps://c.example/a.ts\n"
                     "b.ts\nhttp://c.example/c.ts\nftp://c.example/d.ts\nbad name.ts\n";
    const char *const M3U8[] = {"Content-Type", "application/vnd.apple.mpegurl", NULL};
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, M3U8, pl, strlen(pl)), &d),
           "hls:-1002 hls:-1022", "playlist: unsupported/malformed URIs (-1002) and cleartext (-1022)");
    ok(strstr(d.detail, "2 of the playlist's 6 URIs") && strstr(d.detail, "line 6") &&
       strstr(d.detail, "ftp://c.example/d.ts"), "…counting them (skd:// key allowed) and naming the first");
    const char *good = "#EXTM3U\nhttps://c.example/a.ts\nb.ts\n";
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, M3U8, good, strlen(good)), NULL), "",
           "a playlist of https and relative URIs: silent");

    is_str(kinds(mk("http", "mybox.local", NO_HEADERS, 200, JSON, ok_json, strlen(ok_json)), &d),
           "local-network:-1022", "cleartext to a .local host: local-network -1022");
    ok(strstr(d.entry->fix, "NSAllowsLocalNetworking") != NULL, "…whose fix is NSAllowsLocalNetworking");
    is_str(kinds(mk("http", "127.0.0.1", NO_HEADERS, 200, JSON, ok_json, strlen(ok_json)), NULL), "",
           "cleartext to loopback: silent");

    const char *const MAXAGE[] = {"Content-Type", "application/json", "Cache-Control", "max-age=3600", NULL};
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, MAXAGE, ok_json, strlen(ok_json)), &d),
           "cache:0", "max-age response: a cache note (code 0)");
    ok(strstr(d.detail, "fresh for 60 min (max-age)") != NULL, "…fresh for 60 min");
    const char *const NOSTORE[] = {"Cache-Control", "private, no-store", NULL};
    kinds(mk("https", "a.example", NO_HEADERS, 200, NOSTORE, ok_json, strlen(ok_json)), &d);
    ok(strstr(d.detail, "Not stored (no-store)") != NULL, "no-store: not stored");
    const char *const LM[] = {"Date", "Sun, 11 Feb 2024 00:00:00 GMT", "Last-Modified",
                              "Thu, 01 Feb 2024 00:00:00 GMT", NULL};
    kinds(mk("https", "a.example", NO_HEADERS, 200, LM, ok_json, strlen(ok_json)), &d);
    ok(strstr(d.detail, "fresh for 24.0 h by heuristic") != NULL,
       "Last-Modified 10 days before Date: heuristic freshness of 1 day");
    const char *const INM[] = {"If-None-Match", "\"v1\"", NULL};
    const char *const ETAG[] = {"ETag", "\"v1\"", NULL};
    kinds(mk("https", "a.example", INM, 304, ETAG, NULL, 0), &d);
    ok(strstr(d.detail, "Conditional request (If-None-Match: \"v1\")") && strstr(d.detail, "304 Not Modified"),
       "a 304 to If-None-Match: marked conditional and revalidated");
    char *big = calloc(1, 600000);
    memset(big, 'x', 599999);
    const char *const OCTET[] = {"Content-Type", "application/octet-stream", "ETag", "\"b\"", NULL};
    kinds(mk("https", "a.example", NO_HEADERS, 200, OCTET, big, 600000), &d);
    ok(strstr(d.detail, "over 5% of URLCache's disk capacity") != NULL, "a 600 kB body: too large for the default URLCache");
    free(big);
    is_str(kinds(mk("https", "a.example", NO_HEADERS, 200, PLAIN, "hi", 2), NULL), "",
           "no caching headers at all: no cache note");

    /* computed once: the second call reuses the facts even if the bytes changed */
    f = mk("https", "a.example", NO_HEADERS, 200, JSON, broken, strlen(broken));
    struct diagnosis w[10];
    size_t n1 = warnings_app(f, w, 10);
    f->resp_body.data[0] = 'X';
    size_t n2 = warnings_app(f, w, 10);
    ok(n1 == 1 && n2 == 1 && f->checks.done && f->checks.json_at == 14, "body facts are computed once and cached in the flow");
    flow_free(f);
    f = mk("https", "a.example", ACCEPT_JSON, 502, HTML, body, strlen(body));
    n1 = diagnose_warnings(f, w, 4);
    ok(n1 == 2 && f->checks.kinds[0] && !strcmp(f->checks.kinds[0], "status") &&
       !strcmp(f->checks.kinds[1], "content-type"), "diagnose_warnings remembers the kinds for the terminal line");
    char line[512];
    f->nwarn = 0;
    for (size_t i = 0; i < n1; i++)
        f->warn_codes[f->nwarn++] = w[i].entry->code;
    flow_format_line(f, line, sizeof line);
    ok(strstr(line, "[-1011 status] [-1016 content-type]") != NULL, "terminal line: %s", line);
    flow_free(f);

    /* playlist URIs resolve against the playlist's URL (RFC 3986 5.2) for links.c */
    static const struct { const char *base, *u, *want; } res[] = {
        {"https://cdn.example/v/main.m3u8?tok=1", "seg1.ts", "https://cdn.example/v/seg1.ts"},
        {"https://cdn.example/v/main.m3u8", "../a/seg.ts?x=1#f", "https://cdn.example/a/seg.ts?x=1"},
        {"https://cdn.example/v/w/main.m3u8", "./../../b/./c.ts", "https://cdn.example/b/c.ts"},
        {"https://cdn.example/v/main.m3u8", "/abs/seg.ts", "https://cdn.example/abs/seg.ts"},
        {"https://cdn.example:8443/v/main.m3u8", "//other.example/s.ts", "https://other.example/s.ts"},
        {"http://a.example/v/main.m3u8", "HTTPS://b.example/x/../y.ts", "HTTPS://b.example/y.ts"},
        {"http://a.example/v/main.m3u8", "https://b.example", "https://b.example/"},
        {"http://a.example/main.m3u8", "?v=2", "http://a.example/main.m3u8?v=2"},
        {"http://a.example", "s.ts", "http://a.example/s.ts"},
    };
    for (size_t i = 0; i < sizeof res / sizeof *res; i++) {
        char out[256];
        int rc = hls_resolve(res[i].base, res[i].u, strlen(res[i].u), out, sizeof out);
        ok(rc == 0 && !strcmp(out, res[i].want), "hls_resolve %s + %s = %s (got %s)", res[i].base,
           res[i].u, res[i].want, rc ? "error" : out);
    }
    char out[64];
    ok(hls_resolve("https://a.example/m.m3u8", "ftp://x/y.ts", 12, out, sizeof out) < 0 &&
           hls_resolve("https://a.example/m.m3u8", "seg 4.ts", 8, out, sizeof out) < 0 &&
           hls_resolve("https://a.example/m.m3u8", "skd://key", 9, out, sizeof out) < 0,
       "hls_resolve refuses other schemes and URIs with spaces");
    ok(hls_resolve("https://a.example/m.m3u8", "s.ts", 4, out, 10) < 0, "hls_resolve: too long is an error");
    return done();
}
