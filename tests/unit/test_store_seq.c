/* test_store_seq.c — the commit sequence (store_seq.h) through the real store and reader, in both
 * kinds of file: a new file (no flows_seq index: one commits row per transaction) and a file of
 * a build before (the index). In each: a flow with a smaller id committed after a bigger one is
 * listed after it; listing from every seq gives exactly the rest, once, in commit order; a limit
 * stops the list; a row patched later (store_seq_touch, as a WebSocket flow's close) is listed
 * again at its new place and no longer at its old one; hidden rows (a clear) are not listed; the
 * last seq is the last given. Then a new file opened by an older build (it makes the index and
 * writes rows without commits rows) lists every row, and a new file's writer keeps no index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../../src/flow.h"
#include "../../src/store.h"
#include "../../src/store_seq.h"
#include "tap.h"

static struct flow *mkflow(uint64_t id)
{
    struct flow *f = flow_new(id, id, 1024);
    snprintf(f->host, sizeof f->host, "h.test");
    snprintf(f->scheme, sizeof f->scheme, "http");
    snprintf(f->client_addr, sizeof f->client_addr, "127.0.0.1");
    f->port = 80;
    char url[64];
    snprintf(url, sizeof url, "http://h.test/f%llu", (unsigned long long)id);
    flow_set_url(f, url);
    f->marks.end = flow_now_us();
    return f;
}

/* Hand the flows ids[0..n) to the store at once and wait until they are committed. Returns
 * the number of transactions they took. */
static uint64_t commit(struct store *s, const uint64_t *ids, size_t n)
{
    struct store_stats st;
    store_get_stats(s, &st);
    uint64_t want = st.flows + n, before = st.commits;
    for (size_t i = 0; i < n; i++)
        store_sink(mkflow(ids[i]), s);
    for (int i = 0; i < 500 && st.flows < want; i++) {
        usleep(10000);
        store_get_stats(s, &st);
    }
    return st.commits - before;
}

struct listed {
    char text[512];
    size_t len;
};

static int add(const char *summary, size_t len, const char *client, uint64_t seq, void *arg)
{
    (void)len, (void)client;
    struct listed *l = arg;
    const char *u = strstr(summary, "\"url\":\"http://h.test/f");
    char one[48];
    snprintf(one, sizeof one, "%s%.*s@%llu", l->len ? " " : "",
             u ? (int)strcspn(u + 22, "\"") : 1, u ? u + 22 : "?", (unsigned long long)seq);
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "%s", one);
    return 0;
}

/* "id@seq id@seq ..." of the rows listed after after_seq (limit 0: all). */
static const char *list(struct store_reader *r, uint64_t after, size_t limit)
{
    static struct listed l;
    l.len = 0;
    l.text[0] = '\0';
    if (store_reader_list_seq(r, after, limit, add, &l) != 0)
        return "error";
    return l.text;
}

static int exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return rc;
}

static long long count_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Re-sequence row id as a WebSocket patch does, on a connection of its own. */
static int touch(const char *path, uint64_t id)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             store_seq_touch(db, id) == 0 &&
             sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return rc;
}

