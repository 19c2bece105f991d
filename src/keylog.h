/* keylog.h — the TLS key log (--keylog FILE, else $SSLKEYLOGFILE): the session secrets of both
 * legs in NSS key log format, so a packet capture of the same traffic opens decrypted in
 * Wireshark. Only what OpenSSL's key log callback hands over (per-connection secrets) is written;
 * no private key (httpeek's CA, its leaves, a --client-cert key) ever goes there.
 *
 * Opened on the main thread at start, attached to the TLS contexts before any worker runs; the
 * lines are then written by the worker threads inside their handshakes, each with one write() of
 * a whole line to a descriptor opened O_APPEND (no lock, no queue: see keylog.c). */
#ifndef HTTPEEK_KEYLOG_H
#define HTTPEEK_KEYLOG_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "attrib.h"

struct keylog;

/* The key log path to use: option (--keylog) when given, else env ($SSLKEYLOGFILE) when set and
 * not empty, else NULL (no key log). Borrowed from its arguments. */
const char *keylog_choose(const char *option, const char *env);

/* Open path for appending (created 0600). Returns NULL with a one-line reason naming the file in
 * err. Caller frees with keylog_close after every context it was attached to is gone. */
struct keylog *keylog_open(const char *path, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* Write the secrets of every handshake made with ctx (either side) to kl (borrowed: must outlive
 * ctx's connections). Returns 0, -1 on OOM. Call before ctx is used by other threads. */
int keylog_attach(SSL_CTX *ctx, struct keylog *kl) HP_NONNULL(1, 2);

/* The file's path as given (borrowed until keylog_close). */
const char *keylog_path(const struct keylog *kl) HP_NONNULL(1);

/* 1 when the file existed and others than its owner may read it (the user chose that file: it is
 * left as it is, but start-up says so). */
int keylog_readable_by_others(const struct keylog *kl) HP_NONNULL(1);

/* Close the file and free kl. NULL allowed. */
void keylog_close(struct keylog *kl);

#endif
