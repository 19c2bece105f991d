/* ruleset_load.c — rules.json (docs/RULES.md) to a ruleset and back. A file is taken whole or
 * refused: every error names its line (jansson's for syntax errors; for a field with a bad value,
 * the line of that field, found by walking the text along the field's path) and the field. */
#include "ruleset.h"

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* The line of a field: a walk over the (valid) JSON text */

struct step {
    const char *key; /* object member, or NULL: array element idx */
    size_t idx;
};

struct walk {
    const char *s, *e;
    unsigned line;
};

static void ws(struct walk *w)
{
    while (w->s < w->e && (*w->s == ' ' || *w->s == '\t' || *w->s == '\r' || *w->s == '\n')) {
        if (*w->s == '\n')
            w->line++;
        w->s++;
    }
}

static void skip_string(struct walk *w)
{
    for (w->s++; w->s < w->e && *w->s != '"'; w->s++)
        if (*w->s == '\\')
            w->s++;
    w->s++;
}

static void skip_value(struct walk *w)
{
    ws(w);
    if (w->s >= w->e)
        return;
    if (*w->s == '"') {
        skip_string(w);
        return;
    }
    if (*w->s != '{' && *w->s != '[') {
        while (w->s < w->e && !strchr(",}] \t\r\n", *w->s))
            w->s++;
        return;
    }
    int depth = 0;
    do {
        if (*w->s == '"') {
            skip_string(w);
            continue;
        }
        if (*w->s == '{' || *w->s == '[')
            depth++;
        else if (*w->s == '}' || *w->s == ']')
            depth--;
        else if (*w->s == '\n')
            w->line++;
        w->s++;
    } while (w->s < w->e && depth > 0);
}

