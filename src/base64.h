/* base64.h — base64 text (as HAR files and the API carry bodies) back to bytes. Pure; any
 * thread. */
#ifndef HTTPEEK_BASE64_H
#define HTTPEEK_BASE64_H

#include <stddef.h>

/* Standard or URL-safe base64 (padding optional, whitespace skipped) of s[0..len) into out
 * (room for len / 4 * 3 + 3 bytes): the number of bytes, or -1 when s is not base64. */
long long base64_decode(const char *s, size_t len, unsigned char *out);

#endif
