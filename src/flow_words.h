/* flow_words.h — a few plain words for a flow's raw facts, for lists and TLS panes: a short
 * distinct reason per failed flow ("expired 2024-04-01", "self-signed", "connection refused"),
 * whether a CONNECT failed before any TLS with the client, and OpenSSL's error strings
 * ("error:0A000418:SSL routines::tlsv1 alert unknown ca") in plain language. Pure: derived from
 * the facts (stage, errno, resolver result, timeout, verify result, alerts, OpenSSL's error
 * code), never from the human reason line; no I/O, no allocation. */
#ifndef HTTPEEK_FLOW_WORDS_H
#define HTTPEEK_FLOW_WORDS_H

#include <stddef.h>
#include "attrib.h"
#include "flow.h"

/* A few words saying why f failed into out ("" for a flow that worked). */
void flow_words_reason_short(const struct flow *f, char *out, size_t outlen) HP_NONNULL(1, 2);

/* 1 for a CONNECT flow that failed resolving, connecting or handshaking with the server before
 * any TLS handshake with the client began; else 0. */
int flow_words_failed_before_tls(const struct flow *f) HP_NONNULL(1);

/* t->error (an OpenSSL error string) in plain language into out, "" when t has no error;
 * client_leg: t is the client's leg (the peer is "the client"), else the server's. */
void flow_words_tls_error(const struct flow_tls *t, int client_leg, char *out, size_t outlen)
    HP_NONNULL(1, 3);

#endif
