/* front_h2_int.h — what front_h2.c (streams, exchanges) and front_h2_conn.c (the connection:
 * client leg, flushing the engine, the session's calls; the upper one: it calls front_h2.c, never
 * the other way) share. Internal to the h2 front; same ownership and thread as front_h2.h: the
 * session's worker. */
#ifndef HTTPEEK_FRONT_H2_INT_H
#define HTTPEEK_FRONT_H2_INT_H

#include <stdint.h>
#include <event2/event.h>
#include "exchange.h"
#include "h2_server.h"
#include "session.h"
#include "uplink.h"

struct h2_stream {
    struct exchange ex;             /* ex.flow NULL once recorded */
    struct uplink own;              /* its own uplink, when the session's was busy */
    struct session *s;
    int32_t sid;
    char route_host[256];           /* :authority's host */
    int resp_ended;                 /* the response's end (or a reset) went to the engine */
    int up_released;                /* the uplink is no longer this stream's */
    int up_paused;                  /* uplink reading stopped: the stream's queue is full */
    size_t unconsumed;              /* request body bytes taken but not yet given back */
    uint64_t activity;              /* monotonic µs of the stream's last byte either way */
    struct event *timer;            /* the stream's deadline */
    struct h2_stream *prev, *next;
};

/* A generated answer waiting for the next flush: the engine takes a stream's response only once
 * on_request has returned, and failures are found inside it (refusals, exchange_start). */
struct h2_answer {
    int32_t sid;
    int status;
    struct h2_answer *next;
    char reason[];
};

struct front_h2 {
    struct h2_server *h2;
    struct h2_answer *answers;      /* queued generated answers, oldest first */
    struct event *front_h2_kick;             /* deferred flush of the engine into the client leg */
    struct h2_stream *streams;      /* open streams (list) */
    struct h2_stream *up_owner;     /* the stream using the session's uplink, or NULL */
    int failed;                     /* the engine failed: flush its GOAWAY, then close */
    int draining;                   /* GOAWAY NO_ERROR sent: close once no stream is left */
    char *covered;                  /* last :authority host the client's leaf covers (owned),
                                     * or NULL */
    int conn_failed;                /* the engine's on_conn_error came */
    char *conn_error;               /* why (owned; names the frame the client got wrong), or
                                     * NULL (none, or no memory to say it). Both strings are
                                     * made when needed: an idle connection holds neither */
};

/* The session's h2 front state (NULL before start and after end). */
static inline struct front_h2 *front_h2_of(struct session *s)
{
    return s->front_state;
}

/* The engine's per-stream callbacks (front_h2.c). */
extern const struct h2_server_ops front_h2_engine_ops;

/* Flush at the next turn of the loop (engine calls from exchange callbacks only queue): fires
 * h->front_h2_kick, the event front_h2_conn.c owns. front_h2.c never calls front_h2_conn.c. */
void front_h2_kick(struct session *s) HP_NONNULL(1);

/* Free every stream, recording its exchange as failed with why. */
void front_h2_teardown(struct session *s, const char *why) HP_NONNULL(1, 2);

/* Send (send 1) or drop the queued generated answers. */
void front_h2_drain_answers(struct session *s, int send) HP_NONNULL(1);

/* The engine's on_conn_error (front_h2.c). */
void front_h2_on_conn_error(void *arg, uint32_t code, int by_client, const char *why);

#endif
