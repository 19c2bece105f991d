/* test_clienthello.c — clienthello_parse on real ClientHellos written by OpenSSL's client (with
 * and without SNI), cut short, re-fragmented into many records, and on non-TLS bytes. */
#include "../../src/clienthello.c"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include "tap.h"

/* The first flight of an OpenSSL client (its ClientHello records). Caller frees *out. */
static size_t make_hello(const char *sni, unsigned char **out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, rbio, wbio);
    if (sni)
        SSL_set_tlsext_host_name(ssl, sni);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl); /* wants to read: the hello is in wbio */
    char *data;
    long n = BIO_get_mem_data(wbio, &data);
    *out = malloc((size_t)n);
    memcpy(*out, data, (size_t)n);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return (size_t)n;
}

/* Re-cut one handshake record into records of at most frag bytes of payload. */
static size_t refragment(const unsigned char *in, size_t len, size_t frag, unsigned char *out)
{
    size_t payload = ((size_t)in[3] << 8) | in[4], o = 0;
    (void)len;
    for (size_t off = 0; off < payload; off += frag) {
        size_t n = payload - off < frag ? payload - off : frag;
        out[o++] = 0x16;
        out[o++] = in[1];
        out[o++] = in[2];
        out[o++] = (unsigned char)(n >> 8);
        out[o++] = (unsigned char)n;
        memcpy(out + o, in + 5 + off, n);
        o += n;
    }
    return o;
}

int main(void)
{
    char sni[256];
    unsigned char *hello;
    size_t len = make_hello("API.Example.com", &hello);
    is_int(clienthello_parse(hello, len, sni, sizeof sni), CLIENTHELLO_SNI, "real ClientHello: SNI found");
    is_str(sni, "API.Example.com", "SNI as the client sent it");

    int incomplete = 1;
    for (size_t cut = 1; cut < len; cut++)
        if (clienthello_parse(hello, cut, sni, sizeof sni) != CLIENTHELLO_INCOMPLETE)
            incomplete = 0;
    ok(incomplete, "every prefix of the hello is INCOMPLETE (never a wrong answer)");

    unsigned char *frag = malloc(len * 8);
    size_t flen = refragment(hello, len, 7, frag);
    is_int(clienthello_parse(frag, flen, sni, sizeof sni), CLIENTHELLO_SNI,
           "hello split over records of 7 bytes is reassembled");
    is_str(sni, "API.Example.com", "same SNI after reassembly");
    free(frag);
    free(hello);

    len = make_hello(NULL, &hello);
    is_int(clienthello_parse(hello, len, sni, sizeof sni), CLIENTHELLO_NO_SNI, "hello without SNI (IP host)");
    hello[9] ^= 0xff; /* corrupt the handshake length */
    ok(clienthello_parse(hello, len, sni, sizeof sni) != CLIENTHELLO_SNI, "corrupt hello is not trusted");
    free(hello);

    const char *plain = "GET / HTTP/1.1\r\n";
    is_int(clienthello_parse((const unsigned char *)plain, strlen(plain), sni, sizeof sni),
           CLIENTHELLO_NOT_TLS, "plain text is NOT_TLS (relayed opaquely)");
    const unsigned char bad_record[] = {0x16, 0x03, 0x01, 0x00, 0x00};
    is_int(clienthello_parse(bad_record, sizeof bad_record, sni, sizeof sni), CLIENTHELLO_INVALID,
           "empty handshake record is INVALID");

    char long_name[300];
    memset(long_name, 'a', 250);
    long_name[250] = '\0';
    len = make_hello(long_name, &hello);
    is_int(clienthello_parse(hello, len, sni, 64), CLIENTHELLO_INVALID,
           "an SNI longer than the caller's buffer is refused, not truncated");
    free(hello);
    return done();
}
