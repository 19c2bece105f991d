/* pool.h — a worker's idle upstream TLS connections, kept after their client connection ended so
 * the next CONNECT to the same server skips the TCP connect and the TLS handshake (apps and
 * browsers open a new tunnel per connection, often per request). Keyed by the CONNECT host:port
 * and the server name used for the handshake; only connections that verified, finished their
 * last exchange cleanly and have nothing buffered are kept. An idle connection the server closes
 * or writes to is dropped at once; none is kept longer than the pool's idle time. One event loop
 * only: no locks. */
#ifndef HTTPEEK_POOL_H
#define HTTPEEK_POOL_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "attrib.h"
#include "flow.h"
#include "tls_facts.h"

/* Most idle connections per server and per worker. */
#define POOL_PER_KEY 8
#define POOL_MAX 256

struct pool;

/* A pooled connection handed back by pool_take (the caller owns bev and ssl with it). */
struct pool_conn {
    struct bufferevent *bev;    /* TLS bufferevent, callbacks cleared, reading disabled */
    SSL *ssl;                   /* its SSL (owned by bev) */
    struct tls_facts tls;       /* facts of the handshake that made it (owned) */
    char server_ip[64];
};

/* A pool for the worker running base whose connections are kept at most idle_s seconds (--upstream-
 * idle; servers close theirs after 60-75 s: nginx's keepalive_timeout is 75 s). NULL on OOM. */
struct pool *pool_new(struct event_base *base, double idle_s) HP_WUNRES;

/* Close every pooled connection and free the pool. NULL allowed. */
void pool_free(struct pool *p);

/* 1 when an idle connection of client to host:port is pooled (any server name). */
int pool_has(struct pool *p, const char *client, const char *host, int port) HP_NONNULL(1, 2, 3);

/* Take the newest idle connection of client to host:port made for server name sni into out.
 * Returns 1, or 0 when there is none. */
int pool_take(struct pool *p, const char *client, const char *host, int port, const char *sni,
              struct pool_conn *out) HP_NONNULL(1, 2, 3, 5, 6);

/* Keep bev (TLS, idle, output and input empty) for client and host:port/sni; the pool owns it
 * and conn's facts from now on (conn->tls is left empty; all is freed at once when the pool is
 * full or on OOM). */
void pool_put(struct pool *p, const char *client, const char *host, int port, const char *sni,
              struct pool_conn *conn) HP_NONNULL(1, 2, 3, 5, 6);

#endif
