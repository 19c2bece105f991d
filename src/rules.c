/* rules.c — see rules.h. The rejection table is a small array of (device, host) pairs under a
 * mutex: it is touched once per intercepted tunnel, never per byte. Times are wall-clock seconds
 * (entries are shown to the user with their expiry); the *_at functions take the time so the unit
 * test can move it. */
#include "rules.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Services whose clients pin their certificates (or use a trust store of their own), so on a real
 * phone they refuse any proxy CA and fill the list with refusals before the user's app sends
 * anything. Only hosts no third-party app talks to: intercepting *.googleapis.com would hide
 * Firebase and Maps traffic developers do want to see. docs/PASSTHROUGH.md explains each. */
static const char *const builtin[] = {
    /* Apple: push, iCloud, App Store, software update, Apple ID, Siri */
    "*.apple.com", "*.icloud.com", "*.icloud-content.com", "*.apple-cloudkit.com",
    "*.mzstatic.com", "*.cdn-apple.com",
    /* Google Play services and the Play Store on Android */
    "android.clients.google.com", "android.googleapis.com", "play.googleapis.com",
    "play-fe.googleapis.com", "mtalk.google.com",
};

struct tracked {
    char client[64];
    char host[256];
    int rejections;
    int passthrough;    /* 1 once auto_after rejections were seen (until expires) */
    int device_trusted; /* the device trusted the CA for other hosts when it switched */
    time_t since, expires;
};

struct rules {
    struct rules_config c;
    pthread_mutex_t lock;
    struct tracked *pairs;
    size_t npairs;
};

struct rules *rules_new(const struct rules_config *c)
{
    struct rules *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = *c;
    if (r->c.auto_ttl <= 0)
        r->c.auto_ttl = RULES_DEFAULT_AUTO_TTL;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void rules_free(struct rules *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->pairs);
    free(r);
}

int rules_builtin_enabled(const struct rules *r)
{
    return r->c.builtin;
}

const char *rules_builtin_at(size_t i)
{
    return i < sizeof builtin / sizeof *builtin ? builtin[i] : NULL;
}

int rules_glob_match(const char *glob, const char *host, int port)
{
    /* The glob as it is when it has no ":port" to cut off (every built-in one): a CONNECT
     * checks the whole list two or three times, and the copy was most of each check's cost. */
    const char *last = strrchr(glob, ':');
    if (!(last && !strchr(glob, ']') && strchr(glob, ':') == last) && strlen(glob) < 300) {
        if (!strncmp(glob, "*.", 2) && !strcasecmp(glob + 2, host))
            return 1;
        return fnmatch(glob, host, FNM_CASEFOLD) == 0;
    }
    char pat[300];
    snprintf(pat, sizeof pat, "%s", glob);
    char *colon = strrchr(pat, ':');
    if (colon && !strchr(pat, ']') && strchr(pat, ':') == colon) { /* "host:port", not IPv6 */
        *colon = '\0';
        if (atoi(colon + 1) != port)
            return 0;
    }
    /* "*.example.com" also covers example.com itself, as users of Charles expect */
    if (!strncmp(pat, "*.", 2) && !strcasecmp(pat + 2, host))
        return 1;
    return fnmatch(pat, host, FNM_CASEFOLD) == 0;
}

static int any_match(const char *const *globs, size_t n, const char *host, int port)
{
    for (size_t i = 0; i < n; i++)
        if (rules_glob_match(globs[i], host, port))
            return 1;
    return 0;
}

/* An entry that carries nothing any more: no count, no live passthrough. */
static int spent(const struct tracked *t, time_t now)
{
    return t->passthrough ? now >= t->expires : t->rejections == 0;
}

static void forget(struct rules *r, size_t i)
{
    r->pairs[i] = r->pairs[--r->npairs];
}

static struct tracked *find(struct rules *r, const char *client, const char *host, int create,
                            time_t now)
{
    for (size_t i = 0; i < r->npairs; i++) {
        struct tracked *t = &r->pairs[i];
        if (!strcasecmp(t->host, host) && !strcmp(t->client, client)) {
            if (t->passthrough && now >= t->expires) /* expired: counting starts over */
                memset(&t->rejections, 0, sizeof *t - offsetof(struct tracked, rejections));
            return t;
        }
    }
    if (!create)
        return NULL;
    if (r->npairs >= RULES_MAX_TRACKED) /* full: make room from what has expired */
        for (size_t i = r->npairs; i-- > 0;)
            if (spent(&r->pairs[i], now))
                forget(r, i);
    if (r->npairs >= RULES_MAX_TRACKED)
        return NULL;
    if (r->npairs % 64 == 0) {
        struct tracked *n = realloc(r->pairs, (r->npairs + 64) * sizeof *n);
        if (!n)
            return NULL;
        r->pairs = n;
    }
    struct tracked *t = &r->pairs[r->npairs++];
    memset(t, 0, sizeof *t);
    snprintf(t->client, sizeof t->client, "%s", client);
    snprintf(t->host, sizeof t->host, "%s", host);
    return t;
}

