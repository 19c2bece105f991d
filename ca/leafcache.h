/* leafcache.h — bounded, thread-safe LRU of minted leaves keyed by host, so a host is minted once.
 *
 * Shared by all worker threads (one mutex; minting happens outside the lock, and when two threads
 * race for the same host the first inserted leaf wins). Certificates are reference-counted with
 * OpenSSL's own atomic X509 refcount. A leaf may be minted ahead (leafcache_prefetch) on the
 * cache's own mint thread, started at the first prefetch and joined by leafcache_free, so that
 * a new host's signature runs on another core while the worker does its upstream handshake. */
#ifndef HTTPEEK_LEAFCACHE_H
#define HTTPEEK_LEAFCACHE_H

#include <stddef.h>
#include <openssl/x509.h>
#include "attrib.h"
#include "ca.h"

/* Default number of leaves kept. */
#define LEAFCACHE_DEFAULT_CAPACITY 1024

struct leafcache;

/* Create a cache of at most capacity leaves minted by ca (borrowed: must outlive the cache).
 * Returns NULL on allocation failure. Caller frees with leafcache_free. */
struct leafcache *leafcache_new(struct ca *ca, size_t capacity) HP_NONNULL(1) HP_WUNRES;

/* Free the cache and drop its references (leaves still held by callers stay valid). */
void leafcache_free(struct leafcache *lc);

/* Return the leaf for host (name or IP literal; case-insensitive), minting it on a miss (as
 * signed, the fast form: the cache's mint thread replaces it by its read-back form later, see
 * mint.h's mint_ctx_leaf_signed).
 * Returns NULL with a reason in err if it cannot be minted. Caller releases with X509_free.
 * *minted is set to 1 when this call minted it (optional, may be NULL). */
X509 *leafcache_get(struct leafcache *lc, const char *host, int *minted, char *err, size_t errlen)
    HP_NONNULL(1, 2) HP_WUNRES;

/* Mint the leaf for host ahead, on the cache's mint thread, unless it is cached or on its way
 * already; never blocks on a mint. A leafcache_get for a host being minted there waits for that
 * mint (it is under way: no longer than minting it again); one still queued is taken back and
 * minted by the caller. Nothing happens when the thread cannot be started or its queue is full
 * (LEAFCACHE_PREFETCH_QUEUE): the leaf is then minted when asked for, as without a prefetch. */
#define LEAFCACHE_PREFETCH_QUEUE 64
void leafcache_prefetch(struct leafcache *lc, const char *host) HP_NONNULL(1, 2);

/* Number of leaves held now. */
size_t leafcache_size(struct leafcache *lc) HP_NONNULL(1);

#endif
