/* hls.c — see hls.h. */
#include "hls.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void hls_each_uri(const char *s, size_t n, hls_uri_fn fn, void *arg)
{
    unsigned line = 0;
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        size_t le = e;
        if (le > i && s[le - 1] == '\r')
            le--;
        line++;
        if (le > i && s[i] != '#')
            fn(s + i, le - i, line, 0, arg);
        else if (le > i + 4 && !strncmp(s + i, "#EXT", 4)) {
            /* URI="..." attributes of EXT-X-KEY, -MAP, -MEDIA, -I-FRAME-STREAM-INF, ... */
            for (size_t k = i; k + 5 <= le; k++)
                if (!memcmp(s + k, "URI=\"", 5) && (k == i || s[k - 1] == ',' || s[k - 1] == ':')) {
                    size_t b = k + 5, q = b;
                    while (q < le && s[q] != '"')
                        q++;
                    fn(s + b, q - b, line, 1, arg);
                    k = q;
                }
        }
        i = e + 1;
    }
}

/* Length of the scheme of u[0..n) including its ':', or 0 when u has none. */
static size_t scheme_len(const char *u, size_t n)
{
    if (!n || !isalpha((unsigned char)u[0]))
        return 0;
    size_t s = 1;
    while (s < n && (isalnum((unsigned char)u[s]) || u[s] == '+' || u[s] == '-' || u[s] == '.'))
        s++;
    return s < n && u[s] == ':' ? s + 1 : 0;
}

/* Append p[0..n) to out at *o; -1 when it does not fit. */
static int put(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
    if (*o + n >= outlen)
        return -1;
    memcpy(out + *o, p, n);
    *o += n;
    out[*o] = '\0';
    return 0;
}

/* Remove the dot segments of the path out[from..*o) in place (RFC 3986 5.2.4); the query after
 * it moves up behind the shortened path. */
static void remove_dots(char *out, size_t from, size_t *o)
{
    char *p = out + from;
    size_t plen = strcspn(p, "?");
    size_t w = 0, r = 0;
    while (r < plen) {
        /* the segment starting at r, with its leading '/' */
        size_t e = r + 1;
        while (e < plen && p[e] != '/')
            e++;
        size_t seg = e - r;
        if (seg == 2 && p[r + 1] == '.') {             /* "/." */
            if (e == plen)
                p[w++] = '/';
        } else if (seg == 3 && p[r + 1] == '.' && p[r + 2] == '.') { /* "/.." */
            while (w > 0 && p[--w] != '/')
                ;
            if (e == plen)
                p[w++] = '/';
        } else {
            memmove(p + w, p + r, seg);
            w += seg;
        }
        r = e;
    }
    size_t qlen = strlen(p + plen);
    memmove(p + w, p + plen, qlen + 1);
    *o = from + w + qlen;
}

/* Append u[0..n), whose authority starts at auth (after "scheme://" or "//"), to out at *o: the
 * authority as it is, then the path ("/" when empty) with its dot segments removed, then the
 * query. Returns 0, -1 when out is too small. */
static int put_with_authority(char *out, size_t outlen, size_t *o, const char *u, size_t n,
                              size_t auth)
{
    while (auth < n && u[auth] != '/' && u[auth] != '?')
        auth++;
    if (put(out, outlen, o, u, auth) < 0)
        return -1;
    size_t path = *o;
    if ((auth == n || u[auth] == '?') && put(out, outlen, o, "/", 1) < 0)
        return -1;
    if (put(out, outlen, o, u + auth, n - auth) < 0)
        return -1;
    remove_dots(out, path, o);
    return 0;
}

int hls_resolve(const char *base, const char *u, size_t n, char *out, size_t outlen)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
            return -1;
    size_t hash = 0;
    while (hash < n && u[hash] != '#')
        hash++;
    n = hash;
    size_t o = 0;
    out[0] = '\0';
    size_t s = scheme_len(u, n);
    if (s) {
        if (!((s == 5 && !strncasecmp(u, "http:", 5)) || (s == 6 && !strncasecmp(u, "https:", 6))))
            return -1;
        if (n < s + 2 || u[s] != '/' || u[s + 1] != '/')
            return -1;
        return put_with_authority(out, outlen, &o, u, n, s + 2);
    }
    size_t bs = scheme_len(base, strlen(base));
    if (!bs || base[bs] != '/' || base[bs + 1] != '/')
        return -1;
    const char *bauth = base + bs + 2;
    size_t balen = strcspn(bauth, "/?#");
    const char *bpath = bauth + balen;
    size_t bplen = strcspn(bpath, "?#");
    if (n >= 2 && u[0] == '/' && u[1] == '/') { /* network-path reference: the base's scheme */
        if (put(out, outlen, &o, base, bs) < 0)
            return -1;
        return put_with_authority(out, outlen, &o, u, n, 2);
    }
    if (put(out, outlen, &o, base, (size_t)(bauth + balen - base)) < 0)
        return -1;
    size_t path = o;
    if (n == 0 || u[0] == '?') { /* same document, maybe another query */
        if (put(out, outlen, &o, bplen ? bpath : "/", bplen ? bplen : 1) < 0)
            return -1;
        if (n) {
            if (put(out, outlen, &o, u, n) < 0)
                return -1;
        } else {
            size_t q = strcspn(bpath + bplen, "#");
            if (put(out, outlen, &o, bpath + bplen, q) < 0)
                return -1;
        }
        return 0;
    }
    if (u[0] != '/') { /* relative path: the base path up to its last '/' */
        size_t dir = bplen;
        while (dir > 0 && bpath[dir - 1] != '/')
            dir--;
        if (!dir && put(out, outlen, &o, "/", 1) < 0)
            return -1;
        if (put(out, outlen, &o, bpath, dir) < 0)
            return -1;
    }
    if (put(out, outlen, &o, u, n) < 0)
        return -1;
    remove_dots(out, path, &o);
    return 0;
}