static int intercept_at(struct rules *r, const char *client, const char *host, int port,
                        const char **why, time_t now)
{
    *why = NULL;
    if (any_match(r->c.passthrough, r->c.npassthrough, host, port)) {
        *why = "--passthrough rule";
        return 0;
    }
    int asked = any_match(r->c.intercept, r->c.nintercept, host, port);
    if (r->c.nintercept && !asked) {
        *why = "not matched by any --intercept rule";
        return 0;
    }
    /* an --intercept glob naming the host is the user asking for it: it beats the built-in list */
    if (r->c.builtin && !asked &&
        any_match(builtin, sizeof builtin / sizeof *builtin, host, port)) {
        *why = "built-in passthrough: a platform service that pins its certificates "
               "(--no-default-passthrough intercepts it)";
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    struct tracked *t = find(r, client, host, 0, now);
    int pass = t && t->passthrough;
    pthread_mutex_unlock(&r->lock);
    if (pass) {
        *why = "automatic passthrough: this device refused httpeek's certificate for this host";
        return 0;
    }
    return 1;
}

int rules_intercept(struct rules *r, const char *client, const char *host, int port, const char **why)
{
    return intercept_at(r, client, host, port, why, time(NULL));
}

static int rejected_at(struct rules *r, const char *client, const char *host, int device_trusted,
                       time_t now)
{
    if (r->c.auto_after <= 0)
        return 0;
    int switched = 0;
    pthread_mutex_lock(&r->lock);
    struct tracked *t = find(r, client, host, 1, now);
    if (t && !t->passthrough && ++t->rejections >= r->c.auto_after) {
        t->passthrough = switched = 1;
        t->device_trusted = device_trusted;
        t->since = now;
        t->expires = now + r->c.auto_ttl;
    }
    pthread_mutex_unlock(&r->lock);
    return switched;
}

int rules_client_rejected(struct rules *r, const char *client, const char *host, int device_trusted)
{
    return rejected_at(r, client, host, device_trusted, time(NULL));
}

static void accepted_at(struct rules *r, const char *client, const char *host, time_t now)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = r->npairs; i-- > 0;) {
        struct tracked *t = &r->pairs[i];
        if (strcmp(t->client, client))
            continue;
        if (!strcasecmp(t->host, host)) {
            if (!t->passthrough)
                t->rejections = 0;
        } else if (t->passthrough && !t->device_trusted) {
            /* made while the device did not trust the CA yet: now it does, so the refusals
             * were most likely that, not pinning; intercept again (a pinning app refuses again
             * and earns a new entry) */
            t->passthrough = t->rejections = 0;
        }
        if (spent(t, now))
            forget(r, i);
    }
    pthread_mutex_unlock(&r->lock);
}

void rules_client_accepted(struct rules *r, const char *client, const char *host)
{
    accepted_at(r, client, host, time(NULL));
}

static size_t auto_list_at(struct rules *r, struct rules_auto *out, size_t max, time_t now)
{
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->npairs && n < max; i++) {
        const struct tracked *t = &r->pairs[i];
        if (!t->passthrough || now >= t->expires)
            continue;
        struct rules_auto *o = &out[n++];
        memcpy(o->client, t->client, sizeof o->client);
        memcpy(o->host, t->host, sizeof o->host);
        o->rejections = t->rejections;
        o->device_trusted = t->device_trusted;
        o->since = t->since;
        o->expires = t->expires;
    }
    pthread_mutex_unlock(&r->lock);
    /* oldest first: the order they happened in */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j].since < out[j - 1].since; j--) {
            struct rules_auto tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}

size_t rules_auto_list(struct rules *r, struct rules_auto *out, size_t max)
{
    return auto_list_at(r, out, max, time(NULL));
}

int rules_auto_remove(struct rules *r, const char *client, const char *host)
{
    int found = -1;
    time_t now = time(NULL);
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->npairs; i++) {
        struct tracked *t = &r->pairs[i];
        if (!strcmp(t->client, client) && !strcasecmp(t->host, host) && t->passthrough &&
            now < t->expires) {
            forget(r, i);
            found = 0;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}
