/* tls_facts.h — what a leg's TLS session looked like, for the flow: version, cipher, ALPN, SNI,
 * alerts sent and received (via the SSL info callback), verify result, peer certificate. */
#ifndef HTTPEEK_TLS_FACTS_H
#define HTTPEEK_TLS_FACTS_H

#include <openssl/ssl.h>
#include "attrib.h"
#include "flow.h"

/* A leg's TLS facts for as long as its connection lives (thousands of them, mostly idle): the
 * flags, verify result and alerts inline, the other strings of struct flow_tls packed one after
 * another in one heap block (~200 bytes instead of the ~1.4 KiB of fixed arrays a flow holds).
 * Zero-initialised means "no TLS on this leg"; tls_facts_clear frees it. */
struct tls_facts {
    int present;              /* 1 when this leg used TLS */
    int handshake_done;       /* 1 when the handshake completed */
    int forward_secret, resumed, peer_key_bits;
    int cert_requested;       /* upstream leg: the server sent a CertificateRequest (info callback) */
    long verify_result;       /* X509_V_* of the upstream chain */
    char alert_sent[64];      /* last TLS alert we sent (written by the info callback) */
    char alert_received[64];  /* last TLS alert the peer sent */
    char *strings;            /* the other string facts (see tls_facts.c), or NULL: all empty */
    unsigned strings_gen;     /* how many times strings was replaced (tells snap's age) */
    struct flow_tls_shared *snap; /* the facts as flows last took them (a reference), or NULL */
    unsigned snap_gen;        /* strings_gen when snap was made */
    struct tls_snap_memo *memo; /* what a snapshot given back while idle showed, or NULL
                               * (tls_facts_release_snapshot) */
};

/* Make ssl record its alerts into facts (borrowed: must outlive ssl or be detached with
 * tls_facts_attach(ssl, NULL)). Also marks facts->present. */
void tls_facts_attach(SSL *ssl, struct tls_facts *facts) HP_NONNULL(1);

/* Fill version, cipher, ALPN, SNI, verify result and peer certificate facts from ssl
 * (after a handshake, complete or failed). */
void tls_facts_fill(SSL *ssl, struct tls_facts *facts) HP_NONNULL(1, 2);

/* Record which certificate the client leg was shown (struct flow_tls: leaf, leaf_reason). */
void tls_facts_set_leaf(struct tls_facts *facts, const char *leaf, const char *reason) HP_NONNULL(1, 2, 3);

/* Copy the first queued OpenSSL error string into the facts' error (if empty) and clear the
 * queue. */
void tls_facts_take_error(struct tls_facts *facts, unsigned long err) HP_NONNULL(1);

/* The facts unpacked into out. */
void tls_facts_get(const struct tls_facts *facts, struct flow_tls *out) HP_NONNULL(1, 2);

/* Point f's client (upstream = 0) or upstream leg's facts at these facts as they are now: the
 * same shared snapshot as the connection's previous flows while nothing changed (no copy), a new
 * one when something did. On OOM f's facts stay as they were. */
void tls_facts_to_flow(struct tls_facts *facts, struct flow *f, int upstream) HP_NONNULL(1, 2);

/* The connection is idle: give back the facts' snapshot (~2.6 KiB, the full struct flow_tls;
 * freed once no flow holds it either), keeping only what tells whether the next one would show the
 * same (~170 bytes). tls_facts_to_flow then makes it again under the same serial, so the store
 * still writes a connection's unchanged facts once (store_tls.h); changed facts get a new one. */
void tls_facts_release_snapshot(struct tls_facts *facts) HP_NONNULL(1);

/* The first OpenSSL error of a failed handshake, or otherwise when there is none; the verify
 * error text ("" when none). Valid until the facts change. */
const char *tls_facts_error(const struct tls_facts *facts, const char *otherwise) HP_NONNULL(1);
const char *tls_facts_verify_error(const struct tls_facts *facts) HP_NONNULL(1);

/* Free what facts hold and zero them (no TLS). */
void tls_facts_clear(struct tls_facts *facts) HP_NONNULL(1);

/* Move src into dst (dst cleared first, src left zeroed). An SSL attached to src must be
 * attached to dst again. */
void tls_facts_move(struct tls_facts *dst, struct tls_facts *src) HP_NONNULL(1, 2);

#endif
