/* pool.c — see pool.h. A list of idle connections, newest first (a few hundred at most, searched
 * once per CONNECT); a timer every few seconds drops the ones idle too long. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include "leg.h"
#include "log.h"
#include "tls_facts.h"

/* How often idle connections are checked for age (s). */
#define POOL_SWEEP_S 5

struct pool_entry {
    struct pool_entry *prev, *next;
    struct pool *pool;
    char client[64];
    char host[256];
    int port;
    char sni[256];
    uint64_t idle_since; /* monotonic µs */
    struct pool_conn conn;
};

struct pool {
    struct event_base *base;
    struct event *sweep;
    uint64_t idle_us;        /* longest an entry is kept */
    struct pool_entry *head; /* newest first */
    size_t n;
};

static void unlink_entry(struct pool_entry *e)
{
    struct pool *p = e->pool;
    if (e->prev)
        e->prev->next = e->next;
    else
        p->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    p->n--;
    if (!p->n)
        event_del(p->sweep); /* nothing to age: no wake-ups while the pool is empty */
}

static void drop(struct pool_entry *e, const char *why)
{
    log_msg(LOG_DEBUG, "pool: %s:%d (%s) dropped: %s", e->host, e->port, e->sni, why);
    unlink_entry(e);
    tls_facts_attach(e->conn.ssl, NULL); /* the SSL may outlive e in a deferred free */
    bufferevent_free(e->conn.bev); /* closes the socket; an idle server needs no close_notify */
    tls_facts_clear(&e->conn.tls);
    free(e);
}

/* An idle connection must stay silent: data (unsolicited) or a close means it is unusable. */
static void on_idle_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    drop(arg, "server sent data while idle");
}

static void on_idle_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    drop(arg, what & BEV_EVENT_EOF ? "server closed it" : "error while idle");
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pool *p = arg;
    uint64_t now = flow_now_us();
    for (struct pool_entry *e = p->head, *next; e; e = next) {
        next = e->next;
        if (now - e->idle_since >= p->idle_us)
            drop(e, "idle too long");
    }
}

struct pool *pool_new(struct event_base *base, double idle_s)
{
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base = base;
    p->idle_us = (uint64_t)(idle_s * 1e6);
    if (!(p->sweep = event_new(base, -1, EV_PERSIST, on_sweep, p))) {
        free(p);
        return NULL;
    }
    return p;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    while (p->head)
        drop(p->head, "shutting down");
    event_free(p->sweep);
    free(p);
}

static int same_server(const struct pool_entry *e, const char *client, const char *host, int port)
{
    return e->port == port && !strcmp(e->client, client) && !strcasecmp(e->host, host);
}

int pool_has(struct pool *p, const char *client, const char *host, int port)
{
    for (struct pool_entry *e = p->head; e; e = e->next)
        if (same_server(e, client, host, port))
            return 1;
    return 0;
}

int pool_take(struct pool *p, const char *client, const char *host, int port, const char *sni,
              struct pool_conn *out)
{
    for (struct pool_entry *e = p->head; e; e = e->next) {
        if (!same_server(e, client, host, port) || strcasecmp(e->sni, sni))
            continue;
        unlink_entry(e);
        *out = e->conn;
        tls_facts_attach(out->ssl, NULL); /* until the taker attaches its own facts */
        bufferevent_disable(out->bev, EV_READ);
        bufferevent_setcb(out->bev, NULL, NULL, NULL, NULL);
        free(e);
        return 1;
    }
    return 0;
}

void pool_put(struct pool *p, const char *client, const char *host, int port, const char *sni,
              struct pool_conn *conn)
{
    size_t same = 0;
    struct pool_entry *oldest_same = NULL;
    for (struct pool_entry *e = p->head; e; e = e->next)
        if (same_server(e, client, host, port)) {
            same++;
            oldest_same = e;
        }
    if (same >= POOL_PER_KEY)
        drop(oldest_same, "more idle connections to this server than kept");
    if (p->n >= POOL_MAX) {
        struct pool_entry *last = p->head;
        while (last->next)
            last = last->next;
        drop(last, "pool full");
    }
    struct pool_entry *e = calloc(1, sizeof *e);
    if (!e) {
        tls_facts_attach(conn->ssl, NULL);
        bufferevent_free(conn->bev);
        tls_facts_clear(&conn->tls);
        return;
    }
    e->pool = p;
    snprintf(e->client, sizeof e->client, "%s", client);
    snprintf(e->host, sizeof e->host, "%s", host);
    e->port = port;
    snprintf(e->sni, sizeof e->sni, "%s", sni);
    e->idle_since = flow_now_us();
    e->conn = *conn;
    memset(&conn->tls, 0, sizeof conn->tls); /* moved into the pool */
    leg_free_tls_buffers(e->conn.ssl);       /* idle until taken: no record buffers */
    /* the SSL reports alerts into the facts it was given: from now on the pool's copy, not the
     * freed connection's */
    tls_facts_attach(e->conn.ssl, &e->conn.tls);
    e->next = p->head;
    if (p->head)
        p->head->prev = e;
    p->head = e;
    if (!p->n++) {
        uint64_t every = p->idle_us < POOL_SWEEP_S * 1000000u ? p->idle_us : POOL_SWEEP_S * 1000000u;
        struct timeval tv = {(time_t)(every / 1000000u), (suseconds_t)(every % 1000000u)};
        event_add(p->sweep, &tv);
    }
    bufferevent_setwatermark(e->conn.bev, EV_READ, 0, 0);
    bufferevent_setcb(e->conn.bev, on_idle_read, NULL, on_idle_event, e);
    bufferevent_enable(e->conn.bev, EV_READ);
    leg_read_enabled(e->conn.bev);
    log_msg(LOG_DEBUG, "pool: %s:%d (%s) kept idle (%zu pooled)", host, port, sni, p->n);
}
