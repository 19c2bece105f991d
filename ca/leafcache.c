/* leafcache.c — see leafcache.h. A hash table (open hashing, FNV-1a of the lower-cased host)
 * threaded on an LRU list; minting happens outside the lock so one slow mint never stalls the
 * other workers, and a race for the same host keeps whichever leaf was inserted first. */
#include "leafcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct leaf_node {
    char host[256];                     /* lower-cased key */
    uint32_t hash;                      /* of host, for unlinking from its chain on eviction */
    X509 *cert;                         /* the cache's reference */
    struct leaf_node *hnext;            /* hash chain */
    struct leaf_node *prev, *next;      /* LRU list: head = most recent */
};

struct leafcache {
    struct ca *ca;
    size_t capacity, size, nbuckets;
    struct leaf_node **buckets;
    struct leaf_node *head, *tail;
    pthread_mutex_t lock;
};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

struct leafcache *leafcache_new(struct ca *ca, size_t capacity)
{
    struct leafcache *lc = calloc(1, sizeof *lc);
    if (!lc)
        return NULL;
    lc->ca = ca;
    lc->capacity = capacity ? capacity : 1;
    lc->nbuckets = 64;
    while (lc->nbuckets < lc->capacity * 2)
        lc->nbuckets *= 2;
    lc->buckets = calloc(lc->nbuckets, sizeof *lc->buckets);
    if (!lc->buckets) {
        free(lc);
        return NULL;
    }
    if (pthread_mutex_init(&lc->lock, NULL) != 0) {
        free(lc->buckets);
        free(lc);
        return NULL;
    }
    return lc;
}

void leafcache_free(struct leafcache *lc)
{
    if (!lc)
        return;
    for (struct leaf_node *n = lc->head, *next; n; n = next) {
        next = n->next;
        X509_free(n->cert);
        free(n);
    }
    pthread_mutex_destroy(&lc->lock);
    free(lc->buckets);
    free(lc);
}

static void lru_unlink(struct leafcache *lc, struct leaf_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        lc->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        lc->tail = n->prev;
    n->prev = n->next = NULL;
}

static void lru_push_front(struct leafcache *lc, struct leaf_node *n)
{
    n->next = lc->head;
    n->prev = NULL;
    if (lc->head)
        lc->head->prev = n;
    lc->head = n;
    if (!lc->tail)
        lc->tail = n;
}

static struct leaf_node *find(struct leafcache *lc, const char *key, uint32_t h)
{
    for (struct leaf_node *n = lc->buckets[h & (lc->nbuckets - 1)]; n; n = n->hnext)
        if (n->hash == h && !strcmp(n->host, key))
            return n;
    return NULL;
}

static void evict_tail(struct leafcache *lc)
{
    struct leaf_node *n = lc->tail;
    if (!n)
        return;
    lru_unlink(lc, n);
    struct leaf_node **pp = &lc->buckets[n->hash & (lc->nbuckets - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = n->hnext;
    X509_free(n->cert); /* callers holding it keep their own reference */
    free(n);
    lc->size--;
}

X509 *leafcache_get(struct leafcache *lc, const char *host, int *minted, char *err, size_t errlen)
{
    char key[256];
    size_t i = 0;
    for (; host[i] && i < sizeof key - 1; i++)
        key[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    key[i] = '\0';
    if (minted)
        *minted = 0;
    if (host[i]) {
        if (err)
            snprintf(err, errlen, "host name longer than 255 bytes");
        return NULL;
    }
    uint32_t h = hash(key);

    pthread_mutex_lock(&lc->lock);
    struct leaf_node *n = find(lc, key, h);
    if (n) {
        lru_unlink(lc, n);
        lru_push_front(lc, n);
        X509_up_ref(n->cert);
        X509 *c = n->cert;
        pthread_mutex_unlock(&lc->lock);
        return c;
    }
    pthread_mutex_unlock(&lc->lock);

    X509 *cert = ca_mint_leaf(lc->ca, key, err, errlen);
    if (!cert)
        return NULL;

    pthread_mutex_lock(&lc->lock);
    n = find(lc, key, h);
    if (n) { /* another worker minted it meanwhile: first inserted wins */
        X509_free(cert);
        lru_unlink(lc, n);
        lru_push_front(lc, n);
        X509_up_ref(n->cert);
        cert = n->cert;
    } else {
        n = calloc(1, sizeof *n);
        if (n) {
            memcpy(n->host, key, strlen(key) + 1);
            n->hash = h;
            n->cert = cert;
            X509_up_ref(cert); /* one for the cache, one for the caller */
            n->hnext = lc->buckets[h & (lc->nbuckets - 1)];
            lc->buckets[h & (lc->nbuckets - 1)] = n;
            lru_push_front(lc, n);
            if (++lc->size > lc->capacity)
                evict_tail(lc);
            if (minted)
                *minted = 1;
        } else if (minted) {
            *minted = 1; /* not cached, still usable */
        }
    }
    pthread_mutex_unlock(&lc->lock);
    return cert;
}

size_t leafcache_size(struct leafcache *lc)
{
    pthread_mutex_lock(&lc->lock);
    size_t n = lc->size;
    pthread_mutex_unlock(&lc->lock);
    return n;
}
