/* test_ca.c — the CA module against what a user and a TLS client check.
 *
 * CA files in a temporary confdir: modes (under umask 0, so they come from open(), not the
 * umask), reload gives the same CA, corrupt / partial / mismatched files are one-line errors
 * naming the file and are left untouched. Leaves for names, IPv4, IPv6, underscores, IDNs and
 * length limits, each verified by OpenSSL's chain builder (purpose sslserver, host or IP check)
 * and checked extension by extension; one real TLS handshake in memory; punycode against the
 * RFC 3492 samples; the leaf cache (case, LRU eviction, references) and two threads hammering it.
 * Prints the CPU cost of one mint as a TAP comment (not asserted: benchmarks do that). */
#include "../../ca/ca.c"
#include "../../ca/mint.c"
#include "../../ca/leafcache.c"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/ssl.h>
#include "tap.h"

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

static int spew(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

static int same_file(const char *path, const char *data, size_t len)
{
    size_t n;
    char *now = slurp(path, &n);
    int same = now && n == len && !memcmp(now, data, len);
    free(now);
    return same;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* A fresh confdir holding copies of some of src's CA files (mask: 1 pem, 2 key, 4 cer). */
static void copy_conf(const char *src, const char *dst, int mask)
{
    static const char *names[] = {"ca-cert.pem", "ca-key.pem", "ca-cert.cer"};
    mkdir(dst, 0700);
    for (int i = 0; i < 3; i++) {
        if (!(mask & (1 << i)))
            continue;
        char a[512], b[512];
        size_t len;
        snprintf(a, sizeof a, "%s/%s", src, names[i]);
        snprintf(b, sizeof b, "%s/%s", dst, names[i]);
        char *d = slurp(a, &len);
        if (d && spew(b, d, len) == 0)
            chmod(b, 0600);
        free(d);
    }
}

/* X509_verify_cert as a TLS client would: trust only ca, purpose sslserver, name or IP check. */
static int verify(X509 *ca, X509 *leaf, const char *name, int is_ip)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
    if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(vp, name);
    else
        X509_VERIFY_PARAM_set1_host(vp, name, 0);
    int ok = X509_verify_cert(ctx) == 1;
    if (!ok)
        printf("# verify %s: %s\n", name, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static int ext_critical(X509 *c, int nid)
{
    int i = X509_get_ext_by_NID(c, nid, -1);
    return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(c, i));
}

static void name_entry(const X509_NAME *n, int nid, char *out, size_t outlen)
{
    out[0] = '\0';
    X509_NAME_get_text_by_NID((X509_NAME *)n, nid, out, (int)outlen);
}

/* The subjectAltName entries as "DNS:a,IP:b" (IPs in OpenSSL's text form). */
static void san_text(X509 *c, char *out, size_t outlen)
{
    out[0] = '\0';
    GENERAL_NAMES *gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        size_t o = strlen(out);
        if (gn->type == GEN_DNS)
            snprintf(out + o, outlen - o, "%sDNS:%s", o ? "," : "",
                     (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
        else if (gn->type == GEN_IPADD) {
            char ip[INET6_ADDRSTRLEN] = "?";
            int len = ASN1_STRING_length(gn->d.iPAddress);
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), ip, sizeof ip);
            snprintf(out + o, outlen - o, "%sIP:%s", o ? "," : "", ip);
        } else
            snprintf(out + o, outlen - o, "%s?", o ? "," : "");
    }
    GENERAL_NAMES_free(gens);
}

/* Every rule of mint.h on one leaf; returns the number of failed checks (each one is a TAP line
 * only when it fails, so the plan does not depend on the case list). */
static int leaf_rules(X509 *ca, EVP_PKEY *leaf_key, X509 *leaf, const char *want_cn, const char *want_san)
{
    int bad = 0;
#define CHECK(cond, ...) do { if (!(cond)) { bad++; ok(0, __VA_ARGS__); } } while (0)
    char buf[1024];
    CHECK(X509_get_version(leaf) == X509_VERSION_3, "v3");
    CHECK(EVP_PKEY_eq(X509_get0_pubkey(leaf), leaf_key) == 1, "carries the leaf key");
    CHECK(X509_get_signature_nid(leaf) == NID_ecdsa_with_SHA256, "SHA-256 signature by the P-256 CA");
    CHECK(X509_verify(leaf, X509_get0_pubkey(ca)) == 1, "signature checks with the CA key");
    CHECK(!X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca)), "issuer = CA subject");
    name_entry(X509_get_subject_name(leaf), NID_commonName, buf, sizeof buf);
    CHECK(!strcmp(buf, want_cn), "CN '%s', want '%s'", buf, want_cn);
    san_text(leaf, buf, sizeof buf);
    CHECK(!strcmp(buf, want_san), "SAN '%s', want '%s'", buf, want_san);
    CHECK(X509_get_ext_count(leaf) == 6, "6 extensions (BC, KU, EKU, SKI, AKI, SAN), got %d",
          X509_get_ext_count(leaf));
    uint32_t ex = X509_get_extension_flags(leaf);
    CHECK((ex & EXFLAG_BCONS) && !(ex & EXFLAG_CA) && ext_critical(leaf, NID_basic_constraints),
          "basicConstraints CA:FALSE, critical");
    CHECK(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE && ext_critical(leaf, NID_key_usage),
          "keyUsage digitalSignature only (EC key), critical");
    CHECK(X509_get_extended_key_usage(leaf) == XKU_SSL_SERVER, "EKU serverAuth only");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(leaf);
    X509_pubkey_digest(leaf, EVP_sha1(), md, &mdlen);
    CHECK(ski && (unsigned)ASN1_STRING_length(ski) == mdlen && !memcmp(ASN1_STRING_get0_data(ski), md, mdlen),
          "SKI = SHA-1 of the public key");
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(leaf);
    CHECK(aki && !ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca)), "AKI keyid = the CA's SKI");
    int days = -1, secs = -1;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf));
    CHECK(days == MINT_VALIDITY_DAYS && secs == 0, "valid exactly 197 days (%d d %d s)", days, secs);
    time_t t = time(NULL) - MINT_BACKDATE_DAYS * 86400;
    CHECK(X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){t + 5}) < 0 &&
              X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){t - 60}) > 0,
          "notBefore = now - 2 days");
    BIGNUM *sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    CHECK(sn && !BN_is_negative(sn) && !BN_is_zero(sn) && BN_num_bits(sn) <= 127, "serial positive, <= 127 bits");
    BN_free(sn);
