/* har.c — see har.h. Each entry is built from the flow's stored detail JSON and its bodies,
 * serialized on its own and handed to the writer, then freed: memory stays at one entry (its
 * bodies included) whatever the session size.
 *
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) plus the conventions tools expect:
 * Chrome's response.status 0 + response._error for failures, HAR 1.3's _encoding "base64" for
 * binary postData, our _diagnosis / _warnings / _truncated. No field the spec requires is ever
 * null: unknown sizes are -1, unknown strings "". */
#include "har.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/time.h>
#include <openssl/evp.h>
#include "flow_json.h"
#include "har_cookies.h"
#include "har_ws.h"
#include "log.h"

#define HAR_REDACTED_URL "%5Bredacted%5D"
/* Real numbers (timings in ms) with this many significant digits: no 0.30000000000000004. */
#define HAR_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

struct har_ctx {
    struct store_reader *r;
    const struct har_options *o;
    har_write_fn write;
    void *arg;
    size_t n;        /* entries written */
    int failed;      /* a write or store error */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers over the detail JSON */

static const char *sget(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static json_int_t iget(json_t *o, const char *key, json_int_t dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static double nget(json_t *o, const char *key, double dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static void put(json_t *o, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(o, key, v);
}

/* Value of the first header name in a [{name, value}] array, or NULL. */
static const char *header_value(json_t *headers, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        if (!strcasecmp(sget(h, "name"), name))
            return sget(h, "value");
    }
    return NULL;
}

static int secret_header(const char *name)
{
    static const char *const exact[] = {"authorization", "proxy-authorization", "cookie",
                                        "set-cookie", "x-api-key", "api-key", "x-auth-token"};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (!strcasecmp(name, exact[i]))
            return 1;
    return 0;
}

/* Query and form parameter names that carry credentials. */
static int secret_param(const char *name, size_t len)
{
    static const char *const exact[] = {"key", "apikey", "api_key", "api-key", "sig", "signature",
                                        "auth", "code", "pass", "pwd", "session", "sessionid",
                                        "jwt"};
    char n[64];
    if (len >= sizeof n)
        len = sizeof n - 1;
    for (size_t i = 0; i < len; i++)
        n[i] = (char)tolower((unsigned char)name[i]);
    n[len] = '\0';
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (!strcmp(n, exact[i]))
            return 1;
    /* token, access_token, refresh_token, id_token, secret, client_secret, password, ... */
    return strstr(n, "token") || strstr(n, "secret") || strstr(n, "password") ||
           strstr(n, "passwd") || strstr(n, "signature");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..len) ('+' as space when form is 1) into a JSON string (Latin-1 mapped
 * when not UTF-8). */
static json_t *pct_decode(const char *s, size_t len, int form)
{
    char *b = malloc(len + 1);
    if (!b)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int h1, h2;
        if (s[i] == '%' && i + 2 < len && (h1 = hexval((unsigned char)s[i + 1])) >= 0 &&
            (h2 = hexval((unsigned char)s[i + 2])) >= 0) {
            b[o++] = (char)(h1 * 16 + h2);
            i += 2;
        } else if (form && s[i] == '+')
            b[o++] = ' ';
        else
            b[o++] = s[i];
    }
    json_t *j = flow_json_string(b, o);
    free(b);
    return j;
}

/* [{name, value}] of a query string or an urlencoded form body (&-separated). */
static json_t *params_json(const char *q, size_t len, int redact)
{
    json_t *a = json_array();
    size_t i = 0;
    while (a && i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && q[eq] != '=')
                eq++;
            json_t *p = json_object();
            if (p) {
                put(p, "name", pct_decode(q + i, eq - i, 1));
                if (redact && eq < end && secret_param(q + i, eq - i))
                    put(p, "value", json_string(HAR_REDACTED));
                else
                    put(p, "value", eq < end ? pct_decode(q + eq + 1, end - eq - 1, 1) : json_string(""));
                json_array_append_new(a, p);
            }
        }
        i = end + 1;
    }
    return a;
}

