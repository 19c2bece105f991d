/* message_http1.c — see message.h: an HTTP/2 message head as an HTTP/1 head (message_to_http1,
 * message_to_http1_recorded, message_to_http1_lend). The head is built on the stack (text, field
 * offsets and fields in rooms of a usual head's size) and copied once into the heap block where it
 * ends: http1_head_pack here, or the taker's http1_head_take for a lent head. */
#include "message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <llhttp.h>
#include "http1.h"

static int is_named(const struct message_field *f, const char *lit, size_t len)
{
    return f->name_len == len && !strncasecmp(f->name, lit, len);
}

static int method_number(const char *m)
{
#define XX(num, name, string)                                                                      \
    if (!strcmp(m, #string))                                                                       \
        return num;
    HTTP_ALL_METHOD_MAP(XX)
#undef XX
    return -1;
}

/* Growing string storage by offsets (converted to pointers at the end); it starts in the
 * caller's stack room and moves to the heap only for a head larger than that. */
struct sbuf {
    char *p;
    size_t len, cap;
    int heap; /* p was allocated here (else it is the caller's room) */
};

/* inlined: a head makes a dozen calls, most of them a short memcpy */
static inline __attribute__((always_inline)) size_t sbuf_put(struct sbuf *b, const char *s,
                                                              size_t n, int terminate)
{
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < need)
            cap *= 2;
        char *np = b->heap ? realloc(b->p, cap) : malloc(cap);
        if (!np)
            return SIZE_MAX;
        if (!b->heap && b->len)
            memcpy(np, b->p, b->len);
        b->heap = 1;
        b->p = np;
        b->cap = cap;
    }
    size_t off = b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    if (terminate)
        b->p[b->len++] = '\0';
    return off;
}

/* m as an HTTP/1 head (recorded: message_to_http1_recorded's form), built on the stack and lent
 * to use(arg, head) for the call; *used is use's result. Returns 0, or -1 when m cannot be
 * converted (*why set) or on OOM (*why NULL): use is not called then. */
