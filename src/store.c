/* store.c — see store.h. The session file is one SQLite database in WAL mode:
 *
 *   flows(id INTEGER PRIMARY KEY,   the flow id (assigned when the flow started)
 *         started, kind, method, host, status, failed, client, mime   filterable facts (no
 *                                    index: files from earlier builds have five, unused)
 *         summary TEXT, detail       the flow_json_texts shapes (summary for lists, detail for one):
 *                                    the detail is a JSON text (schema 1 rows) or, written by
 *                                    schema 2, a flow record BLOB (flow_detail.h) that readers
 *                                    write as that same text (flow_detail_load)
 *         req_body BLOB, req_len, req_total, req_trunc, req_ctype, req_cenc      request body:
 *                                    the captured bytes (raw when the BLOB is req_len bytes
 *                                    long, else a zlib stream), their length, the body
 *                                    size seen on the wire, truncated mark, Content-Type and
 *                                    Content-Encoding of the head
 *         resp_body BLOB, resp_len, resp_total, resp_trunc, resp_ctype, resp_cenc,
 *         req_at, req_flen, resp_at, resp_flen)   a body of STORE_SIDE_MIN bytes or more is not
 *                                    in the row (its BLOB is NULL) but in the body file
 *                                    SESSION-bodies at offset _at, _flen bytes long: its raw
 *                                    bytes when _flen = _len, else a zlib stream
 *         seq)                       the commit sequence (store_seq.h: found through
 *                                    commits(last PRIMARY KEY, first, ids) in new files, through
 *                                    the index flows_seq in files of builds before)
 *   meta(key TEXT PRIMARY KEY, value)   'schema' = 2 (a schema 1 file is raised to 2 when this
 *                                    build writes it: its rows stay as they are), 'cleared_upto'
 *                                    = highest hidden id
 *   client_stats(addr PRIMARY KEY, flows, failed, https, app)   per-client counts of the visible
 *                                    flows, added to in each batch's transaction
 *
 * Only the writer thread writes flows: workers hand finished flows to store_sink, which pushes
 * them on a queue; the thread takes everything waiting (up to STORE_BATCH_MAX), serializes and
 * compresses it, and commits one transaction. A batch therefore waits at most for the previous
 * transaction, far under STORE_BATCH_MS. synchronous=NORMAL in WAL mode means a commit is in the
 * WAL (the OS page cache) when COMMIT returns: a killed process loses nothing committed; a power
 * loss may lose the last transactions but never corrupts the file. */
#include "store.h"
#include "store_messages.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include "flow_json.h"
#include "log.h"
#include "queue.h"
#include "store_checkpoint.h"
#include "store_db.h"
#include "store_health.h"
#include "store_hold.h"
#include "store_row.h"
#include "store_seq.h"
#include "store_tls.h"

/* 2: details may be flow records (BLOBs), which builds of schema 1 cannot read: they refuse to
 * write the file and say why. This build reads and writes both. */
#define STORE_SCHEMA_VERSION 2
/* Back-pressure: when finished flows waiting for the writer hold more than this much memory (or
 * are this many), store_backlogged says so and workers take no new request until the backlog is
 * under three quarters of it again. Without it a store slower than the proxy (2 cores shared with
 * the client and the server under a benchmark) grew the queue to over 1 GB in seconds. Before
 * that, from three quarters of the mark, store_pace_us slows every client's next request in
 * proportion (a few 100 µs, then up to STORE_PACE_MAX_US): the proxy settles at the writer's pace
 * instead of running into the mark, where every client stopped for as long as the writer took to
 * write a quarter of the backlog (50-300 ms). Pacing from a quarter or half of the mark slowed
 * 3-15 % of S1's requests by a millisecond or more (S1 p99 up, bench/tail.sh); from three
 * quarters the writer may fall ~200 ms of S1's flows behind (a slow commit, its catch-up
 * checkpoint, a busy core) before any client is slowed. */
#define STORE_BACKLOG_BYTES (64u << 20)
#define STORE_BACKLOG_FLOWS 8192u
/* Group commit: once a flow is waiting, the writer waits up to STORE_LINGER_MS for STORE_GATHER
 * of them before it commits. A transaction costs the same fixed work however few flows it holds
 * (locks, client_stats, a futex wake-up, and above all a whole 16 KiB WAL frame, checksummed, for
 * each page it touched: flows' last leaf and interior pages, the commits leaf (or an older
 * file's flows_seq leaf), client_stats, page 1): ~24k instructions per flow at 5 flows per
 * commit (2 ms). A flow is in the session at most STORE_LINGER_MS plus one commit later (the
 * kill -9 test asks 100 ms). Flows that come one at a time (the last batch under
 * STORE_BUSY_BATCH) wait only STORE_LINGER_IDLE_MS: few commits to save there, and a flow just
 * made shows up in the viewer at once. */
