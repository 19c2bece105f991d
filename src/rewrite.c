/* rewrite.c — see rewrite.h. */
#include "rewrite.h"
#include "http1_edit.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <zlib.h>
#ifdef HAVE_BROTLIENC
#include <brotli/encode.h>
#endif
#include "http1.h"

/* ------------------------------------------------------------------------------------------ */
/* Parsing */

void rewrite_free(struct rewrite *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->value);
    free(w->find);
    free(w->path);
    if (w->re) {
        regfree(w->re);
        free(w->re);
    }
    if (w->json)
        json_decref(w->json);
    free(w);
}

static int valid_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *s))
            return 0;
    return 1;
}

/* "FIND=>REPL" into w: regex (re) or literal. */
static int parse_replace(struct rewrite *w, const char *s, int regex, char *err, size_t errlen)
{
    const char *arrow = strstr(s, "=>");
    if (!arrow || arrow == s) {
        snprintf(err, errlen, "expected %s=>REPLACEMENT", regex ? "REGEX" : "TEXT");
        return -1;
    }
    w->op = REWRITE_REPLACE;
    if (!(w->value = strdup(arrow + 2)))
        return -1;
    if (!regex)
        return (w->find = strndup(s, (size_t)(arrow - s))) ? 0 : -1;
    char *re_text = strndup(s, (size_t)(arrow - s));
    regex_t *re = calloc(1, sizeof *re);
    if (!re_text || !re) {
        free(re_text);
        free(re);
        return -1;
    }
    int rc = regcomp(re, re_text, REG_EXTENDED);
    if (rc) {
        char m[128];
        regerror(rc, re, m, sizeof m);
        snprintf(err, errlen, "bad regex '%.100s': %s", re_text, m);
        free(re_text);
        free(re);
        return -1;
    }
    free(re_text);
    w->re = re;
    return 0;
}

/* "add:NAME:VALUE", "set:NAME:VALUE", "remove:NAME" (sep ':' for headers, '=' for queries) */
static int parse_named(struct rewrite *w, const char *s, char sep, char *err, size_t errlen)
{
    const char *colon = strchr(s, ':');
    size_t ol = colon ? (size_t)(colon - s) : 0;
    if (colon && ol == 3 && !strncmp(s, "add", 3))
        w->op = REWRITE_ADD;
    else if (colon && ol == 3 && !strncmp(s, "set", 3))
        w->op = REWRITE_SET;
    else if (colon && ol == 6 && !strncmp(s, "remove", 6))
        w->op = REWRITE_REMOVE;
    else {
        snprintf(err, errlen, "expected add:, set: or remove: then the name");
        return -1;
    }
    const char *name = colon + 1, *v = w->op == REWRITE_REMOVE ? NULL : strchr(name, sep);
    if (w->op != REWRITE_REMOVE && !v) {
        snprintf(err, errlen, "expected NAME%cVALUE after %.6s:", sep, s);
        return -1;
    }
    if (!(w->name = strndup(name, v ? (size_t)(v - name) : strlen(name))))
        return -1;
    if (sep == ':' && !valid_token(w->name)) {
        snprintf(err, errlen, "'%.100s' is not a header name", w->name);
        return -1;
    }
    if (!w->name[0]) {
        snprintf(err, errlen, "the name is empty");
        return -1;
    }
    if (v && !(w->value = strdup(v + 1)))
        return -1;
    if (w->value && strpbrk(w->value, "\r\n")) {
        snprintf(err, errlen, "a value cannot hold a line break");
        return -1;
    }
    return 0;
}

/* "$.a.b[0]" is a path this engine walks: '$' then .key or [index] steps. */
static int valid_path(const char *p)
{
    if (*p++ != '$')
        return 0;
    while (*p) {
        if (*p == '.') {
            size_t n = strcspn(p + 1, ".[");
            if (!n)
                return 0;
            p += 1 + n;
        } else if (*p == '[') {
            char *end;
            strtoul(p + 1, &end, 10);
            if (end == p + 1 || *end != ']')
                return 0;
            p = end + 1;
        } else
            return 0;
    }
    return 1;
}

