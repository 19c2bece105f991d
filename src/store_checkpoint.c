/* store_checkpoint.c — see store_checkpoint.h. */
#include "store_checkpoint.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include "log.h"
#include "store_db.h"

struct store_checkpoint {
    sqlite3 *db;               /* the checkpointer's own connection (its thread only) */
    int db_fd;                 /* the session file, for posix_fadvise, or -1 */
    int mark, step, high;      /* STORE_CKPT_* in frames */
    int hard;                  /* high + a quarter: the writer waits for a run in progress */
    pthread_t thread;
    pthread_mutex_t mu;        /* kick, stop */
    pthread_cond_t cond;
    int kick, stop;
    pthread_mutex_t run_mu;    /* held through every checkpoint, the writer's included */
    /* the writer's own (writer thread only) */
    int last_frames;           /* WAL frames after the previous commit */
    int kicked_at;             /* WAL frames when the checkpointer was last woken */
    int writer_next;           /* frames from which the writer tries a checkpoint itself */
    atomic_uint_fast64_t runs, writer_runs, frames_max;
};

/* The checkpoint has written and synced the pages: drop them from the page cache. The writer
 * appends, so they are not read again soon; left cached, a long session took a new page of
 * memory for every 4 KiB written, and on this kind of VM a page never used before costs ~5x its
 * copy (the store thread's CPU per flow doubled over 1 GB of session). Dropped, the same few MB
 * are used over and over, and a long session does not push everything else out of the cache. */
static void drop_cached(struct store_checkpoint *c)
{
    if (c->db_fd >= 0)
        posix_fadvise(c->db_fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void *checkpointer_main(void *arg)
{
    struct store_checkpoint *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->kick && !c->stop)
            pthread_cond_wait(&c->cond, &c->mu);
        if (c->stop)
            break;
        c->kick = 0;
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_lock(&c->run_mu);
        /* PASSIVE: copies what no reader still needs, never waits for a lock, never blocks the
         * writer; a failure (disk full, ...) leaves the frames in the WAL for the next run */
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_unlock(&c->run_mu);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_msg(LOG_DEBUG, "store: checkpoint: %s", sqlite3_errmsg(c->db));
        drop_cached(c);
        atomic_fetch_add(&c->runs, 1);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static int frames_of(unsigned bytes, int page_size)
{
    unsigned n = bytes / (unsigned)page_size;
    return n ? (int)n : 1;
}

struct store_checkpoint *store_checkpoint_start(const char *path, int page_size, int db_fd,
                                                char *err, size_t errlen)
{
    struct store_checkpoint *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (page_size < 512)
        page_size = 4096;
    c->db_fd = db_fd;
    c->mark = frames_of(STORE_CKPT_MARK, page_size);
    c->step = frames_of(STORE_CKPT_STEP, page_size);
    c->high = frames_of(STORE_CKPT_HIGH, page_size);
    c->hard = c->high + c->high / 4;
    if (!(c->db = store_db_open(path, SQLITE_OPEN_READWRITE, err, errlen))) {
        free(c);
        return NULL;
    }
    /* a read opens the connection's WAL: a checkpoint on a connection that never read does
     * nothing in some SQLite versions */
    sqlite3_int64 pages = 0;
    if (store_db_query_int64(c->db, "PRAGMA page_count", &pages) < 0) {
        snprintf(err, errlen, "%s: checkpointer: %s", path, sqlite3_errmsg(c->db));
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->run_mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
        snprintf(err, errlen, "%s: cannot start the checkpointer thread", path);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->run_mu);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    return c;
}

void store_checkpoint_committed(struct store_checkpoint *c, sqlite3 *db, const char *name,
                                int frames)
{
    if ((uint64_t)frames > atomic_load_explicit(&c->frames_max, memory_order_relaxed))
        atomic_store_explicit(&c->frames_max, (uint64_t)frames, memory_order_relaxed);
    if (frames < c->last_frames) { /* the WAL started over */
        c->kicked_at = 0;
        c->writer_next = 0;
    }
    c->last_frames = frames;
    if (frames < c->mark)
        return;
    if (frames >= c->high) {
        /* the checkpointer has copied all but what came during its last run; with the writer
         * here, nothing more comes: the rest copied, the next BEGIN starts the WAL over. While a
         * run is in progress the next commit tries again (the checkpointer is not woken past the
         * high mark, so it is soon idle). */
        if (frames < c->writer_next)
            return;
        if (pthread_mutex_trylock(&c->run_mu) != 0) {
            if (frames < c->hard)
                return;
            /* the run in progress is slow (fsyncs behind other writes to the disk): wait for
             * it rather than let the WAL grow for as long as the disk is slow */
            pthread_mutex_lock(&c->run_mu);
        }
        int nlog = 0, nckpt = 0;
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
        pthread_mutex_unlock(&c->run_mu);
        drop_cached(c);
        atomic_fetch_add(&c->writer_runs, 1);
        /* a reader's old snapshot kept frames back: not again on every commit */
        c->writer_next = nckpt < nlog ? frames + c->step : 0;
        return;
    }
    if (frames - c->kicked_at < c->step)
        return;
    c->kicked_at = frames;
    pthread_mutex_lock(&c->mu);
    c->kick = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

void store_checkpoint_get(struct store_checkpoint *c, struct store_checkpoint_stats *out)
{
    out->runs = atomic_load(&c->runs);
    out->writer_runs = atomic_load(&c->writer_runs);
    out->frames_max = atomic_load(&c->frames_max);
    out->high_frames = (uint64_t)c->high;
}

void store_checkpoint_stop(struct store_checkpoint *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->run_mu);
    pthread_mutex_destroy(&c->mu);
    if (sqlite3_close(c->db) != SQLITE_OK)
        log_msg(LOG_WARN, "store: checkpointer: close: %s", sqlite3_errmsg(c->db));
    free(c);
}
