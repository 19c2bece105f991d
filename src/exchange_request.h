/* exchange_request.h — an exchange's request on its way upstream: the connection there (made,
 * reused, or a stream of a shared HTTP/2 one), the head, then the body and its end (the
 * calls a front or a policy makes while the request goes, and those exchange.c makes).
 * On the exchange's worker thread. */
#ifndef HTTPEEK_EXCHANGE_REQUEST_H
#define HTTPEEK_EXCHANGE_REQUEST_H

#include "attrib.h"
#include "exchange_state.h"

/* Make sure an upstream connection to host:port (tls) is there or coming: 0, or -1 (out of
 * memory, or no connection can be started; the caller fails ex). */
int exchange_ensure_upstream(struct exchange *ex, const char *host, int port, int tls)
    HP_NONNULL(1, 2);

/* Queue the request head towards upstream (now, or once connected): 0, or -1. */
int exchange_send_request_head(struct exchange *ex, const char *path, const char *host_field)
    HP_NONNULL(1, 2);

/* A request a breakpoint held (ex->bp, now NULL) goes on: to scheme://host:port path with Host
 * host_field (NULL: the request's own), its body (the request's whole body; framed by
 * ex->flow->req) queued after the head. 0, or -1 when it failed (answered through ops->fail). */
int exchange_resume_request(struct exchange *ex, const char *scheme, const char *host, int port,
                            const char *path, const char *host_field, const char *body,
                            size_t len) HP_NONNULL(1, 2, 3, 5);

/* Request body bytes from the client (already captured). */
enum exchange_body exchange_req_body(struct exchange *ex, const char *data, size_t len)
    HP_NONNULL(1);

/* The whole request arrived (its end is queued like body bytes). */
enum exchange_body exchange_req_end(struct exchange *ex) HP_NONNULL(1);

/* A policy that held the request (req_holding) sends its head now, to path with Host host_field
 * (NULL: the request's own), framed as f->req says. 0, or -1 when the exchange failed. */
int exchange_req_send_head(struct exchange *ex, const char *path, const char *host_field)
    HP_NONNULL(1, 2);

#endif