static int parse_json_edit(struct rewrite *w, const char *s, char *err, size_t errlen)
{
    int remove = !strncmp(s, "remove:", 7);
    if (remove)
        s += 7;
    const char *eq = remove ? NULL : strchr(s, '=');
    if (!remove && !eq) {
        snprintf(err, errlen, "expected $.PATH=JSON or remove:$.PATH");
        return -1;
    }
    if (!(w->path = strndup(s, eq ? (size_t)(eq - s) : strlen(s))))
        return -1;
    if (!valid_path(w->path) || !strcmp(w->path, "$")) {
        snprintf(err, errlen, "'%.100s' is not a path like $.user.plan or $.items[0].id", w->path);
        return -1;
    }
    w->op = remove ? REWRITE_REMOVE : REWRITE_SET;
    if (remove)
        return 0;
    json_error_t je;
    if (!(w->json = json_loads(eq + 1, JSON_DECODE_ANY, &je))) {
        snprintf(err, errlen, "the value '%.100s' is not JSON (a string needs quotes): %s", eq + 1,
                 je.text);
        return -1;
    }
    return 0;
}

struct rewrite *rewrite_parse(const char *spec, char *err, size_t errlen)
{
    static const struct { const char *prefix; enum rewrite_target t; } kinds[] = {
        {"req-header:", REWRITE_REQ_HEADER}, {"resp-header:", REWRITE_RESP_HEADER},
        {"status:", REWRITE_STATUS}, {"url:", REWRITE_URL}, {"query:", REWRITE_QUERY},
        {"resp-body:", REWRITE_RESP_BODY}, {"resp-body-literal:", REWRITE_RESP_BODY},
        {"resp-json:", REWRITE_RESP_JSON},
        {"req-body:", REWRITE_REQ_BODY}, {"req-body-literal:", REWRITE_REQ_BODY},
        {"req-json:", REWRITE_REQ_JSON},
    };
    struct rewrite *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    err[0] = '\0';
    size_t i = 0, n = sizeof kinds / sizeof *kinds;
    while (i < n && strncmp(spec, kinds[i].prefix, strlen(kinds[i].prefix)))
        i++;
    int rc = -1;
    if (i == n) {
        snprintf(err, errlen, "unknown edit '%.60s' (req-header:, resp-header:, status:, url:, "
                 "query:, resp-body:, resp-body-literal:, resp-json:, req-body:, req-body-literal:, "
                 "req-json:)", spec);
    } else {
        const char *rest = spec + strlen(kinds[i].prefix);
        w->target = kinds[i].t;
        switch (w->target) {
        case REWRITE_REQ_HEADER:
        case REWRITE_RESP_HEADER:
            rc = parse_named(w, rest, ':', err, errlen);
            break;
        case REWRITE_QUERY:
            rc = parse_named(w, rest, '=', err, errlen);
            break;
        case REWRITE_STATUS: {
            char *end;
            long s = strtol(rest, &end, 10);
            rc = *rest && !*end && s >= 200 && s <= 599 ? 0 : -1;
            w->status = (int)s;
            w->op = REWRITE_SET;
            if (rc)
                snprintf(err, errlen, "status must be 200..599, got '%.20s'", rest);
            break;
        }
        case REWRITE_URL:
            rc = parse_replace(w, rest, 1, err, errlen);
            break;
        case REWRITE_RESP_BODY:
        case REWRITE_REQ_BODY:
            rc = parse_replace(w, rest, !strstr(kinds[i].prefix, "-literal"), err, errlen);
            break;
        case REWRITE_RESP_JSON:
        case REWRITE_REQ_JSON:
            rc = parse_json_edit(w, rest, err, errlen);
            break;
        }
    }
    if (rc < 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        rewrite_free(w);
        return NULL;
    }
    return w;
}

int rewrite_on_body(const struct rewrite *w)
{
    return w->target == REWRITE_RESP_BODY || w->target == REWRITE_RESP_JSON;
}

int rewrite_on_req_body(const struct rewrite *w)
{
    return w->target == REWRITE_REQ_BODY || w->target == REWRITE_REQ_JSON;
}

int rewrite_is_json(const struct rewrite *w)
{
    return w->target == REWRITE_RESP_JSON || w->target == REWRITE_REQ_JSON;
}

