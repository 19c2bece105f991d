/* test_ca.c — the CA in a temporary confdir: files and modes, reload, refusal of corrupt files;
 * leaves for names, IPs, underscores, IDNs, verified with OpenSSL's own chain and host checks;
 * the leaf cache under two threads; the cost of one mint. */
#include "../../ca/ca.c"
#include "../../ca/mint.c"
#include "../../ca/leafcache.c"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "tap.h"

static int verify(X509 *ca, X509 *leaf, const char *host, int is_ip)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
    if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(vp, host);
    else
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
    int ok = X509_verify_cert(ctx) == 1;
    if (!ok)
        printf("# verify %s: %s\n", host, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static long days_between(const ASN1_TIME *a, const ASN1_TIME *b)
{
    int d, s;
    ASN1_TIME_diff(&d, &s, a, b);
    return d;
}

static struct leafcache *shared;
static void *hammer(void *arg)
{
    (void)arg;
    char host[64], err[128];
    for (int i = 0; i < 2000; i++) {
        snprintf(host, sizeof host, "h%d.example.com", i % 40);
        X509 *c = leafcache_get(shared, host, NULL, err, sizeof err);
        if (!c)
            return (void *)1;
        X509_free(c);
    }
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/httpeek-test-ca.XXXXXX", err[512], path[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/conf", dir);
    struct ca *ca = ca_load_or_create(path, err, sizeof err);
    ok(ca && ca_was_created(ca), "first run creates the CA");
    if (!ca)
        return done();
    struct stat st;
    char key[300], pem[300], cer[300];
    snprintf(key, sizeof key, "%s/ca-key.pem", path);
    snprintf(pem, sizeof pem, "%s/ca-cert.pem", path);
    snprintf(cer, sizeof cer, "%s/ca-cert.cer", path);
    is_int(stat(key, &st) == 0 ? (long long)(st.st_mode & 0777) : -1, 0600, "ca-key.pem is mode 0600");
    is_int(stat(path, &st) == 0 ? (long long)(st.st_mode & 0777) : -1, 0700, "confdir is mode 0700");
    ok(stat(cer, &st) == 0 && st.st_size > 100, "ca-cert.cer (DER) exists");
    X509 *cac = ca_cert(ca);
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cac, NID_basic_constraints, NULL, NULL);
    ok(bc && bc->ca && X509_get_extension_flags(cac) & EXFLAG_CA, "CA: basicConstraints CA:TRUE");
    BASIC_CONSTRAINTS_free(bc);
    ok((X509_get_key_usage(cac) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
       "CA: keyUsage keyCertSign + cRLSign");
    ok(X509_get0_subject_key_id(cac) != NULL, "CA: subject key identifier");
    char fp1[128];
    snprintf(fp1, sizeof fp1, "%s", ca_fingerprint(ca));

    struct ca *again = ca_load_or_create(path, err, sizeof err);
    ok(again && !ca_was_created(again) && !strcmp(fp1, ca_fingerprint(again)), "second run loads the same CA");
    ca_free(again);

    /* a corrupt certificate is an error naming the file, and the file is left alone */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad", dir);
    mkdir(bad, 0700);
    char badpem[400], badkey[400];
    snprintf(badpem, sizeof badpem, "%s/ca-cert.pem", bad);
    snprintf(badkey, sizeof badkey, "%s/ca-key.pem", bad);
    FILE *f = fopen(badpem, "w");
    fputs("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    f = fopen(badkey, "w");
    fputs("x", f);
    fclose(f);
    struct ca *broken = ca_load_or_create(bad, err, sizeof err);
    ok(!broken && strstr(err, badpem) && !strchr(err, '\n'), "corrupt ca-cert.pem: one-line error naming it (%s)", err);
    ok(stat(badpem, &st) == 0 && st.st_size == 62, "the corrupt file is left untouched");

    /* leaves */
    EVP_PKEY *lk = ca_leaf_key(ca);
    struct { const char *host, *check; int ip; } cases[] = {
        {"api.example.com", "api.example.com", 0},
        {"API.Example.COM.", "api.example.com", 0},
        {"127.0.0.1", "127.0.0.1", 1},
        {"::1", "::1", 1},
        {"my_service.example.com", "my_service.example.com", 0},
        {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        X509 *leaf = mint_leaf(cac, ca_key(ca), lk, cases[i].host, err, sizeof err);
        ok(leaf && verify(cac, leaf, cases[i].check, cases[i].ip), "leaf for '%s' verifies as %s",
           cases[i].host, cases[i].check);
        if (!leaf)
            continue;
        if (i == 0) {
            ok(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER, "leaf: EKU serverAuth");
            ok(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE, "leaf: keyUsage digitalSignature (EC key)");
            ok(X509_get_signature_nid(leaf) == NID_ecdsa_with_SHA256, "leaf: SHA-256 signature");
            long valid = days_between(X509_get0_notBefore(leaf), X509_get0_notAfter(leaf));
            ok(valid <= 197 && valid >= 190, "leaf: valid %ld days (<= 197)", valid);
            ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
            long back = days_between(X509_get0_notBefore(leaf), now);
            ok(back == 2 || back == 1, "leaf: notBefore about two days back (%ld)", back);
            ASN1_TIME_free(now);
            BIGNUM *sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
            ok(BN_num_bits(sn) > 100 && BN_num_bits(sn) <= 128 && !BN_is_negative(sn), "leaf: 128-bit positive serial");
            BN_free(sn);
            ok(X509_get0_authority_key_id(leaf) &&
                   !ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf), X509_get0_subject_key_id(cac)),
               "leaf: AKI is the CA's SKI");
            X509 *other = mint_leaf(cac, ca_key(ca), lk, "api.example.com", err, sizeof err);
            ok(other && ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf), X509_get0_serialNumber(other)),
               "two leaves never share a serial");
            X509_free(other);
        }
        X509_free(leaf);
    }
    char name[300];
    memset(name, 'a', 255);
    name[255] = '\0';
    ok(!mint_leaf(cac, ca_key(ca), lk, name, err, sizeof err) && err[0], "a 255-byte label is refused: %s", err);
    ok(!mint_leaf(cac, ca_key(ca), lk, "bad host.example", err, sizeof err), "a name with a space is refused");
    ok(!mint_leaf(cac, ca_key(ca), lk, "a..example", err, sizeof err), "an empty label is refused");

    /* cost of one mint */
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (int i = 0; i < 500; i++)
        X509_free(mint_leaf(cac, ca_key(ca), lk, "bench.example.com", err, sizeof err));
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    printf("# mint: %.1f us of CPU per leaf\n",
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 500 / 1e3);

    /* cache */
    struct leafcache *lc = leafcache_new(ca, 4);
    int minted;
    X509 *a = leafcache_get(lc, "Cache.Example.com", &minted, err, sizeof err);
    int first = minted;
    X509 *b = leafcache_get(lc, "cache.example.com", &minted, err, sizeof err);
    ok(a && a == b && first && !minted, "same host (any case): minted once, same certificate");
    X509_free(a);
    X509_free(b);
    for (int i = 0; i < 10; i++) {
        char h[32];
        snprintf(h, sizeof h, "e%d.example.com", i);
        X509_free(leafcache_get(lc, h, NULL, err, sizeof err));
    }
    is_int((long long)leafcache_size(lc), 4, "cache stays within its capacity");
    leafcache_free(lc);

    shared = leafcache_new(ca, 16);
    pthread_t th[2];
    void *r0 = NULL, *r1 = NULL;
    pthread_create(&th[0], NULL, hammer, NULL);
    pthread_create(&th[1], NULL, hammer, NULL);
    pthread_join(th[0], &r0);
    pthread_join(th[1], &r1);
    ok(!r0 && !r1 && leafcache_size(shared) <= 16, "two threads hammering 40 hosts through a 16-leaf cache");
    leafcache_free(shared);
    ca_free(ca);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
