/* body_kind.h — whether a captured body is worth deflating for the session file: compressed
 * before it reached us (its Content-Encoding or media type says so), or random-looking bytes
 * (encrypted, or compressed without saying so). Pure; any thread. */
#ifndef HTTPEEK_BODY_KIND_H
#define HTTPEEK_BODY_KIND_H

#include <stddef.h>
#include "attrib.h"

/* Bytes body_looks_random looks at: of a body kept in its row, of a bigger one. */
#define BODY_RANDOM_SAMPLE_ROW 512
#define BODY_RANDOM_SAMPLE 4096

/* 1 when ctype/cenc (the head's values, "" when absent) say the body is compressed already:
 * any Content-Encoding but identity, or a media type that compresses itself (images other than
 * SVG/BMP/icons, audio, video, archives, WOFF fonts). */
int body_precompressed(const char *ctype, const char *cenc) HP_NONNULL(1, 2);

/* 1 when the first sample bytes of data (at most len; sample <= 65535) are close to uniform over
 * the 256 byte values; 0 for a body under 256 bytes. */
int body_looks_random(const unsigned char *data, size_t len, size_t sample);

#endif
