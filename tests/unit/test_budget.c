/* test_budget.c — the memory budget (budget.c): sizes, fair shares, takes that never overshoot
 * under contention; body captures (capture.c) that stay within their share, spill to disk
 * whole or stop marked "memory budget"; per-client connection slots (client_slots.c). */
#include "../../src/budget.c"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "capture.h"
#include "client_slots.h"
#include "tap.h"

static void test_parse(void)
{
    static const struct { const char *in; long long want; } cases[] = {
        {"65536", 65536}, {"64K", 65536}, {"256M", 256ll << 20}, {"1G", 1ll << 30},
        {"256MiB", 256ll << 20}, {"2g", 2ll << 30}, {"", -1}, {"-1", -1}, {"1.5G", -1},
        {"12X", -1}, {"M", -1}, {"99999999999999999999", -1}, {"99999999999G", -1}, {"1 G", -1},
        {"+5", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t out = 0;
        int rc = budget_parse_size(cases[i].in, &out);
        is_int(rc < 0 ? -1 : (long long)out, cases[i].want, cases[i].in[0] ? cases[i].in : "(empty)");
    }
}

static struct budget B;

static void test_take_share(void)
{
    budget_init(&B, 64u << 20);
    ok(budget_take(&B, 64u << 20), "the whole budget can be taken");
    ok(!budget_take(&B, 1), "not a byte more");
    budget_give(&B, 64u << 20);
    is_int((long long)atomic_load(&B.used), 0, "given back: nothing used");
    ok(!budget_take(&B, (64u << 20) + 1), "a take larger than the budget is refused");
    is_int((long long)atomic_load(&B.used), 0, "and takes nothing");
    is_int((long long)atomic_load(&B.peak), 64 << 20, "peak remembers the highest use");

    is_int((long long)budget_share(&B), (64 << 20) / 8, "no connection yet: a share is 1/8 of the budget");
    for (int i = 0; i < 1000; i++)
        budget_conn_open(&B);
    is_int((long long)budget_share(&B), (64 << 20) / 1000, "1000 connections: the budget split 1000 ways");
    for (int i = 0; i < 9000; i++)
        budget_conn_open(&B);
    is_int((long long)budget_share(&B), BUDGET_SHARE_FLOOR, "10000 connections: never under the floor");
    for (int i = 0; i < 10000; i++)
        budget_conn_close(&B);
    is_int((long long)budget_outbuf_max(&B, 256 << 10), 256 << 10,
           "a roomy budget: the fixed output limit applies");
    ok(!budget_tight(&B), "not tight when empty");
    ok(budget_take(&B, (57u << 20)), "take 57 of 64 MiB");
    ok(budget_tight(&B), "over 7/8 taken: tight");
    is_int((long long)budget_outbuf_max(&B, 256 << 10), BUDGET_SHARE_FLOOR,
           "tight: a slow peer gets only the floor queued (the fast side is slowed)");
    budget_give(&B, 57u << 20);
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200000; i++)
        if (budget_take(&B, 3000))
            budget_give(&B, 3000);
    return NULL;
}

static void test_threads(void)
{
    budget_init(&B, 10000); /* 10000 bytes: three takes of 3000 fit at once, not four */
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    is_int((long long)atomic_load(&B.used), 0, "8 threads taking and giving: all given back");
    ok(atomic_load(&B.peak) <= 10000 && atomic_load(&B.peak) >= 3000,
       "and the sum never went over the budget (peak %zu of 10000)", (size_t)atomic_load(&B.peak));
}

static char *pattern(size_t n)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 2654435761u) >> 13);
    return p;
}

static void feed(struct flow_capture *c, const char *data, size_t n)
{
    for (size_t at = 0; at < n; at += 4096)
        flow_capture_add(c, data + at, n - at < 4096 ? n - at : 4096);
}

static int files_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_capture(void)
{
    size_t n = 1u << 20;
    char *body = pattern(n);
    budget_init(&B, 4u << 20); /* share 512 KiB: a capture keeps at most 256 KiB in memory */

    /* nowhere to spill: the capture stops at its share and says why */
    struct flow_capture c = {.max = 16u << 20, .budget = &B};
    feed(&c, body, n);
    is_int((long long)c.total, (long long)n, "no spill directory: every byte is counted");
    ok(c.len > 0 && c.len <= (256u << 10), "only the share is kept (%zu bytes)", c.len);
    ok(c.truncated && c.cut && !strcmp(c.cut, CAPTURE_CUT_BUDGET), "marked cut: \"memory budget\"");
    ok(!memcmp(c.data, body, c.len), "what was kept is the body's start");
    is_int((long long)atomic_load(&B.used), (long long)c.charged, "its memory is taken from the budget");
    capture_release(&c);
    is_int((long long)atomic_load(&B.used), 0, "released: given back");

    /* with a spill directory the whole body is captured, on disk */
    char dir[] = "/tmp/test_budget.XXXXXX";
    ok(mkdtemp(dir) != NULL, "a spill directory");
    budget_set_spill_dir(&B, dir);
    struct flow_capture s = {.max = 16u << 20, .budget = &B};
    feed(&s, body, n);
    ok(s.spilled && !s.cut && !s.truncated, "past its share the capture spills, not cut");
    is_int((long long)s.len, (long long)n, "every byte captured");
    is_int((long long)atomic_load(&B.used), 0, "a spilled capture holds no budget");
    is_int(files_in(dir), 0, "the spill file has no name (gone with its descriptor)");
    ok(capture_map(&s) == 0 && s.data && !memcmp(s.data, body, n), "mapped, it reads back exactly");
    capture_unmap(&s);
    ok(!s.data, "unmapped");
    capture_release(&s);

    /* --max-body still applies to a spilled capture */
    struct flow_capture m = {.max = 300u << 10, .budget = &B};
    feed(&m, body, n);
    ok(m.spilled && m.len == (300u << 10) && m.truncated && !m.cut,
       "--max-body 300 KiB: 300 KiB captured, truncated but not cut (%zu)", m.len);
    capture_release(&m);

    /* a small body stays in memory */
    struct flow_capture k = {.max = 16u << 20, .budget = &B};
    feed(&k, body, 10000);
    ok(!k.spilled && k.len == 10000 && !memcmp(k.data, body, 10000), "10 kB stays in memory");
    capture_release(&k);
    is_int((long long)atomic_load(&B.used), 0, "everything given back");
    rmdir(dir);
    budget_set_spill_dir(&B, NULL);

    /* no budget at all: in memory up to --max-body, as before budgets */
    struct flow_capture u = {.max = 16u << 20};
    feed(&u, body, n);
    ok(!u.spilled && !u.cut && u.len == n && !memcmp(u.data, body, n), "no budget: all in memory");
    capture_release(&u);
    free(body);
}

