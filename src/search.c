/* search.c — body and header search over the session (see search.h). */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

enum term_kind { TERM_BODY, TERM_HEADER_NAME, TERM_HEADER_LINE };
#define SIDE_REQUEST 1
#define SIDE_RESPONSE 2

struct term {
    enum term_kind kind;
    int sides;   /* SIDE_REQUEST | SIDE_RESPONSE */
    int negated;
    char *text;  /* lowercased: the body text, the header name, or the header line text */
    char *value; /* lowercased value text of header:NAME=VALUE, NULL for a name alone */
};

struct search_query {
    struct term *terms;
    size_t n;
};

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static char *lower_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)lower((unsigned char)s[i]);
    d[n] = '\0';
    return d;
}

/* 1 when needle (lowercase, nlen bytes) occurs in hay, ignoring ASCII case. */
static int ci_contains(const unsigned char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (!nlen)
        return 1;
    if (hlen < nlen)
        return 0;
    unsigned char first = (unsigned char)needle[0];
    unsigned char other = first >= 'a' && first <= 'z' ? first - 32 : first;
    const unsigned char *p = hay, *last = hay + (hlen - nlen);
    while (p <= last) {
        /* the next place either case of the first byte appears */
        const unsigned char *a = memchr(p, first, (size_t)(last - p) + 1);
        const unsigned char *b = other != first ? memchr(p, other, (size_t)(a ? a - p : last - p + 1)) : NULL;
        const unsigned char *at = b ? b : a;
        if (!at)
            return 0;
        size_t i = 1;
        while (i < nlen && lower(at[i]) == (unsigned char)needle[i])
            i++;
        if (i == nlen)
            return 1;
        p = at + 1;
    }
    return 0;
}

/* The next word of q at *pos: spaces end it except inside "..." (the quotes are dropped). Returns
 * a new string, "" at the end (then *pos does not move), NULL on OOM. */
static char *next_word(const char *q, size_t *pos)
{
    size_t i = *pos;
    while (q[i] == ' ' || q[i] == '\t')
        i++;
    size_t len = strlen(q + i);
    char *w = malloc(len + 1);
    if (!w)
        return NULL;
    size_t n = 0;
    int quoted = 0;
    for (; q[i] && (quoted || (q[i] != ' ' && q[i] != '\t')); i++) {
        if (q[i] == '"')
            quoted = !quoted;
        else
            w[n++] = q[i];
    }
    w[n] = '\0';
    *pos = i;
    return w;
}

static int prefix(const char *s, const char *p)
{
    size_t n = strlen(p);
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)p[i])
            return 0;
    return 1;
}

void search_free(struct search_query *sq)
{
    if (!sq)
        return;
    for (size_t i = 0; i < sq->n; i++) {
        free(sq->terms[i].text);
        free(sq->terms[i].value);
    }
    free(sq->terms);
    free(sq);
}

