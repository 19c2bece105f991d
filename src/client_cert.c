/* client_cert.c — see client_cert.h. Every failure names the file and says what to do; nothing
 * here runs after start-up. */
#include "client_cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include "rules.h"

/* Certificate and key files are small; anything bigger is not one. */
#define CLIENT_CERT_FILE_MAX (1024 * 1024)

int client_cert_parse_spec(const char *arg, struct client_cert_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        snprintf(err, errlen, "--client-cert: expected HOSTGLOB=CERT.pem[,KEY.pem], got '%s'", arg);
        return -1;
    }
    size_t gl = (size_t)(eq - arg);
    if (gl >= sizeof out->glob || memchr(arg, '/', gl)) {
        snprintf(err, errlen, "--client-cert: expected a host glob like *.example.com before '=', "
                 "got '%.*s'", (int)(gl < 200 ? gl : 200), arg);
        return -1;
    }
    memcpy(out->glob, arg, gl);
    const char *files = eq + 1, *comma = strrchr(files, ',');
    size_t cl = comma ? (size_t)(comma - files) : strlen(files);
    size_t kl = comma ? strlen(comma + 1) : 0;
    if (!cl || (comma && !kl) || cl >= sizeof out->cert || kl >= sizeof out->key) {
        snprintf(err, errlen, "--client-cert: expected HOSTGLOB=CERT.pem[,KEY.pem], got '%s'", arg);
        return -1;
    }
    memcpy(out->cert, files, cl);
    if (comma)
        memcpy(out->key, comma + 1, kl);
    return 0;
}

/* Where passwords come from while loading. */
struct password_source {
    const char *file;     /* --client-cert-password-file, or NULL */
    char from_file[1024]; /* its first line, once read */
    int file_read;
    int interactive;      /* 1: ask on the terminal */
    const char *asking_for; /* the file the password is for (the prompt names it) */
    int needed;           /* set when a password was wanted and none could be had */
    int given;            /* set when one was handed over */
};

