/* capture.c — see capture.h. */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "budget.h"

/* A new spill file in spill_dir, already unlinked (it vanishes with its descriptor, also on a
 * crash), or -1. */
static int spill_open(const char *spill_dir)
{
    if (!spill_dir[0])
        return -1;
    int fd = open(spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[PATH_MAX + 32]; /* file systems without O_TMPFILE */
    snprintf(path, sizeof path, "%s/.httpeek-spill-XXXXXX", spill_dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The spare block (capture.h): one freed aligned block, any thread's, for the next capture. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static char *spare;          /* malloc'd block, or NULL */
static size_t spare_size;    /* its malloc'd size */
static unsigned long spare_reuses;

/* The spare block when it holds need bytes and is not more than twice that (a small capture does
 * not pin a big block), else NULL. Sets *size to the block's size. */
static char *spare_take(size_t need, size_t *size)
{
    char *p = NULL;
    pthread_mutex_lock(&spare_lock);
    if (spare && spare_size >= need && spare_size / 2 <= need) {
        p = spare;
        *size = spare_size;
        spare = NULL;
        spare_reuses++;
    }
    pthread_mutex_unlock(&spare_lock);
    return p;
}

/* Free a capture's malloc'd block (size: its malloc'd size when aligned, else 0); a big aligned
 * one becomes the spare (the one kept before is freed: the newest is the likeliest size). */
static void block_free(char *block, size_t size)
{
    if (block && size >= CAPTURE_SPARE_MIN && size <= CAPTURE_SPARE_MAX) {
        pthread_mutex_lock(&spare_lock);
        char *old = spare;
        spare = block;
        spare_size = size;
        pthread_mutex_unlock(&spare_lock);
        block = old;
    }
    free(block);
}

unsigned long capture_spare_reuses(void)
{
    pthread_mutex_lock(&spare_lock);
    unsigned long n = spare_reuses;
    pthread_mutex_unlock(&spare_lock);
    return n;
}

void capture_spare_drop(void)
{
    pthread_mutex_lock(&spare_lock);
    char *old = spare;
    spare = NULL;
    pthread_mutex_unlock(&spare_lock);
    free(old);
}

/* The capture goes on in a spill file: what it holds in memory first, then data. 0, -1 (the
 * capture is unchanged). */
static int spill(struct flow_capture *c, const char *data, size_t len)
{
    int fd = c->budget ? spill_open(c->budget->spill_dir) : -1;
    if (fd < 0)
        return -1;
    if (write_all(fd, c->data, c->len) < 0 || write_all(fd, data, len) < 0) {
        close(fd);
        return -1;
    }
    if (c->data)
        block_free(c->data - c->align_off, c->block_size);
    c->data = NULL;
    c->align_off = 0;
    c->block_size = 0;
    c->cap = 0;
    budget_give(c->budget, c->charged);
    c->charged = 0;
    c->spill_fd = fd;
    c->spilled = 1;
    c->len += len;
    return 0;
}

static void cut(struct flow_capture *c)
{
    c->truncated = 1;
    c->cut = CAPTURE_CUT_BUDGET;
}

/* n bytes at a CAPTURE_ALIGN boundary inside an ordinary malloc'd block (*off bytes in, the
 * block's size in *size): the spare block when it fits, else a new one. Not aligned_alloc:
 * glibc serves a big aligned request with a fresh mmap every time (the block it asks for is
 * always over the mmap threshold the last free set), and the first touch of each of those pages
 * cost more than the copy it saves; a plain block of the same size comes back from the worker's
 * arena, already in memory (as long as glibc does not trim it: hence the spare). */
static char *alloc_aligned(size_t n, unsigned *off, size_t *size)
{
    char *p = spare_take(n + CAPTURE_ALIGN, size);
    if (!p) {
        p = malloc(n + CAPTURE_ALIGN);
        *size = n + CAPTURE_ALIGN;
    }
    if (!p)
        return NULL;
    *off = (unsigned)((CAPTURE_ALIGN - (uintptr_t)p % CAPTURE_ALIGN) % CAPTURE_ALIGN);
    return p + *off;
}

/* The capture's memory made ncap bytes long, its bytes kept (an aligned block is copied into a
 * plain one: realloc wants the block's own start). NULL: out of memory, the capture unchanged. */
static char *grow(struct flow_capture *c, size_t ncap)
{
    if (!c->block_size)
        return realloc(c->data, ncap);
    char *nd = malloc(ncap);
    if (!nd)
        return NULL;
    memcpy(nd, c->data, c->len);
    block_free(c->data - c->align_off, c->block_size);
    c->align_off = 0;
    c->block_size = 0;
    return nd;
}

void flow_capture_expect(struct flow_capture *cap, uint64_t length)
{
    cap->expect = length;
}

void flow_capture_add(struct flow_capture *cap, const char *data, size_t len)
{
    cap->total += len;
    if (cap->cut) {
        return;
    }
    size_t room = cap->max > cap->len ? cap->max - cap->len : 0;
    size_t take = len < room ? len : room;
    if (take < len)
        cap->truncated = 1; /* --max-body */
    if (!take)
        return;
    if (cap->spilled) {
        if (write_all(cap->spill_fd, data, take) < 0)
            cut(cap); /* the bytes before stay readable: len counts only whole writes */
        else
            cap->len += take;
        return;
    }
    if (cap->len + take > cap->cap) {
        size_t need = cap->len + take;
        size_t ncap = cap->cap ? cap->cap : 4096;
        /* the in-memory part stays within half the connection's share (the request's and the
         * response's captures, the rest for what is queued towards the client) */
        struct budget *b = cap->budget;
        size_t mem_max = b ? budget_share(b) / 2 : cap->max;
        /* a body the head announced, that fits: all of it at once (a lying length grows below);
         * one that will not fit grows as before, charging the budget as its bytes come */
        int whole = !cap->cap && cap->expect >= need && cap->expect <= cap->max &&
                    cap->expect <= mem_max;
        if (whole)
            ncap = (size_t)cap->expect;
        while (ncap < need)
            ncap *= 2;
        if (ncap > cap->max)
            ncap = cap->max;
        if (ncap > mem_max && need <= mem_max)
            ncap = mem_max;
        int aligned = whole && ncap >= CAPTURE_ALIGN_MIN;
        if (aligned)
            ncap = (ncap + CAPTURE_ALIGN - 1) / CAPTURE_ALIGN * CAPTURE_ALIGN;
        char *nd = NULL;
        int took = 0;
        if (ncap <= mem_max + (aligned ? CAPTURE_ALIGN : 0)) {
            took = !b || budget_take(b, ncap - cap->cap);
            if (!took) /* short of memory: no block kept aside either */
                capture_spare_drop();
        }
        if (took) {
            nd = aligned ? alloc_aligned(ncap, &cap->align_off, &cap->block_size) : grow(cap, ncap);
            if (!nd && b)
                budget_give(b, ncap - cap->cap);
        }
        if (!nd) {
            if (spill(cap, data, take) < 0)
                cut(cap);
            return;
        }
        cap->charged += ncap - cap->cap;
        cap->data = nd;
        cap->cap = ncap;
    }
    memcpy(cap->data + cap->len, data, take);
    cap->len += take;
}

void capture_release(struct flow_capture *c)
{
    capture_unmap(c);
    if (c->spilled)
        close(c->spill_fd);
    if (c->data && !c->mapped)
        block_free(c->data - c->align_off, c->block_size);
    c->align_off = 0;
    c->block_size = 0;
    if (c->budget)
        budget_give(c->budget, c->charged);
    c->data = NULL;
    c->len = c->cap = c->charged = 0;
    c->spilled = 0;
}

int capture_map(struct flow_capture *c)
{
    if (!c->spilled || c->mapped || !c->len)
        return 0;
    void *m = mmap(NULL, c->len, PROT_READ, MAP_PRIVATE, c->spill_fd, 0);
    if (m == MAP_FAILED) {
        c->len = 0;
        cut(c);
        return -1;
    }
    c->data = m;
    c->mapped = 1;
    return 0;
}

void capture_unmap(struct flow_capture *c)
{
    if (!c->mapped)
        return;
    munmap(c->data, c->len);
    c->data = NULL;
    c->mapped = 0;
}
