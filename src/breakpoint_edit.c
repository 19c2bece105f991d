/* breakpoint_edit.c — see breakpoint_edit.h. */
#include "breakpoint_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <llhttp.h>
#include <openssl/evp.h>
#include "body_decode.h"
#include "breakpoint.h"
#include "http1_edit.h"

json_t *bp_head_view(const struct http1_head *h, const char *url)
{
    json_t *headers = json_array();
    for (size_t i = 0; headers && i < h->nfields; i++) {
        if (h->fields[i].name[0] == ':')
            continue; /* an HTTP/2 pseudo-header kept in a recorded head */
        json_t *pair = json_pack("[s, s]", h->fields[i].name, h->fields[i].value);
        if (!pair) /* not UTF-8: shown as Latin-1 would mislead; leave it out */
            continue;
        json_array_append_new(headers, pair);
    }
    if (url)
        return json_pack("{s:s, s:s, s:o}", "method",
                         llhttp_method_name((llhttp_method_t)h->method), "url", url, "headers",
                         headers);
    return json_pack("{s:i, s:s, s:o}", "status", h->status, "reason", h->reason ? h->reason : "",
                     "headers", headers);
}

void bp_body_view(json_t *o, const char *cenc, const unsigned char *data, size_t len, int *decoded)
{
    *decoded = 0;
    json_object_set_new(o, "body_size", json_integer((json_int_t)len));
    struct evbuffer *plain = NULL;
    if (cenc && len && strcasecmp(cenc, "identity") && body_decode_known(cenc) &&
        (plain = evbuffer_new()) &&
        body_decode(cenc, 0, data, len, 4 * (size_t)BREAKPOINT_BODY_MAX, plain) == BODY_DECODE_OK) {
        *decoded = 1;
        len = evbuffer_get_length(plain);
        data = evbuffer_pullup(plain, -1);
        json_object_set_new(o, "body_encoding", json_string(cenc));
    }
    json_t *text = json_stringn((const char *)data, len); /* NULL unless valid UTF-8 */
    if (text) {
        json_object_set_new(o, "body", text);
    } else {
        char *b64 = malloc(4 * (len / 3 + 1) + 1);
        if (b64) {
            EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
            json_object_set_new(o, "body_base64", json_string(b64));
            free(b64);
        }
    }
    if (plain)
        evbuffer_free(plain);
}

int bp_body_edit(const json_t *edit, struct evbuffer *out)
{
    json_t *text = json_object_get(edit, "body"), *b64 = json_object_get(edit, "body_base64");
    if (json_is_string(text))
        return evbuffer_add(out, json_string_value(text), json_string_length(text)) ? -1 : 1;
    if (!json_is_string(b64))
        return text || b64 ? -1 : 0;
    size_t n = json_string_length(b64);
    const char *s = json_string_value(b64);
    if (n % 4)
        return -1;
    unsigned char *bin = malloc(n / 4 * 3 + 1);
    int got = bin ? EVP_DecodeBlock(bin, (const unsigned char *)s, (int)n) : -1;
    if (got < 0) {
        free(bin);
        return -1;
    }
    size_t pad = n >= 2 && s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0; /* DecodeBlock keeps it */
    int rc = evbuffer_add(out, bin, (size_t)got - pad) ? -1 : 1;
    free(bin);
    return rc;
}

int bp_method(const char *name)
{
    static const struct { const char *name; int method; } known[] = {
        {"GET", HTTP_GET},         {"POST", HTTP_POST},   {"PUT", HTTP_PUT},
        {"DELETE", HTTP_DELETE},   {"PATCH", HTTP_PATCH}, {"HEAD", HTTP_HEAD},
        {"OPTIONS", HTTP_OPTIONS},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(known[i].name, name))
            return known[i].method;
    return -1;
}

static int framing_field(const char *name)
{
    return !strcasecmp(name, "content-length") || !strcasecmp(name, "transfer-encoding");
}

