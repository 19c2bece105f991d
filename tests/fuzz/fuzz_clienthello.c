/* fuzz_clienthello.c — libFuzzer target: SNI / ClientHello bytes → clienthello_parse → the name
 * lower-cased as tunnel.c does → a leaf minted by ca/mint.c with a CA made in memory at start-up.
 * Oracles: the parser never reads out of bounds (ASan); a returned SNI is NUL-terminated
 * printable ASCII; any leaf minted verifies against the CA's key, and a leaf for a name that
 * mint_san_name accepts matches that name (X509_check_host / X509_check_ip_asc). The raw input
 * is also offered to mint_san_name and the minter directly as a host name. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>
#include "ca.h"
#include "clienthello.h"
#include "mint.h"

static struct ca *ca;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    ca = ca_new_untrusted("httpeek fuzz CA", err, sizeof err);
    if (!ca)
        abort();
    return 0;
}

static void mint_and_check(const char *host)
{
    char san[512], err[256];
    int ok_name = mint_san_name(host, san, sizeof san) == 0;
    X509 *leaf = ca_mint_leaf(ca, host, err, sizeof err);
    if (!leaf)
        return;
    EVP_PKEY *pub = X509_get0_pubkey(ca_cert(ca));
    if (X509_verify(leaf, pub) != 1)
        abort(); /* a leaf our CA did not sign */
    if (ok_name && X509_check_host(leaf, san, strlen(san), 0, NULL) != 1 &&
        X509_check_ip_asc(leaf, host, 0) != 1) {
        /* IP literals (with or without brackets) are certified as IP SANs */
        char h[300];
        size_t n = strlen(host);
        if (!(n > 2 && n < sizeof h && host[0] == '[' && host[n - 1] == ']' &&
              (memcpy(h, host + 1, n - 2), h[n - 2] = '\0', X509_check_ip_asc(leaf, h, 0) == 1)))
            abort(); /* the leaf does not cover the name it was minted for */
    }
    X509_free(leaf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sni[256];
    enum clienthello_result r = clienthello_parse(data, size, sni, sizeof sni);
    if (r == CLIENTHELLO_SNI) {
        size_t n = strnlen(sni, sizeof sni);
        if (n == sizeof sni)
            abort(); /* not NUL-terminated */
        for (size_t i = 0; i < n; i++)
            if (!isprint((unsigned char)sni[i]))
                abort(); /* the header promises printable ASCII */
        for (char *s = sni; *s; s++)
            if (*s >= 'A' && *s <= 'Z')
                *s = (char)(*s + 32);
        mint_and_check(sni);
    }
    /* the bytes themselves as a host name (CONNECT authority, Host header) */
    if (size < 400) {
        char host[400];
        memcpy(host, data, size);
        host[size] = '\0';
        mint_and_check(host);
    }
    return 0;
}
