/* rules.h — which CONNECT hosts are intercepted: --intercept / --passthrough host globs (with an
 * optional ":port"), plus hosts switched to passthrough automatically after the client refused
 * httpeek's certificate N times (certificate pinning, CA not trusted), so the app keeps working.
 * Shared by all workers; thread-safe. */
#ifndef HTTPEEK_RULES_H
#define HTTPEEK_RULES_H

#include <stddef.h>
#include "attrib.h"

/* Client TLS rejections of one host before it is passed through (0 disables). */
#define RULES_DEFAULT_AUTO_PASSTHROUGH 3
/* Most hosts remembered for rejection counting. */
#define RULES_MAX_TRACKED 4096

struct rules;

/* intercept/passthrough: arrays of globs like "*.example.com" or "api.example.com:8443" (borrowed
 * for the life of the rules). With no --intercept glob every host is intercepted unless a
 * --passthrough glob matches. Returns NULL on OOM. Free with rules_free. */
struct rules *rules_new(const char *const *intercept, size_t nintercept,
                        const char *const *passthrough, size_t npassthrough, int auto_after)
    HP_WUNRES;

void rules_free(struct rules *r);

/* 1 when a tunnel to host:port is to be intercepted; 0 to relay it untouched, with why set to a
 * static string naming the reason ("--passthrough rule", "automatic passthrough ...") */
int rules_intercept(struct rules *r, const char *host, int port, const char **why) HP_NONNULL(1, 2, 4);

/* The client refused (or silently dropped) an intercepted handshake for host. Returns 1 when this
 * rejection switched host to automatic passthrough. */
int rules_client_rejected(struct rules *r, const char *host) HP_NONNULL(1, 2);

/* The client sent a request through an intercepted tunnel to host: its count starts over. */
void rules_client_accepted(struct rules *r, const char *host) HP_NONNULL(1, 2);

/* Write the hosts now on automatic passthrough, one per line, into buf. Returns how many. */
size_t rules_auto_list(struct rules *r, char *buf, size_t buflen) HP_NONNULL(1, 2);

/* 1 when host:port matches glob ("*.example.com", "*", "example.com:443"); case-insensitive. */
int rules_glob_match(const char *glob, const char *host, int port) HP_NONNULL(1, 2);

#endif
