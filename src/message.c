/* message.c — see message.h. Strings live in a chain of arena blocks that never move, so a
 * field's pointers stay valid while more fields are added (an HTTP/2 header block arrives one
 * field at a time, unlike an HTTP/1 head that can be fixed up once complete). */
#include "message.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <llhttp.h>
#include "http1.h"

#define ARENA_BLOCK 2048
/* message_head_reset keeps a fields array this small (a usual head's, grown once at most) */
#define MESSAGE_KEEP_FIELDS 32

struct message_arena_block {
    struct message_arena_block *next;
    size_t used, cap;
    char data[];
};

void message_head_init(struct message_head *h, int is_request)
{
    memset(h, 0, sizeof *h);
    h->is_request = is_request;
    h->method = h->scheme = h->authority = h->path = "";
    h->major = 1;
    h->minor = 1;
    h->content_length = -1;
}

void message_head_clear(struct message_head *h)
{
    struct message_arena_block *b = h->arena;
    while (b) {
        struct message_arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(h->fields);
    free(h->trailers);
    message_head_init(h, h->is_request);
}

void message_head_reset(struct message_head *h)
{
    struct message_arena_block *keep = h->arena;
    if (keep && keep->cap != ARENA_BLOCK)
        keep = NULL; /* a big string's own block: not kept */
    struct message_arena_block *b = h->arena;
    while (b) {
        struct message_arena_block *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
    struct message_field *fields = h->fields;
    size_t fields_cap = h->fields_cap;
    if (fields_cap > MESSAGE_KEEP_FIELDS) {
        free(fields);
        fields = NULL;
        fields_cap = 0;
    }
    free(h->trailers);
    message_head_init(h, h->is_request);
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
        h->arena = keep;
    }
    h->fields = fields;
    h->fields_cap = fields_cap;
}

void message_head_move(struct message_head *dst, struct message_head *src)
{
    *dst = *src;
    message_head_init(src, src->is_request);
}

static char *arena_alloc(struct message_head *h, size_t n)
{
    struct message_arena_block *b = h->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        struct message_arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        if (b && n > ARENA_BLOCK) { /* a big string gets its own block behind the current one */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            h->arena = nb;
        }
        b = nb;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

const char *message_strdup(struct message_head *h, const char *s, size_t len)
{
    char *p = arena_alloc(h, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static int set_str(struct message_head *h, const char **dst, const char *s, size_t len)
{
    const char *p = message_strdup(h, s, len);
    if (!p)
        return -1;
    *dst = p;
    return 0;
}

int message_set_method(struct message_head *h, const char *s, size_t len)
{
    return set_str(h, &h->method, s, len);
}
int message_set_scheme(struct message_head *h, const char *s, size_t len)
{
    return set_str(h, &h->scheme, s, len);
}
int message_set_authority(struct message_head *h, const char *s, size_t len)
{
    return set_str(h, &h->authority, s, len);
}
int message_set_path(struct message_head *h, const char *s, size_t len)
{
    return set_str(h, &h->path, s, len);
}

/* Content-Length value: digits only; -1 otherwise (or on overflow). */
static int64_t parse_length(const char *v, size_t len)
{
    if (!len || len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

static int push_field(struct message_head *h, struct message_field **arr, size_t *n, size_t *cap,
                      const char *name, size_t name_len, const char *value, size_t value_len,
                      int borrow)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct message_field *na = realloc(*arr, nc * sizeof *na);
        if (!na)
            return -1;
        *arr = na;
        *cap = nc;
    }
    if (borrow) {
        (*arr)[(*n)++] = (struct message_field){name, value, name_len, value_len};
        h->field_bytes += name_len + value_len + 32;
        return 0;
    }
    char *nm = arena_alloc(h, name_len + value_len + 2); /* name and value side by side */
    if (!nm)
        return -1;
    memcpy(nm, name, name_len);
    nm[name_len] = '\0';
    char *vl = nm + name_len + 1;
    if (value_len)
        memcpy(vl, value, value_len);
    vl[value_len] = '\0';
    (*arr)[(*n)++] = (struct message_field){nm, vl, name_len, value_len};
    h->field_bytes += name_len + value_len + 32;
    return 0;
}

static int add_field(struct message_head *h, const char *name, size_t name_len,
                     const char *value, size_t value_len, int borrow)
{
    if (name_len == 14 && !strncasecmp(name, "content-length", 14)) {
        int64_t n = parse_length(value, value_len);
        if (n < 0 || (h->content_length >= 0 && n != h->content_length)) {
            h->content_length_bad = 1;
            h->content_length = -1;
        } else if (!h->content_length_bad) {
            h->content_length = n;
        }
    }
    return push_field(h, &h->fields, &h->nfields, &h->fields_cap, name, name_len, value,
                      value_len, borrow);
}

int message_add_field(struct message_head *h, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    return add_field(h, name, name_len, value, value_len, 0);
}

int message_add_field_borrowed(struct message_head *h, const char *name, size_t name_len,
                               const char *value, size_t value_len)
{
    return add_field(h, name, name_len, value, value_len, 1);
}

int message_add_trailer(struct message_head *h, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
    return push_field(h, &h->trailers, &h->ntrailers, &h->trailers_cap, name, name_len, value,
                      value_len, 0);
}

const char *message_get(const struct message_head *h, const char *name)
{
    size_t len = strlen(name); /* lengths first: a strcasecmp per field was most of it */
    for (size_t i = 0; i < h->nfields; i++)
        if (h->fields[i].name_len == len && !strncasecmp(h->fields[i].name, name, len))
            return h->fields[i].value;
    return NULL;
}

/* ---- HTTP/2 ---- */

static const char *const connection_fields[] = {"connection", "keep-alive", "proxy-connection",
                                                "transfer-encoding", "upgrade"};
static const char *const connection_field_why[] = {
    "connection-specific field: connection", "connection-specific field: keep-alive",
    "connection-specific field: proxy-connection", "connection-specific field: transfer-encoding",
    "connection-specific field: upgrade"};

/* Asked of every field sent or received over HTTP/2: by length first (one compare for most). */
static int connection_field_index(const char *name, size_t len)
{
    int i;
    switch (len) {
    case 10:
        i = (name[0] | 0x20) == 'c' ? 0 : 1;
        break;
    case 16:
        i = 2;
        break;
    case 17:
        i = 3;
        break;
    case 7:
        i = 4;
        break;
    default:
        return -1;
    }
    return strncasecmp(name, connection_fields[i], len) ? -1 : i;
}

int message_is_connection_field(const char *name, size_t len)
{
    return connection_field_index(name, len) >= 0;
}

/* RFC 9110 §5.6.2 tchar, as a table: every received HTTP/2 field name is checked byte by byte */
static const unsigned char tchar_table[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    ['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2, ['G'] = 2, ['H'] = 2,
    ['I'] = 2, ['J'] = 2, ['K'] = 2, ['L'] = 2, ['M'] = 2, ['N'] = 2, ['O'] = 2, ['P'] = 2,
    ['Q'] = 2, ['R'] = 2, ['S'] = 2, ['T'] = 2, ['U'] = 2, ['V'] = 2, ['W'] = 2, ['X'] = 2,
    ['Y'] = 2, ['Z'] = 2}; /* 2: a tchar HTTP/2 refuses in a field name (upper case) */

/* Bytes no HTTP/2 field value may hold (RFC 9113 §8.2.1): one lookup a byte. */
static const unsigned char value_bad[256] = {['\0'] = 1, ['\r'] = 1, ['\n'] = 1};

/* 1 when the word w has a zero byte (exact: (x - 1) & ~x sets a byte's top bit only below or at
 * the lowest zero byte, and at a zero byte always). */
static inline uint64_t has_zero_byte(uint64_t w)
{
    return (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
}

/* 1 when value holds a NUL, CR or LF. Every received field value is checked: eight bytes a step
 * (a third of the instructions of the byte loop on nginx's heads), the tail a byte at a time. */
static int value_has_bad(const char *value, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, value + i, 8);
        if (has_zero_byte(w) | has_zero_byte(w ^ 0x0d0d0d0d0d0d0d0dull) |
            has_zero_byte(w ^ 0x0a0a0a0a0a0a0a0aull))
            return 1;
    }
    for (; i < len; i++)
        if (value_bad[(unsigned char)value[i]])
            return 1;
    return 0;
}

static int is_tchar(unsigned char c)
{
    return tchar_table[c] != 0;
}

static int is_token(const char *s, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* 1 when the comma-separated list v holds token (case-insensitive, OWS around items). */
static int list_has(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token), i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v + s, token, tl))
            return 1;
    }
    return 0;
}

static const char *set_pseudo(struct message_head *h, const char **slot, const char *dup_why,
                              const char *value, size_t value_len)
{
    if (**slot)
        return dup_why;
    if (value_len == 0 && slot != &h->authority && slot != &h->path)
        return "empty pseudo-header";
    if (set_str(h, slot, value, value_len) < 0)
        return "out of memory";
    return NULL;
}

static const char *h2_add(struct message_head *h, const char *name, size_t name_len,
                          const char *value, size_t value_len, int trailers)
{
    if (!name_len)
        return "empty field name";
    if (value_has_bad(value, value_len))
        return "invalid character in field value";
    if (name[0] == ':') {
        if (trailers)
            return "pseudo-header in trailers";
        if (h->nfields)
            return "pseudo-header after regular field";
        const char *p = name + 1;
        size_t pl = name_len - 1;
#define IS(lit) (pl == sizeof lit - 1 && !memcmp(p, lit, pl))
        if (h->is_request) {
            if (IS("method"))
                return set_pseudo(h, &h->method, "duplicate pseudo-header :method", value,
                                  value_len);
            if (IS("scheme"))
                return set_pseudo(h, &h->scheme, "duplicate pseudo-header :scheme", value,
                                  value_len);
            if (IS("authority"))
                return set_pseudo(h, &h->authority, "duplicate pseudo-header :authority", value,
                                  value_len);
            if (IS("path")) {
                if (h->path[0] || value_len == 0)
                    return value_len ? "duplicate pseudo-header :path" : "empty :path";
                return set_pseudo(h, &h->path, "duplicate pseudo-header :path", value, value_len);
            }
            if (IS("status"))
                return "response pseudo-header :status in a request";
            return "unknown pseudo-header";
        }
        if (IS("status")) {
            if (h->status)
                return "duplicate pseudo-header :status";
            if (value_len != 3 || !isdigit((unsigned char)value[0]) ||
                !isdigit((unsigned char)value[1]) || !isdigit((unsigned char)value[2]))
                return "invalid :status";
            h->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
            return h->status < 100 ? "invalid :status" : NULL;
        }
        if (IS("method") || IS("scheme") || IS("authority") || IS("path"))
            return "request pseudo-header in a response";
        return "unknown pseudo-header";
#undef IS
    }
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (tchar_table[c] != 1) /* 0: not a tchar, 2: upper case */
            return tchar_table[c] ? "upper-case field name" : "invalid character in field name";
    }
    int ci = connection_field_index(name, name_len);
    if (ci >= 0)
        return connection_field_why[ci];
    if (name_len == 2 && !memcmp(name, "te", 2) &&
        !(value_len == 8 && !strncasecmp(value, "trailers", 8)))
        return "TE other than \"trailers\"";
    int r = trailers ? message_add_trailer(h, name, name_len, value, value_len)
                     : message_add_field(h, name, name_len, value, value_len);
    return r < 0 ? "out of memory" : NULL;
}

