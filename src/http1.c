/* http1.c — see http1.h. Callbacks accumulate spans into one buffer per head (llhttp may split
 * any span across reads), NUL-terminate each at its *_complete callback, and turn the offsets into
 * pointers once the head is complete, when the buffer stops growing. */
#include "http1.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "str.h"

struct http1_span {
    size_t name_off;  /* offset of the NUL-terminated field name in buf */
    size_t value_off; /* offset of the value; SIZE_MAX until its *_complete callback */
};

static struct http1_parser *parser_of(llhttp_t *l) { return (struct http1_parser *)l->data; }

/* Append to the head's strings: 0, -1 when the head would pass max bytes, -2 on OOM. */
static int head_append(struct http1_head *h, const char *at, size_t len, size_t max)
{
    if (h->buf_len + len + 1 > max)
        return -1;
    if (h->buf_len + len + 1 > h->buf_cap) {
        size_t cap = h->buf_cap ? h->buf_cap : 512;
        while (cap < h->buf_len + len + 1)
            cap *= 2;
        char *nb = realloc(h->buf, cap);
        if (!nb)
            return -2;
        h->buf = nb;
        h->buf_cap = cap;
    }
    memcpy(h->buf + h->buf_len, at, len);
    h->buf_len += len;
    return 0;
}

/* Ends the string being accumulated; returns its offset or SIZE_MAX on overflow. */
static size_t head_end_string(struct http1_parser *p, size_t *start)
{
    if (head_append(&p->head, "", 1, p->limits.max_head) < 0)
        return SIZE_MAX;
    size_t off = *start;
    *start = p->head.buf_len;
    return off;
}

static int fail(llhttp_t *l, const char *why)
{
    llhttp_set_error_reason(l, why);
    parser_of(l)->user_error = why; /* llhttp puts its own reason on *_complete callback errors */
    return HPE_USER;
}

/* A size limit broke: remember which (the owner picks 414 or 431) and stop. */
static int fail_limit(llhttp_t *l, enum http1_limit which)
{
    static const char *const why[] = {
        [HTTP1_LIMIT_TARGET] = "request-target too long",
        [HTTP1_LIMIT_FIELD_LINE] = "header field too long",
        [HTTP1_LIMIT_HEAD] = "request or response head too large",
        [HTTP1_LIMIT_FIELDS] = "too many header fields"};
    ((struct http1_parser *)l->data)->limit = which;
    return fail(l, why[which]);
}

static void head_reset(struct http1_head *h, int is_request)
{
    h->is_request = is_request;
    h->buf_len = 0;
    h->nspans = 0;
    h->nfields = 0; /* fields is scratch room kept for the next head */
    h->target = "";
    h->reason = "";
    h->method = 0;
    h->status = 0;
    h->major = h->minor = 1;
    h->framing = HTTP1_NO_BODY;
    h->content_length = 0;
    h->keep_alive = 0;
    h->upgrade = 0;
    h->wire_size = 0;
}

/* spans[0] holds the start-line string (target or reason); header fields start at spans[1]. */
#define CUR_START(p) ((p)->cur_start)

static int on_message_begin(llhttp_t *l)
{
    struct http1_parser *p = parser_of(l);
    head_reset(&p->head, llhttp_get_type(l) == HTTP_REQUEST);
    p->in_body = 0;
    p->body_bytes = 0;
    CUR_START(p) = 0;
    p->trailer.buf_len = 0;
    p->trailer.nspans = 0;
    p->trailer_start = 0;
    return 0;
}

static int add_span(struct http1_head *h)
{
    if (h->nspans == h->spans_cap) {
        size_t cap = h->spans_cap ? h->spans_cap * 2 : 16;
        struct http1_span *ns = realloc(h->spans, cap * sizeof *ns);
        if (!ns)
            return -1;
        h->spans = ns;
        h->spans_cap = cap;
    }
    h->spans[h->nspans].name_off = SIZE_MAX;
    h->spans[h->nspans].value_off = SIZE_MAX;
    h->nspans++;
    return 0;
}

