/* setup.h — the pages httpeek serves itself: a plain (non-proxy) request to the proxy port, or a
 * proxied request to http(s)://httpeek.test/, gets the setup page, the CA downloads, the iOS
 * profile and the PAC file. Only public material is ever served here (never flows, never the
 * CA key). */
#ifndef HTTPEEK_SETUP_H
#define HTTPEEK_SETUP_H

#include <netinet/in.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "ca.h"

/* The host name that always means httpeek itself. */
#define SETUP_HOST "httpeek.test"

/* How other devices reach the proxy: worked out once at start-up from the bound listeners and
 * this machine's interfaces (banner_reach), printed by the banner and shown on the setup page. */
#define SETUP_MAX_LAN 8
struct setup_reach {
    int loopback_only; /* every proxy listener is on 127.0.0.0/8 or ::1: no other device can connect */
    int nlan;          /* entries in lan[] */
    struct {
        char ifname[16];                 /* "eth0", "wlan0" ("" for an address given to --listen) */
        char host[INET6_ADDRSTRLEN + 2]; /* "192.168.1.20", "[fd00::2]" */
        int port;                        /* the proxy port on it (0 when loopback_only) */
    } lan[SETUP_MAX_LAN]; /* addresses a phone can use; when loopback_only, the ones a
                             --listen 0.0.0.0 would serve (IPv4) */
};

/* What the setup page knows about the asking client. */
struct setup_client {
    const char *proxy_hostport; /* "192.168.1.20:8080": the local address of the accepted socket,
                                   i.e. the proxy as this client reached it (never the Host header,
                                   which is httpeek.test through the proxy). By construction the
                                   client can reach it; it is loopback only for a client on this
                                   machine (a simulator, curl, adb reverse). */
    int via_proxy;              /* 1 when the request came through the proxy (httpeek.test) */
    int via_tls;                /* 1 when it came inside an intercepted TLS tunnel */
    unsigned proxied;           /* proxy requests seen from this address so far */
    unsigned tls_trusted;       /* intercepted TLS tunnels it sent requests through */
    unsigned tls_refused;       /* times it refused httpeek's certificate */
    const struct setup_reach *reach; /* how devices reach the proxy (borrowed; NULL: assume a
                                        LAN-reachable proxy) */
};

/* 1 when host:port (as in proxy_hostport) is a loopback address (127.0.0.0/8, ::1). */
int setup_is_loopback(const char *hostport) HP_NONNULL(1);

/* 1 when path is one of the CA downloads (ca-cert.pem/.cer/.crt, the iOS profile). */
int setup_is_ca_download(const char *path) HP_NONNULL(1);

/* Append a complete response for path (origin-form, query ignored) to out; returns its status.
 * close adds "Connection: close". */
int setup_respond(struct evbuffer *out, const char *path, int head_only, struct ca *ca,
                  const struct setup_client *client, int close) HP_NONNULL(1, 2, 4, 5);

#endif