/* Append q[0..len) to out with the values of secret parameters replaced by marker. */
static void redact_params(struct evbuffer *out, const char *q, size_t len, const char *marker)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && q[eq] != '=')
            eq++;
        if (eq < end && secret_param(q + i, eq - i)) {
            evbuffer_add(out, q + i, eq - i + 1);
            evbuffer_add(out, marker, strlen(marker));
        } else
            evbuffer_add(out, q + i, end - i);
        if (end < len)
            evbuffer_add(out, "&", 1);
        i = end + 1;
    }
}

/* A URL every URI parser accepts: bytes outside RFC 3986's sets percent-encoded after the
 * authority; secret query values replaced when redacting. Returns a new JSON string. */
static json_t *clean_url(const char *url, int redact)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return NULL;
    const char *sep = strstr(url, "://");
    const char *rest = sep ? sep + 3 + strcspn(sep + 3, "/?#") : url;
    evbuffer_add(b, url, (size_t)(rest - url));
    const char *q = strchr(rest, '?');
    size_t pathlen = q ? (size_t)(q - rest) : strlen(rest);
    struct evbuffer *tail = evbuffer_new();
    if (!tail) {
        evbuffer_free(b);
        return NULL;
    }
    evbuffer_add(tail, rest, pathlen);
    if (q) {
        evbuffer_add(tail, "?", 1);
        if (redact)
            redact_params(tail, q + 1, strlen(q + 1), HAR_REDACTED_URL);
        else
            evbuffer_add(tail, q + 1, strlen(q + 1));
    }
    size_t tlen = evbuffer_get_length(tail);
    const unsigned char *t = evbuffer_pullup(tail, -1);
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = t[i];
        int okc = isalnum(c) || strchr("-._~!$&'()*+,;=:@/?", c);
        if (c == '%' && i + 2 < tlen && hexval(t[i + 1]) >= 0 && hexval(t[i + 2]) >= 0)
            okc = 1;
        if (okc && c)
            evbuffer_add(b, &c, 1);
        else
            evbuffer_add_printf(b, "%%%02X", c);
    }
    evbuffer_free(tail);
    size_t len = evbuffer_get_length(b);
    json_t *j = flow_json_string((const char *)evbuffer_pullup(b, -1), len);
    evbuffer_free(b);
    return j;
}

/* _rules for HAR: when redacting, a rewrite's before / after of a secret header, and the secret
 * query values of a URL or query edit's paths (in before, after and detail), are hidden too. */
static json_t *rules_out(json_t *rules, int redact)
{
    json_t *out = redact ? json_deep_copy(rules) : json_incref(rules), *h;
    size_t i;
    char name[128];
    json_array_foreach(redact ? out : NULL, i, h) {
        const char *detail = sget(h, "detail");
        int hdr = sscanf(detail, "%*s header %127s", name) == 1 && secret_header(name);
        int url = !strncmp(detail, "URL sent as /", 13) || !strncmp(detail, "query sent as /", 15);
        for (const char *const *k = (const char *const[]){"before", "after", "detail", NULL}; *k; k++) {
            const char *v = json_string_value(json_object_get(h, *k));
            if (v && hdr && strcmp(*k, "detail") && *v && strcmp(v, "(removed)"))
                put(h, *k, json_string(HAR_REDACTED));
            else if (v && url && strchr(v, '?') && strchr(v, '/')) { /* "URL sent as /p?q" */
                const char *path = strchr(v, '/');
                json_t *c = clean_url(path, 1);
                put(h, *k, json_sprintf("%.*s%s", (int)(path - v), v, json_string_value(c)));
                json_decref(c);
            }
        }
    }
    return out;
}

/* _breakpoints for HAR: when redacting, the original (the message as paused, before an edit)
 * loses its secret header values and its URL's secret query values, as the entry's own do. */
