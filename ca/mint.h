/* mint.h — mint one leaf certificate for a host name or IP address, signed by the CA.
 *
 * Rules (what iOS 13+ / Android 7+ accept once the CA is trusted): subjectAltName DNS for names
 * and IP for addresses; extendedKeyUsage serverAuth; keyUsage digitalSignature (plus
 * keyEncipherment for RSA keys) critical; basicConstraints CA:FALSE; SHA-256 signature; notBefore
 * two days in the past (phones with a slow clock); validity at most 197 days; random 128-bit
 * positive serial; subject and authority key identifiers; CN = host (truncated to 64 bytes).
 * Names that cannot be a DNS SAN (underscore, U-label IDN, empty labels, over 253 bytes, ...)
 * are normalised deliberately: see mint_san_name. */
#ifndef HTTPEEK_MINT_H
#define HTTPEEK_MINT_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/evp.h>
#include "attrib.h"

/* Longest validity of a leaf, in days, counted from its notBefore. */
#define MINT_VALIDITY_DAYS 197
/* How far in the past notBefore lies, in days. */
#define MINT_BACKDATE_DAYS 2

/* Mint a leaf for host (a DNS name, an IPv4 literal, or an IPv6 literal with or without brackets),
 * using leaf_key as its public key, signed by ca_cert/ca_key. Returns NULL with a reason in err
 * when host cannot be certified at all. Caller frees with X509_free.
 * Slow path (builds and drops a mint_ctx, ~0.2 ms): for one-off leaves; repeated minting goes
 * through mint_ctx_leaf (or ca_mint_leaf, which uses the CA's own context). */
X509 *mint_leaf(X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *leaf_key, const char *host,
                char *err, size_t errlen) HP_NONNULL(1, 2, 3, 4) HP_WUNRES;

/* Decide the DNS SAN for a host name: lower-cases it (ASCII; in U-labels also the Latin-1,
 * Latin Extended-A, Greek and Cyrillic capitals: not full UTS #46 mapping, clients send A-labels
 * anyway), strips one trailing dot, converts U-labels (UTF-8; overlong forms, surrogates
 * rejected) to A-labels (punycode, RFC 3492, "xn--"), and returns 0 when the result can be a DNS SAN
 * (labels of 1..63 bytes of letters, digits, '-' and '_', total <= 253); -1 otherwise (empty label,
 * space, control or other bad character, too long). out gets the normalised name. Underscores are
 * kept literally (clients match them byte for byte); mint_leaf then also adds "*.parent" when
 * only the first label holds one, so strict verifiers that reject '_' still match the wildcard. */
int mint_san_name(const char *host, char *out, size_t outlen) HP_NONNULL(1, 2);

/* Add extension nid with an OpenSSL config-style value ("critical,CA:FALSE") to cert, issued by
 * issuer (for key identifiers). Returns 0, or -1 when the value is invalid. */
int mint_add_ext(X509 *cert, X509 *issuer, int nid, const char *value) HP_NONNULL(1, 2, 4);

/* Everything about a leaf that does not depend on its host, computed once: issuer name, the
 * constant extensions with both key identifiers, the SHA-256 method, and a form of the leaf
 * public key that is cheap to copy into a certificate (OpenSSL 3.0 re-encodes and re-decodes a
 * provider key in X509_set_pubkey: ~0.15 ms of the ~0.18 ms a naive mint costs). Read-only once
 * built, so any number of threads may mint with one context at the same time. */
struct mint_ctx;

/* Prepare minting leaves for leaf_key signed by ca_cert/ca_key (borrowed: they must outlive the
 * context). Returns NULL with a reason in err. Caller frees with mint_ctx_free. */
struct mint_ctx *mint_ctx_new(X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *leaf_key, char *err,
                              size_t errlen) HP_NONNULL(1, 2, 3) HP_WUNRES;

/* Free a context. NULL is allowed. Leaves already minted stay valid. */
void mint_ctx_free(struct mint_ctx *mc);

/* Most names a leaf minted from a spec carries. */
#define MINT_MAX_NAMES 32

/* What a leaf copies from another certificate instead of following the rules above (mirroring a
 * server certificate's defect: its dates, its names). Zero-initialised: the rules. */
struct mint_spec {
    time_t not_before, not_after; /* both 0: now - MINT_BACKDATE_DAYS .. + MINT_VALIDITY_DAYS;
                                   * else exactly these, whatever they are (expired, future) */
    const char *const *names;     /* NULL: host's own name; else exactly these subjectAltName
                                   * entries (DNS names as given, "*." wildcards kept, IP
                                   * literals as IP; entries that cannot be a SAN are dropped,
                                   * at most MINT_MAX_NAMES), the first one also the CN
                                   * ("no name" when there are none: then no SAN at all) */
    size_t nnames;
};

/* Mint a leaf for host by the rules above; thread-safe. Returns NULL with a one-line reason in err
 * (err may be NULL) when host cannot be certified. Caller frees with X509_free. */
X509 *mint_ctx_leaf(const struct mint_ctx *mc, const char *host, char *err, size_t errlen)
    HP_NONNULL(1, 2) HP_WUNRES;

/* mint_ctx_leaf without reading the certificate back from its DER (mint_keep_encoding): about a
 * third of the instructions (OpenSSL 3.0 decodes the public key again through its provider
 * decoders, ~1.6M instructions), but OpenSSL encodes the certificate again at each i2d (~60k
 * instructions per TLS handshake that shows it). For a leaf needed now: a cache keeps the
 * read-back form once it is made off the critical path. Thread-safe. Caller frees. */
X509 *mint_ctx_leaf_signed(const struct mint_ctx *mc, const char *host, char *err, size_t errlen)
    HP_NONNULL(1, 2) HP_WUNRES;

/* A copy of c read back from its own DER, so OpenSSL keeps that encoding and each i2d is a copy;
 * NULL when out of memory. c is left as it is. Thread-safe. Caller frees. */
X509 *mint_keep_encoding(X509 *c) HP_NONNULL(1) HP_WUNRES;

/* mint_ctx_leaf with what spec (may be NULL: the rules) says instead; host then only names the
 * leaf in err when spec gives names. Thread-safe. Caller frees with X509_free. */
X509 *mint_ctx_leaf_spec(const struct mint_ctx *mc, const char *host, const struct mint_spec *spec,
                         char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

#endif
