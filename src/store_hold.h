/* store_hold.h — the flows that wait in memory while the session file cannot be written (disk
 * full, read-only, ...), bounded in count and bytes, to be written first once it can be again.
 * Owned and used by the store's writer thread only (no locking). The store keeps counting held
 * flows as queued memory (store_backlogged); these functions only say how much they let go. */
#ifndef HTTPEEK_STORE_HOLD_H
#define HTTPEEK_STORE_HOLD_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"

struct flow;

/* At most this many flows wait, holding at most STORE_HOLD_BYTES (flow_mem_size). */
#define STORE_HOLD_FLOWS 256u
#define STORE_HOLD_BYTES (16u << 20)
/* Free space a full disk needs beyond the held flows' size before they are tried again (WAL
 * frames, page and alignment rounding). */
#define STORE_HOLD_MARGIN (1u << 20)

struct store_hold {
    struct flow **flows; /* STORE_HOLD_FLOWS slots; flows[0..n) wait, oldest first */
    size_t n;
    size_t bytes;        /* their flow_mem_size */
};

/* Make the slots. Returns 0, -1 on OOM. */
int store_hold_init(struct store_hold *h) HP_NONNULL(1) HP_WUNRES;

/* Free every waiting flow and the slots; returns how many flows were freed. */
size_t store_hold_destroy(struct store_hold *h) HP_NONNULL(1);

/* Take what fits of fl[0..n) (each taken fl[i] set to NULL, the rest stay the caller's).
 * Returns how many were taken. */
size_t store_hold_take(struct store_hold *h, struct flow **fl, size_t n) HP_NONNULL(1);

/* Move every waiting flow to out (room for h->n), oldest first, emptying the hold; returns how
 * many. */
size_t store_hold_release(struct store_hold *h, struct flow **out) HP_NONNULL(1);

/* Free space on the file system of path in bytes, or UINT64_MAX when it cannot be told. */
uint64_t store_hold_space(const char *path) HP_NONNULL(1);

/* Free the newest waiting flows until the rest plus STORE_HOLD_MARGIN fit in avail bytes.
 * Returns how many were dropped; *freed gets their flow_mem_size. */
size_t store_hold_fit(struct store_hold *h, uint64_t avail, size_t *freed) HP_NONNULL(1, 3);

#endif
