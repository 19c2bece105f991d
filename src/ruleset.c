/* ruleset.c — see ruleset.h. The model, URL patterns, matching and the holder; the rules.json
 * reader and writer are in ruleset_load.c.
 *
 * Matching cost: a request's host is hashed once; a rule for a plain host is skipped on a hash or
 * length mismatch and a "*.suffix" rule on a suffix compare, so 200 rules cost a few hundred
 * nanoseconds (bench/rules_match.c); globs and regexes run only once the host matched. */
#include "ruleset.h"

#include <regex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rewrite.h"

const char *rule_action_name(enum rule_action a)
{
    switch (a) {
    case RULE_MAP_LOCAL: return "map_local";
    case RULE_MAP_REMOTE: return "map_remote";
    case RULE_BLOCK: return "block";
    case RULE_REWRITE: return "rewrite";
    case RULE_THROTTLE: return "throttle";
    }
    return "?";
}

const char *rule_block_name(enum rule_block b)
{
    switch (b) {
    case RULE_BLOCK_RESET: return "reset";
    case RULE_BLOCK_STATUS: return "status";
    case RULE_BLOCK_DNS: return "dns";
    case RULE_BLOCK_REFUSED: return "refused";
    case RULE_BLOCK_TLS: return "tls";
    case RULE_BLOCK_TIMEOUT: return "timeout";
    case RULE_BLOCK_RESET_BODY: return "reset_body";
    }
    return "?";
}

struct ruleset *ruleset_new(void)
{
    struct ruleset *s = calloc(1, sizeof *s);
    if (s)
        atomic_init(&s->refs, 1);
    return s;
}

