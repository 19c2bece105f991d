/* str.h — bounded string building without printf: copies and appends that truncate to the
 * destination and keep it NUL-terminated. The proxy fills a flow's names, addresses and URL on
 * every exchange; snprintf's format parsing for "%s" was a measurable share of that. */
#ifndef HTTPEEK_STR_H
#define HTTPEEK_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Append n bytes of src at dst[*len] (dst holds size bytes, size > 0), as many as fit; *len
 * follows the bytes kept and dst stays NUL-terminated. */
static inline void str_append_n(char *dst, size_t size, size_t *len, const char *src, size_t n)
{
    size_t room = size - 1 - *len;
    if (n > room)
        n = room;
    memcpy(dst + *len, src, n);
    *len += n;
    dst[*len] = '\0';
}

static inline void str_append(char *dst, size_t size, size_t *len, const char *src)
{
    str_append_n(dst, size, len, src, strlen(src));
}

/* v in decimal, written backwards ending just before end (room for 20 digits); returns where
 * it starts. */
static inline char *str_decimal(char *end, uint64_t v)
{
    char *p = end;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return p;
}

/* v in decimal, appended as str_append does. */
static inline void str_append_uint(char *dst, size_t size, size_t *len, uint64_t v)
{
    char num[20];
    char *p = str_decimal(num + sizeof num, v);
    str_append_n(dst, size, len, p, (size_t)(num + sizeof num - p));
}

/* src into dst (size > 0 bytes), truncated to fit: snprintf(dst, size, "%s", src) without the
 * format. */
static inline void str_copy(char *dst, size_t size, const char *src)
{
    size_t len = 0;
    str_append(dst, size, &len, src);
}

#endif
