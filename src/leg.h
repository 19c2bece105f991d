/* leg.h — one side of a connection (client or upstream): its bufferevent, HTTP parser, TLS facts,
 * byte counters, and the back-pressure rule between two legs. */
#ifndef HTTPEEK_LEG_H
#define HTTPEEK_LEG_H

#include <stdint.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>
#include "attrib.h"
#include "flow.h"
#include "http1.h"
#include "tls_facts.h"

/* Bytes queued towards a slow peer before we stop reading from the other side. */
#define LEG_OUTBUF_MAX (256 * 1024)
/* Bytes buffered from a peer before we stop reading it (a pipelining or flooding client). */
#define LEG_INBUF_MAX (256 * 1024)
/* Largest single read: bigger reads mean fewer callbacks on fast transfers. */
#define LEG_READ_MAX (64 * 1024)
/* TLS read buffer of an open leg (read-ahead on): a read(2) takes up to this much. */
#define LEG_TLS_READ_BUF (64 * 1024)
/* A response whose head and body fit this (one TLS record's worth) is written in one piece. */
#define LEG_COALESCE_MAX (15 * 1024)

struct budget;

struct leg {
    void *owner;                  /* the session holding this leg, for its callbacks */
    struct bufferevent *bev;      /* NULL when this side is not connected */
    int fd;                       /* socket when bev is NULL but the socket is ours, else -1 */
    SSL *ssl;                     /* TLS of bev (owned by bev), or NULL */
    struct http1_parser *parser;  /* requests (client leg) or responses (upstream leg), made
                                   * when HTTP/1 first needs it (leg_parser_reset), or NULL: an
                                   * HTTP/2 leg never has one (S5: ~0.5 KiB per idle tunnel) */
    struct tls_facts tls;         /* TLS facts of this side (tls_facts_clear when done) */
    uint64_t bytes_in, bytes_out; /* payload bytes read from / queued to this side */
    int is_client;                /* 1 for the client side */
    int paused_by_peer;           /* reading stopped because the other leg is full */
    struct budget *budget;        /* memory budget bounding what waits for this leg's peer
                                     (borrowed; NULL: the fixed LEG_OUTBUF_MAX) */
};

/* Take ownership of bev (BEV_OPT_CLOSE_ON_FREE) for this leg and install callbacks that receive
 * the leg as argument; enables reading and writing. */
void leg_attach(struct leg *leg, struct bufferevent *bev, SSL *ssl, bufferevent_data_cb readcb,
                bufferevent_data_cb writecb, bufferevent_event_cb eventcb) HP_NONNULL(1, 2);

/* Set up the leg's HTTP/1 parser afresh for requests (is_request 1) or responses, reporting to
 * h with arg: allocated on first use, reused after. Returns it, or NULL out of memory. */
struct http1_parser *leg_parser_reset(struct leg *leg, int is_request,
                                      const struct http1_handlers *h, void *arg)
    HP_NONNULL(1, 3);

/* Free the leg's HTTP/1 parser (NULL after; nothing to do without one). */
void leg_parser_free(struct leg *leg) HP_NONNULL(1);

/* Free the leg's bufferevent (closing its socket) and any bare fd; keeps counters and facts. */
void leg_close(struct leg *leg) HP_NONNULL(1);

/* Give the leg's TLS record buffers back (SSL_free_buffers) while it is idle: ~34 KiB per leg,
 * its TLS facts' snapshot (tls_facts_release_snapshot, ~2.6 KiB) and its HTTP/1 parser's head
 * scratch (http1_parser_release_scratch, ~1 KiB). They are allocated again
 * on the next read or write (the snapshot: by the next flow). Returns 1 when none are held now (also for
 * a plain leg), 0 when OpenSSL kept them because a record is still buffered. */
int leg_release_buffers(struct leg *leg) HP_NONNULL(1);

/* The same for an SSL outside a leg (a pooled upstream connection); NULL allowed. */
int leg_free_tls_buffers(SSL *ssl);

/* Output buffer of the leg (NULL when not connected). */
struct evbuffer *leg_output(struct leg *leg) HP_NONNULL(1);

/* After queueing into dst: when dst holds LEG_OUTBUF_MAX or more (less when src's memory budget
 * says so: budget_outbuf_max), stop reading src until leg_drained(dst) sees it drain to half. */
void leg_throttle(struct leg *src, struct leg *dst) HP_NONNULL(1, 2);

/* After bufferevent_enable(bev, EV_READ) on a leg's bev (or a pooled one): records OpenSSL read
 * ahead while reading was off are processed now (no socket event would come for them). */
void leg_read_enabled(struct bufferevent *bev) HP_NONNULL(1);

/* Call from dst's write callback: resumes src when it was throttled by dst. */
void leg_drained(struct leg *dst, struct leg *src) HP_NONNULL(1, 2);

#endif
