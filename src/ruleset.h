/* ruleset.h — the rules that change where a request goes (map local, map remote, block): URL
 * patterns, what a rule matches, and an ordered, immutable set of rules matched per request.
 * (rules.h is the other kind: which CONNECT hosts are intercepted.)
 *
 * A set is built once (ruleset_parse: the rules.json text, docs/RULES.md; ruleset_add_short: the
 * --map-local / --map-remote / --block short forms) and never changed afterwards, so any number
 * of worker threads match against it without locks. A ruleset_holder keeps the set in use and
 * swaps it for a new one atomically (reference counted: a worker holding the old set keeps it
 * alive until it lets go). Matching an empty or absent set is a NULL/zero check and no more. */
#ifndef HTTPEEK_RULESET_H
#define HTTPEEK_RULESET_H

#include <stdatomic.h>
#include <stddef.h>
#include "attrib.h"
#include "throttle.h"

/* What a rule does with a matching request ("kind" route: the first matching rule applies). */
enum rule_action {
    RULE_MAP_LOCAL,   /* answer from a file or directory (target: the path) */
    RULE_MAP_REMOTE,  /* send the request elsewhere (target: the URL) */
    RULE_BLOCK,       /* fail the request on purpose (block, status, secs) */
    RULE_REWRITE,     /* change the request or response (target: the edit's text, rewrite:
                       * it parsed, rewrite.h); kind "rewrite": every matching rule applies */
    RULE_THROTTLE,    /* network conditions on the client connection (throttle); its own kind:
                       * ruleset_match skips it, ruleset_match_throttle finds it */
};

/* How a block fails the request, and what the app sees. */
enum rule_block {
    RULE_BLOCK_RESET,      /* connection closed without an answer (-1005) */
    RULE_BLOCK_STATUS,     /* an HTTP status with a short body */
    RULE_BLOCK_DNS,        /* the host does not resolve (-1003) */
    RULE_BLOCK_REFUSED,    /* the connect is refused (-1004) */
    RULE_BLOCK_TLS,        /* the TLS handshake fails (-1200) */
    RULE_BLOCK_TIMEOUT,    /* no answer until secs pass (-1001) */
    RULE_BLOCK_RESET_BODY, /* the response head and half its body, then the connection is cut (-1005) */
};

/* Stable names: "map_local", "map_remote", "block", "rewrite"; "reset", "403"-style status is "status",
 * "dns", "refused", "tls", "timeout", "reset_body". */
const char *rule_action_name(enum rule_action a);
const char *rule_block_name(enum rule_block b);

struct rule {
    char *id;              /* unique in its set ("rule-3" when the file names none) */
    int enabled;
    /* match: NULL / 0 fields match anything */
    char *scheme;          /* "http" / "https" */
    char *host;            /* glob, lower case ("*.example.com") */
    int port;              /* 0: any */
    char *path;            /* glob over the path (with the query when the glob has a '?') */
    char *path_regex;      /* POSIX extended regex over path and query, or NULL ... */
    void *path_re;         /* ... compiled (regex_t) */
    char *method;          /* upper case */
    char *header_name;     /* a request header that must be present ... */
    char *header_value;    /* ... with a value matching this glob (NULL: any value) */
    char *client;          /* glob over the client's IP */
    /* what it does */
    enum rule_action action;
    char *target;          /* map_local: file or directory; map_remote: URL */
    enum rule_block block;
    int status;            /* RULE_BLOCK_STATUS */
    double secs;           /* RULE_BLOCK_TIMEOUT: seconds before the failure (0: --upstream-timeout) */
    struct rewrite *rewrite; /* RULE_REWRITE: the edit (owned) */
    struct throttle_profile throttle; /* RULE_THROTTLE */
    /* precomputed for matching */
    unsigned host_hash;    /* of host when it has no '*' */
    size_t host_len;
    const char *host_suffix; /* host "*.x.com" (one leading '*' only): ".x.com", else NULL */
    size_t suffix_len;
    int host_exact;        /* host is a plain name */
};

struct ruleset {
    atomic_int refs;
    size_t n, cap;
    struct rule *rules;
};

/* A request as rules see it; borrowed strings. header returns a request header's value or NULL. */
struct rule_request {
    const char *scheme, *host, *method, *client;
    int port;
    const char *path;      /* path and query, "/" at least */
    const char *(*header)(const void *arg, const char *name);
    const void *header_arg;
};

/* A new empty set (refs 1), or NULL out of memory. */
struct ruleset *ruleset_new(void) HP_WUNRES;

/* Take / drop a reference (the last ruleset_release frees it). NULL allowed. */
struct ruleset *ruleset_retain(struct ruleset *s);
void ruleset_release(struct ruleset *s);

