/* store_tls.h — a connection's TLS facts written once in the session file, not in every flow's
 * detail: the session's tls(id, facts) table, the writer's memory of the facts it wrote, and the
 * readers putting them back.
 *
 * Every flow of a keep-alive connection carries the same facts of both legs (flow.h: struct
 * flow_tls_shared, one per leg until something changes). The first flow seen with a given
 * snapshot keeps them inline in its detail; from the second on, the facts are one row of tls
 * and each detail's tls.client / tls.upstream is that row's id (a number where the object was).
 * store_tls_put_back puts the object back on read, so every reader sees what it always saw. A
 * connection used once costs nothing more; one used N times writes its facts twice, not N times.
 *
 * The writer half is used by the store's writer thread only, inside its open transaction; the
 * reader half by any thread on its own connection. */
#ifndef HTTPEEK_STORE_TLS_H
#define HTTPEEK_STORE_TLS_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>
#include "attrib.h"
#include "flow.h"
#include "flow_json.h"

/* Snapshots remembered (direct-mapped by serial: a collision only costs an inline copy). */
#define STORE_TLS_SLOTS 256

struct store_tls {
    sqlite3 *db;               /* the writer's connection (borrowed) */
    sqlite3_stmt *insert;      /* INSERT INTO tls(facts) */
    struct flow_json_text json; /* one leg's facts as text */
    struct {
        uint64_t serial;       /* flow_tls_shared.serial (0: empty slot) */
        sqlite3_int64 id;      /* its row in tls, 0 while written inline only (seen once) */
    } seen[STORE_TLS_SLOTS];
};

/* Create the tls table if the file has none (call inside the writer's opening transaction) and
 * prepare the insert. Returns 0, -1 with SQLite's error on db. */
int store_tls_open(struct store_tls *w, sqlite3 *db) HP_NONNULL(1, 2) HP_WUNRES;

/* Inside the open transaction: the id of f's client (upstream = 0) or upstream leg's facts in tls
 * (written now if this is the snapshot's second flow), or 0 when the detail keeps them inline (no
 * TLS, first flow of the snapshot, or the row could not be written). */
long long store_tls_ref(struct store_tls *w, const struct flow *f, int upstream) HP_NONNULL(1, 2);

/* Forget every row written: after a transaction was rolled back, its ids name nothing. */
void store_tls_forget(struct store_tls *w) HP_NONNULL(1);

/* Free what w holds (w is zeroed). */
void store_tls_close(struct store_tls *w) HP_NONNULL(1);

/* Put the objects back into a detail read from db: a number as tls.client or tls.upstream is
 * replaced by that tls row's object. *get is the reader's statement, prepared here on first use
 * (finalize it with the connection). A row that cannot be read leaves the number. */
void store_tls_put_back(sqlite3 *db, sqlite3_stmt **get, json_t *detail) HP_NONNULL(1, 2);

#endif