#define STORE_GATHER 256
#define STORE_LINGER_MS 10
#define STORE_LINGER_IDLE_MS 2
#define STORE_BUSY_BATCH 4
/* While the session cannot be written (disk full, ...), the flows of failed batches wait in
 * memory (store_hold.h: bounded) and are written first once it can be again: a short outage
 * loses nothing, a long one loses what does not fit (counted, said). A failing file is tried
 * again at most every STORE_RETRY_MS (each try serializes the held flows again); flows arriving
 * between tries are held or counted without a try. */
#define STORE_RETRY_MS 1000
/* WAL frames after which a commit checkpoints (SQLite's default). */
#define STORE_WAL_FRAMES 1000

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS flows("
    " id INTEGER PRIMARY KEY, started INTEGER NOT NULL, kind TEXT NOT NULL, method TEXT,"
    " host TEXT, status INTEGER, failed INTEGER NOT NULL, client TEXT, mime TEXT,"
    " summary TEXT NOT NULL, detail TEXT NOT NULL,"
    " req_body BLOB, req_len INTEGER, req_total INTEGER, req_trunc INTEGER, req_ctype TEXT,"
    " req_cenc TEXT,"
    " resp_body BLOB, resp_len INTEGER, resp_total INTEGER, resp_trunc INTEGER, resp_ctype TEXT,"
    " resp_cenc TEXT, req_at INTEGER, req_flen INTEGER, resp_at INTEGER, resp_flen INTEGER);"
    /* No secondary index: every read is by id (the viewer filters the summaries it holds), and
     * the five indexes earlier builds made (flows_started, _host, _status, _failed, _client)
     * cost the writer an insert each per flow. Files that have them keep them. */
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema', 2);"
    /* per-client counts kept up by the writer (one upsert per client per batch, see
     * write_client_stats), so the viewer's clients panel is one small read whatever the
     * session's size (flows hidden by a clear are not counted) */
    "CREATE TABLE IF NOT EXISTS client_stats(addr TEXT PRIMARY KEY, flows INTEGER NOT NULL,"
    " failed INTEGER NOT NULL, https INTEGER NOT NULL, app INTEGER NOT NULL);"
    /* earlier builds counted with a trigger per row: it would count every flow a second time */
    "DROP TRIGGER IF EXISTS flows_client_stats;";

/* Counts of a session written before client_stats existed. */
static const char client_stats_backfill_sql[] =
    "INSERT INTO client_stats(addr, flows, failed, https, app)"
    " SELECT coalesce(client, ''), count(*), sum(failed),"
    " sum(kind='http' AND instr(summary, '\"scheme\":\"https\"') > 0),"
    " sum(coalesce(host, '') <> 'httpeek.test') FROM flows"
    " WHERE id > coalesce((SELECT value FROM meta WHERE key='cleared_upto'), 0) GROUP BY client";

/* Add one batch's counts for one client; same sums as client_stats_backfill_sql. */
static const char client_stats_sql[] =
    "INSERT INTO client_stats(addr, flows, failed, https, app) VALUES(?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(addr) DO UPDATE SET flows=flows+excluded.flows, failed=failed+excluded.failed,"
    " https=https+excluded.https, app=app+excluded.app";

static const char cleared_sql[] =
    "SELECT coalesce((SELECT value FROM meta WHERE key='cleared_upto'), 0)";

/* Files from builds before the body file get its columns (NULL: every body in its row). */
static const char side_columns_sql[] =
    "ALTER TABLE flows ADD COLUMN req_at INTEGER; ALTER TABLE flows ADD COLUMN req_flen INTEGER;"
    "ALTER TABLE flows ADD COLUMN resp_at INTEGER; ALTER TABLE flows ADD COLUMN resp_flen INTEGER;";

/* One client's share of a batch, added to client_stats before the batch commits. */
struct client_count {
    const char *addr;          /* the flow's client_addr (borrowed until the batch is freed) */
    sqlite3_int64 flows, failed, https, app;
};

struct store {
    char *path;
    sqlite3 *db;               /* the writer connection (used only by the thread once started) */
    int db_fd;                 /* SQLite's descriptor of the session file (see db_fd_of), or -1 */
    struct store_row row;      /* the flows insert, its JSON, bodies, body file (store_row.h) */
    sqlite3_stmt *client_stats; /* client_stats_sql */
    sqlite3_stmt *cleared;     /* cleared_sql */
    struct store_seq seq;      /* the commit sequence (store_seq.h) */
    size_t *order;             /* a batch's flows (their places in it) in id order (write_batch) */
    unsigned char *wrote;      /* per place in the batch: its row was written */
    struct client_count *counts; /* one batch's counts per client, in first-seen order */
    size_t ncounts;
    struct queue *queue;       /* finished flows waiting to be written */
    atomic_size_t queued_bytes; /* flow_mem_size of the flows in the queue or being written */
    atomic_size_t queued_flows;
    atomic_int backlogged;     /* 1 from the high mark until back under 3/4 of it */
    atomic_uint_fast64_t backlog_marks; /* times the high mark was reached */
    atomic_uint_fast64_t paced; /* store_pace_us answers that asked for a wait */
    pthread_t thread;
    int started;
    uint64_t last_id;          /* highest id in the file at open */
    store_notify_fn notify;
    void *notify_arg;
    FILE *lines;               /* where each flow's terminal line goes (store_set_lines), or NULL */
    char *linebuf;             /* a batch's lines, written at once */
    size_t linecap;
    pthread_mutex_t stats_mu;
    struct store_stats stats;
    struct store_health health; /* recording or failing, said out loud (store_health.h) */
    int file_gone;             /* the session file was deleted under us (never comes back) */
    enum store_fault failing;  /* why the last batch could not be written, or NONE (writer) */
    struct store_hold held;    /* flows waiting for the file to be writable */
    struct store_checkpoint *ckpt; /* the WAL's checkpointer (store_checkpoint.h), or NULL */
    struct store_messages *messages; /* WebSocket messages waiting to be written */
    uint64_t last_try_us;      /* when a failing file was last tried (flow_now_us) */
    time_t gone_checked;       /* when file_gone was last looked at (once a second) */
};

/* ------------------------------------------------------------------------------------------ */
/* Writer */

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen, const char *path)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Whether the writer's last SQLite error is a fault of the session file (full, read-only,
 * deleted, I/O) rather than of one flow. */