/* The line of the deepest step of path found below the value at w (best so far: best). */
static unsigned find_line(struct walk *w, const struct step *path, size_t n, unsigned best)
{
    ws(w);
    if (!n || w->s >= w->e)
        return best;
    if (*w->s == '{' && path->key) {
        w->s++;
        for (;;) {
            ws(w);
            if (w->s >= w->e || *w->s != '"')
                return best;
            const char *k = w->s + 1;
            unsigned kline = w->line;
            skip_string(w);
            size_t klen = (size_t)(w->s - 1 - k);
            ws(w);
            w->s++; /* ':' */
            if (klen == strlen(path->key) && !memcmp(k, path->key, klen))
                return find_line(w, path + 1, n - 1, kline);
            skip_value(w);
            ws(w);
            if (w->s < w->e && *w->s == ',')
                w->s++;
        }
    }
    if (*w->s == '[' && !path->key) {
        w->s++;
        for (size_t i = 0;; i++) {
            ws(w);
            if (w->s >= w->e || *w->s == ']')
                return best;
            if (i == path->idx)
                return find_line(w, path + 1, n - 1, w->line);
            skip_value(w);
            ws(w);
            if (w->s < w->e && *w->s == ',')
                w->s++;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

struct reader {
    const char *text;
    size_t len;
    size_t rule;       /* index in rules */
    char *err;
    size_t errlen;
};

/* Set the error for rules[r->rule].section.field (section/field may be NULL): "line N: ...". */
static int field_error(struct reader *rd, const char *section, const char *field, const char *fmt,
                       const char *arg)
{
    struct step path[4] = {{"rules", 0}, {NULL, rd->rule}, {section, 0}, {field, 0}};
    size_t n = 2 + (section != NULL) + (section && field);
    struct walk w = {rd->text, rd->text + rd->len, 1};
    unsigned line = find_line(&w, path, n, 1);
    char what[200];
    snprintf(what, sizeof what, fmt, arg ? arg : "");
    snprintf(rd->err, rd->errlen, "line %u: rules[%zu]%s%s%s%s: %s", line, rd->rule,
             section ? "." : "", section ? section : "", field ? "." : "", field ? field : "",
             what);
    return -1;
}

/* An optional string member; -1 (error set) when present and not a string. */
static int opt_str(struct reader *rd, json_t *obj, const char *section, const char *key, char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !json_string_length(v))
        return field_error(rd, section, key, "must be a non-empty string%s", NULL);
    free(*out);
    if (!(*out = strdup(json_string_value(v))))
        return field_error(rd, section, key, "out of memory%s", NULL);
    return 0;
}

static int read_match(struct reader *rd, struct rule *r, json_t *m)
{
    static const char *const known[] = {"url", "host", "port", "path", "path_regex", "method",
                                        "scheme", "header", "client"};
    char why[300];
    if (!json_is_object(m))
        return field_error(rd, "match", NULL, "must be an object%s", NULL);
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        size_t i = 0;
        while (i < sizeof known / sizeof *known && strcmp(known[i], key))
            i++;
        if (i == sizeof known / sizeof *known)
            return field_error(rd, "match", key, "unknown field '%s'", key);
    }
    json_t *url = json_object_get(m, "url");
    if (url) {
        if (!json_is_string(url))
            return field_error(rd, "match", "url", "must be a string%s", NULL);
        if (rule_set_pattern(r, json_string_value(url), why, sizeof why) < 0)
            return field_error(rd, "match", "url", "%s", why);
    }
    if (opt_str(rd, m, "match", "scheme", &r->scheme) < 0 ||
        opt_str(rd, m, "match", "path", &r->path) < 0 ||
        opt_str(rd, m, "match", "method", &r->method) < 0 ||
        opt_str(rd, m, "match", "client", &r->client) < 0)
        return -1;
    if (r->scheme && strcmp(r->scheme, "http") && strcmp(r->scheme, "https"))
        return field_error(rd, "match", "scheme", "must be http or https, not '%s'", r->scheme);
    if (r->method)
        for (char *c = r->method; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    json_t *host = json_object_get(m, "host");
    if (host) {
        /* "host[:port]" */
        if (!json_is_string(host) || !json_string_length(host))
            return field_error(rd, "match", "host", "must be a non-empty string%s", NULL);
        char *scheme = r->scheme, *path = r->path;
        void *re = r->path_re;
        r->scheme = r->path = NULL;
        int bad = rule_set_pattern(r, json_string_value(host), why, sizeof why) < 0;
        free(r->path);
        r->scheme = scheme;
        r->path = path;
        r->path_re = re;
        if (bad || strchr(json_string_value(host), '/'))
            return field_error(rd, "match", "host", "%s", bad ? why : "a host glob has no '/'");
    }
    json_t *port = json_object_get(m, "port");
    if (port) {
        if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
            return field_error(rd, "match", "port", "must be a port number 1..65535%s", NULL);
        r->port = (int)json_integer_value(port);
    }
    json_t *re = json_object_get(m, "path_regex");
    if (re) {
        if (!json_is_string(re))
            return field_error(rd, "match", "path_regex", "must be a string%s", NULL);
        regex_t *rx = malloc(sizeof *rx);
        int rc = rx ? regcomp(rx, json_string_value(re), REG_EXTENDED | REG_NOSUB) : REG_ESPACE;
        if (rc) {
            if (rx)
                regerror(rc, rx, why, sizeof why);
            free(rx);
            return field_error(rd, "match", "path_regex", "invalid regex: %s", rx ? why : "out of memory");
        }
        r->path_re = rx;
        if (!(r->path_regex = strdup(json_string_value(re))))
            return field_error(rd, "match", "path_regex", "out of memory%s", NULL);
    }
    json_t *hd = json_object_get(m, "header");
    if (hd) {
        json_t *name = json_object_get(hd, "name"), *value = json_object_get(hd, "value");
        if (!json_is_object(hd) || !json_is_string(name) || !json_string_length(name) ||
            (value && !json_is_string(value)))
            return field_error(rd, "match", "header",
                               "must be {\"name\": \"X-Header\", \"value\": \"glob\"} (value optional)%s",
                               NULL);
        if (!(r->header_name = strdup(json_string_value(name))) ||
            (value && !(r->header_value = strdup(json_string_value(value)))))
            return field_error(rd, "match", "header", "out of memory%s", NULL);
    }
    return 0;
}

/* {"type": "throttle", "preset": "3g"} or {"type": "throttle", "down": "780k", "up": "330k",
 * "latency": "100ms", "dns": "0ms", "loss": "0%"} (numbers: bits per second, ms, percent). */
static int read_throttle(struct reader *rd, struct rule *r, json_t *a)
{
    static const char *const fields[] = {"down", "up", "latency", "dns", "loss"};
    char spec[400], why[300];
    size_t n = 0;
    json_t *preset = json_object_get(a, "preset");
    const char *key;
    json_t *v;
    r->action = RULE_THROTTLE;
    json_object_foreach(a, key, v) {
        size_t i = 0;
        while (i < 5 && strcmp(fields[i], key))
            i++;
        if (i == 5 && strcmp(key, "type") && strcmp(key, "preset"))
            return field_error(rd, "action", key,
                               "unknown field '%s' (preset, or down, up, latency, dns, loss)", key);
    }
    if (preset) {
        if (!json_is_string(preset))
            return field_error(rd, "action", "preset", "must be a string%s", NULL);
        if (json_object_size(a) > 2)
            return field_error(rd, "action", "preset", "a preset takes no other fields%s", NULL);
        if (throttle_parse(json_string_value(preset), &r->throttle, why, sizeof why) < 0)
            return field_error(rd, "action", "preset", "%s", why);
        return 0;
    }
    n = (size_t)snprintf(spec, sizeof spec, "custom:");
    for (size_t i = 0; i < 5; i++) {
        json_t *f = json_object_get(a, fields[i]);
        if (!f)
            continue;
        char one[64];
        if (json_is_string(f))
            snprintf(one, sizeof one, "%s=%.40s,", fields[i], json_string_value(f));
        else if (json_is_number(f))
            snprintf(one, sizeof one, "%s=%.17g,", fields[i], json_number_value(f));
        else
            return field_error(rd, "action", fields[i], "must be a string or a number%s", NULL);
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s", one);
        if (n >= sizeof spec)
            n = sizeof spec - 1;
        struct throttle_profile check;
        one[strlen(one) - 1] = '\0';
        char alone[80];
        snprintf(alone, sizeof alone, "custom:%s", one);
        if (throttle_parse(alone, &check, why, sizeof why) < 0)
            return field_error(rd, "action", fields[i], "%s", why);
    }
    if (n == 7)
        return field_error(rd, "action", NULL,
                           "a throttle needs a \"preset\" or one of down, up, latency, dns, loss%s", NULL);
    spec[n - 1] = '\0'; /* the last ',' */
    if (throttle_parse(spec, &r->throttle, why, sizeof why) < 0)
        return field_error(rd, "action", NULL, "%s", why);
    return 0;
}

static int read_action(struct reader *rd, struct rule *r, json_t *a)
{
    char why[300];
    if (!json_is_object(a))
        return field_error(rd, "action", NULL, "must be an object with a \"type\"%s", NULL);
    const char *type = json_string_value(json_object_get(a, "type"));
    if (!type)
        return field_error(rd, "action", "type",
                           "missing: map_local, map_remote, block, rewrite or throttle%s", NULL);
    if (!strcmp(type, "throttle"))
        return read_throttle(rd, r, a);
    if (!strcmp(type, "map_local") || !strcmp(type, "map_remote")) {
        int local = type[4] == 'l';
        const char *k = local ? "path" : "url";
        r->action = local ? RULE_MAP_LOCAL : RULE_MAP_REMOTE;
        if (opt_str(rd, a, "action", k, &r->target) < 0)
            return -1;
        if (!r->target)
            return field_error(rd, "action", k, "missing (%s)", local ? "a file or directory" : "a URL");
        if (!local && strncmp(r->target, "http://", 7) && strncmp(r->target, "https://", 8))
            return field_error(rd, "action", "url", "must start with http:// or https://%s", NULL);
        return 0;
    }
    if (!strcmp(type, "rewrite")) {
        json_t *edit = json_object_get(a, "edit");
        if (!json_is_string(edit))
            return field_error(rd, "action", "edit", "missing: an edit like \"resp-header:remove:Server\"%s", NULL);
        if (rule_set_rewrite(r, json_string_value(edit), why, sizeof why) < 0)
            return field_error(rd, "action", "edit", "%s", why);
        return 0;
    }
    if (strcmp(type, "block"))
        return field_error(rd, "action", "type",
                           "unknown action '%s' (map_local, map_remote, block, rewrite or throttle)", type);
    json_t *how = json_object_get(a, "how"), *status = json_object_get(a, "status"),
           *secs = json_object_get(a, "secs");
    if (how && !json_is_string(how))
        return field_error(rd, "action", "how", "must be a string%s", NULL);
    const char *h = how ? json_string_value(how) : status ? "status" : "reset";
    if (!strcmp(h, "status")) {
        if (!json_is_integer(status))
            return field_error(rd, "action", "status", "must be a status code 200..599%s", NULL);
        char code[24];
        snprintf(code, sizeof code, "%lld", (long long)json_integer_value(status));
        if (rule_parse_block(r, code, why, sizeof why) < 0)
            return field_error(rd, "action", "status", "%s", why);
        return 0;
    }
    if (rule_parse_block(r, h, why, sizeof why) < 0 || r->block == RULE_BLOCK_STATUS)
        return field_error(rd, "action", "how", "%s", r->block == RULE_BLOCK_STATUS ? "use \"status\": N for a status" : why);
    if (secs) {
        if (!json_is_number(secs) || json_number_value(secs) <= 0 || json_number_value(secs) > 3600 ||
            r->block != RULE_BLOCK_TIMEOUT)
            return field_error(rd, "action", "secs", "only for how \"timeout\": 0 < secs <= 3600%s",
                               NULL);
        r->secs = json_number_value(secs);
    }
    return 0;
}

static int read_rule(struct reader *rd, struct ruleset *s, json_t *j)
{
    if (!json_is_object(j))
        return field_error(rd, NULL, NULL, "a rule must be an object%s", NULL);
    struct rule *r = ruleset_append(s);
    if (!r)
        return field_error(rd, NULL, NULL, "out of memory%s", NULL);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "id") && strcmp(key, "enabled") && strcmp(key, "match") &&
            strcmp(key, "action") && strcmp(key, "comment"))
            return field_error(rd, key, NULL, "unknown field '%s' (id, enabled, match, action, comment)", key);
    }
    json_t *id = json_object_get(j, "id"), *en = json_object_get(j, "enabled");
    if (id && (!json_is_string(id) || !json_string_length(id) || json_string_length(id) > 63))
        return field_error(rd, "id", NULL, "must be a string of 1..63 characters%s", NULL);
    char def[32];
    snprintf(def, sizeof def, "rule-%zu", rd->rule + 1);
    if (!(r->id = strdup(id ? json_string_value(id) : def)))
        return field_error(rd, NULL, NULL, "out of memory%s", NULL);
    for (size_t i = 0; i + 1 < s->n; i++)
        if (!strcmp(s->rules[i].id, r->id))
            return field_error(rd, "id", NULL, "'%s' is used by an earlier rule", r->id);
    if (en && !json_is_boolean(en))
        return field_error(rd, "enabled", NULL, "must be true or false%s", NULL);
    r->enabled = !en || json_is_true(en);
    json_t *m = json_object_get(j, "match");
    json_t *act = json_object_get(j, "action");
    int throttle = json_is_object(act) && json_is_string(json_object_get(act, "type")) &&
                   !strcmp(json_string_value(json_object_get(act, "type")), "throttle");
    if (!m && throttle) /* a throttle without a match: every request (global network conditions) */
        return read_action(rd, r, act);
    if (!m)
        return field_error(rd, "match", NULL, "missing (e.g. {\"url\": \"https://api.example.com/*\"})%s", NULL);
    if (read_match(rd, r, m) < 0 || read_action(rd, r, json_object_get(j, "action")) < 0)
        return -1;
    if (!r->host && !r->path && !r->path_re && !r->method && !r->scheme && !r->client &&
        !r->header_name && !throttle)
        return field_error(rd, "match", NULL, "matches every request: name at least a host or url%s", NULL);
    return 0;
}

