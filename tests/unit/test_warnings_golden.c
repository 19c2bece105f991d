/* test_warnings_golden.c — every app-level warning (warnings_app: kind, code, stage, domain and
 * the whole detail text) for a table of responses, against the texts the warnings gave before
 * their header scan, date parsing and media-type helpers were made cheaper (i24-store): header
 * names in any case, duplicates (the first counts), names one letter off, each HTTP-date form
 * (IMF-fixdate, RFC 850, asctime, malformed), max-age / Expires / heuristic / Age, no-cache,
 * Pragma, Vary, conditional requests, 304, statuses, Accept and Content-Type verdicts, JSON bodies.
 * A changed or missing warning shows as a differing text. HP_GOLDEN_PRINT=1 prints the table's
 * texts as C literals instead (to add a case). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/diagnose.h"
#include "../../src/warnings.h"
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

struct golden {
    const char *scheme, *host;
    int method; /* HTTP_GET, HTTP_HEAD */
    const char *const *req;
    int status;
    const char *const *resp;
    const char *body;
};

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})
#define NGINX_DATE "Mon, 07 Dec 2026 17:20:01 GMT"

static const char rnd[] = "\x8f\x01\xfe\x33\x90\x12\x7f\x00\xc3\x28\x44"; /* not text, not JSON */

