/* client_cert.h — upstream mutual TLS identities (--client-cert HOSTGLOB=CERT[,KEY]): PEM (key in
 * the same file or its own) or PKCS#12, loaded and checked once at start on the main thread (a
 * password from --client-cert-password-file, else asked on the terminal), read-only afterwards:
 * the workers look up a host's identity without a lock. */
#ifndef HTTPEEK_CLIENT_CERT_H
#define HTTPEEK_CLIENT_CERT_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "attrib.h"

#define CLIENT_CERT_PATH_MAX 4096

/* One --client-cert value taken apart. */
struct client_cert_spec {
    char glob[256];                 /* host glob as --intercept takes it: *.example.com[:port] */
    char cert[CLIENT_CERT_PATH_MAX]; /* PEM (certificate, maybe its chain and key) or .p12/.pfx */
    char key[CLIENT_CERT_PATH_MAX];  /* PEM key file, "" when the key is in cert */
};

/* One loaded identity. */
struct client_identity {
    char glob[256];
    char file[CLIENT_CERT_PATH_MAX]; /* the certificate file, for messages */
    char subject[256];               /* the certificate's subject, RFC 2253 one line */
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) *chain;           /* intermediates sent after the certificate (may be empty) */
    int number;                      /* 1.. in command-line order: which identity made a session */
};

struct client_certs {
    struct client_identity *id; /* n of them, in command-line order (first match wins) */
    size_t n;
};

/* Split "HOSTGLOB=CERT[,KEY]" (the key after the last comma) into out. Returns 0, or -1 with a
 * one-line reason in err. No file is read. */
int client_cert_parse_spec(const char *arg, struct client_cert_spec *out, char *err, size_t errlen)
    HP_NONNULL(1, 2, 3);

/* Load the n --client-cert values: each certificate with its key, checked to belong together.
 * Passwords (PKCS#12, encrypted PEM keys) come from password_file (its first line; NULL: none),
 * else from a prompt on the terminal when interactive, else it is an error. Returns NULL with a
 * one-line reason naming the file in err. Free with client_certs_free. */
struct client_certs *client_certs_load(const char *const *specs, size_t n, const char *password_file,
                                       int interactive, char *err, size_t errlen) HP_WUNRES;

/* The identity for an upstream host:port: the first whose glob matches, or NULL. Borrowed for
 * the life of cc. Any thread. */
const struct client_identity *client_certs_match(const struct client_certs *cc, const char *host,
                                                 int port) HP_NONNULL(2);

/* Free all. NULL allowed. */
void client_certs_free(struct client_certs *cc);

#endif
