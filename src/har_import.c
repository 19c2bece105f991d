/* har_import.c — see har_import.h. An entry becomes a flow the way a proxied exchange would:
 * its heads written as HTTP/1.1 text and parsed with http1.c (so every reader sees the same
 * kind of head), given back the version the HAR names, its bodies captured, its HAR timings turned back into the marks flow_done
 * derives them from; then it is numbered and handed to the store like any flow. */
#include "har_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/x509_vfy.h>
#include "base64.h"
#include "diagnose.h"
#include "flow.h"
#include "http1.h"
#include "store.h"

static const char *sget(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double dget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : -1;
}

/* The head parsed from its HTTP/1.1 text; NULL when it does not parse. */
static _Thread_local struct http1_head *taken; /* the viewer's thread imports too */
static int on_head(void *arg, struct http1_head *h)
{
    (void)arg;
    taken = http1_head_take(h);
    return 1; /* no body: the text ends with the head */
}
static int on_body(void *arg, const char *d, size_t n) { (void)arg, (void)d, (void)n; return 0; }
static int on_done(void *arg) { (void)arg; return 0; }

static struct http1_head *parse_head(struct evbuffer *text, int is_request)
{
    static const struct http1_handlers h = {on_head, on_body, on_done, NULL};
    struct http1_parser p;
    http1_parser_init(&p, is_request, &h, NULL);
    taken = NULL;
    http1_feed(&p, text);
    http1_parser_free(&p);
    struct http1_head *r = taken;
    taken = NULL;
    return r;
}

/* "Name: value" lines of a HAR headers array: pseudo-headers (h2) and fields that cannot be
 * written as HTTP/1.1 are left out; framing fields too (the body is stored de-framed). */
static void add_fields(struct evbuffer *b, json_t *headers)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *n = sget(h, "name"), *v = sget(h, "value");
        if (!*n || *n == ':' || strpbrk(n, " \t\r\n:") || strpbrk(v, "\r\n") ||
            !strcasecmp(n, "transfer-encoding"))
            continue;
        evbuffer_add_printf(b, "%s: %s\r\n", n, v);
    }
}

/* A body given as text (base64 when encoding says so) into the capture. */
static void capture_text(struct flow_capture *c, const char *text, size_t len, const char *encoding)
{
    if (!len)
        return;
    if (!strcasecmp(encoding, "base64")) {
        unsigned char *raw = malloc(len / 4 * 3 + 3);
        long long n = raw ? base64_decode(text, len, raw) : -1;
        if (n > 0)
            flow_capture_add(c, (const char *)raw, (size_t)n);
        free(raw);
    } else
        flow_capture_add(c, text, len);
}

/* Failure facts from what the entry says: httpeek's own _diagnosis.stage, else Chrome's
 * net::ERR_ name in _error. */
static void failure_of(struct flow *f, json_t *e, json_t *resp)
{
    const char *why = sget(resp, "_error");
    if (!*why)
        why = sget(e, "_error");
    flow_fail(f, FLOW_STAGE_NONE, 0, "%s", *why ? why : "failed (status 0 in the HAR)");
    const char *stage = sget(json_object_get(e, "_diagnosis"), "stage");
    for (int s = 0; *stage && s < FLOW_STAGE_COUNT; s++)
        if (!strcmp(stage, flow_stage_name((enum flow_stage)s)))
            f->fail.stage = (enum flow_stage)s;
    /* httpeek's own HAR: a timeout's reason ("no answer from ... within 1s") has none of the
     * words matched below, so its diagnosis code says it (else -1001 came back -1004/-1005) */
    if (json_integer_value(json_object_get(json_object_get(e, "_diagnosis"), "code")) == -1001)
        f->fail.timeout = 1;
    if (strstr(why, "ERR_NAME_NOT_RESOLVED") || strstr(why, "NXDOMAIN")) {
        f->fail.stage = FLOW_STAGE_DNS;
        f->fail.dns_error = EVUTIL_EAI_NONAME;
    } else if (strstr(why, "ERR_CONNECTION_REFUSED") || strstr(why, "onnection refused")) {
        f->fail.stage = FLOW_STAGE_CONNECT;
        f->fail.sys_errno = ECONNREFUSED;
    } else if (strstr(why, "ERR_CONNECTION_RESET") || strstr(why, "onnection reset")) {
        if (!f->fail.stage)
            f->fail.stage = FLOW_STAGE_RECEIVE;
        f->fail.sys_errno = ECONNRESET;
        snprintf(f->fail.closed_by, sizeof f->fail.closed_by, "server");
    } else if (strstr(why, "TIMED_OUT") || strstr(why, "timed out") || strstr(why, "timeout")) {
        if (!f->fail.stage)
            f->fail.stage = FLOW_STAGE_WAIT;
        f->fail.timeout = 1;
    } else if (strstr(why, "ERR_CERT_")) {
        f->fail.stage = FLOW_STAGE_UPSTREAM_TLS;
        struct flow_tls *t = flow_tls_edit(f, 1);
        if (t) {
            t->present = 1;
            t->verify_result = strstr(why, "DATE_INVALID") ? X509_V_ERR_CERT_HAS_EXPIRED
                               : strstr(why, "COMMON_NAME") ? X509_V_ERR_HOSTNAME_MISMATCH
                                                            : X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
            snprintf(t->verify_error, sizeof t->verify_error, "%s",
                     X509_verify_cert_error_string(t->verify_result));
        }
    } else if (strstr(why, "ERR_EMPTY_RESPONSE")) {
        f->fail.stage = FLOW_STAGE_WAIT;
        snprintf(f->fail.closed_by, sizeof f->fail.closed_by, "server");
    }
}

