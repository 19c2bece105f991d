/* replay_spec.h — one request httpeek is to send itself (Repeat, compose: replay.h sends it):
 * method, absolute URL, headers and body, checked and turned into the bytes that go on the wire.
 * Plain data, no threads of its own; owned by whoever holds it. */
#ifndef HTTPEEK_REPLAY_SPEC_H
#define HTTPEEK_REPLAY_SPEC_H

#include <stddef.h>
#include "attrib.h"

#define REPLAY_MAX_HEADERS 200

/* One request to send (owned by whoever holds it). */
struct replay_spec {
    char method[32];
    char *url;             /* absolute http:// or https:// URL */
    size_t nheaders;
    char **names, **values; /* nheaders each, as given: hop-by-hop fields, Host and framing
                               fields are dropped when sent (Host comes from the URL, and
                               Content-Length from the body) */
    char *body;            /* NULL when empty */
    size_t body_len;
};

/* A new empty spec with method and url (copied); NULL on OOM. */
struct replay_spec *replay_spec_new(const char *method, const char *url) HP_NONNULL(1, 2);

/* Append a header (copied). Returns 0, -1 on OOM or past REPLAY_MAX_HEADERS. */
int replay_spec_header(struct replay_spec *s, const char *name, const char *value)
    HP_NONNULL(1, 2, 3);

/* Set the body (copied). Returns 0, -1 on OOM. */
int replay_spec_body(struct replay_spec *s, const void *data, size_t len) HP_NONNULL(1);

void replay_spec_free(struct replay_spec *s);

/* 0 when s can be sent, else -1 with a one-line reason in err (bad method token, URL that is
 * not absolute http(s), header name that is no token, a value with CR/LF/NUL). */
int replay_spec_check(const struct replay_spec *s, char *err, size_t errlen) HP_NONNULL(1, 2);

/* The bytes that send s (replay.c uses it; tests too): tls 1 for https://, connect_head the
 * CONNECT request to send first (https only, else NULL), head the request head (absolute-form
 * target for http://, origin-form inside the tunnel). Both owned (free). Returns 0, -1 with a
 * reason in err (replay_spec_check's, or OOM). */
int replay_spec_wire(const struct replay_spec *s, int *tls, char **connect_head, char **head,
                     char *tls_host, size_t tls_hostlen, char *err, size_t errlen)
    HP_NONNULL(1, 2, 3, 4, 5, 7);

#endif