static void run(const char *dir, int old_kind)
{
    const char *kind = old_kind ? "a file with the flows_seq index" : "a new file";
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s.sqlite", dir, old_kind ? "old" : "new");
    if (old_kind) /* what builds before made: the table and the index */
        ok(exec_sql(path, "CREATE TABLE flows(id INTEGER PRIMARY KEY, started INTEGER NOT NULL,"
                          " kind TEXT NOT NULL, method TEXT, host TEXT, status INTEGER, failed"
                          " INTEGER NOT NULL, client TEXT, mime TEXT, summary TEXT NOT NULL,"
                          " detail TEXT NOT NULL, req_body BLOB, req_len INTEGER, req_total"
                          " INTEGER, req_trunc INTEGER, req_ctype TEXT, req_cenc TEXT, resp_body"
                          " BLOB, resp_len INTEGER, resp_total INTEGER, resp_trunc INTEGER,"
                          " resp_ctype TEXT, resp_cenc TEXT, req_at INTEGER, req_flen INTEGER,"
                          " resp_at INTEGER, resp_flen INTEGER, seq INTEGER);"
                          "CREATE INDEX flows_seq ON flows(seq);"),
           "%s: made as a build before made it", kind);
    struct store *s = store_open(path, err, sizeof err);
    if (!ok(s != NULL, "%s: store opens (%s)", kind, s ? "" : err))
        return;
    static const uint64_t b1[] = {5, 6, 7}, b2[] = {2}, b3[] = {9, 8};
    commit(s, b1, 3);
    commit(s, b2, 1); /* finished late: a smaller id committed after bigger ones */
    /* handed over 9 then 8: one transaction writes its rows in id order (8, then 9); should the
     * writer have taken them in two, 9 was committed first */
    int one = commit(s, b3, 2) == 1;
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    if (!ok(r != NULL, "%s: reader opens", kind)) {
        store_close(s);
        return;
    }
    const char *a = one ? "8" : "9", *b = one ? "9" : "8";
    char all[64];
    snprintf(all, sizeof all, "5@1 6@2 7@3 2@4 %s@5 %s@6", a, b);
    is_str(list(r, 0, 0), all,
           old_kind ? "a file with the flows_seq index: every row in commit order, a commit's in id order"
                    : "a new file: every row in commit order, a commit's in id order");
    char rest[6][64];
    snprintf(rest[0], sizeof rest[0], "6@2 7@3 2@4 %s@5 %s@6", a, b);
    snprintf(rest[1], sizeof rest[1], "7@3 2@4 %s@5 %s@6", a, b);
    snprintf(rest[2], sizeof rest[2], "2@4 %s@5 %s@6", a, b);
    snprintf(rest[3], sizeof rest[3], "%s@5 %s@6", a, b);
    snprintf(rest[4], sizeof rest[4], "%s@6", b);
    rest[5][0] = '\0';
    int exact = 1;
    for (int k = 1; k <= 6; k++)
        exact &= !strcmp(list(r, (uint64_t)k, 0), rest[k - 1]);
    ok(exact, "%s: resuming after each seq gives exactly the rest, once, in order", kind);
    is_str(list(r, 2, 2), "7@3 2@4", old_kind ? "with the index: a limit stops the list"
                                               : "a new file: a limit stops the list");
    uint64_t last = 0;
    int got_last = store_reader_last_seq(r, &last);
    ok(got_last == 0 && last == 6, "%s: the last seq is 6 (%llu)", kind,
       (unsigned long long)last);
    /* a WebSocket flow patched on close: listed again, at the end, and only there */
    ok(touch(path, 6), "%s: flow 6 given a new seq", kind);
    snprintf(all, sizeof all, "5@1 7@3 2@4 %s@5 %s@6 6@7", a, b);
    is_str(list(r, 0, 0), all,
           old_kind ? "with the index: a patched row is listed at its new place only"
                    : "a new file: a patched row is listed at its new place only");
    is_str(list(r, 6, 0), "6@7", old_kind ? "with the index: resuming after 6 gets the patched row"
                                          : "a new file: resuming after 6 gets the patched row");
    static const uint64_t b4[] = {10};
    commit(s, b4, 1);
    is_str(list(r, 7, 0), "10@8", old_kind ? "with the index: the next commit goes on after it"
                                           : "a new file: the next commit goes on after it");
    ok(store_reader_clear(r) == 0, "%s: cleared", kind);
    static const uint64_t b5[] = {11};
    commit(s, b5, 1);
    is_str(list(r, 0, 0), "11@9", old_kind ? "with the index: hidden rows are not listed"
                                           : "a new file: hidden rows are not listed");
    store_reader_close(r);
    struct store_stats st;
    store_get_stats(s, &st);
    store_close(s);
    if (old_kind) {
        is_int(count_sql(path, "SELECT count(*) FROM sqlite_master WHERE name='commits'"), 0,
               "a file with the index gets no commits table (it is written as before)");
        return;
    }
    is_int(count_sql(path, "SELECT count(*) FROM sqlite_master WHERE name='flows_seq'"), 0,
           "a new file has no flows_seq index");
    is_int(count_sql(path, "SELECT count(*) FROM commits"), (long long)st.commits + 1,
           "one commits row per transaction that gave seqs (each batch, and the patch)");
    /* an older build opens the new file: it makes the index and writes rows without commits */
    ok(exec_sql(path, "CREATE INDEX IF NOT EXISTS flows_seq ON flows(seq);"
                      "INSERT INTO flows(id, started, kind, failed, summary, detail, seq) VALUES(12,"
                      " 0, 'http', 0, '{\"url\":\"http://h.test/f12\"}', '{}',"
                      " (SELECT max(seq) + 1 FROM flows))"),
       "an older build makes the index and writes flow 12");
    r = store_reader_open(path, err, sizeof err);
    is_str(r ? list(r, 8, 0) : "no reader", "11@9 12@10",
           "then every row is listed, the older build's too (by the index)");
    store_reader_close(r);
    s = store_open(path, err, sizeof err);
    if (s) {
        static const uint64_t b6[] = {13};
        commit(s, b6, 1);
        store_close(s);
    }
    r = store_reader_open(path, err, sizeof err);
    is_str(r ? list(r, 9, 0) : "no reader", "12@10 13@11",
           "and this build goes on after it, by the index");
    store_reader_close(r);
}

/* A commits row whose ids are not in ascending order (no writer makes one, but a reader must
 * not miss or reorder its rows): listed one by one, in the row's order. */
static void unsorted(const char *dir)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/unsorted.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!ok(s != NULL, "unsorted: store opens"))
        return;
    static const uint64_t ids[] = {20, 21, 22};
    commit(s, ids, 3);
    store_close(s);
    /* seqs 4, 5, 6 given to 22, 20, 21: 22 as a varint, then -2 and +1 zigzagged (3, 2) */
    ok(exec_sql(path, "UPDATE flows SET seq = 4 WHERE id = 22; UPDATE flows SET seq = 5 WHERE id = 20;"
                      "UPDATE flows SET seq = 6 WHERE id = 21;"
                      "INSERT INTO commits(last, first, ids) VALUES(6, 4, X'160302')"),
       "unsorted: a commits row for 22, 20, 21");
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    is_str(r ? list(r, 3, 0) : "no reader", "22@4 20@5 21@6",
           "a commits row out of id order is listed in its own order");
    is_str(r ? list(r, 4, 1) : "no reader", "20@5", "... from inside it, with a limit");
    store_reader_close(r);
}

int main(void)
{
    char dir[] = "/tmp/test_store_seq.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    run(dir, 0);
    run(dir, 1);
    unsorted(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        ok(0, "cleanup");
    return done();
}