static enum store_fault db_fault(struct store *s)
{
    return store_health_classify(sqlite3_errcode(s->db), sqlite3_system_errno(s->db), s->db_fd,
                                 s->path);
}

/* Insert one flow (inside the open transaction). Returns 0, -1 with the reason logged, -2 when
 * the file cannot be written (db_fault; not logged). */
static int write_flow(struct store *s, struct flow *f)
{
    int rc = store_row_write(&s->row, f, store_seq_next(&s->seq));
    if (rc == 0)
        store_seq_add(&s->seq, f->id);
    else if (rc == -2 && !db_fault(s)) { /* the file, not the flow: write_batch says it once */
        log_msg(LOG_WARN, "store: flow %llu (%s): not written: %s", (unsigned long long)f->id,
                f->host, sqlite3_errmsg(s->db));
        rc = -1;
    }
    return rc;
}

/* The batch's terminal lines in one write (and one flush) instead of one per flow from the
 * workers: under load that was a write(2) per exchange plus stdout's lock between the workers. */
static void print_lines(struct store *s, struct flow **fl, size_t n)
{
    enum { LINE_MAX_LEN = 1024 };
    if (!s->lines)
        return;
    if (s->linecap < n * LINE_MAX_LEN) {
        char *nb = realloc(s->linebuf, n * LINE_MAX_LEN);
        if (!nb) {
            log_msg(LOG_WARN, "store: out of memory printing %zu flow lines", n);
            return;
        }
        s->linebuf = nb;
        s->linecap = n * LINE_MAX_LEN;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        flow_format_line(fl[i], s->linebuf + len, LINE_MAX_LEN - 1);
        len += strlen(s->linebuf + len);
        s->linebuf[len++] = '\n';
    }
    fwrite(s->linebuf, 1, len, s->lines);
    fflush(s->lines);
}

/* Count a written flow for its client as the old per-row trigger did: 'https' = an http flow
 * with scheme https, 'app' = not the proxy's own httpeek.test pages. */
static void count_client(struct store *s, const struct flow *f)
{
    struct client_count *c = NULL;
    /* a batch comes from a handful of clients: a linear search, most recent match first */
    for (size_t i = s->ncounts; i-- > 0;)
        if (!strcmp(s->counts[i].addr, f->client_addr)) {
            c = &s->counts[i];
            break;
        }
    if (!c) { /* counts holds STORE_BATCH_MAX entries: a batch has no more clients than that */
        c = &s->counts[s->ncounts++];
        *c = (struct client_count){.addr = f->client_addr};
    }
    c->flows++;
    c->failed += f->fail.failed;
    c->https += f->kind != FLOW_TUNNEL && !strcmp(f->scheme, "https");
    c->app += strcmp(f->host, "httpeek.test") != 0;
}

