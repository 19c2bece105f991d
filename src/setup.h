/* setup.h — the pages httpeek serves itself: a plain (non-proxy) request to the proxy port, or a
 * proxied request to http(s)://httpeek.test/, gets the setup page, the CA downloads, the iOS
 * profile and the PAC file. Only public material is ever served here (never flows, never the
 * CA key). */
#ifndef HTTPEEK_SETUP_H
#define HTTPEEK_SETUP_H

#include <event2/buffer.h>
#include "attrib.h"
#include "ca.h"

/* The host name that always means httpeek itself. */
#define SETUP_HOST "httpeek.test"

/* What the setup page knows about the asking client. */
struct setup_client {
    const char *proxy_hostport; /* "192.168.1.20:8080": the proxy as this client reached it */
    int via_proxy;              /* 1 when the request came through the proxy (httpeek.test) */
    int via_tls;                /* 1 when it came inside an intercepted TLS tunnel */
    unsigned proxied;           /* proxy requests seen from this address so far */
    unsigned tls_trusted;       /* intercepted TLS tunnels it sent requests through */
    unsigned tls_refused;       /* times it refused httpeek's certificate */
};

/* 1 when path is one of the CA downloads (ca-cert.pem/.cer/.crt, the iOS profile). */
int setup_is_ca_download(const char *path) HP_NONNULL(1);

/* Append a complete response for path (origin-form, query ignored) to out; returns its status.
 * close adds "Connection: close". */
int setup_respond(struct evbuffer *out, const char *path, int head_only, struct ca *ca,
                  const struct setup_client *client, int close) HP_NONNULL(1, 2, 4, 5);

#endif