/* The head the field spans go to: the message's head, or its trailer section once the head
 * was delivered (llhttp reports trailer fields through the same callbacks after the last chunk). */
static struct http1_head *fields_head(struct http1_parser *p)
{
    return p->in_body ? &p->trailer : &p->head;
}

/* Offset in fields_head's buf where the string being received starts. */
static size_t *string_start(struct http1_parser *p)
{
    return p->in_body ? &p->trailer_start : &CUR_START(p);
}

static int on_data(llhttp_t *l, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(l);
    int r = head_append(fields_head(p), at, len, p->limits.max_head);
    if (r == -1)
        return fail_limit(l, HTTP1_LIMIT_HEAD);
    return r < 0 ? fail(l, "out of memory") : 0;
}

/* Request-target bytes (llhttp may deliver them in pieces). */
static int on_url(llhttp_t *l, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(l);
    if (p->head.buf_len - CUR_START(p) + len > p->limits.max_target)
        return fail_limit(l, HTTP1_LIMIT_TARGET);
    return on_data(l, at, len);
}

/* Header name bytes: the line so far is the name. */
static int on_field_data(llhttp_t *l, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(l);
    if (fields_head(p)->buf_len - *string_start(p) + len > p->limits.max_field_line)
        return fail_limit(l, HTTP1_LIMIT_FIELD_LINE);
    return on_data(l, at, len);
}

/* Header value bytes: the line so far is the name (stored just before) plus the value. */
static int on_value_data(llhttp_t *l, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(l);
    /* llhttp skips the CRLF of an obs-fold and goes on with the same value, so a value piece
     * that does not start where the last one ended (nor at the start of a new read that
     * follows one ending the previous read) was folded. RFC 9112 §5.2: a proxy refuses it
     * (400 for a request, 502 for a response): llhttp has already interpreted the folded value
     * (a folded "chunked " is not chunked to it, but would be to the next hop once forwarded). */
    uintptr_t start = (uintptr_t)at;
    if (p->value_end && start != p->value_end &&
        !(start == p->feed_base && p->value_end == p->prev_feed_end))
        return fail(l, "obsolete line folding (obs-fold) in a header value");
    p->value_end = start + len;
    struct http1_head *fh = fields_head(p);
    if (fh->nspans > 0) {
        size_t name_off = fh->spans[fh->nspans - 1].name_off;
        if (name_off != SIZE_MAX && fh->buf_len - name_off + len > p->limits.max_field_line)
            return fail_limit(l, HTTP1_LIMIT_FIELD_LINE);
    }
    return on_data(l, at, len);
}

static int on_startline_complete(llhttp_t *l)
{
    struct http1_parser *p = parser_of(l);
    /* spans[0] holds the start-line string (target or reason) in name_off */
    if (add_span(&p->head) < 0)
        return fail(l, "out of memory");
    size_t off = head_end_string(p, &CUR_START(p));
    if (off == SIZE_MAX)
        return fail_limit(l, HTTP1_LIMIT_HEAD);
    p->head.spans[0].name_off = off;
    p->start_len = p->head.buf_len - off - 1;
    return 0;
}

/* A trailer field's name is complete (trailer spans are fields only, no start line). */
static int trailer_field_complete(llhttp_t *l, struct http1_parser *p)
{
    struct http1_head *t = &p->trailer;
    if (t->nspans >= p->limits.max_fields)
        return fail_limit(l, HTTP1_LIMIT_FIELDS);
    if (add_span(t) < 0)
        return fail(l, "out of memory");
    if (head_append(t, "", 1, p->limits.max_head) < 0)
        return fail_limit(l, HTTP1_LIMIT_HEAD);
    t->spans[t->nspans - 1].name_off = p->trailer_start;
    p->trailer_start = t->buf_len;
    p->value_end = 0;
    return 0;
}

