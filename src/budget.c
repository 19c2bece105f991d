/* budget.c — see budget.h. Plain atomics: take is a compare-and-swap loop so the sum never goes
 * over the limit however many workers take at once. */
#include "budget.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void budget_init(struct budget *b, size_t limit)
{
    atomic_store(&b->limit, limit ? limit : BUDGET_DEFAULT);
    atomic_store(&b->used, 0);
    atomic_store(&b->peak, 0);
    atomic_store(&b->conns, 0);
    b->spill_dir[0] = '\0';
}

int budget_set_spill_dir(struct budget *b, const char *dir)
{
    if (!dir)
        dir = "";
    if (strlen(dir) >= sizeof b->spill_dir)
        return -1;
    strcpy(b->spill_dir, dir);
    return 0;
}

void budget_conn_open(struct budget *b) { atomic_fetch_add(&b->conns, 1); }
void budget_conn_close(struct budget *b) { atomic_fetch_sub(&b->conns, 1); }

size_t budget_share(struct budget *b)
{
    size_t limit = atomic_load(&b->limit);
    int conns = atomic_load(&b->conns);
    size_t share = limit / (size_t)(conns > BUDGET_SHARE_DIV ? conns : BUDGET_SHARE_DIV);
    return share < BUDGET_SHARE_FLOOR ? BUDGET_SHARE_FLOOR : share;
}

int budget_take(struct budget *b, size_t n)
{
    size_t limit = atomic_load(&b->limit);
    size_t cur = atomic_load(&b->used);
    do {
        if (n > limit || cur > limit - n)
            return 0;
    } while (!atomic_compare_exchange_weak(&b->used, &cur, cur + n));
    size_t peak = atomic_load(&b->peak);
    while (cur + n > peak && !atomic_compare_exchange_weak(&b->peak, &peak, cur + n))
        ;
    return 1;
}

void budget_give(struct budget *b, size_t n)
{
    atomic_fetch_sub(&b->used, n);
}

int budget_tight(struct budget *b)
{
    size_t limit = atomic_load(&b->limit);
    return atomic_load(&b->used) > limit - limit / 8;
}

size_t budget_outbuf_max(struct budget *b, size_t max)
{
    if (!b)
        return max;
    size_t cap = budget_tight(b) ? BUDGET_SHARE_FLOOR : budget_share(b) / 2;
    if (cap < BUDGET_SHARE_FLOOR)
        cap = BUDGET_SHARE_FLOOR;
    return cap < max ? cap : max;
}

int budget_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -1;
    }
    if (*end == 'i' && shift) /* "256MiB" reads as "256M" */
        end++;
    if (*end == 'B' && shift)
        end++;
    if (*end || v > (SIZE_MAX >> shift))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}
