/* breakpoint.c — see breakpoint.h. A breakpoint's match is compiled by the rules' own parser
 * (ruleset_parse, as a rule whose action is never applied), so it matches exactly as a rule
 * would; the request-phase and response-phase breakpoints are two sets in two holders. */
#include "breakpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int breakpoint_phase_parse(const char *text, unsigned *bits)
{
    if (!strcmp(text, "request"))
        *bits = BREAKPOINT_REQUEST;
    else if (!strcmp(text, "response"))
        *bits = BREAKPOINT_RESPONSE;
    else if (!strcmp(text, "both"))
        *bits = BREAKPOINT_REQUEST | BREAKPOINT_RESPONSE;
    else
        return 0;
    return 1;
}

int breakpoints_init(struct breakpoints *b)
{
    memset(b, 0, sizeof *b);
    atomic_init(&b->armed, 0);
    atomic_init(&b->req.cur, NULL);
    atomic_init(&b->req.readers, 0);
    atomic_init(&b->resp.cur, NULL);
    atomic_init(&b->resp.readers, 0);
    b->next_id = 1;
    b->next_paused = 1;
    if (pthread_mutex_init(&b->mu, NULL))
        return -1;
    if (!(b->list = json_array())) {
        pthread_mutex_destroy(&b->mu);
        return -1;
    }
    return 0;
}

void breakpoints_free(struct breakpoints *b)
{
    ruleset_holder_swap(&b->req, NULL);
    ruleset_holder_swap(&b->resp, NULL);
    json_decref(b->list);
    b->list = NULL;
    pthread_mutex_destroy(&b->mu);
}

