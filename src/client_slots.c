/* client_slots.c — see client_slots.h. A chained hash table of the addresses with connections
 * open; an entry goes when its last connection closes, so the table holds only live clients. */
#include "client_slots.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "str.h"

#define SLOTS_BUCKETS 1024

struct slot {
    struct slot *next;
    int open;
    char addr[64];
};

struct client_slots {
    pthread_mutex_t lock;
    int max;
    struct slot *bucket[SLOTS_BUCKETS];
};

struct client_slots *client_slots_new(int max)
{
    struct client_slots *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->max = max < 1 ? 1 : max;
    return t;
}

void client_slots_free(struct client_slots *t)
{
    if (!t)
        return;
    for (int i = 0; i < SLOTS_BUCKETS; i++)
        for (struct slot *s = t->bucket[i], *n; s; s = n) {
            n = s->next;
            free(s);
        }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The bucket of addr (FNV-1a). */
static struct slot **bucket_of(struct client_slots *t, const char *addr)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &t->bucket[h % SLOTS_BUCKETS];
}

/* The link pointing at addr's entry, or at the NULL ending its bucket. Lock held. */
static struct slot **find(struct client_slots *t, const char *addr)
{
    struct slot **p = bucket_of(t, addr);
    while (*p && strcmp((*p)->addr, addr))
        p = &(*p)->next;
    return p;
}

int client_slots_take(struct client_slots *t, const char *addr)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    struct slot **p = find(t, addr);
    if (!*p) {
        struct slot *s = calloc(1, sizeof *s);
        if (!s) {
            rc = -1;
            goto out;
        }
        str_copy(s->addr, sizeof s->addr, addr);
        *p = s;
    }
    if ((*p)->open >= t->max)
        rc = (*p)->open;
    else
        (*p)->open++;
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void client_slots_give(struct client_slots *t, const char *addr)
{
    pthread_mutex_lock(&t->lock);
    struct slot **p = find(t, addr);
    struct slot *s = *p;
    if (s && --s->open <= 0) {
        *p = s->next;
        free(s);
    }
    pthread_mutex_unlock(&t->lock);
}

int client_slots_open(struct client_slots *t, const char *addr)
{
    pthread_mutex_lock(&t->lock);
    struct slot *s = *find(t, addr);
    int n = s ? s->open : 0;
    pthread_mutex_unlock(&t->lock);
    return n;
}