static int on_field_complete(llhttp_t *l)
{
    struct http1_parser *p = parser_of(l);
    if (p->in_body)
        return trailer_field_complete(l, p);
    if (p->head.nspans == 0 && add_span(&p->head) < 0) /* no start-line string seen */
        return fail(l, "out of memory");
    if (p->head.nspans > p->limits.max_fields)
        return fail_limit(l, HTTP1_LIMIT_FIELDS);
    if (add_span(&p->head) < 0)
        return fail(l, "out of memory");
    size_t off = head_end_string(p, &CUR_START(p));
    if (off == SIZE_MAX)
        return fail_limit(l, HTTP1_LIMIT_HEAD);
    p->head.spans[p->head.nspans - 1].name_off = off;
    p->value_end = 0;
    return 0;
}

static int on_value_complete(llhttp_t *l)
{
    struct http1_parser *p = parser_of(l);
    if (p->in_body) {
        struct http1_head *t = &p->trailer;
        if (head_append(t, "", 1, p->limits.max_head) < 0)
            return fail_limit(l, HTTP1_LIMIT_HEAD);
        if (t->nspans)
            t->spans[t->nspans - 1].value_off = p->trailer_start;
        p->trailer_start = t->buf_len;
        p->value_end = 0;
        return 0;
    }
    size_t off = head_end_string(p, &CUR_START(p));
    if (off == SIZE_MAX)
        return fail_limit(l, HTTP1_LIMIT_HEAD);
    p->head.spans[p->head.nspans - 1].value_off = off;
    p->value_end = 0;
    return 0;
}

