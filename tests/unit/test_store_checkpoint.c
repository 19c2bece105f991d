/* test_store_checkpoint.c — the session file's WAL checkpoints off the writer's commits
 * (store_checkpoint.c) and the store's pacing (store_pace_us), through the store's contract:
 * - a burst far bigger than the WAL's high mark is committed whole while the checkpointer (not
 *   the commits) checkpoints, and the WAL never passes the high mark by more than two batches;
 * - a process killed with -9 while it writes and checkpoints loses no committed flow, and the
 *   file it leaves is consistent;
 * - while the writer cannot write (another connection holds the write lock), the backlog that
 *   builds up is paced in proportion from 3/4 of the mark, held at the mark, and every
 *   flow is recorded once the writer can write again. No timed assertions. */
#include "../../src/store.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../../src/capture.h"
#include "../../src/http1.h"
#include "tap.h"

static atomic_ullong committed_n, committed_hi;

static void on_commit(uint64_t lo, uint64_t hi, void *arg)
{
    (void)arg;
    atomic_fetch_add(&committed_n, hi - lo + 1);
    if (hi > atomic_load(&committed_hi))
        atomic_store(&committed_hi, hi);
}

static int wait_committed(uint64_t n)
{
    for (int i = 0; i < 6000 && atomic_load(&committed_n) < n; i++)
        usleep(10000);
    return atomic_load(&committed_n) >= n;
}

static struct flow *mkflow(uint64_t id, const unsigned char *body, size_t len)
{
    struct flow *f = flow_new(id, 1, len + 1);
    snprintf(f->host, sizeof f->host, "h%llu.test", (unsigned long long)id);
    snprintf(f->scheme, sizeof f->scheme, "http");
    f->port = 80;
    char url[64];
    snprintf(url, sizeof url, "http://h%llu.test/x", (unsigned long long)id);
    flow_set_url(f, url);
    struct http1_head *h = calloc(1, sizeof *h);
    h->buf = calloc(1, 64);
    h->fields = calloc(1, sizeof *h->fields);
    h->reason = h->target = h->buf;
    h->fields[0].name = strcpy(h->buf + 1, "Content-Type");
    h->fields[0].value = strcpy(h->buf + 20, "application/octet-stream");
    h->nfields = 1;
    h->status = 200;
    h->major = h->minor = 1;
    f->resp = h;
    if (len)
        flow_capture_add(&f->resp_body, (const char *)body, len);
    f->marks.end = flow_now_us();
    return f;
}

static long long count_rows(const char *path)
{
    sqlite3 *db;
    sqlite3_int64 n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM flows", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static int integrity_ok(const char *path)
{
    sqlite3 *db;
    int good = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            good = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return good;
}

static unsigned char *random_bytes(size_t len)
{
    unsigned char *b = malloc(len);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    return b;
}

#define BURST 8000
#define BODY (16u << 10)

/* Bodies that do not compress, 16 KiB each (~1.2 pages of 16 KiB a row): ~150 MB through the
 * WAL, more than twice the high mark, handed over at once so the writer never pauses. */
static void test_wal_bounded(const char *dir)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/burst.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!ok(s != NULL, "store opens (%s)", s ? "" : err))
        return;
    atomic_store(&committed_n, 0);
    store_set_notify(s, on_commit, NULL);
    unsigned char *body = random_bytes(BODY + BURST);
    struct flow **fl = malloc(BURST * sizeof *fl);
    for (int i = 0; i < BURST; i++) /* each body different: nothing for zlib to find */
        fl[i] = mkflow(1 + (uint64_t)i, body + i, BODY);
    for (int i = 0; i < BURST; i++) /* made first: the writer has all of them at once */
        store_sink(fl[i], s);
    free(fl);
    ok(wait_committed(BURST), "the whole burst is committed");
    struct store_stats st;
    store_get_stats(s, &st);
    ok(st.wal.runs >= 2, "the checkpointer thread checkpointed (%llu runs)",
       (unsigned long long)st.wal.runs);
    ok(st.wal.writer_runs < st.wal.runs,
       "commits checkpointed only at the high mark: %llu of %llu checkpoints",
       (unsigned long long)st.wal.writer_runs, (unsigned long long)st.wal.runs);
    /* a batch is at most STORE_BATCH_MAX flows of ~1.2 pages: the WAL may pass the high mark by
     * a quarter (the writer waits no longer for a slow run) and the batches around that */
    uint64_t batch_frames = (uint64_t)STORE_BATCH_MAX * 3 / 2;
    uint64_t bound = st.wal.high_frames + st.wal.high_frames / 4 + 2 * batch_frames;
    ok(st.wal.high_frames > 0 && st.wal.frames_max <= bound,
       "the WAL stays under its high mark plus a quarter and two batches: at most %llu frames, "
       "bound %llu", (unsigned long long)st.wal.frames_max, (unsigned long long)bound);
    store_close(s);
    free(body);
    is_int(count_rows(path), BURST, "every flow of the burst is a row after close");
    ok(integrity_ok(path), "and the file passes integrity_check");
}

