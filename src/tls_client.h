/* tls_client.h — the upstream-facing TLS side: trust (system store + --upstream-ca), certificate
 * and host name verification, SNI and ALPN http/1.1, the client certificate (--client-cert). the session and exchange never touch X509 themselves. */
#ifndef HTTPEEK_TLS_CLIENT_H
#define HTTPEEK_TLS_CLIENT_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "attrib.h"

/* Context for all upstream connections. extra_ca_file (PEM, may be NULL) adds trust anchors;
 * insecure disables verification. It keeps the newest session per host:port of handshakes that
 * verified, for resumption. Returns NULL with a reason in err. Free with SSL_CTX_free. */
SSL_CTX *tls_client_ctx_new(const char *extra_ca_file, int insecure, char *err, size_t errlen)
    HP_NONNULL(3) HP_WUNRES;

struct client_certs;

/* Present the matching one of identities (--client-cert; borrowed: must outlive ctx; NULL: none)
 * to servers that ask for a client certificate. Call before ctx is used by other threads. */
void tls_client_use_identities(SSL_CTX *ctx, const struct client_certs *identities) HP_NONNULL(1);

/* A client SSL for host (name or IP literal) on port, connected to server_ip (NULL or "" when not
 * known): SNI for names, host/IP verification unless the context is insecure, resuming the last
 * verified session with host:port, or else the last one with server_ip:port whose certificate is
 * valid for host (SSL_session_reused tells afterwards); with the identity whose glob matches
 * host:port first (sessions are resumed only with the same identity). Returns NULL on OOM. Caller owns it (or
 * hands it to a bufferevent). */
SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *host, int port, const char *server_ip)
    HP_NONNULL(1, 2) HP_WUNRES;

/* Offer ALPN "h2, http/1.1" on ssl instead of the context's "http/1.1" (--http2=yes: the tunnel's
 * upstream handshake). 0, or -1 on OOM. */
int tls_client_offer_h2(SSL *ssl) HP_NONNULL(1);

/* The subject of the client certificate ssl sent in its handshake (or in the handshake of the
 * session it resumed), NULL when it sent none. Borrowed for the life of the identities. */
const char *tls_client_sent_identity(const SSL *ssl) HP_NONNULL(1);

#endif
