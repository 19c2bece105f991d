/* warnings.c — see warnings.h. What the app's networking layer does with a response that arrived:
 * AFNetworking's AFHTTPResponseSerializer / AFJSONResponseSerializer validation (status 200-299,
 * acceptableContentTypes), Alamofire's validate() (the request's Accept, status 200..<300),
 * JSONSerialization / JSONDecoder, AVFoundation's playlist loading under ATS, and URLCache's
 * storage rules (RFC 9111 as CFNetwork applies it). Each check is silent unless its condition is
 * met exactly; where the proxy cannot tell (a capture cut at --max-body, a coding this build
 * cannot decode), it says so or stays silent rather than guess. */
#include "warnings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>
#include "body_decode.h"
#include "hls.h"
#include "json_scan.h"
#include "urlcache.h"
#include "http1.h"

#define AF_DOMAIN "AFURLResponseSerializationErrorDomain"
#define COCOA_DOMAIN "NSCocoaErrorDomain"

static const struct diagnose_entry status_entry = {
    -1011, "NSURLErrorBadServerResponse",
    "The app's response validation rejects this status",
    "A 4xx/5xx is an error to AFNetworking (acceptableStatusCodes 200-299) and to Alamofire's "
    "validate(): the app gets that error instead of the body. Fix the cause the status names (see "
    "the response body), and make the app read the error body: AFNetworking puts it in "
    "userInfo[AFNetworkingOperationFailingURLResponseDataErrorKey]; Alamofire in response.data.",
    "Retrofit: Response.isSuccessful() == false (HttpException in coroutines/Rx)", NULL, "status"};

static const struct diagnose_entry ctype_entry = {
    -1016, "NSURLErrorCannotDecodeContentData",
    "The app's response validation rejects this Content-Type",
    "Serve the type the request accepts (JSON as application/json, with the server's or "
    "gateway's error pages in JSON too). An HTML body on a JSON call is usually a gateway, load "
    "balancer or captive portal answering instead of the API. In the app, read the error body "
    "before decoding, or widen acceptableContentTypes only if the type is really JSON.",
    "Retrofit/Gson: JsonSyntaxException: Expected BEGIN_OBJECT but was STRING; Moshi: "
    "JsonEncodingException: Use JsonReader.setLenient(true)", NULL, "content-type"};

static const struct diagnose_entry json_entry = {
    3840, "NSPropertyListReadCorruptError",
    "The body is declared JSON but will not decode",
    "Fix the server so the body is one complete JSON text (an object or array), or declare its "
    "real Content-Type. A cut body points at a crash mid-response or a wrong Content-Length.",
    "Gson: JsonSyntaxException / MalformedJsonException; Moshi: JsonEncodingException", NULL, "json"};

static const struct diagnose_entry empty_entry = {
    3840, "NSPropertyListReadCorruptError",
    "An empty body where the app expects JSON",
    "Answer 204 No Content when there is nothing to send (Alamofire accepts an empty body only "
    "for 204/205 and HEAD), or send {} / [] with 200; in the app, decode Empty or check "
    "data.isEmpty first.",
    "Gson/Moshi: java.io.EOFException: End of input at line 1 column 1", NULL, "empty"};

static const struct diagnose_entry cenc_entry = {
    -1015, "NSURLErrorCannotDecodeRawData",
    "The body does not match its Content-Encoding",
    "The server labels the body with a Content-Encoding it is not in (often gzip applied twice, "
    "or the header copied from a cached compressed response to a plain one). Send the header only "
    "with bytes in that coding.",
    "OkHttp: java.util.zip.ZipException: Not in GZIP format / java.io.EOFException", NULL, "encoding"};

static const struct diagnose_entry hls_bad_entry = {
    -1002, "NSURLErrorUnsupportedURL",
    "The playlist lists URIs AVPlayer cannot load",
    "Every segment and variant URI must be an http(s) URL or a path relative to the playlist, "
    "percent-encoded (no spaces or control characters).",
    "ExoPlayer: ParserException / HttpDataSourceException", NULL, "hls-unsupported"};

static const struct diagnose_entry hls_clear_entry = {
    -1022, "NSURLErrorAppTransportSecurityRequiresSecureConnection",
    "The playlist lists cleartext http:// URIs",
    "Serve the segments over https://. AVFoundation applies ATS to media: cleartext segments "
    "need NSAllowsArbitraryLoadsForMedia (or an NSExceptionDomains entry for their host).",
    "Android 9+: CLEARTEXT communication not permitted (network_security_config)", NULL, "hls-cleartext"};

