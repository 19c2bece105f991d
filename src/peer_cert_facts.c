/* peer_cert_facts.c — see peer_cert_facts.h. The kept facts are written once (under a lock) and
 * never changed, so a copy taken under the lock stays valid. */
#include "peer_cert_facts.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509v3.h>

/* The string facts packed one after another (NUL-separated) after the key size: ~250 bytes on
 * a certificate that lives as long as its connection or sessions. */
struct kept {
    int key_bits;
    char strings[];
};

#define FIELD(name) {offsetof(struct flow_tls, name), sizeof ((struct flow_tls *)0)->name}
static const struct {
    size_t off, size;
} fields[] = {
    FIELD(peer_subject), FIELD(peer_issuer), FIELD(peer_not_before), FIELD(peer_not_after),
    FIELD(peer_key_type), FIELD(peer_sig), FIELD(peer_names),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int kept_index = -1;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long computed;

static void kept_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

/* A copied certificate object starts without them (never two owners of one block). */
static int kept_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx,
                    long argl, void *argp)
{
    (void)to, (void)from, (void)idx, (void)argl, (void)argp;
    *from_d = NULL;
    return 1;
}

static void init_index(void)
{
    kept_index = X509_get_ex_new_index(0, NULL, NULL, kept_dup, kept_free);
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

/* cert's DNS and IP subjectAltNames as "a, b, c" into out (whole names only: "... (+N more)"
 * when they do not all fit), or its CN when it has none. */
static void peer_names(X509 *cert, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int n = sk_GENERAL_NAME_num(gens), shown = 0, named = 0;
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        char one[INET6_ADDRSTRLEN + 256] = "";
        if (gn->type == GEN_DNS) {
            const ASN1_STRING *s = gn->d.dNSName;
            int len = ASN1_STRING_length(s);
            if (len <= 0 || len > 253 || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len))
                continue;
            snprintf(one, sizeof one, "%.*s", len, (const char *)ASN1_STRING_get0_data(s));
            for (char *p = one; *p; p++) /* one line, and never our separator */
                if ((unsigned char)*p < 0x20 || *p == ',' || *p == ' ' || (unsigned char)*p >= 0x7f)
                    *p = '?';
        } else if (gn->type == GEN_IPADD) {
            int len = ASN1_STRING_length(gn->d.iPAddress);
            if ((len != 4 && len != 16) ||
                !inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), one,
                           sizeof one))
                continue;
        } else {
            continue;
        }
        named++;
        size_t len = strlen(one);
        if (o + len + 2 + 16 < outlen) { /* room left for " (+N more)" */
            o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", one);
            shown++;
        }
    }
    GENERAL_NAMES_free(gens);
    if (named > shown)
        snprintf(out + o, outlen - o, " (+%d more)", named - shown);
    if (!named) {
        X509_NAME *subj = X509_get_subject_name(cert);
        int i = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
        const ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)) : NULL;
        unsigned char *utf8 = NULL;
        int len = cn ? ASN1_STRING_to_UTF8(&utf8, cn) : -1;
        if (len > 0)
            snprintf(out, outlen, "%.*s", len, (const char *)utf8);
        OPENSSL_free(utf8);
        for (char *p = out; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == ',')
                *p = '?';
    }
}

static void work_out(X509 *peer, struct flow_tls *facts)
{
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
    snprintf(facts->peer_sig, sizeof facts->peer_sig, "%s", OBJ_nid2ln(X509_get_signature_nid(peer)));
    peer_names(peer, facts->peer_names, sizeof facts->peer_names);
}

static void unpack(const struct kept *k, struct flow_tls *out)
{
    out->peer_key_bits = k->key_bits;
    const char *p = k->strings;
    for (size_t i = 0; i < NFIELDS; i++) {
        size_t n = strlen(p); /* packed from fields of these sizes: always fits */
        memcpy((char *)out + fields[i].off, p, n + 1);
        p += n + 1;
    }
}

static struct kept *pack(const struct flow_tls *facts)
{
    size_t total = 0;
    for (size_t i = 0; i < NFIELDS; i++)
        total += strnlen((const char *)facts + fields[i].off, fields[i].size - 1) + 1;
    struct kept *k = malloc(sizeof *k + total);
    if (!k)
        return NULL;
    k->key_bits = facts->peer_key_bits;
    char *p = k->strings;
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *f = (const char *)facts + fields[i].off;
        size_t n = strnlen(f, fields[i].size - 1);
        memcpy(p, f, n);
        p[n] = '\0';
        p += n + 1;
    }
    return k;
}

void peer_cert_facts(X509 *cert, struct flow_tls *out)
{
    pthread_once(&kept_once, init_index);
    pthread_mutex_lock(&kept_lock);
    const struct kept *k = kept_index >= 0 ? X509_get_ex_data(cert, kept_index) : NULL;
    if (k) {
        unpack(k, out);
        pthread_mutex_unlock(&kept_lock);
        return;
    }
    computed++;
    pthread_mutex_unlock(&kept_lock);

    struct flow_tls mine; /* worked out apart: out's other fields stay as they are */
    memset(&mine, 0, sizeof mine);
    work_out(cert, &mine);
    struct kept *made = kept_index >= 0 ? pack(&mine) : NULL;
    if (made) {
        pthread_mutex_lock(&kept_lock);
        if (!X509_get_ex_data(cert, kept_index) && X509_set_ex_data(cert, kept_index, made))
            made = NULL; /* kept: freed with the certificate */
        pthread_mutex_unlock(&kept_lock);
        free(made); /* another thread kept the same facts first, or no room for them */
    }
    for (size_t i = 0; i < NFIELDS; i++)
        memcpy((char *)out + fields[i].off, (const char *)&mine + fields[i].off, fields[i].size);
    out->peer_key_bits = mine.peer_key_bits;
}

unsigned long peer_cert_facts_computed(void)
{
    pthread_mutex_lock(&kept_lock);
    unsigned long n = computed;
    pthread_mutex_unlock(&kept_lock);
    return n;
}