#undef CHECK
    return bad;
}

/* Handshake over a memory BIO pair: the server uses the leaf and ca_leaf_key exactly as
 * tls_server.c does, the client trusts only the CA and checks the host name. */
static int handshake(struct ca *ca, X509 *leaf, const char *host)
{
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), ca_cert(ca));
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    int ok = SSL_use_certificate(s, leaf) == 1 && SSL_use_PrivateKey(s, ca_leaf_key(ca)) == 1 &&
             SSL_check_private_key(s) == 1 && SSL_set1_host(c, host) == 1 &&
             SSL_set_tlsext_host_name(c, host) == 1;
    BIO *sb, *cb;
    BIO_new_bio_pair(&sb, 0, &cb, 0);
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    int cdone = 0, sdone = 0;
    for (int i = 0; ok && i < 50 && !(cdone && sdone); i++) {
        int rc = SSL_do_handshake(c);
        if (rc == 1)
            cdone = 1;
        else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            ok = 0;
        rc = SSL_do_handshake(s);
        if (rc == 1)
            sdone = 1;
        else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
            ok = 0;
    }
    ok = ok && cdone && sdone && SSL_get_verify_result(c) == X509_V_OK;
    if (!ok)
        printf("# handshake: verify %s\n", X509_verify_cert_error_string(SSL_get_verify_result(c)));
    ERR_clear_error();
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return ok;
}

static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* ---- the parts ---- */