static const struct diagnose_entry local_entry = {
    -1022, "NSURLErrorAppTransportSecurityRequiresSecureConnection",
    "Cleartext HTTP to a local-network host",
    "Set NSAppTransportSecurity > NSAllowsLocalNetworking = YES in Info.plist: it covers .local "
    "names, unqualified names and IP addresses, and App Review does not question it. Do not use "
    "NSAllowsArbitraryLoads for this (it opens every host; NSExceptionDomains cannot name an IP "
    "address before iOS 17).",
    "Android 9+: add the host to network_security_config <domain-config "
    "cleartextTrafficPermitted=\"true\">", NULL, "local-network"};

static const struct diagnose_entry cache_entry = {
    0, "URLCache",
    "What URLCache does with this response",
    "To make the app refetch: Cache-Control: no-cache (revalidate each time) or no-store from "
    "the server, or URLRequest.cachePolicy = .reloadIgnoringLocalCacheData in the app. To let it "
    "reuse the response: Cache-Control: max-age=N and an ETag. For large responses, give "
    "URLSession a bigger URLCache(memoryCapacity:diskCapacity:directory:).",
    "OkHttp: Cache(directory, maxSize) and CacheControl", NULL, "cache"};

/* The entries a stored warning names (by diagnose_entry.key). */
static const struct diagnose_entry *const keyed[] = {
    &status_entry, &ctype_entry, &json_entry, &empty_entry, &cenc_entry,
    &hls_bad_entry, &hls_clear_entry, &local_entry, &cache_entry,
};