/* HAR timings (ms, -1: none) back into the marks flow_done derives them from. */
static void marks_of(struct flow *f, json_t *t, double total)
{
    const uint64_t base = 1000000; /* any non-zero origin: only differences are read */
    double blocked = dget(t, "blocked"), dns = dget(t, "dns"), connect = dget(t, "connect"),
           ssl = dget(t, "ssl"), send = dget(t, "send"), wait = dget(t, "wait"),
           receive = dget(t, "receive");
    uint64_t cur = base + (uint64_t)(blocked > 0 ? blocked * 1000 : 0);
    struct flow_marks *m = &f->marks;
    memset(m, 0, sizeof *m);
    m->start = base;
    if (dns >= 0) {
        m->dns_start = cur;
        cur = m->dns_end = cur + (uint64_t)(dns * 1000);
    }
    if (connect >= 0) {
        m->connect_start = cur;
        cur += (uint64_t)(connect * 1000);
        if (ssl >= 0 && ssl <= connect) { /* HAR: connect includes ssl */
            m->connect_end = cur - (uint64_t)(ssl * 1000);
            m->tls_start = m->connect_end;
            m->tls_end = cur;
        } else
            m->connect_end = cur;
    }
    m->send_start = cur;
    cur = m->send_end = cur + (uint64_t)(send > 0 ? send * 1000 : 0);
    if (wait >= 0)
        cur = m->first_byte = cur + (uint64_t)(wait * 1000);
    cur += (uint64_t)(receive > 0 ? receive * 1000 : 0);
    if (total > 0 && base + (uint64_t)(total * 1000) > cur)
        cur = base + (uint64_t)(total * 1000);
    m->end = cur > base ? cur : base + 1;
}

/* ISO-8601 startedDateTime into tv (left as is when it does not read). */
static void started_of(struct timeval *tv, const char *iso)
{
    struct tm tm = {0};
    const char *rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return;
    long usec = 0;
    if (*rest == '.') {
        long scale = 100000;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            usec += (*rest - '0') * scale;
    }
    time_t t = timegm(&tm);
    int sign = 0, hh = 0, mm = 0;
    if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &hh, &mm) >= 1)
        sign = *rest == '+' ? 1 : -1;
    t -= sign * (hh * 3600 + mm * 60);
    tv->tv_sec = t;
    tv->tv_usec = usec;
}

/* The version a HAR's httpVersion names, given to the head parsed from HTTP/1.1 text: browsers
 * write "h2", "http/2.0", "HTTP/2" or "h3" for what they fetched over HTTP/2 or 3, and the flow
 * must say what the app spoke, not what the import wrote. Unknown or empty: left HTTP/1.1. */
static void version_of(struct http1_head *h, const char *hv)
{
    if (!h)
        return;
    if (!strcasecmp(hv, "h2") || !strncasecmp(hv, "http/2", 6))
        h->major = 2, h->minor = 0;
    else if (!strcasecmp(hv, "h3") || !strncasecmp(hv, "http/3", 6))
        h->major = 3, h->minor = 0;
    else if (!strcasecmp(hv, "http/1.0"))
        h->minor = 0;
}