static int on_headers_complete(llhttp_t *l)
{
    struct http1_parser *p = parser_of(l);
    struct http1_head *h = &p->head;
    if (h->nspans == 0 && add_span(h) < 0)
        return fail(l, "out of memory");
    if (h->spans[0].name_off == SIZE_MAX) { /* empty reason phrase: no on_status at all */
        size_t off = head_end_string(p, &CUR_START(p));
        if (off == SIZE_MAX)
            return fail_limit(l, HTTP1_LIMIT_HEAD);
        h->spans[0].name_off = off;
        p->start_len = 0;
    }
    if (h->nspans - 1 > h->fields_cap || !h->fields) {
        size_t cap = h->nspans - 1 > 16 ? h->nspans - 1 : 16;
        struct http1_field *nf = realloc(h->fields, cap * sizeof *nf);
        if (!nf)
            return fail(l, "out of memory");
        h->fields = nf;
        h->fields_cap = cap;
    }
    h->nfields = h->nspans - 1;
    /* buf holds the start-line string, each name and each value received, one NUL after each:
     * their bytes are buf_len less one per string (no strlen of every field) */
    size_t strings = 1 + h->nfields;
    for (size_t i = 0; i < h->nfields; i++) {
        const struct http1_span *s = &h->spans[i + 1];
        h->fields[i].name = h->buf + s->name_off;
        h->fields[i].value = s->value_off == SIZE_MAX ? "" : h->buf + s->value_off;
        strings += s->value_off != SIZE_MAX;
    }
    size_t wire = h->buf_len - strings + 4 * h->nfields; /* ": " CRLF per field */
    const char *start = h->buf + h->spans[0].name_off;
    h->major = llhttp_get_http_major(l);
    h->minor = llhttp_get_http_minor(l);
    h->keep_alive = llhttp_should_keep_alive(l);
    h->upgrade = llhttp_get_upgrade(l);
    if (h->is_request) {
        h->method = llhttp_get_method(l);
        /* llhttp takes "GET /" (HTTP/0.9) and "PRI * HTTP/2.0"; neither can be forwarded as the
         * HTTP/1.1 request we would make of it */
        if (h->major != 1)
            return fail(l, "unsupported HTTP version in the request line (HTTP/1.x only)");
        h->target = start;
        wire += strlen(llhttp_method_name(h->method)) + 12; /* " " " HTTP/1.1" CRLF */
        if (l->flags & F_CHUNKED)
            h->framing = HTTP1_CHUNKED;
        else if (l->flags & F_CONTENT_LENGTH)
            h->framing = l->content_length ? HTTP1_LENGTH : HTTP1_NO_BODY;
        else
            h->framing = HTTP1_NO_BODY;
    } else {
        h->status = llhttp_get_status_code(l);
        if (h->status < 100 || h->status > 999) /* "HTTP/1.1  200" gives 0: not forwardable */
            return fail(l, "invalid status code");
        /* control bytes llhttp lets through in a reason phrase would break the client's parser */
        char *r = h->buf + h->spans[0].name_off;
        for (; *r; r++)
            if ((unsigned char)*r < 0x20 ? *r != '\t' : *r == 0x7f)
                *r = ' ';
        h->reason = start;
        /* a NUL llhttp let through ends the reason phrase: its bytes after it are not counted */
        wire = wire - p->start_len + (size_t)(r - start) + 15; /* "HTTP/1.1 200 " CRLF */
        if ((h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304)
            h->framing = HTTP1_NO_BODY;
        else if (l->flags & F_CHUNKED)
            h->framing = HTTP1_CHUNKED;
        else if (l->flags & F_CONTENT_LENGTH)
            h->framing = HTTP1_LENGTH;
        else
            h->framing = HTTP1_UNTIL_EOF;
    }
    h->content_length = (l->flags & F_CONTENT_LENGTH) ? l->content_length : 0;
    h->wire_size = wire + 2; /* the empty line */
    p->in_body = 1;
    p->value_end = 0;
    int rc = p->handlers->on_head ? p->handlers->on_head(p->arg, h) : 0;
    if (rc < 0)
        return fail(l, "message refused");
    /* llhttp would read a body announced on a 1xx, 204 or 304 (RFC 9112 §6.3: they have none);
     * the bytes after such a head are the next message, as for the answer to HEAD. */
    if (!h->is_request && h->status != 101 && h->framing == HTTP1_NO_BODY)
        return 1;
    return rc == 1 ? 1 : 0;
}

static int on_body(llhttp_t *l, const char *at, size_t len)
{
    struct http1_parser *p = parser_of(l);
    p->body_bytes += len;
    if (p->handlers->on_body && p->handlers->on_body(p->arg, at, len) < 0)
        return fail(l, "body refused");
    return 0;
}

/* A chunked message's trailer section arrived: hand its fields to on_trailers, then give the
 * memory back (rare: an idle connection should not keep it). */
static int deliver_trailers(llhttp_t *l, struct http1_parser *p)
{
    struct http1_head *t = &p->trailer;
    size_t n = t->nspans;
    struct http1_field *fields = n && p->handlers->on_trailers ? calloc(n, sizeof *fields) : NULL;
    for (size_t i = 0; fields && i < n; i++) {
        fields[i].name = t->buf + t->spans[i].name_off;
        fields[i].value = t->spans[i].value_off == SIZE_MAX ? "" : t->buf + t->spans[i].value_off;
    }
    int rc = fields ? p->handlers->on_trailers(p->arg, fields, n) : 0;
    free(fields);
    free(t->buf);
    free(t->spans);
    memset(t, 0, sizeof *t);
    if (n && p->handlers->on_trailers && !fields)
        return fail(l, "out of memory");
    return rc < 0 ? fail(l, "trailers refused") : 0;
}

static int on_message_complete(llhttp_t *l)
{
    struct http1_parser *p = parser_of(l);
    if (p->in_body && deliver_trailers(l, p) != 0)
        return HPE_USER;
    p->in_body = 0;
    int rc = p->handlers->on_done ? p->handlers->on_done(p->arg) : 1;
    if (rc < 0)
        return fail(l, "message refused");
    /* CONNECT and accepted upgrades stop on their own with HPE_PAUSED_UPGRADE. */
    return rc == 0 ? HPE_PAUSED : 0;
}

/* The callbacks are the same for every parser (each finds its wrapper through llhttp.data), so
 * one settings table serves them all instead of a copy in each connection's two parsers. */
static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_data,
    .on_header_field = on_field_data,
    .on_header_value = on_value_data,
    .on_url_complete = on_startline_complete,
    .on_status_complete = on_startline_complete,
    .on_header_field_complete = on_field_complete,
    .on_header_value_complete = on_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http1_parser_init(struct http1_parser *p, int is_request, const struct http1_handlers *h,
                       void *arg)
{
    memset(p, 0, sizeof *p);
    llhttp_init(&p->llhttp, is_request ? HTTP_REQUEST : HTTP_RESPONSE, &parser_settings);
    p->llhttp.data = p;
    p->handlers = h;
    p->arg = arg;
    p->limits = (struct http1_limits){HTTP1_MAX_TARGET, HTTP1_MAX_FIELD_LINE, HTTP1_MAX_HEAD_BYTES,
                                      HTTP1_MAX_HEADERS};
    head_reset(&p->head, is_request);
}

void http1_parser_set_limits(struct http1_parser *p, const struct http1_limits *l)
{
    if (l->max_target)
        p->limits.max_target = l->max_target;
    if (l->max_field_line)
        p->limits.max_field_line = l->max_field_line;
    if (l->max_head)
        p->limits.max_head = l->max_head;
    if (l->max_fields)
        p->limits.max_fields = l->max_fields;
}

const char *http1_parser_target(struct http1_parser *p)
{
    struct http1_head *h = &p->head;
    if (!h->is_request || !h->buf)
        return NULL;
    if (h->nspans == 0) { /* the target is still arriving: what came so far (room is kept) */
        if (h->buf_len == 0)
            return NULL;
        h->buf[h->buf_len] = '\0';
        return h->buf;
    }
    return h->spans[0].name_off == SIZE_MAX ? NULL : h->buf + h->spans[0].name_off;
}

void http1_parser_free(struct http1_parser *p)
{
    free(p->head.buf);
    free(p->head.spans);
    free(p->head.fields);
    memset(&p->head, 0, sizeof p->head);
    free(p->trailer.buf);
    free(p->trailer.spans);
    memset(&p->trailer, 0, sizeof p->trailer);
}

enum http1_feed_result http1_feed(struct http1_parser *p, struct evbuffer *in)
{
    size_t fed = 0;
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        const char *base = v.iov_base;
        p->prev_feed_end = p->feed_end;
        p->feed_base = (uintptr_t)base;
        p->feed_end = (uintptr_t)base + v.iov_len;
        llhttp_errno_t err = llhttp_execute(&p->llhttp, base, v.iov_len);
        if (err == HPE_OK) {
            evbuffer_drain(in, v.iov_len);
            fed += v.iov_len;
            continue;
        }
        const char *pos = llhttp_get_error_pos(&p->llhttp);
        size_t used = pos && pos >= base && pos <= base + v.iov_len ? (size_t)(pos - base) : 0;
        if (err == HPE_PAUSED) {
            evbuffer_drain(in, used);
            return HTTP1_FEED_PAUSED;
        }
        if (err == HPE_PAUSED_UPGRADE) {
            evbuffer_drain(in, used);
            return HTTP1_FEED_UPGRADE;
        }
        p->error_name = llhttp_errno_name(err);
        p->error = p->user_error ? p->user_error : llhttp_get_error_reason(&p->llhttp);
        if (!p->error)
            p->error = "invalid message";
        p->error_offset = fed + used;
        return HTTP1_FEED_ERROR;
    }
    return HTTP1_FEED_MORE;
}

