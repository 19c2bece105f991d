/* web.h — the viewer and its JSON API on libevent's evhttp, on a thread of its own: embedded
 * web/ assets, /api/flows, /api/flows/{id}, bodies, /api/events (server-sent events fed by the
 * store's commit notifications), /api/har, DELETE /api/flows. Bound to 127.0.0.1 by default; a
 * non-loopback --web address requires the token printed at start-up. */
#ifndef HTTPEEK_WEB_H
#define HTTPEEK_WEB_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"
#include "store.h"

struct web;

/* Bind addr ("HOST:PORT") and start the web thread reading session file session_path.
 * token: NULL on loopback, else required as ?token= or "Authorization: Bearer". Returns NULL
 * with a one-line reason in err. Free with web_stop. */
struct web *web_start(const char *addr, const char *session_path, const char *token, char *err,
                      size_t errlen) HP_NONNULL(1, 2, 4) HP_WUNRES;

/* Thread-safe: tell live viewers that flows first_id..last_id are committed (a store_notify_fn
 * with arg = the web). */
void web_notify(uint64_t first_id, uint64_t last_id, void *web);

/* The URL the viewer is reachable at (borrowed until web_stop). */
const char *web_url(struct web *w) HP_NONNULL(1);

/* Stop the thread and free. NULL allowed. */
void web_stop(struct web *w);

#endif
