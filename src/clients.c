/* clients.c — see clients.h. A small array under a mutex: touched a few times per exchange. */
#include "clients.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "useragent.h"

struct client {
    char addr[64];
    struct client_summary s;
    enum ua_specificity device_spec; /* how specific s.device is: a better name replaces it */
    char refused_hosts[CLIENTS_REFUSED_HOSTS][128];
    unsigned nrefused_hosts;
    struct client_app apps[CLIENTS_MAX_APPS];
    unsigned napps;
    /* the last User-Agent seen and its app: an app sends the same one request after request,
     * so the worker's per-request cost is a strcmp, not a parse */
    char last_ua[sizeof ((struct client_app *)0)->ua];
    struct client_app *last_app;
    int hinted_untrusted;   /* the "CA downloaded but not trusted" hint was printed */
    int hinted_pinning;     /* the "this app pins" hint was printed */
    time_t last_seen;
};

struct clients {
    pthread_mutex_t lock;
    FILE *out;
    struct client *list; /* CLIENTS_MAX of them */
    size_t n;
    void (*listener)(void *arg);
    void *listener_arg;
};

struct clients *clients_new(FILE *out)
{
    struct clients *t = calloc(1, sizeof *t);
    if (!t || !(t->list = calloc(CLIENTS_MAX, sizeof *t->list))) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->out = out;
    return t;
}

void clients_free(struct clients *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->list);
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

/* Keep host in a list of hosts refusing our certificate (most recent last, oldest dropped). */
static void remember_refused(char hosts[][128], unsigned *n, const char *host)
{
    unsigned i;
    for (i = 0; i < *n; i++)
        if (!strcmp(hosts[i], host))
            break;
    if (i == *n && *n == CLIENTS_REFUSED_HOSTS)
        i = 0; /* full: drop the oldest */
    else if (i == *n)
        (*n)++;
    for (; i + 1 < *n; i++)
        memcpy(hosts[i], hosts[i + 1], sizeof hosts[i]);
    snprintf(hosts[*n - 1], sizeof hosts[0], "%s", host);
}

/* The app of c named by ua (created; the least recently seen is replaced when full); NULL for a
 * request without a User-Agent. */
static struct client_app *app_of(struct client *c, const char *ua, time_t now)
{
    if (!ua || !ua[0])
        return NULL;
    char name[sizeof c->apps[0].name];
    ua_app(ua, name, sizeof name);
    struct client_app *a = NULL;
    for (unsigned i = 0; i < c->napps && !a; i++)
        if (!strcmp(c->apps[i].name, name))
            a = &c->apps[i];
    if (!a) {
        if (c->napps < CLIENTS_MAX_APPS) {
            a = &c->apps[c->napps++];
        } else {
            a = &c->apps[0];
            for (unsigned i = 1; i < c->napps; i++)
                if (c->apps[i].last_seen < a->last_seen)
                    a = &c->apps[i];
        }
        memset(a, 0, sizeof *a);
        memcpy(a->name, name, sizeof a->name);
        snprintf(a->ua, sizeof a->ua, "%s", ua);
    }
    a->last_seen = (long)now;
    return a;
}

/* Name the device from ua when it says more than what is known (an app's bare "okhttp/4.12"
 * never replaces "Pixel 8, Android 14"). Returns 1 when the name changed. */
static int name_device(struct client *c, const char *ua)
{
    char name[sizeof c->s.device];
    enum ua_specificity spec = ua_device(ua, name, sizeof name);
    if (spec <= c->device_spec && c->s.device[0])
        return 0;
    if (spec == UA_DEVICE_NONE || !strcmp(name, c->s.device))
        return 0;
    memcpy(c->s.device, name, sizeof name);
    c->device_spec = spec;
    return 1;
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
        memcpy(o->apps, c->apps, c->napps * sizeof *c->apps);
        o->napps = c->napps;
    }
    pthread_mutex_unlock(&t->lock);
    for (size_t k = 0; k < n; k++) { /* apps most recently seen first */
        struct client_app *a = out[k].apps;
        for (unsigned i = 1; i < out[k].napps; i++)
            for (unsigned j = i; j > 0 && a[j].last_seen > a[j - 1].last_seen; j--) {
                struct client_app tmp = a[j];
                a[j] = a[j - 1];
                a[j - 1] = tmp;
            }
    }
    /* most recently seen first: a phone just set up belongs at the top */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j].last_seen > out[j - 1].last_seen; j--) {
            struct client_info tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}

