/* ruleset_file.c — see ruleset_file.h. */
#include "ruleset_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void make_etag(const char *text, size_t len, char *etag, size_t etaglen)
{
    unsigned long long h = 1469598103934665603ull; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
    snprintf(etag, etaglen, "\"r-%016llx\"", h);
}

/* The command line's rules, then text's (len 0: none). NULL with err on error. */
static struct ruleset *build(struct ruleset_file *rf, const char *text, size_t len, char *err,
                             size_t errlen)
{
    struct ruleset *s = ruleset_new();
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < rf->nshort; i++)
        if (ruleset_add_short(s, (enum rule_action)rf->kinds[i], rf->specs[i], err, errlen) < 0) {
            ruleset_release(s);
            return NULL;
        }
    rf->ncli = s->n;
    size_t skip = strspn(text, " \t\r\n");
    if (skip == len)
        return s; /* an empty file is no rules */
    char why[400];
    s = ruleset_parse(text, len, s, why, sizeof why);
    if (!s)
        snprintf(err, errlen, "%s %s", rf->path, why);
    return s;
}

/* The file's text (absent: ""), or NULL with err. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            *len = 0;
            return strdup("");
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            if (cap > (1u << 24)) {
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
                goto bad;
            }
            char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto bad;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto bad;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
bad:
    fclose(f);
    free(buf);
    return NULL;
}

int ruleset_file_init(struct ruleset_file *rf, const char *path, const unsigned char *kinds,
                      const char *const *specs, size_t nshort, char *err, size_t errlen)
{
    memset(rf, 0, sizeof *rf);
    pthread_mutex_init(&rf->lock, NULL);
    rf->kinds = kinds;
    rf->specs = specs;
    rf->nshort = nshort;
    if (!(rf->path = strdup(path)) || !(rf->text = strdup(""))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    make_etag("", 0, rf->etag, sizeof rf->etag);
    return ruleset_file_reload(rf, err, errlen);
}

int ruleset_file_reload(struct ruleset_file *rf, char *err, size_t errlen)
{
    size_t len;
    char *text = read_file(rf->path, &len, err, errlen);
    if (!text)
        return -1;
    pthread_mutex_lock(&rf->lock);
    size_t ncli = rf->ncli;
    struct ruleset *s = build(rf, text, len, err, errlen);
    if (!s) {
        rf->ncli = ncli;
        pthread_mutex_unlock(&rf->lock);
        free(text);
        return -1;
    }
    free(rf->text);
    rf->text = text;
    rf->len = len;
    make_etag(text, len, rf->etag, sizeof rf->etag);
    ruleset_holder_swap(&rf->holder, s);
    pthread_mutex_unlock(&rf->lock);
    return 0;
}

int ruleset_file_get(struct ruleset_file *rf, char **text, char **cli, char *etag, size_t etaglen)
{
    pthread_mutex_lock(&rf->lock);
    *text = strdup(rf->text[strspn(rf->text, " \t\r\n")] ? rf->text
                                                          : "{\"version\": 1, \"rules\": []}\n");
    snprintf(etag, etaglen, "%s", rf->etag);
    *cli = NULL;
    struct ruleset *s = ruleset_new();
    for (size_t i = 0; s && i < rf->nshort; i++) {
        char e[8];
        if (ruleset_add_short(s, (enum rule_action)rf->kinds[i], rf->specs[i], e, sizeof e) < 0)
            break;
    }
    if (s)
        *cli = ruleset_to_json(s, 0);
    ruleset_release(s);
    pthread_mutex_unlock(&rf->lock);
    if (!*text || !*cli) {
        free(*text);
        free(*cli);
        return -1;
    }
    return 0;
}

/* Write text to path through a temporary file renamed over it (never half a file). */
static int write_atomically(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, n, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(text, 1, len, f) == len;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

enum ruleset_put ruleset_file_put(struct ruleset_file *rf, const char *text, size_t len,
                                  const char *if_match, char *etag, size_t etaglen, char *err,
                                  size_t errlen)
{
    pthread_mutex_lock(&rf->lock);
    enum ruleset_put r = RULESET_PUT_OK;
    struct ruleset *s = NULL;
    char *copy = NULL;
    if (if_match && strcmp(if_match, "*") && strcmp(if_match, rf->etag)) {
        snprintf(err, errlen, "the rules changed since they were read (ETag %s, If-Match %.40s): "
                 "read them again", rf->etag, if_match);
        r = RULESET_PUT_CONFLICT;
    } else if (!(s = build(rf, text, len, err, errlen))) {
        r = RULESET_PUT_INVALID;
    } else if (!(copy = malloc(len + 1))) {
        snprintf(err, errlen, "out of memory");
        r = RULESET_PUT_IO;
    } else if (write_atomically(rf->path, text, len, err, errlen) < 0) {
        r = RULESET_PUT_IO;
    } else {
        memcpy(copy, text, len);
        copy[len] = '\0';
        free(rf->text);
        rf->text = copy;
        rf->len = len;
        copy = NULL;
        make_etag(text, len, rf->etag, sizeof rf->etag);
        ruleset_holder_swap(&rf->holder, s);
        s = NULL;
    }
    snprintf(etag, etaglen, "%s", rf->etag);
    pthread_mutex_unlock(&rf->lock);
    free(copy);
    ruleset_release(s);
    return r;
}

void ruleset_file_free(struct ruleset_file *rf)
{
    if (!rf)
        return;
    ruleset_holder_swap(&rf->holder, NULL);
    free(rf->path);
    free(rf->text);
    pthread_mutex_destroy(&rf->lock);
    rf->path = rf->text = NULL;
}
