/* queue.h — an unbounded multi-producer, single-consumer queue of pointers guarded by a mutex and
 * a condition variable: proxy workers push finished flows (never blocking on the consumer), the
 * store's writer thread takes them out in batches. */
#ifndef HTTPEEK_QUEUE_H
#define HTTPEEK_QUEUE_H

#include <stddef.h>
#include "attrib.h"

struct queue;

/* New empty queue. Returns NULL on OOM. Free with queue_free. */
struct queue *queue_new(void) HP_WUNRES;

/* Free the queue (not the items still in it: drain it first). NULL allowed. */
void queue_free(struct queue *q);

/* Append item (ownership passes to whoever pops it). Returns 0, -1 on OOM or after queue_close. */
int queue_push(struct queue *q, void *item) HP_NONNULL(1, 2);

/* Take up to max items (oldest first) into items, waiting up to timeout_ms (< 0: forever) for
 * the first one; once there is one and fewer than gather, wait up to linger_ms more for gather
 * (pushes wake the consumer only when what it waits for is there). Returns how many were taken;
 * 0 on timeout or when closed and empty. */
size_t queue_pop(struct queue *q, void **items, size_t max, int timeout_ms, size_t gather,
                 int linger_ms) HP_NONNULL(1, 2);

/* Refuse further pushes and wake the consumer; items already queued can still be popped. */
void queue_close(struct queue *q) HP_NONNULL(1);

/* 1 when queue_close was called and nothing is left. */
int queue_finished(struct queue *q) HP_NONNULL(1);

/* Items waiting now. */
size_t queue_length(struct queue *q) HP_NONNULL(1);

#endif
