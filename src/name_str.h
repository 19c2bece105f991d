/* name_str.h — a short owned string held at its length (a host name, an SNI, a one-line error):
 * what a connection keeps for its life without a fixed 256-byte field per name (S5: memory per
 * idle tunnel). A field is a `const char *` that is never NULL once set up: NAME_STR_EMPTY (not
 * allocated) or a heap copy of at most NAME_STR_MAX bytes (a longer value is cut there, as the
 * fixed char[256] fields did). Owned by whoever holds the field; any thread, no locking. */
#ifndef HTTPEEK_NAME_STR_H
#define HTTPEEK_NAME_STR_H

#include "attrib.h"

#define NAME_STR_MAX 255

/* The value of an unset field (shared, never freed). */
extern const char NAME_STR_EMPTY[];
/* The value of a field whose copy could not be made (out of memory): not empty, so that a set
 * error or name still reads as set (shared, never freed). */
extern const char NAME_STR_LOST[];

/* *field = a copy of value (cut at NAME_STR_MAX bytes), freeing what it held; "" costs nothing.
 * Returns 0, or -1 out of memory (the field is NAME_STR_LOST then). */
int name_str_set(const char **field, const char *value) HP_NONNULL(1, 2);

/* name_str_set of the printf-style formatted text. */
int name_str_printf(const char **field, const char *fmt, ...) HP_NONNULL(1, 2)
    __attribute__((format(printf, 2, 3)));

/* Free what the field holds; it is NAME_STR_EMPTY after (also from NULL: a zeroed field). */
void name_str_clear(const char **field) HP_NONNULL(1);

#endif
