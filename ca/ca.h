/* ca.h — httpeek's local certificate authority: created on first run in confdir, loaded after.
 *
 * Files under confdir: ca-cert.pem, ca-key.pem (mode 0600, never served), ca-cert.cer (DER).
 * The CA key is ECDSA P-256 (fast leaf signing, accepted by iOS 13+ and Android 7+).
 * A corrupt or unreadable CA file is an error naming the file: never a silent regeneration. */
#ifndef HTTPEEK_CA_H
#define HTTPEEK_CA_H

#include <stddef.h>
#include <openssl/x509.h>
#include <openssl/evp.h>
#include "attrib.h"

struct ca;

/* Load the CA from confdir, creating confdir (0700) and the CA files when none exist.
 * Returns NULL and writes a one-line reason naming the file into err on failure.
 * Caller frees with ca_free. */
struct ca *ca_load_or_create(const char *confdir, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* A CA that lives only in memory and is never trusted by anyone: its leaves make a client fail
 * exactly where it would fail against a bad upstream certificate. subject_cn names it.
 * Returns NULL with a reason in err. Caller frees with ca_free. */
struct ca *ca_new_untrusted(const char *subject_cn, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* Free the CA and everything it owns. NULL is allowed. */
void ca_free(struct ca *ca);

/* The CA certificate; borrowed until ca_free. */
X509 *ca_cert(const struct ca *ca) HP_NONNULL(1);

/* The CA private key; borrowed until ca_free. Never written anywhere but ca-key.pem. */
EVP_PKEY *ca_key(const struct ca *ca) HP_NONNULL(1);

/* The process-wide leaf key (fresh ECDSA P-256 per process unless ca_use_rsa_leaves, shared by all leaves); borrowed until ca_free. */
EVP_PKEY *ca_leaf_key(const struct ca *ca) HP_NONNULL(1);

/* Make later leaves carry a fresh RSA-2048 key instead of ECDSA P-256 (--leaf-key rsa: for old
 * clients without ECDSA; signing is slower). Call before any leaf is minted. Returns 0, -1 with a
 * reason in err (the CA is then unchanged). */
int ca_use_rsa_leaves(struct ca *ca, char *err, size_t errlen) HP_NONNULL(1, 2);

/* 1 when this run created the CA files, 0 when it loaded existing ones. */
int ca_was_created(const struct ca *ca) HP_NONNULL(1);

/* Path of ca-cert.pem (the file users trust); borrowed until ca_free. */
const char *ca_cert_pem_path(const struct ca *ca) HP_NONNULL(1);

/* SHA-256 fingerprint of the CA certificate as "AB:CD:..."; borrowed until ca_free. */
const char *ca_fingerprint(const struct ca *ca) HP_NONNULL(1);

/* Mint a leaf for host (rules in mint.h) with this CA and ca_leaf_key, from the context computed
 * once at load: the fast path (tens of microseconds), safe from any thread. Returns NULL with a
 * one-line reason in err (may be NULL). Caller frees with X509_free. */
X509 *ca_mint_leaf(const struct ca *ca, const char *host, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* ca_mint_leaf without the read-back that keeps its encoding (mint.h: mint_ctx_leaf_signed): a
 * third of the instructions, for a leaf needed at once. Caller frees with X509_free. */
X509 *ca_mint_leaf_signed(const struct ca *ca, const char *host, char *err, size_t errlen)
    HP_NONNULL(1, 2) HP_WUNRES;

/* ca_mint_leaf with dates and/or names given by spec (mint.h: struct mint_spec; NULL: the
 * rules): a leaf mirroring another certificate's defect. Never cached. Returns NULL with a
 * reason in err. Caller frees with X509_free. */
struct mint_spec;
X509 *ca_mint_leaf_spec(const struct ca *ca, const char *host, const struct mint_spec *spec,
                        char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

#endif