/* A child writes flows and checkpoints until it is killed; what it was told is committed is in
 * the file, and the file is consistent. */
static void test_kill_mid_checkpoint(const char *dir)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/killed.sqlite", dir);
    struct shared {
        atomic_ullong committed_hi, runs;
    } *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    atomic_store(&sh->committed_hi, 0);
    atomic_store(&sh->runs, 0);
    atomic_store(&committed_hi, 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct store *s = store_open(path, err, sizeof err);
        if (!s)
            _exit(1);
        atomic_store(&committed_n, 0);
        store_set_notify(s, on_commit, NULL);
        unsigned char *body = random_bytes(BODY + 64);
        for (uint64_t id = 1;; id += 64) {
            for (uint64_t i = 0; i < 64; i++)
                store_sink(mkflow(id + i, body + i, BODY), s);
            wait_committed(id + 63);
            struct store_stats st;
            store_get_stats(s, &st);
            /* the notify after the commit: everything up to here is committed */
            atomic_store(&sh->committed_hi, atomic_load(&committed_hi));
            atomic_store(&sh->runs, st.wal.runs);
        }
    }
    /* killed a few checkpoints in: the checkpointer runs back to back while the writer writes */
    for (int i = 0; i < 6000 && atomic_load(&sh->runs) < 6; i++)
        usleep(10000);
    usleep(7000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    unsigned long long told = atomic_load(&sh->committed_hi);
    ok(atomic_load(&sh->runs) >= 6 && told > 0, "the child wrote %llu flows through %llu checkpoints",
       told, (unsigned long long)atomic_load(&sh->runs));
    long long rows = count_rows(path);
    ok(rows >= (long long)told, "killed -9 while checkpointing: every committed flow is there "
       "(%lld rows, %llu told committed)", rows, told);
    ok(integrity_ok(path), "the file it left passes integrity_check");
    munmap(sh, sizeof *sh);
}

/* The writer blocked on the file's write lock: the backlog only grows, so the pacing it asks
 * for can be read at each size, then every flow must still be recorded. */
static void test_paced(const char *dir)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/paced.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!ok(s != NULL, "store opens (%s)", s ? "" : err))
        return;
    atomic_store(&committed_n, 0);
    store_set_notify(s, on_commit, NULL);
    sqlite3 *lock;
    sqlite3_open(path, &lock);
    sqlite3_busy_timeout(lock, 5000);
    ok(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK,
       "another connection takes the write lock");
    is_int(store_pace_us(s), 0, "an empty store asks no pacing");
    unsigned pace[5] = {0};
    int at[5] = {6000, 6500, 7000, 7600, 8100}, backlogged_before = 0, n = 0;
    for (int k = 0; k < 5; k++) {
        for (; n < at[k]; n++)
            store_sink(mkflow(1 + (uint64_t)n, (const unsigned char *)"x", 1), s);
        pace[k] = store_pace_us(s);
        backlogged_before |= store_backlogged(s);
    }
    is_int(pace[0], 0, "under three quarters of the mark (6,000 of 8,192 flows): no pacing");
    ok(pace[1] > 0 && pace[1] < pace[2] && pace[2] < pace[3] && pace[3] < pace[4],
       "past it, pacing grows with the backlog: %u < %u < %u < %u us", pace[1], pace[2], pace[3],
       pace[4]);
    ok(pace[4] <= STORE_PACE_MAX_US && pace[1] < STORE_PACE_MAX_US / 2,
       "from a few 100 us up to at most STORE_PACE_MAX_US (%u)", STORE_PACE_MAX_US);
    ok(!backlogged_before, "under the mark nobody is held");
    for (; n < 8300; n++)
        store_sink(mkflow(1 + (uint64_t)n, (const unsigned char *)"x", 1), s);
    ok(store_backlogged(s), "past the mark (8,300 flows) the store says it is backlogged");
    sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(lock);
    ok(wait_committed((uint64_t)n), "the writer writes them all once it can");
    ok(!store_backlogged(s) && store_pace_us(s) == 0, "then neither held nor paced");
    struct store_stats st;
    store_get_stats(s, &st);
    ok(st.backlog_marks == 1 && st.paced >= 3, "counted: the mark reached once, %llu paced answers",
       (unsigned long long)st.paced);
    store_close(s);
    is_int(count_rows(path), n, "every flow is a row");
}

int main(void)
{
    char dir[] = "/tmp/test_store_checkpoint.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_wal_bounded(dir);
    test_kill_mid_checkpoint(dir);
    test_paced(dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
