/* mobileconfig.c — see mobileconfig.h. Layout follows Apple's Configuration Profile Reference
 * (top-level PayloadType "Configuration", one com.apple.security.root payload). */
#include "mobileconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

/* A UUID-shaped string (version 5 style bits) from a digest, stable for the certificate. */
static void uuid_from(const unsigned char *d, char out[37])
{
    unsigned char b[16];
    memcpy(b, d, 16);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x50);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

char *mobileconfig_build(X509 *cert, size_t *len)
{
    unsigned char *der = NULL;
    int dlen = i2d_X509(cert, &der);
    if (dlen <= 0)
        return NULL;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, (size_t)dlen, digest);
    char outer[37], inner[37], fp[17];
    uuid_from(digest, outer);
    uuid_from(digest + 16, inner);
    snprintf(fp, sizeof fp, "%02x%02x%02x%02x%02x%02x%02x%02x", digest[0], digest[1], digest[2],
             digest[3], digest[4], digest[5], digest[6], digest[7]);

    /* base64 in 52-character lines, as Apple's tools write it */
    size_t b64cap = 4 * (((size_t)dlen + 2) / 3) + 1;
    unsigned char *b64 = malloc(b64cap);
    char *wrapped = malloc(b64cap + b64cap / 52 + 64);
    if (!b64 || !wrapped) {
        free(b64);
        free(wrapped);
        OPENSSL_free(der);
        return NULL;
    }
    int n = EVP_EncodeBlock(b64, der, dlen);
    OPENSSL_free(der);
    size_t w = 0;
    for (int i = 0; i < n; i += 52) {
        int take = n - i < 52 ? n - i : 52;
        memcpy(wrapped + w, "\t\t\t", 3);
        w += 3;
        memcpy(wrapped + w, b64 + i, (size_t)take);
        w += (size_t)take;
        wrapped[w++] = '\n';
    }
    wrapped[w] = '\0';
    free(b64);

    static const char fmt[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        "<plist version=\"1.0\">\n"
        "<dict>\n"
        "\t<key>PayloadContent</key>\n"
        "\t<array>\n"
        "\t\t<dict>\n"
        "\t\t\t<key>PayloadCertificateFileName</key>\n"
        "\t\t\t<string>httpeek-ca-cert.cer</string>\n"
        "\t\t\t<key>PayloadContent</key>\n"
        "\t\t\t<data>\n%s\t\t\t</data>\n"
        "\t\t\t<key>PayloadDescription</key>\n"
        "\t\t\t<string>Adds the httpeek CA so that httpeek can show this device's HTTPS traffic.</string>\n"
        "\t\t\t<key>PayloadDisplayName</key>\n"
        "\t\t\t<string>httpeek CA</string>\n"
        "\t\t\t<key>PayloadIdentifier</key>\n"
        "\t\t\t<string>dev.httpeek.ca.%s.root</string>\n"
        "\t\t\t<key>PayloadType</key>\n"
        "\t\t\t<string>com.apple.security.root</string>\n"
        "\t\t\t<key>PayloadUUID</key>\n"
        "\t\t\t<string>%s</string>\n"
        "\t\t\t<key>PayloadVersion</key>\n"
        "\t\t\t<integer>1</integer>\n"
        "\t\t</dict>\n"
        "\t</array>\n"
        "\t<key>PayloadDescription</key>\n"
        "\t<string>Installs the httpeek debugging proxy's certificate authority. After installing, "
        "enable full trust in Settings &gt; General &gt; About &gt; Certificate Trust Settings. "
        "Remove it when you are done debugging.</string>\n"
        "\t<key>PayloadDisplayName</key>\n"
        "\t<string>httpeek CA (%s)</string>\n"
        "\t<key>PayloadIdentifier</key>\n"
        "\t<string>dev.httpeek.ca.%s</string>\n"
        "\t<key>PayloadRemovalDisallowed</key>\n"
        "\t<false/>\n"
        "\t<key>PayloadType</key>\n"
        "\t<string>Configuration</string>\n"
        "\t<key>PayloadUUID</key>\n"
        "\t<string>%s</string>\n"
        "\t<key>PayloadVersion</key>\n"
        "\t<integer>1</integer>\n"
        "</dict>\n"
        "</plist>\n";
    int total = snprintf(NULL, 0, fmt, wrapped, fp, inner, fp, fp, outer);
    char *out = total > 0 ? malloc((size_t)total + 1) : NULL;
    if (out)
        snprintf(out, (size_t)total + 1, fmt, wrapped, fp, inner, fp, fp, outer);
    free(wrapped);
    if (out)
        *len = (size_t)total;
    return out;
}
