/* http1_edit.c — see http1_edit.h. */
#include "http1_edit.h"

#include <stdlib.h>
#include <string.h>

static const char *put(char **p, const char *s)
{
    size_t l = strlen(s);
    const char *at = memcpy(*p, s, l + 1);
    *p += l + 1;
    return at;
}

int http1_head_replace(struct http1_head *h, const char *target, const char *reason,
                       const struct http1_field *in, size_t n)
{
    size_t need = strlen(target) + strlen(reason) + 2;
    for (size_t i = 0; i < n; i++)
        need += strlen(in[i].name) + strlen(in[i].value) + 2;
    char *buf = malloc(need), *p = buf;
    struct http1_field *fields = calloc(n ? n : 1, sizeof *fields);
    if (!buf || !fields) {
        free(buf);
        free(fields);
        return -1;
    }
    const char *t = put(&p, target), *r = put(&p, reason);
    for (size_t i = 0; i < n; i++) {
        fields[i].name = put(&p, in[i].name);
        fields[i].value = put(&p, in[i].value);
    }
    if (!h->packed) { /* a packed head's old parts stay in its block, unused */
        free(h->buf);
        free(h->fields);
    }
    h->packed = 0;
    h->buf = buf;
    h->buf_len = h->buf_cap = need;
    h->fields = fields;
    h->nfields = n;
    h->target = t;
    h->reason = r;
    return 0;
}
