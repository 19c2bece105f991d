/* leafcache.c — see leafcache.h. A hash table (open hashing, FNV-1a of the lower-cased host)
 * threaded on an LRU list; minting happens outside the lock so one slow mint never stalls the
 * other workers, and a race for the same host keeps whichever leaf was inserted first. Prefetched
 * hosts wait in a short list (queued, or being minted by the mint thread) until their leaf is in
 * the table. A leaf is minted as signed (mint_ctx_leaf_signed: the fast form, on a new host's
 * critical path); once it is given out a second time, the mint thread replaces it in the table
 * by its read-back form (mint_keep_encoding: 1.6M instructions once, ~60k less in every later
 * handshake), off that path. */
#include "leafcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mint.h"

struct leaf_node {
    char host[256];                     /* lower-cased key */
    uint32_t hash;                      /* of host, for unlinking from its chain on eviction */
    X509 *cert;                         /* the cache's reference */
    unsigned hits;                      /* times given out; at the second, a read-back is
                                         * queued (a leaf shown once never pays for it) */
    struct leaf_node *hnext;            /* hash chain */
    struct leaf_node *prev, *next;      /* LRU list: head = most recent */
};

/* A host asked for ahead (leafcache_prefetch): queued, then being minted by the mint thread. */
struct pending {
    char host[256];                     /* lower-cased key */
    int minting;                        /* the mint thread took it (no longer queued) */
    int refine;                         /* the leaf is cached as signed: only read it back */
    uint64_t due_ms;                    /* not before this (CLOCK_MONOTONIC): read-backs wait
                                         * LEAFCACHE_REFINE_DELAY_MS, out of the handshakes
                                         * that asked for the leaf (both cores are busy then) */
    struct pending *next;               /* FIFO */
};

struct leafcache {
    struct ca *ca;
    size_t capacity, size, nbuckets;
    struct leaf_node **buckets;
    struct leaf_node *head, *tail;
    pthread_mutex_t lock;
    /* the mint thread (under lock) */
    pthread_cond_t work;                /* a host was queued, or stop */
    pthread_cond_t minted;              /* a prefetched leaf is in the table (or failed) */
    struct pending *pending;            /* FIFO of prefetched hosts not yet in the table */
    size_t npending;
    int thread_state;                   /* 0 not started, 1 running, -1 could not start */
    int stop;
    pthread_t thread;
};

