/* clienthello.h — read the SNI out of the first bytes a client sends after CONNECT, without
 * consuming them (the bytes are peeked; OpenSSL then reads them for real). Pure function. */
#ifndef HTTPEEK_CLIENTHELLO_H
#define HTTPEEK_CLIENTHELLO_H

#include <stddef.h>
#include "attrib.h"

/* Largest ClientHello we wait for (several records). */
#define CLIENTHELLO_MAX_BYTES (64 * 1024)

enum clienthello_result {
    CLIENTHELLO_SNI,        /* a complete ClientHello with a host_name SNI (in sni) */
    CLIENTHELLO_NO_SNI,     /* a complete ClientHello without SNI */
    CLIENTHELLO_INCOMPLETE, /* looks like TLS; more bytes are needed */
    CLIENTHELLO_NOT_TLS,    /* the first byte is not a TLS handshake record: relay opaquely */
    CLIENTHELLO_INVALID,    /* a TLS record, but not a well-formed ClientHello */
};

/* Parse data[0..len): reassembles the handshake message across records. On CLIENTHELLO_SNI, sni
 * gets the server name (NUL-terminated; names longer than snilen-1 or with bytes outside
 * printable ASCII give CLIENTHELLO_INVALID). */
enum clienthello_result clienthello_parse(const unsigned char *data, size_t len, char *sni,
                                          size_t snilen) HP_NONNULL(3);

#endif
