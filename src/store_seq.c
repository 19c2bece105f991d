/* store_seq.c — see store_seq.h. Why no per-row index in new files: the flows_seq index cost the
 * writer an index insert per flow and a 16 KiB WAL frame of its leaf per commit, ~2.9k of the
 * writer's ~36k instructions per flow at 64 flows a commit and ~4.2k at 13 (bench/store_burst.c,
 * docs/BENCHMARKS.md); one commits row per transaction costs a few hundred instructions for the
 * whole batch, and rows are still found by their primary key. */
#include "store_seq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char has_index_sql[] =
    "SELECT count(*) FROM sqlite_master WHERE type='index' AND name='flows_seq'";
static const char commits_sql[] =
    "CREATE TABLE IF NOT EXISTS commits(last INTEGER PRIMARY KEY, first INTEGER NOT NULL,"
    " ids BLOB NOT NULL)";
static const char last_by_index_sql[] = "SELECT coalesce(max(seq), 0) FROM flows";
static const char last_by_commits_sql[] = "SELECT coalesce(max(last), 0) FROM commits";
static const char record_sql[] = "INSERT INTO commits(last, first, ids) VALUES(?1, ?2, ?3)";

static int query_int64(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int has_index(sqlite3 *db)
{
    sqlite3_int64 n = 0;
    return query_int64(db, has_index_sql, &n) == 0 && n > 0;
}

int store_seq_schema(sqlite3 *db, int *indexed)
{
    sqlite3_int64 had_seq = 0;
    if (query_int64(db, "SELECT count(*) FROM pragma_table_info('flows') WHERE name='seq'",
                    &had_seq) < 0 ||
        (!had_seq && sqlite3_exec(db, "ALTER TABLE flows ADD COLUMN seq INTEGER", NULL, NULL,
                                  NULL) != SQLITE_OK))
        return -1;
    *indexed = has_index(db);
    return *indexed || sqlite3_exec(db, commits_sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_seq_open(struct store_seq *q, sqlite3 *db, int indexed)
{
    memset(q, 0, sizeof *q);
    q->db = db;
    q->indexed = indexed;
    if (sqlite3_prepare_v2(db, indexed ? last_by_index_sql : last_by_commits_sql, -1, &q->last,
                           NULL) != SQLITE_OK ||
        (!indexed && sqlite3_prepare_v2(db, record_sql, -1, &q->record, NULL) != SQLITE_OK))
        return -1;
    return 0;
}

void store_seq_close(struct store_seq *q)
{
    sqlite3_finalize(q->last);
    sqlite3_finalize(q->record);
    q->last = q->record = NULL;
    free(q->ids);
    q->ids = NULL;
    q->len = q->cap = 0;
}

int store_seq_begin(struct store_seq *q)
{
    q->seq = 0;
    q->first = 0;
    q->len = 0;
    q->oom = 0;
    int rc = sqlite3_step(q->last);
    if (rc == SQLITE_ROW)
        q->seq = sqlite3_column_int64(q->last, 0);
    sqlite3_reset(q->last);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* v as 7 bits per byte, low first, the high bit on all but the last (room for 10 at o). */
static size_t varint(unsigned char *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (unsigned char)v;
    return n;
}

static const unsigned char *get_varint(const unsigned char *p, const unsigned char *end,
                                       uint64_t *v)
{
    *v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
        unsigned char b = *p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return p;
    }
    return NULL;
}

/* Append id to the transaction's list: the first as it is, the others as the zigzag of their
 * difference from the one before (a batch's ids are close together: a byte or two each). */
static void put_id(struct store_seq *q, int first, uint64_t id)
{
    if (q->len + 10 > q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 512;
        unsigned char *n = realloc(q->ids, ncap);
        if (!n) {
            q->oom = 1;
            return;
        }
        q->ids = n;
        q->cap = ncap;
    }
    uint64_t v = id;
    if (!first) {
        int64_t d = (int64_t)(id - q->prev_id);
        v = ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
    }
    q->len += varint(q->ids + q->len, v);
    q->prev_id = id;
}

void store_seq_order(struct flow *const *fl, size_t n, size_t *ord)
{
    /* workers hand flows over nearly in id order: the insertion sort is about one pass */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && fl[ord[j - 1]]->id > fl[i]->id; j--)
            ord[j] = ord[j - 1];
        ord[j] = i;
    }
}

void store_seq_add(struct store_seq *q, uint64_t id)
{
    q->seq++;
    if (q->indexed)
        return;
    int first = !q->first;
    if (first)
        q->first = q->seq;
    put_id(q, first, id);
}

int store_seq_record(struct store_seq *q)
{
    if (q->indexed || !q->first)
        return 0;
    if (q->oom)
        return -1;
    sqlite3_bind_int64(q->record, 1, q->seq);
    sqlite3_bind_int64(q->record, 2, q->first);
    sqlite3_bind_blob(q->record, 3, q->ids, (int)q->len, SQLITE_STATIC);
    int rc = sqlite3_step(q->record);
    sqlite3_reset(q->record);
    q->first = 0;
    q->len = 0;
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_seq_touch(sqlite3 *db, uint64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (has_index(db)) { /* as builds before: the index finds the last seq */
        if (sqlite3_prepare_v2(db, "UPDATE flows SET seq = (SELECT coalesce(max(seq), 0) + 1"
                               " FROM flows) WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        }
        sqlite3_finalize(st);
        return rc;
    }
    struct store_seq q;
    if (store_seq_open(&q, db, 0) == 0 && store_seq_begin(&q) == 0 &&
        sqlite3_prepare_v2(db, "UPDATE flows SET seq = ?2 WHERE id = ?1", -1, &st, NULL) ==
            SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        sqlite3_bind_int64(st, 2, store_seq_next(&q));
        if (sqlite3_step(st) == SQLITE_DONE) {
            rc = 0;
            if (sqlite3_changes(db) == 1) {
                store_seq_add(&q, id);
                rc = store_seq_record(&q);
            }
        }
    }
    sqlite3_finalize(st);
    store_seq_close(&q);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Reader */

int store_seq_reader_open(struct store_seq_reader *r, sqlite3 *db, const char *visible_sql)
{
    memset(r, 0, sizeof *r);
    r->db = db;
    char by_index[512], cleared[256];
    snprintf(by_index, sizeof by_index,
             "SELECT summary, client, seq FROM flows WHERE seq > ?1 AND id > %s ORDER BY seq"
             " LIMIT ?2", visible_sql);
    /* the hidden ids' bound, read once per list */
    snprintf(cleared, sizeof cleared, "SELECT %s", visible_sql);
    /* a file written before the commit sequence has no seq column: no live resume */
    if (sqlite3_prepare_v2(db, by_index, -1, &r->by_index, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, cleared, -1, &r->cleared, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id, summary, client, seq FROM flows WHERE id BETWEEN ?1"
                           " AND ?2 ORDER BY id", -1, &r->range, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, has_index_sql, -1, &r->has_index, NULL) != SQLITE_OK) {
        store_seq_reader_close(r);
        return -1;
    }
    /* files of builds before i24 have no commits table: they have the index */
    sqlite3_prepare_v2(db, "SELECT first, ids FROM commits WHERE last > ?1 ORDER BY last", -1,
                       &r->commits, NULL);
    return 0;
}

void store_seq_reader_close(struct store_seq_reader *r)
{
    sqlite3_finalize(r->by_index);
    sqlite3_finalize(r->commits);
    sqlite3_finalize(r->cleared);
    sqlite3_finalize(r->range);
    sqlite3_finalize(r->last);
    sqlite3_finalize(r->has_index);
    memset(r, 0, sizeof *r);
}

/* 1 when the file has flows_seq now (an older build may have made it since the reader opened),
 * 0 when not, -1 on a store error. */
static int reader_indexed(struct store_seq_reader *r)
{
    if (!r->has_index)
        return -1;
    int rc = sqlite3_step(r->has_index);
    int n = rc == SQLITE_ROW ? sqlite3_column_int(r->has_index, 0) : -1;
    sqlite3_reset(r->has_index);
    return n < 0 ? -1 : n > 0;
}

static int list_by_index(struct store_seq_reader *r, uint64_t after_seq, size_t limit,
                         int (*fn)(const char *, size_t, const char *, uint64_t, void *), void *arg)
{
    sqlite3_stmt *st = r->by_index;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)after_seq);
    sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        const char *client = (const char *)sqlite3_column_text(st, 1);
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 2);
        if (text && (ret = fn(text, len, client ? client : "", seq, arg)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = -1;
    sqlite3_reset(st);
    return ret;
}

/* Ids of one commits row that ascend by at most this are read with one range scan of flows (the
 * rows between them, of other commits, are skipped) rather than a lookup each: a lookup is a
 * statement run of its own, about twice the instructions of a row of a scan (bench/store_burst.c
 * "list"). A run breaks where the ids do not ascend, so any order is listed as it is. */
#define RUN_GAP 16

/* Give fn the rows ids[0..n), which were given seqs first + 0..n-1, from k0 on, in that order
 * (visible ones that still have their seq): one range scan per run of close ascending ids. Stops at limit (given counts up). Returns 0, fn's
 * nonzero answer, or -1 on a store error. */
static int list_runs(struct store_seq_reader *r, const uint64_t *ids, size_t n, size_t k0,
                     uint64_t first, uint64_t hidden, size_t limit, size_t *given,
                     int (*fn)(const char *, size_t, const char *, uint64_t, void *), void *arg)
{
    sqlite3_stmt *st = r->range;
    int ret = 0;
    for (size_t a = k0; a < n && !ret && (!limit || *given < limit);) {
        size_t b = a;
        while (b + 1 < n && ids[b + 1] - ids[b] <= RUN_GAP)
            b++;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ids[a]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)ids[b]);
        size_t k = a;
        int rc = SQLITE_DONE;
        while (!ret && (!limit || *given < limit) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
            while (k <= b && ids[k] < id)
                k++; /* listed, but no longer in the file */
            if (k > b)
                break;
            if (ids[k] != id)
                continue; /* a row of another commit between this one's */
            uint64_t seq = first + k;
            const char *text = (const char *)sqlite3_column_text(st, 1);
            if (id > hidden && text && (uint64_t)sqlite3_column_int64(st, 3) == seq) {
                const char *client = (const char *)sqlite3_column_text(st, 2);
                ret = fn(text, (size_t)sqlite3_column_bytes(st, 1), client ? client : "", seq, arg);
                (*given)++;
            }
        }
        if (!ret && rc != SQLITE_ROW && rc != SQLITE_DONE)
            ret = -1;
        sqlite3_reset(st);
        a = b + 1;
    }
    return ret;
}

static int list_by_commits(struct store_seq_reader *r, uint64_t after_seq, size_t limit,
                           int (*fn)(const char *, size_t, const char *, uint64_t, void *),
                           void *arg)
{
    sqlite3_stmt *st = r->commits;
    if (!st || !r->range)
        return -1;
    int crc = sqlite3_step(r->cleared); /* the highest hidden id, as of this list */
    uint64_t hidden = crc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(r->cleared, 0) : 0;
    sqlite3_reset(r->cleared);
    if (crc != SQLITE_ROW)
        return -1;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)after_seq);
    int rc = SQLITE_DONE, ret = 0;
    size_t given = 0;
    uint64_t *ids = NULL;
    size_t cap = 0;
    while (!ret && (!limit || given < limit) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t first = (uint64_t)sqlite3_column_int64(st, 0);
        const unsigned char *p = sqlite3_column_blob(st, 1);
        const unsigned char *end = p ? p + sqlite3_column_bytes(st, 1) : NULL;
        size_t n = 0;
        for (uint64_t id = 0; p && p < end; n++) { /* a damaged list ends where it breaks */
            uint64_t v;
            if (!(p = get_varint(p, end, &v)))
                break;
            uint64_t next = n ? id + (uint64_t)((int64_t)(v >> 1) ^ -(int64_t)(v & 1)) : v;
            id = next;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                uint64_t *g = realloc(ids, ncap * sizeof *ids);
                if (!g) {
                    ret = -1;
                    break;
                }
                ids = g;
                cap = ncap;
            }
            ids[n] = id;
        }
        size_t k0 = after_seq >= first ? (size_t)(after_seq - first + 1) : 0;
        if (ret || k0 >= n)
            continue;
        ret = list_runs(r, ids, n, k0, first, hidden, limit, &given, fn, arg);
    }
    free(ids);
    if (!ret && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = -1;
    sqlite3_reset(st);
    return ret;
}

int store_seq_list(struct store_seq_reader *r, uint64_t after_seq, size_t limit,
                   int (*fn)(const char *, size_t, const char *, uint64_t, void *), void *arg)
{
    int indexed = reader_indexed(r);
    if (indexed < 0)
        return -1;
    return indexed ? list_by_index(r, after_seq, limit, fn, arg)
                   : list_by_commits(r, after_seq, limit, fn, arg);
}

int store_seq_last(struct store_seq_reader *r, uint64_t *seq)
{
    int indexed = reader_indexed(r);
    if (indexed < 0)
        return -1;
    sqlite3_finalize(r->last); /* which query depends on the file as it is now */
    r->last = NULL;
    if (sqlite3_prepare_v2(r->db, indexed ? last_by_index_sql : last_by_commits_sql, -1, &r->last,
                           NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(r->last);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(r->last, 0);
    sqlite3_reset(r->last);
    return rc == SQLITE_ROW ? 0 : -1;
}