/* Add the batch's counts to client_stats (inside its transaction). Returns 0, -1 (logged). */
static int write_client_stats(struct store *s)
{
    sqlite3_stmt *st = s->client_stats;
    int rc = 0;
    for (size_t i = 0; i < s->ncounts && rc == 0; i++) {
        const struct client_count *c = &s->counts[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->addr, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->flows);
        sqlite3_bind_int64(st, 3, c->failed);
        sqlite3_bind_int64(st, 4, c->https);
        sqlite3_bind_int64(st, 5, c->app);
        if (sqlite3_step(st) != SQLITE_DONE) {
            if (!db_fault(s)) /* a fault of the file is said by write_batch */
                log_msg(LOG_WARN, "store: %s: client counts not written: %s", s->path,
                        sqlite3_errmsg(s->db));
            rc = -1;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    s->ncounts = 0;
    return rc;
}

/* Tell store_health how the batch went (fault: why nothing of it is in the file, or NONE), and
 * the terminal when that is news: once when recording fails, once a minute while it fails, once
 * when it resumes (a full disk used to log a line per flow). */
static void say_health(struct store *s, enum store_fault fault, const char *error, size_t n)
{
    char line[768];
    time_t now = time(NULL);
    if (fault) {
        if (store_health_failed(&s->health, fault, error, n, s->held.n, now, s->path, line,
                                sizeof line))
            log_msg(LOG_WARN, "store: %s", line);
    } else if (store_health_recorded(&s->health, now, s->path, line, sizeof line)) {
        log_msg(LOG_INFO, "store: %s", line);
    }
}

/* Whether the session file has been deleted under us (looked at once a second: an fstat and a
 * stat). In WAL mode SQLite goes on writing into the deleted file without a word. */
static int file_gone(struct store *s)
{
    time_t now = time(NULL);
    if (!s->file_gone && now != s->gone_checked) {
        s->gone_checked = now;
        s->file_gone = !store_health_file_present(s->db_fd, s->path);
    }
    return s->file_gone;
}

/* Write fl[0..n) in one transaction; fl[0..nold) are held flows of earlier batches (their
 * terminal lines are out). try = 0: the file is failing and it is not time to try it again:
 * the flows are held or counted without a write. Takes the flows (freed, or held). */
static void write_batch(struct store *s, struct flow **fl, size_t n, size_t nold, int try)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    size_t written = 0;
    enum store_fault fault = try ? STORE_FAULT_NONE : s->failing;
    char error[256] = "";
    /* IMMEDIATE: the write lock from the start, so cleared_upto cannot move (a reader's clear
     * waits for the commit) until the batch, counted against it, is committed */
    if (!fault && exec(s->db, "BEGIN IMMEDIATE", NULL, 0, s->path) < 0 && !(fault = db_fault(s)))
        log_msg(LOG_WARN, "store: %s: BEGIN failed: %s", s->path, sqlite3_errmsg(s->db));
    if (try && fault)
        snprintf(error, sizeof error, "%s", sqlite3_errmsg(s->db));
    sqlite3_int64 cleared = 0;
    sqlite3_reset(s->cleared);
    if (!fault && sqlite3_step(s->cleared) == SQLITE_ROW)
        cleared = sqlite3_column_int64(s->cleared, 0);
    sqlite3_reset(s->cleared);
    /* the commit sequence goes on from the file's, then one more per row, in memory */
    if (!fault && store_seq_begin(&s->seq) < 0 && !(fault = db_fault(s)))
        log_msg(LOG_WARN, "store: %s: commit sequence: %s", s->path, sqlite3_errmsg(s->db));
    size_t *ord = s->order; /* rows go in in id order (store_seq.h) */
    store_seq_order(fl, n, ord);
    for (size_t i = 0; i < n; i++) {
        struct flow *f = fl[ord[i]];
        /* once the file fails, the rest of the batch is not tried: SQLite may have rolled the
         * transaction back, and the next insert would be a transaction of its own */
        int rc = fault ? -1 : write_flow(s, f);
        if (rc == -2) {
            fault = db_fault(s);
            snprintf(error, sizeof error, "%s", sqlite3_errmsg(s->db));
            rc = -1;
        }
        /* the warnings were computed once, for the JSON: the terminal line marks them */
        memcpy(f->warn_codes, s->row.json.warn_codes, sizeof f->warn_codes);
        f->nwarn = rc == 0 ? s->row.json.nwarn : 0;
        s->wrote[ord[i]] = rc == 0;
    }
    for (size_t i = 0; i < n; i++) { /* in the order handed over: clients counted as first seen */
        if (!s->wrote[i])
            continue;
        written++;
        if (fl[i]->id < lo)
            lo = fl[i]->id;
        if (fl[i]->id > hi)
            hi = fl[i]->id;
        if ((sqlite3_int64)fl[i]->id > cleared) /* flows hidden by a clear are not counted */
            count_client(s, fl[i]);
    }
    print_lines(s, fl + nold, n - nold); /* after write_flow: each line carries its warnings */
    int committed = 1;
    if (fault) {
        s->ncounts = 0;
        if (try)
            exec(s->db, "ROLLBACK", NULL, 0, s->path);
        committed = 0;
    } else if (write_client_stats(s) < 0 || store_seq_record(&s->seq) < 0) {
        /* counts that miss flows would stay wrong, rows not in commits would not be listed: drop
         * the batch */
        if ((fault = db_fault(s)))
            snprintf(error, sizeof error, "%s", sqlite3_errmsg(s->db));
        exec(s->db, "ROLLBACK", NULL, 0, s->path);
        committed = 0;
    } else if (sqlite3_get_autocommit(s->db) == 0 && exec(s->db, "COMMIT", NULL, 0, s->path) < 0) {
        if ((fault = db_fault(s)))
            snprintf(error, sizeof error, "%s", sqlite3_errmsg(s->db));
        else
            log_msg(LOG_WARN, "store: %s: commit of %zu flows failed: %s", s->path, n,
                    sqlite3_errmsg(s->db));
        exec(s->db, "ROLLBACK", NULL, 0, s->path);
        committed = 0;
    }
    if (!committed)
        store_tls_forget(&s->row.tls);
    s->failing = committed ? STORE_FAULT_NONE : fault;
    size_t kept = fault ? store_hold_take(&s->held, fl, n) : 0;
    if (committed && file_gone(s)) /* written, but into a file nobody can open again */
        say_health(s, STORE_FAULT_DELETED, "the session file was deleted", written);
    else if (committed || fault)
        say_health(s, fault, try ? error : NULL, fault ? n - kept : 0);
    uint64_t now = flow_now_us();
    pthread_mutex_lock(&s->stats_mu);
    if (committed) {
        s->stats.commits++;
        s->stats.flows += written;
        for (size_t i = 0; i < n; i++) {
            uint64_t lat = fl[i]->marks.end && now > fl[i]->marks.end ? now - fl[i]->marks.end : 0;
            s->stats.latency_sum_us += lat;
            if (lat > s->stats.latency_max_us)
                s->stats.latency_max_us = lat;
        }
        if (n > s->stats.batch_max)
            s->stats.batch_max = n;
    }
    s->stats.lost += committed ? n - written : n - kept;
    pthread_mutex_unlock(&s->stats_mu);
    /* held flows stay in queued_bytes/queued_flows: they hold memory as much as queued ones */
    size_t freed = 0, nfreed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fl[i])
            continue;
        freed += flow_mem_size(fl[i]);
        nfreed++;
        flow_free(fl[i]);
    }
    size_t bytes = atomic_fetch_sub(&s->queued_bytes, freed) - freed;
    size_t flows = atomic_fetch_sub(&s->queued_flows, nfreed) - nfreed;
    if (bytes < STORE_BACKLOG_BYTES / 4 * 3 && flows < STORE_BACKLOG_FLOWS / 4 * 3)
        atomic_store(&s->backlogged, 0);
    if (committed && written && s->notify)
        s->notify(lo, hi, s->notify_arg);
}

