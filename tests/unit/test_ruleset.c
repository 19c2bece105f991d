/* test_ruleset.c — URL patterns, match order and fields, the short forms, rules.json errors
 * with their line and field, and the holder's swap. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ruleset.h"
#include "tap.h"

static const char *headers(const void *arg, const char *name)
{
    (void)arg;
    return !strcasecmp(name, "x-env") ? "staging-2" : NULL;
}

static struct rule_request req(const char *scheme, const char *host, int port, const char *path)
{
    struct rule_request q = {.scheme = scheme, .host = host, .port = port, .path = path,
                             .method = "GET", .client = "192.168.1.20", .header = headers};
    return q;
}

/* The id of the rule matching scheme://host:port/path in s, or "-". */
static const char *hit(const struct ruleset *s, const char *scheme, const char *host, int port,
                       const char *path)
{
    struct rule_request q = req(scheme, host, port, path);
    const struct rule *r = ruleset_match(s, &q, NULL);
    return r ? r->id : "-";
}

static struct ruleset *parse(const char *text, char *err, size_t errlen)
{
    return ruleset_parse(text, strlen(text), NULL, err, errlen);
}

int main(void)
{
    char err[400];
    /* globs */
    ok(rule_glob("*.example.com", "api.example.com", 1), "glob: *.example.com matches api.example.com");
    ok(!rule_glob("*.example.com", "example.com", 1), "glob: *.example.com does not match example.com");
    ok(rule_glob("/v1/*", "/v1/a/b?c", 0), "glob: '*' crosses '/' and '?'");
    ok(!rule_glob("/V1/*", "/v1/a", 0), "glob: paths are case-sensitive");
    ok(rule_glob("API.*.com", "api.x.com", 1), "glob: hosts are not");

    /* patterns and the first match */
    struct ruleset *s = ruleset_new();
    ok(ruleset_add_short(s, RULE_BLOCK, "https://api.example.com/v1/*=503", err, sizeof err) == 0, "short block with status");
    ok(ruleset_add_short(s, RULE_MAP_LOCAL, "*://*.example.com/*=/tmp/x", err, sizeof err) == 0, "short map local, any scheme");
    ok(ruleset_add_short(s, RULE_MAP_REMOTE, "cdn.test:8443=http://localhost:9000", err, sizeof err) == 0, "short map remote, bare host with port");
    ok(ruleset_add_short(s, RULE_BLOCK, "other.test", err, sizeof err) == 0, "short block without action");
    is_str(hit(s, "https", "api.example.com", 443, "/v1/users?id=1"), "cli-1", "https://api.example.com/v1/* matches /v1/users?id=1");
    is_str(hit(s, "http", "api.example.com", 80, "/v1/users"), "cli-2", "its scheme is https only: http goes to the next rule");
    is_str(hit(s, "https", "api.example.com", 443, "/v2/x"), "cli-2", "another path: the next rule (ordered, first match)");
    is_str(hit(s, "https", "example.com", 443, "/"), "-", "*.example.com is not example.com");
    is_str(hit(s, "https", "cdn.test", 8443, "/a/b"), "cli-3", "a bare host glob matches every path (with its port)");
    is_str(hit(s, "https", "cdn.test", 443, "/a/b"), "-", "the same host on another port does not match");
    is_str(hit(s, "http", "OTHER.test", 80, "/"), "-", "hosts are matched as lower case (the exchange lower-cases)");
    is_str(hit(s, "http", "other.test", 80, "/"), "cli-4", "a bare host, no action: matches");
    is_int(s->rules[3].block, RULE_BLOCK_RESET, "block without an action is reset");
    is_int(s->rules[0].status, 503, "block status kept");
    struct rule_request q = req("https", "api.example.com", 443, "/v1/users?id=1");
    const char *rest = NULL;
    ruleset_match(s, &q, &rest);
    is_str(rest, "users?id=1", "the '*' of /v1/* is carried (path and query)");
    q = req("https", "cdn.test", 8443, "/a/b");
    ruleset_match(s, &q, &rest);
    is_str(rest, "/a/b", "a bare host carries the whole path");
    struct rule whole = {0};
    ok(rule_set_pattern(&whole, "https://x.test", err, sizeof err) == 0 && whole.path &&
           !strcmp(whole.path, "*"), "a pattern without a path means every path");
    free(whole.scheme);
    free(whole.host);
    free(whole.path);
    s->rules[0].enabled = 0;
    is_str(hit(s, "https", "api.example.com", 443, "/v1/users"), "cli-2", "a disabled rule is skipped");
    ok(ruleset_match(NULL, &q, NULL) == NULL, "no set: no match");

    /* short form errors */
    ok(ruleset_add_short(s, RULE_MAP_LOCAL, "api.example.com", err, sizeof err) < 0 &&
           strstr(err, "PATTERN=PATH"), "--map-local without '=' refused: %s", err);
    ok(ruleset_add_short(s, RULE_BLOCK, "x.test=teapot", err, sizeof err) < 0 &&
           strstr(err, "unknown block action 'teapot'"), "unknown block action refused: %s", err);
    ok(ruleset_add_short(s, RULE_MAP_REMOTE, "x.test=ftp://y", err, sizeof err) < 0,
       "map remote to a non-http URL refused: %s", err);
    ok(ruleset_add_short(s, RULE_BLOCK, "ftp://x.test/", err, sizeof err) < 0 && strstr(err, "scheme"),
       "pattern with another scheme refused: %s", err);
    ok(ruleset_add_short(s, RULE_BLOCK, "x.test:99999", err, sizeof err) < 0 && strstr(err, "port"),
       "pattern with a bad port refused: %s", err);
    ok(ruleset_add_short(s, RULE_BLOCK, "x.test=timeout:2.5", err, sizeof err) == 0 &&
           s->rules[s->n - 1].secs == 2.5, "timeout:N keeps its seconds");
    is_int((long long)s->n, 5, "refused short forms add nothing");
    ruleset_release(s);

    /* rules.json: every match field */
    const char *good =
        "{\"version\": 1, \"rules\": [\n"
        "  {\"id\": \"m\", \"match\": {\"host\": \"*.api.test\", \"method\": \"post\", \"path_regex\": \"^/v[0-9]+/\"},\n"
        "   \"action\": {\"type\": \"block\", \"how\": \"dns\"}},\n"
        "  {\"id\": \"h\", \"match\": {\"url\": \"http://h.test/*\", \"header\": {\"name\": \"X-Env\", \"value\": \"staging*\"}},\n"
        "   \"action\": {\"type\": \"block\", \"status\": 418}},\n"
        "  {\"id\": \"c\", \"match\": {\"host\": \"h.test\", \"client\": \"10.*\"}, \"action\": {\"type\": \"block\"}},\n"
        "  {\"id\": \"off\", \"enabled\": false, \"match\": {\"host\": \"*\"}, \"action\": {\"type\": \"block\"}},\n"
        "  {\"match\": {\"url\": \"https://t.test:8443/x\"}, \"action\": {\"type\": \"block\", \"how\": \"timeout\", \"secs\": 3}}\n"
        "]}\n";
    s = parse(good, err, sizeof err);
    ok(s != NULL, "a valid rules.json loads (%s)", s ? "" : err);
    if (!s)
        return done();
    is_int((long long)s->n, 5, "five rules");
    q = req("https", "x.api.test", 443, "/v2/items");
    q.method = "POST";
    ok(ruleset_match(s, &q, NULL) == &s->rules[0], "host glob + method + path regex match");
    q.method = "GET";
    ok(ruleset_match(s, &q, NULL) == NULL, "another method does not");
    q = req("http", "h.test", 80, "/any");
    ok(ruleset_match(s, &q, NULL) == &s->rules[1], "header predicate matches (X-Env: staging-2)");
    q.header = NULL;
    q.client = "10.0.0.7";
    ok(ruleset_match(s, &q, NULL) == &s->rules[2], "without the header: the client rule");
    q.client = "192.168.1.20";
    ok(ruleset_match(s, &q, NULL) == NULL, "another client: nothing (the disabled catch-all stays off)");
    is_str(s->rules[4].id, "rule-5", "a rule without an id is named by its place");
    ok(s->rules[4].block == RULE_BLOCK_TIMEOUT && s->rules[4].secs == 3, "block timeout with secs");
    char *text = ruleset_to_json(s, 0);
    struct ruleset *again = text ? parse(text, err, sizeof err) : NULL;
    ok(again && again->n == 5 && again->rules[0].path_regex && again->rules[1].status == 418 &&
           again->rules[3].enabled == 0, "written out and read back, the rules are the same");
    ruleset_release(again);
    free(text);

    /* rules.json errors: line and field */
    static const struct { const char *text, *want, *name; } bad[] = {
        {"{\"version\": 1,\n \"rules\": [\n  {\"match\": {\"host\": \"a.test\"},\n   \"action\": {\"type\": \"redirect\"}}\n]}",
         "line 4: rules[0].action.type: unknown action 'redirect'", "unknown action: line 4 and the field"},
        {"{\"version\": 1,\n \"rules\": [\n  {\"match\": {\"host\": \"a.test\"}, \"action\": {\"type\": \"block\"}},\n  {\"match\": {\n     \"port\": 70000}, \"action\": {\"type\": \"block\"}}\n]}",
         "line 5: rules[1].match.port", "bad port of the second rule: line 5"},
        {"{\"version\": 1, \"rules\": [\n  {\"match\": {\"host\": \"a.test\"},\n   \"action\": {\"type\": \"block\",}}\n]}",
         "line 3:", "a syntax error: jansson's line"},
        {"{\"version\": 2, \"rules\": []}", "line 1: version: must be 1", "version 2 refused"},
        {"{\"version\": 1, \"rules\": [\n {\"match\": {\"host\": \"a.test\", \"path_regex\": \"(\"},\n  \"action\": {\"type\": \"block\"}}]}",
         "line 2: rules[0].match.path_regex: invalid regex", "bad regex: line 2"},
        {"{\"version\": 1, \"rules\": [\n {\"id\": \"a\", \"match\": {\"host\": \"a.test\"}, \"action\": {\"type\": \"block\"}},\n {\"id\": \"a\", \"match\": {\"host\": \"b.test\"}, \"action\": {\"type\": \"block\"}}]}",
         "line 3: rules[1].id: 'a' is used by an earlier rule", "duplicate id: line 3"},
        {"{\"version\": 1, \"rules\": [\n {\"match\": {\"hots\": \"a.test\"}, \"action\": {\"type\": \"block\"}}]}",
         "line 2: rules[0].match.hots: unknown field 'hots'", "unknown match field named"},
        {"{\"version\": 1, \"rules\": [\n {\"match\": {\"host\": \"a.test\"},\n  \"action\": {\"type\": \"map_remote\", \"url\": \"ftp://x\"}}]}",
         "line 3: rules[0].action.url", "map remote to ftp:// refused: line 3"},
        {"{\"version\": 1, \"rules\": [\n {\"action\": {\"type\": \"block\"}}]}",
         "line 2: rules[0].match: missing", "a rule without a match"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        struct ruleset *b = parse(bad[i].text, err, sizeof err);
        ok(!b && strstr(err, bad[i].want), "%s (got: %s)", bad[i].name, err);
        ruleset_release(b);
    }
    /* into: the command line's rules first, the file's after them */
    struct ruleset *cli = ruleset_new();
    ruleset_add_short(cli, RULE_BLOCK, "h.test=403", err, sizeof err);
    struct ruleset *both = ruleset_parse(good, strlen(good), cli, err, sizeof err);
    ok(both && both->n == 6 && !strcmp(both->rules[0].id, "cli-1"), "file rules come after the command line's");
    q = req("http", "h.test", 80, "/any");
    ok(both && ruleset_match(both, &q, NULL) == &both->rules[0], "and the command line's match first");

    /* a CONNECT that needs no server: the rules answer the whole host */
    struct ruleset *w = ruleset_new();
    ruleset_add_short(w, RULE_MAP_LOCAL, "https://a.test/only=/tmp/x", err, sizeof err);
    ruleset_add_short(w, RULE_BLOCK, "a.test=dns", err, sizeof err);
    ruleset_add_short(w, RULE_MAP_LOCAL, "https://b.test/*=/tmp/d", err, sizeof err);
    ruleset_add_short(w, RULE_MAP_LOCAL, "https://c.test/api/*=/tmp/d", err, sizeof err);
    ruleset_add_short(w, RULE_MAP_REMOTE, "https://d.test/v1/*=https://e.test/", err, sizeof err);
    ruleset_add_short(w, RULE_BLOCK, "d.test=403", err, sizeof err);
    ruleset_add_short(w, RULE_BLOCK, "http://f.test=403", err, sizeof err);
    ruleset_add_short(w, RULE_MAP_LOCAL, "g.test:8443=/tmp/x", err, sizeof err);
    ok(ruleset_answers_host(w, "https", "a.test", 443, "127.0.0.1"),
       "a host-wide block after a narrower map local answers the host");
    ok(ruleset_answers_host(w, "https", "b.test", 443, "127.0.0.1"), "a '/*' path is host-wide");
    ok(!ruleset_answers_host(w, "https", "c.test", 443, "127.0.0.1"), "a path prefix is not");
    ok(!ruleset_answers_host(w, "https", "d.test", 443, "127.0.0.1"),
       "a map remote before the host-wide block: the server may be needed");
    ok(!ruleset_answers_host(w, "https", "f.test", 443, "127.0.0.1"), "another scheme's rule is not");
    ok(ruleset_answers_host(w, "https", "g.test", 8443, "127.0.0.1") &&
       !ruleset_answers_host(w, "https", "g.test", 443, "127.0.0.1"), "the port is respected");
    ok(!ruleset_answers_host(w, "https", "none.test", 443, "127.0.0.1") &&
       !ruleset_answers_host(NULL, "https", "a.test", 443, "127.0.0.1"), "no rule: the server is needed");
    w->rules[1].enabled = 0;
    ok(!ruleset_answers_host(w, "https", "a.test", 443, "127.0.0.1"), "a disabled rule answers nothing");
    ruleset_release(w);

    /* rewrite rules: their own kind, every match applies */
    struct ruleset *rw = ruleset_new();
    ok(ruleset_add_short(rw, RULE_REWRITE, "api.test=req-header:set:X-Debug:1", err, sizeof err) == 0 &&
       ruleset_add_short(rw, RULE_BLOCK, "api.test=403", err, sizeof err) == 0 &&
       ruleset_add_short(rw, RULE_REWRITE, "https://api.test/v1/*=status:503", err, sizeof err) == 0,
       "short rewrites with a block between");
    ok(ruleset_add_short(rw, RULE_REWRITE, "api.test=status:42", err, sizeof err) < 0 &&
       strstr(err, "--rewrite") && strstr(err, "200..599"), "a bad edit is refused naming the flag");
    q = req("https", "api.test", 443, "/v1/x");
    ok(ruleset_match(rw, &q, NULL) == &rw->rules[1], "a route match skips rewrite rules");
    size_t from = 0;
    const struct rule *r1 = ruleset_next_rewrite(rw, &q, &from);
    const struct rule *r2 = ruleset_next_rewrite(rw, &q, &from);
    ok(r1 == &rw->rules[0] && r2 == &rw->rules[2] && !ruleset_next_rewrite(rw, &q, &from),
       "every matching rewrite, in order");
    ok(ruleset_answers_host(rw, "https", "api.test", 443, "1.2.3.4"), "rewrites do not stop a host-wide block");
    char *js = ruleset_to_json(rw, 0);
    struct ruleset *back = js ? parse(js, err, sizeof err) : NULL;
    ok(back && back->n == 3 && back->rules[2].action == RULE_REWRITE &&
       !strcmp(back->rules[2].target, "status:503"), "rewrite rules round trip through rules.json");
    free(js);
    ruleset_release(back);
    ruleset_release(rw);
    err[0] = '\0';
    struct ruleset *badrw = parse("{\"version\": 1, \"rules\": [\n{\"match\": {\"host\": \"a\"},\n"
                                  " \"action\": {\"type\": \"rewrite\", \"edit\": \"url:(=>x\"}}]}", err, sizeof err);
    ok(!badrw && strstr(err, "line 3") && strstr(err, "action.edit") && strstr(err, "bad regex"),
       "a bad rewrite edit in rules.json: its line and field (got: %s)", err);

    /* the holder */
    struct ruleset_holder h = {.cur = NULL};
    ok(ruleset_holder_get(&h) == NULL, "an empty holder gives nothing");
    ruleset_holder_swap(&h, ruleset_new());
    ok(ruleset_holder_get(&h) == NULL, "an empty set is kept as none (a NULL check per request)");
    ruleset_holder_swap(&h, both);
    struct ruleset *held = ruleset_holder_get(&h);
    ok(held == both, "the set in use is given out");
    ruleset_holder_swap(&h, s);
    ok(held->n == 6 && !strcmp(held->rules[0].id, "cli-1"), "a set swapped out stays alive while held");
    ruleset_release(held);
    struct ruleset *now = ruleset_holder_get(&h);
    ok(now == s, "the new set is given out after the swap");
    ruleset_release(now);
    ruleset_holder_swap(&h, NULL);
    return done();
}
