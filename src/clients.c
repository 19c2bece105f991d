/* clients.c — see clients.h. A small array under a mutex: touched a few times per exchange. */
#include "clients.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct client {
    char addr[64];
    struct client_summary s;
    char refused_hosts[CLIENTS_REFUSED_HOSTS][128];
    unsigned nrefused_hosts;
    int hinted_untrusted;   /* the "CA downloaded but not trusted" hint was printed */
    int hinted_pinning;     /* the "refuses only some hosts" hint was printed */
    time_t last_seen;
};

struct clients {
    pthread_mutex_t lock;
    FILE *out;
    struct client list[CLIENTS_MAX];
    size_t n;
    void (*listener)(void *arg);
    void *listener_arg;
};

struct clients *clients_new(FILE *out)
{
    struct clients *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->out = out;
    return t;
}

void clients_free(struct clients *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static struct client *find(struct clients *t, const char *addr, int create)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->list[i].addr, addr))
            return &t->list[i];
    if (!create)
        return NULL;
    size_t slot = t->n;
    if (t->n == CLIENTS_MAX) { /* forget the client seen least recently */
        slot = 0;
        for (size_t i = 1; i < t->n; i++)
            if (t->list[i].last_seen < t->list[slot].last_seen)
                slot = i;
    } else {
        t->n++;
    }
    struct client *c = &t->list[slot];
    memset(c, 0, sizeof *c);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    return c;
}

/* Keep host in c's list of hosts refusing our certificate (most recent last, oldest dropped). */
static void remember_refused(struct client *c, const char *host)
{
    unsigned i;
    for (i = 0; i < c->nrefused_hosts; i++)
        if (!strcmp(c->refused_hosts[i], host))
            break;
    if (i == c->nrefused_hosts && c->nrefused_hosts == CLIENTS_REFUSED_HOSTS)
        i = 0; /* full: drop the oldest */
    else if (i == c->nrefused_hosts)
        c->nrefused_hosts++;
    for (; i + 1 < c->nrefused_hosts; i++)
        memcpy(c->refused_hosts[i], c->refused_hosts[i + 1], sizeof c->refused_hosts[i]);
    snprintf(c->refused_hosts[c->nrefused_hosts - 1], sizeof c->refused_hosts[0], "%s", host);
}

static void notify(struct clients *t)
{
    pthread_mutex_lock(&t->lock);
    void (*fn)(void *) = t->listener;
    void *arg = t->listener_arg;
    pthread_mutex_unlock(&t->lock);
    if (fn)
        fn(arg);
}

void clients_set_listener(struct clients *t, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&t->lock);
    t->listener = fn;
    t->listener_arg = arg;
    pthread_mutex_unlock(&t->lock);
}

size_t clients_list(struct clients *t, struct client_info *out, size_t max)
{
    pthread_mutex_lock(&t->lock);
    size_t n = 0;
    for (size_t i = 0; i < t->n && n < max; i++) {
        const struct client *c = &t->list[i];
        struct client_info *o = &out[n++];
        memcpy(o->addr, c->addr, sizeof o->addr);
        o->s = c->s;
        memcpy(o->refused_hosts, c->refused_hosts, sizeof o->refused_hosts);
        o->nrefused_hosts = c->nrefused_hosts;
        o->last_seen = (long)c->last_seen;
    }
    pthread_mutex_unlock(&t->lock);
    /* most recently seen first: a phone just set up belongs at the top */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j].last_seen > out[j - 1].last_seen; j--) {
            struct client_info tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}

void clients_note(struct clients *t, const char *addr, enum client_event ev, const char *host)
{
    pthread_mutex_lock(&t->lock);
    struct client *c = find(t, addr, 1);
    c->last_seen = time(NULL);
    switch (ev) {
    case CLIENT_PROXIED: c->s.proxied++; break;
    case CLIENT_CA_DOWNLOADED: c->s.ca_downloads++; break;
    case CLIENT_TLS_TRUSTED: c->s.tls_trusted++; break;
    case CLIENT_TLS_REFUSED: c->s.tls_refused++; break;
    }
    if (ev == CLIENT_TLS_REFUSED && host)
        remember_refused(c, host);
    /* Hints for what a proxy cannot see: once per client, on the terminal. */
    if (ev == CLIENT_TLS_REFUSED && t->out) {
        const char *who = c->s.device[0] ? c->s.device : "";
        if (!c->s.tls_trusted && !c->hinted_untrusted) {
            c->hinted_untrusted = 1;
            fprintf(t->out,
                    "hint: client %s %s refuses httpeek's certificate%s. %s\n", addr, who,
                    c->s.ca_downloads ? " although it downloaded the CA" : "",
                    c->s.ca_downloads
                        ? "On iOS, enable full trust: Settings > General > About > Certificate Trust "
                          "Settings > httpeek CA. On Android 7+, the app must trust user CAs "
                          "(network_security_config)."
                        : "Install and trust the CA from the setup page (http://PROXY:PORT/).");
        } else if (c->s.tls_trusted && !c->hinted_pinning) {
            c->hinted_pinning = 1;
            fprintf(t->out,
                    "hint: client %s %s trusts httpeek's CA but refuses it for %s: that app pins "
                    "its certificate (the host is passed through after repeated refusals).\n",
                    addr, who, host ? host : "a host");
        }
        fflush(t->out);
    }
    pthread_mutex_unlock(&t->lock);
    notify(t);
}

void clients_name_from_ua(const char *ua, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *cf = strstr(ua, "CFNetwork/");
    if (cf) {
        /* "MyApp/1.2.3 (build) CFNetwork/1494 Darwin/23.0.0" → "iOS app MyApp/1.2.3" */
        size_t n = strcspn(ua, " ");
        snprintf(out, outlen, "(iOS/macOS app %.*s)", (int)(n < 60 ? n : 60), ua);
        return;
    }
    const char *ok = strcasestr(ua, "okhttp/");
    if (ok) {
        snprintf(out, outlen, "(Android %.*s)", (int)strcspn(ok, " ;)"), ok);
        return;
    }
    const char *dart = strstr(ua, "Dart/");
    if (dart) {
        snprintf(out, outlen, "(Flutter %.*s)", (int)strcspn(dart, " ;)"), dart);
        return;
    }
    if (strstr(ua, "iPhone"))
        snprintf(out, outlen, "(iPhone browser)");
    else if (strstr(ua, "Android"))
        snprintf(out, outlen, "(Android browser)");
    else if (!strncmp(ua, "curl/", 5))
        snprintf(out, outlen, "(%.*s)", (int)strcspn(ua, " "), ua);
}

void clients_user_agent(struct clients *t, const char *addr, const char *ua)
{
    char name[96];
    clients_name_from_ua(ua, name, sizeof name);
    if (!name[0])
        return;
    pthread_mutex_lock(&t->lock);
    struct client *c = find(t, addr, 1);
    int changed = strcmp(c->s.device, name) && (!c->s.device[0] || strstr(name, "app"));
    if (changed)
        snprintf(c->s.device, sizeof c->s.device, "%s", name);
    pthread_mutex_unlock(&t->lock);
    if (changed)
        notify(t);
}

int clients_get(struct clients *t, const char *addr, struct client_summary *out)
{
    pthread_mutex_lock(&t->lock);
    struct client *c = find(t, addr, 0);
    if (c)
        *out = c->s;
    else
        memset(out, 0, sizeof *out);
    pthread_mutex_unlock(&t->lock);
    return c != NULL;
}
