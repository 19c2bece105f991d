/* queue.c — see queue.h. A growable ring buffer of pointers; one mutex, one condvar (only the
 * consumer ever waits). A push signals only when the queue holds what the consumer waits for
 * (want): a signal to a waiting thread is a futex syscall on the pushing worker, and the store's
 * consumer gathering a batch would otherwise be woken (and the worker pay that syscall) for
 * every flow. */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t nonempty; /* signalled when len reaches want, and on close */
    void **ring;             /* cap slots */
    size_t cap, head, len;   /* oldest at ring[head] */
    size_t want;             /* items the consumer is waiting for; 0 when it is not waiting */
    int closed;
};

struct queue *queue_new(void)
{
    struct queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->cap = 256;
    q->ring = malloc(q->cap * sizeof *q->ring);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!q->ring || pthread_mutex_init(&q->mu, NULL) || pthread_cond_init(&q->nonempty, &ca)) {
        pthread_condattr_destroy(&ca);
        free(q->ring);
        free(q);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    return q;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->nonempty);
    free(q->ring);
    free(q);
}

int queue_push(struct queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    if (q->len == q->cap) {
        void **nr = malloc(q->cap * 2 * sizeof *nr);
        if (!nr) {
            pthread_mutex_unlock(&q->mu);
            return -1;
        }
        for (size_t i = 0; i < q->len; i++)
            nr[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = nr;
        q->head = 0;
        q->cap *= 2;
    }
    q->ring[(q->head + q->len) % q->cap] = item;
    q->len++;
    if (q->want && q->len >= q->want)
        pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* now + ms on the monotonic clock */
static struct timespec deadline_after(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Wait (mu held) until len >= n or the queue is closed, up to the deadline (NULL: forever). */
static void wait_for(struct queue *q, size_t n, const struct timespec *deadline)
{
    q->want = n;
    while (q->len < n && !q->closed) {
        if (!deadline)
            pthread_cond_wait(&q->nonempty, &q->mu);
        else if (pthread_cond_timedwait(&q->nonempty, &q->mu, deadline) == ETIMEDOUT)
            break;
    }
    q->want = 0;
}

size_t queue_pop(struct queue *q, void **items, size_t max, int timeout_ms, size_t gather,
                 int linger_ms)
{
    struct timespec deadline;
    if (timeout_ms >= 0)
        deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&q->mu);
    wait_for(q, 1, timeout_ms >= 0 ? &deadline : NULL);
    if (gather > max)
        gather = max;
    if (q->len && q->len < gather && linger_ms > 0) {
        struct timespec linger = deadline_after(linger_ms);
        wait_for(q, gather, &linger);
    }
    size_t n = 0;
    while (n < max && q->len) {
        items[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

void queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->mu);
}

int queue_finished(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    int r = q->closed && !q->len;
    pthread_mutex_unlock(&q->mu);
    return r;
}

size_t queue_length(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
