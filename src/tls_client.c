/* tls_client.c — see tls_client.h. Verification happens inside the handshake
 * (SSL_VERIFY_PEER), so a bad upstream certificate fails the handshake and the verify result is
 * read back by tls_facts_fill for the flow. */
#include "tls_client.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "client_cert.h"
#include "tls_server.h"

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* Upstream session resumption. A new client connection usually means a new upstream connection
 * to a server we just talked to; resuming its last session skips the server's signature and our
 * chain verification (a full handshake is most of a new connection's cost). One direct-mapped
 * table per context, "host:port" -> the newest session of a handshake that passed verification
 * for that host (a resumed session keeps the verify result of the handshake that made it).
 *
 * A new name on a server address we have a session with ("@ip:port" -> its newest session) is
 * offered that session when the certificate it verified is valid for the new name too (RFC 8446
 * 4.6.1 allows exactly that): one TLS terminator serving many names under one certificate
 * (*.example.com, a CDN edge) then costs a new host name a resumption, not a full handshake. A
 * server whose names have different certificates has different ticket keys per certificate in
 * practice, refuses the ticket and does the full handshake, verified as always. */
#define SESSION_SLOTS 1024
#define SESSION_KEY_MAX 280

/* What an SSL remembers for its new sessions: where to file them. With a client identity
 * (--client-cert) both keys end in "#N" (its number): a session made with one identity, or with
 * none, is never resumed for a connection that would present another (the server authenticated
 * the identity of the handshake that made the session, not ours). */
struct session_keys {
    char name[SESSION_KEY_MAX]; /* "host:port[#N]" */
    char addr[SESSION_KEY_MAX]; /* "@ip:port[#N]", "" when the address is not known */
    const struct client_identity *id; /* the identity this SSL presents when asked, or NULL */
    int sent;                   /* 1 once it went out in a Certificate message (msg callback) */
};

struct session_cache {
    pthread_mutex_t mu; /* taken once per new upstream connection and per ticket received */
    struct session_slot {
        char key[SESSION_KEY_MAX];
        SSL_SESSION *sess;
    } slot[SESSION_SLOTS];
};

static int cache_index = -1, key_index = -1, identities_index = -1, sent_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void free_cache(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct session_cache *sc = ptr;
    if (!sc)
        return;
    for (size_t i = 0; i < SESSION_SLOTS; i++)
        SSL_SESSION_free(sc->slot[i].sess);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
}

static void free_key(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static void init_indexes(void)
{
    cache_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_cache);
    key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_key);
    identities_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    /* on a session: non-NULL when our certificate was sent in the handshake that made it */
    sent_index = SSL_SESSION_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static struct session_slot *slot_for(struct session_cache *sc, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &sc->slot[h % SESSION_SLOTS];
}

/* File sess under key (the cache's lock held); takes one reference. */
static void file_session(struct session_cache *sc, const char *key, SSL_SESSION *sess)
{
    struct session_slot *sl = slot_for(sc, key);
    SSL_SESSION_free(sl->sess);
    snprintf(sl->key, sizeof sl->key, "%s", key);
    sl->sess = sess;
}

/* OpenSSL hands us each new session (TLS 1.3: each ticket, after the handshake). Returns 1 when
 * we keep the reference. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct session_cache *sc = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index);
    const struct session_keys *keys = SSL_get_ex_data(ssl, key_index);
    if (!sc || !keys || !SSL_SESSION_is_resumable(sess))
        return 0;
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(ssl) != X509_V_OK)
        return 0; /* never resume what did not verify */
    int by_addr = keys->addr[0] && SSL_SESSION_get0_peer(sess) &&
                  (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER);
    if (keys->sent)
        SSL_SESSION_set_ex_data(sess, sent_index, (void *)keys->id);
    pthread_mutex_lock(&sc->mu);
    file_session(sc, keys->name, sess);
    if (by_addr && SSL_SESSION_up_ref(sess))
        file_session(sc, keys->addr, sess);
    pthread_mutex_unlock(&sc->mu);
    return 1;
}