static struct golden cases[] = {
    /* what bench S1/S4 record: nginx's static file answer */
    {"https", "bench.test", HTTP_GET, H("Host", "bench.test:8443", "User-Agent", "httpeek-loadgen"),
     200,
     H("Server", "nginx/1.22.1", "Date", NGINX_DATE, "Content-Type", "application/octet-stream",
       "Content-Length", "1024", "Last-Modified", "Mon, 07 Dec 2026 17:14:51 GMT", "Connection",
       "keep-alive", "ETag", "\"6935ba2b-400\"", "Accept-Ranges", "bytes"),
     rnd},
    {"http", "bench.test", HTTP_GET, H("Host", "bench.test:8080"), 200,
     H("Server", "nginx", "Date", NGINX_DATE, "Content-Type", "application/octet-stream",
       "Last-Modified", "Mon, 07 Dec 2026 17:14:51 GMT", "ETag", "\"x\""),
     rnd},
    /* names in other cases, parameters and upper-case types */
    {"https", "a.example", HTTP_GET, H("ACCEPT", "Application/JSON"), 200,
     H("CACHE-CONTROL", "Public, MAX-AGE=120", "content-TYPE", "Application/JSON; charset=utf-8"),
     "{\"a\":1}"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Cache-Control", "max-age=\"60\"", "Age", "30", "Content-Type", "application/json"),
     "[1,2]"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Cache-Control", "max-age=abc", "Date", NGINX_DATE, "Expires", "Mon, 07 Dec 2026 18:20:01 GMT"),
     "x"},
    /* Expires - Date, an invalid Expires, Age past the lifetime */
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", NGINX_DATE, "Expires", "Tue, 08 Dec 2026 17:20:01 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Date", NGINX_DATE, "Expires", "0"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", NGINX_DATE, "Expires", "Mon, 07 Dec 2026 17:25:01 GMT", "Age", "400"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", NGINX_DATE, "Expires", "Mon, 07 Dec 2026 17:25:01 GMT", "Age", "-5"), "x"},
    /* the obsolete date forms, and malformed ones */
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sunday, 06-Nov-94 08:49:37 GMT", "Last-Modified", "Sun Oct  6 08:49:37 1994"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sun, 06 Nov 1994 08:49:37", "Last-Modified", "Sun, 06 Nov 1994 07:49:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sun, 06 Nox 1994 08:49:37 GMT", "Expires", "Sun, 06 Nov 1994 09:49:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sun, 06 nov 1994 08:49:37 GMT", "Expires", "Sun, 6 Nov 1994 09:49:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sun, 06 Nov 1994 08:49:37 GMTX", "Expires", "Sun, 06 Nov 1994 09:4x:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sun,06 Nov 1994 08:49:37 GMT", "Expires", "Sunday, 06 Nov 1994 09:49:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Sun, 29 Feb 2000 23:59:59 GMT", "Last-Modified", "Fri, 01 Jan 1971 00:00:00 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "Thu, 01 Jan 2026 00:00:00 GMT", "Last-Modified", "Thu, 01 Jan 2026 00:00:01 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "", "Last-Modified", "Wed, 31 Dec 2025 23:00:00 GMT", "ETag", "W/\"1\""), "x"},
    /* no-cache, Pragma, no-store on either side, Vary */
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Pragma", "No-Cache", "ETag", "\"e\""), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Cache-Control", "private", "Pragma", "no-cache", "Last-Modified", NGINX_DATE), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Cache-Control", "no-cache, max-age=60", "Last-Modified", NGINX_DATE), "x"},
    {"https", "a.example", HTTP_GET, H("Cache-Control", "no-store"), 200,
     H("Cache-Control", "max-age=60"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Cache-Control", "max-age=600", "Vary", "Accept-Encoding, User-Agent"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Cache-Control", "max-age=600", "Vary", "*"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Vary", "Origin"), "x"},
    /* conditional requests and 304 */
    {"https", "a.example", HTTP_GET, H("If-Modified-Since", NGINX_DATE), 200,
     H("Last-Modified", NGINX_DATE, "Date", NGINX_DATE), "x"},
    {"https", "a.example", HTTP_GET,
     H("If-None-Match", "\"v1\"", "If-Modified-Since", "Mon, 07 Dec 2026 17:00:00 GMT"), 304,
     H("ETag", "\"v2\""), NULL},
    {"https", "a.example", HTTP_GET, NONE, 304, NONE, NULL},
    {"https", "a.example", HTTP_GET, NONE, 301,
     H("Location", "https://b.example/", "Expires", "Tue, 08 Dec 2026 17:20:01 GMT", "Date",
       NGINX_DATE),
     NULL},
    {"https", "a.example", HTTP_GET, NONE, 203, H("Cache-Control", "max-age=259200"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Cache-Control", "max-age=7199"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Cache-Control", "s-maxage=60, max-age=119"), "x"},
    {"https", "a.example", HTTP_HEAD, NONE, 200, H("Cache-Control", "max-age=60"), NULL},
    /* first of duplicates; names one letter off are not the field */
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Cache-Control", "max-age=30", "cache-control", "no-store", "Date", NGINX_DATE, "Date",
       "Sun, 06 Nov 1994 08:49:37 GMT"),
     "x"},
    {"https", "a.example", HTTP_GET, H("Acept", "text/html", "Accepts", "text/html"), 200,
     H("Ages", "5", "Dates", NGINX_DATE, "Etags", "\"e\"", "X-Expires", NGINX_DATE, "Varies", "*",
       "Content-Typ", "text/html", "Last-Modifier", NGINX_DATE, "Cache-Controls", "no-store"),
     "{\"a\":1}"},
    /* statuses, Accept and Content-Type verdicts, JSON bodies */
    {"https", "a.example", HTTP_GET, H("Accept", "application/json"), 404,
     H("Content-Type", "text/html; charset=utf-8", "Cache-Control", "max-age=60"), "<html>"},
    {"https", "a.example", HTTP_GET, H("Accept", "application/xml, text/html;q=0, image/*"), 200,
     H("Content-Type", "application/json"), "{}"},
    {"https", "a.example", HTTP_GET, H("Accept", "application/json;q=0, */*;q=0.1"), 200,
     H("Content-Type", "Application/Json"), "{}"},
    {"https", "a.example", HTTP_GET, H("Accept", "image/*, text/plain"), 200,
     H("Content-Type", "IMAGE/PNG"), "\x89PNG"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Content-Type", "text/plain"), " {\"a\": [1]}"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Content-Type", "application/problem+JSON"),
     "{\"a\": }"},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Content-Type", "text/json"), "\"s\""},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Content-Type", "application/vnd.api+json"), ""},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Content-Type", "application/json+xml"), "{\"a\""},
    {"https", "a.example", HTTP_GET, NONE, 200, H("Content-Type", "\tapplication/json ;x=1"), "[1,"},
    {"https", "a.example", HTTP_GET, NONE, 500, H("Content-Type", "text/javascript"), "{\"a\":1}"},
    {"http", "nas.local", HTTP_GET, NONE, 200, H("Content-Type", "application/json"), "{}"},
    /* the fixed date form only with its first comma at 3; one byte short; names in mixed case */
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Date", "S,n, 06 Nov 1994 08:49:37 GMT", "Expires", "Sun, 06 Nov 1994 09:49:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("DATE", "Sun, 06 Nov 1994 08:49:37 GM", "expires", "Sun, 06 Nov 1994 09:49:37 GMT"), "x"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("dAtE", "Sun, 06 Dec 1994 08:49:37 GMT", "LAST-MODIFIED", "Sat, 06 Aug 1994 08:49:37 GMT",
       "eTaG", "\"m\"", "VARY", "accept", "AGE", "7"),
     "x"},
    {"https", "a.example", HTTP_GET,
     H("IF-NONE-MATCH", "\"a\"", "if-modified-since", NGINX_DATE, "ACCEPT", "text/html", "Accept",
       "application/json"),
     200, H("Content-Type", "application/json", "PRAGMA", "no-cache"), "{}"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("Content-Encoding", "gzip", "Content-Type", "application/json", "content-encoding",
       "identity"),
     "{\"not\": \"gzip\"}"},
    {"https", "a.example", HTTP_GET, NONE, 200,
     H("CONTENT-ENCODING", "identity", "Content-Type", "application/json"), "{\"a\":"},
};

/* The ATS audit of the upstream leg (diagnose_warnings): whether its signature algorithm is
 * taken for SHA-1, in any case, wherever the name has it. */