static void test_files(const char *dir, const char *conf, struct ca *ca)
{
    char key[512], pem[512], cer[512], err[512];
    snprintf(key, sizeof key, "%s/ca-key.pem", conf);
    snprintf(pem, sizeof pem, "%s/ca-cert.pem", conf);
    snprintf(cer, sizeof cer, "%s/ca-cert.cer", conf);
    ok(ca_was_created(ca), "first run creates the CA");
    is_int(file_mode(conf), 0700, "confdir created with mode 0700 (umask 0)");
    is_int(file_mode(key), 0600, "ca-key.pem has mode 0600 (umask 0)");
    is_int(file_mode(pem), 0644, "ca-cert.pem has mode 0644");
    is_str(ca_cert_pem_path(ca), pem, "ca_cert_pem_path is confdir/ca-cert.pem");

    size_t derlen = 0;
    char *der = slurp(cer, &derlen);
    const unsigned char *p = (const unsigned char *)der;
    X509 *fromder = der ? d2i_X509(NULL, &p, (long)derlen) : NULL;
    ok(fromder && !X509_cmp(fromder, ca_cert(ca)), "ca-cert.cer is the CA in DER");
    X509_free(fromder);

    /* the CA certificate itself */
    X509 *c = ca_cert(ca);
    char host[256] = "", want[320], buf[320];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want, "httpeek CA (%s)", host);
    name_entry(X509_get_subject_name(c), NID_commonName, buf, sizeof buf);
    is_str(buf, want, "CA subject CN is 'httpeek CA (<hostname>)'");
    name_entry(X509_get_subject_name(c), NID_organizationName, buf, sizeof buf);
    is_str(buf, "httpeek", "CA subject O is httpeek");
    ok(EVP_PKEY_is_a(ca_key(ca), "EC") && EVP_PKEY_get_bits(ca_key(ca)) == 256 &&
           EVP_PKEY_get_utf8_string_param(ca_key(ca), "group", buf, sizeof buf, NULL) && !strcmp(buf, "prime256v1"),
       "CA key is ECDSA P-256");
    ok(X509_check_ca(c) >= 1 && ext_critical(c, NID_basic_constraints), "CA: basicConstraints CA:TRUE, critical");
    ok(X509_get_key_usage(c) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN) && ext_critical(c, NID_key_usage),
       "CA: keyUsage keyCertSign + cRLSign, critical");
    ok(X509_get0_subject_key_id(c) != NULL, "CA: subject key identifier");
    ok(X509_get_signature_nid(c) == NID_ecdsa_with_SHA256, "CA: SHA-256 signature");
    ok(X509_verify(c, ca_key(ca)) == 1 && !X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(c)),
       "CA: self-signed");
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c), X509_get0_notAfter(c));
    ok(days >= 3640 && days <= 3660, "CA: valid about 10 years (%d days)", days);
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c), NULL);
    ok(days == 2 || (days == 1 && secs > 86000), "CA: notBefore backdated 2 days");
    BIGNUM *sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
    ok(sn && !BN_is_negative(sn) && BN_num_bits(sn) > 64, "CA: random positive serial (%d bits)", BN_num_bits(sn));
    BN_free(sn);
    size_t fplen = strlen(ca_fingerprint(ca));
    ok(fplen == 95 && ca_fingerprint(ca)[2] == ':', "fingerprint is 32 hex pairs with colons");

    /* second run */
    size_t keylen, pemlen;
    char *keybytes = slurp(key, &keylen), *pembytes = slurp(pem, &pemlen);
    struct ca *again = ca_load_or_create(conf, err, sizeof err);
    ok(again && !ca_was_created(again) && !strcmp(ca_fingerprint(ca), ca_fingerprint(again)) &&
           EVP_PKEY_eq(ca_key(ca), ca_key(again)) == 1,
       "second run loads the same CA (fingerprint, key)");
    ok(same_file(key, keybytes, keylen) && same_file(pem, pembytes, pemlen), "second run leaves the files alone");
    ca_free(again);

    /* a missing ca-cert.cer is rewritten from the PEM */
    unlink(cer);
    again = ca_load_or_create(conf, err, sizeof err);
    ok(again && !ca_was_created(again) && same_file(cer, der, derlen), "missing ca-cert.cer is rewritten, identical");
    ca_free(again);

    /* a ca-cert.cer holding something else is refused */
    spew(cer, "not DER", 7);
    again = ca_load_or_create(conf, err, sizeof err);
    ok(!again && strstr(err, cer) && !strchr(err, '\n') && same_file(cer, "not DER", 7),
       "mismatched ca-cert.cer: error naming it, file untouched: %s", err);
    ca_free(again);
    spew(cer, der, derlen);

    /* a loosened key mode is tightened again */
    chmod(key, 0644);
    again = ca_load_or_create(conf, err, sizeof err);
    is_int(again ? file_mode(key) : -1, 0600, "a key found with mode 0644 is put back to 0600");
    ca_free(again);

    /* corrupt ca-cert.pem next to a good key */
    char d[512], dpem[600], dkey[600], dcer[600];
    snprintf(d, sizeof d, "%s/corrupt", dir);
    copy_conf(conf, d, 2 | 4);
    snprintf(dpem, sizeof dpem, "%s/ca-cert.pem", d);
    snprintf(dkey, sizeof dkey, "%s/ca-key.pem", d);
    snprintf(dcer, sizeof dcer, "%s/ca-cert.cer", d);
    static const char garbage[] = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n";
    spew(dpem, garbage, sizeof garbage - 1);
    struct ca *broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dpem) && !strchr(err, '\n'), "corrupt ca-cert.pem: one-line error naming it: %s", err);
    ok(same_file(dpem, garbage, sizeof garbage - 1) && same_file(dkey, keybytes, keylen) &&
           same_file(dcer, der, derlen),
       "corrupt ca-cert.pem: no file rewritten");
    ca_free(broken);

    /* truncated PEM (the write stopped half-way) */
    spew(dpem, pembytes, pemlen / 2);
    broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dpem), "truncated ca-cert.pem: error naming it");
    ca_free(broken);

    /* corrupt key next to a good certificate */
    snprintf(d, sizeof d, "%s/badkey", dir);
    copy_conf(conf, d, 1 | 4);
    snprintf(dkey, sizeof dkey, "%s/ca-key.pem", d);
    spew(dkey, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 56);
    broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dkey) && !strchr(err, '\n'), "corrupt ca-key.pem: error naming it: %s", err);
    ca_free(broken);

    /* an encrypted key is refused, without a password prompt */
    FILE *f = fopen(dkey, "w");
    PEM_write_PrivateKey(f, ca_key(ca), EVP_aes_128_cbc(), (unsigned char *)"pw", 2, NULL, NULL);
    fclose(f);
    broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dkey), "encrypted ca-key.pem: error naming it, no prompt");
    ca_free(broken);

    /* a key of another CA */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f = fopen(dkey, "w");
    PEM_write_PrivateKey(f, other, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(other);
    broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dkey) && strstr(err, "does not match"), "key of another CA: refused: %s", err);
    ca_free(broken);

    /* half a CA: certificate without key, key without certificate */
    snprintf(d, sizeof d, "%s/nokey", dir);
    copy_conf(conf, d, 1);
    snprintf(dkey, sizeof dkey, "%s/ca-key.pem", d);
    snprintf(dpem, sizeof dpem, "%s/ca-cert.pem", d);
    snprintf(dcer, sizeof dcer, "%s/ca-cert.cer", d);
    broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dkey) && !exists(dkey) && !exists(dcer) && same_file(dpem, pembytes, pemlen),
       "certificate without key: error naming the key, nothing created: %s", err);
    ca_free(broken);
    snprintf(d, sizeof d, "%s/nocert", dir);
    copy_conf(conf, d, 2);
    snprintf(dkey, sizeof dkey, "%s/ca-key.pem", d);
    snprintf(dpem, sizeof dpem, "%s/ca-cert.pem", d);
    broken = ca_load_or_create(d, err, sizeof err);
    ok(!broken && strstr(err, dpem) && !exists(dpem) && same_file(dkey, keybytes, keylen),
       "key without certificate: error naming the certificate, nothing created: %s", err);
    ca_free(broken);

    /* unreadable confdir */
    snprintf(d, sizeof d, "%s/file", dir);
    spew(d, "x", 1);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/conf", d);
    broken = ca_load_or_create(sub, err, sizeof err);
    ok(!broken && strstr(err, sub), "confdir that cannot be made: error naming it: %s", err);
    ca_free(broken);

    free(der);
    free(keybytes);
    free(pembytes);
}

