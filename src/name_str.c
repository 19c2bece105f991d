/* name_str.c — see name_str.h. */
#include "name_str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char NAME_STR_EMPTY[1] = "";
const char NAME_STR_LOST[] = "(out of memory)";

static int owned(const char *v)
{
    return v && v != NAME_STR_EMPTY && v != NAME_STR_LOST;
}

void name_str_clear(const char **field)
{
    if (owned(*field))
        free((char *)*field);
    *field = NAME_STR_EMPTY;
}

int name_str_set(const char **field, const char *value)
{
    size_t n = strnlen(value, NAME_STR_MAX);
    if (owned(*field) && !strncmp(*field, value, n) && !(*field)[n])
        return 0; /* the same text (a tunnel's SNI copied to itself, say) */
    char *copy = NULL;
    if (n && (copy = malloc(n + 1))) {
        memcpy(copy, value, n);
        copy[n] = '\0';
    }
    name_str_clear(field);
    if (!n)
        return 0;
    if (!copy) {
        *field = NAME_STR_LOST;
        return -1;
    }
    *field = copy;
    return 0;
}

int name_str_printf(const char **field, const char *fmt, ...)
{
    char buf[NAME_STR_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return name_str_set(field, buf);
}
