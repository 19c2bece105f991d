/* front_h2.h — the HTTP/2 front of a session (session.h), run when a tunnel's client chose ALPN
 * h2 (--http2=yes): an h2_server engine (h2_server.h) on the client leg, one exchange
 * (exchange.h) per stream, each with its own flow and its own uplink to an HTTP/1.1 server (the
 * session's uplink, the tunnel's early upstream leg, serves one stream at a time; the others
 * connect or take a pooled connection, pool.h). Requests are routed by :authority; a name the
 * minted leaf does not cover is answered 421. Back-pressure: a stream's request window goes back
 * to the client only once the uplink took the bytes; a full response queue pauses that stream's
 * uplink. Each stream has its own deadline. Its state is allocated by start (front_state), freed
 * with the session, on the session's worker thread. */
#ifndef HTTPEEK_FRONT_H2_H
#define HTTPEEK_FRONT_H2_H

#include "session.h"

/* The front a tunnel hands its client leg to when the client negotiated h2. */
extern const struct session_front front_h2;

#endif
