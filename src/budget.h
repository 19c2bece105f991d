/* budget.h — the process-wide memory budget (--memory-budget) for what httpeek holds on behalf of
 * exchanges: in-memory body captures (until their flow is freed, so flows queued for the store
 * count too), bodies held whole for a rewrite rule (rule_rewrite.c: past the budget the rule is
 * skipped for that flow and the body streamed on) and, through the per-connection share, the bytes queued towards a slow peer. One
 * struct budget, owned by main, shared by every thread (atomics); set up by budget_init before
 * the workers start.
 *
 * Fair split: each open client connection may hold up to budget_share() = the budget divided by
 * the open connections (by BUDGET_SHARE_DIV at least) and never under BUDGET_SHARE_FLOOR, so one
 * client or connection cannot take it all. */
#ifndef HTTPEEK_BUDGET_H
#define HTTPEEK_BUDGET_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include "attrib.h"

/* Default --memory-budget. */
#define BUDGET_DEFAULT (256u << 20)
/* Smallest --memory-budget accepted. */
#define BUDGET_MIN (4u << 20)
/* A connection's share never drops under this (so forwarding always moves). */
#define BUDGET_SHARE_FLOOR (16u << 10)
/* One connection alone gets at most this part (1/8) of the budget. */
#define BUDGET_SHARE_DIV 8

struct budget {
    atomic_size_t limit, used, peak; /* bytes: the budget, taken now, most ever taken */
    atomic_int conns;                /* client connections open */
    char spill_dir[PATH_MAX];        /* where captures past their share go (capture.h); "" none */
};

/* Set the budget (bytes; 0 means BUDGET_DEFAULT), reset the counters, no spill directory. */
void budget_init(struct budget *b, size_t limit) HP_NONNULL(1);

/* Directory for capture spill files (copied; NULL or "" = none). Returns 0, -1 when too long. */
int budget_set_spill_dir(struct budget *b, const char *dir) HP_NONNULL(1);

/* A client connection opened / closed: the share is split between the open ones. */
void budget_conn_open(struct budget *b) HP_NONNULL(1);
void budget_conn_close(struct budget *b) HP_NONNULL(1);

/* What one connection may hold now (see the header comment). */
size_t budget_share(struct budget *b) HP_NONNULL(1);

/* Take n bytes when they fit in the budget: 1 taken, 0 not (nothing taken). */
int budget_take(struct budget *b, size_t n) HP_NONNULL(1);

/* Give back n bytes taken before. */
void budget_give(struct budget *b, size_t n) HP_NONNULL(1);

/* 1 when more than 7/8 of the budget is taken: senders must slow down rather than buffer. */
int budget_tight(struct budget *b) HP_NONNULL(1);

/* Bytes a connection may queue towards one slow peer before it stops reading the other side:
 * at most max (the fixed limit), half its share, the floor share when the budget is tight;
 * max when b is NULL (no budget). */
size_t budget_outbuf_max(struct budget *b, size_t max);

/* Parse a byte count with an optional K, M or G suffix (powers of 1024; "256M", "1G",
 * "65536"). 0 with *out set, -1 on anything else (overflow, junk, negative). */
int budget_parse_size(const char *s, size_t *out);

#endif
