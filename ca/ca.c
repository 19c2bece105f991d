/* ca.c — httpeek's certificate authority: created once per confdir, loaded on every later run.
 *
 * The CA key is ECDSA P-256: signing a leaf costs tens of microseconds (an RSA-2048 CA would
 * cost about a millisecond per new host), and iOS 13+ / Android 7+ accept P-256 roots. The key
 * file is created with O_EXCL and mode 0600 before any byte is written, so it is never readable
 * by others, not even briefly. A file that exists but cannot be read or parsed is an error
 * naming it: silently making a new CA would break every device that trusts the old one. */
#include "ca.h"
#include "mint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* Validity of the CA certificate (days). */
#define CA_VALIDITY_DAYS (10 * 365)

struct ca {
    X509 *cert;                 /* the CA certificate */
    EVP_PKEY *key;              /* its private key */
    EVP_PKEY *leaf_key;         /* the one key every leaf of this process carries */
    struct mint_ctx *minter;    /* what every leaf shares, computed once (see mint.h) */
    int created;                /* this run wrote the files */
    char pem_path[4096];        /* confdir/ca-cert.pem, or "(memory)" */
    char fingerprint[3 * 32];   /* SHA-256, "AB:CD:..." */
};

/* PEM password callback: an encrypted key is refused instead of OpenSSL prompting on the tty. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static void ossl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
}

static int random_serial(X509 *cert)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[0] &= 0x7f; /* positive */
    b[sizeof b - 1] |= 0x01; /* and never zero */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static X509 *make_ca_cert(EVP_PKEY *key, const char *subject_cn)
{
    X509 *c = X509_new();
    if (!c)
        return NULL;
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    char cn[320];
    if (subject_cn)
        snprintf(cn, sizeof cn, "%.300s", subject_cn);
    else
        snprintf(cn, sizeof cn, "httpeek CA (%.200s)", host);
    X509_NAME *name = X509_get_subject_name(c);
    if (X509_set_version(c, 2) != 1 || random_serial(c) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -2L * 86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), (long)CA_VALIDITY_DAYS * 86400) ||
        X509_set_pubkey(c, key) != 1 ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"httpeek", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                                    (const unsigned char *)"local debugging proxy; remove when done", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
        X509_set_issuer_name(c, name) != 1 ||
        mint_add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        mint_add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        mint_add_ext(c, c, NID_subject_key_identifier, "hash") < 0 ||
        mint_add_ext(c, c, NID_authority_key_identifier, "keyid:always") < 0 ||
        X509_sign(c, key, EVP_sha256()) <= 0) {
        X509_free(c);
        return NULL;
    }
    return c;
}

/* Write data to path, created exclusively with mode. */
static int write_new_file(const char *path, mode_t mode, const void *data, size_t len, char *err,
                          size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

static int write_der(const char *path, X509 *cert, char *err, size_t errlen)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    if (len <= 0) {
        snprintf(err, errlen, "%s: cannot encode the CA certificate", path);
        return -1;
    }
    int rc = write_new_file(path, 0644, der, (size_t)len, err, errlen);
    OPENSSL_free(der);
    return rc;
}

static int bio_to_file(const char *path, mode_t mode, BIO *b, char *err, size_t errlen)
{
    char *data;
    long len = BIO_get_mem_data(b, &data);
    return write_new_file(path, mode, data, (size_t)len, err, errlen);
}

static int create_files(struct ca *ca, const char *key_path, const char *cer_path, char *err,
                        size_t errlen)
{
    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!ca->key || !(ca->cert = make_ca_cert(ca->key, NULL))) {
        char why[160];
        ossl_reason(why, sizeof why);
        snprintf(err, errlen, "cannot create the CA: %s", why);
        return -1;
    }
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!kb || !cb || PEM_write_bio_PrivateKey(kb, ca->key, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_X509(cb, ca->cert) != 1) {
        snprintf(err, errlen, "cannot encode the new CA");
    } else if (bio_to_file(key_path, 0600, kb, err, errlen) == 0) {
        /* the key first: a certificate without its key would be an unusable CA. On a later
         * failure remove what this run wrote, so the next run starts clean instead of finding
         * half a CA. */
        if (bio_to_file(ca->pem_path, 0644, cb, err, errlen) < 0) {
            unlink(key_path);
        } else if (write_der(cer_path, ca->cert, err, errlen) < 0) {
            unlink(ca->pem_path);
            unlink(key_path);
        } else {
            rc = 0;
        }
    }
    BIO_free(kb);
    BIO_free(cb);
    if (rc == 0)
        ca->created = 1;
    return rc;
}

