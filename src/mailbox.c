/* mailbox.c — see mailbox.h. A mutex-protected list of messages and an eventfd the owner's
 * base watches. The eventfd is written only when the owner has not been told yet (signalled), so
 * a burst of posts costs one write and one read. Messages are taken out one at a time under the
 * lock and run unlocked: one may cancel a later one (its object freed) and it then does not run. */
#include "mailbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct mailbox {
    pthread_mutex_t mu;
    struct mailbox_msg *head, *tail; /* under mu */
    size_t len;                      /* under mu */
    int signalled;                   /* under mu: the eventfd was written and not read yet */
    int closed;                      /* under mu */
    int fd;                          /* the eventfd */
    struct event *ev;                /* fd readable, on the owner's base */
};

static _Thread_local struct mailbox *current;

struct mailbox *mailbox_current(void)
{
    return current;
}

void mailbox_set_current(struct mailbox *mb)
{
    current = mb;
}

void mailbox_msg_init(struct mailbox_msg *msg, void (*fn)(void *arg), void *arg)
{
    msg->fn = fn;
    msg->arg = arg;
    msg->next = NULL;
    msg->queued = 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct mailbox *mb = arg;
    uint64_t n;
    while (read(fd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&mb->mu);
    mb->signalled = 0; /* a post from now on writes the eventfd again */
    pthread_mutex_unlock(&mb->mu);
    mailbox_run(mb);
}

struct mailbox *mailbox_new(struct event_base *base)
{
    struct mailbox *mb = calloc(1, sizeof *mb);
    if (!mb)
        return NULL;
    pthread_mutex_init(&mb->mu, NULL);
    mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->fd < 0 || !(mb->ev = event_new(base, mb->fd, EV_READ | EV_PERSIST, on_readable, mb)) ||
        event_add(mb->ev, NULL) < 0) {
        mailbox_free(mb);
        return NULL;
    }
    return mb;
}

void mailbox_free(struct mailbox *mb)
{
    if (!mb)
        return;
    mailbox_close(mb);
    if (mb->ev)
        event_free(mb->ev);
    if (mb->fd >= 0)
        close(mb->fd);
    pthread_mutex_destroy(&mb->mu);
    free(mb);
}

int mailbox_post(struct mailbox *mb, struct mailbox_msg *msg)
{
    pthread_mutex_lock(&mb->mu);
    if (mb->closed) {
        pthread_mutex_unlock(&mb->mu);
        return -1;
    }
    int wake = 0;
    if (!msg->queued) {
        msg->queued = 1;
        msg->next = NULL;
        if (mb->tail)
            mb->tail->next = msg;
        else
            mb->head = msg;
        mb->tail = msg;
        mb->len++;
        wake = !mb->signalled;
        mb->signalled = 1;
    }
    /* written under the lock: mailbox_free (after the owner's last mailbox_close, which takes the
     * lock) can never close fd under a poster still writing to it */
    if (wake) {
        uint64_t one = 1;
        while (write(mb->fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&mb->mu);
    return 0;
}

void mailbox_cancel(struct mailbox *mb, struct mailbox_msg *msg)
{
    pthread_mutex_lock(&mb->mu);
    if (msg->queued) {
        struct mailbox_msg *prev = NULL;
        for (struct mailbox_msg *m = mb->head; m; prev = m, m = m->next)
            if (m == msg) {
                if (prev)
                    prev->next = m->next;
                else
                    mb->head = m->next;
                if (mb->tail == m)
                    mb->tail = prev;
                mb->len--;
                break;
            }
        msg->queued = 0;
        msg->next = NULL;
    }
    pthread_mutex_unlock(&mb->mu);
}

size_t mailbox_run(struct mailbox *mb)
{
    /* only what is queued now: a message that posts again (or a busy poster) waits for the next
     * loop turn, so sockets are served in between */
    pthread_mutex_lock(&mb->mu);
    size_t todo = mb->len, ran = 0;
    pthread_mutex_unlock(&mb->mu);
    for (; ran < todo; ran++) {
        pthread_mutex_lock(&mb->mu);
        struct mailbox_msg *m = mb->head;
        void (*fn)(void *) = NULL;
        void *arg = NULL;
        if (m) {
            fn = m->fn;
            arg = m->arg;
            mb->head = m->next;
            if (!mb->head)
                mb->tail = NULL;
            mb->len--;
            m->queued = 0;
            m->next = NULL;
        }
        pthread_mutex_unlock(&mb->mu);
        if (!m)
            break; /* cancelled meanwhile */
        fn(arg);
    }
    return ran;
}

void mailbox_close(struct mailbox *mb)
{
    pthread_mutex_lock(&mb->mu);
    mb->closed = 1;
    for (struct mailbox_msg *m = mb->head, *next; m; m = next) {
        next = m->next;
        m->queued = 0;
        m->next = NULL;
    }
    mb->head = mb->tail = NULL;
    mb->len = 0;
    pthread_mutex_unlock(&mb->mu);
}