/* The rules.json text of the breakpoints of list stopping at phase (bits), enabled or not. */
static char *phase_rules_text(const json_t *list, unsigned phase)
{
    json_t *doc = json_pack("{s:i, s:[]}", "version", 1, "rules");
    json_t *rules = json_object_get(doc, "rules");
    size_t i;
    json_t *bp;
    json_array_foreach(list, i, bp) {
        unsigned bits = 0;
        breakpoint_phase_parse(json_string_value(json_object_get(bp, "phase")), &bits);
        if (!(bits & phase))
            continue;
        json_array_append_new(
            rules, json_pack("{s:O, s:O, s:O, s:{s:s, s:s}}", "id", json_object_get(bp, "id"),
                             "enabled", json_object_get(bp, "enabled"), "match",
                             json_object_get(bp, "match"), "action", "type", "block", "how",
                             "reset"));
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* Compile list into the two holders (under mu). Returns 0, -1 invalid (err), -2 OOM. */
static int install(struct breakpoints *b, json_t *list, char *err, size_t errlen)
{
    struct ruleset *sets[2] = {NULL, NULL};
    static const unsigned phases[2] = {BREAKPOINT_REQUEST, BREAKPOINT_RESPONSE};
    for (int k = 0; k < 2; k++) {
        char *text = phase_rules_text(list, phases[k]);
        if (!text) {
            ruleset_release(sets[0]);
            return -2;
        }
        sets[k] = ruleset_parse(text, strlen(text), NULL, err, errlen);
        free(text);
        if (!sets[k]) {
            ruleset_release(sets[0]);
            return -1;
        }
    }
    int armed = 0;
    size_t i;
    json_t *bp;
    json_array_foreach(list, i, bp)
        armed += json_is_true(json_object_get(bp, "enabled"));
    ruleset_holder_swap(&b->req, sets[0]->n ? sets[0] : NULL);
    ruleset_holder_swap(&b->resp, sets[1]->n ? sets[1] : NULL);
    if (!sets[0]->n)
        ruleset_release(sets[0]);
    if (!sets[1]->n)
        ruleset_release(sets[1]);
    json_decref(b->list);
    b->list = list;
    atomic_store(&b->armed, armed);
    return 0;
}

/* A checked copy of spec, id set ("bp-N" when none), into out. Returns 0, -1 (err). */
static int normalise(struct breakpoints *b, const json_t *spec, const json_t *others, json_t **out,
                     char *err, size_t errlen)
{
    if (!json_is_object(spec)) {
        snprintf(err, errlen, "a breakpoint is a JSON object {id?, enabled?, phase, match}");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v) {
        if (strcmp(key, "id") && strcmp(key, "enabled") && strcmp(key, "phase") &&
            strcmp(key, "match")) {
            snprintf(err, errlen, "%.40s: unknown field (id, enabled, phase, match)", key);
            return -1;
        }
    }
    json_t *id = json_object_get(spec, "id"), *enabled = json_object_get(spec, "enabled");
    json_t *phase = json_object_get(spec, "phase"), *match = json_object_get(spec, "match");
    unsigned bits;
    if (!json_is_string(phase) || !breakpoint_phase_parse(json_string_value(phase), &bits)) {
        snprintf(err, errlen, "phase: \"request\", \"response\" or \"both\"");
        return -1;
    }
    if (!json_is_object(match) || !json_object_size(match)) {
        snprintf(err, errlen, "match: an object with at least one field (as a rule's match: "
                              "url, host, path, method, scheme, header, client...)");
        return -1;
    }
    if (enabled && !json_is_boolean(enabled)) {
        snprintf(err, errlen, "enabled: true or false");
        return -1;
    }
    char idbuf[64];
    if (id) {
        const char *s = json_string_value(id);
        if (!s || !s[0] || strlen(s) > 63) {
            snprintf(err, errlen, "id: 1..63 characters");
            return -1;
        }
        snprintf(idbuf, sizeof idbuf, "%s", s);
    } else {
        snprintf(idbuf, sizeof idbuf, "bp-%u", b->next_id++);
    }
    size_t i;
    json_t *o;
    json_array_foreach(others, i, o) {
        if (!strcmp(json_string_value(json_object_get(o, "id")), idbuf)) {
            snprintf(err, errlen, "id: '%s' is taken", idbuf);
            return -1;
        }
    }
    *out = json_pack("{s:s, s:b, s:O, s:O}", "id", idbuf, "enabled",
                     enabled ? json_is_true(enabled) : 1, "phase", phase, "match", match);
    return *out ? 0 : -2;
}

int breakpoints_add(struct breakpoints *b, const json_t *spec, char *id, size_t idlen, char *err,
                    size_t errlen)
{
    pthread_mutex_lock(&b->mu);
    json_t *one = NULL, *list = NULL;
    int rc = normalise(b, spec, b->list, &one, err, errlen);
    if (rc == 0 && (!(list = json_copy(b->list)) || json_array_append(list, one)))
        rc = -2;
    if (rc == 0)
        rc = install(b, list, err, errlen);
    if (rc == 0)
        snprintf(id, idlen, "%s", json_string_value(json_object_get(one, "id")));
    else
        json_decref(list);
    json_decref(one);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int breakpoints_replace(struct breakpoints *b, const json_t *specs, char *err, size_t errlen)
{
    if (!json_is_array(specs)) {
        snprintf(err, errlen, "breakpoints: an array");
        return -1;
    }
    pthread_mutex_lock(&b->mu);
    json_t *list = json_array();
    int rc = list ? 0 : -2;
    size_t i;
    json_t *spec;
    json_array_foreach(specs, i, spec) {
        json_t *one = NULL;
        char e[400];
        if (rc == 0 && (rc = normalise(b, spec, list, &one, e, sizeof e)) == -1)
            snprintf(err, errlen, "breakpoints[%zu].%s", i, e);
        if (rc == 0 && json_array_append_new(list, one))
            rc = -2;
    }
    if (rc == 0)
        rc = install(b, list, err, errlen);
    if (rc)
        json_decref(list);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int breakpoints_remove(struct breakpoints *b, const char *id)
{
    char err[256];
    pthread_mutex_lock(&b->mu);
    json_t *list = json_array();
    int found = 0;
    size_t i;
    json_t *bp;
    json_array_foreach(b->list, i, bp) {
        if (!id || !strcmp(json_string_value(json_object_get(bp, "id")), id))
            found = 1;
        else
            json_array_append(list, bp);
    }
    int rc = found && list && install(b, list, err, sizeof err) == 0 ? 0 : -1;
    if (rc)
        json_decref(list);
    pthread_mutex_unlock(&b->mu);
    return id ? rc : 0;
}

json_t *breakpoints_json(struct breakpoints *b)
{
    pthread_mutex_lock(&b->mu);
    json_t *paused = json_array();
    for (struct breakpoint_paused *p = b->paused; p; p = p->next) {
        json_t *v = json_loads(p->view, 0, NULL);
        if (v) {
            json_object_set_new(v, "id", json_integer((json_int_t)p->id));
            json_object_set_new(v, "resuming", json_boolean(p->action != NULL));
            json_array_append_new(paused, v);
        }
    }
    json_t *doc = json_pack("{s:O, s:o, s:I}", "breakpoints", b->list, "paused", paused,
                            "body_max", (json_int_t)BREAKPOINT_BODY_MAX);
    pthread_mutex_unlock(&b->mu);
    return doc;
}

size_t breakpoints_paused_count(struct breakpoints *b)
{
    size_t n = 0;
    pthread_mutex_lock(&b->mu);
    for (struct breakpoint_paused *p = b->paused; p; p = p->next)
        n++;
    pthread_mutex_unlock(&b->mu);
    return n;
}

static void notify(struct breakpoints *b)
{
    pthread_mutex_lock(&b->mu);
    void (*fn)(void *) = b->notify;
    void *arg = b->notify_arg;
    pthread_mutex_unlock(&b->mu);
    if (fn)
        fn(arg);
}

void breakpoints_list(struct breakpoints *b, struct breakpoint_paused *p)
{
    pthread_mutex_lock(&b->mu);
    p->id = b->next_paused++;
    p->action = NULL;
    p->next = NULL;
    struct breakpoint_paused **tail = &b->paused;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    pthread_mutex_unlock(&b->mu);
    notify(b);
}

json_t *breakpoints_unlist(struct breakpoints *b, struct breakpoint_paused *p)
{
    pthread_mutex_lock(&b->mu);
    for (struct breakpoint_paused **q = &b->paused; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            break;
        }
    json_t *action = p->action;
    p->action = NULL;
    pthread_mutex_unlock(&b->mu);
    notify(b);
    return action;
}

int breakpoints_act(struct breakpoints *b, uint64_t id, json_t *action)
{
    int rc = -1;
    pthread_mutex_lock(&b->mu);
    for (struct breakpoint_paused *p = b->paused; p; p = p->next)
        if (p->id == id) {
            rc = p->action ? -2 : 0;
            if (rc == 0) {
                p->action = action;
                /* listed: its worker runs (its mailbox is open) and cancels wake_msg before the
                 * entry goes */
                if (p->mailbox)
                    (void)mailbox_post(p->mailbox, &p->wake_msg);
                else
                    event_active(p->wake, EV_TIMEOUT, 0); /* thread-safe base */
            }
            break;
        }
    pthread_mutex_unlock(&b->mu);
    if (rc)
        json_decref(action);
    return rc;
}
