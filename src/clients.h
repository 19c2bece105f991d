/* clients.h — what httpeek knows about each client address (a phone, a simulator): whether it
 * uses the proxy, fetched the CA, completed a trusted TLS handshake, which hosts refused our
 * certificate, and what its User-Agent says it is. Feeds the setup page ("is this device set
 * up?") and one-time hints on the terminal for what the proxy cannot see directly (a CA that was
 * downloaded but not trusted, an app that pins). Shared by all workers; thread-safe. */
#ifndef HTTPEEK_CLIENTS_H
#define HTTPEEK_CLIENTS_H

#include <stddef.h>
#include <stdio.h>
#include "attrib.h"

/* Most client addresses remembered (oldest forgotten first). */
#define CLIENTS_MAX 256

enum client_event {
    CLIENT_PROXIED,       /* sent a proxy request (absolute-form or CONNECT) */
    CLIENT_CA_DOWNLOADED, /* fetched ca-cert.* or the iOS profile */
    CLIENT_TLS_TRUSTED,   /* sent a request inside an intercepted TLS tunnel */
    CLIENT_TLS_REFUSED,   /* refused our certificate (alert) or closed right after the handshake */
};

struct clients;

/* New empty table writing hints to out (may be NULL). Free with clients_free. */
struct clients *clients_new(FILE *out) HP_WUNRES;
void clients_free(struct clients *t);

/* Record an event for client address addr; host is the tunnel host for CLIENT_TLS_REFUSED. */
void clients_note(struct clients *t, const char *addr, enum client_event ev, const char *host)
    HP_NONNULL(1, 2);

/* Remember a User-Agent seen from addr (names the device/app: "MyApp/1.2 CFNetwork ... Darwin"). */
void clients_user_agent(struct clients *t, const char *addr, const char *ua) HP_NONNULL(1, 2, 3);

/* Counts for addr (0 when unknown). */
struct client_summary {
    unsigned proxied, ca_downloads, tls_trusted, tls_refused;
    char device[96];  /* a short name from the User-Agent, "" when unknown */
};
int clients_get(struct clients *t, const char *addr, struct client_summary *out) HP_NONNULL(1, 2, 3);

/* Most hosts remembered per client as refusing httpeek's certificate. */
#define CLIENTS_REFUSED_HOSTS 8

/* One client as the viewer shows it. */
struct client_info {
    char addr[64];
    struct client_summary s;
    char refused_hosts[CLIENTS_REFUSED_HOSTS][128]; /* hosts that refused, most recent last */
    unsigned nrefused_hosts;
    long last_seen;                                 /* unix time */
};

/* Copy up to max clients into out (most recently seen first); returns how many. */
size_t clients_list(struct clients *t, struct client_info *out, size_t max) HP_NONNULL(1, 2);

/* Call fn(arg) after every change (outside the table's lock; from any thread). */
void clients_set_listener(struct clients *t, void (*fn)(void *arg), void *arg) HP_NONNULL(1);

/* A short device/app name from a User-Agent ("iOS app MyApp 1.2", "Android okhttp/4.12"). */
void clients_name_from_ua(const char *ua, char *out, size_t outlen) HP_NONNULL(1, 2);

#endif
