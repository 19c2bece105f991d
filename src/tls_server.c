/* tls_server.c — see tls_server.h. The leaf is chosen before the handshake from the SNI that
 * tunnel.c read out of the peeked ClientHello, so no SNI callback is needed. */
#include "tls_server.h"

#include <stdio.h>
#include <string.h>
#include "setup.h"

/* Find protocol name (len n) in the client's ALPN list; NULL when not offered. */
static const unsigned char *alpn_find(const unsigned char *in, unsigned inlen, const char *name,
                                      unsigned n)
{
    for (unsigned i = 0; i < inlen;) {
        unsigned len = in[i];
        if (i + 1 + len > inlen)
            break;
        if (len == n && !memcmp(in + i + 1, name, n))
            return in + i + 1;
        i += 1 + len;
    }
    return NULL;
}

/* Pick h2 when offered and allowed (arg non-NULL: --http2=yes), else http/1.1 when offered; with
 * no overlap (an h2-only client without --http2) say nothing, so the client falls back to
 * HTTP/1.1 rather than failing the handshake (RFC 7301 §3.2 allows either). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    const unsigned char *p;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni && !strcmp(sni, SETUP_HOST))
        arg = NULL; /* httpeek's own pages are served over HTTP/1.1 only */
    if (arg && (p = alpn_find(in, inlen, "h2", 2))) {
        *out = p;
        *outlen = 2;
        return SSL_TLSEXT_ERR_OK;
    }
    if ((p = alpn_find(in, inlen, "http/1.1", 8))) {
        *out = p;
        *outlen = 8;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

void tls_server_offer_h2(SSL_CTX *ctx)
{
    static int yes = 1;
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, &yes);
}

int tls_server_alpn_h2(SSL *ssl)
{
    const unsigned char *p = NULL;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && !memcmp(p, "h2", 2);
}

SSL_CTX *tls_server_ctx_new(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create the client-facing TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES_FAST_FIRST) != 1) {
        snprintf(err, errlen, "cannot set the client-facing TLS 1.3 cipher suites");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); /* until a connection is busy: session.c */
    /* Session resumption with returning clients: stateless tickets, keys per process. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"httpeek", 7);
    /* One TLS 1.3 ticket per handshake, not OpenSSL's two: each stateless ticket costs ~160k
     * instructions on the worker (the session encoded 4 times, encrypted, MACed), on every
     * client connection, new host or known; a returning client resumes with one as well, and a
     * connection that resumes gets a fresh ticket for its next one (BENCHMARKS.md, sixth round). */
    SSL_CTX_set_num_tickets(ctx, 1);
    return ctx;
}

SSL *tls_server_ssl_new(SSL_CTX *ctx, X509 *leaf, EVP_PKEY *key, X509 *ca_cert)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    if (SSL_use_certificate(ssl, leaf) != 1 || SSL_use_PrivateKey(ssl, key) != 1 ||
        (ca_cert && SSL_add1_chain_cert(ssl, ca_cert) != 1)) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* The session id context is part of every session and ticket: OpenSSL resumes only sessions
 * made under the same context, so a different one here turns resumption into a full handshake. */
void tls_server_no_resumption(SSL *ssl)
{
    static const char mirror_ctx[] = "httpeek-mirror";
    SSL_set_session_id_context(ssl, (const unsigned char *)mirror_ctx, sizeof mirror_ctx - 1);
    SSL_set_num_tickets(ssl, 0);
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
}