/* One entry as a new flow (NULL: not an HTTP request). */
static struct flow *flow_of(json_t *e, size_t max_body, const char *source)
{
    json_t *rq = json_object_get(e, "request"), *rs = json_object_get(e, "response");
    const char *method = sget(rq, "method"), *url = sget(rq, "url");
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL, *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!u || !scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) || !host ||
        !*host || !*method || strpbrk(method, " \r\n")) {
        if (u)
            evhttp_uri_free(u);
        return NULL;
    }
    struct flow *f = flow_new(0, 0, max_body);
    struct evbuffer *b = evbuffer_new();
    if (!f || !b) {
        flow_free(f);
        if (b)
            evbuffer_free(b);
        evhttp_uri_free(u);
        return NULL;
    }
    int tls = !strcasecmp(scheme, "https");
    snprintf(f->scheme, sizeof f->scheme, "%s", tls ? "https" : "http");
    snprintf(f->host, sizeof f->host, "%s", host[0] == '[' ? host + 1 : host);
    char *br = strchr(f->host, ']');
    if (br)
        *br = '\0';
    f->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : tls ? 443 : 80;
    const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
    flow_set_url(f, url);
    const char *client = sget(e, "_client");
    snprintf(f->client_addr, sizeof f->client_addr, "%s", *client ? client : "har");
    snprintf(f->server_ip, sizeof f->server_ip, "%s", sget(e, "serverIPAddress"));
    started_of(&f->started, sget(e, "startedDateTime"));
    snprintf(f->note, sizeof f->note, "imported from %s", source && *source ? source : "a HAR file");

    evbuffer_add_printf(b, "%s %s%s%s HTTP/1.1\r\n", method, path && *path ? path : "/",
                        query ? "?" : "", query ? query : "");
    add_fields(b, json_object_get(rq, "headers"));
    evbuffer_add(b, "\r\n", 2);
    f->req = parse_head(b, 1);
    version_of(f->req, sget(rq, "httpVersion"));
    json_t *post = json_object_get(rq, "postData");
    json_t *ptext = json_object_get(post, "text");
    if (json_is_string(ptext))
        capture_text(&f->req_body, json_string_value(ptext), json_string_length(ptext),
                     sget(post, "encoding"));

    json_int_t status = json_integer_value(json_object_get(rs, "status"));
    if (status >= 100 && status <= 999) {
        evbuffer_drain(b, evbuffer_get_length(b));
        const char *reason = sget(rs, "statusText");
        evbuffer_add_printf(b, "HTTP/1.1 %d %s\r\n", (int)status,
                            strpbrk(reason, "\r\n") ? "" : reason);
        add_fields(b, json_object_get(rs, "headers"));
        evbuffer_add(b, "\r\n", 2);
        f->resp = parse_head(b, 0);
        version_of(f->resp, sget(rs, "httpVersion"));
        json_t *content = json_object_get(rs, "content");
        json_t *ctext = json_object_get(content, "text");
        if (json_is_string(ctext))
            capture_text(&f->resp_body, json_string_value(ctext), json_string_length(ctext),
                         sget(content, "encoding"));
    }
    if (!f->resp || *sget(rs, "_error"))
        failure_of(f, e, rs);
    marks_of(f, json_object_get(e, "timings"), dget(e, "time"));
    evbuffer_free(b);
    evhttp_uri_free(u);
    if (!f->req) { /* a head that cannot be written as HTTP/1.1 */
        flow_free(f);
        return NULL;
    }
    return f;
}

struct flow *har_import_entry(json_t *entry, size_t max_body, const char *source)
{
    struct flow *f = flow_of(entry, max_body, source);
    struct diagnosis d;
    if (f && diagnose_flow(f, &d) && d.entry) {
        f->diag_code = d.entry->code;
        f->diag_name = d.entry->name;
    }
    return f;
}

long har_import(const char *har_path, const char *session_path, size_t max_body, char *err,
                size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(har_path, 0, &jerr);
    if (!doc) {
        snprintf(err, errlen, "%s: not a HAR file: %s (line %d)", har_path, jerr.text, jerr.line);
        return -1;
    }
    json_t *entries = json_object_get(json_object_get(doc, "log"), "entries");
    if (!json_is_array(entries)) {
        snprintf(err, errlen, "%s: not a HAR file (no log.entries)", har_path);
        json_decref(doc);
        return -1;
    }
    struct store *s = store_open(session_path, err, errlen);
    if (!s) {
        json_decref(doc);
        return -1;
    }
    uint64_t id = store_last_id(s);
    long n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        struct flow *f = har_import_entry(e, max_body, NULL);
        if (!f)
            continue;
        f->id = ++id;
        while (store_backlogged(s)) /* the writer is behind: let it catch up */
            usleep(10000);
        flow_done(f, NULL, store_sink, s);
        n++;
    }
    store_close(s);
    json_decref(doc);
    return n;
}