/* ca-cert.cer is derived from ca-cert.pem: rewrite it when missing (an older run, or a user who
 * deleted it), but refuse one that holds another certificate, since phones would install the
 * wrong CA from it. */
static int check_der(const char *cer_path, X509 *cert, char *err, size_t errlen)
{
    FILE *f = fopen(cer_path, "rb");
    if (!f && errno == ENOENT)
        return write_der(cer_path, cert, err, errlen);
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", cer_path, strerror(errno));
        return -1;
    }
    X509 *der = d2i_X509_fp(f, NULL);
    fclose(f);
    int same = der && X509_cmp(der, cert) == 0;
    X509_free(der);
    ERR_clear_error();
    if (!same) {
        snprintf(err, errlen, "%s: does not hold the certificate of ca-cert.pem (delete it to have it "
                 "rewritten)", cer_path);
        return -1;
    }
    return 0;
}

static int load_files(struct ca *ca, const char *key_path, const char *cer_path, char *err,
                      size_t errlen)
{
    FILE *f = fopen(ca->pem_path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", ca->pem_path, strerror(errno));
        return -1;
    }
    ca->cert = PEM_read_X509(f, NULL, no_password, NULL);
    fclose(f);
    if (!ca->cert) {
        snprintf(err, errlen, "%s: not a PEM certificate (corrupt? move it away to create a new CA)",
                 ca->pem_path);
        ERR_clear_error();
        return -1;
    }
    f = fopen(key_path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", key_path, strerror(errno));
        return -1;
    }
    ca->key = PEM_read_PrivateKey(f, NULL, no_password, NULL);
    fclose(f);
    if (!ca->key) {
        snprintf(err, errlen, "%s: not an unencrypted PEM private key (corrupt? move the CA files away "
                 "to create a new CA)", key_path);
        ERR_clear_error();
        return -1;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        snprintf(err, errlen, "%s: key does not match %s", key_path, ca->pem_path);
        ERR_clear_error();
        return -1;
    }
    if (X509_check_ca(ca->cert) < 1) {
        snprintf(err, errlen, "%s: not a CA certificate (no basicConstraints CA:TRUE)", ca->pem_path);
        return -1;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) < 0) {
        /* every leaf would fail: say so now rather than at each handshake */
        snprintf(err, errlen, "%s: the CA certificate has expired (move the CA files away to create "
                 "a new CA)", ca->pem_path);
        return -1;
    }
    struct stat st;
    if (stat(key_path, &st) == 0 && (st.st_mode & 077))
        chmod(key_path, 0600); /* someone loosened it: the key must stay private */
    return check_der(cer_path, ca->cert, err, errlen);
}

/* What both kinds of CA need once cert and key are there: the leaf key, the minting context and
 * the fingerprint. */
