/* urlcache.c — see urlcache.h. What Foundation's URLCache does with a response, after RFC 9111
 * as CFNetwork applies it: a private cache (s-maxage is ignored, private is stored), freshness from
 * max-age, else Expires - Date, else 10% of Date - Last-Modified, minus Age; no-store and Vary: *
 * are never stored; no-cache is stored and revalidated; a body over 5% of the disk capacity is
 * not stored. */
#include "urlcache.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "str.h"

/* ASCII lower case of c (header names are ASCII tokens: no locale table, no call). */
static inline unsigned char lc(unsigned char c)
{
    return (unsigned char)(c | ((unsigned)(c - 'A') < 26u ? 0x20 : 0));
}

/* 1 when name (n bytes) is lit (lower case, n bytes) in any case. */
static inline int name_is(const char *name, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lc((unsigned char)name[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* Store v in *slot unless an earlier field of that name set it (the first counts, as
 * http1_head_get). */
#define TAKE(slot, v)                                                                            \
    do {                                                                                         \
        if (!(slot))                                                                             \
            (slot) = (v);                                                                        \
    } while (0)

/* One pass over the response head: the name's length and first letter pick the one field it can
 * be, then one compare (a field the warnings do not read, most of a head, costs a strlen and a
 * switch). */
static void scan_response(const struct http1_head *head, struct urlcache_heads *h)
{
    for (size_t i = 0; head && i < head->nfields; i++) {
        const char *nm = head->fields[i].name, *v = head->fields[i].value;
        size_t n = strlen(nm);
        unsigned char c0 = lc((unsigned char)nm[0]);
        switch (n) {
        case 3:
            if (c0 == 'a' && name_is(nm, "age", 3))
                TAKE(h->age, v);
            break;
        case 4:
            if (c0 == 'e' && name_is(nm, "etag", 4))
                TAKE(h->etag, v);
            else if (c0 == 'v' && name_is(nm, "vary", 4))
                TAKE(h->vary, v);
            else if (c0 == 'd' && name_is(nm, "date", 4))
                TAKE(h->date, v);
            break;
        case 6:
            if (c0 == 'p' && name_is(nm, "pragma", 6))
                TAKE(h->pragma, v);
            break;
        case 7:
            if (c0 == 'e' && name_is(nm, "expires", 7))
                TAKE(h->expires, v);
            break;
        case 12:
            if (c0 == 'c' && name_is(nm, "content-type", 12))
                TAKE(h->content_type, v);
            break;
        case 13:
            if (c0 == 'c' && name_is(nm, "cache-control", 13))
                TAKE(h->cache_control, v);
            else if (c0 == 'l' && name_is(nm, "last-modified", 13))
                TAKE(h->last_modified, v);
            break;
        case 16:
            if (c0 == 'c' && name_is(nm, "content-encoding", 16))
                TAKE(h->content_encoding, v);
            break;
        }
    }
}

/* The same over the request head. */
static void scan_request(const struct http1_head *head, struct urlcache_heads *h)
{
    for (size_t i = 0; head && i < head->nfields; i++) {
        const char *nm = head->fields[i].name, *v = head->fields[i].value;
        size_t n = strlen(nm);
        unsigned char c0 = lc((unsigned char)nm[0]);
        if (n == 6 && c0 == 'a' && name_is(nm, "accept", 6))
            TAKE(h->accept, v);
        else if (n == 13 && c0 == 'c' && name_is(nm, "cache-control", 13))
            TAKE(h->req_cache_control, v);
        else if (n == 13 && c0 == 'i' && name_is(nm, "if-none-match", 13))
            TAKE(h->if_none_match, v);
        else if (n == 17 && c0 == 'i' && name_is(nm, "if-modified-since", 17))
            TAKE(h->if_modified_since, v);
    }
}
#undef TAKE

void urlcache_heads(const struct flow *f, struct urlcache_heads *h)
{
    memset(h, 0, sizeof *h);
    scan_response(f->resp, h);
    scan_request(f->req, h);
}

static int has_directive(const char *cc, const char *name, long *value)
{
    size_t nl = strlen(name);
    for (const char *p = cc; p && *p;) {
        p += strspn(p, " \t,");
        if (!strncasecmp(p, name, nl) && (p[nl] == '\0' || p[nl] == ',' || p[nl] == '=' ||
                                          p[nl] == ' ' || p[nl] == ';')) {
            if (value) {
                *value = -1;
                if (p[nl] == '=') {
                    const char *v = p + nl + 1 + (p[nl + 1] == '"');
                    char *end;
                    long x = strtol(v, &end, 10);
                    if (end != v)
                        *value = x < 0 ? 0 : x;
                }
            }
            return 1;
        }
        p = strchr(p, ',');
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') /* isdigit without the locale table */
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The last IMF-fixdates read on this thread and their values: a response's Date is the same for
 * every answer within its second and a resource's Last-Modified for every answer, and reading
 * one costs ~275 instructions against ~25 for the compare (the store thread reads both for every
 * flow). Texts of 29 bytes (an IMF-fixdate's length) are kept. */
struct date_memo {
    char text[30];
    long long value;
};
static __thread struct date_memo date_memo[2];
static __thread unsigned date_memo_next;

static long long http_date_read(const char *s);

/* An HTTP-date as seconds, -1 when invalid (the last ones read kept: date_memo). IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT", what servers send) is parsed by hand: strptime + timegm
 * cost ~13,000 instructions a date, on every response with caching headers; the obsolete
 * RFC 850 and asctime forms go to strptime. */
static long long http_date(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < 2; i++)
        if (date_memo[i].text[0] && !strcmp(s, date_memo[i].text))
            return date_memo[i].value;
    long long v = http_date_read(s);
    if (v >= 0 && strnlen(s, 30) == 29) { /* the whole text kept: a later match is exact */
        struct date_memo *m = &date_memo[date_memo_next++ & 1];
        memcpy(m->text, s, 30);
        m->value = v;
    }
    return v;
}

/* http_date without the memo */
static long long http_date_read(const char *s)
{
    /* "Sun, 06 Nov 1994 08:49:37 GMT": the comma at 3, then 26 more bytes whose separators sit
     * where they must. The bytes are looked at in order and each test fails on a NUL, so nothing
     * past the string's end is read; the zone's three letters are not checked. Anything else
     * (the first comma elsewhere, a field out of place) goes to strptime, as before */
    const char *c = s + 3;
    int d, y, hh, mm, ss;
    if (s[0] && s[0] != ',' && s[1] && s[1] != ',' && s[2] && s[2] != ',' && c[0] == ',' &&
        c[1] == ' ' && !digits(c + 2, 2, &d) &&
        c[4] == ' ' && c[5] && c[6] && c[7] && c[8] == ' ' && !digits(c + 9, 4, &y) &&
        c[13] == ' ' && !digits(c + 14, 2, &hh) && c[16] == ':' && !digits(c + 17, 2, &mm) &&
        c[19] == ':' && !digits(c + 20, 2, &ss) && c[22] && c[23] && c[24] && c[25]) {
        /* the three letters as one number, compared with each month's (not by strncmp) */
#define MON(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))
        static const uint32_t month_keys[12] = {
            MON('J', 'a', 'n'), MON('F', 'e', 'b'), MON('M', 'a', 'r'), MON('A', 'p', 'r'),
            MON('M', 'a', 'y'), MON('J', 'u', 'n'), MON('J', 'u', 'l'), MON('A', 'u', 'g'),
            MON('S', 'e', 'p'), MON('O', 'c', 't'), MON('N', 'o', 'v'), MON('D', 'e', 'c')};
        uint32_t mon = MON((unsigned char)c[5], (unsigned char)c[6], (unsigned char)c[7]);
#undef MON
        for (int m = 0; m < 12; m++)
            if (mon == month_keys[m])
                return days_from_civil(y, (unsigned)m + 1, (unsigned)d) * 86400 + hh * 3600 +
                       mm * 60 + ss;
        return -1;
    }
    struct tm tm;
    static const char *const forms[] = {"%A, %d-%b-%y %H:%M:%S", "%a %b %d %H:%M:%S %Y"};
    for (size_t i = 0; i < 2; i++) {
        memset(&tm, 0, sizeof tm);
        if (strptime(s, forms[i], &tm))
            return (long long)timegm(&tm);
    }
    return -1;
}

long urlcache_lifetime(const struct flow *f, const struct urlcache_heads *h, const char **why)
{
    *why = "";
    if (!f->req || !f->resp)
        return -1;
    const char *rcc = h->cache_control, *qcc = h->req_cache_control;
    long v;
    if (has_directive(rcc, "no-store", NULL) || has_directive(qcc, "no-store", NULL)) {
        *why = "no-store";
        return -1;
    }
    const char *vary = h->vary;
    if (vary && strchr(vary, '*')) {
        *why = "Vary: *";
        return -1;
    }
    if (f->resp_body.total > URLCACHE_DISK / 20) {
        *why = "too large";
        return -1;
    }
    if (has_directive(rcc, "no-cache", NULL) || (!rcc && h->pragma && strcasestr(h->pragma, "no-cache"))) {
        *why = "no-cache";
        return 0;
    }
    long long date = http_date(h->date);
    if (date < 0)
        date = f->started.tv_sec;
    const char *age_s = h->age;
    long age = age_s ? strtol(age_s, NULL, 10) : 0;
    if (age < 0)
        age = 0;
    long life;
    if (has_directive(rcc, "max-age", &v) && v >= 0) {
        *why = "max-age";
        life = v;
    } else if (h->expires) {
        long long exp = http_date(h->expires);
        *why = "Expires";
        life = exp < 0 || exp <= date ? 0 : (long)(exp - date);
    } else if (h->last_modified) {
        long long lm = http_date(h->last_modified);
        *why = "heuristic";
        life = lm < 0 || lm >= date ? 0 : (long)((date - lm) / 10);
    } else {
        *why = "none";
        life = 0;
    }
    return life > age ? life - age : 0;
}

/* s as "N s", "N min", "N.N h" or "N.N days" into out (no printf: this runs for most responses,
 * and snprintf's format parsing was most of the note's cost). */
static void append_duration(char *out, size_t outlen, long s)
{
    size_t o = 0;
    const char *unit;
    uint64_t whole, tenth = 10; /* 10: no tenths */
    if (s < 120)
        whole = (uint64_t)s, unit = " s";
    else if (s < 7200)
        whole = (uint64_t)(s / 60), unit = " min";
    else if (s < 2 * 86400) /* tenths in integers (a %f conversion cost ~1,500 instructions) */
        whole = (uint64_t)((s + 180) / 3600), tenth = (uint64_t)((s + 180) % 3600 / 360), unit = " h";
    else
        whole = (uint64_t)((s + 4320) / 86400), tenth = (uint64_t)((s + 4320) % 86400 / 8640),
        unit = " days";
    out[0] = '\0';
    str_append_uint(out, outlen, &o, whole);
    if (tenth < 10) {
        str_append(out, outlen, &o, ".");
        str_append_uint(out, outlen, &o, tenth);
    }
    str_append(out, outlen, &o, unit);
}

int urlcache_note(const struct flow *f, const struct urlcache_heads *h, char *t, size_t tl)
{
    const struct http1_head *q = f->req, *r = f->resp;
    if (!q || !r || q->method != HTTP_GET)
        return 0;
    const char *inm = h->if_none_match, *ims = h->if_modified_since;
    int status = r->status;
    int cacheable = status == 200 || status == 203 || status == 301 || status == 304;
    if (!cacheable)
        return 0;
    int says = inm || ims || status == 304 || h->cache_control || h->expires || h->last_modified ||
               h->etag || h->pragma || h->vary || f->resp_body.total > URLCACHE_DISK / 20;
    if (!says || !tl)
        return 0;
    size_t o = 0;
    t[0] = '\0';
#define PUT(...)                                                                                 \
    do {                                                                                         \
        if (o < tl)                                                                              \
            o += (size_t)snprintf(t + o, tl - o, __VA_ARGS__);                                   \
    } while (0)
    if (inm || ims)
        PUT("Conditional request (%s%.80s%s%s%.40s): ", inm ? "If-None-Match: " : "", inm ? inm : "",
            inm && ims ? ", " : "", ims ? "If-Modified-Since: " : "", ims ? ims : "");
    if (status == 304) {
        const char *etag = h->etag;
        PUT("304 Not Modified: URLCache updates its stored response%s%.80s and the app gets that "
            "stored body with status 200 (the 304 itself is not seen by the app).",
            etag ? " with ETag " : "", etag ? etag : "");
        return 1;
    }
    if (inm || ims)
        PUT("the server sent the whole response again (%d), not 304. ", status);
    const char *why;
    long life = urlcache_lifetime(f, h, &why);
    char dur[32];
    append_duration(dur, sizeof dur, life < 0 ? 0 : life);
    const char *vary = h->vary;
    if (life < 0 && !strcmp(why, "too large"))
        PUT("Not stored: the body (%llu bytes) is over 5%% of URLCache's disk capacity (assuming "
            "URLCache.shared's default 10 MB: responses over 500 kB are not cached), so the app "
            "fetches it again every time.", (unsigned long long)f->resp_body.total);
    else if (life < 0)
        PUT("Not stored (%s): every request goes to the server.", why);
    else if (!strcmp(why, "no-cache"))
        PUT("Stored, but no-cache: URLCache revalidates it with the server before each use%s.",
            h->etag || h->last_modified ? " (a conditional request)" : "");
    else if (!strcmp(why, "none"))
        PUT("Stored without a lifetime (no Cache-Control max-age, Expires or Last-Modified): "
            "URLCache asks the server again before reusing it%s.",
            h->etag ? " (If-None-Match with its ETag)" : "");
    else if (o < tl) { /* fresh for a time: the usual note, put together without printf */
        str_append(t, tl, &o, "Stored and fresh for ");
        str_append(t, tl, &o, dur);
        if (!strcmp(why, "heuristic"))
            str_append(t, tl, &o, " by heuristic (10% of the time since Last-Modified; no "
                       "max-age or Expires): within that time the app gets the stored copy "
                       "without asking the server, which is how stale data shows up.");
        else {
            str_append(t, tl, &o, " (");
            str_append(t, tl, &o, why);
            str_append(t, tl, &o, "): within that time the app gets the stored copy without "
                       "asking the server.");
        }
    }
    if (vary && life >= 0)
        PUT(" Vary: %.60s - reused only for requests with the same value%s.", vary,
            strchr(vary, ',') ? "s" : "");
#undef PUT
    return 1;
}