static void test_san_names(void)
{
    static const struct { const char *in, *out; } v[] = {
        {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example"},
        {"B\xc3\x9c" "CHER.Example.", "xn--bcher-kva.example"},
        {"m\xc3\xbcnchen.de", "xn--mnchen-3ya.de"},
        {"fa\xc3\x9f.de", "xn--fa-hia.de"},
        {"\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", "xn--r8jz45g.xn--zckzah"},
        {"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd0\xb8\xd1\x81\xd0\xbf\xd1\x8b\xd1\x82\xd0\xb0"
         "\xd0\xbd\xd0\xb8\xd0\xb5", "xn--e1afmkfd.xn--80akhbyknj4f"},
        {"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x9c\xd0\x95\xd0\xa0.test", "xn--e1afmkfd.test"},
        /* RFC 3492 §7.1 (B) simplified Chinese, (L) mixed with basic code points */
        {"\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88\xe4\xb8\x8d\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87",
         "xn--ihqwcrb4cv8a8dqg056pqjye"},
        {"3\xe5\xb9\xb4" "B\xe7\xb5\x84\xe9\x87\x91\xe5\x85\xab\xe5\x85\x88\xe7\x94\x9f", "xn--3b-ww4c5e180e575a65lsy2b"},
        {"XN--BCHER-KVA.example", "xn--bcher-kva.example"},
        {"my_service.Example.com", "my_service.example.com"},
        {"localhost", "localhost"},
        {"example.com..", NULL},
        {"", NULL},
        {".", NULL},
        {".example.com", NULL},
        {"a b.example", NULL},
        {"a\tb.example", NULL},
        {"a/b.example", NULL},
        {"a:b", NULL},
        {"*.example.com", NULL},
        {"\xc0\xae" "example", NULL},           /* overlong '.' */
        {"\xed\xa0\x80.example", NULL},         /* surrogate */
        {"\xff.example", NULL},
        {"caf\xc3", NULL},                      /* truncated sequence */
        {"b\xc3\xbc_cher.example", NULL},       /* '_' in a U-label */
    };
    char out[300];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        int rc = mint_san_name(v[i].in, out, sizeof out);
        if (v[i].out)
            ok(rc == 0 && !strcmp(out, v[i].out), "san name #%zu -> %s (got %s)", i, v[i].out, rc ? "refusal" : out);
        else
            ok(rc < 0, "san name #%zu refused", i);
    }
    char label[80];
    memset(label, 'a', 63);
    strcpy(label + 63, ".com");
    ok(mint_san_name(label, out, sizeof out) == 0, "a 63-byte label is accepted");
    memset(label, 'a', 64);
    strcpy(label + 64, ".com");
    ok(mint_san_name(label, out, sizeof out) < 0, "a 64-byte label is refused");
    char u[200] = ""; /* 64 x U+00FC: 68 bytes once encoded */
    for (int i = 0; i < 64; i++)
        strcat(u, "\xc3\xbc");
    ok(mint_san_name(u, out, sizeof out) < 0, "a U-label whose A-label exceeds 63 bytes is refused");
    ok(mint_san_name("example.com", out, 6) < 0, "a result longer than the buffer is refused");
}

