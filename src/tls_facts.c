/* tls_facts.c — see tls_facts.h. The info callback runs inside SSL_read/SSL_write/handshake
 * calls on the leg's worker thread; it only writes into the facts it was given. */
#include "tls_facts.h"

#include <string.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>

static int facts_index = -1;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;

static void init_index(void) { facts_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT))
        return;
    struct flow_tls *facts = SSL_get_ex_data(ssl, facts_index);
    if (!facts)
        return;
    char *dst = (where & SSL_CB_READ) ? facts->alert_received : facts->alert_sent;
    size_t len = (where & SSL_CB_READ) ? sizeof facts->alert_received : sizeof facts->alert_sent;
    const char *name = SSL_alert_desc_string_long(ret);
    if (!strcmp(name, "unknown")) {
        /* OpenSSL 3.0 has no long names for the TLS 1.3 alerts (RFC 8446 §6) */
        switch (ret & 0xff) {
        case 109: name = "missing extension"; break;
        case 115: name = "unknown PSK identity"; break;
        case 116: name = "certificate required"; break;
        case 120: name = "no application protocol"; break;
        }
    }
    snprintf(dst, len, "%s", name);
}

void tls_facts_attach(SSL *ssl, struct flow_tls *facts)
{
    pthread_once(&facts_once, init_index);
    SSL_set_ex_data(ssl, facts_index, facts);
    if (facts) {
        facts->present = 1;
        SSL_set_info_callback(ssl, info_cb);
    } else {
        SSL_set_info_callback(ssl, NULL);
    }
}

static void name_oneline(X509_NAME *name, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!name)
        return;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
    int n = BIO_read(b, buf, (int)len - 1);
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

void tls_facts_fill(SSL *ssl, struct flow_tls *facts)
{
    facts->present = 1;
    snprintf(facts->version, sizeof facts->version, "%s", SSL_get_version(ssl));
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    snprintf(facts->cipher, sizeof facts->cipher, "%s", c ? SSL_CIPHER_get_name(c) : "");
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    snprintf(facts->alpn, sizeof facts->alpn, "%.*s", (int)alpn_len, alpn ? (const char *)alpn : "");
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni)
        snprintf(facts->sni, sizeof facts->sni, "%s", sni);
    facts->resumed = SSL_session_reused(ssl);
    if (!SSL_is_server(ssl)) {
        facts->verify_result = SSL_get_verify_result(ssl);
        if (facts->verify_result != X509_V_OK)
            snprintf(facts->verify_error, sizeof facts->verify_error, "%s",
                     X509_verify_cert_error_string(facts->verify_result));
        X509 *peer = SSL_get0_peer_certificate(ssl);
        if (!peer) {
            /* A certificate that failed verification never becomes "the peer certificate", but
             * the chain it came in is kept: its facts matter most exactly then. */
            STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
            if (chain && sk_X509_num(chain) > 0)
                peer = sk_X509_value(chain, 0);
        }
        if (peer) {
            name_oneline(X509_get_subject_name(peer), facts->peer_subject, sizeof facts->peer_subject);
            name_oneline(X509_get_issuer_name(peer), facts->peer_issuer, sizeof facts->peer_issuer);
            struct tm tm;
            if (ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm))
                strftime(facts->peer_not_after, sizeof facts->peer_not_after, "%Y-%m-%dT%H:%M:%SZ", &tm);
            if (ASN1_TIME_to_tm(X509_get0_notBefore(peer), &tm))
                strftime(facts->peer_not_before, sizeof facts->peer_not_before, "%Y-%m-%dT%H:%M:%SZ", &tm);
            EVP_PKEY *pk = X509_get0_pubkey(peer);
            if (pk) {
                facts->peer_key_bits = EVP_PKEY_get_bits(pk);
                snprintf(facts->peer_key_type, sizeof facts->peer_key_type, "%s",
                         EVP_PKEY_is_a(pk, "RSA") ? "RSA" : EVP_PKEY_is_a(pk, "EC") ? "EC"
                         : EVP_PKEY_is_a(pk, "ED25519") ? "Ed25519" : "other");
            }
            snprintf(facts->peer_sig, sizeof facts->peer_sig, "%s",
                     OBJ_nid2ln(X509_get_signature_nid(peer)));
        }
        const SSL_CIPHER *cc = SSL_get_current_cipher(ssl);
        if (cc) {
            int kx = SSL_CIPHER_get_kx_nid(cc);
            facts->forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any ||
                                    kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk;
        }
    }
}

void tls_facts_take_error(struct flow_tls *facts, unsigned long err)
{
    if (err && !facts->error[0])
        ERR_error_string_n(err, facts->error, sizeof facts->error);
    ERR_clear_error();
}
