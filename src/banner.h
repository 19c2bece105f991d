/* banner.h — what httpeek prints at start-up: proxy addresses (every non-loopback interface
 * address with its name when listening on a wildcard), the CA file, the setup URL and, on a
 * terminal, the setup URL as a QR code (libqrencode, optional at build time). */
#ifndef HTTPEEK_BANNER_H
#define HTTPEEK_BANNER_H

#include <stdio.h>
#include "attrib.h"
#include "ca.h"

/* Print the banner. listen_desc: the bound addresses ("0.0.0.0:8080, [::]:8080"); port: the
 * proxy port; qr: 1 to draw the QR code (caller checks --no-qr and isatty). */
void banner_print(FILE *out, const char *listen_desc, int port, struct ca *ca, int insecure, int qr)
    HP_NONNULL(1, 2, 4);

/* Render text as a QR code with Unicode half blocks into out; returns 0, or -1 when QR support
 * is not built in or the text does not fit. */
int banner_qr(FILE *out, const char *text) HP_NONNULL(1, 2);

#endif
