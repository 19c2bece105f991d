/* test_client_cert.c — --client-cert values taken apart, identities loaded from real PEM files
 * (made here with OpenSSL), checked (a key of another certificate is refused, naming the file),
 * and matched to upstream hosts: first matching glob wins, ports count, no match is NULL. */
#include "../../src/client_cert.c"

#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "tap.h"

static char dir[] = "/tmp/test_client_cert.XXXXXX";

/* A self-signed certificate for cn with a new P-256 key, written to DIR/name.pem and .key. */
static void make_cert(const char *name, const char *cn)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_sign(x, key, EVP_sha256());
    char path[256];
    snprintf(path, sizeof path, "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    f = fopen(path, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

int main(void)
{
    struct client_cert_spec s;
    char err[512];
    ok(client_cert_parse_spec("*.example.com=/a/cert.pem", &s, err, sizeof err) == 0 &&
           !strcmp(s.glob, "*.example.com") && !strcmp(s.cert, "/a/cert.pem") && !s.key[0],
       "GLOB=CERT: glob and certificate, no key file");
    ok(client_cert_parse_spec("api.test:8443=c.pem,k.pem", &s, err, sizeof err) == 0 &&
           !strcmp(s.glob, "api.test:8443") && !strcmp(s.cert, "c.pem") && !strcmp(s.key, "k.pem"),
       "GLOB:PORT=CERT,KEY: the key after the comma");
    ok(client_cert_parse_spec("h=dir,x/c.pem,k.pem", &s, err, sizeof err) == 0 &&
           !strcmp(s.cert, "dir,x/c.pem") && !strcmp(s.key, "k.pem"),
       "a comma in the certificate's path: the key is after the last one");
    const char *bad[] = {"api.test", "=c.pem", "api.test=", "api.test=c.pem,", "a/b=c.pem", "h=,k.pem"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        ok(client_cert_parse_spec(bad[i], &s, err, sizeof err) < 0 && strstr(err, "--client-cert"),
           "malformed '%s' refused with a reason (%s)", bad[i], err);
    }

    if (!mkdtemp(dir))
        return 1;
    make_cert("one", "first user");
    make_cert("two", "second user");
    char one[300], two[300], mismatch[300], missing[300];
    snprintf(one, sizeof one, "api.test=%s/one.pem,%s/one.key", dir, dir);
    snprintf(two, sizeof two, "*.test=%s/two.pem,%s/two.key", dir, dir);
    snprintf(mismatch, sizeof mismatch, "api.test=%s/one.pem,%s/two.key", dir, dir);
    snprintf(missing, sizeof missing, "api.test=%s/nope.pem", dir);

    const char *specs[] = {one, two};
    struct client_certs *cc = client_certs_load(specs, 2, NULL, 0, err, sizeof err);
    ok(cc && cc->n == 2, "two identities loaded (%s)", cc ? "" : err);
    if (cc) {
        is_str(cc->id[0].subject, "CN=first user", "the subject of the first, RFC 2253");
        const struct client_identity *id = client_certs_match(cc, "api.test", 443);
        ok(id && id->number == 1, "api.test matches both globs: the first wins");
        id = client_certs_match(cc, "www.test", 443);
        ok(id && id->number == 2, "www.test: the second (*.test)");
        id = client_certs_match(cc, "API.TEST", 8443);
        ok(id && id->number == 1, "host case does not matter");
        ok(client_certs_match(cc, "api.example", 443) == NULL, "no glob matches: NULL (nothing sent)");
        client_certs_free(cc);
    }
    char port_only[300];
    snprintf(port_only, sizeof port_only, "api.test:8443=%s/one.pem,%s/one.key", dir, dir);
    const char *ps[] = {port_only};
    cc = client_certs_load(ps, 1, NULL, 0, err, sizeof err);
    ok(cc && client_certs_match(cc, "api.test", 8443) && !client_certs_match(cc, "api.test", 443),
       "a glob with a port matches that port only");
    client_certs_free(cc);

    const char *ms[] = {mismatch};
    err[0] = '\0';
    ok(!client_certs_load(ms, 1, NULL, 0, err, sizeof err) && strstr(err, "two.key: the key does not belong"),
       "a key of another certificate: refused, naming the key file (%s)", err);
    const char *ns[] = {missing};
    ok(!client_certs_load(ns, 1, NULL, 0, err, sizeof err) && strstr(err, "nope.pem: No such file"),
       "a missing certificate file: refused, naming it (%s)", err);
    ok(client_certs_match(NULL, "api.test", 443) == NULL, "no identities at all: NULL");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