/* Whether sess's verified certificate is valid for host (a name or an IP literal). */
static int session_covers(SSL_SESSION *sess, const char *host, int is_ip)
{
    X509 *peer = SSL_SESSION_get0_peer(sess);
    if (!peer)
        return 0;
    return is_ip ? X509_check_ip_asc(peer, host, 0) == 1
                 : X509_check_host(peer, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* Set the session to resume on ssl: the host's own, else (verified contexts only) the server
 * address's when its certificate covers host. */
static void resume(SSL_CTX *ctx, SSL *ssl, const struct session_keys *keys, const char *host,
                   int is_ip)
{
    struct session_cache *sc = SSL_CTX_get_ex_data(ctx, cache_index);
    if (!sc)
        return;
    pthread_mutex_lock(&sc->mu);
    struct session_slot *sl = slot_for(sc, keys->name);
    if (sl->sess && !strcmp(sl->key, keys->name)) {
        SSL_set_session(ssl, sl->sess); /* takes its own reference */
    } else if (keys->addr[0] && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) {
        sl = slot_for(sc, keys->addr);
        if (sl->sess && !strcmp(sl->key, keys->addr) && SSL_SESSION_is_resumable(sl->sess) &&
            session_covers(sl->sess, host, is_ip))
            SSL_set_session(ssl, sl->sess);
    }
    pthread_mutex_unlock(&sc->mu);
}

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
    /* TLS 1.3: AES-128-GCM with SHA-256 offered first (servers mostly follow the client's order),
     * as on the client leg (tls_server.h): a new host's handshake is a third cheaper */
    if (SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES_FAST_FIRST) != 1) {
        snprintf(err, errlen, "cannot set the upstream TLS 1.3 cipher suites");
        SSL_CTX_free(ctx);
        return NULL;
    }
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
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); /* until a connection is busy: session.c */
    pthread_once(&index_once, init_indexes);
    struct session_cache *sc = calloc(1, sizeof *sc);
    if (!sc || cache_index < 0 || key_index < 0 || pthread_mutex_init(&sc->mu, NULL) != 0 ||
        !SSL_CTX_set_ex_data(ctx, cache_index, sc)) {
        free(sc);
        snprintf(err, errlen, "out of memory setting up the upstream TLS context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return ctx;
}

void tls_client_use_identities(SSL_CTX *ctx, const struct client_certs *identities)
{
    pthread_once(&index_once, init_indexes);
    SSL_CTX_set_ex_data(ctx, identities_index, (void *)identities);
}

/* Our handshake messages as they are written (plaintext, TLS 1.3 too): a Certificate message
 * with a non-empty list is our certificate going out. OpenSSL sends an empty one instead when
 * the server's CertificateRequest allows none of our key's signature algorithms. */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
    (void)version, (void)arg;
    const unsigned char *m = buf;
    if (!write_p || content_type != SSL3_RT_HANDSHAKE || len < 7 || m[0] != SSL3_MT_CERTIFICATE)
        return;
    size_t at = 4; /* after type and length */
    if (SSL_version(ssl) >= TLS1_3_VERSION)
        at += 1 + (size_t)m[4]; /* certificate_request_context */
    if (at + 3 > len)
        return;
    size_t list = (size_t)m[at] << 16 | (size_t)m[at + 1] << 8 | m[at + 2];
    struct session_keys *keys = SSL_get_ex_data(ssl, key_index);
    if (keys && list > 0)
        keys->sent = 1;
}

/* Make ssl present id when the server asks, and file its sessions apart. Returns 0, -1 on OOM. */
static int use_identity(SSL *ssl, struct session_keys *keys, const struct client_identity *id)
{
    if (SSL_use_certificate(ssl, id->cert) != 1 || SSL_use_PrivateKey(ssl, id->key) != 1 ||
        SSL_set1_chain(ssl, id->chain) != 1)
        return -1;
    keys->id = id;
    char tag[16];
    snprintf(tag, sizeof tag, "#%d", id->number);
    size_t n = strlen(keys->name);
    snprintf(keys->name + n, sizeof keys->name - n, "%s", tag);
    if (keys->addr[0]) {
        n = strlen(keys->addr);
        snprintf(keys->addr + n, sizeof keys->addr - n, "%s", tag);
    }
    SSL_set_msg_callback(ssl, on_message);
    return 0;
}

const char *tls_client_sent_identity(const SSL *ssl)
{
    if (key_index < 0)
        return NULL;
    const struct session_keys *keys = SSL_get_ex_data(ssl, key_index);
    if (!keys || !keys->id)
        return NULL;
    if (keys->sent)
        return keys->id->subject;
    SSL_SESSION *sess = SSL_get_session(ssl);
    if (SSL_session_reused(ssl) && sess && SSL_SESSION_get_ex_data(sess, sent_index))
        return keys->id->subject;
    return NULL;
}

int tls_client_offer_h2(SSL *ssl)
{
    static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1";
    return SSL_set_alpn_protos(ssl, alpn_h2, sizeof alpn_h2 - 1) == 0 ? 0 : -1;
}

SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *host, int port, const char *server_ip)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    /* lives as long as the SSL (idle tunnels keep theirs) */
    struct session_keys *keys = malloc(sizeof *keys);
    if (!keys || !SSL_set_ex_data(ssl, key_index, keys)) {
        free(keys);
        SSL_free(ssl);
        return NULL;
    }
    snprintf(keys->name, sizeof keys->name, "%s:%d", host, port);
    keys->addr[0] = '\0';
    keys->id = NULL;
    keys->sent = 0;
    if (server_ip && server_ip[0])
        snprintf(keys->addr, sizeof keys->addr, "@%s:%d", server_ip, port);
    const struct client_certs *identities = SSL_CTX_get_ex_data(ctx, identities_index);
    const struct client_identity *id = identities ? client_certs_match(identities, host, port) : NULL;
    if (id && use_identity(ssl, keys, id) < 0) {
        SSL_free(ssl);
        return NULL;
    }
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
    resume(ctx, ssl, keys, host, is_ip);
    return ssl;
}
