/* body_kind.c — see body_kind.h. Moved out of store.c, which only asks. */
#include "body_kind.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Whether the subtype sub (len bytes) is one of list (case-insensitive). */
static int one_of(const char *sub, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !strncasecmp(sub, list[i], len))
            return 1;
    return 0;
}

#define N(a) (sizeof (a) / sizeof *(a))

/* Deflating a body compressed before it reached us costs time for a few bytes at best. The
 * media type is split once (its type picks the list; a subtype is compared only with names of
 * its length): this runs for every body written. */
int body_precompressed(const char *ctype, const char *cenc)
{
    cenc += strspn(cenc, " \t");
    if (*cenc && strncasecmp(cenc, "identity", 8) != 0)
        return 1;
    static const char *const image_except[] = {"svg+xml", "bmp", "x-ms-bmp", "x-icon",
                                               "vnd.microsoft.icon"};
    static const char *const application[] = {
        "zip", "gzip", "x-gzip", "zstd", "x-xz", "x-bzip2", "x-7z-compressed", "vnd.rar",
        "x-rar-compressed"};
    static const char *const font[] = {"woff", "woff2"};
    const char *slash = strchr(ctype, '/');
    if (!slash)
        return 0;
    const char *sub = slash + 1;
    size_t type_len = (size_t)(slash - ctype), sub_len = strcspn(sub, "; \t");
    if (type_len == 5 && !strncasecmp(ctype, "image", 5))
        return !one_of(sub, sub_len, image_except, N(image_except));
    if (type_len == 5 && (!strncasecmp(ctype, "audio", 5) || !strncasecmp(ctype, "video", 5)))
        return 1;
    if (type_len == 11 && !strncasecmp(ctype, "application", 11))
        return one_of(sub, sub_len, application, N(application));
    if (type_len == 4 && !strncasecmp(ctype, "font", 4))
        return one_of(sub, sub_len, font, N(font));
    return 0;
}

/* Whether a body looks like random bytes (encrypted, or compressed without saying so): its
 * first bytes (BODY_RANDOM_SAMPLE_ROW of a body for a row, BODY_RANDOM_SAMPLE of a big one) are
 * close to uniform over the 256 values (Pearson's chi-square against uniform below 3 x its 255
 * degrees of freedom; uniform bytes give 255 +- 25 even at 512 bytes, base64 text ~3.5 x the
 * sample size, JSON and text far more). Deflating 1 KiB of random bytes at level 1 costs ~18 us
 * for nothing (JSON: ~2 us, and it shrinks); this test well under 1 us, run on every body of a
 * row. */
#define RANDOM_MIN 256
int body_looks_random(const unsigned char *data, size_t len, size_t sample)
{
    if (len < RANDOM_MIN)
        return 0;
    size_t n = len < sample ? len : sample;
    /* 16-bit counts (a sample fits): half the table to clear and to sum (~25 % of the test) */
    uint16_t count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[data[i]]++;
    uint64_t sq = 0;
    for (int b = 0; b < 256; b++)
        sq += (uint32_t)count[b] * count[b];
    /* chi2 = sum (c - n/256)^2 / (n/256) = 256 * sum(c^2) / n - n */
    uint64_t chi2 = sq * 256 / n - n;
    return chi2 < 3 * 255;
}
