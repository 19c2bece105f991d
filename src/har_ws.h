/* har_ws.h — the WebSocket part of a HAR entry, as Chrome writes it: _resourceType "websocket"
 * and _webSocketMessages [{type: "send"|"receive", time: epoch seconds, opcode: 1|2, data: the
 * text, or base64 for binary}] (data messages only, like Chrome; control frames are in the API).
 * Runs on the HAR writer's thread with its reader. */
#ifndef HTTPEEK_HAR_WS_H
#define HTTPEEK_HAR_WS_H

#include <jansson.h>
#include "attrib.h"
#include "store.h"

/* When detail d is a WebSocket flow (it has a "ws" object), add those fields to HAR entry e.
 * Returns 0, or -1 on a store error. */
int har_ws_add(struct store_reader *r, json_t *d, json_t *e) HP_NONNULL(1, 2, 3);

#endif