static int build_http1(const struct message_head *m, int recorded, const char **why,
                       int (*use)(void *arg, struct http1_head *h), void *arg, int *used)
{
    if (why)
        *why = NULL;
    int method = 0;
    if (m->is_request) {
        method = method_number(m->method);
        if (method < 0) {
            if (why)
                *why = "method not known to HTTP/1";
            return -1;
        }
    }
    /* built on the stack, then copied into one heap block (http1_head_pack) */
    struct http1_head head = {0}, *h = &head;
    int rc = -1;
    size_t nout = m->nfields + (recorded ? 4 : 1);
    size_t offs_small[48][2]; /* a usual head's offsets and fields need no allocation */
    struct http1_field fields_small[48];
    char text_small[2048];
    size_t (*offs)[2] = nout <= 48 ? offs_small : calloc(nout, sizeof *offs);
    struct sbuf b = {text_small, 0, sizeof text_small, 0};
    if (!offs)
        goto oom;
    int is_connect = m->is_request && !strcmp(m->method, "CONNECT");
    /* the record's target: the path (a CONNECT's authority is in its ":authority" field) */
    const char *target = is_connect ? (recorded ? "" : m->authority) : m->path;
    size_t target_off = sbuf_put(&b, target, strlen(target), 1);
    /* HTTP/2 has no reason phrase (RFC 9113 §8.3.2): "" as mitmproxy's HAR has it */
    const char *reason = m->is_request || m->major >= 2 ? "" : http1_reason(m->status);
    size_t reason_off = sbuf_put(&b, reason, strlen(reason), 1);
    if (target_off == SIZE_MAX || reason_off == SIZE_MAX)
        goto oom;
    size_t n = 0;
    const char *pseudo[4][2] = {{":method", m->method}, {":scheme", m->scheme},
                                {":authority", m->authority}, {":path", m->path}};
    for (int i = 0; i < 4 && recorded; i++) {
        if (!pseudo[i][1][0])
            continue;
        offs[n][0] = sbuf_put(&b, pseudo[i][0], strlen(pseudo[i][0]), 1);
        offs[n][1] = sbuf_put(&b, pseudo[i][1], strlen(pseudo[i][1]), 1);
        if (offs[n][0] == SIZE_MAX || offs[n][1] == SIZE_MAX)
            goto oom;
        n++;
    }
    if (!recorded && m->is_request && m->authority[0] && !message_get(m, "host")) {
        offs[n][0] = sbuf_put(&b, "host", 4, 1);
        offs[n][1] = sbuf_put(&b, m->authority, strlen(m->authority), 1);
        if (offs[n][0] == SIZE_MAX || offs[n][1] == SIZE_MAX)
            goto oom;
        n++;
    }
    int cookie_done = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const struct message_field *f = &m->fields[i];
        int is_cookie = is_named(f, "cookie", 6);
        if (is_cookie && cookie_done)
            continue;
        offs[n][0] = sbuf_put(&b, f->name, f->name_len, 1);
        if (is_cookie) { /* one Cookie field, crumbs joined with "; " (RFC 9113 §8.2.3) */
            cookie_done = 1;
            offs[n][1] = b.len;
            int first = 1;
            for (size_t j = i; j < m->nfields; j++) {
                if (!is_named(&m->fields[j], "cookie", 6))
                    continue;
                if ((!first && sbuf_put(&b, "; ", 2, 0) == SIZE_MAX) ||
                    sbuf_put(&b, m->fields[j].value, m->fields[j].value_len, 0) == SIZE_MAX)
                    goto oom;
                first = 0;
            }
            if (sbuf_put(&b, "", 0, 1) == SIZE_MAX)
                goto oom;
        } else {
            offs[n][1] = sbuf_put(&b, f->value, f->value_len, 1);
        }
        if (offs[n][0] == SIZE_MAX || offs[n][1] == SIZE_MAX)
            goto oom;
        n++;
    }
    h->fields = n <= 48 ? fields_small : calloc(n, sizeof *h->fields);
    if (!h->fields)
        goto oom;
    for (size_t i = 0; i < n; i++)
        h->fields[i] = (struct http1_field){b.p + offs[i][0], b.p + offs[i][1]};
    h->nfields = n;
    h->buf = b.p;
    h->buf_len = b.len;
    h->buf_cap = b.cap;
    h->is_request = m->is_request;
    h->method = method;
    h->target = b.p + target_off;
    h->status = m->status;
    h->reason = b.p + reason_off;
    h->major = recorded ? 2 : m->major;
    h->minor = recorded ? 0 : m->minor;
    int no_body = m->end_stream ||
                  (!m->is_request && (m->status < 200 || m->status == 204 || m->status == 304));
    if (m->content_length >= 0) {
        h->framing = HTTP1_LENGTH;
        h->content_length = (uint64_t)m->content_length;
    } else {
        h->framing = no_body ? HTTP1_NO_BODY : HTTP1_CHUNKED;
    }
    h->keep_alive = 1;
    h->upgrade = is_connect;
    h->wire_size = m->wire_size ? m->wire_size : m->field_bytes;
    /* no room is the head's own (caps 0): a taker's http1_head_take copies it and frees none of
     * it, whether it lies on this stack or on the heap (freed below) */
    h->buf_cap = h->fields_cap = h->spans_cap = 0;
    *used = use(arg, h);
    rc = 0;
oom:
    if (offs != offs_small)
        free(offs);
    if (b.heap)
        free(b.p);
    if (h->fields != fields_small)
        free(h->fields);
    return rc;
}

static int pack_into(void *arg, struct http1_head *h)
{
    *(struct http1_head **)arg = http1_head_pack(h); /* NULL on OOM */
    return 0;
}

/* message_to_http1, or message_to_http1_recorded when recorded is 1. */
static struct http1_head *to_http1(const struct message_head *m, int recorded, const char **why)
{
    struct http1_head *out = NULL;
    int used;
    return build_http1(m, recorded, why, pack_into, &out, &used) < 0 ? NULL : out;
}

int message_to_http1_lend(const struct message_head *m, const char **why,
                          int (*use)(void *arg, struct http1_head *h), void *arg, int *used)
{
    return build_http1(m, 0, why, use, arg, used);
}

struct http1_head *message_to_http1(const struct message_head *m, const char **why)
{
    return to_http1(m, 0, why);
}

/* See message.h. One pass (it made a copy of m with the pseudo-headers as fields first). */
struct http1_head *message_to_http1_recorded(const struct message_head *m, const char **why)
{
    return to_http1(m, 1, why);
}
