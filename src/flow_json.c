/* flow_json.c — see flow_json.h. Pure: no I/O, no globals. The store's texts are written directly
 * into one growable buffer (no jansson tree: building and freeing ~150 small objects per flow was
 * a quarter of the store thread's time); tests/common/flow_json_ref.c is the jansson model they
 * are checked against. */
#include "flow_json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "diagnose.h"
#include "flow_words.h"
#include "str.h"
#include "useragent.h"
#include "warnings.h"

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 when invalid
 * (RFC 3629 §4 table: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

int flow_json_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

json_t *flow_json_string(const char *s, size_t len)
{
    if (!s)
        return json_string("");
    if (flow_json_is_utf8(s, len))
        return json_stringn(s, len);
    /* worst case every byte becomes two */
    unsigned char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else { /* Latin-1: U+0080..U+00FF as two bytes */
            out[o++] = (unsigned char)(0xc0 | (p[i] >> 6));
            out[o++] = (unsigned char)(0x80 | (p[i] & 0x3f));
            i++;
        }
    }
    json_t *j = json_stringn((const char *)out, o);
    free(out);
    return j;
}

void flow_json_iso_time(const struct timeval *tv, char *buf, size_t buflen)
{
    /* "YYYY-MM-DDTHH:MM:SS" is made once per second per thread: gmtime_r and snprintf for each
     * flow were a visible share of the store thread */
    static __thread time_t cached_sec = -1;
    static __thread char cached[32];
    time_t sec = tv->tv_sec;
    if (sec != cached_sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = sec;
    }
    int ms = (int)(tv->tv_usec / 1000);
    if (ms < 0 || ms > 999)
        ms = 0;
    char frac[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z', '\0'};
    size_t n = 0;
    if (!buflen)
        return;
    buf[0] = '\0';
    str_append(buf, buflen, &n, cached);
    str_append(buf, buflen, &n, frac);
}

void flow_json_mime(const char *ctype, char *out, size_t outlen)
{
    size_t o = 0;
    if (!outlen)
        return;
    if (ctype) {
        while (*ctype == ' ' || *ctype == '\t')
            ctype++;
        for (; *ctype && *ctype != ';' && *ctype != ' ' && *ctype != '\t' && o + 1 < outlen; ctype++)
            out[o++] = (char)tolower((unsigned char)*ctype);
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* A JSON text writer: appends to out->buf; a failed allocation sets out->oom and stops writing. */

static void grow(struct flow_json_text *w, size_t more)
{
    size_t ncap = w->cap ? w->cap : 4096;
    while (ncap < w->len + more)
        ncap *= 2;
    char *nb = realloc(w->buf, ncap);
    if (!nb) {
        w->oom = 1;
        return;
    }
    w->buf = nb;
    w->cap = ncap;
}

/* Room for more bytes; the check is inlined at each of the ~250 writes of a flow, the growth
 * (a few times per writer's life) is not. */
static inline __attribute__((always_inline)) void reserve(struct flow_json_text *w, size_t more)
{
    if (__builtin_expect(w->len + more > w->cap, 0) && !w->oom)
        grow(w, more);
}

static inline __attribute__((always_inline)) void raw(struct flow_json_text *w, const char *s,
                                                      size_t n)
{
    reserve(w, n);
    if (w->oom)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

#define RAW(w, lit) raw((w), (lit), sizeof(lit) - 1)

/* A comma unless the container just opened: values and keys call it first. */
/* Whether the next value or key follows another one in its container (so needs a comma). */
static inline int after_member(const struct flow_json_text *w)
{
    return w->len && w->buf[w->len - 1] != '{' && w->buf[w->len - 1] != '[';
}

static void sep(struct flow_json_text *w)
{
    if (!w->oom && after_member(w))
        raw(w, ",", 1);
}

/* 1 for the bytes a JSON string holds as they are: ASCII from space up, but '"' and '\\'. */
static const unsigned char json_plain[256] = {
    [' '] = 1, ['!'] = 1, ['#' ... '['] = 1, [']' ... 0x7f] = 1,
};

/* The end of the run of bytes from i that stand for themselves (json_plain), 8 at a time while
 * none of them needs a look: a control byte, '"', '\\' or a byte of 0x80 and up (the usual
 * "has a byte less than / equal to" word tricks; exact for "any byte", which is all we ask).
 * Header values and URLs are long runs; measured, a small gain (~2 % of the writer's
 * instructions: most of them are per member, see key). */
static size_t plain_run(const unsigned char *p, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= n) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
        uint64_t look = ((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote) |
                        ((backslash - ones) & ~backslash) | v;
        if (look & highs)
            break;
        i += 8;
    }
    while (i < n && json_plain[p[i]])
        i++;
    return i;
}

/* s[0..n) as a JSON string: valid UTF-8 kept, other bytes as Latin-1 (two bytes each), the
 * escapes jansson uses (\" \\ \b \f \n \r \t, \u00XX for other controls and NUL). */
static void str_n(struct flow_json_text *w, const char *s, size_t n)
{
    reserve(w, n * 6 + 2); /* worst case: every byte a \u00XX escape */
    if (w->oom)
        return;
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    char *o = w->buf + w->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        /* a run of bytes that stand for themselves, copied at once (most header text is one) */
        size_t run = plain_run(p, i, n);
        memcpy(o, p + i, run - i);
        o += run - i;
        i = run;
        if (i == n)
            break;
        unsigned char c = p[i];
        if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            }
            i++;
        } else {
            size_t k = utf8_seq(p + i, n - i);
            if (k) {
                memcpy(o, p + i, k);
                o += k;
                i += k;
            } else { /* Latin-1: U+0080..U+00FF as two bytes */
                *o++ = (char)(0xc0 | (c >> 6));
                *o++ = (char)(0x80 | (c & 0x3f));
                i++;
            }
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

static void str(struct flow_json_text *w, const char *s)
{
    if (!s || !*s) { /* most TLS facts of a client leg, notes, errors: no strlen, no reserve */
        raw(w, "\"\"", 2);
        return;
    }
    str_n(w, s, strlen(s));
}

/* The member writers below are always inlined: their key is a literal, so strlen(k) becomes a
 * constant instead of a call per member (~100 per flow). */
#define MEMBER static inline __attribute__((always_inline)) void

/* ,"key": (keys are our own ASCII literals: their length is a constant here) in one write */
MEMBER key(struct flow_json_text *w, const char *k)
{
    size_t kl = strlen(k);
    reserve(w, kl + 4);
    if (w->oom)
        return;
    char *o = w->buf + w->len;
    if (after_member(w))
        *o++ = ',';
    *o++ = '"';
    memcpy(o, k, kl);
    o += kl;
    *o++ = '"';
    *o++ = ':';
    w->len = (size_t)(o - w->buf);
}

MEMBER kstr(struct flow_json_text *w, const char *k, const char *v)
{
    key(w, k);
    str(w, v);
}

/* v in decimal, written backwards from end; returns where it starts. (snprintf's format parsing
 * was a visible share of the store thread: a flow has some thirty numbers.) */
static char *decimal(char *end, long long v)
{
    char *p = str_decimal(end, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    if (v < 0)
        *--p = '-';
    return p;
}

MEMBER kint(struct flow_json_text *w, const char *k, long long v)
{
    char num[24];
    key(w, k);
    char *p = decimal(num + sizeof num, v);
    raw(w, p, (size_t)(num + sizeof num - p));
}

MEMBER kbool(struct flow_json_text *w, const char *k, int v)
{
    key(w, k);
    if (v)
        RAW(w, "true");
    else
        RAW(w, "false");
}

/* An HTTP/2 stream id, or null for 0 (that leg spoke HTTP/1). */
MEMBER kstream(struct flow_json_text *w, const char *k, int32_t sid)
{
    key(w, k);
    char num[24], *p = decimal(num + sizeof num, sid);
    raw(w, sid ? p : "null", sid ? (size_t)(num + sizeof num - p) : 4);
}

/* A duration in ms rounded to the microsecond, always with a decimal point (a JSON real); a
 * phase that did not happen is the integer -1. */
MEMBER kms(struct flow_json_text *w, const char *k, double ms)
{
    key(w, k);
    if (ms < 0) {
        RAW(w, "-1");
        return;
    }
    if (!(ms < 9e15)) { /* NaN, inf, or beyond any duration: not a microsecond count in range */
        RAW(w, "0.0");
        return;
    }
    long long us = (long long)(ms * 1000.0 + 0.5);
    char num[32];
    char *end = num + sizeof num;
    int frac = (int)(us % 1000);
    int digits = 3;
    while (digits > 1 && frac % 10 == 0) { /* 12.500 -> 12.5, 3.000 -> 3.0 */
        frac /= 10;
        digits--;
    }
    char *p = end;
    for (int i = 0; i < digits; i++, frac /= 10)
        *--p = (char)('0' + frac % 10);
    *--p = '.';
    p = decimal(p, us / 1000);
    raw(w, p, (size_t)(end - p));
}

static void khttp_version(struct flow_json_text *w, const char *k, const struct http1_head *h)
{
    if (h->major >= 0 && h->major <= 9 && h->minor >= 0 && h->minor <= 9) {
        char v[] = {'H', 'T', 'T', 'P', '/', (char)('0' + h->major), '.', (char)('0' + h->minor), 0};
        kstr(w, k, v);
        return;
    }
    char v[32];
    snprintf(v, sizeof v, "HTTP/%d.%d", h->major, h->minor);
    kstr(w, k, v);
}

static void kheaders(struct flow_json_text *w, const char *k, const struct http1_head *h)
{
    key(w, k);
    RAW(w, "[");
    for (size_t i = 0; h && i < h->nfields; i++) {
        sep(w);
        RAW(w, "{\"name\":");
        str(w, h->fields[i].name);
        RAW(w, ",\"value\":");
        str(w, h->fields[i].value);
        RAW(w, "}");
    }
    RAW(w, "]");
}

static const char *method_of(const struct flow *f)
{
    if (f->kind == FLOW_TUNNEL)
        return "CONNECT";
    return f->req ? llhttp_method_name((llhttp_method_t)f->req->method) : "";
}

/* The path + query of the flow's URL ("/a?b"), "" for tunnels and flows without a request. */
static const char *path_of(const struct flow *f)
{
    if (f->kind == FLOW_TUNNEL || !f->url)
        return "";
    const char *sep_ = strstr(f->url, "://");
    if (sep_) {
        const char *p = sep_ + 3;
        p += strcspn(p, "/?#");
        return *p ? p : "/";
    }
    return f->req ? f->req->target : "";
}

static void tls_obj(struct flow_json_text *w, const struct flow_tls *t, int client_leg)
{
    RAW(w, "{");
    kbool(w, "handshake_done", t->handshake_done);
    kstr(w, "version", t->version);
    kstr(w, "cipher", t->cipher);
    kstr(w, "alpn", t->alpn);
    kstr(w, "sni", t->sni);
    kint(w, "verify_result", t->verify_result);
    kstr(w, "verify_error", t->verify_error);
    kstr(w, "alert_sent", t->alert_sent);
    kstr(w, "alert_received", t->alert_received);
    kstr(w, "error", t->error);
    kstr(w, "peer_subject", t->peer_subject);
    kstr(w, "peer_issuer", t->peer_issuer);
    kstr(w, "peer_not_before", t->peer_not_before);
    kstr(w, "peer_not_after", t->peer_not_after);
    kstr(w, "peer_key_type", t->peer_key_type);
    kint(w, "peer_key_bits", t->peer_key_bits);
    kstr(w, "peer_sig", t->peer_sig);
    kbool(w, "forward_secret", t->forward_secret);
    kbool(w, "resumed", t->resumed);
    kbool(w, "cert_requested", t->cert_requested);
    kstr(w, "client_cert", t->client_cert);
    kstr(w, "peer_names", t->peer_names);
    kstr(w, "leaf", t->leaf);
    kstr(w, "leaf_reason", t->leaf_reason);
    char words[300];
    flow_words_tls_error(t, client_leg, words, sizeof words);
    kstr(w, "error_text", words);
    RAW(w, "}");
}

/* One leg's facts: null without TLS, the key of facts written apart (tls_ref), or the object. */
static void ktls(struct flow_json_text *w, const char *k, const struct flow_tls *t, int client_leg,
                 long long ref)
{
    key(w, k);
    if (!t->present)
        RAW(w, "null");
    else if (ref > 0) {
        char num[24];
        char *p = decimal(num + sizeof num, ref);
        raw(w, p, (size_t)(num + sizeof num - p));
    } else
        tls_obj(w, t, client_leg);
}

int flow_json_tls(const struct flow_tls *t, int client_leg, struct flow_json_text *out)
{
    out->len = 0;
    out->oom = 0;
    tls_obj(out, t, client_leg);
    return out->oom ? -1 : 0;
}

/* A diagnosis, or (warning = 1) a warning: with its kind, and its domain when not
 * NSURLErrorDomain. */
static void diagnosis_obj(struct flow_json_text *w, const struct diagnosis *d, int warning)
{
    RAW(w, "{");
    kint(w, "code", d->entry->code);
    /* the warning's own domain (an app library's), else its entry's ("HTTP"), else none */
    const char *domain = d->domain ? d->domain : d->entry->domain;
    if (domain)
        kstr(w, "domain", domain);
    if (warning && d->entry->key) {
        /* a keyed warning (most flows carry URLCache's note) is stored without its entry's
         * static texts, ~500 bytes a flow; store_reader_get puts them back (warnings_entry) */
        kstr(w, "stage", d->stage ? d->stage : "");
        kstr(w, "detail", d->detail);
        kstr(w, "kind", d->kind ? d->kind : "ats");
        kstr(w, "entry", d->entry->key);
        RAW(w, "}");
        return;
    }
    kstr(w, "name", d->entry->name);
    kstr(w, "stage", d->stage ? d->stage : "");
    kstr(w, "title", d->entry->title);
    kstr(w, "detail", d->detail);
    kstr(w, "fix", d->entry->fix);
    if (d->entry->android && d->entry->android[0])
        kstr(w, "android", d->entry->android);
    if (warning)
        kstr(w, "kind", d->kind ? d->kind : "ats");
    RAW(w, "}");
}

static void capture_fields(struct flow_json_text *w, const struct flow_capture *c)
{
    kint(w, "body_size", (long long)c->total);
    kint(w, "body_captured", (long long)c->len);
    kbool(w, "body_truncated", c->truncated);
    if (c->cut) /* static ASCII: capture.h */
        kstr(w, "body_cut", c->cut);
}

void flow_json_app(const struct flow *f, char *out, size_t outlen)
{
    const char *ua = f->req ? http1_head_get(f->req, "user-agent") : NULL;
    if (ua)
        ua_app(ua, out, outlen);
    else
        out[0] = '\0';
}

static void summary_fields(struct flow_json_text *w, const struct flow *f,
                           const struct diagnosis *warn, size_t nwarn)
{
    char ts[40], app[64];
    char *mime = w->mime; /* kept for the caller (flow_json_text.mime) */
    flow_json_iso_time(&f->started, ts, sizeof ts);
    flow_json_app(f, app, sizeof app);
    flow_json_mime(f->resp ? http1_head_get(f->resp, "Content-Type") : NULL, mime, sizeof w->mime);
    kint(w, "id", (long long)f->id);
    kint(w, "conn_id", (long long)f->conn_id);
    kstr(w, "kind", f->kind == FLOW_TUNNEL ? "tunnel" : "http");
    kstr(w, "started", ts);
    kstr(w, "method", method_of(f));
    kstr(w, "url", f->url ? f->url : "");
    kstr(w, "scheme", f->scheme);
    kstr(w, "host", f->host);
    kint(w, "port", f->port);
    kstr(w, "path", path_of(f));
    kint(w, "status", f->resp ? f->resp->status : 0);
    kbool(w, "failed", f->fail.failed);
    kstr(w, "error", f->fail.failed ? f->fail.reason : "");
    kstr(w, "mime", mime);
    kint(w, "req_size", (long long)f->req_body.total);
    kint(w, "resp_size", (long long)f->resp_body.total);
    kms(w, "duration_ms", f->timings.total);
    kstr(w, "client", f->client_addr);
    kstr(w, "app", app);
    kstr(w, "note", f->note);
    kint(w, "diag_code", f->diag_code);
    /* the first warning's code (ATS -1022 / -1200), so a list can mark flows that only worked
     * because of an exception */
    kint(w, "warn_code", nwarn && warn[0].entry ? warn[0].entry->code : 0);
    /* every warning's kind and (non-zero) code, each once, in order: the viewer's warning:KIND
     * and code:N filters */
    key(w, "warn_kinds");
    RAW(w, "[");
    for (size_t i = 0; i < nwarn; i++) {
        const char *k = warn[i].kind ? warn[i].kind : "ats";
        size_t j = 0;
        while (j < i && strcmp(warn[j].kind ? warn[j].kind : "ats", k))
            j++;
        if (j == i) {
            sep(w);
            str(w, k);
        }
    }
    RAW(w, "]");
    key(w, "warn_codes");
    RAW(w, "[");
    for (size_t i = 0; i < nwarn; i++) {
        int c = warn[i].entry ? warn[i].entry->code : 0;
        size_t j = 0;
        while (j < i && (warn[j].entry ? warn[j].entry->code : 0) != c)
            j++;
        if (c && j == i) {
            char num[24];
            sep(w);
            char *p = decimal(num + sizeof num, c);
            raw(w, p, (size_t)(num + sizeof num - p));
        }
    }
    RAW(w, "]");
    char why[64];
    flow_words_reason_short(f, why, sizeof why);
    kstr(w, "reason_short", why);
    kbool(w, "failed_before_tls", flow_words_failed_before_tls(f));
    kbool(w, "own", f->own);
    kint(w, "rules", f->rules ? f->rules->n : 0); /* rules that touched it: the list's mark */
    if (f->replay_of) /* httpeek sent it again (replay.c): only then, to keep summaries small */
        kint(w, "_replay_of", (long long)f->replay_of);
    if (f->composed)
        kbool(w, "_composed", 1);
}

static void detail_fields(struct flow_json_text *w, const struct flow *f,
                          const struct diagnosis *warn, size_t nwarn, const long long refs[2])
{
    key(w, "request");
    RAW(w, "{");
    kstr(w, "method", method_of(f));
    kstr(w, "target", f->req ? f->req->target : f->kind == FLOW_TUNNEL ? f->url : "");
    if (f->req)
        khttp_version(w, "http_version", f->req);
    else
        kstr(w, "http_version", "");
    kheaders(w, "headers", f->req);
    kheaders(w, "trailers", f->req_trailers);
    kint(w, "head_size", f->req ? (long long)f->req->wire_size : -1);
    capture_fields(w, &f->req_body);
    RAW(w, "}");
    key(w, "response");
    if (f->resp) {
        RAW(w, "{");
        kint(w, "status", f->resp->status);
        kstr(w, "reason", f->resp->reason);
        khttp_version(w, "http_version", f->resp);
        kheaders(w, "headers", f->resp);
        kheaders(w, "trailers", f->resp_trailers);
        kint(w, "head_size", (long long)f->resp->wire_size);
        capture_fields(w, &f->resp_body);
        RAW(w, "}");
    } else
        RAW(w, "null");

    const struct flow_timings *t = &f->timings;
    key(w, "timings");
    RAW(w, "{");
    kms(w, "blocked", t->blocked);
    kms(w, "dns", t->dns);
    kms(w, "connect", t->connect);
    kms(w, "ssl", t->ssl);
    kms(w, "send", t->send);
    kms(w, "wait", t->wait);
    kms(w, "receive", t->receive);
    kms(w, "total", t->total);
    if (f->rules && f->rules->throttled_ms) /* network conditions' added delay, as such */
        kms(w, "throttle", (double)f->rules->throttled_ms);
    RAW(w, "}");
    kstr(w, "server_ip", f->server_ip);
    key(w, "connect_attempts"); /* Happy Eyeballs: every address tried, in order */
    RAW(w, "[");
    for (int i = 0; i < f->connect_attempts.n && i < FLOW_MAX_ATTEMPTS; i++) {
        const struct flow_attempt *a = &f->connect_attempts.a[i];
        sep(w);
        RAW(w, "{");
        kstr(w, "addr", a->addr);
        kint(w, "family", a->family);
        kstr(w, "outcome", a->outcome);
        kint(w, "ms", a->ms);
        RAW(w, "}");
    }
    RAW(w, "]");
    kint(w, "client_port", f->client_port);
    kbool(w, "reused_upstream", f->reused_upstream);
    key(w, "http2"); /* stream ids on each leg (null: that leg spoke HTTP/1); null when neither */
    if (f->h2_stream_id || f->h2_upstream_stream_id) {
        RAW(w, "{");
        kstream(w, "stream_id", f->h2_stream_id);
        kstream(w, "upstream_stream_id", f->h2_upstream_stream_id);
        RAW(w, "}");
    } else
        RAW(w, "null");
    key(w, "tls");
    RAW(w, "{");
    ktls(w, "client", f->tls_client, 1, refs[0]);
    ktls(w, "upstream", f->tls_upstream, 0, refs[1]);
    RAW(w, "}");
    key(w, "failure");
    if (f->fail.failed) {
        RAW(w, "{");
        kstr(w, "stage", flow_stage_name(f->fail.stage));
        kint(w, "errno", f->fail.sys_errno);
        kint(w, "dns_error", f->fail.dns_error);
        kbool(w, "timeout", f->fail.timeout);
        kint(w, "status_sent", f->fail.status_sent);
        kstr(w, "closed_by", f->fail.closed_by);
        kstr(w, "parse_error", f->fail.parse_error ? f->fail.parse_error : "");
        kstr(w, "reason", f->fail.reason);
        RAW(w, "}");
    } else
        RAW(w, "null");
    kint(w, "bytes_up", (long long)f->bytes_up);
    kint(w, "bytes_down", (long long)f->bytes_down);
    kbool(w, "no_request_after_tls", f->no_request_after_tls);
    key(w, "_rules"); /* which rules changed this flow, and what they did (ruleset.h) */
    RAW(w, "[");
    for (int i = 0; f->rules && i < f->rules->n; i++) {
        sep(w);
        RAW(w, "{");
        kstr(w, "id", f->rules->hit[i].id);
        kstr(w, "action", f->rules->hit[i].action);
        kstr(w, "detail", f->rules->hit[i].detail);
        if (f->rules->hit[i].changed) { /* a rewrite: the value before and after (cut at 255) */
            kstr(w, "before", f->rules->hit[i].before);
            kstr(w, "after", f->rules->hit[i].after);
        }
        RAW(w, "}");
    }
    RAW(w, "]");
    if (f->breakpoints) { /* paused at breakpoints: what the user did (breakpoint_apply.c) */
        key(w, "_breakpoints");
        raw(w, f->breakpoints, strlen(f->breakpoints));
    }
    if (f->rules && f->rules->throttle[0]) { /* network conditions: the delay they added */
        key(w, "_throttle");
        RAW(w, "{");
        kstr(w, "profile", f->rules->throttle);
        kint(w, "delay_ms", f->rules->throttled_ms);
        RAW(w, "}");
    }

    /* diagnose is pure: recomputing here gives the full {code, name, stage, title, detail, fix} */
    struct diagnosis d;
    if (diagnose_flow(f, &d) && d.entry) {
        key(w, "diagnosis");
        diagnosis_obj(w, &d, 0);
    }
    if (nwarn) {
        key(w, "warnings");
        RAW(w, "[");
        for (size_t i = 0; i < nwarn; i++)
            if (warn[i].entry) {
                sep(w);
                diagnosis_obj(w, &warn[i], 1);
            }
        RAW(w, "]");
    }
}

int flow_json_texts(const struct flow *f, struct flow_json_text *out)
{
    out->len = 0;
    out->oom = 0;
    struct diagnosis warn[FLOW_JSON_MAX_WARNINGS];
    size_t nwarn = diagnose_warnings(f, warn, FLOW_JSON_MAX_WARNINGS);
    out->nwarn = 0;
    for (size_t i = 0; i < nwarn && i < sizeof out->warn_codes / sizeof *out->warn_codes; i++)
        out->warn_codes[out->nwarn++] = warn[i].entry->code;
    RAW(out, "{");
    summary_fields(out, f, warn, nwarn);
    RAW(out, "}");
    if (out->oom)
        return -1;
    /* the detail is the summary's members and more: copy them (unless the store keeps the
     * summary anyway: detail_only), then go on */
    out->summary_len = out->len;
    if (out->detail_only)
        RAW(out, "{");
    else {
        reserve(out, out->summary_len - 1); /* first: buf may move */
        if (out->oom)
            return -1;
        memcpy(out->buf + out->len, out->buf, out->summary_len - 1);
        out->len += out->summary_len - 1;
    }
    long long refs[2] = {out->tls_ref[0], out->tls_ref[1]}; /* out is also the writer */
    detail_fields(out, f, warn, nwarn, refs);
    RAW(out, "}");
    if (out->oom)
        return -1;
    out->detail = out->buf + out->summary_len;
    out->detail_len = out->len - out->summary_len;
    return 0;
}

/* A keyed warning is stored without its catalogue texts (diagnosis_obj): put back name, title,
 * fix and android from warnings_entry, so every reader sees the whole warning. Rows written
 * before keys existed carry the texts already and have no "entry". */
void flow_json_put_back(json_t *detail)
{
    json_t *warnings = json_object_get(detail, "warnings");
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w) {
        const char *key = json_string_value(json_object_get(w, "entry"));
        const struct diagnose_entry *e = key ? warnings_entry(key) : NULL;
        if (!key)
            continue;
        json_object_del(w, "entry");
        if (!e) /* a key from a newer build: the stored facts stay, without texts */
            continue;
        json_object_set_new(w, "name", json_string(e->name));
        json_object_set_new(w, "title", json_string(e->title));
        json_object_set_new(w, "fix", json_string(e->fix));
        if (e->android && e->android[0])
            json_object_set_new(w, "android", json_string(e->android));
    }
}

json_t *flow_json_whole(json_t *detail, const char *summary_text)
{
    if (!detail || json_object_get(detail, "id"))
        return detail;
    json_t *whole = summary_text ? json_loads(summary_text, 0, NULL) : NULL;
    if (!whole || json_object_update(whole, detail) < 0) {
        json_decref(whole);
        whole = NULL;
    }
    json_decref(detail);
    return whole;
}

void flow_json_text_free(struct flow_json_text *out)
{
    free(out->buf);
    memset(out, 0, sizeof *out);
}
