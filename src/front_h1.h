/* front_h1.h — the HTTP/1.x front of a session (session.h): reads requests with llhttp on the
 * client leg one at a time (pipelined requests wait in the client's input, bounded by
 * LEG_INBUF_MAX, so responses go back in order: RFC 9112 §9.3.2), runs each as an exchange
 * (exchange.h), re-frames the response for this client (chunked for an until-EOF body to an
 * HTTP/1.1 client, until-EOF for HTTP/1.0), answers httpeek's own pages, hands CONNECT to the
 * session's tunnel and a 101 to its relay. Its state lives in the session (front_state), on the
 * session's worker thread. */
#ifndef HTTPEEK_FRONT_H1_H
#define HTTPEEK_FRONT_H1_H

#include "session.h"

/* The front for session_accept (and for a tunnel whose client speaks HTTP/1.1). */
extern const struct session_front front_h1;

#endif