enum http1_feed_result http1_finish(struct http1_parser *p)
{
    llhttp_errno_t err = llhttp_finish(&p->llhttp);
    if (err == HPE_OK || err == HPE_PAUSED)
        return HTTP1_FEED_MORE;
    p->error_name = llhttp_errno_name(err);
    p->error = llhttp_get_error_reason(&p->llhttp);
    if (!p->error)
        p->error = "connection closed in the middle of a message";
    p->error_offset = 0;
    return HTTP1_FEED_ERROR;
}

void http1_parser_resume(struct http1_parser *p)
{
    if (llhttp_get_errno(&p->llhttp) == HPE_PAUSED_UPGRADE)
        llhttp_resume_after_upgrade(&p->llhttp);
    else
        llhttp_resume(&p->llhttp);
}

int http1_parser_idle(const struct http1_parser *p)
{
    return p->llhttp.finish != HTTP_FINISH_UNSAFE;
}

const char *http1_head_get(const struct http1_head *h, const char *name)
{
    /* the first byte, case folded, before strcasecmp: most fields differ there (a head is
     * asked a dozen names a request). Equal ignoring case implies equal here. */
    unsigned char first = (unsigned char)name[0] | 0x20;
    for (size_t i = 0; i < h->nfields; i++)
        if (((unsigned char)h->fields[i].name[0] | 0x20) == first &&
            !strcasecmp(h->fields[i].name, name))
            return h->fields[i].value;
    return NULL;
}

