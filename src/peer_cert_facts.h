/* peer_cert_facts.h — the facts a flow shows of an upstream certificate (subject, issuer, dates,
 * key, signature algorithm, names), worked out once per X509 object and kept on it; any thread. */
#ifndef HTTPEEK_PEER_CERT_FACTS_H
#define HTTPEEK_PEER_CERT_FACTS_H

#include <openssl/x509.h>
#include "attrib.h"
#include "flow.h"

/* Write cert's facts into out's peer_subject, peer_issuer, peer_not_before, peer_not_after,
 * peer_key_type, peer_key_bits, peer_sig and peer_names (the other fields untouched). The first
 * call for a certificate works them out and keeps them on it (X509 ex_data, freed with it): a
 * resumed session's certificate is the same object at every resumption, so later legs copy
 * them. */
void peer_cert_facts(X509 *cert, struct flow_tls *out) HP_NONNULL(1, 2);

/* How many times the facts were worked out rather than copied (tests). */
unsigned long peer_cert_facts_computed(void);

#endif