/* A body of n bytes the head announced (Content-Length), captured whole, fed in 4 KiB parts. */
static void capture_announced(struct flow_capture *c, const char *data, size_t n)
{
    flow_capture_expect(c, n);
    feed(c, data, n);
}

/* Big announced bodies one after another reuse the block the last one freed (capture.h's spare):
 * the bytes read back are always the new body's, budgets are charged as before. */
static void test_capture_spare(void)
{
    size_t n = 3u << 20;
    char *one = pattern(n), *two = malloc(n);
    for (size_t i = 0; i < n; i++)
        two[i] = (char)(one[i] ^ 0x5a);
    budget_init(&B, 256u << 20);
    capture_spare_drop();
    unsigned long before = capture_spare_reuses();

    struct flow_capture a = {.max = 16u << 20, .budget = &B};
    capture_announced(&a, one, n);
    ok(!a.spilled && a.len == n && (uintptr_t)a.data % CAPTURE_ALIGN == 0, "3 MiB announced: in memory, aligned");
    const char *block = a.data - a.align_off;
    capture_release(&a);
    is_int((long long)atomic_load(&B.used), 0, "released: its budget given back");

    struct flow_capture b = {.max = 16u << 20, .budget = &B};
    capture_announced(&b, two, n - 100); /* a shorter body: the 3 MiB block still fits it */
    is_int((long long)(capture_spare_reuses() - before), 1, "the next big body takes the freed block");
    ok(b.data - b.align_off == block, "the very same block");
    ok(b.len == n - 100 && !memcmp(b.data, two, n - 100), "holding the new body's bytes only");
    is_int((long long)atomic_load(&B.used), (long long)b.charged, "charged to the budget as a new block");

    /* a small body does not pin a big block, a body past the block's size gets a new one */
    struct flow_capture c = {.max = 64u << 20, .budget = &B};
    capture_release(&b);
    capture_announced(&c, one, 1u << 20); /* 1 MiB into a 3 MiB block: not taken */
    is_int((long long)(capture_spare_reuses() - before), 1, "a body under half the block's size does not take it");
    capture_release(&c); /* the 1 MiB block is kept now, the 3 MiB one freed */
    struct flow_capture d = {.max = 64u << 20, .budget = &B};
    capture_announced(&d, one, n);
    is_int((long long)(capture_spare_reuses() - before), 1, "nor one bigger than the block");
    ok(d.len == n && !memcmp(d.data, one, n), "its bytes intact");
    capture_release(&d);

    /* a body announced but longer than said grows out of the block (copied, the block kept) */
    struct flow_capture e = {.max = 16u << 20, .budget = &B};
    flow_capture_expect(&e, n - 4096);
    feed(&e, one, n);
    is_int((long long)(capture_spare_reuses() - before), 2, "a lying length takes the block first");
    ok(e.len == n && !memcmp(e.data, one, n) && !e.block_size, "then grows into a plain block, bytes intact");
    capture_release(&e);
    is_int((long long)atomic_load(&B.used), 0, "everything given back");
    capture_spare_drop();
    free(one);
    free(two);
}

static void test_slots(void)
{
    struct client_slots *t = client_slots_new(2);
    is_int(client_slots_take(t, "10.0.0.1"), 0, "first connection of a client");
    is_int(client_slots_take(t, "10.0.0.1"), 0, "second");
    is_int(client_slots_take(t, "10.0.0.1"), 2, "third over max 2: refused, 2 open");
    is_int(client_slots_take(t, "10.0.0.2"), 0, "another client is counted on its own");
    client_slots_give(t, "10.0.0.1");
    is_int(client_slots_open(t, "10.0.0.1"), 1, "one closed: one open");
    is_int(client_slots_take(t, "10.0.0.1"), 0, "so a new one is let in");
    client_slots_give(t, "10.0.0.1");
    client_slots_give(t, "10.0.0.1");
    is_int(client_slots_open(t, "10.0.0.1"), 0, "all closed: none open");
    client_slots_give(t, "10.0.0.9"); /* unknown: nothing happens */
    is_int(client_slots_open(t, "10.0.0.2"), 1, "the other client's count is untouched");
    client_slots_free(t);
}

int main(void)
{
    test_parse();
    test_take_share();
    test_threads();
    test_capture();
    test_capture_spare();
    test_slots();
    return done();
}
