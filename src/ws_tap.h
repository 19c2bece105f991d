/* ws_tap.h — watching a WebSocket that the relay carries: created when a 101 answers a WebSocket
 * upgrade, it is shown each direction's bytes as they are relayed (ws_frame.h readers; nothing
 * is changed, held or delayed), hands each message to the store (store_messages.h) and, at the
 * end, how the socket ended (close frame or lost connection). One tap belongs to the worker
 * thread of its connection. */
#ifndef HTTPEEK_WS_TAP_H
#define HTTPEEK_WS_TAP_H

#include <event2/buffer.h>
#include "attrib.h"
#include "flow.h"
#include "proxy.h"

/* A socket stores at most this many --max-body worth of message data; later messages are counted
 * (the flow's ws.dropped), not stored. */
#define WS_TAP_FLOW_BODIES 16

struct ws_tap;

/* A tap for flow f (the request and its 101) when it is a WebSocket upgrade and messages can be
 * stored (p->ws_messages), else NULL. Numbers f (record_number) and sets its note; f is still
 * the caller's (record it next). Free with ws_tap_finish. */
struct ws_tap *ws_tap_new(struct proxy *p, struct flow *f) HP_NONNULL(1, 2);

/* The bytes in `in` (not consumed) came from the client (from_client = 1) or the server; call
 * before they are moved on. */
void ws_tap_feed(struct ws_tap *t, int from_client, struct evbuffer *in) HP_NONNULL(1, 3);

/* One side's connection ended (error: reset or another error, not an orderly close); the first
 * call is the one remembered. */
void ws_tap_leg_ended(struct ws_tap *t, int client_side, int error) HP_NONNULL(1);

/* The relay is over: record how the socket ended and free the tap. NULL allowed. */
void ws_tap_finish(struct ws_tap *t);

#endif