const char *message_h2_add(struct message_head *h, const char *name, size_t name_len,
                           const char *value, size_t value_len, int trailers)
{
    const char *why = h2_add(h, name, name_len, value, value_len, trailers);
    if (!why && name_len && name[0] == ':') /* the list size counts pseudo-headers too */
        h->field_bytes += name_len + value_len + 32;
    return why;
}

const char *message_h2_check(const struct message_head *h)
{
    if (h->content_length_bad)
        return "invalid or conflicting content-length";
    if (h->end_stream && h->content_length > 0 && h->is_request)
        return "content-length but the stream ended with the head";
    if (!h->is_request)
        return h->status ? NULL : "missing :status";
    if (!h->method[0])
        return "missing :method";
    if (!is_token(h->method, strlen(h->method)))
        return "invalid :method";
    if (!strcmp(h->method, "CONNECT")) {
        if (h->scheme[0] || h->path[0])
            return "CONNECT with :scheme or :path";
        return h->authority[0] ? NULL : "CONNECT without :authority";
    }
    if (!h->scheme[0])
        return "missing :scheme";
    if (!h->path[0])
        return "missing :path";
    if (h->path[0] != '/' && !(h->path[0] == '*' && !h->path[1] && !strcmp(h->method, "OPTIONS")))
        return "invalid :path";
    const char *host = message_get(h, "host");
    if (host && h->authority[0] && strcasecmp(host, h->authority))
        return "host differs from :authority";
    return NULL;
}

