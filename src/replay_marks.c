/* replay_marks.c — see replay_marks.h. A short list under a mutex: at most a few hundred
 * connections are registered at once (replay.c's limits), and a worker looks only when a flow
 * starts, so a linear scan is cheaper than anything cleverer. */
#include "replay_marks.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "flow.h"

struct replay_mark {
    char addr[64];
    int port;
    uint64_t replay_of;
    int composed;
    uint64_t first_id;      /* the first flow recorded for it, 0 until then */
    struct event *recorded; /* activated when first_id is set (may be NULL) */
    struct replay_mark *next;
};

struct replay_marks {
    pthread_mutex_t mu;
    struct replay_mark *head;
    _Atomic int any; /* entries exist: workers skip the lock when none do (the usual case) */
};

struct replay_marks *replay_marks_new(void)
{
    struct replay_marks *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void replay_marks_free(struct replay_marks *m)
{
    if (!m)
        return;
    while (m->head) {
        struct replay_mark *e = m->head;
        m->head = e->next;
        free(e);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* The entry for addr:port, or NULL; m->mu held. */
static struct replay_mark **find(struct replay_marks *m, const char *addr, int port)
{
    for (struct replay_mark **p = &m->head; *p; p = &(*p)->next)
        if ((*p)->port == port && !strcmp((*p)->addr, addr))
            return p;
    return NULL;
}

int replay_marks_add(struct replay_marks *m, const char *addr, int port, uint64_t replay_of,
                     int composed, struct event *recorded)
{
    struct replay_mark *e = calloc(1, sizeof *e);
    if (!e || strlen(addr) >= sizeof e->addr) {
        free(e);
        return -1;
    }
    strcpy(e->addr, addr);
    e->port = port;
    e->replay_of = replay_of;
    e->composed = composed;
    e->recorded = recorded;
    pthread_mutex_lock(&m->mu);
    e->next = m->head;
    m->head = e;
    m->any = 1;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

uint64_t replay_marks_remove(struct replay_marks *m, const char *addr, int port)
{
    uint64_t id = 0;
    pthread_mutex_lock(&m->mu);
    struct replay_mark **p = find(m, addr, port);
    if (p) {
        struct replay_mark *e = *p;
        *p = e->next;
        id = e->first_id;
        free(e);
    }
    m->any = m->head != NULL;
    pthread_mutex_unlock(&m->mu);
    return id;
}

uint64_t replay_marks_recorded_id(struct replay_marks *m, const char *addr, int port)
{
    pthread_mutex_lock(&m->mu);
    struct replay_mark **p = find(m, addr, port);
    uint64_t id = p ? (*p)->first_id : 0;
    pthread_mutex_unlock(&m->mu);
    return id;
}

void replay_marks_flow(struct replay_marks *m, struct flow *f)
{
    if (!m->any)
        return;
    pthread_mutex_lock(&m->mu);
    struct replay_mark **p = find(m, f->client_addr, f->client_port);
    if (p) {
        f->replay_of = (*p)->replay_of;
        f->composed = (*p)->composed;
    }
    pthread_mutex_unlock(&m->mu);
}

void replay_marks_recorded(struct replay_marks *m, const struct flow *f)
{
    if (!f->replay_of && !f->composed)
        return;
    pthread_mutex_lock(&m->mu);
    struct replay_mark **p = find(m, f->client_addr, f->client_port);
    if (p && !(*p)->first_id) {
        (*p)->first_id = f->id;
        if ((*p)->recorded) /* thread-safe: evthread_use_pthreads is on */
            event_active((*p)->recorded, EV_TIMEOUT, 0);
    }
    pthread_mutex_unlock(&m->mu);
}
