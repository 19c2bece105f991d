/* throttle.c — see throttle.h. */
#include "throttle.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/bufferevent.h>
#include "str.h"

/* Apple's Network Link Conditioner profiles. NLC delays each direction; httpeek adds one delay
 * per round trip, the larger of NLC's two (LTE: 50 ms down, 65 ms up: 65 ms). */
static const struct throttle_profile presets[] = {
    {"3g", 780000, 330000, 100, 0, 0},
    {"lte", 50000000, 10000000, 65, 0, 0},
    {"edge", 240000, 200000, 440, 0, 0},
    {"dsl", 2000000, 256000, 5, 0, 0},
    {"very-bad", 1000000, 1000000, 500, 0, 0.10},
    {"loss100", 0, 0, 0, 0, 1.0},
    {"dns-slow", 0, 0, 0, 3000, 0},
};

/* The number at the start of v[0..n) into *x, *end at what follows it in buf (the caller's,
 * 32 bytes: v's copy, NUL-terminated). 0, or -1 when v is empty or too long. */
static int leading_number(const char *v, size_t n, char buf[32], double *x, char **end)
{
    if (!n || n >= 32)
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    *x = strtod(buf, end);
    return 0;
}

/* "780k" (bits per second, k/m/g ×1000) into *bps; 0 or -1. */
static int parse_rate(const char *v, size_t n, uint64_t *bps)
{
    char buf[32], *end;
    double x;
    if (leading_number(v, n, buf, &x, &end) < 0)
        return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1e9, end++;
    if (!strcmp(end, "bps") || !strcmp(end, "bit"))
        end += strlen(end);
    if (errno || end == buf || *end || !(x >= 0) || x * mul > 1e11)
        return -1;
    *bps = (uint64_t)(x * mul + 0.5);
    return 0;
}

/* "100ms" / "1.5s" / "100" (ms) into *ms; 0 or -1. */
static int parse_ms(const char *v, size_t n, unsigned *ms)
{
    char buf[32], *end;
    double x;
    if (leading_number(v, n, buf, &x, &end) < 0)
        return -1;
    if (!strcmp(end, "s"))
        x *= 1000, end++;
    else if (!strcmp(end, "ms"))
        end += 2;
    if (errno || end == buf || *end || !(x >= 0) || x > 600000)
        return -1;
    *ms = (unsigned)(x + 0.5);
    return 0;
}

static int parse_loss(const char *v, size_t n, double *loss)
{
    char buf[32], *end;
    double x;
    if (leading_number(v, n, buf, &x, &end) < 0)
        return -1;
    if (*end == '%')
        end++;
    if (errno || end == buf || *end || !(x >= 0) || x > 100)
        return -1;
    *loss = x / 100;
    return 0;
}

