/* mint.c — see mint.h. Leaves share one process key (ca_leaf_key), so minting is one signature
 * by the CA key plus building the extensions: tens of microseconds with a P-256 CA. */
#include "mint.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* ---- RFC 3492 punycode, encoder only ---- */
enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700, PC_BIAS = 72, PC_N = 128 };

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

/* Decode one UTF-8 label into code points; returns count or -1 when invalid. */
static int utf8_decode(const char *s, size_t len, uint32_t *out, int max)
{
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
            return -1; /* truncated sequence */
        for (int k = 1; k <= extra; k++) {
            unsigned char cc = (unsigned char)s[i + (size_t)k];
            if ((cc & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (n == max || cp > 0x10ffff)
            return -1;
        out[n++] = cp;
        i += (size_t)extra + 1;
    }
    return n;
}

/* "xn--" + punycode of the label's code points into out; -1 when it does not fit. */
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
            return -1;
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

int mint_san_name(const char *host, char *out, size_t outlen)
{
    size_t len = strlen(host);
    if (len && host[len - 1] == '.')
        len--; /* one trailing dot: the absolute form of the same name */
    if (len == 0 || outlen < 2)
        return -1;
    size_t o = 0;
    const char *p = host, *end = host + len;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *lend = dot ? dot : end;
        size_t llen = (size_t)(lend - p);
        if (llen == 0)
            return -1; /* empty label */
        char label[256];
        int ascii = 1;
        for (size_t i = 0; i < llen; i++)
            if ((unsigned char)p[i] >= 0x80)
                ascii = 0;
        if (ascii) {
            if (llen >= sizeof label)
                return -1;
            for (size_t i = 0; i < llen; i++) {
                char c = p[i];
                if (c >= 'A' && c <= 'Z')
                    c = (char)(c + 32);
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      (c == '*' && llen == 1 && p == host)))
                    return -1;
                label[i] = c;
            }
            label[llen] = '\0';
        } else {
            uint32_t cps[256];
            int n = utf8_decode(p, llen, cps, 256);
            if (n <= 0)
                return -1;
            for (int i = 0; i < n; i++) {
                if (cps[i] >= 'A' && cps[i] <= 'Z')
                    cps[i] += 32; /* case folding for ASCII only; the client sends the A-label anyway */
                if (cps[i] < 0x80 && !((cps[i] >= 'a' && cps[i] <= 'z') ||
                                       (cps[i] >= '0' && cps[i] <= '9') || cps[i] == '-'))
                    return -1;
            }
            if (punycode_label(cps, n, label, sizeof label) < 0)
                return -1;
            llen = strlen(label);
        }
        if (llen > 63 || o + llen + 2 > outlen)
            return -1;
        if (o)
            out[o++] = '.';
        memcpy(out + o, label, llen);
        o += llen;
        if (!dot)
            break;
        p = dot + 1;
    }
    out[o] = '\0';
    return o <= 253 ? 0 : -1;
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

X509 *mint_leaf(X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *leaf_key, const char *host, char *err,
                size_t errlen)
{
    unsigned char ipbuf[16];
    char name[256], san[600];
    int is_ip = inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1;
    if (is_ip) {
        snprintf(name, sizeof name, "%s", host);
        snprintf(san, sizeof san, "IP:%s", host);
    } else {
        if (mint_san_name(host, name, sizeof name) < 0) {
            if (err)
                snprintf(err, errlen, "'%.80s' cannot be a certificate name", host);
            return NULL;
        }
        const char *dot = strchr(name, '.');
        /* "a_b.example.com": strict verifiers refuse '_' in a DNS SAN; *.example.com covers it */
        if (dot && memchr(name, '_', (size_t)(dot - name)) && !strchr(dot, '_') && strchr(dot + 1, '.'))
            snprintf(san, sizeof san, "DNS:%s,DNS:*%s", name, dot);
        else
            snprintf(san, sizeof san, "DNS:%s", name);
    }
    char cn[65];
    snprintf(cn, sizeof cn, "%s", name); /* CN is at most 64 characters (RFC 5280 ub-common-name) */
    int rsa = EVP_PKEY_is_a(leaf_key, "RSA");
    unsigned char serial[16];
    X509 *c = X509_new();
    BIGNUM *bn = NULL;
    int ok = c && RAND_bytes(serial, sizeof serial) == 1;
    if (ok) {
        serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01); /* positive, full 128 bits */
        bn = BN_bin2bn(serial, sizeof serial, NULL);
    }
    X509_NAME *subj = c ? X509_get_subject_name(c) : NULL;
    ok = ok && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) && X509_set_version(c, 2) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(c), -(long)MINT_BACKDATE_DAYS * 86400) &&
         X509_time_adj_ex(X509_getm_notAfter(c), MINT_VALIDITY_DAYS - MINT_BACKDATE_DAYS, 0, NULL) &&
         X509_set_pubkey(c, leaf_key) == 1 &&
         X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_UTF8, (const unsigned char *)"httpeek", -1, -1, 0) &&
         X509_set_issuer_name(c, X509_get_subject_name(ca_cert)) == 1 &&
         mint_add_ext(c, ca_cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
         mint_add_ext(c, ca_cert, NID_key_usage,
                 rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature") == 0 &&
         mint_add_ext(c, ca_cert, NID_ext_key_usage, "serverAuth") == 0 &&
         mint_add_ext(c, ca_cert, NID_subject_key_identifier, "hash") == 0 &&
         mint_add_ext(c, ca_cert, NID_authority_key_identifier, "keyid:always") == 0 &&
         mint_add_ext(c, ca_cert, NID_subject_alt_name, san) == 0 &&
         X509_sign(c, ca_key, EVP_sha256()) > 0;
    BN_free(bn);
    if (!ok) {
        if (err)
            snprintf(err, errlen, "cannot mint a certificate for '%.80s'", host);
        X509_free(c);
        return NULL;
    }
    return c;
}
