/* rewrite.h — the rewrite engine of rewrite rules (docs/RULES.md "Rewrite"): one edit parsed from
 * its text ("req-header:set:X-Debug:1", "status:503", "url:REGEX=>REPL", "query:set:a=1",
 * "resp-body:REGEX=>REPL", "resp-json:$.user.plan=\"pro\"", ...) and applied to a head, a URL
 * or a body. Pure: no I/O, no logging, no globals; an edit is immutable once parsed, so any
 * number of threads apply it at once. rule_rewrite.c applies edits to exchanges. */
#ifndef HTTPEEK_REWRITE_H
#define HTTPEEK_REWRITE_H

#include <stddef.h>
#include <event2/buffer.h>
#include "attrib.h"

struct http1_head;

/* What an edit changes. */
enum rewrite_target {
    REWRITE_REQ_HEADER,   /* a request header (op add/set/remove) */
    REWRITE_RESP_HEADER,  /* a response header (op add/set/remove) */
    REWRITE_STATUS,       /* the response status */
    REWRITE_URL,          /* path and query: regex => replacement */
    REWRITE_QUERY,        /* one query parameter (op add/set/remove) */
    REWRITE_RESP_BODY,    /* the (decoded) response body: regex or literal => replacement */
    REWRITE_RESP_JSON,    /* the (decoded) JSON response body: set / remove at a path */
    REWRITE_REQ_BODY,     /* the (decoded) request body: regex or literal => replacement */
    REWRITE_REQ_JSON,     /* the (decoded) JSON request body: set / remove at a path */
};

enum rewrite_op { REWRITE_ADD, REWRITE_SET, REWRITE_REMOVE, REWRITE_REPLACE };

struct rewrite {
    enum rewrite_target target;
    enum rewrite_op op;
    char *name;            /* header / query parameter name */
    char *value;           /* header / query value, replacement text (\0..\9: groups) */
    char *find;            /* literal text to find (REWRITE_RESP_BODY literal), or NULL */
    void *re;              /* compiled regex_t (regex edits), or NULL */
    int status;            /* REWRITE_STATUS */
    char *path;            /* REWRITE_RESP_JSON, REWRITE_REQ_JSON: "$.a.b[0]" */
    void *json;            /* ... set: the value (json_t *) */
};

/* Parse an edit's text; NULL with err set when it is not one (err names what is wrong). */
struct rewrite *rewrite_parse(const char *spec, char *err, size_t errlen) HP_NONNULL(1, 2);
void rewrite_free(struct rewrite *w);

/* 1 when the edit needs the whole response body (body and JSON edits). */
int rewrite_on_body(const struct rewrite *w) HP_NONNULL(1);

/* 1 when the edit needs the whole request body (req-body, req-body-literal, req-json). */
int rewrite_on_req_body(const struct rewrite *w) HP_NONNULL(1);

/* 1 when w is a JSON edit (either side). */
int rewrite_is_json(const struct rewrite *w) HP_NONNULL(1);

/* Replace every match of w (regex with groups, or literal) in text (NUL-terminated) with w's
 * replacement: a new string (free), *count the matches (0: returned unchanged copy); NULL out of
 * memory. */
char *rewrite_replace(const struct rewrite *w, const char *text, int *count) HP_NONNULL(1, 2, 3);

/* The query edit w on a path-and-query: a new string (free) or NULL out of memory. */
char *rewrite_query(const struct rewrite *w, const char *path) HP_NONNULL(1, 2);

/* The JSON edit w on text[0..len): a new text (free) with *before set to the old value at the
 * path (JSON, "(none)" when absent; free); NULL with why set when the text is not JSON or the
 * path does not fit it. */
char *rewrite_json(const struct rewrite *w, const char *text, size_t len, char **before,
                   char *why, size_t whylen) HP_NONNULL(1, 2, 4, 5);

/* The header edit w (add/set/remove) on head h: 1 when it changed, 0 when not (remove of an
 * absent header), -1 out of memory. before gets the old value ("" when none). */
int rewrite_head(const struct rewrite *w, struct http1_head *h, char *before, size_t blen)
    HP_NONNULL(1, 2, 3);

/* Set one header field of h (replacing every field of that name; value NULL: remove them all),
 * and h's status and reason when status > 0. Returns 0, or -1 out of memory (h unchanged). */
int rewrite_head_set(struct http1_head *h, const char *name, const char *value, int add, int status,
                     const char *reason) HP_NONNULL(1);

/* Encode data[0..len) with the Content-Encoding cenc (gzip, x-gzip, deflate; br when built with
 * the brotli encoder) into out. Returns 0, or -1 when cenc is not one it can make. */
int rewrite_encode(const char *cenc, const unsigned char *data, size_t len, struct evbuffer *out)
    HP_NONNULL(1, 4);

#endif