struct search_query *search_parse(const char *q, char *err, size_t errlen)
{
    struct search_query *sq = calloc(1, sizeof *sq);
    size_t cap = 0, pos = 0;
    char *w = NULL, *arg = NULL;
    if (!sq)
        goto oom;
    for (;;) {
        free(w);
        free(arg);
        arg = NULL;
        if (!(w = next_word(q, &pos)))
            goto oom;
        if (!w[0])
            break;
        struct term t = {.sides = SIDE_REQUEST | SIDE_RESPONSE};
        const char *word = w;
        if (word[0] == '-' && word[1]) {
            t.negated = 1;
            word++;
        }
        const char *text;
        if (word[0] == '~') {
            /* mitmproxy's form: the operator, then its text as the next word */
            static const struct { const char *op; enum term_kind kind; int sides; } ops[] = {
                {"~b", TERM_BODY, SIDE_REQUEST | SIDE_RESPONSE}, {"~bq", TERM_BODY, SIDE_REQUEST},
                {"~bs", TERM_BODY, SIDE_RESPONSE}, {"~h", TERM_HEADER_LINE, SIDE_REQUEST | SIDE_RESPONSE},
                {"~hq", TERM_HEADER_LINE, SIDE_REQUEST}, {"~hs", TERM_HEADER_LINE, SIDE_RESPONSE}};
            size_t k = 0;
            while (k < sizeof ops / sizeof ops[0] && strcmp(word, ops[k].op))
                k++;
            if (k == sizeof ops / sizeof ops[0])
                continue; /* another mitmproxy operator: not ours */
            t.kind = ops[k].kind;
            t.sides = ops[k].sides;
            if (!(arg = next_word(q, &pos)))
                goto oom;
            text = arg;
            if (!text[0]) {
                snprintf(err, errlen, "%s needs a text to search for", word);
                goto fail;
            }
        } else if (prefix(word, "body:")) {
            t.kind = TERM_BODY;
            text = word + 5;
        } else if (prefix(word, "reqbody:")) {
            t.kind = TERM_BODY;
            t.sides = SIDE_REQUEST;
            text = word + 8;
        } else if (prefix(word, "respbody:")) {
            t.kind = TERM_BODY;
            t.sides = SIDE_RESPONSE;
            text = word + 9;
        } else if (prefix(word, "header:")) {
            t.kind = TERM_HEADER_NAME;
            text = word + 7;
        } else {
            continue; /* a URL or summary term: the viewer filters those */
        }
        if (!text[0]) {
            snprintf(err, errlen, "%.*s needs a text to search for", (int)(strchr(word, ':') - word + 1), word);
            goto fail;
        }
        const char *eq = t.kind == TERM_HEADER_NAME ? strchr(text, '=') : NULL;
        if (eq == text) {
            snprintf(err, errlen, "header: needs a name before '='");
            goto fail;
        }
        if (!(t.text = lower_dup(text, eq ? (size_t)(eq - text) : strlen(text))) ||
            (eq && !(t.value = lower_dup(eq + 1, strlen(eq + 1))))) {
            free(t.text);
            goto oom;
        }
        if (sq->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct term *nt = realloc(sq->terms, ncap * sizeof *nt);
            if (!nt) {
                free(t.text);
                free(t.value);
                goto oom;
            }
            sq->terms = nt;
            cap = ncap;
        }
        sq->terms[sq->n++] = t;
    }
    free(w);
    if (!sq->n) {
        snprintf(err, errlen, "no body or header term (body:TEXT, header:NAME[=VALUE], ~b, ~h)");
        search_free(sq);
        return NULL;
    }
    return sq;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(w);
    free(arg);
    search_free(sq);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Running */

/* What one flow offers the terms, read when a term first needs it. */
struct flow_view {
    uint64_t id;
    json_t *detail;              /* NULL until read */
    int detail_read;
    struct evbuffer *body[2];    /* request, response: NULL until read */
    size_t cost;                 /* bytes examined */
};

struct run {
    struct store_reader *r;
    const struct search_query *sq;
    uint64_t after;
    size_t limit, budget, spent, examined, found;
    json_t *ids;
    struct search_page *page;
};

static struct evbuffer *body_of(struct run *run, struct flow_view *v, int response)
{
    if (v->body[response])
        return v->body[response];
    struct evbuffer *b = v->body[response] = evbuffer_new();
    if (!b)
        return NULL;
    char mime[8];
    if (store_reader_body(run->r, v->id, response, 1, b, mime, sizeof mime) == -2) {
        /* an encoding this build cannot undo, or damaged data: search the bytes as stored */
        evbuffer_drain(b, evbuffer_get_length(b));
        store_reader_body(run->r, v->id, response, 0, b, mime, sizeof mime);
    }
    v->cost += evbuffer_get_length(b);
    return b;
}

static json_t *headers_of(struct run *run, struct flow_view *v, int response)
{
    if (!v->detail_read) {
        v->detail_read = 1;
        v->detail = store_reader_get(run->r, v->id);
    }
    json_t *part = json_object_get(v->detail, response ? "response" : "request");
    return json_object_get(part, "headers");
}

static int header_matches(const struct term *t, json_t *headers, size_t *cost)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *name = json_string_value(json_object_get(h, "name"));
        const char *value = json_string_value(json_object_get(h, "value"));
        if (!name || !value)
            continue;
        size_t nl = strlen(name), vl = strlen(value);
        *cost += nl + vl;
        if (t->kind == TERM_HEADER_NAME) {
            if (nl != strlen(t->text) || !ci_contains((const unsigned char *)name, nl, t->text, nl))
                continue;
            if (!t->value || ci_contains((const unsigned char *)value, vl, t->value, strlen(t->value)))
                return 1;
        } else {
            /* "Name: value", as the line was on the wire */
            char *line = malloc(nl + vl + 3);
            if (!line)
                continue;
            memcpy(line, name, nl);
            memcpy(line + nl, ": ", 2);
            memcpy(line + nl + 2, value, vl + 1);
            int hit = ci_contains((const unsigned char *)line, nl + vl + 2, t->text, strlen(t->text));
            free(line);
            if (hit)
                return 1;
        }
    }
    return 0;
}

static int term_matches(struct run *run, const struct term *t, struct flow_view *v)
{
    for (int response = 0; response < 2; response++) {
        if (!(t->sides & (response ? SIDE_RESPONSE : SIDE_REQUEST)))
            continue;
        if (t->kind == TERM_BODY) {
            struct evbuffer *b = body_of(run, v, response);
            size_t len = b ? evbuffer_get_length(b) : 0;
            if (len && ci_contains(evbuffer_pullup(b, -1), len, t->text, strlen(t->text)))
                return 1;
        } else if (header_matches(t, headers_of(run, v, response), &v->cost)) {
            return 1;
        }
    }
    return 0;
}

static int examine(uint64_t id, void *arg)
{
    struct run *run = arg;
    if (id <= run->after)
        return 0;
    if (run->examined && run->spent >= run->budget)
        return 1; /* this call's share of work is done: the viewer asks for the next page */
    struct flow_view v = {.id = id};
    int match = 1;
    for (size_t i = 0; i < run->sq->n && match; i++)
        match = term_matches(run, &run->sq->terms[i], &v) != run->sq->terms[i].negated;
    run->spent += v.cost + 1;
    run->examined++;
    run->page->next_after = id;
    json_decref(v.detail);
    for (int i = 0; i < 2; i++)
        if (v.body[i])
            evbuffer_free(v.body[i]);
    if (match) {
        json_array_append_new(run->ids, json_integer((json_int_t)id));
        if (run->limit && ++run->found >= run->limit)
            return 2;
    }
    return 0;
}

int search_run(struct store_reader *r, const struct search_query *sq, uint64_t after,
               size_t limit, size_t budget, json_t *ids, struct search_page *page)
{
    struct run run = {.r = r, .sq = sq, .after = after, .limit = limit, .budget = budget,
                      .ids = ids, .page = page};
    page->next_after = after;
    page->done = 0;
    int rc = store_reader_foreach(r, examine, &run);
    if (rc < 0)
        return -1;
    page->done = rc == 0;
    return 0;
}
