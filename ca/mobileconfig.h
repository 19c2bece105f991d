/* mobileconfig.h — the iOS configuration profile that installs httpeek's CA: an XML plist whose
 * one payload is com.apple.security.root carrying the CA in DER. Its PayloadUUIDs and identifier
 * are derived from the certificate, so the same CA always gives the same profile (reinstalling
 * replaces it rather than adding a second one). Served as application/x-apple-aspen-config. */
#ifndef HTTPEEK_MOBILECONFIG_H
#define HTTPEEK_MOBILECONFIG_H

#include <stddef.h>
#include <openssl/x509.h>
#include "attrib.h"

#define MOBILECONFIG_CONTENT_TYPE "application/x-apple-aspen-config"

/* Build the profile for cert. Returns a NUL-terminated string (caller frees with free) and its
 * length in *len, or NULL on failure. */
char *mobileconfig_build(X509 *cert, size_t *len) HP_NONNULL(1, 2) HP_WUNRES;

#endif
