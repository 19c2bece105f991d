/* test_mailbox.c — mailbox: messages posted from many threads at once each run exactly once, on
 * the owner's thread, from its (lock-free) event loop, without a wake-up lost; a message posted
 * again while queued runs once; a cancelled one never runs (also when an earlier message of the
 * same turn cancels it); a message that posts itself again waits for the next turn; a closed
 * mailbox refuses posts and drops what was queued. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <event2/event.h>
#include "../../src/mailbox.h"
#include "tap.h"

#define POSTERS 4
#define PER_POSTER 5000

static pthread_t owner;
static atomic_int wrong_thread;

struct item {
    struct mailbox_msg msg;
    int runs;
};

static void on_item(void *arg)
{
    struct item *it = arg;
    if (!pthread_equal(pthread_self(), owner))
        atomic_fetch_add(&wrong_thread, 1);
    it->runs++;
}

struct poster {
    struct mailbox *mb;
    struct item *items;
    int refused;
};

static void *post_all(void *arg)
{
    struct poster *p = arg;
    for (int i = 0; i < PER_POSTER; i++) {
        if (mailbox_post(p->mb, &p->items[i].msg) < 0)
            p->refused++;
        if (i % 512 == 0)
            sched_yield(); /* let the owner drain in between: many separate wake-ups */
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int total_runs(struct item *items, int n, int *twice)
{
    int sum = 0;
    *twice = 0;
    for (int i = 0; i < n; i++) {
        sum += items[i].runs;
        if (items[i].runs > 1)
            (*twice)++;
    }
    return sum;
}

/* Turn the loop until want messages ran or 10 s passed; returns what ran. */
static int loop_until(struct event_base *base, struct item *items, int n, int want)
{
    int twice, ran = 0;
    double deadline = now_s() + 10;
    while ((ran = total_runs(items, n, &twice)) < want && now_s() < deadline) {
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return ran;
}

static struct mailbox_msg *later; /* cancelled by on_cancel_later */
static struct mailbox *cur_mb;

static void on_cancel_later(void *arg)
{
    (void)arg;
    mailbox_cancel(cur_mb, later);
}

static struct mailbox_msg again;
static int again_runs;

static void on_again(void *arg)
{
    again_runs++;
    mailbox_post(arg, &again);
}

int main(void)
{
    owner = pthread_self();
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    struct mailbox *mb = mailbox_new(base);
    ok(base && mb, "a mailbox on a base without locks");
    cur_mb = mb;

    /* many threads, each posting its own messages once */
    int n = POSTERS * PER_POSTER;
    struct item *items = calloc((size_t)n, sizeof *items);
    for (int i = 0; i < n; i++)
        mailbox_msg_init(&items[i].msg, on_item, &items[i]);
    struct poster posters[POSTERS];
    pthread_t threads[POSTERS];
    for (int t = 0; t < POSTERS; t++) {
        posters[t] = (struct poster){mb, items + t * PER_POSTER, 0};
        pthread_create(&threads[t], NULL, post_all, &posters[t]);
    }
    int ran = loop_until(base, items, n, n);
    for (int t = 0; t < POSTERS; t++)
        pthread_join(threads[t], NULL);
    ran = loop_until(base, items, n, n); /* whatever the last wake-up brings */
    int twice;
    total_runs(items, n, &twice);
    is_int(ran, n, "every message posted from 4 threads ran (no wake-up lost)");
    is_int(twice, 0, "... each exactly once");
    is_int(atomic_load(&wrong_thread), 0, "... all on the owner's thread");
    is_int(posters[0].refused + posters[1].refused + posters[2].refused + posters[3].refused, 0,
           "... none refused by an open mailbox");

    /* again after they ran: a message may be posted any number of times */
    for (int i = 0; i < 3; i++)
        mailbox_post(mb, &items[i].msg);
    loop_until(base, items, n, n + 3);
    is_int(items[0].runs + items[1].runs + items[2].runs, 6, "a message that ran can be posted and run again");

    /* posted three times while queued: runs once */
    items[0].runs = 0;
    for (int i = 0; i < 3; i++)
        mailbox_post(mb, &items[0].msg);
    is_int((long long)mailbox_run(mb), 1, "posted 3 times while queued: one message to run");
    is_int(items[0].runs, 1, "... it ran once");

    /* cancelled: never runs */
    items[0].runs = items[1].runs = 0;
    mailbox_post(mb, &items[0].msg);
    mailbox_post(mb, &items[1].msg);
    mailbox_cancel(mb, &items[0].msg);
    mailbox_run(mb);
    ok(items[0].runs == 0 && items[1].runs == 1, "a cancelled message does not run, the other does");
    mailbox_cancel(mb, &items[1].msg); /* not queued: nothing happens */
    is_int((long long)mailbox_run(mb), 0, "cancelling a message that is not queued changes nothing");

    /* an earlier message of the same turn cancels a later one (its object freed meanwhile) */
    struct mailbox_msg first;
    mailbox_msg_init(&first, on_cancel_later, NULL);
    items[2].runs = 0;
    later = &items[2].msg;
    mailbox_post(mb, &first);
    mailbox_post(mb, later);
    mailbox_run(mb);
    is_int(items[2].runs, 0, "a message cancelled by an earlier one of the same turn does not run");

    /* a message that posts itself runs once per turn: the loop serves sockets in between */
    mailbox_msg_init(&again, on_again, mb);
    mailbox_post(mb, &again);
    is_int((long long)mailbox_run(mb), 1, "a message posting itself again: one run per turn");
    is_int((long long)mailbox_run(mb), 1, "... and it runs again the next turn");
    mailbox_cancel(mb, &again);
    is_int(again_runs, 2, "... twice in two turns");

    /* closed: queued messages dropped unrun, posts refused (a stopped worker) */
    items[3].runs = 0;
    mailbox_post(mb, &items[3].msg);
    mailbox_close(mb);
    is_int(mailbox_post(mb, &items[4].msg), -1, "a closed mailbox refuses a post");
    is_int((long long)mailbox_run(mb), 0, "... and runs nothing");
    is_int(items[3].runs, 0, "a message queued before close never runs");
    ok(!items[3].msg.queued && !items[4].msg.queued, "... and neither message is left queued");

    /* threads posting while the owner closes and frees: nothing runs after close, no crash */
    struct mailbox *mb2 = mailbox_new(base);
    struct item *more = calloc((size_t)n, sizeof *more);
    for (int i = 0; i < n; i++)
        mailbox_msg_init(&more[i].msg, on_item, &more[i]);
    for (int t = 0; t < POSTERS; t++) {
        posters[t] = (struct poster){mb2, more + t * PER_POSTER, 0};
        pthread_create(&threads[t], NULL, post_all, &posters[t]);
    }
    struct timeval tv = {0, 2000};
    event_base_loopexit(base, &tv);
    event_base_loop(base, EVLOOP_ONCE);
    mailbox_close(mb2);
    int before_close = total_runs(more, n, &twice);
    for (int t = 0; t < POSTERS; t++)
        pthread_join(threads[t], NULL);
    mailbox_run(mb2);
    int refused = posters[0].refused + posters[1].refused + posters[2].refused + posters[3].refused;
    is_int(total_runs(more, n, &twice), before_close, "after close nothing more runs");
    ok(before_close + refused <= n, "posts racing a close: each either ran before it or was refused");
    mailbox_free(mb2);

    mailbox_free(mb);
    mailbox_set_current(NULL);
    is_int(mailbox_current() == NULL, 1, "no mailbox on a thread that is not a worker");
    free(items);
    free(more);
    event_base_free(base);
    return done();
}
