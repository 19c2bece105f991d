/* store_checkpoint.h — the session file's WAL checkpoints, off the store writer's commit path.
 *
 * SQLite checkpoints from inside COMMIT by default: the committing thread copies the WAL into the
 * database file and fdatasyncs both (13-73 ms every 1,000 frames under load), and meanwhile no
 * flow is written. Here a thread of its own, on a connection of its own, runs a PASSIVE
 * checkpoint whenever the writer's commits have added STORE_CKPT_STEP bytes of WAL past
 * STORE_CKPT_MARK, alongside the writer's next commits, then drops the file's pages from the
 * page cache. The WAL starts over from its beginning only at a writer's BEGIN that finds every
 * frame copied; a writer that never pauses never gives the checkpointer that moment, so at
 * STORE_CKPT_HIGH the writer copies what is left itself, in its commit (what came during the
 * checkpointer's last run, and two fsyncs: once per STORE_CKPT_HIGH of WAL instead of SQLite's
 * every 1,000 frames). While a run is in progress the writer goes on up to a quarter past the
 * mark, then waits for the run to end. The WAL therefore stays under 1.25 x STORE_CKPT_HIGH plus
 * a batch, however slow the disk, unless a reader keeps an old snapshot: no checkpoint can pass
 * its frames, so the WAL grows for as long as that read lasts (the writer tries again every
 * STORE_CKPT_STEP; the viewer's reads are short, a HAR export's statement lasts the export).
 * Crash safety is SQLite's: a checkpoint never loses a committed transaction wherever it stops.
 *
 * Threads: store_checkpoint_start / _stop on the store's owner; store_checkpoint_committed on the
 * writer thread only (SQLite's WAL hook of the writer's connection); _get from any thread. */
#ifndef HTTPEEK_STORE_CHECKPOINT_H
#define HTTPEEK_STORE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "attrib.h"

/* WAL bytes past which the checkpointer runs, every how many more, and where the writer copies
 * the rest itself (divided by the file's page size: frames; 16 MiB = SQLite's 1,000 frames of
 * this store's 16 KiB pages). */
#define STORE_CKPT_MARK (16u << 20)
#define STORE_CKPT_STEP (4u << 20)
#define STORE_CKPT_HIGH (64u << 20)

struct store_checkpoint;

struct store_checkpoint_stats {
    uint64_t runs;         /* checkpoints the checkpointer thread ran */
    uint64_t writer_runs;  /* checkpoints the writer ran itself at the high mark */
    uint64_t frames_max;   /* the most WAL frames any commit left */
    uint64_t high_frames;  /* the high mark in frames of this file */
};

/* Start the checkpointer of the session file at path (already in WAL mode, page_size bytes per
 * page) on its own connection and thread. db_fd: a descriptor of the file for posix_fadvise, or
 * -1. NULL with err filled when it cannot (the caller then checkpoints in its commits). */
struct store_checkpoint *store_checkpoint_start(const char *path, int page_size, int db_fd,
                                                char *err, size_t errlen) HP_NONNULL(1, 4);

/* The writer committed and the WAL holds frames frames (SQLite's WAL hook arguments): wake the
 * checkpointer, or at the high mark copy the rest on the writer's connection db. */
void store_checkpoint_committed(struct store_checkpoint *c, sqlite3 *db, const char *name,
                                int frames) HP_NONNULL(1, 2, 3);

void store_checkpoint_get(struct store_checkpoint *c, struct store_checkpoint_stats *out)
    HP_NONNULL(1, 2);

/* Stop the thread (a run in progress finishes), close its connection, free. NULL allowed. */
void store_checkpoint_stop(struct store_checkpoint *c);

#endif
