/* replay_spec.c — the request a repeat or a composed request sends (replay_spec.h): built, checked,
 * and written as the bytes that go to httpeek's own listener. */
#include "replay_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/http.h>

struct replay_spec *replay_spec_new(const char *method, const char *url)
{
    struct replay_spec *s = calloc(1, sizeof *s);
    if (!s || !(s->url = strdup(url))) {
        free(s);
        return NULL;
    }
    snprintf(s->method, sizeof s->method, "%s", method);
    if (strlen(method) >= sizeof s->method)
        s->method[0] = '\0'; /* too long for a method: refused by replay_spec_check */
    return s;
}

int replay_spec_header(struct replay_spec *s, const char *name, const char *value)
{
    if (s->nheaders >= REPLAY_MAX_HEADERS)
        return -1;
    char **n = realloc(s->names, (s->nheaders + 1) * sizeof *n);
    if (!n)
        return -1;
    s->names = n;
    char **v = realloc(s->values, (s->nheaders + 1) * sizeof *v);
    if (!v)
        return -1;
    s->values = v;
    char *nn = strdup(name), *vv = strdup(value);
    if (!nn || !vv) {
        free(nn);
        free(vv);
        return -1;
    }
    s->names[s->nheaders] = nn;
    s->values[s->nheaders++] = vv;
    return 0;
}

int replay_spec_body(struct replay_spec *s, const void *data, size_t len)
{
    free(s->body);
    s->body = NULL;
    s->body_len = 0;
    if (!len)
        return 0;
    if (!(s->body = malloc(len)))
        return -1;
    memcpy(s->body, data, len);
    s->body_len = len;
    return 0;
}

void replay_spec_free(struct replay_spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nheaders; i++) {
        free(s->names[i]);
        free(s->values[i]);
    }
    free(s->names);
    free(s->values);
    free(s->url);
    free(s->body);
    free(s);
}

/* RFC 9110 §5.6.2 tchar. */
static int is_token(const char *t)
{
    if (!*t)
        return 0;
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return 0;
    }
    return 1;
}

/* A field value may hold anything but CR, LF and NUL (RFC 9110 §5.5; NUL cannot be in a C string). */
static int is_value(const char *v)
{
    return !strpbrk(v, "\r\n");
}

/* Fields never sent as given: hop-by-hop (RFC 9110 §7.6.1), Host (from the URL) and framing
 * (recomputed from the body). */
static int dropped(const char *name)
{
    static const char *const names[] = {"host", "content-length", "transfer-encoding",
                                        "connection", "keep-alive", "proxy-connection", "te",
                                        "trailer", "upgrade", "expect", "proxy-authorization",
                                        "http2-settings"};
    if (name[0] == ':') /* an HTTP/2 pseudo-header kept in a captured head */
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(name, names[i]))
            return 1;
    return 0;
}

/* The URL's parts: scheme is http or https, host is set. NULL with a reason. */
static struct evhttp_uri *parse_url(const char *url, int *tls, char *err, size_t errlen)
{
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            snprintf(err, errlen, "the URL holds a space or a control character");
            return NULL;
        }
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!u || !scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) || !host ||
        !*host) {
        snprintf(err, errlen, "url must be an absolute http:// or https:// URL with a host");
        if (u)
            evhttp_uri_free(u);
        return NULL;
    }
    *tls = !strcasecmp(scheme, "https");
    return u;
}

int replay_spec_check(const struct replay_spec *s, char *err, size_t errlen)
{
    if (!is_token(s->method) || !strcasecmp(s->method, "CONNECT")) {
        snprintf(err, errlen, "method must be an HTTP method token (and not CONNECT)");
        return -1;
    }
    int tls;
    struct evhttp_uri *u = parse_url(s->url, &tls, err, errlen);
    if (!u)
        return -1;
    evhttp_uri_free(u);
    for (size_t i = 0; i < s->nheaders; i++) {
        if (!is_token(s->names[i]) && s->names[i][0] != ':') {
            snprintf(err, errlen, "header %zu: its name is not a token", i + 1);
            return -1;
        }
        if (!is_value(s->values[i])) {
            snprintf(err, errlen, "header %zu (%.64s): its value holds CR or LF", i + 1,
                     s->names[i]);
            return -1;
        }
    }
    return 0;
}

