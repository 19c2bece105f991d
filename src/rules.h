/* rules.h — which CONNECT hosts are intercepted: --intercept / --passthrough host globs (with an
 * optional ":port"), a built-in list of platform services that pin their certificates (Apple push,
 * iCloud, App Store; Google Play services), and automatic passthrough: after one device (a client
 * address) refused httpeek's certificate for a host N times, that device's tunnels to that host
 * are relayed untouched, so its app keeps working while every other device is still intercepted.
 * An automatic entry expires (--auto-passthrough-ttl), ends when the device that was not yet
 * trusting the CA starts trusting it, and can be removed by the user ("Resume interception").
 * Shared by all workers; thread-safe. */
#ifndef HTTPEEK_RULES_H
#define HTTPEEK_RULES_H

#include <stddef.h>
#include <time.h>
#include "attrib.h"

/* Client TLS rejections of one host, by one device, before it is passed through (0 disables). */
#define RULES_DEFAULT_AUTO_PASSTHROUGH 3
/* Seconds an automatic passthrough entry lasts. */
#define RULES_DEFAULT_AUTO_TTL (30 * 60)
/* Most (device, host) pairs remembered for rejection counting. */
#define RULES_MAX_TRACKED 4096

struct rules;

/* What a rules set is made of. The glob arrays are borrowed for the life of the rules. */
struct rules_config {
    const char *const *intercept;   /* "*.example.com", "api.example.com:8443" */
    size_t nintercept;
    const char *const *passthrough;
    size_t npassthrough;
    int builtin;       /* 1: the built-in passthrough list applies (--no-default-passthrough: 0) */
    int auto_after;    /* rejections before automatic passthrough; 0 = never */
    int auto_ttl;      /* seconds an automatic entry lasts */
};

/* New rules from c (copied; globs borrowed). With no intercept glob every host is intercepted
 * unless a passthrough glob or the built-in list matches. Returns NULL on OOM. Free with
 * rules_free. */
struct rules *rules_new(const struct rules_config *c) HP_NONNULL(1) HP_WUNRES;

void rules_free(struct rules *r);

/* 1 when client's tunnel to host:port is to be intercepted; 0 to relay it untouched, with why set
 * to a static string naming the reason ("--passthrough rule", "built-in passthrough ...",
 * "automatic passthrough ..."). */
int rules_intercept(struct rules *r, const char *client, const char *host, int port,
                    const char **why) HP_NONNULL(1, 2, 3, 5);

/* client refused (or silently dropped) an intercepted handshake for host; device_trusted: the
 * device had already sent requests through other intercepted tunnels (it trusts the CA, so the
 * refusing app pins or has its own trust store). Returns 1 when this rejection switched the pair
 * to automatic passthrough. */
int rules_client_rejected(struct rules *r, const char *client, const char *host, int device_trusted)
    HP_NONNULL(1, 2, 3);

/* client sent a request through an intercepted tunnel to host: the pair's count starts over, and
 * entries this device earned before it trusted the CA end (it trusts it now). */
void rules_client_accepted(struct rules *r, const char *client, const char *host) HP_NONNULL(1, 2, 3);

/* One automatic passthrough entry as the viewer shows it. */
struct rules_auto {
    char client[64];     /* the device's address */
    char host[256];
    int rejections;      /* refusals that led to it */
    int device_trusted;  /* the device trusted the CA for other hosts when it was made */
    time_t since, expires;
};

/* Copy up to max live automatic entries into out (oldest first); returns how many. */
size_t rules_auto_list(struct rules *r, struct rules_auto *out, size_t max) HP_NONNULL(1);

/* End client's automatic passthrough of host (its count starts over). Returns 0, or -1 when there
 * was no such entry. */
int rules_auto_remove(struct rules *r, const char *client, const char *host) HP_NONNULL(1, 2, 3);

/* 1 when the built-in list applies. */
int rules_builtin_enabled(const struct rules *r) HP_NONNULL(1);

/* The built-in passthrough globs: entry i, or NULL past the end (static strings). */
const char *rules_builtin_at(size_t i);

/* 1 when host:port matches glob ("*.example.com", "*", "example.com:443"); case-insensitive. */
int rules_glob_match(const char *glob, const char *host, int port) HP_NONNULL(1, 2);

#endif