static json_t *breakpoints_out(json_t *paused, int redact)
{
    json_t *out = redact ? json_deep_copy(paused) : json_incref(paused), *p, *h;
    size_t i, k;
    json_array_foreach(redact ? out : NULL, i, p) {
        json_t *orig = json_object_get(p, "original");
        const char *url = json_string_value(json_object_get(orig, "url"));
        if (url)
            put(orig, "url", clean_url(url, 1));
        json_array_foreach(json_object_get(orig, "headers"), k, h) { /* [[name, value], ...] */
            const char *name = json_string_value(json_array_get(h, 0));
            if (name && secret_header(name))
                json_array_set_new(h, 1, json_string(HAR_REDACTED));
        }
    }
    return out;
}

/* The request URL for HAR: absolute http(s) URL; tunnels become https://host:port/. */
static json_t *har_url(json_t *d, int redact)
{
    const char *url = sget(d, "url"), *host = sget(d, "host");
    if (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8))
        return clean_url(url, redact);
    char buf[600];
    int tunnel = !strcmp(sget(d, "kind"), "tunnel");
    if (!*host)
        return json_string("about:blank");
    int v6 = strchr(host, ':') != NULL;
    snprintf(buf, sizeof buf, "%s://%s%s%s:%lld/", tunnel || !strcmp(sget(d, "scheme"), "https") ? "https" : "http",
             v6 ? "[" : "", host, v6 ? "]" : "", (long long)iget(d, "port", tunnel ? 443 : 80));
    return clean_url(buf, 0);
}

static json_t *headers_out(json_t *headers, int redact)
{
    json_t *a = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        json_t *o = json_object();
        if (!o)
            break;
        put(o, "name", json_string(sget(h, "name")));
        put(o, "value", json_string(redact && secret_header(sget(h, "name")) ? HAR_REDACTED
                                                                             : sget(h, "value")));
        json_array_append_new(a, o);
    }
    return a;
}

/* HAR has no place for trailers: "_trailers" (as headers), only when the message had some. */
static void trailers_out(json_t *dst, json_t *msg, int redact)
{
    json_t *t = json_object_get(msg, "trailers");
    if (json_array_size(t))
        put(dst, "_trailers", headers_out(t, redact));
}

/* Base64 of len bytes (no line breaks) as a JSON string. */
static json_t *base64_json(const unsigned char *data, size_t len)
{
    size_t n = 4 * ((len + 2) / 3) + 1;
    unsigned char *b = malloc(n);
    if (!b)
        return NULL;
    size_t o = 0;
    /* EVP_EncodeBlock takes an int length: go in slices */
    for (size_t i = 0; i < len; i += 3u * 1024 * 1024) {
        size_t part = len - i < 3u * 1024 * 1024 ? len - i : 3u * 1024 * 1024;
        o += (size_t)EVP_EncodeBlock(b + o, data + i, (int)part);
    }
    json_t *j = json_stringn((const char *)b, o);
    free(b);
    return j;
}

/* Text a HAR viewer can show as is: valid UTF-8 without NUL bytes. */
static int is_text(const unsigned char *p, size_t len)
{
    return !memchr(p, 0, len) && flow_json_is_utf8((const char *)p, len);
}

/* The body of flow id (request or response), decoded when possible. On return *decoded says
 * whether Content-Encoding was undone. Caller frees the buffer; NULL when there is none. */
static struct evbuffer *load_body(struct har_ctx *c, uint64_t id, int response, int *decoded)
{
    struct evbuffer *b = evbuffer_new();
    char mime[8];
    if (!b)
        return NULL;
    *decoded = 1;
    int rc = store_reader_body(c->r, id, response, 1, b, mime, sizeof mime);
    if (rc == -2) {
        evbuffer_drain(b, evbuffer_get_length(b));
        *decoded = 0;
        rc = store_reader_body(c->r, id, response, 0, b, mime, sizeof mime);
    }
    if (rc < 0) {
        evbuffer_free(b);
        return NULL;
    }
    return b;
}