/* Parse the rules.json text (len bytes): its rules are added after those of into (NULL: a new
 * set), which is returned. On error returns NULL (into released) with err naming the line and
 * the field ("line 7: rules[1].action.type: unknown action 'redirect'"). */
struct ruleset *ruleset_parse(const char *text, size_t len, struct ruleset *into, char *err,
                              size_t errlen) HP_NONNULL(1, 4);

/* Add a rule from a command-line short form: action RULE_MAP_LOCAL ("PATTERN=PATH"),
 * RULE_MAP_REMOTE ("PATTERN=URL"), RULE_BLOCK ("PATTERN[=ACTION]"), RULE_REWRITE
 * ("PATTERN=EDIT", rewrite.h) or RULE_THROTTLE ("PRESET[@PATTERN]", throttle.h). Returns 0, or -1 with
 * err set. The rule's id is "cli-N". */
int ruleset_add_short(struct ruleset *s, enum rule_action action, const char *spec, char *err,
                      size_t errlen) HP_NONNULL(1, 3, 4);

/* The first enabled throttle rule matching r, or NULL (a throttle rule with no match fields
 * matches every request: the global --throttle PRESET). */
const struct rule *ruleset_match_throttle(const struct ruleset *s, const struct rule_request *r)
    HP_NONNULL(2);

/* 1 when s has an enabled throttle rule (the viewer's indicator). NULL allowed. */
int ruleset_has_throttle(const struct ruleset *s);

/* Rules [from, s->n) of s as rules.json (version 1), a new string (free), or NULL out of memory. */
char *ruleset_to_json(const struct ruleset *s, size_t from) HP_NONNULL(1);

/* The first enabled route rule (map local, map remote, block; in order) matching r, or NULL. An empty set or s NULL costs a check.
 * When the rule's path glob ends in '*', *rest (if not NULL) is set to what that '*' matched
 * (inside r->path), else to NULL. */
const struct rule *ruleset_match(const struct ruleset *s, const struct rule_request *r,
                                 const char **rest) HP_NONNULL(2);

/* The next enabled rewrite rule matching r at or after *from (which is moved past it), or NULL. */
const struct rule *ruleset_next_rewrite(const struct ruleset *s, const struct rule_request *r,
                                        size_t *from) HP_NONNULL(2, 3);

/* Set r's rewrite edit from its text (rewrite.h). Returns 0, or -1 with err set. */
int rule_set_rewrite(struct rule *r, const char *edit, char *err, size_t errlen) HP_NONNULL(1, 2, 3);

/* 1 when every request to scheme://host:port from client would be answered by a rule that needs
 * no upstream: the first enabled rule reaching that host (its host, port, scheme and client
 * predicates) with no narrower predicate (path, regex, method, header) is a map local or a block,
 * and no map remote rule reaches the host before it. A CONNECT then needs no server (tunnel.c). */
int ruleset_answers_host(const struct ruleset *s, const char *scheme, const char *host, int port,
                         const char *client) HP_NONNULL(2, 3);

/* Parse a URL pattern ("scheme://host[:port]/path" with '*' globs, or a bare host glob: every
 * scheme and path) into rule's scheme/host/port/path. Returns 0, or -1 with err set. */
int rule_set_pattern(struct rule *rule, const char *pattern, char *err, size_t errlen)
    HP_NONNULL(1, 2, 3);

/* Building a set (ruleset_load.c): a new zeroed, enabled rule at the end of s (NULL out of
 * memory); drop the last rule (a failed build); a block ACTION ("403", "dns", "refused",
 * "reset", "reset-body", "tls", "timeout", "timeout:N") into r (0, or -1 with err). */
struct rule *ruleset_append(struct ruleset *s) HP_NONNULL(1);
void ruleset_drop_last(struct ruleset *s) HP_NONNULL(1);
int rule_parse_block(struct rule *r, const char *how, char *err, size_t errlen) HP_NONNULL(1, 3);

/* 1 when glob ('*' any run, '?' one char) matches s; icase: case-insensitive. */
int rule_glob(const char *glob, const char *s, int icase) HP_NONNULL(1, 2);

/* Where the set in use is kept: workers ruleset_holder_get (lock-free; release when done), the
 * API and the loader ruleset_holder_swap. */
struct ruleset_holder {
    _Atomic(struct ruleset *) cur;
    atomic_int readers;    /* getters between loading cur and taking their reference */
};

/* The set in use with a reference taken (release it), or NULL when there is none (h NULL: none). */
struct ruleset *ruleset_holder_get(struct ruleset_holder *h);

/* Put s (its reference moves to the holder; NULL allowed) in use; the old set is released once
 * no getter can still be taking it. Any thread. */
void ruleset_holder_swap(struct ruleset_holder *h, struct ruleset *s) HP_NONNULL(1);

#endif
