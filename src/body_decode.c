/* body_decode.c — see body_decode.h. Moved out of store.c (issue 16) so that the warnings of a
 * flow can tell whether its body matches its Content-Encoding with the same decoder the viewer
 * uses. */
#include "body_decode.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>
#ifdef HAVE_BROTLI
#include <brotli/decode.h>
#endif

#define DECODE_CHUNK 65536

/* Append got decoded bytes of buf to out and count them: 0, or BODY_DECODE_OOM / _TOO_BIG. */
static int take(struct evbuffer *out, const unsigned char *buf, size_t got, size_t *total,
                size_t max)
{
    if (got && evbuffer_add(out, buf, got) < 0)
        return BODY_DECODE_OOM;
    *total += got;
    return *total > max ? BODY_DECODE_TOO_BIG : 0;
}

/* Inflate in (windowBits as zlib's inflateInit2) into out. Concatenated gzip members are all
 * decoded. Returns 0, 1 when the input ended early (a truncated capture), -1 on bad data, -3
 * past max. */
static int inflate_to(const unsigned char *in, size_t inlen, int window, size_t max,
                      struct evbuffer *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, window) != Z_OK)
        return BODY_DECODE_OOM;
    unsigned char buf[DECODE_CHUNK];
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)inlen;
    int rc = BODY_DECODE_BAD;
    size_t total = 0;
    for (;;) {
        z.next_out = buf;
        z.avail_out = sizeof buf;
        int zr = inflate(&z, Z_NO_FLUSH);
        if ((rc = take(out, buf, sizeof buf - z.avail_out, &total, max)) < 0)
            break;
        rc = BODY_DECODE_BAD;
        if (zr == Z_STREAM_END) {
            /* skip trailing zero padding some servers add; another gzip member goes on */
            while (z.avail_in && *z.next_in == 0) {
                z.next_in++;
                z.avail_in--;
            }
            if (!z.avail_in || window < 16) {
                rc = 0;
                break;
            }
            if (inflateReset(&z) != Z_OK)
                break;
            continue;
        }
        if (zr == Z_BUF_ERROR || (zr == Z_OK && !z.avail_in && z.avail_out)) {
            if (!z.avail_in) {
                rc = 1;
                break;
            }
            continue;
        }
        if (zr != Z_OK)
            break;
    }
    inflateEnd(&z);
    return rc;
}

#ifdef HAVE_BROTLI
static int brotli_to(const unsigned char *in, size_t inlen, size_t max, struct evbuffer *out)
{
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!d)
        return BODY_DECODE_OOM;
    unsigned char buf[DECODE_CHUNK];
    size_t avail_in = inlen, total = 0;
    const uint8_t *next_in = in;
    int rc = BODY_DECODE_BAD;
    for (;;) {
        size_t avail_out = sizeof buf;
        uint8_t *next_out = buf;
        BrotliDecoderResult br = BrotliDecoderDecompressStream(d, &avail_in, &next_in, &avail_out,
                                                               &next_out, NULL);
        if ((rc = take(out, buf, sizeof buf - avail_out, &total, max)) < 0)
            break;
        rc = BODY_DECODE_BAD;
        if (br == BROTLI_DECODER_RESULT_SUCCESS) {
            rc = 0;
            break;
        }
        if (br == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            rc = 1;
            break;
        }
        if (br == BROTLI_DECODER_RESULT_ERROR)
            break;
    }
    BrotliDecoderDestroyInstance(d);
    return rc;
}
#endif

static int known_coding(const char *coding)
{
    return !strcasecmp(coding, "gzip") || !strcasecmp(coding, "x-gzip") ||
           !strcasecmp(coding, "deflate")
#ifdef HAVE_BROTLI
           || !strcasecmp(coding, "br")
#endif
        ;
}

/* Decode one coding from in into out. Returns 0, 1 (input ended early), or a negative enum
 * body_decode_result. */
static int decode_one(const char *coding, const unsigned char *in, size_t inlen, size_t max,
                      struct evbuffer *out)
{
    if (!strcasecmp(coding, "gzip") || !strcasecmp(coding, "x-gzip"))
        return inflate_to(in, inlen, 16 + MAX_WBITS, max, out);
    if (!strcasecmp(coding, "deflate")) {
        /* RFC 9110 §8.4.1.2 says zlib-wrapped; some servers send raw deflate */
        int r = inflate_to(in, inlen, MAX_WBITS, max, out);
        if (r == BODY_DECODE_BAD) {
            evbuffer_drain(out, evbuffer_get_length(out));
            r = inflate_to(in, inlen, -MAX_WBITS, max, out);
        }
        return r;
    }
#ifdef HAVE_BROTLI
    if (!strcasecmp(coding, "br"))
        return brotli_to(in, inlen, max, out);
#endif
    return BODY_DECODE_UNKNOWN;
}

/* Split cenc into its codings (identity dropped). Returns how many, -1 when one is too long. */
static int split_codings(const char *cenc, char codings[8][32])
{
    int n = 0;
    const char *p = cenc;
    while (*p && n < 8) {
        p += strspn(p, " \t,");
        size_t l = strcspn(p, " \t,");
        if (!l)
            break;
        if (l >= 32)
            return -1;
        if (!(l == 8 && !strncasecmp(p, "identity", 8))) {
            memcpy(codings[n], p, l);
            codings[n++][l] = '\0';
        }
        p += l;
    }
    return n;
}

int body_decode_known(const char *cenc)
{
    char codings[8][32];
    int n = split_codings(cenc, codings);
    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (!known_coding(codings[i]))
            return 0;
    return 1;
}

int body_decode(const char *cenc, int truncated, const unsigned char *data, size_t len,
                size_t max_out, struct evbuffer *out)
{
    char codings[8][32];
    int n = split_codings(cenc, codings);
    if (n < 0)
        return BODY_DECODE_UNKNOWN;
    if (!n)
        return evbuffer_add(out, data, len) < 0 ? BODY_DECODE_OOM : BODY_DECODE_OK;
    struct evbuffer *cur = evbuffer_new(), *next = evbuffer_new();
    int rc = BODY_DECODE_OOM;
    if (!cur || !next || evbuffer_add(cur, data, len) < 0)
        goto out;
    for (int i = n - 1; i >= 0; i--) {
        size_t clen = evbuffer_get_length(cur);
        const unsigned char *c = evbuffer_pullup(cur, -1);
        int r = decode_one(codings[i], c ? c : (const unsigned char *)"", clen, max_out, next);
        if (r == 1 && !truncated)
            r = BODY_DECODE_BAD;
        if (r < 0) {
            rc = r;
            goto out;
        }
        evbuffer_drain(cur, clen);
        struct evbuffer *t = cur;
        cur = next;
        next = t;
    }
    rc = evbuffer_add_buffer(out, cur) < 0 ? BODY_DECODE_OOM : BODY_DECODE_OK;
out:
    if (cur)
        evbuffer_free(cur);
    if (next)
        evbuffer_free(next);
    return rc;
}