static void test_leaves(struct ca *ca)
{
    char err[512], n253[260], n254[260], n255[260], l255[260], cn253[65], want[600];
    X509 *cac = ca_cert(ca);
    /* 63+1+63+1+63+1+61 = 253 bytes: the longest name a DNS SAN can hold */
    memset(l255, 'a', 255);
    l255[255] = '\0';
    snprintf(n253, sizeof n253, "%.63s.%.63s.%.63s.%.61s", l255, l255, l255, l255);
    snprintf(n254, sizeof n254, "%.63s.%.63s.%.63s.%.62s", l255, l255, l255, l255);
    snprintf(n255, sizeof n255, "%.63s.%.63s.%.63s.%.63s", l255, l255, l255, l255);
    memcpy(cn253, n253, 64); /* CN: the first 64 bytes */
    cn253[64] = '\0';
    snprintf(want, sizeof want, "DNS:%s", n253);
    struct { const char *host, *check, *cn, *san; int ip; } cases[] = {
        {"api.example.com", "api.example.com", "api.example.com", "DNS:api.example.com", 0},
        {"API.Example.COM.", "api.example.com", "api.example.com", "DNS:api.example.com", 0},
        {"127.0.0.1", "127.0.0.1", "127.0.0.1", "IP:127.0.0.1", 1},
        {"192.168.1.20", "192.168.1.20", "192.168.1.20", "IP:192.168.1.20", 1},
        {"::1", "::1", "::1", "IP:::1", 1},
        {"2001:db8::1", "2001:db8::1", "2001:db8::1", "IP:2001:db8::1", 1},
        {"[2001:db8::2]", "2001:db8::2", "2001:db8::2", "IP:2001:db8::2", 1},
        {"my_service.example.com", "my_service.example.com", "my_service.example.com",
         "DNS:my_service.example.com,DNS:*.example.com", 0},
        {"a_b.c_d.example.com", "a_b.c_d.example.com", "a_b.c_d.example.com", "DNS:a_b.c_d.example.com", 0},
        {"x_y.com", "x_y.com", "x_y.com", "DNS:x_y.com", 0},
        {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example", "xn--bcher-kva.example", "DNS:xn--bcher-kva.example", 0},
        {"localhost", "localhost", "localhost", "DNS:localhost", 0},
        {n253, n253, cn253, want, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        X509 *leaf = ca_mint_leaf(ca, cases[i].host, err, sizeof err);
        int verified = leaf && verify(cac, leaf, cases[i].check, cases[i].ip);
        int matched = leaf && (cases[i].ip ? X509_check_ip_asc(leaf, cases[i].check, 0) == 1
                                           : X509_check_host(leaf, cases[i].check, 0, 0, NULL) == 1);
        int other = leaf && X509_check_host(leaf, "other.example.org", 0, 0, NULL) == 1;
        int bad = leaf ? leaf_rules(cac, ca_leaf_key(ca), leaf, cases[i].cn, cases[i].san) : 1;
        ok(leaf && verified && matched && !other && !bad,
           "leaf for '%.70s' verifies as %.70s (sslserver, %s check) and follows every rule%s%s", cases[i].host,
           cases[i].check, cases[i].ip ? "IP" : "host", leaf ? "" : ": ", leaf ? "" : err);
        X509_free(leaf);
    }
    /* the wildcard really covers an underscore name for verifiers that refuse '_' */
    X509 *leaf = ca_mint_leaf(ca, "my_service.example.com", err, sizeof err);
    ok(leaf && X509_check_host(leaf, "other.example.com", 0, 0, NULL) == 1 &&
           X509_check_host(leaf, "a.b.example.com", 0, 0, NULL) != 1,
       "underscore leaf: *.example.com matches one label, no more");
    ok(leaf && handshake(ca, leaf, "my_service.example.com"), "TLS handshake with the leaf: client verifies it");
    X509_free(leaf);
    leaf = ca_mint_leaf(ca, "api.example.com", err, sizeof err);
    ok(leaf && handshake(ca, leaf, "api.example.com"), "TLS handshake for api.example.com");
    X509_free(leaf);

    /* refusals carry a one-line reason */
    static const char *refused[] = {"bad host.example", "a..example", "bad\nhost", "", "*.example.com"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        err[0] = '\0';
        X509 *c = ca_mint_leaf(ca, refused[i], err, sizeof err);
        ok(!c && err[0] && !strchr(err, '\n'), "refused with a one-line reason: %s", err);
        X509_free(c);
    }
    struct { const char *host, *why; } toolong[] = {{l255, "63"}, {n254, "253"}, {n255, "253"}};
    for (size_t i = 0; i < 3; i++) {
        err[0] = '\0';
        X509 *c = ca_mint_leaf(ca, toolong[i].host, err, sizeof err);
        ok(!c && strstr(err, toolong[i].why), "%zu-byte name refused: %s", strlen(toolong[i].host), err);
        X509_free(c);
    }

    /* serials: unique, positive, using the whole width */
    int maxbits = 0, dup = 0, badsn = 0;
    ASN1_INTEGER *seen[64];
    for (int i = 0; i < 64; i++) {
        X509 *c = ca_mint_leaf(ca, "serial.example.com", err, sizeof err);
        seen[i] = c ? ASN1_INTEGER_dup(X509_get0_serialNumber(c)) : NULL;
        BIGNUM *bn = seen[i] ? ASN1_INTEGER_to_BN(seen[i], NULL) : NULL;
        if (!bn || BN_is_negative(bn) || BN_is_zero(bn) || BN_num_bits(bn) > 127)
            badsn++;
        if (bn && BN_num_bits(bn) > maxbits)
            maxbits = BN_num_bits(bn);
        for (int j = 0; j < i; j++)
            if (seen[i] && seen[j] && !ASN1_INTEGER_cmp(seen[i], seen[j]))
                dup++;
        BN_free(bn);
        X509_free(c);
    }
    ok(!badsn && !dup && maxbits >= 124, "64 serials: positive, distinct, up to %d bits", maxbits);
    for (int i = 0; i < 64; i++)
        ASN1_INTEGER_free(seen[i]);

    /* the one-off path and an RSA leaf key (keyEncipherment joins digitalSignature) */
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    X509 *r = rsa ? mint_leaf(cac, ca_key(ca), rsa, "rsa.example.com", err, sizeof err) : NULL;
    ok(r && verify(cac, r, "rsa.example.com", 0) && EVP_PKEY_eq(X509_get0_pubkey(r), rsa) == 1 &&
           X509_get_key_usage(r) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) && ext_critical(r, NID_key_usage),
       "RSA leaf key: keyUsage digitalSignature + keyEncipherment, critical; verifies");
    X509_free(r);
    EVP_PKEY_free(rsa);
    r = mint_leaf(cac, ca_key(ca), ca_leaf_key(ca), "Slow.Example.com", err, sizeof err);
    ok(r && verify(cac, r, "slow.example.com", 0) &&
           !leaf_rules(cac, ca_leaf_key(ca), r, "slow.example.com", "DNS:slow.example.com"),
       "mint_leaf (one-off path) follows the same rules");
    X509_free(r);

    /* A leaf comes with its x509v3 extension cache filled (on the mint thread for a new host,
     * not in the worker's first handshake): flags read after a later change to the certificate
     * are still those of the leaf as minted (a second basicConstraints would make them
     * EXFLAG_INVALID if they were worked out only now). */
    X509 *kinds[2] = {ca_mint_leaf_signed(ca, "flags.example.com", err, sizeof err),
                      ca_mint_leaf(ca, "flags2.example.com", err, sizeof err)};
    for (int i = 0; i < 2; i++) {
        X509_EXTENSION *dup = kinds[i] ? X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
                                                             "critical,CA:TRUE") : NULL;
        ok(dup && X509_add_ext(kinds[i], dup, -1) == 1 &&
               !(X509_get_extension_flags(kinds[i]) & (EXFLAG_INVALID | EXFLAG_CA)),
           "%s leaf: its extension flags were worked out when it was minted",
           i ? "read-back" : "as-signed");
        X509_EXTENSION_free(dup);
        X509_free(kinds[i]);
    }

    /* leaves of the never-trusted CA fail against the real one, and only there */
    struct ca *untrusted = ca_new_untrusted("httpeek UNTRUSTED test", err, sizeof err);
    X509 *u = untrusted ? ca_mint_leaf(untrusted, "api.example.com", err, sizeof err) : NULL;
    ok(u && !verify(cac, u, "api.example.com", 0) && verify(ca_cert(untrusted), u, "api.example.com", 0) &&
           strcmp(ca_fingerprint(untrusted), ca_fingerprint(ca)),
       "untrusted CA: its leaves verify only against itself");
    X509_free(u);
    ca_free(untrusted);

    /* cost of one mint (CPU time; benchmarks, not this test, hold the limit) */
    double t0 = cpu_us();
    for (int i = 0; i < 1000; i++)
        X509_free(ca_mint_leaf(ca, "bench.example.com", err, sizeof err));
    double fast = (cpu_us() - t0) / 1000;
    t0 = cpu_us();
    for (int i = 0; i < 50; i++)
        X509_free(mint_leaf(cac, ca_key(ca), ca_leaf_key(ca), "bench.example.com", err, sizeof err));
    printf("# mint: %.1f us of CPU per leaf (1000 x ca_mint_leaf); one-off mint_leaf %.1f us\n", fast,
           (cpu_us() - t0) / 50);
}

