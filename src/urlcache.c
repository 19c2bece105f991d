/* urlcache.c — see urlcache.h. What Foundation's URLCache does with a response, after RFC 9111
 * as CFNetwork applies it: a private cache (s-maxage is ignored, private is stored), freshness from
 * max-age, else Expires - Date, else 10% of Date - Last-Modified, minus Age; no-store and Vary: *
 * are never stored; no-cache is stored and revalidated; a body over 5% of the disk capacity is
 * not stored. */
#include "urlcache.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "str.h"

/* The fields urlcache_heads looks for: name, its length, and where it goes. */
struct wanted {
    const char *name;
    size_t len;
    size_t at; /* offsetof(struct urlcache_heads, member) */
};
#define W(lit, member) {lit, sizeof(lit) - 1, offsetof(struct urlcache_heads, member)}
static const struct wanted resp_fields[] = {
    W("content-type", content_type), W("content-encoding", content_encoding),
    W("cache-control", cache_control), W("expires", expires), W("last-modified", last_modified),
    W("etag", etag), W("pragma", pragma), W("vary", vary), W("date", date), W("age", age),
};
static const struct wanted req_fields[] = {
    W("accept", accept), W("cache-control", req_cache_control),
    W("if-none-match", if_none_match), W("if-modified-since", if_modified_since),
};
#undef W

/* One pass over a head, a length test before any compare (a tenth of the cost of one
 * http1_head_get per field wanted, on every response); the first of each field, as
 * http1_head_get. */
static void scan(const struct http1_head *head, const struct wanted *w, size_t nw,
                 struct urlcache_heads *h)
{
    for (size_t i = 0; head && i < head->nfields; i++) {
        const char *nm = head->fields[i].name;
        size_t n = strlen(nm);
        for (size_t k = 0; k < nw; k++)
            if (w[k].len == n && !strncasecmp(nm, w[k].name, n)) {
                const char **slot = (const char **)((char *)h + w[k].at);
                if (!*slot)
                    *slot = head->fields[i].value;
                break;
            }
    }
}

void urlcache_heads(const struct flow *f, struct urlcache_heads *h)
{
    memset(h, 0, sizeof *h);
    scan(f->resp, resp_fields, sizeof resp_fields / sizeof *resp_fields, h);
    scan(f->req, req_fields, sizeof req_fields / sizeof *req_fields, h);
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

/* An HTTP-date as seconds, -1 when invalid. IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", what
 * servers send) is parsed by hand: strptime + timegm cost ~13,000 instructions a date, on every
 * response with caching headers; the obsolete RFC 850 and asctime forms go to strptime. */
static long long http_date(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (!s)
        return -1;
    const char *c = strchr(s, ',');
    int d, y, hh, mm, ss;
    if (c && c - s == 3 && strnlen(c, 26) == 26 && c[1] == ' ' && c[4] == ' ' && c[8] == ' ' &&
        c[13] == ' ' && c[16] == ':' && c[19] == ':' && !digits(c + 2, 2, &d) &&
        !digits(c + 9, 4, &y) && !digits(c + 14, 2, &hh) && !digits(c + 17, 2, &mm) &&
        !digits(c + 20, 2, &ss)) {
        for (int m = 0; m < 12; m++) /* the three letters compared inline, not by strncmp */
            if (c[5] == months[3 * m] && c[6] == months[3 * m + 1] && c[7] == months[3 * m + 2])
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