/* Before a full disk is tried again: whether it is worth trying (some space returned), and if
 * the held flows would not all fit in what returned, the newest of them dropped (counted) until
 * they do, so a batch bigger than the freed space cannot keep recording from resuming. */
static int fit_held(struct store *s)
{
    if (s->failing != STORE_FAULT_FULL)
        return 1;
    uint64_t avail = store_hold_space(s->path);
    if (avail < STORE_HOLD_MARGIN)
        return 0; /* still full: not even a try (it would serialize every held flow again) */
    size_t freed;
    size_t dropped = store_hold_fit(&s->held, avail, &freed);
    if (dropped) {
        atomic_fetch_sub(&s->queued_bytes, freed);
        atomic_fetch_sub(&s->queued_flows, dropped);
        pthread_mutex_lock(&s->stats_mu);
        s->stats.lost += dropped;
        pthread_mutex_unlock(&s->stats_mu);
        say_health(s, STORE_FAULT_FULL, NULL, dropped);
    }
    return 1;
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    struct flow **batch = malloc(STORE_BATCH_MAX * sizeof *batch);
    if (!batch) {
        log_msg(LOG_ERROR, "store: out of memory: flows will not be saved");
        return NULL;
    }
    int busy = 0; /* the last batch had STORE_BUSY_BATCH flows or more */
    for (;;) {
        /* held flows go first in the next batch, tried at most every STORE_RETRY_MS while the
         * file fails; wake at least every STORE_BATCH_MS so a close is seen promptly (and a
         * failing file is tried again without new flows) */
        uint64_t now = flow_now_us();
        int due = !s->failing || now - s->last_try_us >= STORE_RETRY_MS * 1000ull;
        if (due && s->failing) {
            s->last_try_us = now;
            due = fit_held(s);
        }
        size_t nold = s->held.n;
        size_t n = queue_pop(s->queue, (void **)(batch + nold), STORE_BATCH_MAX - nold,
                             STORE_BATCH_MS, STORE_GATHER,
                             busy ? STORE_LINGER_MS : STORE_LINGER_IDLE_MS);
        busy = n >= STORE_BUSY_BATCH;
        s->row.busy = busy; /* small bodies raw while busy (store_row.h) */
        int finished = !n && queue_finished(s->queue);
        if (finished)
            due = 1; /* a last try before closing */
        if (n || (nold && due)) {
            store_hold_release(&s->held, batch);
            if (due)
                s->last_try_us = flow_now_us();
            write_batch(s, batch, nold + n, nold, due);
        }
        uint64_t lo, hi; /* WebSocket messages, and the flows they patched (sent again) */
        if (!s->failing && store_messages_flush(s->messages, s->db, &lo, &hi) && s->notify)
            s->notify(lo, hi, s->notify_arg);
        if (finished)
            break;
    }
    if (s->held.n) { /* closing with the file still failing: they are lost after all */
        log_msg(LOG_WARN, "store: %s: %zu flows that waited for the session file to be writable "
                "are not recorded (%s)", s->path, s->held.n, store_fault_words(s->failing));
        pthread_mutex_lock(&s->stats_mu);
        s->stats.lost += store_hold_destroy(&s->held);
        pthread_mutex_unlock(&s->stats_mu);
    }
    free(batch);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Opening */

/* SQLite's own descriptor of the database file: the unix VFS's file object starts with its
 * methods, its VFS, its inode record and then the descriptor (unixFile in os_unix.c, the same
 * since 2008), checked here against the file at path. A descriptor of our own would not do:
 * closing it would drop every POSIX lock the process holds on the file, SQLite's included.
 * Returns -1 when it cannot be had (another VFS). */
static int db_fd_of(sqlite3 *db, const char *path)
{
    struct unix_file_head {
        const void *methods;
        void *vfs;
        void *inode;
        int fd;
    };
    sqlite3_file *f = NULL;
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    if (!vfs || strncmp(vfs->zName, "unix", 4) != 0 ||
        sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
        !f->pMethods)
        return -1;
    int fd = ((const struct unix_file_head *)(const void *)f)->fd;
    struct stat a, b;
    if (fd < 0 || fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return -1;
    return fd;
}

/* The writer's WAL hook, after each commit: the checkpointer takes it from here
 * (store_checkpoint.h). Without one (it could not start) checkpoint as SQLite's default hook does
 * (PASSIVE, once the WAL has STORE_WAL_FRAMES frames), in the commit, then drop the session
 * file's pages from the page cache (see drop_cached in store_checkpoint.c for why). */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store *s = arg;
    if (s->ckpt) {
        store_checkpoint_committed(s->ckpt, db, name, frames);
        return SQLITE_OK;
    }
    if (frames < STORE_WAL_FRAMES)
        return SQLITE_OK;
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (s->db_fd >= 0)
        posix_fadvise(s->db_fd, 0, 0, POSIX_FADV_DONTNEED);
    return SQLITE_OK;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
    if (!sqlite3_threadsafe()) {
        snprintf(err, errlen, "%s: the SQLite library was built without thread support", path);
        return NULL;
    }
    struct store *s = calloc(1, sizeof *s);
    if (s) {
        s->db_fd = s->row.side_fd = -1; /* store_close may run before store_row_open */
        store_health_init(&s->health);
    }
    if (!s || !(s->path = strdup(path)) || !(s->queue = queue_new()) || !(s->messages = store_messages_new(NULL)) ||
        !(s->counts = malloc(STORE_BATCH_MAX * sizeof *s->counts)) ||
        !(s->order = malloc(STORE_BATCH_MAX * sizeof *s->order)) ||
        !(s->wrote = malloc(STORE_BATCH_MAX)) ||
        store_hold_init(&s->held) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    pthread_mutex_init(&s->stats_mu, NULL);
    /* a new session holds cookies and tokens: create it 0600 (SQLite gives -wal/-shm the same) */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    if (!(s->db = store_db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen)))
        goto fail;
    /* New files get 16 KiB pages: a flow's row (summary, detail, compressed bodies: a few KiB)
     * then mostly fits in one page instead of spilling into overflow pages, so a batch writes
     * fewer WAL frames (one pwrite each). Existing files keep theirs (a no-op once created). */
    exec(s->db, "PRAGMA page_size=16384", NULL, 0, path);
    /* journal_mode returns the mode now in effect: anything but "wal" means we cannot promise
     * crash safety (e.g. a file system without shared memory) */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: not a session file: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    int rc = sqlite3_step(st);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int wal = mode && !strcasecmp(mode, "wal");
    if (!wal)
        snprintf(err, errlen, "%s: not a session file (or no WAL support): %s", path,
                 rc == SQLITE_ROW ? mode : sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    if (!wal)
        goto fail;
    store_db_tune_writer(s->db); /* its cache and secure_delete (store_db.h) */
    if (exec(s->db, "PRAGMA synchronous=NORMAL", err, errlen, path) < 0 ||
        exec(s->db, "BEGIN IMMEDIATE", err, errlen, path) < 0)
        goto fail;
    sqlite3_int64 had_stats = 0, had_side = 0;
    int seq_indexed = 0;
    if (store_db_query_int64(s->db, "SELECT count(*) FROM sqlite_master WHERE name='client_stats'",
                    &had_stats) < 0 ||
        exec(s->db, schema_sql, err, errlen, path) < 0 ||
        (!had_stats && exec(s->db, client_stats_backfill_sql, err, errlen, path) < 0) ||
        store_db_query_int64(s->db, "SELECT count(*) FROM pragma_table_info('flows') WHERE name='resp_flen'",
                    &had_side) < 0 ||
        (!had_side && exec(s->db, side_columns_sql, err, errlen, path) < 0) ||
        (store_seq_schema(s->db, &seq_indexed) < 0 &&
         snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db)) >= 0) ||
        (store_tls_open(&s->row.tls, s->db) < 0 &&
         snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db)) >= 0)) {
        exec(s->db, "ROLLBACK", NULL, 0, path);
        goto fail;
    }
    sqlite3_int64 version = 0, last = 0;
    if (store_db_query_int64(s->db, "SELECT value FROM meta WHERE key='schema'", &version) < 0 ||
        store_db_query_int64(s->db, "SELECT coalesce(max(id), 0) FROM flows", &last) < 0) {
        snprintf(err, errlen, "%s: cannot read the session: %s", path, sqlite3_errmsg(s->db));
        exec(s->db, "ROLLBACK", NULL, 0, path);
        goto fail;
    }
    if (version == 1 && /* every schema 1 row reads as it is: the new rows need 2 */
        exec(s->db, "UPDATE meta SET value = 2 WHERE key = 'schema'", err, errlen, path) == 0)
        version = 2;
    if (version != STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: session schema %lld, this httpeek writes %d", path,
                 (long long)version, STORE_SCHEMA_VERSION);
        exec(s->db, "ROLLBACK", NULL, 0, path);
        goto fail;
    }
    if (exec(s->db, "COMMIT", err, errlen, path) < 0)
        goto fail;
    s->last_id = (uint64_t)last;
    int row = store_row_open(&s->row, s->db, path, &s->health);
    if (row == -1) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (row < 0 || sqlite3_prepare_v2(s->db, client_stats_sql, -1, &s->client_stats, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, cleared_sql, -1, &s->cleared, NULL) != SQLITE_OK ||
        store_seq_open(&s->seq, s->db, seq_indexed) < 0) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    s->db_fd = db_fd_of(s->db, path);
    /* the hook replaces SQLite's autocheckpoint on this connection: commits never checkpoint */
    sqlite3_int64 page_size = 0;
    char ckerr[256];
    if (store_db_query_int64(s->db, "PRAGMA page_size", &page_size) < 0 ||
        !(s->ckpt = store_checkpoint_start(path, (int)page_size, s->db_fd, ckerr, sizeof ckerr)))
        log_msg(LOG_WARN, "store: %s: checkpoints stay in the commits: %s", path,
                page_size ? ckerr : sqlite3_errmsg(s->db));
    sqlite3_wal_hook(s->db, on_wal_commit, s);
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "%s: cannot start the store thread", path);
        goto fail;
    }
    s->started = 1;
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_sink(struct flow *f, void *store)
{
    struct store *s = store;
    size_t size = flow_mem_size(f);
    size_t bytes = atomic_fetch_add(&s->queued_bytes, size) + size;
    size_t flows = atomic_fetch_add(&s->queued_flows, 1) + 1;
    if ((bytes > STORE_BACKLOG_BYTES || flows > STORE_BACKLOG_FLOWS) &&
        !atomic_exchange(&s->backlogged, 1))
        atomic_fetch_add(&s->backlog_marks, 1);
    if (queue_push(s->queue, f) < 0) {
        atomic_fetch_sub(&s->queued_bytes, size);
        atomic_fetch_sub(&s->queued_flows, 1);
        log_msg(LOG_WARN, "store: flow %llu (%s) not saved: store closed or out of memory",
                (unsigned long long)f->id, f->host);
        flow_free(f);
    }
}

