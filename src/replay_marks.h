/* replay_marks.h — which client connections are httpeek's own repeats and composed requests
 * (replay.c), so the flows they make are marked "_replay_of" / "_composed". A connection is
 * named by its client-side address and port: replay.c registers them once connected, before it
 * sends a byte, and holds the socket open until it unregisters them, so no other connection can
 * have that address and port meanwhile — a captured client cannot make its flows look like
 * repeats. Thread-safe: workers look up (session_flow_new) and report ids (record_flow); the
 * web thread adds and removes. */
#ifndef HTTPEEK_REPLAY_MARKS_H
#define HTTPEEK_REPLAY_MARKS_H

#include <stdint.h>
#include "attrib.h"

struct event;
struct flow;
struct replay_marks;

/* A new empty registry; NULL on OOM. */
struct replay_marks *replay_marks_new(void) HP_WUNRES;

/* Free (no entry may be left in use). NULL allowed. */
void replay_marks_free(struct replay_marks *m);

/* Register the connection from addr:port (IP text as own_client_address writes it): its flows
 * get replay_of (0: none) and composed. recorded (may be NULL) is activated, from the recording
 * thread, when its first flow gets an id. Returns 0, -1 on OOM. */
int replay_marks_add(struct replay_marks *m, const char *addr, int port, uint64_t replay_of,
                     int composed, struct event *recorded) HP_NONNULL(1, 2);

/* Unregister addr:port; returns the id of its first recorded flow (0: none yet). */
uint64_t replay_marks_remove(struct replay_marks *m, const char *addr, int port) HP_NONNULL(1, 2);

/* The id of addr:port's first recorded flow, 0 when none (yet) or not registered. */
uint64_t replay_marks_recorded_id(struct replay_marks *m, const char *addr, int port)
    HP_NONNULL(1, 2);

/* Worker: mark a new flow (f->client_addr, f->client_port) when its connection is registered. */
void replay_marks_flow(struct replay_marks *m, struct flow *f) HP_NONNULL(1, 2);

/* Worker: f (marked, numbered) is being recorded: remember its id for its connection. */
void replay_marks_recorded(struct replay_marks *m, const struct flow *f) HP_NONNULL(1, 2);

#endif
