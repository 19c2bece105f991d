/* mirror.h — which certificate a client is shown when the server's failed verification: a
 * mirror of the defect itself, so the app fails exactly as it would without httpeek.
 *   - the server's certificate expired / is not yet valid: a leaf from httpeek's (trusted) CA
 *     with the server certificate's dates;
 *   - it does not name the host: a leaf from httpeek's CA with the server certificate's names
 *     only (and its dates too when they are also wrong: a client that checks dates first, as
 *     curl does, then reports what it would report against the server);
 *   - anything else (self-signed, unknown root, bad chain, an expired intermediate): a leaf from
 *     a CA nobody trusts, sent without that CA when the server's issuer could not be found (the
 *     client then cannot find it either).
 * Pure: decided from the upstream leg's recorded facts (no X509 here), testable on its own. */
#ifndef HTTPEEK_MIRROR_H
#define HTTPEEK_MIRROR_H

#include <stddef.h>
#include <time.h>
#include "attrib.h"
#include "flow.h"
#include "mint.h"

enum mirror_leaf {
    MIRROR_MINTED,    /* the usual leaf from httpeek's CA (no mirror) */
    MIRROR_DATES,     /* httpeek's CA, the server certificate's dates */
    MIRROR_NAMES,     /* httpeek's CA, the server certificate's names (and dates when also bad) */
    MIRROR_UNTRUSTED, /* the never-trusted CA */
};

/* The flow_tls "leaf" value of a kind: "minted", "mirror_dates", ... (static string). */
const char *mirror_leaf_name(enum mirror_leaf leaf);

struct mirror_plan {
    enum mirror_leaf leaf;
    struct mint_spec spec;            /* for MIRROR_DATES / MIRROR_NAMES: what the leaf copies */
    int send_chain;                   /* MIRROR_UNTRUSTED: 1 to send that CA with the leaf */
    const char *names[MINT_MAX_NAMES];/* spec.names points here; the strings live in buf */
    char buf[512];
    char reason[400];                 /* the flow's leaf_reason: one plain sentence */
};

/* Plan the mirror of the upstream leg's failed verification (up: its facts, verify_result not
 * X509_V_OK) for a client that asked for host, at time now. Fills out (self-contained). */
void mirror_plan(const struct flow_tls *up, const char *host, time_t now, struct mirror_plan *out)
    HP_NONNULL(1, 2, 4);

/* The leaf_reason of the usual leaf for host; upstream_failed: the server's certificate was
 * refused but --upstream-errors=page shows the app httpeek's page instead of a mirror. */
void mirror_minted_reason(const char *host, int upstream_failed, char *out, size_t outlen)
    HP_NONNULL(1, 3);

/* An ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (flow_tls peer dates) as a time_t; 0 when it is not one. */
time_t mirror_parse_time(const char *iso) HP_NONNULL(1);

#endif