void clients_note(struct clients *t, const char *addr, enum client_event ev)
{
    pthread_mutex_lock(&t->lock);
    struct client *c = find(t, addr, 1);
    c->last_seen = time(NULL);
    if (ev == CLIENT_PROXIED)
        c->s.proxied++;
    else
        c->s.ca_downloads++;
    pthread_mutex_unlock(&t->lock);
    notify(t);
}

/* A request of c (t's lock held): counts, its app; 1 when the checklist changed. */
static int request_locked(struct client *c, const char *ua, int via_tls)
{
    c->last_seen = time(NULL);
    /* the first request of a kind changes the checklist; later ones only counts */
    int changed = !c->s.app_requests || (via_tls && !c->s.tls_trusted);
    c->s.app_requests++;
    c->s.tls_trusted += via_tls != 0;
    struct client_app *a;
    if (ua && c->last_app && !strcmp(ua, c->last_ua)) {
        a = c->last_app;
        a->last_seen = (long)c->last_seen;
    } else {
        if (ua)
            changed |= name_device(c, ua);
        a = c->last_app = app_of(c, ua, c->last_seen);
        snprintf(c->last_ua, sizeof c->last_ua, "%s", a ? ua : "");
    }
    if (a) {
        changed |= a->requests == 0 || (via_tls && !a->trusted);
        a->requests++;
        a->trusted += via_tls != 0;
    }
    return changed;
}

void clients_request(struct clients *t, const char *addr, const char *ua, int via_tls)
{
    pthread_mutex_lock(&t->lock);
    int changed = request_locked(find(t, addr, 1), ua, via_tls);
    pthread_mutex_unlock(&t->lock);
    if (changed)
        notify(t);
}

void clients_plain_request(struct clients *t, const char *addr, const char *ua)
{
    pthread_mutex_lock(&t->lock);
    struct client *c = find(t, addr, 1);
    request_locked(c, ua, 0);
    c->s.proxied++; /* as clients_note(CLIENT_PROXIED): always a change */
    void (*fn)(void *) = t->listener;
    void *arg = t->listener_arg;
    pthread_mutex_unlock(&t->lock);
    if (fn)
        fn(arg);
}

/* Hints for what a proxy cannot see: once per client, on the terminal (under the lock). */
static void hint_refusal(struct clients *t, struct client *c, const struct client_app *a,
                         const char *host)
{
    const char *device = c->s.device[0] ? c->s.device : "unknown device";
    const char *app = a ? a->name : "an app";
    if (!c->s.tls_trusted && !c->hinted_untrusted) {
        c->hinted_untrusted = 1;
        fprintf(t->out, "hint: client %s (%s) refuses httpeek's certificate%s. %s\n", c->addr,
                device, c->s.ca_downloads ? " although it downloaded the CA" : "",
                c->s.ca_downloads
                    ? "On iOS, enable full trust: Settings > General > About > Certificate Trust "
                      "Settings > httpeek CA. On Android 7+, the app must trust user CAs "
                      "(network_security_config)."
                    : "Install and trust the CA: on that device open http://httpeek.test/ (it "
                      "reaches httpeek through the proxy) and follow the steps.");
    } else if (c->s.tls_trusted && !c->hinted_pinning) {
        c->hinted_pinning = 1;
        fprintf(t->out,
                "hint: client %s (%s) trusts httpeek's CA, but %s refuses it for %s: %s pins "
                "its certificate, or uses its own trust store (Flutter/Dart, some SDKs). After "
                "repeated refusals the host is passed through for this device only.\n",
                c->addr, device, app, host, app);
    }
    fflush(t->out);
}

void clients_tls_refused(struct clients *t, const char *addr, const char *host, const char *ua,
                         struct client_trust *before)
{
    pthread_mutex_lock(&t->lock);
    struct client *c = find(t, addr, 1);
    c->last_seen = time(NULL);
    if (ua)
        name_device(c, ua);
    struct client_app *a = app_of(c, ua, c->last_seen);
    c->last_app = NULL; /* app_of may have given its slot to another app */
    if (before) {
        before->device_trusted = c->s.tls_trusted;
        before->app_trusted = a ? a->trusted : 0;
    }
    c->s.tls_refused++;
    remember_refused(c->refused_hosts, &c->nrefused_hosts, host);
    if (a) {
        a->refused++;
        remember_refused(a->refused_hosts, &a->nrefused_hosts, host);
    }
    if (t->out)
        hint_refusal(t, c, a, host);
    pthread_mutex_unlock(&t->lock);
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
