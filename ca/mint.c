/* mint.c — see mint.h. Called from the SNI path (through leafcache) once per new host, so it must
 * be cheap: everything that does not depend on the host lives in a struct mint_ctx built once per
 * CA, and a mint is then a handful of small allocations plus one ECDSA signature by the CA key
 * (tens of microseconds). All leaves share one process key (ca_leaf_key). */
#include "mint.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* ---- host name → DNS SAN ---- */

/* RFC 3492 §5 parameters. */
enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700, PC_BIAS = 72, PC_N = 128 };

/* RFC 3492 §6.1 bias adaptation. */
static uint32_t adapt(uint32_t delta, uint32_t numpoints, int first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static char digit(uint32_t d) { return (char)(d < 26 ? 'a' + d : '0' + d - 26); }

/* Lower-case the capitals a host name typed by a person is likely to hold. Full UTS #46 mapping
 * (and NFC) would need Unicode tables; browsers and TLS stacks send A-labels anyway, so U-labels
 * only reach us from hand-written CONNECT lines and this covers what those realistically hold. */
static uint32_t fold(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7) /* Latin-1 capitals */
        return c + 32;
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c | 1; /* Latin Extended-A: capital even, small odd */
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return (c & 1) ? c + 1 : c; /* ... here capital odd, small even */
    if (c == 0x178)
        return 0xff;
    if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) /* Greek */
        return c + 32;
    if (c >= 0x410 && c <= 0x42f) /* Cyrillic */
        return c + 32;
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    return c;
}

/* Decode one UTF-8 label into code points; returns the count, -1 for invalid UTF-8 (truncated
 * sequence, overlong form, surrogate, beyond U+10FFFF), -2 for more than max code points. */