/* ------------------------------------------------------------------------------------------ */
/* Text */

/* Append the replacement with \0..\9 filled from the match (m, groups; NULL for a literal). */
static void add_replacement(struct evbuffer *out, const char *repl, const char *text,
                            const regmatch_t *m)
{
    for (const char *p = repl; *p; p++) {
        if (*p == '\\' && p[1] >= '0' && p[1] <= '9' && m) {
            const regmatch_t *g = &m[p[1] - '0'];
            if (g->rm_so >= 0)
                evbuffer_add(out, text + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
            p++;
        } else if (*p == '\\' && p[1] == '\\') {
            evbuffer_add(out, "\\", 1);
            p++;
        } else
            evbuffer_add(out, p, 1);
    }
}

static char *take_string(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    if (s) {
        evbuffer_remove(b, s, n);
        s[n] = '\0';
    }
    evbuffer_free(b);
    return s;
}

char *rewrite_replace(const struct rewrite *w, const char *text, int *count)
{
    struct evbuffer *out = evbuffer_new();
    if (!out)
        return NULL;
    *count = 0;
    const char *p = text;
    if (w->find) {
        size_t fl = strlen(w->find);
        const char *hit;
        while (fl && (hit = strstr(p, w->find))) {
            evbuffer_add(out, p, (size_t)(hit - p));
            add_replacement(out, w->value, NULL, NULL);
            p = hit + fl;
            (*count)++;
        }
    } else if (w->re) {
        regmatch_t m[10];
        int flags = 0;
        while (*p && !regexec(w->re, p, 10, m, flags)) {
            evbuffer_add(out, p, (size_t)m[0].rm_so);
            add_replacement(out, w->value, p, m);
            (*count)++;
            if (m[0].rm_eo == m[0].rm_so) { /* an empty match: step over one character */
                evbuffer_add(out, p + m[0].rm_eo, 1);
                p += m[0].rm_eo + 1;
            } else
                p += m[0].rm_eo;
            flags = REG_NOTBOL;
        }
    }
    evbuffer_add(out, p, strlen(p));
    return take_string(out);
}

char *rewrite_query(const struct rewrite *w, const char *path)
{
    struct evbuffer *out = evbuffer_new();
    if (!out)
        return NULL;
    const char *q = strchr(path, '?');
    size_t nl = strlen(w->name);
    int first = 1, done = 0;
    evbuffer_add(out, path, q ? (size_t)(q - path) : strlen(path));
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        size_t len = strcspn(p, "&");
        int same = len >= nl && !strncmp(p, w->name, nl) && (len == nl || p[nl] == '=');
        if (!same || w->op == REWRITE_ADD) {
            evbuffer_add(out, first ? "?" : "&", 1);
            evbuffer_add(out, p, len);
            first = 0;
        } else if (w->op == REWRITE_SET && !done) {
            evbuffer_add_printf(out, "%s%s=%s", first ? "?" : "&", w->name, w->value);
            first = 0;
            done = 1;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    if (w->op != REWRITE_REMOVE && !done)
        evbuffer_add_printf(out, "%s%s=%s", first ? "?" : "&", w->name, w->value);
    return take_string(out);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON */

char *rewrite_json(const struct rewrite *w, const char *text, size_t len, char **before, char *why,
                   size_t whylen)
{
    *before = NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!root) {
        snprintf(why, whylen, "the body is not JSON (%s, line %d)", je.text, je.line);
        return NULL;
    }
    json_t *parent = root, *cur = root;
    const char *p = w->path + 1, *key = NULL;
    char keybuf[256];
    long index = -1;
    while (*p) {
        parent = cur;
        key = NULL;
        index = -1;
        if (*p == '.') {
            size_t n = strcspn(p + 1, ".[");
            snprintf(keybuf, sizeof keybuf, "%.*s", (int)n, p + 1);
            key = keybuf;
            p += 1 + n;
        } else {
            char *end;
            index = strtol(p + 1, &end, 10);
            p = end + 1;
        }
        int last = !*p;
        if (key && !json_is_object(parent))
            goto mismatch;
        if (!key && (!json_is_array(parent) || (size_t)index >= json_array_size(parent)))
            goto mismatch;
        cur = key ? json_object_get(parent, key) : json_array_get(parent, (size_t)index);
        if (!cur && !last) {
            if (w->op == REWRITE_REMOVE)
                goto absent;
            cur = json_object();
            json_object_set_new(parent, key, cur); /* a missing object on the way is made */
        }
    }
    *before = cur ? json_dumps(cur, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(none)");
    if (w->op == REWRITE_REMOVE) {
        if (!cur)
            goto absent;
        if (key)
            json_object_del(parent, key);
        else
            json_array_remove(parent, (size_t)index);
    } else if (key) {
        json_object_set(parent, key, w->json);
    } else {
        json_array_set(parent, (size_t)index, w->json);
    }
    char *outs = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(root);
    return outs;
absent:
    free(*before);
    *before = NULL;
    snprintf(why, whylen, "%s is not in the body: nothing to remove", w->path);
    json_decref(root);
    return NULL;
mismatch:
    snprintf(why, whylen, "%s does not fit the body (%s expected)", w->path,
             key ? "an object" : "an array long enough");
    json_decref(root);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Heads */

int rewrite_head_set(struct http1_head *h, const char *name, const char *value, int add,
                     int status, const char *reason)
{
    struct http1_field *in = calloc(h->nfields + 1, sizeof *in);
    if (!in)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < h->nfields; i++)
        if (!name || add || strcasecmp(h->fields[i].name, name))
            in[k++] = h->fields[i];
    if (name && value) {
        in[k].name = name;
        in[k++].value = value;
    }
    int rc = http1_head_replace(h, h->target, reason ? reason : h->reason, in, k);
    free(in);
    if (rc < 0)
        return -1;
    if (status > 0)
        h->status = status;
    return 0;
}

int rewrite_head(const struct rewrite *w, struct http1_head *h, char *before, size_t blen)
{
    const char *old = http1_head_get(h, w->name);
    snprintf(before, blen, "%s", old ? old : "");
    if (w->op == REWRITE_REMOVE && !old)
        return 0;
    if (w->op == REWRITE_SET && old && !strcmp(old, w->value)) {
        int n = 0; /* already so (and only once): nothing to change */
        for (size_t i = 0; i < h->nfields; i++)
            n += !strcasecmp(h->fields[i].name, w->name);
        if (n == 1)
            return 0;
    }
    return rewrite_head_set(h, w->name, w->op == REWRITE_REMOVE ? NULL : w->value,
                            w->op == REWRITE_ADD, 0, NULL) < 0 ? -1 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding */

static int zlib_to(int gzip, const unsigned char *data, size_t len, struct evbuffer *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    unsigned char buf[16384];
    z.next_in = (unsigned char *)data;
    int rc;
    do {
        size_t chunk = len - (size_t)((const unsigned char *)z.next_in - data);
        z.avail_in = chunk > (1u << 30) ? 1u << 30 : (uInt)chunk;
        int flush = chunk <= (1u << 30) ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = buf;
            z.avail_out = sizeof buf;
            rc = deflate(&z, flush);
            evbuffer_add(out, buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0);
    } while (rc != Z_STREAM_END && rc != Z_STREAM_ERROR);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

int rewrite_encode(const char *cenc, const unsigned char *data, size_t len, struct evbuffer *out)
{
    while (*cenc == ' ')
        cenc++;
    if (!*cenc || !strcasecmp(cenc, "identity"))
        return evbuffer_add(out, data, len);
    if (!strcasecmp(cenc, "gzip") || !strcasecmp(cenc, "x-gzip"))
        return zlib_to(1, data, len, out);
    if (!strcasecmp(cenc, "deflate"))
        return zlib_to(0, data, len, out);
#ifdef HAVE_BROTLIENC
    if (!strcasecmp(cenc, "br")) {
        size_t cap = BrotliEncoderMaxCompressedSize(len);
        unsigned char *buf = cap ? malloc(cap) : NULL;
        if (!buf)
            return -1;
        size_t n = cap;
        int ok = BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, len, data,
                                       &n, buf);
        if (ok)
            evbuffer_add(out, buf, n);
        free(buf);
        return ok ? 0 : -1;
    }
#endif
    return -1;
}
