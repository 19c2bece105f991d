/* store_health.h — whether the session is being recorded: "ok", or "failing" for a reason (the
 * disk is full, the file system is read-only, the session file was deleted, an I/O error) since a
 * time, with the count of flows not recorded since then. The proxy goes on either way; this is
 * how the failure is said out loud (terminal, API, viewer banner) without a line per flow.
 *
 * Thread: the store's writer thread reports (store_health_failed / _recorded); any thread reads
 * (store_health_json, store_health_changes). A mutex guards the state. No I/O here except the
 * stat calls of store_health_classify; the caller prints the lines it is handed. */
#ifndef HTTPEEK_STORE_HEALTH_H
#define HTTPEEK_STORE_HEALTH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "attrib.h"

/* Seconds between two terminal lines about the same failure (the first is said at once). */
#define STORE_HEALTH_SAY_S 60

enum store_fault {
    STORE_FAULT_NONE,     /* recording */
    STORE_FAULT_FULL,     /* SQLITE_FULL, ENOSPC, EDQUOT */
    STORE_FAULT_READONLY, /* SQLITE_READONLY, EROFS, EACCES, EPERM */
    STORE_FAULT_DELETED,  /* the session file is gone from its directory (nlink 0, or the path
                             names another file or none) */
    STORE_FAULT_IO,       /* any other error writing the file */
};

struct store_health {
    pthread_mutex_t mu;
    enum store_fault fault;      /* STORE_FAULT_NONE while recording */
    time_t since;                /* when this failure began (wall clock) */
    uint64_t lost;               /* flows of this failure dropped for good */
    uint64_t waiting;            /* flows held in memory to be written when it resumes */
    uint64_t lost_total;         /* flows dropped for good since the store opened */
    char error[256];             /* the last error text ("database or disk is full") */
    time_t said;                 /* when the terminal was last told of this failure */
    uint64_t changes;            /* bumped at every change of the fields above */
    time_t side_said;            /* when a body file failure was last said (0: never) */
};

/* Set up h: state ok, nothing lost. */
void store_health_init(struct store_health *h) HP_NONNULL(1);

/* Free what init made. */
void store_health_destroy(struct store_health *h) HP_NONNULL(1);

/* Which fault a failed write is: sqlite_rc (SQLite's primary result code, 0 when none),
 * err_no (the OS errno behind it, 0 when unknown), fd (the open session file, -1 when unknown)
 * and path (its name) are looked at, the file's presence first. STORE_FAULT_NONE when rc says
 * the failure is about the flow itself (too big, constraint), not the file. */
enum store_fault store_health_classify(int sqlite_rc, int err_no, int fd, const char *path);

/* Whether the open file fd is still the one at path (1), or was deleted or replaced (0).
 * An fd of -1 or a failed fstat counts as still there. */
int store_health_file_present(int fd, const char *path);

/* The fault's name in the API ("disk_full", "read_only", "deleted", "io_error", "" for none). */
const char *store_fault_code(enum store_fault f);

/* The fault in words for people ("disk full", "read-only", "deleted", "I/O error", "ok"). */
const char *store_fault_words(enum store_fault f);

/* A batch could not be recorded at now for fault (not NONE) with error (NULL: the last one
 * stays): nlost of its flows are dropped for good, and waiting flows in all are now held to be
 * written later. Returns 1 with a line for the terminal in line when it should be said now (the
 * failure began or changed reason, or STORE_HEALTH_SAY_S have passed since it was last said),
 * else 0. */
int store_health_failed(struct store_health *h, enum store_fault fault, const char *error,
                        uint64_t nlost, uint64_t waiting, time_t now, const char *path, char *line,
                        size_t linelen) HP_NONNULL(1, 7, 8);

/* A batch was recorded at now, with the flows that had waited in it. Returns 1 with a line
 * saying recording resumed (how many flows waited and were recorded, how many were lost) when
 * it was failing, else 0. */
int store_health_recorded(struct store_health *h, time_t now, const char *path, char *line,
                          size_t linelen) HP_NONNULL(1, 3, 4);

/* The body file could not be written (err_no) at now: returns 1 when that should be said now
 * (the first time, then at most every STORE_HEALTH_SAY_S); the body goes in its row instead. */
int store_health_side_failed(struct store_health *h, time_t now) HP_NONNULL(1);

/* The state as a new JSON object (caller json_decref), NULL on OOM:
 * {state: "ok"|"failing", reason: store_fault_code, reason_text: store_fault_words,
 *  since: "ISO-8601 UTC" or "", not_recorded (flows of this failure not in the file: lost or
 *  waiting), waiting (of those, held in memory and written when recording resumes),
 *  not_recorded_total (flows lost for good since the store opened), last_error}. */
json_t *store_health_json(struct store_health *h) HP_NONNULL(1);

/* A counter that changes whenever the state does (for pollers). */
uint64_t store_health_changes(struct store_health *h) HP_NONNULL(1);

#endif