int store_backlogged(void *store)
{
    struct store *s = store;
    return atomic_load_explicit(&s->backlogged, memory_order_relaxed);
}

unsigned store_pace_us(void *store)
{
    struct store *s = store;
    uint64_t bytes = atomic_load_explicit(&s->queued_bytes, memory_order_relaxed);
    uint64_t flows = atomic_load_explicit(&s->queued_flows, memory_order_relaxed);
    /* how far from three quarters of the mark to the mark, in 1/1024ths, the fuller of the two */
    uint64_t by_bytes = bytes * 4096 / STORE_BACKLOG_BYTES, by_flows = flows * 4096 / STORE_BACKLOG_FLOWS;
    uint64_t q = by_bytes > by_flows ? by_bytes : by_flows; /* 3072: three quarters of it */
    if (q <= 3072)
        return 0;
    q -= 3072;
    if (q > 1024)
        q = 1024;
    if (!q)
        return 0;
    atomic_fetch_add_explicit(&s->paced, 1, memory_order_relaxed);
    return (unsigned)(STORE_PACE_MAX_US * q / 1024);
}

void store_set_lines(struct store *s, FILE *out)
{
    s->lines = out;
}

void store_set_notify(struct store *s, store_notify_fn fn, void *arg)
{
    s->notify = fn;
    s->notify_arg = arg;
}

