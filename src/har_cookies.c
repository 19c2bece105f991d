/* har_cookies.c — see har_cookies.h. */
#include "har_cookies.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *sget(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static void put(json_t *o, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(o, key, v);
}

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* Cookie request headers → [{name, value}]. */
void har_request_cookies(json_t *out, json_t *headers, int redact)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        if (strcasecmp(sget(h, "name"), "Cookie"))
            continue;
        const char *v = sget(h, "value");
        while (*v) {
            size_t len = strcspn(v, ";");
            const char *pair = v;
            size_t plen = len;
            trim(&pair, &plen);
            if (plen) {
                const char *eq = memchr(pair, '=', plen);
                size_t nlen = eq ? (size_t)(eq - pair) : plen;
                json_t *c = json_object();
                if (c) {
                    put(c, "name", json_stringn(pair, nlen));
                    put(c, "value", redact ? json_string(HAR_REDACTED)
                                   : eq ? json_stringn(eq + 1, plen - nlen - 1) : json_string(""));
                    json_array_append_new(out, c);
                }
            }
            v += len;
            if (*v == ';')
                v++;
        }
    }
}

/* "Wed, 21 Oct 2026 07:28:00 GMT" (or the old dashed form) → ISO 8601; 0 on success. */
static int cookie_date(const char *s, size_t len, char *out, size_t outlen)
{
    char buf[64];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    static const char *const fmts[] = {"%a, %d %b %Y %H:%M:%S", "%a, %d-%b-%Y %H:%M:%S",
                                       "%a, %d-%b-%y %H:%M:%S"};
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(buf, fmts[i], &tm);
        if (end) {
            snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
            return 0;
        }
    }
    return -1;
}

/* Set-Cookie response headers → [{name, value, path?, domain?, expires?, httpOnly, secure}]. */
void har_response_cookies(json_t *out, json_t *headers, int redact)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        if (strcasecmp(sget(h, "name"), "Set-Cookie"))
            continue;
        const char *v = sget(h, "value");
        size_t len = strcspn(v, ";");
        const char *pair = v;
        size_t plen = len;
        trim(&pair, &plen);
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq ? (size_t)(eq - pair) : plen;
        json_t *c = json_object();
        if (!c)
            continue;
        put(c, "name", json_stringn(pair, nlen));
        put(c, "value", redact ? json_string(HAR_REDACTED)
                       : eq ? json_stringn(eq + 1, plen - nlen - 1) : json_string(""));
        int httponly = 0, secure = 0;
        for (v += len; *v == ';';) {
            v++;
            size_t al = strcspn(v, ";");
            const char *a = v;
            size_t alen = al;
            trim(&a, &alen);
            const char *aeq = memchr(a, '=', alen);
            size_t anl = aeq ? (size_t)(aeq - a) : alen;
            const char *val = aeq ? aeq + 1 : "";
            size_t vl = aeq ? alen - anl - 1 : 0;
            trim(&val, &vl);
            if (anl == 4 && !strncasecmp(a, "path", 4))
                put(c, "path", json_stringn(val, vl));
            else if (anl == 6 && !strncasecmp(a, "domain", 6))
                put(c, "domain", json_stringn(val, vl));
            else if (anl == 7 && !strncasecmp(a, "expires", 7)) {
                char iso[40];
                if (!cookie_date(val, vl, iso, sizeof iso))
                    put(c, "expires", json_string(iso));
            } else if (anl == 8 && !strncasecmp(a, "httponly", 8))
                httponly = 1;
            else if (anl == 6 && !strncasecmp(a, "secure", 6))
                secure = 1;
            else if (anl == 8 && !strncasecmp(a, "samesite", 8))
                put(c, "sameSite", json_stringn(val, vl));
            v += al;
        }
        put(c, "httpOnly", json_boolean(httponly));
        put(c, "secure", json_boolean(secure));
        json_array_append_new(out, c);
    }
}

