/* http1_edit.h — replacing a parsed head's start-line strings and fields in place (rules'
 * rewrites, breakpoint edits). Any thread: the head belongs to the caller. */
#ifndef HTTPEEK_HTTP1_EDIT_H
#define HTTPEEK_HTTP1_EDIT_H

#include "http1.h"

/* Give h the target, reason and the n fields of `in`, in that order: every string is copied
 * into one new buffer that replaces h->buf (so `in` may point into the old one), h->fields is
 * replaced, status and framing are left to the caller. Returns 0, or -1 when out of memory
 * (h unchanged). */
int http1_head_replace(struct http1_head *h, const char *target, const char *reason,
                       const struct http1_field *in, size_t n);

#endif