/* request.postData, or NULL when the request had no body. */
static json_t *post_data(struct har_ctx *c, uint64_t id, json_t *req)
{
    if (iget(req, "body_size", 0) <= 0 && iget(req, "body_captured", 0) <= 0)
        return NULL;
    json_t *pd = json_object();
    if (!pd)
        return NULL;
    const char *ctype = header_value(json_object_get(req, "headers"), "Content-Type");
    put(pd, "mimeType", json_string(ctype ? ctype : ""));
    int decoded;
    struct evbuffer *b = load_body(c, id, 0, &decoded);
    size_t len = b ? evbuffer_get_length(b) : 0;
    const unsigned char *p = b && len ? evbuffer_pullup(b, -1) : (const unsigned char *)"";
    char mime[96];
    flow_json_mime(ctype, mime, sizeof mime);
    int form = !strcmp(mime, "application/x-www-form-urlencoded");
    if (is_text(p, len)) {
        if (form) {
            put(pd, "params", params_json((const char *)p, len, c->o->redact));
            if (c->o->redact) {
                struct evbuffer *r = evbuffer_new();
                if (r) {
                    redact_params(r, (const char *)p, len, HAR_REDACTED_URL);
                    size_t rl = evbuffer_get_length(r);
                    put(pd, "text", json_stringn((const char *)evbuffer_pullup(r, -1), rl));
                    evbuffer_free(r);
                }
            } else
                put(pd, "text", json_stringn((const char *)p, len));
        } else
            put(pd, "text", json_stringn((const char *)p, len));
    } else {
        put(pd, "text", base64_json(p, len));
        put(pd, "_encoding", json_string("base64"));
    }
    if (!json_object_get(pd, "params"))
        put(pd, "params", json_array());
    if (!decoded)
        put(pd, "comment", json_string("Content-Encoding could not be undone: bytes as sent"));
    if (json_is_true(json_object_get(req, "body_truncated")))
        put(pd, "_truncated", json_true());
    if (b)
        evbuffer_free(b);
    return pd;
}

/* response.content */
static json_t *content(struct har_ctx *c, uint64_t id, json_t *resp)
{
    json_t *ct = json_object();
    if (!ct)
        return NULL;
    json_t *headers = json_object_get(resp, "headers");
    const char *ctype = header_value(headers, "Content-Type");
    const char *cenc = header_value(headers, "Content-Encoding");
    put(ct, "mimeType", json_string(ctype && *ctype ? ctype : "x-unknown"));
    int decoded = 1;
    struct evbuffer *b = iget(resp, "body_captured", 0) > 0 ? load_body(c, id, 1, &decoded) : NULL;
    size_t len = b ? evbuffer_get_length(b) : 0;
    const unsigned char *p = b && len ? evbuffer_pullup(b, -1) : (const unsigned char *)"";
    json_int_t wire = iget(resp, "body_size", 0);
    int truncated = json_is_true(json_object_get(resp, "body_truncated"));
    put(ct, "size", json_integer((json_int_t)len));
    if (cenc && *cenc && decoded && !truncated)
        put(ct, "compression", json_integer((json_int_t)len - wire));
    if (len) {
        if (decoded && is_text(p, len))
            put(ct, "text", json_stringn((const char *)p, len));
        else {
            put(ct, "text", base64_json(p, len));
            put(ct, "encoding", json_string("base64"));
        }
    }
    if (!decoded)
        put(ct, "comment", json_string("Content-Encoding could not be undone: bytes as received"));
    if (truncated) {
        put(ct, "_truncated", json_true());
        put(ct, "_capturedSize", json_integer(iget(resp, "body_captured", 0)));
    }
    if (b)
        evbuffer_free(b);
    return ct;
}