/* How long a read-back waits after its leaf was minted. */
#define LEAFCACHE_REFINE_DELAY_MS 200

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
    pthread_condattr_t attr;
    int cond_ok = pthread_condattr_init(&attr) == 0;
    if (cond_ok) {
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* due_ms is monotonic */
        cond_ok = pthread_cond_init(&lc->work, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!cond_ok) {
        pthread_mutex_destroy(&lc->lock);
        free(lc->buckets);
        free(lc);
        return NULL;
    }
    if (pthread_cond_init(&lc->minted, NULL) != 0) {
        pthread_cond_destroy(&lc->work);
        pthread_mutex_destroy(&lc->lock);
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
    pthread_mutex_lock(&lc->lock);
    int joinable = lc->thread_state == 1;
    lc->stop = 1;
    pthread_cond_signal(&lc->work);
    pthread_mutex_unlock(&lc->lock);
    if (joinable)
        pthread_join(lc->thread, NULL);
    for (struct pending *p = lc->pending, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    pthread_cond_destroy(&lc->minted);
    pthread_cond_destroy(&lc->work);
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

/* Lower-case host into key (256 bytes); -1 when it does not fit. */
static int make_key(const char *host, char *key)
{
    size_t i = 0;
    for (; host[i] && i < 255; i++)
        key[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    key[i] = '\0';
    return host[i] ? -1 : 0;
}

static void queue(struct leafcache *lc, const char *key, int refine_only);

/* The cached leaf for key moved to the LRU front, with a reference for the caller; or NULL. */
static X509 *take_cached(struct leafcache *lc, const char *key, uint32_t h)
{
    struct leaf_node *n = find(lc, key, h);
    if (!n)
        return NULL;
    lru_unlink(lc, n);
    lru_push_front(lc, n);
    X509_up_ref(n->cert);
    if (++n->hits == 2)
        queue(lc, key, 1); /* shown again: its later handshakes pay less read back */
    return n->cert;
}

/* Insert cert (the caller's reference becomes the cache's) for key, unless another thread did
 * first: the leaf to use, with a reference for the caller (NULL only when cert is NULL). */
static X509 *insert(struct leafcache *lc, const char *key, uint32_t h, X509 *cert, int *minted)
{
    X509 *have = take_cached(lc, key, h);
    if (have) { /* another thread minted it meanwhile: first inserted wins */
        X509_free(cert);
        return have;
    }
    if (!cert)
        return NULL;
    if (minted)
        *minted = 1;
    struct leaf_node *n = calloc(1, sizeof *n);
    if (!n)
        return cert; /* not cached, still usable */
    memcpy(n->host, key, strlen(key) + 1);
    n->hash = h;
    n->cert = cert;
    n->hits = minted ? 1 : 0; /* the mint thread's insert (minted NULL) gives it to nobody yet */
    X509_up_ref(cert); /* one for the cache, one for the caller */
    n->hnext = lc->buckets[h & (lc->nbuckets - 1)];
    lc->buckets[h & (lc->nbuckets - 1)] = n;
    lru_push_front(lc, n);
    if (++lc->size > lc->capacity)
        evict_tail(lc);
    return cert;
}

static struct pending **find_pending(struct leafcache *lc, const char *key)
{
    struct pending **pp = &lc->pending;
    while (*pp && strcmp((*pp)->host, key))
        pp = &(*pp)->next;
    return pp;
}

static void unlink_pending(struct leafcache *lc, struct pending **pp)
{
    struct pending *p = *pp;
    *pp = p->next;
    lc->npending--;
    free(p);
}

static void *mint_thread(void *arg);

/* Replace the cached leaf for key by its read-back form (mint.h: mint_keep_encoding). Called
 * and returns with lc->lock held; unlocked meanwhile. */
static void refine(struct leafcache *lc, const char *key)
{
    uint32_t h = hash(key);
    struct leaf_node *n = find(lc, key, h);
    if (!n)
        return; /* evicted already */
    X509 *signed_form = n->cert;
    X509_up_ref(signed_form);
    pthread_mutex_unlock(&lc->lock);
    X509 *back = mint_keep_encoding(signed_form);
    pthread_mutex_lock(&lc->lock);
    n = find(lc, key, h);
    if (back && n && n->cert == signed_form) {
        n->cert = back; /* holders of the signed form keep their own reference */
        back = NULL;
        X509_free(signed_form);
    }
    X509_free(back);
    X509_free(signed_form);
}

/* Queue key for the mint thread (lc->lock held): minted (refine 0) or read back (refine 1). */
static void queue(struct leafcache *lc, const char *key, int refine_only)
{
    if (lc->thread_state == 0)
        lc->thread_state = pthread_create(&lc->thread, NULL, mint_thread, lc) == 0 ? 1 : -1;
    struct pending **tail = find_pending(lc, key), *p;
    if (lc->thread_state != 1 || lc->stop || lc->npending >= LEAFCACHE_PREFETCH_QUEUE || *tail ||
        !(p = calloc(1, sizeof *p)))
        return;
    memcpy(p->host, key, sizeof p->host);
    p->refine = refine_only;
    p->due_ms = refine_only ? now_ms() + LEAFCACHE_REFINE_DELAY_MS : 0;
    *tail = p; /* not found: the list's tail */
    lc->npending++;
    pthread_cond_signal(&lc->work);
}

static void *mint_thread(void *arg)
{
    struct leafcache *lc = arg;
    pthread_mutex_lock(&lc->lock);
    for (;;) {
        if (lc->stop)
            break;
        /* the first job that is due: mints at once, read-backs once their delay passed */
        uint64_t now = now_ms(), next_due = 0;
        struct pending *p = lc->pending;
        for (; p; p = p->next) {
            if (p->minting)
                continue;
            if (p->due_ms <= now)
                break;
            if (!next_due || p->due_ms < next_due)
                next_due = p->due_ms;
        }
        if (!p) {
            if (!next_due) {
                pthread_cond_wait(&lc->work, &lc->lock);
            } else {
                struct timespec until = {(time_t)(next_due / 1000),
                                         (long)(next_due % 1000) * 1000000};
                pthread_cond_timedwait(&lc->work, &lc->lock, &until);
            }
            continue;
        }
        p->minting = 1;
        char key[256];
        memcpy(key, p->host, sizeof key);
        if (!p->refine) {
            pthread_mutex_unlock(&lc->lock);
            X509 *cert = ca_mint_leaf_signed(lc->ca, key, NULL, 0);
            pthread_mutex_lock(&lc->lock);
            X509_free(insert(lc, key, hash(key), cert, NULL)); /* NULL: get mints, says why */
        }
        int was_refine = p->refine;
        unlink_pending(lc, find_pending(lc, key));
        if (!was_refine)
            pthread_cond_broadcast(&lc->minted);
        else
            refine(lc, key);
    }
    pthread_mutex_unlock(&lc->lock);
    return NULL;
}

void leafcache_prefetch(struct leafcache *lc, const char *host)
{
    char key[256];
    if (make_key(host, key) < 0)
        return;
    pthread_mutex_lock(&lc->lock);
    if (!find(lc, key, hash(key)))
        queue(lc, key, 0);
    pthread_mutex_unlock(&lc->lock);
}

X509 *leafcache_get(struct leafcache *lc, const char *host, int *minted, char *err, size_t errlen)
{
    char key[256];
    if (minted)
        *minted = 0;
    if (make_key(host, key) < 0) {
        if (err)
            snprintf(err, errlen, "host name longer than 255 bytes");
        return NULL;
    }
    uint32_t h = hash(key);

    pthread_mutex_lock(&lc->lock);
    for (;;) {
        X509 *c = take_cached(lc, key, h);
        if (c) {
            pthread_mutex_unlock(&lc->lock);
            return c;
        }
        struct pending **pp = find_pending(lc, key);
        if (!*pp || (*pp)->refine)
            break; /* (a read-back whose leaf was evicted meanwhile: it finds none) */
        if (!(*pp)->minting) { /* still queued: mint it here rather than wait for the queue */
            unlink_pending(lc, pp);
            break;
        }
        pthread_cond_wait(&lc->minted, &lc->lock); /* being minted: no longer than minting it */
    }
    pthread_mutex_unlock(&lc->lock);

    X509 *cert = ca_mint_leaf_signed(lc->ca, key, err, errlen);
    if (!cert)
        return NULL;
    pthread_mutex_lock(&lc->lock);
    int mine = 0; /* (also: the leaf is given out, insert counts it) */
    cert = insert(lc, key, h, cert, &mine);
    if (minted)
        *minted = mine;
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
