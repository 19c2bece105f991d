/* relay.h — the opaque byte relay between a session's two legs (a tunnel that is not
 * intercepted, or a connection after 101 Switching Protocols): bytes go across untouched, with
 * back-pressure both ways, counted into each leg's bytes_in. Owned by the session that holds the
 * legs (embedded in it), run on its worker thread; the first leg to end asks the owner to close
 * after flushing (half-open relays are not kept). This is the one place relayed bytes pass: a
 * tap on them (WebSocket messages) goes in relay.c's relay_read. */
#ifndef HTTPEEK_RELAY_H
#define HTTPEEK_RELAY_H

#include <stdint.h>
#include "attrib.h"
#include "flow.h"
#include "leg.h"

struct relay;

/* One direction's end: the leg read from, and its peer. */
struct relay_side {
    struct relay *relay;
    struct leg *leg, *other;
};

struct ws_tap;

struct relay {
    struct relay_side side[2];      /* [0] client leg, [1] upstream leg */
    struct ws_tap *tap;             /* after a WebSocket 101: shown every relayed byte (ws_tap.h);
                                     * set by the owner before relay_start, freed by the owner */
    struct flow **note_flow;        /* where a reset is noted (the owner's slot; may hold NULL) */
    uint64_t *activity;             /* the owner's last-activity stamp (monotonic µs) */
    void (*ended)(void *arg);       /* a leg ended: the owner closes, flushing the other */
    void *arg;
};

/* Start relaying between client and upstream (either may be unconnected: its bytes are then
 * dropped); bytes already buffered behind a CONNECT or a 101 go across now. */
void relay_start(struct relay *r, struct leg *client, struct leg *upstream, struct flow **note_flow,
                 uint64_t *activity, void (*ended)(void *arg), void *arg) HP_NONNULL(1, 2, 3, 4, 5, 6);

#endif
