/* store_db.h — opening the session file's SQLite connections the same way for the writer
 * (store.c) and the readers (store_read.c), and one-value queries. Any thread, on its own
 * connection. */
#ifndef HTTPEEK_STORE_DB_H
#define HTTPEEK_STORE_DB_H

#include <stddef.h>
#include <sqlite3.h>
#include "attrib.h"

/* Open path with SQLite flags (no mutex: one thread per connection), busy timeout set. Returns
 * NULL with err naming the file and why. */
sqlite3 *store_db_open(const char *path, int flags, char *err, size_t errlen) HP_NONNULL(1, 3);

/* The writer connection's settings for appending (best effort: a setting refused leaves SQLite's
 * default): a 512 KiB page cache, secure_delete off. */
void store_db_tune_writer(sqlite3 *db) HP_NONNULL(1);

/* The first column of sql's first row into *out (left alone when there is no row). 0, -1. */
int store_db_query_int64(sqlite3 *db, const char *sql, sqlite3_int64 *out) HP_NONNULL(1, 2, 3);

#endif
