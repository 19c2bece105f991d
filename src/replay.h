/* replay.h — httpeek sending requests itself (Repeat, edit and resend, compose: issue 20) the way
 * any client does: it connects to its own proxy listener (on loopback when that listens on every
 * address), sends the request in absolute form for http://, or CONNECT then TLS (trusting
 * httpeek's own CA, HTTP/1.1) then the request for https://, and reads the response to its end.
 * So rules, diagnosis and recording apply as to any client, and the proxy records the flow; the
 * connection is registered in replay_marks (replay_marks.h) before its first byte, which marks
 * the flow "_replay_of" / "_composed" and tells us its id.
 *
 * Runs on the caller's event base (the web thread's). Limits: a batch is 1..1000 requests, at
 * most 32 at once; at most 8 batches run at once and their request bodies (one copy a batch,
 * shared by its requests; responses are read and dropped: the proxy keeps what it captures) add
 * up to at most 64 MiB. A connection that stays silent 60 s fails. */
#ifndef HTTPEEK_REPLAY_H
#define HTTPEEK_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "attrib.h"
#include "replay_spec.h"

struct event_base;
struct replay;
struct replay_marks;

#define REPLAY_MAX_COUNT 1000
#define REPLAY_MAX_CONCURRENCY 32
#define REPLAY_MAX_DELAY_MS 60000
#define REPLAY_MAX_BATCHES 8
#define REPLAY_MAX_BODY_BYTES (64u << 20) /* all running batches' request bodies together */

/* A batch ended: ids of the flows recorded, in the order their requests started (a request that
 * made no flow — httpeek could not reach its own listener — has none: nerrors counts them and
 * error is the first one's reason, else NULL). Borrowed for the call. */
typedef void (*replay_done_fn)(void *arg, const uint64_t *ids, size_t nids, size_t nerrors,
                               const char *error);

/* A sender on base, connecting to the first of proxy_addrs ("127.0.0.1:8080, [::1]:8080": what
 * worker_describe writes; 0.0.0.0 and :: are reached on loopback) and trusting ca (a
 * reference is taken). NULL with a reason in err. */
struct replay *replay_new(struct event_base *base, struct replay_marks *marks,
                          const char *proxy_addrs, X509 *ca, char *err, size_t errlen)
    HP_NONNULL(1, 2, 3, 4, 5) HP_WUNRES;

/* Send spec (taken, checked with replay_spec_check) count times, at most concurrency at once,
 * starting one at most every delay_ms; the flows get replay_of (0: none) and composed. done
 * runs once when all ended. Returns 0; -1 with a reason in err (spec is freed) when too many
 * batches or too many body bytes are in flight (try later), or on OOM. */
int replay_start(struct replay *r, struct replay_spec *spec, unsigned count, unsigned concurrency,
                 unsigned delay_ms, uint64_t replay_of, int composed, replay_done_fn done,
                 void *arg, char *err, size_t errlen) HP_NONNULL(1, 2, 8, 10);

/* Stop every batch (each done runs with what it had, error "httpeek is shutting down") and
 * free. NULL allowed. */
void replay_free(struct replay *r);

#endif