static json_t *timings_out(json_t *t, double *total)
{
    json_t *o = json_object();
    static const char *const pre[] = {"blocked", "dns", "connect", "ssl"};
    static const char *const req[] = {"send", "wait", "receive"};
    *total = 0;
    for (size_t i = 0; i < 4; i++) {
        double v = nget(t, pre[i], -1);
        put(o, pre[i], v < 0 ? json_integer(-1) : json_real(v));
        if (v > 0 && i != 3) /* connect already includes ssl */
            *total += v;
    }
    for (size_t i = 0; i < 3; i++) { /* HAR requires these non-negative */
        double v = nget(t, req[i], -1);
        put(o, req[i], v < 0 ? json_integer(0) : json_real(v));
        if (v > 0)
            *total += v;
    }
    double thr = nget(t, "throttle", -1); /* a throttle rule's added delay (not in time) */
    if (thr > 0)
        put(o, "_throttle", json_real(thr));
    return o;
}

/* The HAR entry of one flow's detail object d; NULL on OOM. */
static json_t *entry_json(struct har_ctx *c, json_t *d)
{
    int redact = c->o->redact;
    uint64_t id = (uint64_t)iget(d, "id", 0);
    int tunnel = !strcmp(sget(d, "kind"), "tunnel");
    int failed = json_is_true(json_object_get(d, "failed"));
    json_t *reqd = json_object_get(d, "request"), *respd = json_object_get(d, "response");
    json_t *e = json_object();
    if (!e)
        return NULL;
    put(e, "pageref", json_string("page_1"));
    put(e, "startedDateTime", json_string(sget(d, "started")));
    double total;
    json_t *timings = timings_out(json_object_get(d, "timings"), &total);

    /* request */
    json_t *rq = json_object();
    json_t *rh = json_object_get(reqd, "headers");
    put(rq, "method", json_string(sget(d, "method")));
    json_t *url = har_url(d, redact);
    const char *u = json_string_value(url);
    put(rq, "url", url);
    const char *hv = sget(reqd, "http_version");
    put(rq, "httpVersion", json_string(*hv ? hv : "HTTP/1.1"));
    json_t *cookies = json_array();
    har_request_cookies(cookies, rh, redact);
    put(rq, "cookies", cookies);
    put(rq, "headers", headers_out(rh, redact));
    trailers_out(rq, reqd, redact);
    const char *q = u ? strchr(u, '?') : NULL;
    put(rq, "queryString", q ? params_json(q + 1, strcspn(q + 1, "#"), redact) : json_array());
    if (!tunnel) {
        json_t *pd = post_data(c, id, reqd);
        if (pd)
            put(rq, "postData", pd);
    }
    put(rq, "headersSize", json_integer(iget(reqd, "head_size", -1)));
    put(rq, "bodySize", json_integer(reqd ? iget(reqd, "body_size", 0) : -1));
    put(e, "request", rq);

    /* response */
    json_t *rs = json_object();
    if (json_is_object(respd)) {
        json_t *sh = json_object_get(respd, "headers");
        put(rs, "status", json_integer(iget(respd, "status", 0)));
        put(rs, "statusText", json_string(sget(respd, "reason")));
        put(rs, "httpVersion", json_string(sget(respd, "http_version")));
        json_t *sc = json_array();
        har_response_cookies(sc, sh, redact);
        put(rs, "cookies", sc);
        put(rs, "headers", headers_out(sh, redact));
        trailers_out(rs, respd, redact);
        put(rs, "content", content(c, id, respd));
        const char *loc = header_value(sh, "Location");
        put(rs, "redirectURL", json_string(loc ? loc : ""));
        put(rs, "headersSize", json_integer(iget(respd, "head_size", -1)));
        put(rs, "bodySize", json_integer(iget(respd, "body_size", 0)));
        if (json_is_true(json_object_get(respd, "body_truncated")))
            put(e, "_truncated", json_true());
    } else if (tunnel && !failed) { /* an opaque tunnel: our "200 Connection established" */
        put(rs, "status", json_integer(200));
        put(rs, "statusText", json_string("Connection established"));
        put(rs, "httpVersion", json_string(*hv ? hv : "HTTP/1.1"));
        put(rs, "cookies", json_array());
        put(rs, "headers", json_array());
        json_t *ct = json_object();
        put(ct, "size", json_integer(0));
        put(ct, "mimeType", json_string("x-unknown"));
        put(rs, "content", ct);
        put(rs, "redirectURL", json_string(""));
        put(rs, "headersSize", json_integer(-1));
        put(rs, "bodySize", json_integer(0));
    } else { /* Chrome's shape for a request that got no response */
        put(rs, "status", json_integer(0));
        put(rs, "statusText", json_string(""));
        put(rs, "httpVersion", json_string(""));
        put(rs, "cookies", json_array());
        put(rs, "headers", json_array());
        json_t *ct = json_object();
        put(ct, "size", json_integer(0));
        put(ct, "mimeType", json_string("x-unknown"));
        put(rs, "content", ct);
        put(rs, "redirectURL", json_string(""));
        put(rs, "headersSize", json_integer(-1));
        put(rs, "bodySize", json_integer(-1));
    }
    if (failed)
        put(rs, "_error", json_string(*sget(d, "error") ? sget(d, "error") : "failed"));
    put(e, "response", rs);

    if (json_is_true(json_object_get(reqd, "body_truncated")))
        put(e, "_truncated", json_true());
    put(e, "cache", json_object());
    put(e, "timings", timings);
    put(e, "time", json_real(total));
    if (*sget(d, "server_ip"))
        put(e, "serverIPAddress", json_string(sget(d, "server_ip")));
    char conn[32];
    snprintf(conn, sizeof conn, "%lld", (long long)iget(d, "conn_id", 0));
    put(e, "connection", json_string(conn));
    put(e, "_id", json_integer((json_int_t)id));
    json_t *h2 = json_object_get(d, "http2"); /* HTTP/2 stream ids of each leg */
    if (json_is_integer(json_object_get(h2, "stream_id")))
        put(e, "_streamId", json_incref(json_object_get(h2, "stream_id")));
    if (json_is_integer(json_object_get(h2, "upstream_stream_id")))
        put(e, "_upstreamStreamId", json_incref(json_object_get(h2, "upstream_stream_id")));
    if (*sget(d, "client"))
        put(e, "_client", json_string(sget(d, "client")));
    if (*sget(d, "note"))
        put(e, "_note", json_string(sget(d, "note")));
    if (tunnel) {
        put(e, "_bytesUp", json_integer(iget(d, "bytes_up", 0)));
        put(e, "_bytesDown", json_integer(iget(d, "bytes_down", 0)));
    }
    json_t *replayed = json_object_get(d, "_replay_of"), *composed = json_object_get(d, "_composed");
    if (json_is_integer(replayed)) /* httpeek sent it again, or composed it (replay.c) */
        put(e, "_replay_of", json_incref(replayed));
    if (json_is_true(composed))
        put(e, "_composed", json_true());
    json_t *ruled = json_object_get(d, "_rules");
    if (json_is_array(ruled) && json_array_size(ruled))
        put(e, "_rules", rules_out(ruled, redact));
    json_t *paused = json_object_get(d, "_breakpoints");
    if (json_is_array(paused))
        put(e, "_breakpoints", breakpoints_out(paused, redact));
    json_t *throttled = json_object_get(d, "_throttle");
    if (json_is_object(throttled))
        put(e, "_throttle", json_incref(throttled));
    json_t *diag = json_object_get(d, "diagnosis");
    if (json_is_object(diag))
        put(e, "_diagnosis", json_incref(diag));
    json_t *warn = json_object_get(d, "warnings");
    if (json_is_array(warn) && json_array_size(warn))
        put(e, "_warnings", json_incref(warn));
    if (har_ws_add(c->r, d, e) < 0) /* a WebSocket's messages (har_ws.h) */
        c->failed = 1;
    return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Streaming */

static int out(struct har_ctx *c, const char *s, size_t len)
{
    if (c->failed)
        return -1;
    if (c->write(s, len, c->arg) < 0)
        c->failed = 1;
    return c->failed ? -1 : 0;
}

static int write_one(uint64_t id, void *arg)
{
    struct har_ctx *c = arg;
    json_t *d = store_reader_get(c->r, id);
    if (!d)
        return 0; /* listed ids that are not in the store are skipped */
    json_t *e = entry_json(c, d);
    json_decref(d);
    char *text = e ? json_dumps(e, HAR_DUMP_FLAGS) : NULL;
    json_decref(e);
    if (!text) {
        log_msg(LOG_WARN, "har: flow %llu: out of memory", (unsigned long long)id);
        c->failed = 1;
        return -1;
    }
    if (c->n++)
        out(c, ",\n", 2);
    else
        out(c, "\n", 1);
    out(c, text, strlen(text));
    free(text);
    return c->failed ? -1 : 0;
}

static int first_id(uint64_t id, void *arg)
{
    *(uint64_t *)arg = id;
    return 1;
}

int har_write(struct store_reader *r, const struct har_options *o, har_write_fn write, void *arg)
{
    struct har_ctx c = {.r = r, .o = o, .write = write, .arg = arg};
    /* the page starts with the first flow (HAR: pages[].startedDateTime) */
    uint64_t first = 0;
    if (o->ids) {
        for (size_t i = 0; i < o->nids && !first; i++) {
            json_t *d = store_reader_get(r, o->ids[i]);
            if (d)
                first = o->ids[i];
            json_decref(d);
        }
    } else if (store_reader_foreach(r, first_id, &first) < 0)
        return -1;
    char started[40];
    json_t *fd = first ? store_reader_get(r, first) : NULL;
    if (fd && *sget(fd, "started"))
        snprintf(started, sizeof started, "%s", sget(fd, "started"));
    else {
        struct timeval now;
        gettimeofday(&now, NULL);
        flow_json_iso_time(&now, started, sizeof started);
    }
    json_decref(fd);

    json_t *page = json_pack("{s:s, s:s, s:s, s:{s:i, s:i}}", "startedDateTime", started,
                             "id", "page_1", "title", "httpeek capture",
                             "pageTimings", "onContentLoad", -1, "onLoad", -1);
    json_t *creator = json_pack("{s:s, s:s}", "name", "httpeek", "version", HTTPEEK_VERSION);
    char *pt = page ? json_dumps(page, HAR_DUMP_FLAGS) : NULL;
    char *ct = creator ? json_dumps(creator, HAR_DUMP_FLAGS) : NULL;
    json_decref(page);
    json_decref(creator);
    if (!pt || !ct) {
        free(pt);
        free(ct);
        return -1;
    }
    struct evbuffer *head = evbuffer_new();
    if (!head) {
        free(pt);
        free(ct);
        return -1;
    }
    evbuffer_add_printf(head, "{\"log\":{\"version\":\"1.2\",\"creator\":%s,\"pages\":[%s],\"entries\":[",
                        ct, pt);
    free(pt);
    free(ct);
    size_t hl = evbuffer_get_length(head);
    out(&c, (const char *)evbuffer_pullup(head, -1), hl);
    evbuffer_free(head);

    int rc = 0;
    if (o->ids) {
        for (size_t i = 0; i < o->nids && !c.failed; i++)
            write_one(o->ids[i], &c);
    } else
        rc = store_reader_foreach(r, write_one, &c);
    if (rc < 0 || c.failed)
        return -1;
    return out(&c, "\n]}}\n", 5);
}