struct ruleset *ruleset_parse(const char *text, size_t len, struct ruleset *into, char *err,
                              size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "line %d: %s", je.line, je.text);
        ruleset_release(into);
        return NULL;
    }
    struct ruleset *s = into ? into : ruleset_new();
    struct reader rd = {text, len, 0, err, errlen};
    json_t *ver = json_object_get(root, "version"), *rules = json_object_get(root, "rules");
    struct walk w = {text, text + len, 1};
    if (!s) {
        snprintf(err, errlen, "out of memory");
    } else if (!json_is_object(root)) {
        snprintf(err, errlen, "line 1: must be an object {\"version\": 1, \"rules\": [...]}");
    } else if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
        struct step p = {"version", 0};
        snprintf(err, errlen, "line %u: version: must be 1 (this httpeek reads rules.json version 1)",
                 find_line(&w, &p, 1, 1));
    } else if (!json_is_array(rules)) {
        struct step p = {"rules", 0};
        snprintf(err, errlen, "line %u: rules: must be an array", find_line(&w, &p, 1, 1));
    } else {
        size_t i;
        json_t *j;
        int bad = 0;
        json_array_foreach(rules, i, j) {
            rd.rule = i;
            if ((bad = read_rule(&rd, s, j) < 0))
                break;
        }
        if (!bad) {
            json_decref(root);
            return s;
        }
    }
    json_decref(root);
    ruleset_release(s);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing */

