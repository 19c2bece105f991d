/* banner.h — what httpeek prints at start-up: proxy addresses (every non-loopback interface
 * address with its name when listening on a wildcard), the CA file, the setup URL and, on a
 * terminal, the setup URL as a QR code (libqrencode, optional at build time); a warning when
 * phones cannot reach the proxy at all (loopback-only listeners). */
#ifndef HTTPEEK_BANNER_H
#define HTTPEEK_BANNER_H

#include <stdio.h>
#include "attrib.h"
#include "ca.h"
#include "setup.h"

/* Work out how other devices reach the proxy from the bound addresses ("0.0.0.0:8080, [::]:8080",
 * as worker_describe writes them) and this machine's interfaces: a wildcard listener serves
 * every up, non-loopback address of its family (IPv6 without link-local). */
void banner_reach(const char *listen_desc, struct setup_reach *reach) HP_NONNULL(1, 2);

/* Print the banner: listeners, the LAN addresses phones use, CA, a curl line, and the phone
 * set-up line with its QR code (qr: 1 to draw it; the caller checks --no-qr and isatty) — or,
 * when every listener is loopback, one WARNING line saying phones cannot reach it and how to
 * listen on the LAN instead. reach: from banner_reach. */
void banner_print(FILE *out, const char *listen_desc, const struct setup_reach *reach, struct ca *ca,
                  int insecure, int qr) HP_NONNULL(1, 2, 3, 4);

/* Render text as a QR code with Unicode half blocks into out; returns 0, or -1 when QR support
 * is not built in or the text does not fit. */
int banner_qr(FILE *out, const char *text) HP_NONNULL(1, 2);

#endif