const struct diagnose_entry *warnings_entry(const char *key)
{
    for (size_t i = 0; i < sizeof keyed / sizeof *keyed; i++)
        if (strcmp(keyed[i]->key, key) == 0)
            return keyed[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers */

/* The media type of a Content-Type or Accept element: lower-cased (ASCII, as tolower in the C
 * locale httpeek runs in, without a call per byte), without parameters. */
static void media_type(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    for (; n && *s != ';' && *s != ' ' && *s != '\t' && o + 1 < outlen; s++, n--) {
        unsigned char c = (unsigned char)*s;
        out[o++] = (char)(c | ((unsigned)(c - 'A') < 26u ? 0x20 : 0));
    }
    out[o] = '\0';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* application/json, text/json, application/<x>+json: the types a body is "declared JSON" by. */
static int json_type(const char *m)
{
    if (m[0] == 't')
        return !strcmp(m, "text/json");
    if (m[0] != 'a' || strncmp(m, "application/", 12))
        return 0;
    const char *sub = m + 12; /* a suffix shorter than "+json" cannot end with it */
    return !strcmp(sub, "json") || ends_with(sub, "+json");
}

/* What AFJSONResponseSerializer accepts (application/json, text/json, text/javascript) plus
 * +json and application/javascript: a JSON body under one of these is not mistyped. */
static int json_ok_type(const char *m)
{
    return json_type(m) || !strcmp(m, "text/javascript") || !strcmp(m, "application/javascript");
}

static int playlist_type(const char *m)
{
    return !strcmp(m, "application/vnd.apple.mpegurl") || !strcmp(m, "application/x-mpegurl") ||
           !strcmp(m, "audio/mpegurl") || !strcmp(m, "audio/x-mpegurl");
}

/* The URL's path ends with .m3u8 (query and fragment ignored). */
static int m3u8_url(const char *url)
{
    if (!url)
        return 0;
    size_t n = strcspn(url, "?#");
    return n >= 5 && !strncasecmp(url + n - 5, ".m3u8", 5);
}

/* Whether Accept (a list of media ranges) names a type at all (not just * / *), and whether mime
 * is one of its ranges with q > 0. Returns -1 (names none: no verdict), 1 accepted, 0 not. */
static int accept_verdict(const char *accept, const char *mime, char *listed, size_t listedlen)
{
    int named = 0, accepted = 0;
    size_t lo = 0;
    listed[0] = '\0';
    const char *p = accept;
    while (*p) {
        size_t n = strcspn(p, ",");
        char range[96];
        media_type(p, n, range, sizeof range);
        /* q=0 means "not acceptable" (RFC 9110 §12.4.2) */
        const char *semi = memchr(p, ';', n);
        int q0 = 0;
        for (const char *q = semi; q && q < p + n; q = memchr(q + 1, ';', (size_t)(p + n - q - 1))) {
            const char *v = q + 1;
            while (*v == ' ')
                v++;
            if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
                double qv = strtod(v + 2, NULL);
                q0 = qv <= 0;
            }
        }
        if (range[0] && strchr(range, '/') && !q0) {
            if (strcmp(range, "*/*")) {
                named = 1;
                if (lo + strlen(range) + 3 < listedlen)
                    lo += (size_t)snprintf(listed + lo, listedlen - lo, "%s%s", lo ? ", " : "", range);
            }
            size_t tl = strcspn(range, "/");
            if (!strcmp(range, "*/*") || !strcmp(range, mime) ||
                (!strcmp(range + tl, "/*") && !strncmp(range, mime, tl + 1)))
                accepted = 1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (accepted)
        return 1;
    return named ? 0 : -1;
}

/* NSHTTPURLResponse.localizedString(forStatusCode:) — the words in AFNetworking's
 * "Request failed: <words> (<code>)". */
static const char *status_words(int s)
{
    switch (s) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 402: return "payment required";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 406: return "unacceptable";
    case 407: return "proxy authentication required";
    case 408: return "request timed out";
    case 409: return "conflict";
    case 410: return "no longer exists";
    case 411: return "length required";
    case 412: return "precondition failed";
    case 413: return "request too large";
    case 414: return "requested URL too long";
    case 415: return "unsupported media type";
    case 416: return "requested range not satisfiable";
    case 417: return "expectation failed";
    case 500: return "internal server error";
    case 501: return "unimplemented";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timed out";
    case 505: return "HTTP version not supported";
    default: return s >= 500 ? "server error" : "client error";
    }
}

/* What the status usually means for the developer reading it. */
static const char *status_hint(int s)
{
    switch (s) {
    case 401: return " The request lacks valid credentials: an expired or missing token.";
    case 403: return " The credentials are valid but not allowed this resource.";
    case 404: return " Nothing at this path: check the URL (base path, API version, trailing slash).";
    case 429: return " Rate limited: back off as Retry-After says.";
    case 502: return " A gateway in front of the API got no valid answer from it: the API is down or crashed.";
    case 503: return " The service is unavailable (overloaded or in maintenance); retry later.";
    case 504: return " A gateway in front of the API timed out waiting for it.";
    default: return s >= 500 ? " The server failed: its logs say why." : "";
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Hosts */

int warnings_local_host(const char *host)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
               (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xc0) == 64);
    char h[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof h) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        host = h;
    }
    if (inet_pton(AF_INET6, host, a) == 1)
        return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
    if (!*host || !strcasecmp(host, "localhost") || ends_with(host, ".localhost"))
        return 0;
    return !strchr(host, '.') || ends_with(host, ".local") || ends_with(host, ".local.");
}

/* ------------------------------------------------------------------------------------------ */
/* Body facts, computed once per flow */

/* Copy a playlist URI (cut) for the warning's detail. */
static void keep_uri(char *dst, size_t dstlen, const char *s, size_t n)
{
    if (n >= dstlen)
        n = dstlen - 4;
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        dst[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (n == dstlen - 4) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Check one playlist URI (a line, or a URI="..." attribute: keys may use skd:// and data:). */
static void hls_uri(struct flow_checks *c, const char *u, size_t n, unsigned line, int attr)
{
    c->hls_uris++;
    size_t s = 0;
    while (s < n && (isalnum((unsigned char)u[s]) || u[s] == '+' || u[s] == '-' || u[s] == '.'))
        s++;
    int bad = 0, clear = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f || u[i] == '"' || u[i] == '<' || u[i] == '>')
            bad = 1;
    if (!bad && s > 0 && s < n && u[s] == ':' && isalpha((unsigned char)u[0])) {
        if (s == 4 && !strncasecmp(u, "http", 4))
            clear = 1;
        if ((s == 4 && !strncasecmp(u, "http", 4)) || (s == 5 && !strncasecmp(u, "https", 5)))
            bad = n < s + 4 || u[s + 1] != '/' || u[s + 2] != '/' || u[s + 3] == '/';
        else if (!(attr && ((s == 3 && !strncasecmp(u, "skd", 3)) ||
                            (s == 4 && !strncasecmp(u, "data", 4)))))
            bad = 1;
    }
    if (bad) {
        if (!c->hls_bad++) {
            c->hls_bad_line = line;
            keep_uri(c->hls_bad_uri, sizeof c->hls_bad_uri, u, n);
        }
    } else if (clear && !c->hls_clear++) {
        c->hls_clear_line = line;
        keep_uri(c->hls_clear_uri, sizeof c->hls_clear_uri, u, n);
    }
}

/* hls_each_uri's callback */
static void hls_check(const char *u, size_t n, unsigned line, int attr, void *c)
{
    hls_uri(c, u, n, line, attr);
}

/* mime: the response's media type (media_type of its Content-Type), declared: json_type(mime). */
static void compute_checks(const struct flow *f, const struct urlcache_heads *h, const char *mime,
                           int declared, struct flow_checks *c)
{
    const struct http1_head *resp = f->resp;
    const struct flow_capture *b = &f->resp_body;
    if (!resp || f->fail.failed || f->kind != FLOW_HTTP)
        return;
    const char *cenc = h->content_encoding;
    int playlist = playlist_type(mime) || (m3u8_url(f->url) && !declared &&
                                           strncmp(mime, "text/html", 9));
    /* a JSON body under another type matters only when it starts like JSON: peek before work */
    size_t k = 0;
    while (k < b->len && isspace((unsigned char)b->data[k]))
        k++;
    int maybe_json = !declared && !json_ok_type(mime) && mime[0] && k < b->len &&
                     (b->data[k] == '{' || b->data[k] == '[' || (cenc && *cenc));
    int coded = cenc && *cenc && strcasecmp(cenc, "identity");
    if (!declared && !playlist && !maybe_json && !coded)
        return;
    if (b->total == 0) {
        c->body = WARNINGS_BODY_EMPTY;
        return;
    }
    if (b->total > WARNINGS_BODY_MAX) {
        c->body = WARNINGS_BODY_TOO_BIG;
        return;
    }
    if (b->truncated) {
        c->body = WARNINGS_BODY_TRUNCATED;
        return;
    }
    const char *text = b->data;
    size_t len = b->len;
    struct evbuffer *dec = NULL;
    if (coded) {
        dec = evbuffer_new();
        int r = dec ? body_decode(cenc, 0, (const unsigned char *)b->data, b->len,
                                  WARNINGS_DECODED_MAX, dec)
                    : BODY_DECODE_OOM;
        if (r == BODY_DECODE_BAD)
            c->encoding = WARNINGS_ENC_MISMATCH;
        else if (r == BODY_DECODE_UNKNOWN)
            c->encoding = WARNINGS_ENC_UNKNOWN;
        if (r != BODY_DECODE_OK) {
            c->body = r == BODY_DECODE_TOO_BIG ? WARNINGS_BODY_TOO_BIG : WARNINGS_BODY_UNDECODED;
            evbuffer_free(dec);
            return;
        }
        len = evbuffer_get_length(dec);
        text = len ? (const char *)evbuffer_pullup(dec, -1) : "";
        if (!text) {
            c->body = WARNINGS_BODY_UNDECODED;
            evbuffer_free(dec);
            return;
        }
    }
    if (declared || maybe_json) {
        struct json_scan_result j;
        json_scan(text, len, &j);
        if (!declared && j.state != WARNINGS_BODY_JSON)
            c->body = WARNINGS_BODY_NOT_JSON; /* not JSON under a non-JSON type: nothing to say */
        else {
            c->body = (unsigned char)j.state;
            c->json_at = (uint32_t)j.at;
            c->json_line = j.line;
            c->json_col = j.col;
            c->json_why = j.why;
            c->json_byte = j.at < len ? (unsigned char)text[j.at] : 0;
            c->json_at_end = j.at >= len;
        }
    }
    if (playlist && len >= 7 && !memcmp(text, "#EXTM3U", 7))
        hls_each_uri(text, len, hls_check, c);
    if (dec)
        evbuffer_free(dec);
}

static const struct flow_checks *checks_of(const struct flow *f, const struct urlcache_heads *h,
                                           const char *mime, int declared)
{
    /* The flow is owned by one thread at a time (worker, then store writer); the checks are a
     * cache of a pure function of its bytes, so filling them through a const pointer is safe. */
    struct flow_checks *c = (struct flow_checks *)&f->checks;
    if (!c->done) {
        compute_checks(f, h, mime, declared, c);
        c->done = 1;
    }
    return c;
}

void warnings_remember(const struct flow *f, const struct diagnosis *w, size_t n)
{
    struct flow_checks *c = (struct flow_checks *)&f->checks;
    if (c->kinds_set)
        return;
    c->kinds_set = 1;
    for (size_t i = 0; i < n && i < sizeof c->kinds / sizeof *c->kinds; i++)
        c->kinds[i] = w[i].kind;
}

/* ------------------------------------------------------------------------------------------ */
/* Building the warnings */

static struct diagnosis *add(struct diagnosis *out, size_t max, size_t *n,
                             const struct diagnose_entry *e, const char *kind, const char *domain,
                             const char *stage)
{
    if (*n >= max)
        return NULL;
    struct diagnosis *d = &out[(*n)++];
    d->detail[0] = '\0'; /* not a memset of the whole 512-byte detail, on every flow */
    d->entry = e;
    d->kind = kind;
    d->domain = domain;
    d->stage = stage;
    return d;
}

size_t warnings_app(const struct flow *f, struct diagnosis *out, size_t max)
{
    size_t n = 0;
    if (f->kind != FLOW_HTTP || f->fail.failed || !f->req)
        return 0;
    struct diagnosis *d;
    if (!strcmp(f->scheme, "http") && warnings_local_host(f->host) &&
        (d = add(out, max, &n, &local_entry, "local-network", NULL, "request")))
        snprintf(d->detail, sizeof d->detail,
                 "Cleartext http:// to %s, a local-network host. ATS leaves .local names, "
                 "unqualified names and IP addresses alone on iOS 10 to 16, so this loads there "
                 "without an exception; iOS 9, and apps built for iOS 17 or later talking to an IP "
                 "address, fail it with -1022 unless Info.plist sets NSAllowsLocalNetworking.",
                 f->host);
    const struct http1_head *r = f->resp;
    if (!r)
        return n;
    struct urlcache_heads h;
    urlcache_heads(f, &h);
    /* the media type once, for the body facts and the checks below */
    char mime[96];
    const char *ct = h.content_type;
    media_type(ct ? ct : "", ct ? strlen(ct) : 0, mime, sizeof mime);
    int declared = json_type(mime);
    const struct flow_checks *c = checks_of(f, &h, mime, declared);
    int status = r->status;
    if (status >= 400 && status <= 599 && (d = add(out, max, &n, &status_entry, "status", AF_DOMAIN, "response")))
        snprintf(d->detail, sizeof d->detail,
                 "The server answered %d %.60s. AFNetworking: \"Request failed: %s (%d)\" "
                 "(AFURLResponseSerializationErrorDomain -1011); Alamofire validate(): "
                 "responseValidationFailed(reason: .unacceptableStatusCode(code: %d)).%s",
                 status, r->reason, status_words(status), status, status, status_hint(status));

    /* content type: against the request's Accept when it names types; else a JSON body typed
     * as something else (AFJSONResponseSerializer checks the type whatever the request said) */
    const char *accept = h.accept;
    int has_body = f->resp_body.total > 0 && status != 204 && status != 304 &&
                   f->req->method != HTTP_HEAD;
    if (has_body && mime[0]) {
        char listed[160];
        int v = accept ? accept_verdict(accept, mime, listed, sizeof listed) : -1;
        if (v == 0 && (d = add(out, max, &n, &ctype_entry, "content-type", AF_DOMAIN, "response")))
            snprintf(d->detail, sizeof d->detail,
                     "The request accepts %.150s; the response (%d) is %.60s. AFNetworking: "
                     "\"Request failed: unacceptable content-type: %.60s\" "
                     "(AFURLResponseSerializationErrorDomain -1016); Alamofire validate(): "
                     "responseValidationFailed(reason: .unacceptableContentType(acceptableContentTypes: "
                     "[%.100s], responseContentType: \"%.60s\")).",
                     listed, status, mime, mime, listed, mime);
        else if (v != 0 && c->body == WARNINGS_BODY_JSON && !json_ok_type(mime) &&
                 (d = add(out, max, &n, &ctype_entry, "content-type", AF_DOMAIN, "response")))
            snprintf(d->detail, sizeof d->detail,
                     "The body is JSON, but it is served as %.60s. AFJSONResponseSerializer accepts "
                     "only application/json, text/json and text/javascript: \"Request failed: "
                     "unacceptable content-type: %.60s\" (AFURLResponseSerializationErrorDomain "
                     "-1016). JSONDecoder on the bytes alone would decode it.",
                     mime, mime);
    }

    /* decoding */
    if (c->encoding == WARNINGS_ENC_MISMATCH &&
        (d = add(out, max, &n, &cenc_entry, "decode", NULL, "receive")))
        snprintf(d->detail, sizeof d->detail,
                 "The response says Content-Encoding: %.60s, but its %llu bytes are not in that "
                 "coding: URLSession fails the load with -1015 (NSURLErrorCannotDecodeRawData) and "
                 "the app gets no body.",
                 h.content_encoding, (unsigned long long)f->resp_body.total);
    if (declared && has_body && c->body == WARNINGS_BODY_BAD_JSON &&
        (d = add(out, max, &n, &json_entry, "decode", COCOA_DOMAIN, "response"))) {
        char shown[8];
        unsigned char ch = c->json_byte;
        if (c->json_at_end)
            snprintf(shown, sizeof shown, "the end");
        else if (ch >= 0x21 && ch < 0x7f)
            snprintf(shown, sizeof shown, "'%c'", ch);
        else
            snprintf(shown, sizeof shown, "0x%02x", ch);
        snprintf(d->detail, sizeof d->detail,
                 "The body (%.60s) is not valid JSON: it breaks at byte %u (line %u, column %u, "
                 "at %s): \"%s around character %u.\" JSONSerialization fails with "
                 "NSCocoaErrorDomain 3840; JSONDecoder with DecodingError.dataCorrupted (\"The "
                 "given data was not valid JSON.\"); Alamofire with "
                 "responseSerializationFailed(.jsonSerializationFailed) or .decodingFailed.",
                 mime, c->json_at, c->json_line, c->json_col, shown, c->json_why ? c->json_why : "Invalid value", c->json_at);
    } else if (declared && status == 200 && f->req->method != HTTP_HEAD &&
               f->resp_body.total == 0 &&
               (d = add(out, max, &n, &empty_entry, "decode", COCOA_DOMAIN, "response")))
        snprintf(d->detail, sizeof d->detail,
                 "200 with Content-Type %.60s and an empty body. Alamofire's response serializers "
                 "fail with responseSerializationFailed(reason: .inputDataNilOrZeroLength) (an "
                 "empty body is accepted only for 204/205 and HEAD); JSONDecoder and "
                 "JSONSerialization fail with NSCocoaErrorDomain 3840 (\"Unexpected end of "
                 "file\").",
                 mime);
    else if (declared && has_body && c->body == WARNINGS_BODY_FRAGMENT &&
             (d = add(out, max, &n, &json_entry, "decode", COCOA_DOMAIN, "response")))
        snprintf(d->detail, sizeof d->detail,
                 "The body is valid JSON but a bare value, not an object or array. "
                 "JSONSerialization without .fragmentsAllowed (AFJSONResponseSerializer's default) "
                 "fails with NSCocoaErrorDomain 3840 \"JSON text did not start with array or "
                 "object and option to allow fragments not set.\"; JSONDecoder (iOS 13+) and "
                 "Alamofire's DecodableResponseSerializer accept it.");
    else if (declared && has_body && c->body == WARNINGS_BODY_TRUNCATED &&
             (d = add(out, max, &n, &json_entry, "decode", COCOA_DOMAIN, "response")))
        snprintf(d->detail, sizeof d->detail,
                 "Cannot tell whether this JSON body decodes: httpeek kept only the first %llu of "
                 "its %llu bytes (--max-body). Nothing is known to be wrong.",
                 (unsigned long long)f->resp_body.len, (unsigned long long)f->resp_body.total);

    /* HLS */
    if (c->hls_bad && (d = add(out, max, &n, &hls_bad_entry, "hls", NULL, "response")))
        snprintf(d->detail, sizeof d->detail,
                 "%u of the playlist's %u URIs cannot be loaded, the first on line %u: \"%s\". "
                 "AVPlayer fails that variant or segment with -1002 (NSURLErrorUnsupportedURL).",
                 c->hls_bad, c->hls_uris, c->hls_bad_line, c->hls_bad_uri);
    if (c->hls_clear && (d = add(out, max, &n, &hls_clear_entry, "hls", NULL, "response")))
        snprintf(d->detail, sizeof d->detail,
                 "%u of the playlist's %u URIs are cleartext http://, the first on line %u: "
                 "\"%s\". Under ATS, AVPlayer fails them with -1022 unless the app sets "
                 "NSAllowsArbitraryLoadsForMedia or an exception for that host.",
                 c->hls_clear, c->hls_uris, c->hls_clear_line, c->hls_clear_uri);
    if ((d = add(out, max, &n, &cache_entry, "cache", NULL, "response")) &&
        !urlcache_note(f, &h, d->detail, sizeof d->detail))
        n--; /* nothing to say */
    return n;
}
