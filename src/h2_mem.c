/* h2_mem.c — see h2_mem.h. nghttp2 1.52 makes a session's outgoing frame buffer (aob.framebufs,
 * NGHTTP2_FRAMEBUF_CHUNKLEN: 16 KiB + a frame header) when the session is created and keeps its
 * first chunk until the session ends (made by nghttp2_buf_reserve: a realloc of NULL); every
 * frame is packed into it from its start and copied
 * out by nghttp2_session_mem_send. That first big block made during creation is the one mapped
 * here; blocks of its size made later (more chunks for a big HEADERS, a large inbound frame) come
 * and go with one frame and stay malloc's. */
#define _DEFAULT_SOURCE
#include "h2_mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A block this big made while the session is created is its frame buffer. */
#define H2_MEM_FRAMEBUF_MIN 16384

static size_t page_round(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

/* ---- small blocks ----
 * nghttp2 allocates and frees a handful of small blocks per stream (the header rcbufs of every
 * literal field it decodes, ~9 per response head from nginx; stream and outbound item structs):
 * ~100 instructions each through malloc and free (glibc's per-thread cache holds 7 a size, so a
 * head's worth spill into its arena). Blocks of up to SMALL_MAX bytes come from per-thread lists
 * by size class instead (~20 instructions); each block has a header naming its class, and blocks
 * of other sizes a BIG header (plain malloc behind it). A thread keeps at most SMALL_KEEP free
 * blocks a class (~33 KiB in all) and frees them when it exits. A block may be freed on another
 * thread than the one that made it: it joins that thread's lists. */
#define SMALL_CLASSES 4
#define SMALL_MIN 64 /* class c holds SMALL_MIN << c bytes: 64, 128, 256, 512 */
#define SMALL_MAX (SMALL_MIN << (SMALL_CLASSES - 1))
#define SMALL_KEEP 32
#define BIG 0xffu

struct block_hdr { /* 16 bytes: the payload keeps malloc's 16-byte alignment */
    uint32_t cls;
    uint32_t unused;
    uint64_t unused2;
};
_Static_assert(sizeof(struct block_hdr) == 16, "payload alignment");

struct free_block {
    struct free_block *next;
};

struct small_cache {
    struct free_block *head[SMALL_CLASSES];
    unsigned n[SMALL_CLASSES];
    int registered; /* the thread's exit frees the lists (cache_key's destructor) */
};

static _Thread_local struct small_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_drop(void *arg)
{
    struct small_cache *c = arg;
    for (int i = 0; i < SMALL_CLASSES; i++) {
        while (c->head[i]) {
            struct free_block *b = c->head[i];
            c->head[i] = b->next;
            free((struct block_hdr *)b - 1);
        }
        c->n[i] = 0;
    }
    c->registered = 0; /* a block freed later in the thread's exit registers the lists again */
}

static void cache_key_make(void) { pthread_key_create(&cache_key, cache_drop); }

static int class_of(size_t size)
{
    int c = 0;
    while ((size_t)(SMALL_MIN << c) < size)
        c++;
    return c;
}

static void *block_alloc(size_t size)
{
    if (size <= SMALL_MAX) {
        int c = class_of(size);
        struct free_block *b = cache.head[c];
        if (b) {
            cache.head[c] = b->next;
            cache.n[c]--;
            return b;
        }
        struct block_hdr *h = malloc(sizeof *h + ((size_t)SMALL_MIN << c));
        if (!h)
            return NULL;
        h->cls = (uint32_t)c;
        return h + 1;
    }
    if (size > SIZE_MAX - sizeof(struct block_hdr))
        return NULL;
    struct block_hdr *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->cls = BIG;
    return h + 1;
}

static void block_free(void *ptr)
{
    struct block_hdr *h = (struct block_hdr *)ptr - 1;
    uint32_t c = h->cls;
    if (c == BIG || cache.n[c] >= SMALL_KEEP) {
        free(h);
        return;
    }
    if (!cache.registered) {
        pthread_once(&cache_once, cache_key_make);
        pthread_setspecific(cache_key, &cache);
        cache.registered = 1;
    }
    struct free_block *b = ptr;
    b->next = cache.head[c];
    cache.head[c] = b;
    cache.n[c]++;
}

/* Bytes a class block holds. */
static size_t class_room(const struct block_hdr *h) { return (size_t)SMALL_MIN << h->cls; }

static void *block_realloc(void *ptr, size_t size)
{
    struct block_hdr *h = (struct block_hdr *)ptr - 1;
    if (h->cls == BIG && size > SMALL_MAX) {
        if (size > SIZE_MAX - sizeof *h)
            return NULL;
        struct block_hdr *nh = realloc(h, sizeof *nh + size);
        return nh ? nh + 1 : NULL;
    }
    if (h->cls != BIG && size <= class_room(h))
        return ptr;
    void *np = block_alloc(size);
    if (!np)
        return NULL;
    /* a BIG block shrinking into a class holds more than size; a class block growing, less */
    memcpy(np, ptr, h->cls == BIG ? size : class_room(h));
    block_free(ptr);
    return np;
}

static void *mem_malloc(size_t size, void *ud)
{
    struct h2_mem *m = ud;
    if (m->creating && !m->framebuf && size >= H2_MEM_FRAMEBUF_MIN) {
        size_t len = page_round(size);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            m->framebuf = p;
            m->framebuf_len = len;
            return p;
        }
    }
    return block_alloc(size);
}

