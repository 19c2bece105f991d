/* clients.h — what httpeek knows about each client address (a phone, a simulator): whether it
 * uses the proxy, fetched the CA, completed a trusted TLS handshake, which hosts refused our
 * certificate, what device it is and which apps on it sent what (User-Agent). Feeds the setup page
 * ("is this device set up?"), the clients panel (its checklist is the device's history: clearing
 * the flow list does not clear it) and one-time hints on the terminal for what the proxy cannot
 * see directly (a CA that was downloaded but not trusted, an app that pins). Shared by all
 * workers; thread-safe. */
#ifndef HTTPEEK_CLIENTS_H
#define HTTPEEK_CLIENTS_H

#include <stddef.h>
#include <stdio.h>
#include "attrib.h"

/* Most client addresses remembered (oldest forgotten first). */
#define CLIENTS_MAX 256
/* Most apps remembered per client (the least recently seen is forgotten first). */
#define CLIENTS_MAX_APPS 12
/* Most hosts remembered per client, and per app, as refusing httpeek's certificate. */
#define CLIENTS_REFUSED_HOSTS 8

enum client_event {
    CLIENT_PROXIED,       /* sent a proxy request (absolute-form or CONNECT) */
    CLIENT_CA_DOWNLOADED, /* fetched ca-cert.* or the iOS profile */
};

struct clients;

/* New empty table writing hints to out (may be NULL). Free with clients_free. */
struct clients *clients_new(FILE *out) HP_WUNRES;
void clients_free(struct clients *t);

/* Record an event for client address addr. */
void clients_note(struct clients *t, const char *addr, enum client_event ev) HP_NONNULL(1, 2);

/* addr sent a request to another server than httpeek's own pages, with User-Agent ua (NULL when
 * it sent none); via_tls: inside an intercepted TLS tunnel (the device trusts httpeek's CA for it). */
void clients_request(struct clients *t, const char *addr, const char *ua, int via_tls)
    HP_NONNULL(1, 2);

/* clients_request (via_tls 0) and clients_note (CLIENT_PROXIED) in one: a plain request through
 * the proxy (per request on a worker: one lock, one look-up, one notification). */
void clients_plain_request(struct clients *t, const char *addr, const char *ua) HP_NONNULL(1, 2);

/* What the device and the app knew before a refusal: filled by clients_tls_refused. */
struct client_trust {
    unsigned device_trusted; /* requests this device sent through intercepted tunnels */
    unsigned app_trusted;    /* of those, from the app that refused */
};

/* addr refused httpeek's certificate for host (an alert, or a close right after the handshake);
 * ua is the CONNECT's User-Agent (names the app; NULL when none). Fills *before with what was known
 * before this refusal (may be NULL). */
void clients_tls_refused(struct clients *t, const char *addr, const char *host, const char *ua,
                         struct client_trust *before) HP_NONNULL(1, 2, 3);

/* Counts for addr (0 when unknown). */
struct client_summary {
    unsigned proxied, ca_downloads, tls_trusted, tls_refused;
    unsigned app_requests;  /* requests to servers other than httpeek's own pages */
    char device[96];        /* the device from its User-Agents ("iPhone, iOS 17.4"), "" unknown */
};
int clients_get(struct clients *t, const char *addr, struct client_summary *out) HP_NONNULL(1, 2, 3);

/* One app on a client, named from its User-Agent. */
struct client_app {
    char name[64];      /* "MyApp/1.2", "Safari 17", "okhttp/4.12.0" */
    char ua[192];       /* the first User-Agent seen from it */
    unsigned requests;  /* requests seen (plain or intercepted) */
    unsigned trusted;   /* of those, inside intercepted TLS tunnels */
    unsigned refused;   /* refusals of httpeek's certificate */
    char refused_hosts[CLIENTS_REFUSED_HOSTS][128]; /* most recent last */
    unsigned nrefused_hosts;
    long last_seen;     /* unix time */
};

/* One client as the viewer shows it. */
struct client_info {
    char addr[64];
    struct client_summary s;
    char refused_hosts[CLIENTS_REFUSED_HOSTS][128]; /* hosts that refused, most recent last */
    unsigned nrefused_hosts;
    long last_seen;                                 /* unix time */
    struct client_app apps[CLIENTS_MAX_APPS];       /* most recently seen first */
    unsigned napps;
};

/* Copy up to max clients into out (most recently seen first); returns how many. */
size_t clients_list(struct clients *t, struct client_info *out, size_t max) HP_NONNULL(1, 2);

/* Call fn(arg) after every change (outside the table's lock; from any thread). */
void clients_set_listener(struct clients *t, void (*fn)(void *arg), void *arg) HP_NONNULL(1);

#endif
