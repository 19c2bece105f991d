/* capture.h — where a flow's body capture (struct flow_capture, below; a flow holds two) keeps its bytes: in
 * memory while its connection's share of the memory budget (capture.budget, budget.h) allows,
 * else in a spill file of its own (unnamed, in the budget's spill_dir: the session's directory)
 * written as the bytes arrive; when neither is possible the capture stops there, marked cut
 * ("memory budget"), and forwarding goes on unchanged. Without a budget (NULL) a capture stays
 * in memory up to its max. flow_capture_add runs on the flow's worker; capture_map and
 * capture_unmap on the thread that holds the flow afterwards (the store's writer). */
#ifndef HTTPEEK_CAPTURE_H
#define HTTPEEK_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"

/* A capped copy of a body: forwarding never waits on it. Its bytes are in memory (data) or, past
 * its connection's share of the memory budget, in a spill file (below). */
struct budget;
struct flow_capture {
    char *data;       /* captured bytes (owned; NULL once spilled, until capture_map) */
    size_t len, cap;  /* bytes captured (in memory or spilled), bytes allocated */
    size_t max;       /* capture limit */
    uint64_t total;   /* body bytes seen (after de-chunking), captured or not */
    int truncated;    /* 1 when total > max, or when cut */
    const char *cut;  /* static: why the capture stopped before max ("memory budget"), or NULL */
    struct budget *budget; /* the memory budget it takes from (borrowed; NULL: none) */
    size_t charged;   /* bytes of data taken from that budget */
    int spilled;      /* 1: the len bytes are in spill_fd, from offset 0 */
    int spill_fd;     /* the spill file when spilled */
    int mapped;       /* 1: data is capture_map's read-only mapping of the spill file */
    uint64_t expect;  /* body length the head announced (Content-Length), 0: unknown */
    unsigned align_off; /* data is this far into its malloc'd block (aligned: capture.c) */
    size_t block_size; /* that block's malloc'd size when allocated aligned (0: a plain block) */
};

/* Keep up to cap->max bytes of a body; count all. Never fails the exchange: when neither memory
 * nor a spill file can take the bytes, the capture is cut (capture.c). */
void flow_capture_add(struct flow_capture *cap, const char *data, size_t len) HP_NONNULL(1);

/* The body will be length bytes (its head's Content-Length): the first allocation takes what
 * will be captured at once, so a big body is not copied again at every doubling, and one of
 * CAPTURE_ALIGN_MIN bytes or more starts at a CAPTURE_ALIGN boundary, so the store writes it to
 * the body file with O_DIRECT straight from memory. Before the first flow_capture_add. */
void flow_capture_expect(struct flow_capture *cap, uint64_t length) HP_NONNULL(1);
#define CAPTURE_ALIGN 4096u
#define CAPTURE_ALIGN_MIN (64u << 10)

/* A big aligned block (a body the head announced, CAPTURE_SPARE_MIN to CAPTURE_SPARE_MAX bytes)
 * is not freed with its capture but kept, one for the whole process, for the next such capture
 * on any thread: a download after a download reuses memory already in place instead of glibc
 * handing the freed block back (heap trim) and the kernel zero-filling it again page by page on
 * the next copy (190-390 page faults per 10 MiB download on the worker, about half that with the
 * spare: a writer two flows behind still needs a third block). Like glibc's own kept free
 * memory, the spare is not charged to the budget; it is freed when a capture's take fails. */
#define CAPTURE_SPARE_MIN (1u << 20)
#define CAPTURE_SPARE_MAX (64u << 20)

/* Captures that took the spare block instead of a new allocation, since the start (tests). */
unsigned long capture_spare_reuses(void);

/* Free the spare block, if one is kept (tests, and before a take that fails). */
void capture_spare_drop(void);

/* flow_capture.cut of a capture stopped because memory was short and it could not spill. */
#define CAPTURE_CUT_BUDGET "memory budget"

/* Free what a capture holds (memory, spill file, mapping) and give its bytes back to the budget;
 * the capture is empty afterwards. */
void capture_release(struct flow_capture *c) HP_NONNULL(1);

/* Make a spilled capture's bytes readable at c->data (c->len bytes, read-only mapping) until
 * capture_unmap; nothing to do for one in memory. Returns 0, -1 when the file cannot be mapped
 * (the capture is then empty and marked cut). */
int capture_map(struct flow_capture *c) HP_NONNULL(1);

/* Undo capture_map (the spill file stays). */
void capture_unmap(struct flow_capture *c) HP_NONNULL(1);

#endif
