/* mailbox.h — how another thread asks a worker to do something on the worker's own thread.
 *
 * A worker's event_base is made with EVENT_BASE_FLAG_NOLOCK (worker.c): only its thread may touch
 * it or anything on it (events, bufferevents, connections). Other threads (the resolver pool, the
 * web thread acting on a breakpoint, main stopping the worker) post a message instead; the worker
 * runs it from its loop, in the order posted, each message once per post.
 *
 * Ownership: a message (struct mailbox_msg) is embedded in the poster's object and owned by it;
 * the mailbox only links it. It must stay valid until it has run or the owner thread cancelled
 * it (mailbox_cancel), which every object holding a message does before it is freed. Posting a
 * message that is still queued does nothing (it runs once), as event_active on an active event.
 * Thread: mailbox_post from any thread; everything else on the owner's thread (mailbox_new and
 * mailbox_free also before the thread starts / after it ended). A stopping worker closes its
 * mailbox (mailbox_close) after its connections are gone: queued messages are dropped unrun and
 * later posts are refused. */
#ifndef HTTPEEK_MAILBOX_H
#define HTTPEEK_MAILBOX_H

#include <stddef.h>
#include <event2/event.h>
#include "attrib.h"

struct mailbox;

struct mailbox_msg {
    void (*fn)(void *arg);     /* run on the owner's thread */
    void *arg;
    struct mailbox_msg *next;  /* under the mailbox's lock */
    int queued;                /* under the mailbox's lock */
};

/* Set msg up to run fn(arg) (not queued). */
void mailbox_msg_init(struct mailbox_msg *msg, void (*fn)(void *arg), void *arg) HP_NONNULL(1, 2);

/* A mailbox whose messages run from base's loop (an eventfd watched there). NULL on failure. */
struct mailbox *mailbox_new(struct event_base *base) HP_NONNULL(1) HP_WUNRES;

/* Free it (its loop no longer runs; queued messages are dropped unrun). NULL allowed. */
void mailbox_free(struct mailbox *mb);

/* Any thread: queue msg and wake the owner's loop. 0 queued (or already queued), -1 the mailbox
 * is closed (msg will not run). */
int mailbox_post(struct mailbox *mb, struct mailbox_msg *msg) HP_NONNULL(1, 2);

/* Owner thread: take msg out if it is queued (it will not run). */
void mailbox_cancel(struct mailbox *mb, struct mailbox_msg *msg) HP_NONNULL(1, 2);

/* Owner thread: run the queued messages now (the loop does this when woken). Returns how many. */
size_t mailbox_run(struct mailbox *mb) HP_NONNULL(1);

/* Owner thread: drop what is queued (unrun) and refuse later posts. */
void mailbox_close(struct mailbox *mb) HP_NONNULL(1);

/* The mailbox of the calling thread's worker (mailbox_set_current), or NULL on any other thread
 * (whose base, if any, is thread-safe: use event_active there). */
struct mailbox *mailbox_current(void);
void mailbox_set_current(struct mailbox *mb);

#endif