const char *bp_content_encoding(const struct http1_head *h, const json_t *headers)
{
    if (!headers)
        return http1_head_get(h, "content-encoding");
    size_t i;
    json_t *pair;
    json_array_foreach(headers, i, pair) {
        const char *n = json_string_value(json_array_get(pair, 0));
        if (n && !strcasecmp(n, "content-encoding"))
            return json_string_value(json_array_get(pair, 1));
    }
    return NULL;
}

int bp_head_rebuild(struct http1_head *h, const char *target, int status, const char *reason,
                    const json_t *headers, enum http1_framing framing, uint64_t clen, int drop_cenc)
{
    size_t n = headers ? json_array_size(headers) : h->nfields;
    struct http1_field *in = calloc(n + 1, sizeof *in);
    if (!in)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name, *value;
        if (headers) {
            json_t *pair = json_array_get(headers, i);
            name = json_string_value(json_array_get(pair, 0));
            value = json_string_value(json_array_get(pair, 1));
            if (!name || !value)
                continue;
        } else {
            name = h->fields[i].name;
            value = h->fields[i].value;
        }
        if (framing_field(name) || (drop_cenc && !strcasecmp(name, "content-encoding")))
            continue;
        in[k].name = name;
        in[k++].value = value;
    }
    char num[24];
    if (framing == HTTP1_LENGTH) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)clen);
        in[k].name = "Content-Length";
        in[k++].value = num;
    } else if (framing == HTTP1_CHUNKED) {
        in[k].name = "Transfer-Encoding";
        in[k++].value = "chunked";
    }
    const char *tgt = target ? target : h->target ? h->target : "";
    const char *rsn = reason ? reason : h->reason ? h->reason : "";
    int rc = http1_head_replace(h, tgt, rsn, in, k);
    free(in);
    if (rc < 0)
        return -1;
    if (status)
        h->status = status;
    h->framing = framing;
    h->content_length = framing == HTTP1_LENGTH ? clen : 0;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Checking an action (web thread) */

static int token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int check_headers(const json_t *headers, const char *side, char *err, size_t errlen)
{
    if (!headers)
        return 0;
    if (!json_is_array(headers)) {
        snprintf(err, errlen, "%s.headers: an array of [name, value]", side);
        return -1;
    }
    size_t i;
    json_t *pair;
    json_array_foreach(headers, i, pair) {
        const char *n = json_string_value(json_array_get(pair, 0));
        const char *v = json_string_value(json_array_get(pair, 1));
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !n || !v || !n[0]) {
            snprintf(err, errlen, "%s.headers[%zu]: [name, value] strings", side, i);
            return -1;
        }
        for (const char *c = n; *c; c++)
            if (!token_char((unsigned char)*c)) {
                snprintf(err, errlen, "%s.headers[%zu]: '%.40s' is not a header name", side, i, n);
                return -1;
            }
        if (json_string_length(json_array_get(pair, 1)) != strlen(v) || strpbrk(v, "\r\n")) {
            snprintf(err, errlen, "%s.headers[%zu]: a value has no line breaks or NUL", side, i);
            return -1;
        }
        if (n[0] == ':') {
            snprintf(err, errlen, "%s.headers[%zu]: pseudo-headers are not fields", side, i);
            return -1;
        }
    }
    return 0;
}

static int check_body(const json_t *edit, const char *side, char *err, size_t errlen)
{
    struct evbuffer *b = evbuffer_new();
    int rc = b ? bp_body_edit(edit, b) : -1;
    size_t len = b ? evbuffer_get_length(b) : 0;
    if (b)
        evbuffer_free(b);
    if (rc < 0) {
        snprintf(err, errlen, "%s.body: a string (or body_base64: base64)", side);
        return -1;
    }
    if (len > BREAKPOINT_BODY_MAX) {
        snprintf(err, errlen, "%s.body: at most %u bytes", side, BREAKPOINT_BODY_MAX);
        return -1;
    }
    return 0;
}