static int read_file(const char *path, BIO **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "--client-cert %s: %s", path, strerror(errno));
        return -1;
    }
    BIO *b = BIO_new(BIO_s_mem());
    if (b) /* BIO_reset goes back to the start instead of emptying it: read twice (cert, key) */
        BIO_set_flags(b, BIO_FLAGS_NONCLEAR_RST);
    char buf[8192];
    size_t n, total = 0;
    while (b && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        total += n;
        if (total > CLIENT_CERT_FILE_MAX || BIO_write(b, buf, (int)n) != (int)n) {
            snprintf(err, errlen, "--client-cert %s: too large for a certificate or key", path);
            BIO_free(b);
            fclose(f);
            return -1;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        snprintf(err, errlen, "--client-cert %s: %s", path, b ? "read error" : "out of memory");
        BIO_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

/* The password into buf: the password file's first line, else the terminal. Returns its length,
 * or -1 (and marks it needed) when there is none to be had. */
static int get_password(char *buf, int size, struct password_source *ps)
{
    if (ps->file) {
        if (!ps->file_read) {
            FILE *f = fopen(ps->file, "r");
            if (!f) {
                ps->needed = 1;
                return -1;
            }
            if (!fgets(ps->from_file, sizeof ps->from_file, f))
                ps->from_file[0] = '\0';
            fclose(f);
            ps->from_file[strcspn(ps->from_file, "\r\n")] = '\0';
            ps->file_read = 1;
        }
        int n = (int)strlen(ps->from_file);
        if (n >= size)
            return -1;
        memcpy(buf, ps->from_file, (size_t)n + 1);
        ps->given = 1;
        return n;
    }
    if (!ps->interactive) {
        ps->needed = 1;
        return -1;
    }
    char prompt[CLIENT_CERT_PATH_MAX + 64];
    snprintf(prompt, sizeof prompt, "Password for %s: ", ps->asking_for);
    if (EVP_read_pw_string(buf, size, prompt, 0) != 0) {
        ps->needed = 1;
        return -1;
    }
    ps->given = 1;
    return (int)strlen(buf);
}

static int pem_password(char *buf, int size, int rwflag, void *arg)
{
    (void)rwflag;
    return get_password(buf, size, arg);
}

static void say_password_missing(const char *path, const struct password_source *ps, char *err,
                                 size_t errlen)
{
    if (ps->file)
        snprintf(err, errlen, "--client-cert-password-file %s: cannot read it", ps->file);
    else
        snprintf(err, errlen, "--client-cert %s: it needs a password and there is no terminal to "
                 "ask on: give it with --client-cert-password-file FILE", path);
}

static int load_pkcs12(BIO *b, struct client_identity *id, struct password_source *ps, char *err,
                       size_t errlen)
{
    PKCS12 *p12 = d2i_PKCS12_bio(b, NULL);
    if (!p12) {
        snprintf(err, errlen, "--client-cert %s: neither PEM nor PKCS#12", id->file);
        return -1;
    }
    char pass[1024];
    const char *use = NULL;
    /* a PKCS#12 file without a password needs no prompt */
    if (PKCS12_verify_mac(p12, "", 0) == 1)
        use = "";
    else if (PKCS12_verify_mac(p12, NULL, 0) == 1)
        use = NULL;
    else {
        ps->asking_for = id->file;
        if (get_password(pass, sizeof pass, ps) < 0) {
            say_password_missing(id->file, ps, err, errlen);
            PKCS12_free(p12);
            return -1;
        }
        if (PKCS12_verify_mac(p12, pass, -1) != 1) {
            snprintf(err, errlen, "--client-cert %s: wrong password", id->file);
            OPENSSL_cleanse(pass, sizeof pass);
            PKCS12_free(p12);
            return -1;
        }
        use = pass;
    }
    STACK_OF(X509) *ca = NULL;
    int ok = PKCS12_parse(p12, use, &id->key, &id->cert, &ca);
    OPENSSL_cleanse(pass, sizeof pass);
    PKCS12_free(p12);
    if (!ok || !id->cert || !id->key) {
        snprintf(err, errlen, "--client-cert %s: %s", id->file,
                 ok ? "it holds no certificate with its key" : "cannot read this PKCS#12 file");
        sk_X509_pop_free(ca, X509_free);
        return -1;
    }
    id->chain = ca ? ca : sk_X509_new_null();
    return id->chain ? 0 : -1;
}

/* A PEM file: the certificate first, then maybe its chain (and maybe the key, anywhere). */
static int load_pem_certs(BIO *b, struct client_identity *id, char *err, size_t errlen)
{
    id->cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (!id->cert) {
        snprintf(err, errlen, "--client-cert %s: no certificate in it (PEM or PKCS#12 expected)",
                 id->file);
        return -1;
    }
    if (!(id->chain = sk_X509_new_null()))
        return -1;
    X509 *more;
    while ((more = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (!sk_X509_push(id->chain, more)) {
            X509_free(more);
            return -1;
        }
    ERR_clear_error(); /* the end of the file */
    return 0;
}

static int load_pem_key(BIO *b, const char *path, struct client_identity *id,
                        struct password_source *ps, char *err, size_t errlen)
{
    ps->asking_for = path;
    ps->needed = ps->given = 0;
    (void)BIO_reset(b);
    id->key = PEM_read_bio_PrivateKey(b, NULL, pem_password, ps);
    if (id->key)
        return 0;
    if (ps->needed)
        say_password_missing(path, ps, err, errlen);
    else if (ps->given)
        snprintf(err, errlen, "--client-cert %s: wrong password for its key", path);
    else if (!strcmp(path, id->file))
        snprintf(err, errlen, "--client-cert %s: no private key in it: give the key file too "
                 "(HOSTGLOB=CERT.pem,KEY.pem)", path);
    else
        snprintf(err, errlen, "--client-cert %s: no private key in it", path);
    return -1;
}

static int load_one(const struct client_cert_spec *spec, struct client_identity *id,
                    struct password_source *ps, char *err, size_t errlen)
{
    snprintf(id->glob, sizeof id->glob, "%s", spec->glob);
    snprintf(id->file, sizeof id->file, "%s", spec->cert);
    BIO *b = NULL;
    if (read_file(spec->cert, &b, err, errlen) < 0)
        return -1;
    char *data;
    long len = BIO_get_mem_data(b, &data);
    int pem = len > 0 && memmem(data, (size_t)len, "-----BEGIN", 10) != NULL;
    int rc;
    if (!pem) {
        if (spec->key[0]) {
            snprintf(err, errlen, "--client-cert %s: a PKCS#12 file holds its own key: give no "
                     "key file", spec->cert);
            BIO_free(b);
            return -1;
        }
        rc = load_pkcs12(b, id, ps, err, errlen);
    } else {
        rc = load_pem_certs(b, id, err, errlen);
        if (rc == 0 && spec->key[0]) {
            BIO_free(b);
            b = NULL;
            rc = read_file(spec->key, &b, err, errlen);
        }
        if (rc == 0)
            rc = load_pem_key(b, spec->key[0] ? spec->key : spec->cert, id, ps, err, errlen);
    }
    BIO_free(b);
    if (rc < 0) {
        if (!err[0])
            snprintf(err, errlen, "--client-cert %s: out of memory", spec->cert);
        ERR_clear_error();
        return -1;
    }
    if (X509_check_private_key(id->cert, id->key) != 1) {
        snprintf(err, errlen, "--client-cert %s: the key does not belong to the certificate in %s",
                 spec->key[0] ? spec->key : spec->cert, spec->cert);
        ERR_clear_error();
        return -1;
    }
    BIO *name = BIO_new(BIO_s_mem());
    if (name) {
        X509_NAME_print_ex(name, X509_get_subject_name(id->cert), 0, XN_FLAG_RFC2253);
        int n = BIO_read(name, id->subject, (int)sizeof id->subject - 1);
        id->subject[n > 0 ? n : 0] = '\0';
        BIO_free(name);
    }
    return 0;
}

struct client_certs *client_certs_load(const char *const *specs, size_t n, const char *password_file,
                                       int interactive, char *err, size_t errlen)
{
    struct client_certs *cc = calloc(1, sizeof *cc);
    if (!cc || (n && !(cc->id = calloc(n, sizeof *cc->id)))) {
        free(cc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct password_source ps = {.file = password_file, .interactive = interactive};
    for (size_t i = 0; i < n; i++) {
        struct client_cert_spec spec;
        err[0] = '\0';
        if (client_cert_parse_spec(specs[i], &spec, err, errlen) < 0 ||
            load_one(&spec, &cc->id[i], &ps, err, errlen) < 0) {
            cc->n = i + 1;
            client_certs_free(cc);
            OPENSSL_cleanse(ps.from_file, sizeof ps.from_file);
            return NULL;
        }
        cc->id[i].number = (int)i + 1;
        cc->n = i + 1;
    }
    OPENSSL_cleanse(ps.from_file, sizeof ps.from_file);
    return cc;
}

const struct client_identity *client_certs_match(const struct client_certs *cc, const char *host,
                                                 int port)
{
    for (size_t i = 0; cc && i < cc->n; i++)
        if (rules_glob_match(cc->id[i].glob, host, port))
            return &cc->id[i];
    return NULL;
}

void client_certs_free(struct client_certs *cc)
{
    if (!cc)
        return;
    for (size_t i = 0; i < cc->n; i++) {
        X509_free(cc->id[i].cert);
        EVP_PKEY_free(cc->id[i].key);
        sk_X509_pop_free(cc->id[i].chain, X509_free);
    }
    free(cc->id);
    free(cc);
}
