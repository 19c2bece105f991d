/* flow_json_write.h — the JSON text writer shared by flow_json.c (the summary) and flow_detail.c
 * (the detail): appends to a struct flow_json_text; internal to those two modules (pure, any
 * thread, each on its own buffer). Everything here is static inline: the member writers are
 * inlined at each of the ~250 writes of a flow. */
#ifndef HTTPEEK_FLOW_JSON_WRITE_H
#define HTTPEEK_FLOW_JSON_WRITE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "flow_json_text.h"
#include "str.h"

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 when invalid
 * (RFC 3629 §4 table: no overlongs, no surrogates, nothing above U+10FFFF). */
static inline size_t utf8_seq(const unsigned char *s, size_t n)
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

/* A JSON text writer: appends to out->buf; a failed allocation sets out->oom and stops writing. */

static inline void grow(struct flow_json_text *w, size_t more)
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

static inline void sep(struct flow_json_text *w)
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
static inline size_t plain_run(const unsigned char *p, size_t i, size_t n)
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
 * escapes jansson uses (\" \\ \b \f \n \r \t, \u00XX for other controls and NUL), written at o,
 * which has room for n * 6 + 2 bytes; returns its end. */
static inline char *json_str_at(char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
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
    return o;
}

/* s[0..n) as a JSON string (json_str_at) at the end of w. */
static inline void str_n(struct flow_json_text *w, const char *s, size_t n)
{
    reserve(w, n * 6 + 2); /* worst case: every byte a \u00XX escape */
    if (w->oom)
        return;
    w->len = (size_t)(json_str_at(w->buf + w->len, s, n) - w->buf);
}

static inline void str(struct flow_json_text *w, const char *s)
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
static inline char *decimal(char *end, long long v)
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
 * phase that did not happen is the integer -1. Written backwards from end (room for 32 bytes);
 * returns where it starts. */
static inline char *ms_text(char *end, double ms)
{
    if (ms < 0) {
        memcpy(end - 2, "-1", 2);
        return end - 2;
    }
    if (!(ms < 9e15)) { /* NaN, inf, or beyond any duration: not a microsecond count in range */
        memcpy(end - 3, "0.0", 3);
        return end - 3;
    }
    long long us = (long long)(ms * 1000.0 + 0.5);
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
    return decimal(p, us / 1000);
}

MEMBER kms(struct flow_json_text *w, const char *k, double ms)
{
    key(w, k);
    char num[32], *p = ms_text(num + sizeof num, ms);
    raw(w, p, (size_t)(num + sizeof num - p));
}

/* The method a flow's summary and detail show. */
static inline const char *method_of(const struct flow *f)
{
    if (f->kind == FLOW_TUNNEL)
        return "CONNECT";
    return f->req ? llhttp_method_name((llhttp_method_t)f->req->method) : "";
}

#endif
