/* test_peer_cert_facts.c — an upstream certificate's facts are worked out once per X509 object
 * (a resumed session shows the same object at every resumption) and copied after that: the same
 * facts each time, a copied certificate object its own. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "../../src/flow.h"
#include "../../src/peer_cert_facts.h"
#include "tap.h"

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *c = X509_new();
    X509_set_version(c, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    ASN1_TIME_set_string(X509_getm_notBefore(c), "20260101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(c), "20270101120000Z");
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"a.test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Org", -1, -1, 0);
    /* an issuer other than the subject (signed by the same key: the facts read no signature),
     * so an issuer shown from the wrong name cannot pass */
    X509_NAME *issuer = X509_NAME_new();
    X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA", -1, -1, 0);
    X509_set_issuer_name(c, issuer);
    X509_NAME_free(issuer);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
                                              "DNS:a.test, DNS:*.b.test, IP:127.0.0.1");
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(c, key, EVP_sha256());
    return c;
}

static const char *facts_line(const struct flow_tls *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s|%s|%s|%s|%s|%d|%s|%s", t->peer_subject, t->peer_issuer,
             t->peer_not_before, t->peer_not_after, t->peer_key_type, t->peer_key_bits, t->peer_sig,
             t->peer_names);
    return buf;
}

int main(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = make_cert(key);
    struct flow_tls *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *c = calloc(1, sizeof *c);
    char la[2048], lb[2048], lc[2048];

    strcpy(a->cipher, "kept");
    unsigned long before = peer_cert_facts_computed();
    peer_cert_facts(cert, a);
    is_str(facts_line(a, la, sizeof la),
           "O=Org,CN=a.test|CN=Test CA|2026-01-01T00:00:00Z|2027-01-01T12:00:00Z|EC|256|"
           "ecdsa-with-SHA256|a.test, *.b.test, 127.0.0.1",
           "the certificate's facts: subject, issuer, valid from, valid until, key, signature, names");
    ok(!strcmp(a->cipher, "kept"), "the other fields are left as they were");
    is_int((long long)(peer_cert_facts_computed() - before), 1, "worked out the first time");

    peer_cert_facts(cert, b);
    is_int((long long)(peer_cert_facts_computed() - before), 1,
           "the same certificate object again: copied, not worked out again");
    is_str(facts_line(b, lb, sizeof lb), la, "the same facts");

    X509 *copy = X509_dup(cert);
    peer_cert_facts(copy, c);
    is_int((long long)(peer_cert_facts_computed() - before), 2, "a copied certificate: its own");
    is_str(facts_line(c, lc, sizeof lc), la, "with the same facts");

    X509_free(copy); /* each frees its own kept facts (ASan / valgrind: no double free, no leak) */
    X509_free(cert);
    EVP_PKEY_free(key);
    free(a), free(b), free(c);
    return done();
}