static void mem_free(void *ptr, void *ud)
{
    struct h2_mem *m = ud;
    if (!ptr)
        return;
    if (ptr == m->framebuf) {
        munmap(ptr, m->framebuf_len);
        m->framebuf = NULL;
        return;
    }
    if (ptr == m->table) { /* the map grew (a new table is calloc's) or the session ends */
        munmap(ptr, m->table_len);
        m->table = NULL;
        return;
    }
    block_free(ptr);
}

/* nghttp2 1.52 makes a session's stream map with a zeroed table of 256 buckets (4 KiB) and keeps
 * it while the map does not grow; the session struct itself (2.9 KiB) is the only other calloc
 * made with the session, and is smaller than a page. */
static void *mem_calloc(size_t nmemb, size_t size, void *ud)
{
    struct h2_mem *m = ud;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size && nmemb > SIZE_MAX / size)
        return NULL;
    if (m->creating && !m->table && nmemb * size >= page) {
        size_t len = page_round(nmemb * size);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) { /* zero-filled, as calloc's */
            m->table = p;
            m->table_len = len;
            return p;
        }
    }
    void *p = block_alloc(nmemb * size);
    if (p)
        memset(p, 0, nmemb * size);
    return p;
}

static void *mem_realloc(void *ptr, size_t size, void *ud)
{
    struct h2_mem *m = ud;
    if (!ptr) /* nghttp2_buf_reserve makes the frame buffer so */
        return mem_malloc(size, ud);
    if (ptr == m->table) { /* not done by nghttp2 1.52 (its map grows into a new table) */
        void *p = block_alloc(size);
        if (!p)
            return NULL;
        memcpy(p, ptr, size < m->table_len ? size : m->table_len);
        munmap(ptr, m->table_len);
        m->table = NULL;
        return p;
    }
    if (ptr != m->framebuf)
        return block_realloc(ptr, size);
    if (size <= m->framebuf_len)
        return ptr;
    void *p = block_alloc(size); /* grown: an ordinary block from now on */
    if (!p)
        return NULL;
    memcpy(p, ptr, m->framebuf_len);
    munmap(ptr, m->framebuf_len);
    m->framebuf = NULL;
    return p;
}

void h2_mem_init(struct h2_mem *m, nghttp2_mem *out)
{
    memset(m, 0, sizeof *m);
    *out = (nghttp2_mem){m, mem_malloc, mem_free, mem_calloc, mem_realloc};
}

/* 1 when len bytes at p are all zero. */
static int all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

void h2_mem_release_idle(struct h2_mem *m)
{
    if (m->framebuf)
        madvise(m->framebuf, m->framebuf_len, MADV_DONTNEED);
    if (m->table && all_zero(m->table, m->table_len))
        madvise(m->table, m->table_len, MADV_DONTNEED);
}