uint64_t store_last_id(struct store *s) { return s->last_id; }

struct store_messages *store_messages_of(struct store *s) { return s->messages; }

const char *store_path(struct store *s) { return s->path; }

json_t *store_recording(struct store *s) { return store_health_json(&s->health); }

uint64_t store_recording_changes(struct store *s) { return store_health_changes(&s->health); }

void store_get_stats(struct store *s, struct store_stats *out)
{
    pthread_mutex_lock(&s->stats_mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->stats_mu);
    if (s->ckpt)
        store_checkpoint_get(s->ckpt, &out->wal);
    out->backlog_marks = atomic_load(&s->backlog_marks);
    out->paced = atomic_load(&s->paced);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->queue)
        queue_close(s->queue);
    if (s->started) {
        pthread_join(s->thread, NULL);
        struct store_stats st;
        store_get_stats(s, &st);
        log_msg(LOG_DEBUG, "store: %s: %llu flows in %llu commits (largest batch %llu), "
                "latency avg %.1f ms max %.1f ms, %llu lost; WAL at most %llu frames, "
                "%llu checkpoints (%llu by the writer); backlog mark reached %llu times, "
                "%llu requests paced",
                s->path, (unsigned long long)st.flows, (unsigned long long)st.commits,
                (unsigned long long)st.batch_max,
                st.flows ? (double)st.latency_sum_us / (double)st.flows / 1000.0 : 0.0,
                (double)st.latency_max_us / 1000.0, (unsigned long long)st.lost,
                (unsigned long long)st.wal.frames_max, (unsigned long long)st.wal.runs,
                (unsigned long long)st.wal.writer_runs, (unsigned long long)st.backlog_marks,
                (unsigned long long)st.paced);
        pthread_mutex_destroy(&s->stats_mu);
    }
    if (s->queue) { /* a thread that never started leaves flows behind */
        void *f;
        while (queue_pop(s->queue, &f, 1, 0, 0, 0))
            flow_free(f);
        queue_free(s->queue);
    }
    store_checkpoint_stop(s->ckpt); /* before the writer's connection: its close checkpoints */
    sqlite3_finalize(s->client_stats);
    sqlite3_finalize(s->cleared);
    store_seq_close(&s->seq);
    store_row_close(&s->row);
    free(s->counts);
    free(s->order);
    free(s->wrote);
    store_hold_destroy(&s->held); /* empty by now: the writer wrote or counted them */
    store_messages_free(s->messages);
    free(s->linebuf);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        log_msg(LOG_WARN, "store: %s: close: %s", s->path, sqlite3_errmsg(s->db));
    free(s->path);
    store_health_destroy(&s->health);
    free(s);
}