static int check_edit(const json_t *edit, const char *side, char *err, size_t errlen)
{
    if (!edit)
        return 0;
    if (!json_is_object(edit)) {
        snprintf(err, errlen, "%s: an object", side);
        return -1;
    }
    const char *key;
    json_t *v;
    int req = !strcmp(side, "request");
    json_object_foreach((json_t *)edit, key, v) {
        if (!strcmp(key, "headers") || !strcmp(key, "body") || !strcmp(key, "body_base64"))
            continue;
        if (req && !strcmp(key, "method")) {
            if (!json_is_string(v) || bp_method(json_string_value(v)) < 0) {
                snprintf(err, errlen, "request.method: GET, POST, PUT, DELETE, PATCH, HEAD or "
                                      "OPTIONS");
                return -1;
            }
        } else if (req && !strcmp(key, "url")) {
            const char *u = json_string_value(v);
            if (!u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
                strpbrk(u, " \r\n") || strlen(u) > 8000) {
                snprintf(err, errlen, "request.url: an absolute http:// or https:// URL");
                return -1;
            }
        } else if (!req && !strcmp(key, "status")) {
            if (!json_is_integer(v) || json_integer_value(v) < 200 || json_integer_value(v) > 999) {
                snprintf(err, errlen, "response.status: 200..999");
                return -1;
            }
        } else if (!req && !strcmp(key, "reason")) {
            if (!json_is_string(v) || strpbrk(json_string_value(v), "\r\n")) {
                snprintf(err, errlen, "response.reason: one line of text");
                return -1;
            }
        } else {
            snprintf(err, errlen, "%s.%.40s: unknown field", side, key);
            return -1;
        }
    }
    return check_headers(json_object_get(edit, "headers"), side, err, errlen) ||
                   check_body(edit, side, err, errlen)
               ? -1
               : 0;
}

/* The NSURLError codes an abort can make the app see. */
int bp_abort_error_known(json_int_t code)
{
    return code == -1005 || code == -1001 || code == -1004 || code == -1003;
}

int breakpoint_action_check(const json_t *action, char *err, size_t errlen)
{
    if (!json_is_object(action)) {
        snprintf(err, errlen, "a JSON object {action, request | response, abort}");
        return -1;
    }
    const char *name = json_string_value(json_object_get(action, "action"));
    if (!name || (strcmp(name, "execute") && strcmp(name, "continue") && strcmp(name, "abort"))) {
        snprintf(err, errlen, "action: \"execute\", \"continue\" or \"abort\"");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)action, key, v) {
        if (strcmp(key, "action") && strcmp(key, "request") && strcmp(key, "response") &&
            strcmp(key, "abort")) {
            snprintf(err, errlen, "%.40s: unknown field (action, request, response, abort)", key);
            return -1;
        }
    }
    if (check_edit(json_object_get(action, "request"), "request", err, errlen) < 0 ||
        check_edit(json_object_get(action, "response"), "response", err, errlen) < 0)
        return -1;
    json_t *abort = json_object_get(action, "abort");
    if (strcmp(name, "abort"))
        return 0;
    json_t *status = json_object_get(abort, "status"), *error = json_object_get(abort, "error");
    if (!json_is_object(abort) || (!status == !error)) {
        snprintf(err, errlen, "abort: {status: N[, body, headers]} or {error: -1005 | -1001 | "
                              "-1004 | -1003}");
        return -1;
    }
    if (error && (!json_is_integer(error) || !bp_abort_error_known(json_integer_value(error)))) {
        snprintf(err, errlen, "abort.error: -1005 (connection lost), -1001 (timed out: left "
                              "unanswered until the app gives up), -1004 (cannot connect), -1003 "
                              "(host not found)");
        return -1;
    }
    if (status && (!json_is_integer(status) || json_integer_value(status) < 200 ||
                   json_integer_value(status) > 999)) {
        snprintf(err, errlen, "abort.status: 200..999");
        return -1;
    }
    json_t *edit = json_object(); /* body and headers of the status answer */
    json_object_set(edit, "body", json_object_get(abort, "body"));
    json_object_set(edit, "headers", json_object_get(abort, "headers"));
    if (!json_object_get(abort, "body"))
        json_object_del(edit, "body");
    if (!json_object_get(abort, "headers"))
        json_object_del(edit, "headers");
    int rc = check_edit(edit, "response", err, errlen);
    json_decref(edit);
    return rc;
}
