/* tls_facts.h — what a leg's TLS session looked like, for the flow: version, cipher, ALPN, SNI,
 * alerts sent and received (via the SSL info callback), verify result, peer certificate. */
#ifndef HTTPEEK_TLS_FACTS_H
#define HTTPEEK_TLS_FACTS_H

#include <openssl/ssl.h>
#include "attrib.h"
#include "flow.h"

/* Make ssl record its alerts into facts (borrowed: must outlive ssl or be detached with
 * tls_facts_attach(ssl, NULL)). Also marks facts->present. */
void tls_facts_attach(SSL *ssl, struct flow_tls *facts) HP_NONNULL(1);

/* Fill version, cipher, ALPN, SNI, verify result and peer certificate facts from ssl
 * (after a handshake, complete or failed). */
void tls_facts_fill(SSL *ssl, struct flow_tls *facts) HP_NONNULL(1, 2);

/* Copy the first queued OpenSSL error string into facts->error (if empty) and clear the queue. */
void tls_facts_take_error(struct flow_tls *facts, unsigned long err) HP_NONNULL(1);

#endif