static char *lower_copy(struct message_head *h, const char *s, size_t len)
{
    char *p = (char *)message_strdup(h, s, len);
    if (p)
        for (size_t i = 0; i < len; i++)
            p[i] = (char)tolower((unsigned char)p[i]);
    return p;
}

static int is_named(const struct message_field *f, const char *lit, size_t len)
{
    return f->name_len == len && !strncasecmp(f->name, lit, len);
}

/* 1 when a Connection field of src names the field name (RFC 9110 §7.6.1). */
static int named_by_connection(const struct message_head *src, const char *name, size_t len)
{
    char tok[128];
    if (len >= sizeof tok)
        return 0;
    memcpy(tok, name, len);
    tok[len] = '\0';
    for (size_t i = 0; i < src->nfields; i++)
        if (is_named(&src->fields[i], "connection", 10) &&
            list_has(src->fields[i].value, src->fields[i].value_len, tok))
            return 1;
    return 0;
}

size_t message_h2_fields_max(const struct message_head *src, int trailers, size_t *name_bytes)
{
    const struct message_field *f = trailers ? src->trailers : src->fields;
    size_t n = trailers ? src->ntrailers : src->nfields, max = n, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += f[i].name_len + 1;
        if (!trailers && is_named(&f[i], "cookie", 6))
            for (size_t j = 0; j < f[i].value_len; j++)
                max += f[i].value[j] == ';';
    }
    *name_bytes = bytes;
    return max;
}

