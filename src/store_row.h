/* store_row.h — one finished flow into one row of the session's flows table (its summary and
 * detail JSON, its bodies raw or deflated in the row, big ones in the body file SESSION-bodies);
 * the store's writer thread only, inside its open transaction. */
#ifndef HTTPEEK_STORE_ROW_H
#define HTTPEEK_STORE_ROW_H

#include <stdint.h>
#include <sqlite3.h>
#include <zlib.h>
#include "attrib.h"
#include "flow.h"
#include "flow_json.h"
#include "store_health.h"
#include "store_tls.h"

/* The writer's deflate streams (the output of each is a zlib stream that uncompress reads). */
enum store_zs {
    ZS_BIG,    /* level 1, 32 KiB window: bodies over STORE_ZSMALL_MAX */
    ZS_SMALL,  /* level 1, small window and hash table: cheap to reset */
    ZS_N
};

struct store_row {
    sqlite3_stmt *insert;      /* INSERT INTO flows */
    struct flow_json_text json; /* the writer's JSON buffer, reused for each flow; after
                                   store_row_write its warn_codes/nwarn are the flow's */
    struct store_tls tls;      /* connections' TLS facts written once (store_tls.h) */
    z_stream zs[ZS_N];         /* the writer's deflate streams, one reset for each body */
    int zs_ready;              /* how many of zs are initialized */
    int zs_big_level;          /* zs[ZS_BIG]'s level now (a sampled body may leave it at 0) */
    struct store_health *health; /* the store's (borrowed): a failing body file is said there */
    char *side_path;           /* the body file: path + "-bodies" */
    int side_fd;               /* the body file, opened by store_row_open; -1 not yet, -2 unusable */
    int side_direct;           /* side_fd is O_DIRECT: writes go through side_bounce */
    unsigned char *side_bounce; /* SIDE_BOUNCE bytes aligned to SIDE_ALIGN */
    uint64_t side_end;         /* where the next body goes (aligned) */
    uint32_t null_params;      /* bit i: the insert's parameter i is bound to NULL now
                                  (store_row.c's bind_null) */
    uint32_t empty_params;     /* bit i: ... bound to "" now (bind_text_or_empty) */
    uint32_t kept_params;      /* bit i: parameter i holds kept_int[i] or kept_text[i] now
                                  (bind_int_kept, bind_static_kept) */
    sqlite3_int64 kept_int[32];
    const char *kept_text[32]; /* static strings only: compared by address */
    int busy;                  /* set by the store for each batch: flows come faster than one
                                  every few ms, so bodies up to 1 KiB go in raw (STORE_BUSY_RAW_MAX) */
};

/* Prepare the insert on db (the writer's connection, its schema in place; r->tls is opened by the
 * store in its opening transaction), the deflate streams, and open and lock the body file of the
 * session at path. r is zeroed but for side_fd = -1. Returns 0, -1 on OOM, -2 with SQLite's error
 * on db. store_row_close frees what was made either way. */
int store_row_open(struct store_row *r, sqlite3 *db, const char *path, struct store_health *health)
    HP_NONNULL(1, 2, 3, 4) HP_WUNRES;

/* Insert f as one row (inside the open transaction) with commit sequence number seq. Returns 0,
 * -1 with the reason logged (OOM), -2 when SQLite refused the row (its error is on the
 * connection, not logged: the caller tells a fault of the file from one of the flow). */
int store_row_write(struct store_row *r, struct flow *f, sqlite3_int64 seq) HP_NONNULL(1, 2);

/* Free what r holds (call before closing the connection). */
void store_row_close(struct store_row *r) HP_NONNULL(1);

#endif