/* Whether a and b have the same DER. */
static int same_der(X509 *a, X509 *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_X509(a, &da), lb = i2d_X509(b, &db);
    int same = la > 0 && la == lb && !memcmp(da, db, (size_t)la);
    OPENSSL_free(da);
    OPENSSL_free(db);
    return same;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Leaves minted ahead on the cache's mint thread, and read back once given out twice. */
static void test_cache_prefetch(struct ca *ca)
{
    char err[256];
    struct leafcache *lc = leafcache_new(ca, 64);
    leafcache_prefetch(lc, "Pre.Example.com");
    for (int i = 0; i < 300 && leafcache_size(lc) == 0; i++)
        sleep_ms(10);
    is_int((long long)leafcache_size(lc), 1, "a prefetched leaf is minted on the mint thread");
    leafcache_prefetch(lc, "pre.example.com");
    int m = -1;
    X509 *a = leafcache_get(lc, "pre.example.com", &m, err, sizeof err);
    ok(a && m == 0 && verify(ca_cert(ca), a, "pre.example.com", 0) && leafcache_size(lc) == 1,
       "a prefetched leaf is given out without minting again, and verifies");

    /* given out a second time: the mint thread replaces it by its read-back form (same DER) */
    X509 *b = leafcache_get(lc, "pre.example.com", &m, err, sizeof err);
    X509 *c = NULL;
    for (int i = 0; i < 300; i++) {
        X509_free(c);
        c = leafcache_get(lc, "pre.example.com", NULL, err, sizeof err);
        if (c != b)
            break;
        sleep_ms(10);
    }
    ok(a == b && c && c != b && same_der(c, b) && verify(ca_cert(ca), c, "pre.example.com", 0),
       "a leaf given out twice is replaced in the cache by its read-back form: same DER");
    ok(verify(ca_cert(ca), b, "pre.example.com", 0), "the form replaced stays valid for its holders");
    X509_free(a);
    X509_free(b);
    X509_free(c);

    /* asked for at once after the prefetch: waits for that mint or mints itself, never twice in
     * the cache, always a good leaf */
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        char h[32];
        snprintf(h, sizeof h, "race%d.example.com", i);
        leafcache_prefetch(lc, h);
        X509 *r = leafcache_get(lc, h, NULL, err, sizeof err);
        bad += !r || X509_check_host(r, h, 0, 0, NULL) != 1;
        X509_free(r);
    }
    ok(!bad && leafcache_size(lc) == 21, "prefetch then get at once: 20 good leaves, one each");
    X509 *none = NULL;
    leafcache_prefetch(lc, "no such..host");
    err[0] = '\0';
    none = leafcache_get(lc, "no such..host", &m, err, sizeof err);
    ok(!none && err[0], "an unmintable prefetched host: get still says why");
    /* freed with prefetches still queued: the thread is joined, nothing leaks (ASan) */
    for (int i = 0; i < 10; i++) {
        char h[32];
        snprintf(h, sizeof h, "late%d.example.com", i);
        leafcache_prefetch(lc, h);
    }
    leafcache_free(lc);
    ok(1, "freed with prefetches queued");
}