/* The next token of the comma list at *s, OWS trimmed, its length in *len; NULL at the end. */
static const char *list_next(const char **s, size_t *len)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (!*p)
        return NULL;
    const char *start = p;
    while (*p && *p != ',')
        p++;
    const char *end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *s = p;
    *len = (size_t)(end - start);
    return start;
}

/* 1 when the comma-separated list s holds token (case-insensitive, OWS trimmed). */
static int list_has(const char *s, const char *token, size_t toklen)
{
    const char *t;
    size_t n;
    while ((t = list_next(&s, &n)))
        if (n == toklen && !strncasecmp(t, token, toklen))
            return 1;
    return 0;
}

int http1_connection_has(const struct http1_head *h, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i < h->nfields; i++) {
        unsigned char c = (unsigned char)h->fields[i].name[0] | 0x20; /* most fields: no compare */
        if ((c == 'c' || c == 'p') &&
            (!strcasecmp(h->fields[i].name, "connection") ||
             !strcasecmp(h->fields[i].name, "proxy-connection")) &&
            list_has(h->fields[i].value, token, n))
            return 1;
    }
    return 0;
}

/* name (n bytes) is the lowercase literal lit, ignoring case. The length is compared first: the
 * head writer asks this of every field against a dozen names, and strcasecmp for each (plus a
 * scan of the Connection fields per field) was ~4 % of the proxy's instructions. */
static int name_is(const char *name, size_t n, const char *lit, size_t litlen)
{
    return n == litlen && !strncasecmp(name, lit, n);
}
#define NAME_IS(name, n, lit) name_is((name), (n), (lit), sizeof(lit) - 1)

/* Hop-by-hop fields (RFC 9110 §7.6.1), plus the proxy's own (Proxy-*), never forwarded: the fixed
 * ones, and any the head's Connection fields name (conn[0..nconn), indices into h->fields: those
 * whose value names more than the fixed ones). */
static int is_fixed_hop_by_hop(const char *name, size_t n)
{
    return NAME_IS(name, n, "connection") || NAME_IS(name, n, "proxy-connection") ||
           NAME_IS(name, n, "keep-alive") || NAME_IS(name, n, "proxy-authorization") ||
           NAME_IS(name, n, "proxy-authenticate") || NAME_IS(name, n, "te") ||
           NAME_IS(name, n, "trailer") || NAME_IS(name, n, "upgrade");
}

static int is_hop_by_hop(const struct http1_head *h, const char *name, size_t n,
                         const size_t *conn, size_t nconn)
{
    if (is_fixed_hop_by_hop(name, n))
        return 1;
    for (size_t i = 0; i < nconn; i++)
        if (list_has(h->fields[conn[i]].value, name, n))
            return 1;
    return 0;
}

/* 1 when every token of the Connection value s names a field dropped anyway (the fixed
 * hop-by-hop names): "keep-alive", "Upgrade", "TE". Such a value need not be searched for each
 * field's name (list_has per field and Connection value was ~2 % of a plain request's
 * instructions: most keep-alive heads carry "Connection: keep-alive"). */
