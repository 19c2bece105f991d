/* tls_server.h — the client-facing TLS side: one context for all intercepted connections; each
 * connection gets the leaf minted for its host (SNI, else the CONNECT host) and ALPN http/1.1, or
 * h2 when the context offers it (--http2=yes) and the client asks for it. */
#ifndef HTTPEEK_TLS_SERVER_H
#define HTTPEEK_TLS_SERVER_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "attrib.h"

/* The TLS 1.3 cipher suites both legs offer, in order: AES-128-GCM and SHA-256 first. OpenSSL's
 * default puts AES-256-GCM with SHA-384 first; SHA-384's key schedule runs on SHA-512 in software
 * (~0.7M instructions for the two handshakes of a new host), where SHA-256 has CPU instructions
 * (SHA-NI, ARMv8) and AES-128 does 10 rounds to AES-256's 14. Both are what browsers offer. */
#define TLS13_SUITES_FAST_FIRST \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Context for client-facing handshakes. Returns NULL with a reason in err. Free with SSL_CTX_free. */
SSL_CTX *tls_server_ctx_new(char *err, size_t errlen) HP_NONNULL(1) HP_WUNRES;

/* Offer h2 (preferred over http/1.1) on ctx's handshakes from now on (--http2=yes). */
void tls_server_offer_h2(SSL_CTX *ctx) HP_NONNULL(1);

/* 1 when ssl's handshake chose ALPN h2. */
int tls_server_alpn_h2(SSL *ssl) HP_NONNULL(1);

/* A server SSL presenting leaf (signed by ca_cert, sent as its chain; NULL: no chain) with key. The SSL takes
 * its own references; the caller keeps its own. Returns NULL on failure. */
SSL *tls_server_ssl_new(SSL_CTX *ctx, X509 *leaf, EVP_PKEY *key, X509 *ca_cert)
    HP_NONNULL(1, 2, 3) HP_WUNRES;

/* Make ssl do a full handshake whatever session the client offers, and issue it none: a mirror
 * of a bad server certificate must be shown every time, not skipped by resuming an earlier
 * session made with httpeek's usual certificate. */
void tls_server_no_resumption(SSL *ssl) HP_NONNULL(1);

#endif