static struct leafcache *shared;
static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char host[64], err[256];
    long bad = 0;
    for (int i = 0; i < 3000; i++) {
        int n = (int)(rand_r(&seed) % 40);
        snprintf(host, sizeof host, (i & 1) ? "H%d.Example.com" : "h%d.example.com", n);
        X509 *c = leafcache_get(shared, host, NULL, err, sizeof err);
        if (!c || X509_check_host(c, host, 0, 0, NULL) != 1)
            bad++;
        X509_free(c);
    }
    return (void *)bad;
}

/* Every error OpenSSL's verification finds for leaf under ca (a callback that goes on after each
 * one), as a sorted list "10,62" ("" when it verifies); host checked when not NULL. */
static int collect_cb(int ok_, X509_STORE_CTX *ctx)
{
    if (!ok_) {
        char *list = X509_STORE_CTX_get_app_data(ctx);
        size_t n = strlen(list);
        snprintf(list + n, 128 - n, "%s%d", n ? "," : "", X509_STORE_CTX_get_error(ctx));
    }
    return 1;
}

static const char *verify_errors(X509 *ca, X509 *leaf, const char *host)
{
    static char list[128];
    list[0] = '\0';
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, ca);
    X509_STORE_set_verify_cb(st, collect_cb);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_STORE_CTX_set_app_data(ctx, list);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
    if (host)
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
    X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return list;
}

static int same_time(const ASN1_TIME *t, time_t want)
{
    int days = -1, secs = -1;
    ASN1_TIME *w = ASN1_TIME_set(NULL, want);
    int ok_ = w && ASN1_TIME_diff(&days, &secs, t, w) && days == 0 && secs == 0;
    ASN1_TIME_free(w);
    return ok_;
}

/* Leaves from a mint_spec (mirroring a server certificate's defect): each fails OpenSSL's own
 * verification against the CA for exactly the defect copied, and for nothing else. */
static void test_spec_leaves(struct ca *ca)
{
    char err[256];
    X509 *cac = ca_cert(ca);
    const time_t jan2020 = 1577836800, feb2020 = 1580515200, y2040 = 2208988800, y2041 = 2240611200;
    struct mint_spec expired = {.not_before = jan2020, .not_after = feb2020};
    X509 *e = ca_mint_leaf_spec(ca, "upstream.test", &expired, err, sizeof err);
    ok(e && !strcmp(verify_errors(cac, e, "upstream.test"), "10"),
       "expired spec: verifies but for 'certificate has expired' (errors: %s)", e ? verify_errors(cac, e, "upstream.test") : err);
    ok(e && same_time(X509_get0_notBefore(e), jan2020) && same_time(X509_get0_notAfter(e), feb2020),
       "expired spec: notBefore and notAfter exactly as given");
    char esan[128] = "";
    if (e)
        san_text(e, esan, sizeof esan);
    ok(e && X509_verify(e, X509_get0_pubkey(cac)) == 1 && !strcmp(esan, "DNS:upstream.test") &&
           X509_get_ext_count(e) == 6,
       "expired spec: signed by the CA, for the host, the usual extensions");
    X509_free(e);

    struct mint_spec future = {.not_before = y2040, .not_after = y2041};
    X509 *fu = ca_mint_leaf_spec(ca, "upstream.test", &future, err, sizeof err);
    ok(fu && !strcmp(verify_errors(cac, fu, "upstream.test"), "9"),
       "not-yet-valid spec: verifies but for 'certificate is not yet valid' (errors: %s)",
       fu ? verify_errors(cac, fu, "upstream.test") : err);
    X509_free(fu);

    const char *names[] = {"wrong.test", "*.alias.test", "127.0.0.1", "Not A Name", "::1"};
    struct mint_spec named = {.names = names, .nnames = 5};
    X509 *n = ca_mint_leaf_spec(ca, "upstream.test", &named, err, sizeof err);
    char san[256] = "", cn[80] = "";
    if (n) {
        san_text(n, san, sizeof san);
        name_entry(X509_get_subject_name(n), NID_commonName, cn, sizeof cn);
    }
    ok(n && !strcmp(san, "DNS:wrong.test,DNS:*.alias.test,IP:127.0.0.1,IP:::1") && !strcmp(cn, "wrong.test"),
       "names spec: exactly the names given as SANs, wildcard kept, non-names dropped, CN the first (%s; %s)", san, cn);
    ok(n && !strcmp(verify_errors(cac, n, NULL), ""), "names spec: the chain and dates verify");
    ok(n && !strcmp(verify_errors(cac, n, "upstream.test"), "62") &&
           X509_check_host(n, "upstream.test", 0, 0, NULL) != 1,
       "names spec: fails only the host check for the requested name (errors: %s)",
       n ? verify_errors(cac, n, "upstream.test") : err);
    ok(n && X509_check_host(n, "wrong.test", 0, 0, NULL) == 1 &&
           X509_check_host(n, "a.alias.test", 0, 0, NULL) == 1 && X509_check_ip_asc(n, "127.0.0.1", 0) == 1,
       "names spec: valid for the names it copied");
    X509_free(n);

    struct mint_spec both = {.not_before = jan2020, .not_after = feb2020, .names = names, .nnames = 1};
    X509 *b = ca_mint_leaf_spec(ca, "upstream.test", &both, err, sizeof err);
    ok(b && !strcmp(verify_errors(cac, b, "upstream.test"), "62,10"),
       "names and dates spec: fails the host check and the date, nothing else (errors: %s)",
       b ? verify_errors(cac, b, "upstream.test") : err);
    X509_free(b);

    const char *cn_only[] = {"My Server"};
    struct mint_spec odd = {.names = cn_only, .nnames = 1};
    X509 *o = ca_mint_leaf_spec(ca, "upstream.test", &odd, err, sizeof err);
    cn[0] = '\0';
    if (o)
        name_entry(X509_get_subject_name(o), NID_commonName, cn, sizeof cn);
    ok(o && X509_get_ext_by_NID(o, NID_subject_alt_name, -1) < 0 && !strcmp(cn, "My Server") &&
           X509_check_host(o, "upstream.test", 0, 0, NULL) != 1,
       "a name that cannot be a SAN: CN only, no subjectAltName, valid for no host");
    X509_free(o);
    struct mint_spec none = {.names = names, .nnames = 0};
    o = ca_mint_leaf_spec(ca, "upstream.test", &none, err, sizeof err);
    ok(o && X509_get_ext_by_NID(o, NID_subject_alt_name, -1) < 0 &&
           X509_check_host(o, "upstream.test", 0, 0, NULL) != 1,
       "no names at all: no subjectAltName, valid for no host");
    X509_free(o);
}