/* f's name lower-cased: f's own when it has no upper case, else a copy in *scratch (advanced). */
static const char *lower_name(const struct message_field *f, char **scratch)
{
    size_t i = 0;
    while (i < f->name_len && !(f->name[i] >= 'A' && f->name[i] <= 'Z'))
        i++;
    if (i == f->name_len)
        return f->name;
    char *p = *scratch;
    for (i = 0; i < f->name_len; i++)
        p[i] = (char)tolower((unsigned char)f->name[i]);
    p[f->name_len] = '\0';
    *scratch += f->name_len + 1;
    return p;
}

size_t message_h2_fields(const struct message_head *src, int trailers, struct message_field *out,
                         char *scratch)
{
    size_t n = 0;
    if (trailers) {
        for (size_t i = 0; i < src->ntrailers; i++) {
            const struct message_field *f = &src->trailers[i];
            if (message_is_connection_field(f->name, f->name_len))
                continue;
            out[n++] = (struct message_field){lower_name(f, &scratch), f->value, f->name_len,
                                              f->value_len};
        }
        return n;
    }
    int has_connection = 0; /* the common case: no Connection field, nothing it names */
    for (size_t i = 0; i < src->nfields && !has_connection; i++)
        has_connection = is_named(&src->fields[i], "connection", 10);
    for (size_t i = 0; i < src->nfields; i++) {
        const struct message_field *f = &src->fields[i];
        if (message_is_connection_field(f->name, f->name_len) ||
            (has_connection && named_by_connection(src, f->name, f->name_len)))
            continue;
        if (src->is_request && is_named(f, "host", 4))
            continue; /* carried by :authority */
        if (is_named(f, "te", 2)) {
            if (list_has(f->value, f->value_len, "trailers"))
                out[n++] = (struct message_field){"te", "trailers", 2, 8};
            continue;
        }
        if (is_named(f, "cookie", 6)) {
            /* crumbs: "a=1; b=2" -> two fields, better HPACK reuse (RFC 9113 §8.2.3); a crumb
             * is not NUL-terminated (value_len says where it ends) */
            const char *v = f->value, *end = f->value + f->value_len;
            while (v < end) {
                const char *semi = memchr(v, ';', (size_t)(end - v));
                const char *e = semi ? semi : end;
                const char *s = v;
                while (s < e && (*s == ' ' || *s == '\t'))
                    s++;
                const char *t = e;
                while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
                    t--;
                if (t > s)
                    out[n++] = (struct message_field){"cookie", s, 6, (size_t)(t - s)};
                v = semi ? semi + 1 : end;
            }
            continue;
        }
        out[n++] = (struct message_field){lower_name(f, &scratch), f->value, f->name_len,
                                          f->value_len};
    }
    return n;
}