struct ruleset *ruleset_retain(struct ruleset *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

static void rule_clear(struct rule *r)
{
    free(r->id);
    free(r->scheme);
    free(r->host);
    free(r->path);
    free(r->path_regex);
    if (r->path_re) {
        regfree(r->path_re);
        free(r->path_re);
    }
    free(r->method);
    free(r->header_name);
    free(r->header_value);
    free(r->client);
    free(r->target);
    rewrite_free(r->rewrite);
    memset(r, 0, sizeof *r);
}

void ruleset_release(struct ruleset *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        rule_clear(&s->rules[i]);
    free(s->rules);
    free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Globs and patterns */

int rule_glob(const char *g, const char *s, int icase)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        char gc = *g, sc = *s;
        if (icase) {
            gc = (char)(gc >= 'A' && gc <= 'Z' ? gc + 32 : gc);
            sc = (char)(sc >= 'A' && sc <= 'Z' ? sc + 32 : sc);
        }
        if (gc == '*') {
            star = ++g;
            resume = s;
        } else if (gc && (gc == '?' || gc == sc)) {
            g++;
            s++;
        } else if (star) {
            g = star;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*g == '*')
        g++;
    return *g == '\0';
}

static unsigned host_hash(const char *s, size_t *len)
{
    unsigned h = 2166136261u; /* FNV-1a */
    const char *p = s;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    *len = (size_t)(p - s);
    return h;
}

/* Precompute the host test of r (after r->host changed). */
static void prepare_host(struct rule *r)
{
    r->host_exact = 0;
    r->host_suffix = NULL;
    if (!r->host || !strcmp(r->host, "*"))
        return;
    for (char *p = r->host; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    if (!strpbrk(r->host, "*?")) {
        r->host_exact = 1;
        r->host_hash = host_hash(r->host, &r->host_len);
    } else if (r->host[0] == '*' && !strpbrk(r->host + 1, "*?")) {
        r->host_suffix = r->host + 1;
        r->suffix_len = strlen(r->host_suffix);
    }
}

int rule_set_pattern(struct rule *r, const char *pat, char *err, size_t errlen)
{
    const char *p = pat, *sep = strstr(pat, "://");
    free(r->scheme);
    free(r->host);
    free(r->path);
    r->scheme = r->host = r->path = NULL;
    r->port = 0;
    if (!*pat) {
        snprintf(err, errlen, "empty URL pattern");
        return -1;
    }
    if (sep) {
        if (sep != pat && strncmp(pat, "*", (size_t)(sep - pat))) {
            r->scheme = strndup(pat, (size_t)(sep - pat));
            if (!r->scheme)
                goto oom;
            for (char *c = r->scheme; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            if (strcmp(r->scheme, "http") && strcmp(r->scheme, "https")) {
                snprintf(err, errlen, "URL pattern '%.200s': scheme must be http, https or *", pat);
                return -1;
            }
        }
        p = sep + 3;
    }
    size_t alen = strcspn(p, "/");
    const char *auth_end = p + alen;
    const char *colon = NULL;
    if (*p == '[') { /* [v6]:port */
        const char *close = memchr(p, ']', alen);
        if (!close) {
            snprintf(err, errlen, "URL pattern '%.200s': unclosed '['", pat);
            return -1;
        }
        r->host = strndup(p + 1, (size_t)(close - p - 1));
        colon = close + 1 < auth_end && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', alen);
        r->host = strndup(p, colon ? (size_t)(colon - p) : alen);
    }
    if (!r->host)
        goto oom;
    if (!r->host[0]) {
        snprintf(err, errlen, "URL pattern '%.200s': no host (use * for any)", pat);
        return -1;
    }
    if (colon && !(auth_end - colon == 2 && colon[1] == '*')) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != auth_end || port < 1 || port > 65535) {
            snprintf(err, errlen, "URL pattern '%.200s': bad port", pat);
            return -1;
        }
        r->port = (int)port;
    }
    if (*auth_end && strcmp(auth_end, "/*") && strcmp(auth_end, "*")) {
        if (!(r->path = strdup(auth_end)))
            goto oom;
    } else {
        /* "/ *", no path at all, or a bare host: every path, and the whole path (or what follows
         * its '/') is the rest a map carries */
        if (!(r->path = strdup(*auth_end ? "/*" : "*")))
            goto oom;
    }
    prepare_host(r);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Matching */

/* The path glob of r against path: with its query when the glob ends in '*' or names a query
 * ('?'), else without ("/v1/users" matches "/v1/users?id=1"). *rest: what the glob's last '*'
 * matched when everything before it is literal ("/v1/ *" without the space), else NULL. */
static int path_matches(const struct rule *r, const char *path, const char **rest)
{
    char buf[2048];
    const char *subject = path;
    const char *q = strchr(path, '?');
    size_t gl = strlen(r->path);
    int ends_star = gl && r->path[gl - 1] == '*';
    if (q && !ends_star && !strchr(r->path, '?')) {
        size_t plen = (size_t)(q - path);
        if (plen >= sizeof buf)
            return 0;
        memcpy(buf, path, plen);
        buf[plen] = '\0';
        subject = buf;
    }
    if (!rule_glob(r->path, subject, 0))
        return 0;
    if (rest)
        *rest = ends_star && !memchr(r->path, '*', gl - 1) && !memchr(r->path, '?', gl - 1)
                    ? path + (gl - 1) : NULL;
    return 1;
}

/* Whether r's host, port, scheme and client predicates take q (hh, hlen: q->host's hash). */
static int reaches(const struct rule *r, const struct rule_request *q, unsigned hh, size_t hlen)
{
    if (r->host_exact) {
        if (r->host_hash != hh || r->host_len != hlen || memcmp(r->host, q->host, hlen))
            return 0;
    } else if (r->host_suffix) {
        if (hlen < r->suffix_len || strcasecmp(q->host + hlen - r->suffix_len, r->host_suffix))
            return 0;
    } else if (r->host && !rule_glob(r->host, q->host, 1)) {
        return 0;
    }
    if (r->port && r->port != q->port)
        return 0;
    if (r->scheme && strcmp(r->scheme, q->scheme))
        return 0;
    if (r->client && !rule_glob(r->client, q->client ? q->client : "", 0))
        return 0;
    return 1;
}

/* Rules of a kind are matched apart: route (map local / remote, block: the first applies),
 * rewrite (each applies in turn), throttle (the first applies). */
enum match_kind { KIND_ROUTE, KIND_REWRITE, KIND_THROTTLE };

static enum match_kind kind_of(enum rule_action a)
{
    return a == RULE_REWRITE ? KIND_REWRITE : a == RULE_THROTTLE ? KIND_THROTTLE : KIND_ROUTE;
}

/* The first enabled rule at or after *from of the kind matching q. */
static const struct rule *match_from(const struct ruleset *s, const struct rule_request *q,
                                     const char **rest, size_t *from, enum match_kind kind)
{
    if (!s || !s->n)
        return NULL;
    size_t hlen;
    unsigned hh = host_hash(q->host, &hlen);
    for (size_t i = *from; i < s->n; i++) {
        const struct rule *r = &s->rules[i];
        if (!r->enabled || kind_of(r->action) != kind || !reaches(r, q, hh, hlen))
            continue;
        if (r->method && strcasecmp(r->method, q->method))
            continue;
        if (r->header_name) {
            const char *v = q->header ? q->header(q->header_arg, r->header_name) : NULL;
            if (!v || (r->header_value && !rule_glob(r->header_value, v, 0)))
                continue;
        }
        if (r->path_re && regexec(r->path_re, q->path, 0, NULL, 0))
            continue;
        if (rest)
            *rest = NULL;
        if (r->path && !path_matches(r, q->path, rest))
            continue;
        *from = i + 1;
        return r;
    }
    return NULL;
}

const struct rule *ruleset_match(const struct ruleset *s, const struct rule_request *q,
                                 const char **rest)
{
    size_t from = 0;
    return match_from(s, q, rest, &from, KIND_ROUTE);
}

const struct rule *ruleset_next_rewrite(const struct ruleset *s, const struct rule_request *q,
                                        size_t *from)
{
    return match_from(s, q, NULL, from, KIND_REWRITE);
}

int rule_set_rewrite(struct rule *r, const char *edit, char *err, size_t errlen)
{
    r->action = RULE_REWRITE;
    if (!(r->target = strdup(edit))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return (r->rewrite = rewrite_parse(edit, err, errlen)) ? 0 : -1;
}

int ruleset_answers_host(const struct ruleset *s, const char *scheme, const char *host, int port,
                         const char *client)
{
    if (!s || !s->n)
        return 0;
    struct rule_request q = {.scheme = scheme, .host = host, .port = port, .client = client,
                             .path = "/", .method = "GET"};
    size_t hlen;
    unsigned hh = host_hash(host, &hlen);
    for (size_t i = 0; i < s->n; i++) {
        const struct rule *r = &s->rules[i];
        if (!r->enabled || kind_of(r->action) != KIND_ROUTE || !reaches(r, &q, hh, hlen))
            continue;
        if (r->action == RULE_MAP_REMOTE)
            return 0; /* some request (or all) goes elsewhere: decided per request */
        if (!r->method && !r->header_name && !r->path_re &&
            (!r->path || !strcmp(r->path, "*") || !strcmp(r->path, "/*")))
            return 1;
        /* a narrower map local / block answers some requests; the rest go on down the list */
    }
    return 0;
}

const struct rule *ruleset_match_throttle(const struct ruleset *s, const struct rule_request *q)
{
    size_t from = 0;
    return match_from(s, q, NULL, &from, KIND_THROTTLE);
}

int ruleset_has_throttle(const struct ruleset *s)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->rules[i].enabled && s->rules[i].action == RULE_THROTTLE)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Building */

struct rule *ruleset_append(struct ruleset *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct rule *nr = realloc(s->rules, cap * sizeof *nr);
        if (!nr)
            return NULL;
        s->rules = nr;
        s->cap = cap;
    }
    struct rule *r = &s->rules[s->n++];
    memset(r, 0, sizeof *r);
    r->enabled = 1;
    return r;
}

void ruleset_drop_last(struct ruleset *s)
{
    if (s->n)
        rule_clear(&s->rules[--s->n]);
}

int rule_parse_block(struct rule *r, const char *how, char *err, size_t errlen)
{
    static const struct { const char *name; enum rule_block b; } names[] = {
        {"reset", RULE_BLOCK_RESET},           {"dns", RULE_BLOCK_DNS},
        {"refused", RULE_BLOCK_REFUSED},       {"tls", RULE_BLOCK_TLS},
        {"timeout", RULE_BLOCK_TIMEOUT},       {"reset-body", RULE_BLOCK_RESET_BODY},
        {"reset_body", RULE_BLOCK_RESET_BODY},
    };
    r->action = RULE_BLOCK;
    r->block = RULE_BLOCK_RESET;
    if (!how || !*how)
        return 0;
    if (how[0] >= '0' && how[0] <= '9') {
        char *end;
        long st = strtol(how, &end, 10);
        if (*end || st < 200 || st > 599) {
            snprintf(err, errlen, "block status '%.40s' must be 200..599", how);
            return -1;
        }
        r->block = RULE_BLOCK_STATUS;
        r->status = (int)st;
        return 0;
    }
    if (!strncmp(how, "timeout:", 8)) {
        char *end;
        double secs = strtod(how + 8, &end);
        if (end == how + 8 || *end || !(secs > 0 && secs <= 3600)) {
            snprintf(err, errlen, "block 'timeout:N' needs N seconds (0 < N <= 3600)");
            return -1;
        }
        r->block = RULE_BLOCK_TIMEOUT;
        r->secs = secs;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(how, names[i].name)) {
            r->block = names[i].b;
            return 0;
        }
    snprintf(err, errlen,
             "unknown block action '%.40s' (a status code, dns, refused, reset, reset-body, tls, "
             "timeout or timeout:N)", how);
    return -1;
}

/* "PRESET[@PATTERN]": no pattern, every request (a rule with no match fields). */
static int add_short_throttle(struct ruleset *s, const char *spec, char *err, size_t errlen)
{
    const char *at = strchr(spec, '@');
    char preset[256], why[300];
    snprintf(preset, sizeof preset, "%.*s", at ? (int)(at - spec) : (int)strlen(spec), spec);
    struct rule *r = ruleset_append(s);
    char id[32];
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(id, sizeof id, "cli-%zu", s->n);
    r->action = RULE_THROTTLE;
    int bad = !(r->id = strdup(id));
    if (bad)
        snprintf(why, sizeof why, "out of memory");
    else if (throttle_parse(preset, &r->throttle, why, sizeof why) < 0)
        bad = 1;
    else if (at && (!at[1] || rule_set_pattern(r, at + 1, why, sizeof why) < 0))
        bad = at[1] ? 1 : snprintf(why, sizeof why, "nothing after '@'") > 0;
    if (bad) {
        snprintf(err, errlen, "--throttle '%.200s': %s", spec, why);
        ruleset_drop_last(s);
        return -1;
    }
    return 0;
}

int ruleset_add_short(struct ruleset *s, enum rule_action action, const char *spec, char *err,
                      size_t errlen)
{
    if (action == RULE_THROTTLE)
        return add_short_throttle(s, spec, err, errlen);
    const char *eq = strchr(spec, '=');
    static const char *const flag[] = {"--map-local", "--map-remote", "--block", "--rewrite"};
    if (!eq && action != RULE_BLOCK) {
        snprintf(err, errlen, "%s needs PATTERN=%s, got '%.200s'", flag[action],
                 action == RULE_MAP_LOCAL ? "PATH" : action == RULE_REWRITE ? "EDIT" : "URL", spec);
        return -1;
    }
    char *pattern = strndup(spec, eq ? (size_t)(eq - spec) : strlen(spec));
    struct rule *r = pattern ? ruleset_append(s) : NULL;
    char id[32];
    if (!r) {
        free(pattern);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(id, sizeof id, "cli-%zu", s->n);
    char why[300];
    int bad = !(r->id = strdup(id)) || rule_set_pattern(r, pattern, why, sizeof why) < 0;
    if (bad)
        snprintf(err, errlen, "%s '%.200s': %s", flag[action], spec, r->id ? why : "out of memory");
    free(pattern);
    if (!bad) {
        r->action = action;
        if (action == RULE_BLOCK)
            bad = rule_parse_block(r, eq ? eq + 1 : NULL, why, sizeof why) < 0;
        else if (action == RULE_REWRITE)
            bad = rule_set_rewrite(r, eq + 1, why, sizeof why) < 0;
        else if (!eq[1] || !(r->target = strdup(eq + 1)))
            bad = snprintf(why, sizeof why, "nothing after '='") > 0;
        else if (action == RULE_MAP_REMOTE && strncmp(r->target, "http://", 7) &&
                 strncmp(r->target, "https://", 8))
            bad = snprintf(why, sizeof why, "URL must start with http:// or https://") > 0;
        if (bad)
            snprintf(err, errlen, "%s '%.200s': %s", flag[action], spec, why);
    }
    if (bad) {
        ruleset_drop_last(s);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The holder */

struct ruleset *ruleset_holder_get(struct ruleset_holder *h)
{
    if (!h || !atomic_load_explicit(&h->cur, memory_order_relaxed))
        return NULL; /* no rules (or no holder: a harness): one load, nothing else */
    atomic_fetch_add(&h->readers, 1);
    struct ruleset *s = ruleset_retain(atomic_load(&h->cur));
    atomic_fetch_sub(&h->readers, 1);
    return s;
}

void ruleset_holder_swap(struct ruleset_holder *h, struct ruleset *s)
{
    if (s && !s->n) { /* an empty set is kept as none: matching it costs a NULL check */
        ruleset_release(s);
        s = NULL;
    }
    struct ruleset *old = atomic_exchange(&h->cur, s);
    /* a getter that loaded old takes its reference before it leaves: wait for those */
    while (atomic_load(&h->readers))
        sched_yield();
    ruleset_release(old);
}
