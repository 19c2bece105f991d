/* store_db.c — see store_db.h. */
#include "store_db.h"

#include <pthread.h>
#include <stdio.h>

/* How long a reader or a second writer waits for a lock before giving up (ms). */
#define STORE_BUSY_MS 5000

/* SQLite counts every allocation it makes (memory status: a process-wide mutex taken and two
 * counters moved per malloc and per free, ~1.5k instructions per flow the writer stores) unless
 * told otherwise before it initializes. httpeek reads none of those statistics (no soft heap
 * limit either). Run once, before the first connection; a library already initialized by
 * someone else refuses the setting (SQLITE_MISUSE), which leaves it as it was. */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

/* Open path with flags; busy timeout set. Returns NULL with err filled. */
sqlite3 *store_db_open(const char *path, int flags, char *err, size_t errlen)
{
    static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
    pthread_once(&setup_once, sqlite_setup);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open session file: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    sqlite3_extended_result_codes(db, 0);
    return db;
}

void store_db_tune_writer(sqlite3 *db)
{
    /* The writer appends: it needs the few pages on the right edge of each B-tree, not SQLite's
     * default 2 MB cache (which grew with every flow written, visible in the proxy's RSS). */
    sqlite3_exec(db, "PRAGMA cache_size=-512", NULL, NULL, NULL);
    /* Debian's SQLite is built with SECURE_DELETE: every page a B-tree takes is cleared to zeros
     * by the B-tree on top of the pager's own clearing, a second 16 KiB memset per new page (~3k
     * instructions per flow). The writer deletes nothing (a clear only moves cleared_upto), and
     * what an update leaves behind (a WebSocket flow's summary patched, a client count) is the
     * same data the row holds: nothing for overwriting to protect. */
    sqlite3_exec(db, "PRAGMA secure_delete=OFF", NULL, NULL, NULL);
}

int store_db_query_int64(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}