static int list_names_only_fixed(const char *s)
{
    const char *t;
    size_t n;
    while ((t = list_next(&s, &n)))
        if (!is_fixed_hop_by_hop(t, n))
            return 0;
    return 1;
}

/* A head is put together here and added to the evbuffer in one piece (one evbuffer_add per
 * HEAD_CHUNK bytes) instead of an evbuffer_add_printf per line: the format parsing of about ten
 * printf calls per exchange was ~5 % of the proxy's instructions. */
#define HEAD_CHUNK 4096
struct head_out {
    struct evbuffer *out;
    int failed;
    size_t len;
    char buf[HEAD_CHUNK];
};

static void head_flush(struct head_out *o)
{
    if (o->len && evbuffer_add(o->out, o->buf, o->len) < 0)
        o->failed = 1;
    o->len = 0;
}

static void head_put(struct head_out *o, const char *s, size_t n)
{
    if (o->len + n > sizeof o->buf) {
        head_flush(o);
        if (n > sizeof o->buf) {
            if (evbuffer_add(o->out, s, n) < 0)
                o->failed = 1;
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void head_str(struct head_out *o, const char *s) { head_put(o, s, strlen(s)); }
#define HEAD_LIT(o, lit) head_put((o), (lit), sizeof(lit) - 1)

/* v in decimal */
static void head_uint(struct head_out *o, uint64_t v)
{
    char num[20];
    char *p = str_decimal(num + sizeof num, v);
    head_put(o, p, (size_t)(num + sizeof num - p));
}

/* "name: value" CRLF */
static void head_field(struct head_out *o, const char *name, size_t n, const char *value)
{
    head_put(o, name, n);
    HEAD_LIT(o, ": ");
    head_str(o, value);
    HEAD_LIT(o, "\r\n");
}

/* The fields and the blank line; returns 0, -1 when the evbuffer refused bytes. */
static int write_fields(struct head_out *o, const struct http1_head *h, const char *host,
                        enum http1_framing framing, unsigned flags)
{
    int same_framing = framing == h->framing;
    size_t conn_small[8], *conn = conn_small, nconn = 0;
    if (h->nfields > sizeof conn_small / sizeof *conn_small &&
        !(conn = malloc(h->nfields * sizeof *conn)))
        return -1;
    for (size_t i = 0; i < h->nfields; i++) {
        const char *name = h->fields[i].name;
        unsigned char c = (unsigned char)name[0] | 0x20; /* most fields: no strlen, no compare */
        if (c != 'c' && c != 'p')
            continue;
        size_t n = strlen(name);
        if ((NAME_IS(name, n, "connection") || NAME_IS(name, n, "proxy-connection")) &&
            !list_names_only_fixed(h->fields[i].value))
            conn[nconn++] = i;
    }
    if (host) {
        HEAD_LIT(o, "Host: ");
        head_str(o, host);
        HEAD_LIT(o, "\r\n");
    }
    for (size_t i = 0; i < h->nfields; i++) {
        const char *name = h->fields[i].name;
        size_t n = strlen(name);
        if (host && NAME_IS(name, n, "host"))
            continue;
        if (n && name[0] == ':')
            continue; /* HTTP/2 pseudo-headers a recorded head keeps (front_h2.c) are no fields */
        if (NAME_IS(name, n, "content-length") || NAME_IS(name, n, "transfer-encoding")) {
            /* Re-emitted below unless the framing is unchanged (e.g. the answer to HEAD). */
            if (!same_framing || framing == HTTP1_CHUNKED)
                continue;
        } else if (is_hop_by_hop(h, name, n, conn, nconn)) {
            if (!((flags & HTTP1_KEEP_UPGRADE) && NAME_IS(name, n, "upgrade")))
                continue;
        } else if ((flags & HTTP1_STRIP_ALT_SVC) && NAME_IS(name, n, "alt-svc")) {
            continue;
        }
        head_field(o, name, n, h->fields[i].value);
    }
    if (conn != conn_small)
        free(conn);
    if (framing == HTTP1_CHUNKED) {
        /* One field with every coding of every Transfer-Encoding field received, in order:
         * forwarding only the first field would hide the final "chunked" that llhttp framed the
         * body by ("TE: x" + "TE: chunked" reaching upstream as "TE: x" is request smuggling). */
        int n = 0;
        HEAD_LIT(o, "Transfer-Encoding: ");
        for (size_t i = 0; same_framing && i < h->nfields; i++) {
            if (strcasecmp(h->fields[i].name, "transfer-encoding") || !h->fields[i].value[0])
                continue;
            if (n++)
                HEAD_LIT(o, ", ");
            head_str(o, h->fields[i].value);
        }
        if (!n)
            HEAD_LIT(o, "chunked");
        HEAD_LIT(o, "\r\n");
    } else if (framing == HTTP1_LENGTH && !same_framing) {
        HEAD_LIT(o, "Content-Length: ");
        head_uint(o, h->content_length);
        HEAD_LIT(o, "\r\n");
    }
    const char *conn_value = (flags & HTTP1_KEEP_UPGRADE) ? "upgrade"
                             : (flags & HTTP1_CLOSE)       ? "close"
                             : (flags & HTTP1_KEEP_ALIVE)  ? "keep-alive" : NULL;
    if (conn_value) {
        HEAD_LIT(o, "Connection: ");
        head_str(o, conn_value);
        HEAD_LIT(o, "\r\n");
    }
    HEAD_LIT(o, "\r\n");
    head_flush(o);
    return o->failed ? -1 : 0;
}

int http1_write_request_head(struct evbuffer *out, const struct http1_head *h, const char *target,
                             const char *host, enum http1_framing framing, unsigned flags)
{
    struct head_out o;
    o.out = out;
    o.failed = 0;
    o.len = 0;
    head_str(&o, llhttp_method_name(h->method));
    HEAD_LIT(&o, " ");
    head_str(&o, target);
    HEAD_LIT(&o, " HTTP/1.1\r\n");
    return write_fields(&o, h, host, framing, flags);
}

int http1_write_response_head(struct evbuffer *out, const struct http1_head *h,
                              enum http1_framing framing, unsigned flags)
{
    struct head_out o;
    o.out = out;
    o.failed = 0;
    o.len = 0;
    HEAD_LIT(&o, "HTTP/1.1 ");
    head_uint(&o, (uint64_t)(unsigned)h->status); /* llhttp's: three digits, never negative */
    HEAD_LIT(&o, " ");
    head_str(&o, h->reason);
    HEAD_LIT(&o, "\r\n");
    return write_fields(&o, h, NULL, framing, flags);
}

int http1_write_body(struct evbuffer *out, enum http1_framing framing, const char *data, size_t len)
{
    if (len == 0)
        return 0; /* an empty chunk would end a chunked body */
    if (framing == HTTP1_CHUNKED) {
        if (evbuffer_add_printf(out, "%zx\r\n", len) < 0 || evbuffer_add(out, data, len) < 0)
            return -1;
        return evbuffer_add(out, "\r\n", 2);
    }
    return evbuffer_add(out, data, len);
}

int http1_write_end(struct evbuffer *out, enum http1_framing framing)
{
    return framing == HTTP1_CHUNKED ? evbuffer_add(out, "0\r\n\r\n", 5) : 0;
}

int http1_write_simple_response(struct evbuffer *out, int status, const char *reason,
                                const char *content_type, const char *body, size_t body_len,
                                int close)
{
    if (evbuffer_add_printf(out,
                            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                            "Cache-Control: no-store\r\n%s\r\n",
                            status, reason, content_type ? content_type : "text/plain; charset=utf-8",
                            body_len, close ? "Connection: close\r\n" : "") < 0)
        return -1;
    return body_len ? evbuffer_add(out, body, body_len) : 0;
}
