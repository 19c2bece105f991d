/* store_seq.h — the session file's commit sequence (flows.seq, store.h's store_reader_list_seq):
 * each row the writer commits gets a seq one more than any before it, given inside the writing
 * transaction, so seq order is commit order; a WebSocket flow patched later is given a new seq
 * (store_seq_touch) and so is listed again, at its new place. How rows are found by seq depends on
 * the file:
 * - files made by builds before i24 have the index flows_seq on flows(seq), and keep it: every
 *   lookup by seq uses it, every row pays its insert (what older builds read and write);
 * - files made now have no per-row index: each transaction that gives seqs writes one row of
 *   commits(last INTEGER PRIMARY KEY, first, ids BLOB): its seqs first..last were given, in
 *   order, to the flows whose ids the blob lists (a varint of the first id, then zigzag varint
 *   differences). The writer writes a transaction's rows in id order, so a reader reads a
 *   commit's rows with a range scan or a few, not a lookup each. A row patched later is listed
 *   again under its new seq; a reader takes a row at a listed seq only when the row still has it. An older build opening such a file makes the
 *   index (CREATE INDEX IF NOT EXISTS), and from then on the file is of the first kind.
 * Writer functions run on the store's writer thread inside its transactions; reader functions on
 * the reader's thread with its own connection. */
#ifndef HTTPEEK_STORE_SEQ_H
#define HTTPEEK_STORE_SEQ_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "attrib.h"
#include "flow.h"

/* In store_open's schema transaction: give flows its seq column when it has none, and make the
 * commits table for a file without the flows_seq index. *indexed: 1 when the file has the index.
 * Returns 0, -1 with SQLite's error on db. */
int store_seq_schema(sqlite3 *db, int *indexed) HP_NONNULL(1, 2);

struct store_seq {
    sqlite3 *db;
    int indexed;              /* the file has flows_seq */
    sqlite3_stmt *last;       /* the file's last seq */
    sqlite3_stmt *record;     /* INSERT INTO commits */
    sqlite3_int64 seq;        /* the last seq given (in the open transaction) */
    sqlite3_int64 first;      /* the first seq given in the open transaction, 0: none yet */
    uint64_t prev_id;         /* the last id added to ids */
    unsigned char *ids;       /* the transaction's ids, encoded as commits.ids */
    size_t len, cap;
    int oom;                  /* ids could not grow: store_seq_record fails */
};

/* Prepare q's statements on the writer's connection db. Returns 0, -1 with SQLite's error. */
int store_seq_open(struct store_seq *q, sqlite3 *db, int indexed) HP_NONNULL(1, 2);

void store_seq_close(struct store_seq *q) HP_NONNULL(1);

/* At the start of a writing transaction (under the write lock: another process writing the same
 * file cannot interleave): read the file's last seq into q->seq. Returns 0, -1 (q->seq is 0). */
int store_seq_begin(struct store_seq *q) HP_NONNULL(1);

/* The next seq to give (q->seq + 1). */
static inline sqlite3_int64 store_seq_next(const struct store_seq *q) { return q->seq + 1; }

/* ord[0..n): the places in fl[0..n) in the order their rows are written, ascending ids. */
void store_seq_order(struct flow *const *fl, size_t n, size_t *ord) HP_NONNULL(1, 3);

/* The row of flow id was written with store_seq_next(q): count it. */
void store_seq_add(struct store_seq *q, uint64_t id) HP_NONNULL(1);

/* Before COMMIT: write the transaction's commits row (nothing for an indexed file or when no
 * seq was given). Returns 0, -1 (the transaction must not commit: its rows would be unlisted). */
int store_seq_record(struct store_seq *q) HP_NONNULL(1);

/* Inside a transaction on the writer's connection: give the existing row id the next seq (it is
 * listed again, after everything before). Returns 0, -1 on a store error. */
int store_seq_touch(sqlite3 *db, uint64_t id) HP_NONNULL(1);

/* Reader side: the visible rows (id > visible_sql's value) with seq > after_seq, in seq order, at
 * most limit (0 = all), as store_reader_list_seq gives them (store.h). */
struct store_seq_reader {
    sqlite3 *db;
    sqlite3_stmt *by_index;   /* indexed files: one query */
    sqlite3_stmt *commits;    /* otherwise: the commits after a seq ... */
    sqlite3_stmt *range;      /* ... and the rows of a run of close ids they list */
    sqlite3_stmt *cleared;    /* the highest hidden id */
    sqlite3_stmt *last;       /* the last seq */
    sqlite3_stmt *has_index;  /* whether flows_seq exists (an older build may make it) */
};

/* Prepare on the reader's connection; visible_sql is an SQL expression for the highest hidden id.
 * Returns 0, -1 when the file has no commit sequence (a file from before it, opened read-only). */
int store_seq_reader_open(struct store_seq_reader *r, sqlite3 *db, const char *visible_sql)
    HP_NONNULL(1, 2, 3);

void store_seq_reader_close(struct store_seq_reader *r) HP_NONNULL(1);

int store_seq_list(struct store_seq_reader *r, uint64_t after_seq, size_t limit,
                   int (*fn)(const char *summary, size_t len, const char *client, uint64_t seq,
                             void *arg),
                   void *arg) HP_NONNULL(1, 4);

/* The highest seq in the file (0: none) into *seq. Returns 0 or -1. */
int store_seq_last(struct store_seq_reader *r, uint64_t *seq) HP_NONNULL(1, 2);

#endif
