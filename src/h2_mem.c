/* h2_mem.c — see h2_mem.h. nghttp2 1.52 makes a session's outgoing frame buffer (aob.framebufs,
 * NGHTTP2_FRAMEBUF_CHUNKLEN: 16 KiB + a frame header) when the session is created and keeps its
 * first chunk until the session ends (made by nghttp2_buf_reserve: a realloc of NULL); every
 * frame is packed into it from its start and copied
 * out by nghttp2_session_mem_send. That first big block made during creation is the one mapped
 * here; blocks of its size made later (more chunks for a big HEADERS, a large inbound frame) come
 * and go with one frame and stay malloc's. */
#define _DEFAULT_SOURCE
#include "h2_mem.h"

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
    return malloc(size);
}

static void mem_free(void *ptr, void *ud)
{
    struct h2_mem *m = ud;
    if (ptr && ptr == m->framebuf) {
        munmap(ptr, m->framebuf_len);
        m->framebuf = NULL;
        return;
    }
    if (ptr && ptr == m->table) { /* the map grew (a new table is calloc's) or the session ends */
        munmap(ptr, m->table_len);
        m->table = NULL;
        return;
    }
    free(ptr);
}

/* nghttp2 1.52 makes a session's stream map with a zeroed table of 256 buckets (4 KiB) and keeps
 * it while the map does not grow; the session struct itself (2.9 KiB) is the only other calloc
 * made with the session, and is smaller than a page. */
static void *mem_calloc(size_t nmemb, size_t size, void *ud)
{
    struct h2_mem *m = ud;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (m->creating && !m->table && size && nmemb <= SIZE_MAX / size && nmemb * size >= page) {
        size_t len = page_round(nmemb * size);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) { /* zero-filled, as calloc's */
            m->table = p;
            m->table_len = len;
            return p;
        }
    }
    return calloc(nmemb, size);
}

static void *mem_realloc(void *ptr, size_t size, void *ud)
{
    struct h2_mem *m = ud;
    if (!ptr) /* nghttp2_buf_reserve makes the frame buffer so */
        return mem_malloc(size, ud);
    if (ptr == m->table) { /* not done by nghttp2 1.52 (its map grows into a new table) */
        void *p = malloc(size);
        if (!p)
            return NULL;
        memcpy(p, ptr, size < m->table_len ? size : m->table_len);
        munmap(ptr, m->table_len);
        m->table = NULL;
        return p;
    }
    if (ptr != m->framebuf)
        return realloc(ptr, size);
    if (size <= m->framebuf_len)
        return ptr;
    void *p = malloc(size); /* grown: an ordinary block from now on */
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