const char *message_h2_authority(const struct message_head *src)
{
    if (src->authority[0] || !src->is_request)
        return src->authority;
    const char *host = message_get(src, "host");
    return host ? host : "";
}

/* Add src's HTTP/2-form fields (or trailers) to dst (copied). */
static int add_h2_fields(const struct message_head *src, int trailers, struct message_head *dst)
{
    size_t bytes, max = message_h2_fields_max(src, trailers, &bytes);
    if (!max)
        return 0;
    struct message_field *out = malloc(max * sizeof *out + bytes);
    if (!out)
        return -1;
    size_t n = message_h2_fields(src, trailers, out, (char *)(out + max));
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = trailers ? message_add_trailer(dst, out[i].name, out[i].name_len, out[i].value,
                                           out[i].value_len)
                     : message_add_field(dst, out[i].name, out[i].name_len, out[i].value,
                                         out[i].value_len);
    free(out);
    return r;
}

int message_to_h2(const struct message_head *src, struct message_head *dst)
{
    message_head_init(dst, src->is_request);
    dst->status = src->status;
    dst->major = 2;
    dst->minor = 0;
    dst->stream_id = src->stream_id;
    dst->end_stream = src->end_stream;
    dst->wire_size = src->wire_size;
    const char *authority = message_h2_authority(src);
    if (set_str(dst, &dst->method, src->method, strlen(src->method)) < 0 ||
        set_str(dst, &dst->scheme, src->scheme, strlen(src->scheme)) < 0 ||
        set_str(dst, &dst->path, src->path, strlen(src->path)) < 0 ||
        set_str(dst, &dst->authority, authority, strlen(authority)) < 0 ||
        add_h2_fields(src, 0, dst) < 0 || add_h2_fields(src, 1, dst) < 0) {
        message_head_clear(dst);
        return -1;
    }
    return 0;
}

/* ---- HTTP/1 ---- */

int message_from_http1(struct message_head *m, const struct http1_head *h, const char *scheme)
{
    message_head_init(m, h->is_request);
    m->major = h->major;
    m->minor = h->minor;
    m->status = h->status;
    m->end_stream = h->framing == HTTP1_NO_BODY;
    if (h->is_request) {
        const char *meth = llhttp_method_name((llhttp_method_t)h->method);
        const char *t = h->target ? h->target : "";
        if (message_set_method(m, meth, strlen(meth)) < 0)
            goto oom;
        if (h->method == HTTP_CONNECT) {
            if (message_set_authority(m, t, strlen(t)) < 0)
                goto oom;
        } else if (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8)) {
            size_t sl = t[4] == ':' ? 4 : 5;
            const char *a = t + sl + 3, *e = a + strcspn(a, "/?#");
            m->scheme = lower_copy(m, t, sl);
            if (!m->scheme || message_set_authority(m, a, (size_t)(e - a)) < 0)
                goto oom;
            if (*e == '/') {
                if (message_set_path(m, e, strlen(e)) < 0)
                    goto oom;
            } else { /* "http://h" -> "/", "http://h?q" -> "/?q" */
                char *p = arena_alloc(m, strlen(e) + 2);
                if (!p)
                    goto oom;
                p[0] = '/';
                strcpy(p + 1, e);
                m->path = p;
            }
        } else if (message_set_path(m, t, strlen(t)) < 0) {
            goto oom;
        }
        if (!m->scheme[0] && scheme && message_set_scheme(m, scheme, strlen(scheme)) < 0)
            goto oom;
    }
    for (size_t i = 0; i < h->nfields; i++) {
        const struct http1_field *f = &h->fields[i];
        if (message_add_field(m, f->name, strlen(f->name), f->value, strlen(f->value)) < 0)
            goto oom;
    }
    if (h->is_request && !m->authority[0]) {
        const char *host = message_get(m, "host");
        if (host && message_set_authority(m, host, strlen(host)) < 0)
            goto oom;
    }
    if (h->framing == HTTP1_LENGTH)
        m->content_length = (int64_t)h->content_length;
    return 0;
oom:
    message_head_clear(m);
    return -1;
}
