/* setup.h — the pages httpeek serves itself: a plain (non-proxy) request to the proxy port, or a
 * proxied request to http://httpeek.test/, gets the setup page and the CA downloads. Only public
 * material is ever served here (never flows, never the CA key). */
#ifndef HTTPEEK_SETUP_H
#define HTTPEEK_SETUP_H

#include <event2/buffer.h>
#include "attrib.h"
#include "ca.h"

/* The host name that always means httpeek itself. */
#define SETUP_HOST "httpeek.test"

/* Append a complete response for path (origin-form, query ignored) to out; returns its status.
 * close adds "Connection: close". */
int setup_respond(struct evbuffer *out, const char *path, int head_only, struct ca *ca, int close)
    HP_NONNULL(1, 2, 4);

#endif
