/* tls_client.c — see tls_client.h. Verification happens inside the handshake
 * (SSL_VERIFY_PEER), so a bad upstream certificate fails the handshake and the verify result is
 * read back by tls_facts_fill for the flow. */
#include "tls_client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static const unsigned char alpn_http11[] = "\x08http/1.1";

SSL_CTX *tls_client_ctx_new(const char *extra_ca_file, int insecure, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create the upstream TLS context");
        return NULL;
    }
    /* Reach old servers (TLS 1.0, SHA-1, small keys) instead of hiding them behind a handshake
     * error: the flow then carries the ATS warning the app would hit (diagnose_warnings). Chain
     * and host verification are unaffected by the security level. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot load the system trust store");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (extra_ca_file && SSL_CTX_load_verify_locations(ctx, extra_ca_file, NULL) != 1) {
        char e[160];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        snprintf(err, errlen, "%s: cannot load upstream CA certificates (%s)", extra_ca_file, e);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_alpn_protos(ctx, alpn_http11, sizeof alpn_http11 - 1);
    /* Resume sessions with servers we talk to again (cache keyed by OpenSSL on the SSL_SESSION
     * we set; see conn's use). Renegotiation is refused: we never want it on a relay. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, host); /* RFC 6066: no IP literals in SNI */
    if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1 : SSL_set1_host(ssl, host) != 1) {
            SSL_free(ssl);
            return NULL;
        }
    }
    return ssl;
}
