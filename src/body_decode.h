/* body_decode.h — undo a body's Content-Encoding (gzip, x-gzip, deflate zlib or raw, br when
 * built with brotli; identity), in memory, with a cap on the decoded size (a decompression bomb
 * stops there). Pure: no I/O, no logging, no globals; any thread. Used by the store's reader
 * (GET .../body?decode=1, search, HAR) and by warnings.c (does the body match its encoding?). */
#ifndef HTTPEEK_BODY_DECODE_H
#define HTTPEEK_BODY_DECODE_H

#include <stddef.h>
#include <event2/buffer.h>
#include "attrib.h"

/* Decoded bodies larger than this are refused by the store's reader. */
#define BODY_DECODE_MAX (256u * 1024 * 1024)

/* Outcomes of body_decode. */
enum body_decode_result {
    BODY_DECODE_OK = 0,         /* out holds the decoded bytes */
    BODY_DECODE_BAD = -1,       /* the bytes are not in that coding (or end early when whole) */
    BODY_DECODE_UNKNOWN = -2,   /* a coding this build cannot decode (zstd, compress, br
                                 * without brotli, a name over 31 bytes, more than 8 codings) */
    BODY_DECODE_TOO_BIG = -3,   /* decoded output passed max_out */
    BODY_DECODE_OOM = -4,
};

/* Undo the codings listed in cenc (a Content-Encoding value; applied in order, so undone last
 * first) on data[0..len) and append the result to out; truncated says the bytes are a cut
 * capture, so ending early is not an error. On failure nothing is appended. Returns an enum
 * body_decode_result. */
int body_decode(const char *cenc, int truncated, const unsigned char *data, size_t len,
                size_t max_out, struct evbuffer *out) HP_NONNULL(1, 6);

/* 1 when body_decode would undo cenc's codings (every one is known to this build), else 0. */
int body_decode_known(const char *cenc) HP_NONNULL(1);

#endif
