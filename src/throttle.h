/* throttle.h — network conditions (--throttle, rules.json "throttle"): a profile (down/up
 * bandwidth, latency added per round trip, DNS delay, share of requests lost), its presets
 * (Apple's Network Link Conditioner values), the token-bucket configuration libevent shapes a
 * client connection with, and the seeded roll that decides which requests are lost.
 * Pure functions but throttle_bucket_cfg and throttle_lost (thread-safe: a mutex, an atomic). */
#ifndef HTTPEEK_THROTTLE_H
#define HTTPEEK_THROTTLE_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"

struct ev_token_bucket_cfg;

struct throttle_profile {
    char name[24];         /* "3g", "lte", ... or "custom" */
    uint64_t down_bps;     /* bits per second towards the client (0: not limited) */
    uint64_t up_bps;       /* bits per second towards the server (0: not limited) */
    unsigned latency_ms;   /* added once per round trip (before each response's first byte) */
    unsigned dns_ms;       /* added once per client connection (its first request) */
    double loss;           /* share of requests dropped (connection reset), 0..1 */
};

/* Parse "3g", "lte", "edge", "dsl", "very-bad", "loss100", "dns-slow" or
 * "custom:down=780k,up=330k,latency=100ms,dns=0ms,loss=0%" (every custom field optional;
 * bandwidth suffixes k/m/g (×1000 bits), latency/dns suffix ms or s, loss in %). Returns 0, or
 * -1 with err saying what is wrong. */
int throttle_parse(const char *spec, struct throttle_profile *p, char *err, size_t errlen)
    HP_NONNULL(1, 2, 3);

/* One line for flows and logs: "3g: 780 kbps down, 330 kbps up, +100 ms per round trip". */
void throttle_describe(const struct throttle_profile *p, char *buf, size_t len) HP_NONNULL(1, 2);

/* The profile as rules.json's action fields ("down": "780k", ...) into the spec form of
 * throttle_parse: "custom:down=...,..." or the preset's name when it is one unchanged. */
void throttle_spec(const struct throttle_profile *p, char *buf, size_t len) HP_NONNULL(1, 2);

/* Token bucket configuration shaping a client bufferevent to p (read: up, write: down; an
 * unlimited direction gets THROTTLE_UNLIMITED_BPS so latency still has a rate to owe against).
 * Interned: the same rates give the same cfg, never freed (libevent needs it as long as any
 * bufferevent uses it); at most THROTTLE_MAX_CFGS distinct, NULL beyond that or out of memory. */
#define THROTTLE_UNLIMITED_BPS (8000000000ull) /* 1 GB/s */
#define THROTTLE_MAX_CFGS 64
#define THROTTLE_TICK_MS 10
const struct ev_token_bucket_cfg *throttle_bucket_cfg(const struct throttle_profile *p) HP_NONNULL(1);

/* Bytes per second the cfg of p sends towards the client (down). */
uint64_t throttle_down_bytes_per_sec(const struct throttle_profile *p) HP_NONNULL(1);

/* 1 when this request is lost (a roll of the shared seeded sequence against p->loss). */
int throttle_lost(const struct throttle_profile *p) HP_NONNULL(1);

/* Restart the loss sequence from seed (the process starts at seed 19, n 0: a run is repeatable). */
void throttle_seed(uint64_t seed);

#endif