static int finish(struct ca *ca, char *err, size_t errlen)
{
    if (!(ca->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
        snprintf(err, errlen, "cannot create the leaf key");
        ERR_clear_error();
        return -1;
    }
    if (!(ca->minter = mint_ctx_new(ca->cert, ca->key, ca->leaf_key, err, errlen)))
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (X509_digest(ca->cert, EVP_sha256(), md, &mdlen) != 1) {
        snprintf(err, errlen, "cannot hash the CA certificate");
        ERR_clear_error();
        return -1;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(ca->fingerprint + 3 * i, 4, i + 1 < mdlen ? "%02X:" : "%02X", md[i]);
    return 0;
}

/* mkdir -p with mode 0700 for every directory it creates (--confdir /new/path works as users
 * expect; what it creates holds the CA key, so nobody else may list it). 0, or -1 with errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = c;
        if (!c)
            return 0;
    }
}

struct ca *ca_load_or_create(const char *confdir, char *err, size_t errlen)
{
    struct ca *ca = calloc(1, sizeof *ca);
    if (!ca) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (make_dirs(confdir) < 0) {
        snprintf(err, errlen, "%s: cannot create directory: %s", confdir, strerror(errno));
        free(ca);
        return NULL;
    }
    char key_path[4096], cer_path[4096];
    snprintf(ca->pem_path, sizeof ca->pem_path, "%s/ca-cert.pem", confdir);
    snprintf(key_path, sizeof key_path, "%s/ca-key.pem", confdir);
    snprintf(cer_path, sizeof cer_path, "%s/ca-cert.cer", confdir);
    int have_cert = access(ca->pem_path, F_OK) == 0, have_key = access(key_path, F_OK) == 0;
    int rc;
    if (!have_cert && !have_key)
        rc = create_files(ca, key_path, cer_path, err, errlen);
    else if (have_cert != have_key) {
        snprintf(err, errlen, "%s: missing while %s exists (move the other away to create a new CA)",
                 have_cert ? key_path : ca->pem_path, have_cert ? ca->pem_path : key_path);
        rc = -1;
    } else
        rc = load_files(ca, key_path, cer_path, err, errlen);
    if (rc < 0 || finish(ca, err, errlen) < 0) {
        ca_free(ca);
        return NULL;
    }
    return ca;
}

struct ca *ca_new_untrusted(const char *subject_cn, char *err, size_t errlen)
{
    struct ca *ca = calloc(1, sizeof *ca);
    if (!ca || !(ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ||
        !(ca->cert = make_ca_cert(ca->key, subject_cn))) {
        snprintf(err, errlen, "cannot create the untrusted CA");
        ERR_clear_error();
        ca_free(ca);
        return NULL;
    }
    snprintf(ca->pem_path, sizeof ca->pem_path, "(memory)");
    if (finish(ca, err, errlen) < 0) {
        ca_free(ca);
        return NULL;
    }
    return ca;
}

void ca_free(struct ca *ca)
{
    if (!ca)
        return;
    mint_ctx_free(ca->minter); /* borrows cert and key: goes first */
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    EVP_PKEY_free(ca->leaf_key);
    free(ca);
}

X509 *ca_cert(const struct ca *ca) { return ca->cert; }
EVP_PKEY *ca_key(const struct ca *ca) { return ca->key; }
EVP_PKEY *ca_leaf_key(const struct ca *ca) { return ca->leaf_key; }

int ca_use_rsa_leaves(struct ca *ca, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!key) {
        snprintf(err, errlen, "cannot create an RSA-2048 leaf key");
        ERR_clear_error();
        return -1;
    }
    struct mint_ctx *minter = mint_ctx_new(ca->cert, ca->key, key, err, errlen);
    if (!minter) {
        EVP_PKEY_free(key);
        return -1;
    }
    mint_ctx_free(ca->minter);
    EVP_PKEY_free(ca->leaf_key);
    ca->leaf_key = key;
    ca->minter = minter;
    return 0;
}
int ca_was_created(const struct ca *ca) { return ca->created; }
const char *ca_cert_pem_path(const struct ca *ca) { return ca->pem_path; }
const char *ca_fingerprint(const struct ca *ca) { return ca->fingerprint; }

X509 *ca_mint_leaf(const struct ca *ca, const char *host, char *err, size_t errlen)
{
    return mint_ctx_leaf(ca->minter, host, err, errlen);
}

X509 *ca_mint_leaf_signed(const struct ca *ca, const char *host, char *err, size_t errlen)
{
    return mint_ctx_leaf_signed(ca->minter, host, err, errlen);
}

X509 *ca_mint_leaf_spec(const struct ca *ca, const char *host, const struct mint_spec *spec,
                        char *err, size_t errlen)
{
    return mint_ctx_leaf_spec(ca->minter, host, spec, err, errlen);
}