/* evbuffer_printf into b; -1 on OOM. */
#define ADD(b, ...) (evbuffer_add_printf((b), __VA_ARGS__) < 0 ? -1 : 0)

int replay_spec_wire(const struct replay_spec *s, int *tls, char **connect_head, char **head,
                     char *tls_host, size_t tls_hostlen, char *err, size_t errlen)
{
    *connect_head = *head = NULL;
    if (replay_spec_check(s, err, errlen) < 0)
        return -1;
    struct evhttp_uri *u = parse_url(s->url, tls, err, errlen);
    if (!u)
        return -1;
    const char *host = evhttp_uri_get_host(u), *path = evhttp_uri_get_path(u),
               *query = evhttp_uri_get_query(u);
    int port = evhttp_uri_get_port(u);
    /* an IPv6 literal goes back in brackets, whichever way the parser gave it */
    int v6 = strchr(host, ':') && host[0] != '[';
    char authority[300], hostport[300];
    snprintf(authority, sizeof authority, "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
    snprintf(tls_host, tls_hostlen, "%.*s", host[0] == '[' ? (int)strlen(host) - 2 : (int)strlen(host),
             host[0] == '[' ? host + 1 : host);
    snprintf(hostport, sizeof hostport, "%s:%d", authority, port > 0 ? port : *tls ? 443 : 80);
    if (port > 0) {
        size_t n = strlen(authority);
        snprintf(authority + n, sizeof authority - n, ":%d", port);
    }
    struct evbuffer *b = evbuffer_new(), *c = evbuffer_new();
    int bad = !b || !c;
    const char *origin = path && *path ? path : "/";
    if (!bad && *tls)
        bad = ADD(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hostport, hostport) ||
              ADD(b, "%s %s%s%s HTTP/1.1\r\n", s->method, origin, query ? "?" : "",
                  query ? query : "");
    else if (!bad)
        bad = ADD(b, "%s http://%s%s%s%s HTTP/1.1\r\n", s->method, authority, origin,
                  query ? "?" : "", query ? query : "");
    if (!bad)
        bad = ADD(b, "Host: %s\r\n", authority);
    for (size_t i = 0; !bad && i < s->nheaders; i++)
        if (!dropped(s->names[i]))
            bad = ADD(b, "%s: %s\r\n", s->names[i], s->values[i]);
    /* a body is framed by its length; so is an empty one where a body is expected */
    int wants_body = !strcasecmp(s->method, "POST") || !strcasecmp(s->method, "PUT") ||
                     !strcasecmp(s->method, "PATCH");
    if (!bad && (s->body_len || wants_body))
        bad = ADD(b, "Content-Length: %zu\r\n", s->body_len);
    if (!bad)
        bad = ADD(b, "\r\n");
    evhttp_uri_free(u);
    if (!bad) {
        size_t n = evbuffer_get_length(b), m = evbuffer_get_length(c);
        *head = malloc(n + 1);
        *connect_head = *tls ? malloc(m + 1) : NULL;
        if (!*head || (*tls && !*connect_head))
            bad = 1;
        else {
            evbuffer_remove(b, *head, n);
            (*head)[n] = '\0';
            if (*tls) {
                evbuffer_remove(c, *connect_head, m);
                (*connect_head)[m] = '\0';
            }
        }
    }
    if (b)
        evbuffer_free(b);
    if (c)
        evbuffer_free(c);
    if (bad) {
        free(*head);
        free(*connect_head);
        *head = *connect_head = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
