/* worker.h — one thread with its own event_base and resolver, accepting on the proxy
 * address(es) with SO_REUSEPORT; every connection it accepts lives and dies on this thread. */
#ifndef HTTPEEK_WORKER_H
#define HTTPEEK_WORKER_H

#include <stddef.h>
#include "attrib.h"
#include "proxy.h"

struct worker;

/* Create a worker bound to every --listen address (or the defaults). Returns NULL with a one-line
 * reason in err (e.g. address in use). Caller frees with worker_free. */
struct worker *worker_new(struct proxy *proxy, int index, char *err, size_t errlen)
    HP_NONNULL(1, 3) HP_WUNRES;

/* Start the worker's thread. Returns 0, or -1 with a reason in err. */
int worker_start(struct worker *w, char *err, size_t errlen) HP_NONNULL(1, 2);

/* Ask the worker to stop accepting, let its exchanges finish within a grace period and leave
 * its loop (thread-safe; returns at once). */
void worker_request_stop(struct worker *w) HP_NONNULL(1);

/* worker_request_stop, then wait for the thread to end. */
void worker_stop(struct worker *w) HP_NONNULL(1);

/* Free a stopped (or never started) worker. NULL allowed. */
void worker_free(struct worker *w);

/* The addresses actually bound by w, as "HOST:PORT" strings joined by ", " into buf. */
void worker_describe(struct worker *w, char *buf, size_t buflen) HP_NONNULL(1, 2);

#endif