static void test_cache(struct ca *ca)
{
    char err[256];
    struct leafcache *lc = leafcache_new(ca, 3);
    int m1 = -1, m2 = -1;
    X509 *a = leafcache_get(lc, "Cache.Example.com", &m1, err, sizeof err);
    X509 *b = leafcache_get(lc, "cache.EXAMPLE.com", &m2, err, sizeof err);
    ok(a && a == b && m1 == 1 && m2 == 0, "same host in any case: minted once, same certificate");
    ok(a && verify(ca_cert(ca), a, "cache.example.com", 0), "cached leaf verifies");
    X509_free(b);

    /* LRU: touch A, then a fourth host evicts B (least recently used), not A */
    X509_free(leafcache_get(lc, "b.example.com", NULL, err, sizeof err));
    X509_free(leafcache_get(lc, "c.example.com", NULL, err, sizeof err));
    X509_free(leafcache_get(lc, "cache.example.com", &m1, err, sizeof err));
    X509_free(leafcache_get(lc, "d.example.com", NULL, err, sizeof err));
    is_int((long long)leafcache_size(lc), 3, "cache holds its capacity, no more");
    X509_free(leafcache_get(lc, "cache.example.com", &m1, err, sizeof err));
    X509_free(leafcache_get(lc, "b.example.com", &m2, err, sizeof err));
    ok(m1 == 0 && m2 == 1, "the least recently used host was evicted, the recently used one kept");

    /* a leaf evicted while a caller holds it stays valid for that caller */
    for (int i = 0; i < 10; i++) {
        char h[32];
        snprintf(h, sizeof h, "e%d.example.com", i);
        X509_free(leafcache_get(lc, h, NULL, err, sizeof err));
    }
    is_int((long long)leafcache_size(lc), 3, "after 10 more hosts: still 3");
    ok(X509_check_host(a, "cache.example.com", 0, 0, NULL) == 1 && verify(ca_cert(ca), a, "cache.example.com", 0),
       "an evicted leaf still held by a caller stays valid");
    X509_free(a);

    err[0] = '\0';
    X509 *bad = leafcache_get(lc, "no such..host", &m1, err, sizeof err);
    ok(!bad && err[0] && m1 == 0 && leafcache_size(lc) == 3, "unmintable host: NULL with a reason, cache unchanged");
    char longhost[400];
    memset(longhost, 'a', sizeof longhost - 1);
    longhost[sizeof longhost - 1] = '\0';
    bad = leafcache_get(lc, longhost, NULL, err, sizeof err);
    ok(!bad && err[0], "a 399-byte host: NULL with a reason");
    leafcache_free(lc);

    shared = leafcache_new(ca, 16);
    pthread_t th[2];
    void *r[2] = {(void *)1, (void *)1};
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, hammer, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], &r[i]);
    ok(!r[0] && !r[1] && leafcache_size(shared) == 16,
       "2 threads x 3000 gets of 40 hosts through a 16-leaf cache: every leaf is for its host (%ld, %ld bad)",
       (long)(intptr_t)r[0], (long)(intptr_t)r[1]);
    leafcache_free(shared);
}

int main(void)
{
    char dir[] = "/tmp/httpeek-test-ca.XXXXXX", conf[256], err[512];
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(conf, sizeof conf, "%s/conf", dir);
    mode_t old = umask(0); /* the modes must come from the code, not from a friendly umask */
    struct ca *ca = ca_load_or_create(conf, err, sizeof err);
    umask(old);
    if (!ca) {
        printf("Bail out! cannot create the CA: %s\n", err);
        return 1;
    }
    test_files(dir, conf, ca);
    test_san_names();
    test_leaves(ca);
    test_spec_leaves(ca);
    test_cache(ca);
    test_cache_prefetch(ca);
    ca_free(ca);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
