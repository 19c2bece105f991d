/* rules.c — see rules.h. The rejection table is a small array under a mutex: it is touched once
 * per intercepted tunnel, never per byte. */
#include "rules.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tracked {
    char host[256];
    int rejections;
    int passthrough; /* 1 once auto_after rejections were seen */
};

struct rules {
    const char *const *intercept;
    size_t nintercept;
    const char *const *passthrough;
    size_t npassthrough;
    int auto_after;
    pthread_mutex_t lock;
    struct tracked *hosts;
    size_t nhosts;
};

struct rules *rules_new(const char *const *intercept, size_t nintercept,
                        const char *const *passthrough, size_t npassthrough, int auto_after)
{
    struct rules *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->intercept = intercept;
    r->nintercept = nintercept;
    r->passthrough = passthrough;
    r->npassthrough = npassthrough;
    r->auto_after = auto_after;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void rules_free(struct rules *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->hosts);
    free(r);
}

int rules_glob_match(const char *glob, const char *host, int port)
{
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

static struct tracked *find(struct rules *r, const char *host, int create)
{
    for (size_t i = 0; i < r->nhosts; i++)
        if (!strcasecmp(r->hosts[i].host, host))
            return &r->hosts[i];
    if (!create || r->nhosts >= RULES_MAX_TRACKED)
        return NULL;
    if (r->nhosts % 64 == 0) {
        struct tracked *n = realloc(r->hosts, (r->nhosts + 64) * sizeof *n);
        if (!n)
            return NULL;
        r->hosts = n;
    }
    struct tracked *t = &r->hosts[r->nhosts++];
    memset(t, 0, sizeof *t);
    snprintf(t->host, sizeof t->host, "%s", host);
    return t;
}

int rules_intercept(struct rules *r, const char *host, int port, const char **why)
{
    *why = NULL;
    for (size_t i = 0; i < r->npassthrough; i++)
        if (rules_glob_match(r->passthrough[i], host, port)) {
            *why = "--passthrough rule";
            return 0;
        }
    if (r->nintercept) {
        int any = 0;
        for (size_t i = 0; i < r->nintercept && !any; i++)
            any = rules_glob_match(r->intercept[i], host, port);
        if (!any) {
            *why = "not matched by any --intercept rule";
            return 0;
        }
    }
    pthread_mutex_lock(&r->lock);
    struct tracked *t = find(r, host, 0);
    int pass = t && t->passthrough;
    pthread_mutex_unlock(&r->lock);
    if (pass) {
        *why = "automatic passthrough: the client refused httpeek's certificate for this host";
        return 0;
    }
    return 1;
}

int rules_client_rejected(struct rules *r, const char *host)
{
    if (r->auto_after <= 0)
        return 0;
    int switched = 0;
    pthread_mutex_lock(&r->lock);
    struct tracked *t = find(r, host, 1);
    if (t && !t->passthrough && ++t->rejections >= r->auto_after)
        t->passthrough = switched = 1;
    pthread_mutex_unlock(&r->lock);
    return switched;
}

void rules_client_accepted(struct rules *r, const char *host)
{
    pthread_mutex_lock(&r->lock);
    struct tracked *t = find(r, host, 0);
    if (t && !t->passthrough)
        t->rejections = 0;
    pthread_mutex_unlock(&r->lock);
}

size_t rules_auto_list(struct rules *r, char *buf, size_t buflen)
{
    size_t n = 0, used = 0;
    buf[0] = '\0';
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nhosts; i++) {
        if (!r->hosts[i].passthrough)
            continue;
        int w = snprintf(buf + used, buflen - used, "%s\n", r->hosts[i].host);
        if (w < 0 || (size_t)w >= buflen - used)
            break;
        used += (size_t)w;
        n++;
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}
