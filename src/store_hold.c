/* store_hold.c — see store_hold.h. */
#include "store_hold.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include "flow.h"

int store_hold_init(struct store_hold *h)
{
    memset(h, 0, sizeof *h);
    return (h->flows = malloc(STORE_HOLD_FLOWS * sizeof *h->flows)) ? 0 : -1;
}

size_t store_hold_destroy(struct store_hold *h)
{
    size_t n = h->n;
    for (size_t i = 0; i < h->n; i++)
        flow_free(h->flows[i]);
    free(h->flows);
    memset(h, 0, sizeof *h);
    return n;
}

size_t store_hold_take(struct store_hold *h, struct flow **fl, size_t n)
{
    size_t taken = 0;
    for (size_t i = 0; i < n && h->flows; i++) {
        size_t size = flow_mem_size(fl[i]);
        if (h->n < STORE_HOLD_FLOWS && h->bytes + size <= STORE_HOLD_BYTES) {
            h->flows[h->n++] = fl[i];
            h->bytes += size;
            fl[i] = NULL;
            taken++;
        }
    }
    return taken;
}

size_t store_hold_release(struct store_hold *h, struct flow **out)
{
    size_t n = h->n;
    if (n)
        memcpy(out, h->flows, n * sizeof *out);
    h->n = h->bytes = 0;
    return n;
}

uint64_t store_hold_space(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) < 0)
        return UINT64_MAX;
    return (uint64_t)v.f_bavail * v.f_frsize;
}

size_t store_hold_fit(struct store_hold *h, uint64_t avail, size_t *freed)
{
    size_t dropped = 0;
    *freed = 0;
    while (h->n && (uint64_t)h->bytes + STORE_HOLD_MARGIN > avail) {
        struct flow *f = h->flows[--h->n];
        size_t size = flow_mem_size(f);
        h->bytes -= size;
        *freed += size;
        flow_free(f);
        dropped++;
    }
    return dropped;
}
