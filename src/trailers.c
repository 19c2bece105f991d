/* trailers.c — see trailers.h. A recorded trailer section is a struct http1_head holding only
 * fields (one buffer of NUL-terminated strings), so flow_free and flow_mem_size treat it like a
 * head and flow_json writes it with the same code. */
#include "trailers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A heap head holding copies of the n name/value pairs (names[i], values[i]). */
static struct http1_head *fields_head(size_t n, const char *const *names, const size_t *name_lens,
                                      const char *const *values, const size_t *value_lens)
{
    size_t bytes = 1;
    for (size_t i = 0; i < n; i++)
        bytes += name_lens[i] + value_lens[i] + 2;
    struct http1_head *h = calloc(1, sizeof *h);
    char *buf = malloc(bytes);
    struct http1_field *fields = calloc(n ? n : 1, sizeof *fields);
    if (!h || !buf || !fields) {
        free(h);
        free(buf);
        free(fields);
        return NULL;
    }
    size_t at = 0;
    buf[at++] = '\0'; /* target and reason point at an empty string */
    for (size_t i = 0; i < n; i++) {
        fields[i].name = buf + at;
        memcpy(buf + at, names[i], name_lens[i]);
        at += name_lens[i];
        buf[at++] = '\0';
        fields[i].value = buf + at;
        memcpy(buf + at, values[i], value_lens[i]);
        at += value_lens[i];
        buf[at++] = '\0';
    }
    h->buf = buf;
    h->buf_len = h->buf_cap = bytes;
    h->fields = fields;
    h->nfields = n;
    h->target = h->reason = buf;
    h->major = h->minor = 1;
    return h;
}

/* Put h (may be NULL: nothing to record) in f as its request or response trailers. */
static void keep(struct flow *f, int response, struct http1_head *h)
{
    struct http1_head **slot = response ? &f->resp_trailers : &f->req_trailers;
    http1_head_free(*slot);
    *slot = h;
}

/* fields_head over n pairs taken from get(i); -1 on OOM. */
static int record_pairs(struct flow *f, int response, size_t n, const char **names,
                        size_t *name_lens, const char **values, size_t *value_lens)
{
    struct http1_head *h = fields_head(n, names, name_lens, values, value_lens);
    if (!h)
        return -1;
    keep(f, response, h);
    return 0;
}

int trailers_record(struct flow *f, int response, const struct message_head *t)
{
    size_t n = t->ntrailers;
    if (!n)
        return 0;
    const char **names = calloc(n, sizeof *names), **values = calloc(n, sizeof *values);
    size_t *nl = calloc(n, sizeof *nl), *vl = calloc(n, sizeof *vl);
    int r = -1;
    if (names && values && nl && vl) {
        for (size_t i = 0; i < n; i++) {
            names[i] = t->trailers[i].name;
            nl[i] = t->trailers[i].name_len;
            values[i] = t->trailers[i].value;
            vl[i] = t->trailers[i].value_len;
        }
        r = record_pairs(f, response, n, names, nl, values, vl);
    }
    free(names);
    free(values);
    free(nl);
    free(vl);
    return r;
}

int trailers_record_http1(struct flow *f, int response, const struct http1_field *fields, size_t n)
{
    if (!n || !fields)
        return 0;
    const char **names = calloc(n, sizeof *names), **values = calloc(n, sizeof *values);
    size_t *nl = calloc(n, sizeof *nl), *vl = calloc(n, sizeof *vl);
    int r = -1;
    if (names && values && nl && vl) {
        for (size_t i = 0; i < n; i++) {
            names[i] = fields[i].name;
            nl[i] = strlen(fields[i].name);
            values[i] = fields[i].value;
            vl[i] = strlen(fields[i].value);
        }
        r = record_pairs(f, response, n, names, nl, values, vl);
    }
    free(names);
    free(values);
    free(nl);
    free(vl);
    return r;
}

int trailers_forwardable(const char *name, size_t len)
{
    static const char *const never[] = {
        "content-length", "transfer-encoding", "host",    "connection", "keep-alive",
        "proxy-connection", "te",              "trailer", "upgrade",    "proxy-authorization",
        "proxy-authenticate"};
    if (!len || name[0] == ':')
        return 0;
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strlen(never[i]) == len && !strncasecmp(name, never[i], len))
            return 0;
    return 1;
}

int trailers_write_http1(struct evbuffer *out, enum http1_framing framing,
                         const struct http1_head *t)
{
    if (framing != HTTP1_CHUNKED)
        return 0;
    if (evbuffer_add(out, "0\r\n", 3) < 0)
        return -1;
    for (size_t i = 0; t && i < t->nfields; i++) {
        const char *name = t->fields[i].name, *value = t->fields[i].value;
        if (!trailers_forwardable(name, strlen(name)))
            continue;
        if (evbuffer_add_printf(out, "%s: %s\r\n", name, value) < 0)
            return -1;
    }
    return evbuffer_add(out, "\r\n", 2);
}

int trailers_to_message(struct message_head *m, const struct http1_head *t)
{
    int added = 0;
    for (size_t i = 0; i < t->nfields; i++) {
        const char *name = t->fields[i].name, *value = t->fields[i].value;
        size_t nl = strlen(name);
        if (!trailers_forwardable(name, nl))
            continue;
        if (message_add_trailer(m, name, nl, value, strlen(value)) < 0)
            return -1;
        added++;
    }
    return added;
}