static int utf8_decode(const char *s, size_t len, uint32_t *out, int max)
{
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    int n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int extra;
        if (c < 0x80) { cp = c; extra = 0; }
        else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; extra = 1; }
        else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; extra = 2; }
        else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; extra = 3; }
        else return -1;
        if (i + (size_t)extra >= len && extra)
            return -1;
        for (int k = 1; k <= extra; k++) {
            unsigned char cc = (unsigned char)s[i + (size_t)k];
            if ((cc & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        if (n == max)
            return -2;
        out[n++] = cp;
        i += (size_t)extra + 1;
    }
    return n;
}

/* "xn--" + punycode (RFC 3492 §6.3) of the label's code points into out; -1 when it does not fit. */
static int punycode_label(const uint32_t *cp, int n, char *out, size_t outlen)
{
    size_t o = 0;
#define PUT(ch) do { if (o + 1 >= outlen) return -1; out[o++] = (ch); } while (0)
    PUT('x'); PUT('n'); PUT('-'); PUT('-');
    int basic = 0;
    for (int i = 0; i < n; i++)
        if (cp[i] < 0x80) {
            PUT((char)cp[i]);
            basic++;
        }
    if (basic)
        PUT('-');
    uint32_t next = PC_N, delta = 0, bias = PC_BIAS;
    int h = basic;
    while (h < n) {
        uint32_t m = UINT32_MAX;
        for (int i = 0; i < n; i++)
            if (cp[i] >= next && cp[i] < m)
                m = cp[i];
        if ((m - next) > (UINT32_MAX - delta) / (uint32_t)(h + 1))
            return -1; /* overflow: cannot happen for <= 256 code points, checked anyway */
        delta += (m - next) * (uint32_t)(h + 1);
        next = m;
        for (int i = 0; i < n; i++) {
            if (cp[i] < next && ++delta == 0)
                return -1;
            if (cp[i] == next) {
                uint32_t q = delta;
                for (uint32_t k = PC_BASE;; k += PC_BASE) {
                    uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
                    if (q < t)
                        break;
                    PUT(digit(t + (q - t) % (PC_BASE - t)));
                    q = (q - t) / (PC_BASE - t);
                }
                PUT(digit(q));
                bias = adapt(delta, (uint32_t)h + 1, h == basic);
                delta = 0;
                h++;
            }
        }
        delta++;
        next++;
    }
    out[o] = '\0';
#undef PUT
    return 0;
}

/* RFC 952/1123 letters, digits, hyphen, plus '_' (used in real names: SRV-like and service hosts). */
static int host_char(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* mint_san_name with the reason for a refusal: NULL when out holds a usable name. */
static const char *san_name(const char *host, char *out, size_t outlen)
{
    size_t len = strlen(host);
    if (len && host[len - 1] == '.')
        len--; /* one trailing dot: the absolute form of the same name */
    if (len == 0)
        return "empty host name";
    if (outlen < 2)
        return "no room for the name";
    size_t o = 0;
    const char *p = host, *end = host + len;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *lend = dot ? dot : end;
        size_t llen = (size_t)(lend - p);
        char label[256];
        if (llen == 0)
            return "empty label";
        uint32_t cps[256];
        int n = utf8_decode(p, llen, cps, 256), ascii = 1;
        if (n == -2)
            return "label longer than 63 bytes";
        if (n < 0)
            return "invalid UTF-8";
        for (int i = 0; i < n; i++) {
            cps[i] = fold(cps[i]);
            if (cps[i] >= 0x80)
                ascii = 0;
            else if (!host_char(cps[i]))
                return "character not allowed in a host name (only letters, digits, '-', '_')";
        }
        if (ascii) {
            if (n > 63)
                return "label longer than 63 bytes";
            for (int i = 0; i < n; i++)
                label[i] = (char)cps[i];
            llen = (size_t)n;
        } else {
            for (int i = 0; i < n; i++)
                if (cps[i] == '_')
                    return "'_' in an internationalised label";
            if (punycode_label(cps, n, label, sizeof label) < 0 || (llen = strlen(label)) > 63)
                return "label longer than 63 bytes once punycode-encoded";
        }
        if (o + llen + 2 > outlen || o + (o != 0) + llen > 253)
            return "name longer than 253 bytes";
        if (o)
            out[o++] = '.';
        memcpy(out + o, label, llen);
        o += llen;
        if (!dot)
            break;
        p = dot + 1;
    }
    out[o] = '\0';
    return NULL;
}

int mint_san_name(const char *host, char *out, size_t outlen)
{
    return san_name(host, out, outlen) ? -1 : 0;
}

int mint_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* ---- the precomputed context ---- */

struct mint_ctx {
    EVP_PKEY *ca_key;                   /* borrowed: signs every leaf */
    EVP_MD *sha256;                     /* fetched once: an implicit fetch per signature costs */
    EVP_PKEY *pub;                      /* the leaf public key, in a form X509_set_pubkey copies cheaply */
    X509_NAME *issuer;                  /* copy of the CA subject, already DER-encoded */
    STACK_OF(X509_EXTENSION) *exts;     /* BC, KU, EKU, SKI, AKI: the same in every leaf */
};

/* A copy of leaf_key's public half that OpenSSL 3.0 can put into a certificate without its
 * encoder/decoder round trip. d2i_PublicKey builds a key with a built-in ASN.1 method, for which
 * X509_PUBKEY_set calls the method's pub_encode directly (~3 us instead of ~150 us). For key
 * types d2i_PublicKey does not know, the original key is used (correct, just slower). */
static EVP_PKEY *fast_pubkey(EVP_PKEY *leaf_key)
{
    int type = EVP_PKEY_get_base_id(leaf_key);
    unsigned char *der = NULL;
    int len = (type == EVP_PKEY_EC || type == EVP_PKEY_RSA) ? i2d_PublicKey(leaf_key, &der) : 0;
    EVP_PKEY *pub = NULL;
    if (len > 0) {
        const unsigned char *p = der;
        /* EC points carry no curve: d2i_PublicKey takes the group from the key passed in */
        pub = type == EVP_PKEY_EC ? EVP_PKEY_dup(leaf_key) : NULL;
        if ((type == EVP_PKEY_EC && !pub) || !d2i_PublicKey(type, &pub, &p, len)) {
            EVP_PKEY_free(pub);
            pub = NULL;
        }
    }
    OPENSSL_free(der);
    /* Must be the same key; the comparison also fills the key's provider cache now, before
     * worker threads share it. */
    if (!pub || EVP_PKEY_eq(pub, leaf_key) != 1) {
        EVP_PKEY_free(pub);
        pub = EVP_PKEY_up_ref(leaf_key) ? leaf_key : NULL;
    }
    ERR_clear_error();
    return pub;
}

struct mint_ctx *mint_ctx_new(X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *leaf_key, char *err,
                              size_t errlen)
{
    struct mint_ctx *mc = OPENSSL_zalloc(sizeof *mc);
    X509 *tmpl = X509_new();
    int rsa = EVP_PKEY_is_a(leaf_key, "RSA");
    /* The constant extensions are made once on a template leaf (SKI needs its public key, AKI
     * the CA's key id), then copied out. */
    int ok = mc && tmpl && (mc->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) &&
             (mc->pub = fast_pubkey(leaf_key)) && X509_set_pubkey(tmpl, mc->pub) == 1 &&
             (mc->issuer = X509_NAME_dup(X509_get_subject_name(ca_cert))) &&
             i2d_X509_NAME(mc->issuer, NULL) > 0 && /* encode now, not lazily in a worker */
             mint_add_ext(tmpl, ca_cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
             mint_add_ext(tmpl, ca_cert, NID_key_usage,
                          rsa ? "critical,digitalSignature,keyEncipherment"
                              : "critical,digitalSignature") == 0 &&
             mint_add_ext(tmpl, ca_cert, NID_ext_key_usage, "serverAuth") == 0 &&
             mint_add_ext(tmpl, ca_cert, NID_subject_key_identifier, "hash") == 0 &&
             mint_add_ext(tmpl, ca_cert, NID_authority_key_identifier, "keyid:always") == 0 &&
             (mc->exts = sk_X509_EXTENSION_deep_copy(X509_get0_extensions(tmpl), X509_EXTENSION_dup,
                                                     X509_EXTENSION_free));
    X509_free(tmpl);
    if (!ok) {
        if (err) {
            unsigned long e = ERR_get_error();
            char why[160] = "out of memory";
            if (e)
                ERR_error_string_n(e, why, sizeof why);
            snprintf(err, errlen, "cannot prepare leaf minting: %s", why);
        }
        ERR_clear_error();
        mint_ctx_free(mc);
        return NULL;
    }
    mc->ca_key = ca_key;
    return mc;
}

void mint_ctx_free(struct mint_ctx *mc)
{
    if (!mc)
        return;
    EVP_MD_free(mc->sha256);
    EVP_PKEY_free(mc->pub);
    X509_NAME_free(mc->issuer);
    sk_X509_EXTENSION_pop_free(mc->exts, X509_EXTENSION_free);
    OPENSSL_free(mc);
}

/* Random positive serial of up to 128 bits (RFC 5280 §4.1.2.2: positive, at most 20 octets;
 * CA/B Forum: at least 64 random bits). */
static int set_serial(X509 *c)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[0] &= 0x7f;
    b[sizeof b - 1] |= (unsigned char)!memcmp(b, (unsigned char[sizeof b]){0}, sizeof b); /* never 0 */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

/* subjectAltName: n entries, each an IP address (is_ip[i]) or a DNS name. No extension at all
 * when n is 0 (an empty subjectAltName is not allowed, RFC 5280 §4.2.1.6). */
static int add_san(X509 *c, const char *const *names, const int *is_ip, size_t n)
{
    if (!n)
        return 0;
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int ok = gens != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        if (gn && is_ip[i]) {
            ASN1_OCTET_STRING *oct = a2i_IPADDRESS(names[i]);
            if (oct)
                GENERAL_NAME_set0_value(gn, GEN_IPADD, oct);
            ok = oct != NULL;
        } else if (gn) {
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            ok = s && ASN1_STRING_set(s, names[i], -1);
            if (ok)
                GENERAL_NAME_set0_value(gn, GEN_DNS, s);
            else
                ASN1_IA5STRING_free(s);
        }
        ok = ok && gn && sk_GENERAL_NAME_push(gens, gn);
        if (!ok)
            GENERAL_NAME_free(gn);
    }
    ok = ok && X509_add1_ext_i2d(c, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(gens);
    return ok ? 0 : -1;
}

/* host for an error message: at most 80 bytes, non-printable bytes as '?', so err stays one line. */
static void printable(const char *host, char *out, size_t outlen)
{
    size_t i = 0;
    for (; host[i] && i + 1 < outlen && i < 80; i++)
        out[i] = (unsigned char)host[i] < 0x20 || host[i] == 0x7f ? '?' : host[i];
    out[i] = '\0';
}

/* Sign a leaf with subject CN cn (at most 64 bytes: RFC 5280 ub-common-name; the SAN carries
 * the full names), the n SAN entries, valid from not_before to not_after. host only names the
 * leaf in err. */
/* c read back from its own DER (c is freed; NULL when out of memory). A certificate built and
 * signed here is marked modified, so OpenSSL encodes all of it again at every i2d, and a TLS
 * handshake does that many times over (the Certificate message and the checks around it): one
 * read back from DER keeps its encoding and each i2d is a copy (S2 worker instructions per
 * handshake, bench/callgrind.sh). */
/* Fill c's extension cache (key usage, basic constraints, its SHA-1 fingerprint: OpenSSL's
 * x509v3 cache, ~100k instructions as it encodes the whole certificate to hash it) where c is
 * made: on the leaf cache's mint thread for a new host. Otherwise the first handshake that shows
 * c pays it on the worker (SSL_use_certificate asks for the flags), on the new host's critical
 * path. Computed once per certificate either way; the flags are the same. */
static void cache_extensions(X509 *c)
{
    X509_check_purpose(c, -1, 0);
    ERR_clear_error();
}

static X509 *with_cached_der(X509 *c)
{
    X509 *back = mint_keep_encoding(c);
    X509_free(c);
    return back;
}

X509 *mint_keep_encoding(X509 *c)
{
    unsigned char *der = NULL;
    int len = i2d_X509(c, &der);
    const unsigned char *p = der;
    X509 *back = len > 0 ? d2i_X509(NULL, &p, len) : NULL;
    OPENSSL_free(der);
    if (back)
        cache_extensions(back);
    return back;
}

static X509 *mint_core(const struct mint_ctx *mc, const char *cn_in, const char *const *sans,
                       const int *san_ip, size_t n, time_t not_before, time_t not_after,
                       const char *host, int keep_encoding, char *err, size_t errlen)
{
    char cn[65], shown[84];
    size_t cnlen = strlen(cn_in) < 64 ? strlen(cn_in) : 64;
    memcpy(cn, cn_in, cnlen);
    cn[cnlen] = '\0';

    X509 *c = X509_new();
    X509_NAME *subj = c ? X509_get_subject_name(c) : NULL;
    int ok = c && X509_set_version(c, X509_VERSION_3) == 1 && set_serial(c) == 0 &&
             ASN1_TIME_set(X509_getm_notBefore(c), not_before) &&
             ASN1_TIME_set(X509_getm_notAfter(c), not_after) &&
             X509_set_pubkey(c, mc->pub) == 1 &&
             X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0) &&
             X509_NAME_add_entry_by_NID(subj, NID_organizationName, MBSTRING_ASC,
                                        (unsigned char *)"httpeek", -1, -1, 0) &&
             X509_set_issuer_name(c, mc->issuer) == 1;
    for (int i = 0; ok && i < sk_X509_EXTENSION_num(mc->exts); i++)
        ok = X509_add_ext(c, sk_X509_EXTENSION_value(mc->exts, i), -1) == 1;
    ok = ok && add_san(c, sans, san_ip, n) == 0 && X509_sign(c, mc->ca_key, mc->sha256) > 0;
    if (ok && keep_encoding && !(c = with_cached_der(c)))
        ok = 0;
    if (ok)
        cache_extensions(c);
    if (!ok) {
        if (err) {
            printable(host, shown, sizeof shown);
            const char *why = ERR_reason_error_string(ERR_peek_error());
            snprintf(err, errlen, "cannot mint a certificate for '%s': %s", shown, why ? why : "out of memory");
        }
        ERR_clear_error();
        X509_free(c);
        return NULL;
    }
    return c;
}

/* host as a literal IP address into ip (brackets of "[::1]" removed): 1, or 0 for a name. */
static int ip_literal(const char *host, char *ip, size_t iplen)
{
    unsigned char buf[16];
    size_t hlen = strlen(host);
    if (hlen > 2 && hlen < iplen && host[0] == '[' && host[hlen - 1] == ']') {
        memcpy(ip, host + 1, hlen - 2); /* "[::1]" as in a URL or a CONNECT line */
        ip[hlen - 2] = '\0';
        return inet_pton(AF_INET6, ip, buf) == 1;
    }
    if (hlen < iplen && (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)) {
        memcpy(ip, host, hlen + 1);
        return 1;
    }
    return 0;
}

static X509 *mint_ctx_leaf_as(const struct mint_ctx *mc, const char *host,
                              const struct mint_spec *spec, int keep_encoding, char *err,
                              size_t errlen);

X509 *mint_ctx_leaf(const struct mint_ctx *mc, const char *host, char *err, size_t errlen)
{
    return mint_ctx_leaf_spec(mc, host, NULL, err, errlen);
}

X509 *mint_ctx_leaf_spec(const struct mint_ctx *mc, const char *host, const struct mint_spec *spec,
                         char *err, size_t errlen)
{
    return mint_ctx_leaf_as(mc, host, spec, 1, err, errlen);
}

X509 *mint_ctx_leaf_signed(const struct mint_ctx *mc, const char *host, char *err, size_t errlen)
{
    return mint_ctx_leaf_as(mc, host, NULL, 0, err, errlen);
}

static X509 *mint_ctx_leaf_as(const struct mint_ctx *mc, const char *host,
                              const struct mint_spec *spec, int keep_encoding, char *err,
                              size_t errlen)
{
    char name[256], wild[258], shown[84], ip[64];
    const char *sans[MINT_MAX_NAMES];
    int san_ip[MINT_MAX_NAMES];
    char copies[MINT_MAX_NAMES][256];
    size_t n = 0;
    const char *cn;
    if (spec && spec->names) {
        /* exactly the names given: as they are (wildcards kept), those that cannot be a SAN
         * dropped; the first one is the CN whatever it is (a CN-only certificate's "name") */
        cn = spec->nnames ? spec->names[0] : "no name";
        for (size_t i = 0; i < spec->nnames && n < MINT_MAX_NAMES; i++) {
            const char *v = spec->names[i];
            int star = v[0] == '*' && v[1] == '.';
            if (ip_literal(v, copies[n], sizeof copies[n])) {
                san_ip[n] = 1;
            } else if (!san_name(v + (star ? 2 : 0), copies[n] + (star ? 2 : 0),
                                 sizeof copies[n] - 2) && !strchr(copies[n] + (star ? 2 : 0), '*')) {
                if (star)
                    memcpy(copies[n], "*.", 2);
                san_ip[n] = 0;
            } else {
                continue;
            }
            sans[n] = copies[n];
            n++;
        }
    } else if (ip_literal(host, ip, sizeof ip)) {
        cn = sans[0] = ip;
        san_ip[n++] = 1;
    } else {
        size_t hlen = strlen(host);
        const char *why = san_name(host, name, sizeof name);
        if (why) {
            if (err) {
                printable(host, shown, sizeof shown);
                snprintf(err, errlen, "no certificate for '%s%s': %s", shown, hlen > 80 ? "..." : "", why);
            }
            return NULL;
        }
        cn = sans[0] = name;
        san_ip[n++] = 0;
        /* "a_b.example.com": strict verifiers refuse '_' in a DNS SAN; *.example.com covers it
         * for them (never a wildcard for a bare TLD: "*.com" would match nothing anyway) */
        const char *dot = strchr(name, '.');
        if (dot && memchr(name, '_', (size_t)(dot - name)) && !strchr(dot, '_') && strchr(dot + 1, '.')) {
            snprintf(wild, sizeof wild, "*%s", dot);
            sans[n] = wild;
            san_ip[n++] = 0;
        }
    }
    time_t now = time(NULL);
    time_t not_before = now - (time_t)MINT_BACKDATE_DAYS * 86400,
           not_after = now + (time_t)(MINT_VALIDITY_DAYS - MINT_BACKDATE_DAYS) * 86400;
    if (spec && (spec->not_before || spec->not_after)) {
        not_before = spec->not_before;
        not_after = spec->not_after;
    }
    return mint_core(mc, cn, sans, san_ip, n, not_before, not_after, host, keep_encoding, err,
                     errlen);
}

X509 *mint_leaf(X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *leaf_key, const char *host, char *err,
                size_t errlen)
{
    struct mint_ctx *mc = mint_ctx_new(ca_cert, ca_key, leaf_key, err, errlen);
    X509 *c = mc ? mint_ctx_leaf(mc, host, err, errlen) : NULL;
    mint_ctx_free(mc);
    return c;
}