int throttle_parse(const char *spec, struct throttle_profile *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (!strcmp(spec, presets[i].name)) {
            *p = presets[i];
            return 0;
        }
    if (strncmp(spec, "custom:", 7)) {
        snprintf(err, errlen, "unknown throttle '%.60s' (3g, lte, edge, dsl, very-bad, loss100, "
                 "dns-slow, or custom:down=780k,up=330k,latency=100ms,dns=0ms,loss=0%%)", spec);
        return -1;
    }
    struct throttle_profile c = {"custom", 0, 0, 0, 0, 0};
    const char *s = spec + 7;
    if (!*s) {
        snprintf(err, errlen, "custom: name at least one of down, up, latency, dns, loss");
        return -1;
    }
    while (*s) {
        size_t n = strcspn(s, ",");
        const char *eq = memchr(s, '=', n);
        int bad = !eq;
        if (eq) {
            size_t k = (size_t)(eq - s), vn = n - k - 1;
            const char *v = eq + 1;
            if (k == 4 && !memcmp(s, "down", 4))
                bad = parse_rate(v, vn, &c.down_bps) < 0;
            else if (k == 2 && !memcmp(s, "up", 2))
                bad = parse_rate(v, vn, &c.up_bps) < 0;
            else if (k == 7 && !memcmp(s, "latency", 7))
                bad = parse_ms(v, vn, &c.latency_ms) < 0;
            else if (k == 3 && !memcmp(s, "dns", 3))
                bad = parse_ms(v, vn, &c.dns_ms) < 0;
            else if (k == 4 && !memcmp(s, "loss", 4))
                bad = parse_loss(v, vn, &c.loss) < 0;
            else
                bad = 1;
        }
        if (bad) {
            snprintf(err, errlen, "custom throttle: bad '%.*s' (down=780k, up=330k, latency=100ms, "
                     "dns=0ms, loss=0%%)", (int)(n > 60 ? 60 : n), s);
            return -1;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    *p = c;
    return 0;
}

/* "780 kbps", "50 Mbps", "unlimited" */
static void rate_text(uint64_t bps, char *buf, size_t len)
{
    if (!bps)
        snprintf(buf, len, "unlimited");
    else if (bps >= 1000000 && bps % 100000 == 0)
        snprintf(buf, len, "%g Mbps", (double)bps / 1e6);
    else if (bps >= 1000)
        snprintf(buf, len, "%g kbps", (double)bps / 1e3);
    else
        snprintf(buf, len, "%llu bps", (unsigned long long)bps);
}

void throttle_describe(const struct throttle_profile *p, char *buf, size_t len)
{
    char down[32], up[32];
    rate_text(p->down_bps, down, sizeof down);
    rate_text(p->up_bps, up, sizeof up);
    snprintf(buf, len, "%s: %s down, %s up, +%u ms per round trip%s%.0u%s, %g%% loss", p->name,
             down, up, p->latency_ms, p->dns_ms ? ", DNS +" : "", p->dns_ms,
             p->dns_ms ? " ms" : "", p->loss * 100);
}

void throttle_spec(const struct throttle_profile *p, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (!strcmp(p->name, presets[i].name) && p->down_bps == presets[i].down_bps &&
            p->up_bps == presets[i].up_bps && p->latency_ms == presets[i].latency_ms &&
            p->dns_ms == presets[i].dns_ms && p->loss == presets[i].loss) {
            snprintf(buf, len, "%s", p->name);
            return;
        }
    snprintf(buf, len, "custom:down=%llu,up=%llu,latency=%ums,dns=%ums,loss=%g%%",
             (unsigned long long)p->down_bps, (unsigned long long)p->up_bps, p->latency_ms,
             p->dns_ms, p->loss * 100);
}

/* ------------------------------------------------------------------------------------------ */

static uint64_t bytes_per_sec(uint64_t bps)
{
    return (bps ? bps : THROTTLE_UNLIMITED_BPS) / 8;
}

uint64_t throttle_down_bytes_per_sec(const struct throttle_profile *p)
{
    return bytes_per_sec(p->down_bps);
}

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t down, up;
    struct ev_token_bucket_cfg *cfg;
} cfgs[THROTTLE_MAX_CFGS];
static size_t ncfgs;

const struct ev_token_bucket_cfg *throttle_bucket_cfg(const struct throttle_profile *p)
{
    uint64_t down = bytes_per_sec(p->down_bps), up = bytes_per_sec(p->up_bps);
    struct ev_token_bucket_cfg *found = NULL;
    pthread_mutex_lock(&cfg_lock);
    for (size_t i = 0; i < ncfgs && !found; i++)
        if (cfgs[i].down == down && cfgs[i].up == up)
            found = cfgs[i].cfg;
    if (!found && ncfgs < THROTTLE_MAX_CFGS) {
        /* rates per tick; a burst of one tick's worth (at least one TLS record) */
        size_t ticks = 1000 / THROTTLE_TICK_MS;
        size_t dr = (size_t)(down / ticks) ? (size_t)(down / ticks) : 1;
        size_t ur = (size_t)(up / ticks) ? (size_t)(up / ticks) : 1;
        struct timeval tick = {0, THROTTLE_TICK_MS * 1000};
        found = ev_token_bucket_cfg_new(ur, ur < 16384 ? 16384 : ur, dr, dr < 16384 ? 16384 : dr,
                                        &tick);
        if (found) {
            cfgs[ncfgs].down = down;
            cfgs[ncfgs].up = up;
            cfgs[ncfgs++].cfg = found;
        }
    }
    pthread_mutex_unlock(&cfg_lock);
    return found;
}

/* ------------------------------------------------------------------------------------------ */

static atomic_uint_fast64_t roll_seed = 19, roll_n;

void throttle_seed(uint64_t seed)
{
    atomic_store(&roll_seed, seed);
    atomic_store(&roll_n, 0);
}

/* splitmix64: a well-mixed value of (seed, n) */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int throttle_lost(const struct throttle_profile *p)
{
    if (p->loss <= 0)
        return 0;
    if (p->loss >= 1)
        return 1;
    uint64_t n = atomic_fetch_add(&roll_n, 1);
    uint64_t r = mix(atomic_load(&roll_seed) * 0x100000001b3ull + n);
    return (double)(r >> 11) / 9007199254740992.0 < p->loss;
}