static void put_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

char *ruleset_to_json(const struct ruleset *s, size_t from)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "rules", arr);
    for (size_t i = from; i < s->n; i++) {
        const struct rule *r = &s->rules[i];
        json_t *j = json_object(), *m = json_object(), *a = json_object();
        put_str(j, "id", r->id);
        json_object_set_new(j, "enabled", json_boolean(r->enabled));
        if (r->host) {
            char host[300];
            if (r->port)
                snprintf(host, sizeof host, strchr(r->host, ':') ? "[%s]:%d" : "%s:%d", r->host, r->port);
            else
                snprintf(host, sizeof host, "%s", r->host);
            put_str(m, "host", host);
        } else if (r->port)
            json_object_set_new(m, "port", json_integer(r->port));
        put_str(m, "scheme", r->scheme);
        put_str(m, "path", r->path);
        put_str(m, "path_regex", r->path_regex);
        put_str(m, "method", r->method);
        put_str(m, "client", r->client);
        if (r->header_name) {
            json_t *h = json_object();
            put_str(h, "name", r->header_name);
            put_str(h, "value", r->header_value);
            json_object_set_new(m, "header", h);
        }
        put_str(a, "type", rule_action_name(r->action));
        if (r->action == RULE_MAP_LOCAL)
            put_str(a, "path", r->target);
        else if (r->action == RULE_MAP_REMOTE)
            put_str(a, "url", r->target);
        else if (r->action == RULE_REWRITE)
            put_str(a, "edit", r->target);
        else if (r->action == RULE_THROTTLE) {
            char spec[200];
            throttle_spec(&r->throttle, spec, sizeof spec);
            if (strncmp(spec, "custom:", 7))
                put_str(a, "preset", spec);
            else {
                char v[32];
                snprintf(v, sizeof v, "%llu", (unsigned long long)r->throttle.down_bps);
                put_str(a, "down", v);
                snprintf(v, sizeof v, "%llu", (unsigned long long)r->throttle.up_bps);
                put_str(a, "up", v);
                snprintf(v, sizeof v, "%ums", r->throttle.latency_ms);
                put_str(a, "latency", v);
                snprintf(v, sizeof v, "%ums", r->throttle.dns_ms);
                put_str(a, "dns", v);
                snprintf(v, sizeof v, "%g%%", r->throttle.loss * 100);
                put_str(a, "loss", v);
            }
        } else if (r->block == RULE_BLOCK_STATUS)
            json_object_set_new(a, "status", json_integer(r->status));
        else {
            put_str(a, "how", rule_block_name(r->block));
            if (r->secs > 0)
                json_object_set_new(a, "secs", json_real(r->secs));
        }
        if (json_object_size(m) || r->action != RULE_THROTTLE)
            json_object_set_new(j, "match", m);
        else
            json_decref(m);
        json_object_set_new(j, "action", a);
        json_array_append_new(arr, j);
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