static void ats_sha1(void)
{
    static const struct {
        const char *sig;
        int warned;
    } sigs[] = {{"sha1WithRSAEncryption", 1}, {"SHA1withRSA", 1}, {"ecdsa-with-SHA1", 1},
                {"rsa-sHa1", 1}, {"sha256WithRSAEncryption", 0}, {"ecdsa-with-SHA384", 0},
                {"sha12", 1}, {"shA", 0}, {"sh a1", 0}, {"sxa1", 0}, {"shb1", 0}, {"sha2", 0},
                {"", 0}};
    int same = 1;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct flow *f = flow_new(1, 1, 1024);
        f->kind = FLOW_HTTP;
        snprintf(f->scheme, sizeof f->scheme, "https");
        snprintf(f->host, sizeof f->host, "a.example");
        flow_set_url(f, "https://a.example/x");
        struct flow_tls *t = flow_tls_edit(f, 1);
        t->present = t->handshake_done = t->forward_secret = 1;
        strcpy(t->version, "TLSv1.3");
        strcpy(t->peer_key_type, "EC");
        t->peer_key_bits = 256;
        strcpy(t->peer_sig, sigs[i].sig);
        struct diagnosis w[10];
        size_t n = diagnose_warnings(f, w, 10);
        int warned = n == 1 && !strcmp(w[0].kind, "ats") && strstr(w[0].detail, "signed with");
        if (warned != sigs[i].warned) {
            printf("# %s: warned %d\n", sigs[i].sig, warned);
            same = 0;
        }
        flow_free(f);
    }
    ok(same, "the ATS audit takes a signature algorithm naming sha1 (any case) for SHA-1, no other");
}

/* The cleartext ATS warning's text (diagnose_ats_warning), for a usual host and for one so long
 * that the text is cut at the detail's size. */
static void ats_cleartext(int print)
{
    static const char *const want[] = {
#include "test_warnings_golden_ats.h"
    };
    char longhost[256];
    memset(longhost, 'h', 250);
    strcpy(longhost + 250, ".test");
    const char *hosts[] = {"bench.test", longhost};
    for (size_t i = 0; i < 2; i++) {
        struct flow *f = flow_new(1, 1, 1024);
        f->kind = FLOW_HTTP;
        snprintf(f->scheme, sizeof f->scheme, "http");
        snprintf(f->host, sizeof f->host, "%s", hosts[i]);
        struct diagnosis d;
        int got = diagnose_ats_warning(f, &d);
        if (print)
            printf("    \"%s\",\n", got ? d.detail : "");
        else
            ok(got && d.entry && d.entry->code == -1022 && !strcmp(d.detail, want[i]),
               "the cleartext ATS warning's text as before (%s host)", i ? "a 255-byte" : "a usual");
        flow_free(f);
    }
}

int main(void)
{
    if (getenv("HP_GOLDEN_PRINT_ATS"))
        return ats_cleartext(1), 0;
    int print = getenv("HP_GOLDEN_PRINT") != NULL;
    static const char *const wants[] = {
#include "test_warnings_golden.h"
    };
    size_t nc = sizeof cases / sizeof *cases;
    if (!print && sizeof wants / sizeof *wants != nc)
        return printf("Bail out! test_warnings_golden.h has %zu texts for %zu cases\n",
                      sizeof wants / sizeof *wants, nc), 1;
    for (size_t i = 0; i < nc; i++) {
        struct golden *g = &cases[i];
        struct flow *f = flow_new(1, 1, 1 << 20);
        f->kind = FLOW_HTTP;
        snprintf(f->scheme, sizeof f->scheme, "%s", g->scheme);
        snprintf(f->host, sizeof f->host, "%s", g->host);
        char url[300];
        snprintf(url, sizeof url, "%s://%s/x", g->scheme, g->host);
        flow_set_url(f, url);
        f->started.tv_sec = 1765128000; /* fixed: a response without a usable Date uses it */
        f->req = head(1, g->req);
        f->req->method = g->method;
        f->resp = head(0, g->resp);
        f->resp->status = g->status;
        if (g->body)
            flow_capture_add(&f->resp_body, g->body, strlen(g->body));
        struct diagnosis w[10];
        size_t n = warnings_app(f, w, 10);
        char got[8192];
        size_t o = 0;
        got[0] = '\0';
        for (size_t k = 0; k < n && o < sizeof got; k++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%s:%d:%s:%s|%s", k ? "\n" : "", w[k].kind,
                                  w[k].entry ? w[k].entry->code : -1, w[k].stage ? w[k].stage : "",
                                  w[k].domain ? w[k].domain : "", w[k].detail);
        if (print) {
            printf("    \"");
            for (const char *p = got; *p; p++)
                if (*p == '"' || *p == '\\')
                    printf("\\%c", *p);
                else if (*p == '\n')
                    printf("\\n");
                else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                    printf("\\x%02x\" \"", (unsigned char)*p);
                else
                    putchar(*p);
            printf("\",\n");
        } else if (!ok(!strcmp(got, wants[i]), "case %zu: the same warnings as before", i))
            printf("# got:\n%s\n# want:\n%s\n", got, wants[i]);
        flow_free(f);
    }
    if (print)
        return 0;
    ats_sha1();
    ats_cleartext(0);
    return done();
}
