/* http1_head.c — see http1.h: heap heads in one block (http1_head_pack, http1_head_take) and
 * their free. A taken head is copied out of the parser's scratch (strings, spans, fields), which
 * the parser keeps for its next message (one allocation per head instead of four) until its
 * connection idles (http1_parser_release_scratch). Also the standard reason phrases. */
#include "http1.h"

#include <stdlib.h>
#include <string.h>

/* A parser keeps its head's scratch buffers between messages when they are this small: the
 * next head of a busy connection needs no allocation, and a large head's room goes back at once;
 * an idle connection gives the rest back too (http1_parser_release_scratch). */
#define HEAD_KEEP_BUF 2048
#define HEAD_KEEP_ENTRIES 32

/* p rebased from the block at from to the one at to, when it points into from's len bytes (the
 * head's strings; target, reason and empty values may point at a literal "" instead). */
static const char *rebase(const char *p, const char *from, size_t len, const char *to)
{
    return p >= from && p < from + len ? to + (p - from) : p;
}

struct http1_head *http1_head_pack(const struct http1_head *src)
{
    size_t fields_bytes = src->nfields * sizeof *src->fields;
    struct http1_head *h = malloc(sizeof *h + fields_bytes + src->buf_len);
    if (!h)
        return NULL;
    struct http1_field *fields = (struct http1_field *)(h + 1); /* both pointer-aligned */
    char *buf = (char *)(fields + src->nfields);
    *h = *src;
    if (src->buf_len)
        memcpy(buf, src->buf, src->buf_len);
    for (size_t i = 0; i < src->nfields; i++) {
        fields[i].name = rebase(src->fields[i].name, src->buf, src->buf_len, buf);
        fields[i].value = rebase(src->fields[i].value, src->buf, src->buf_len, buf);
    }
    h->target = rebase(src->target, src->buf, src->buf_len, buf);
    h->reason = rebase(src->reason, src->buf, src->buf_len, buf);
    h->fields = fields;
    h->buf = buf;
    h->buf_cap = h->buf_len;
    h->spans = NULL;
    h->nspans = h->spans_cap = h->fields_cap = 0;
    h->packed = 1;
    return h;
}

/* The head's scratch buffers freed, their room zero (head_append, add_span and the fields'
 * realloc start again from nothing). */
static void scratch_free(struct http1_head *h)
{
    free(h->buf);
    free(h->spans);
    free(h->fields);
    h->buf = NULL;
    h->spans = NULL;
    h->fields = NULL;
    h->buf_cap = h->spans_cap = h->fields_cap = 0;
}

struct http1_head *http1_head_take(struct http1_head *src)
{
    struct http1_head *h = http1_head_pack(src);
    if (!h)
        return NULL;
    if (src->buf_cap > HEAD_KEEP_BUF || src->spans_cap > HEAD_KEEP_ENTRIES ||
        src->fields_cap > HEAD_KEEP_ENTRIES) /* a large head's room goes back */
        scratch_free(src);
    src->buf_len = 0;
    src->nspans = 0;
    src->nfields = 0;
    src->target = src->reason = "";
    return h;
}

void http1_parser_release_scratch(struct http1_parser *p)
{
    struct http1_head *h = &p->head;
    /* a head being received or delivered but not taken still points into the scratch */
    if (p->in_body || h->buf_len || h->nspans || h->nfields)
        return;
    scratch_free(h);
}

void http1_head_free(struct http1_head *h)
{
    if (!h)
        return;
    if (!h->packed) {
        free(h->buf);
        free(h->fields);
    }
    free(h->spans);
    free(h);
}

const char *http1_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}
