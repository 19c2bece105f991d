/* test_message.c — message.c: the protocol-neutral head, RFC 9113 §8.2/§8.3 rules for received
 * HTTP/2 header blocks, the HTTP/1.1 -> HTTP/2 mapping, and the conversions to and from
 * struct http1_head (parsed by the real http1.c). */
#include "../../src/message.c"
#include "../../src/h2_common.h"

#include <stdio.h>
#include "tap.h"

/* Add name: value pairs (NULL-terminated list) as a received HTTP/2 block; the first reason. */
static const char *h2_block(struct message_head *h, const char *const *nv, int trailers)
{
    for (; nv[0]; nv += 2) {
        const char *why = message_h2_add(h, nv[0], strlen(nv[0]), nv[1], strlen(nv[1]), trailers);
        if (why)
            return why;
    }
    return NULL;
}

/* The reason a request block gives (from adding or from the final check), or NULL. */
static const char *request_verdict(const char *const *nv)
{
    struct message_head h;
    message_head_init(&h, 1);
    const char *why = h2_block(&h, nv, 0);
    if (!why)
        why = message_h2_check(&h);
    message_head_clear(&h);
    return why;
}

#define REQ(...) ((const char *const[]){__VA_ARGS__, NULL})
#define BASE ":method", "GET", ":scheme", "https", ":authority", "a.test", ":path", "/x"

static void test_h2_receive_rules(void)
{
    ok(request_verdict(REQ(BASE, "accept", "*/*")) == NULL, "valid request accepted");
    is_str(request_verdict(REQ(":method", "GET", "accept", "*/*", ":path", "/")),
           "pseudo-header after regular field", "pseudo-header after a regular field refused");
    is_str(request_verdict(REQ(BASE, ":protocol", "websocket")), "unknown pseudo-header",
           "unknown pseudo-header refused");
    is_str(request_verdict(REQ(BASE, ":method", "POST")), "duplicate pseudo-header :method",
           "duplicate :method refused");
    is_str(request_verdict(REQ(":status", "200", BASE)), "response pseudo-header :status in a request",
           ":status in a request refused");
    is_str(request_verdict(REQ(":method", "GET", ":scheme", "https", ":authority", "a.test")),
           "missing :path", "missing :path refused");
    is_str(request_verdict(REQ(":method", "GET", ":authority", "a.test", ":path", "/")),
           "missing :scheme", "missing :scheme refused");
    is_str(request_verdict(REQ(":scheme", "https", ":authority", "a.test", ":path", "/")),
           "missing :method", "missing :method refused");
    is_str(request_verdict(REQ(":method", "GET", ":scheme", "https", ":path", "")),
           "empty :path", "empty :path refused");
    is_str(request_verdict(REQ(":method", "GE T", ":scheme", "https", ":path", "/")),
           "invalid :method", "method that is not a token refused");
    is_str(request_verdict(REQ(":method", "GET", ":scheme", "https", ":path", "x")),
           "invalid :path", "path not starting with / refused");
    ok(request_verdict(REQ(":method", "OPTIONS", ":scheme", "https", ":path", "*")) == NULL,
       "OPTIONS * accepted");
    is_str(request_verdict(REQ(BASE, "Accept", "*/*")), "upper-case field name",
           "upper-case field name refused");
    const char *conn[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                          "upgrade"};
    for (size_t i = 0; i < 5; i++) {
        char want[80];
        snprintf(want, sizeof want, "connection-specific field: %s", conn[i]);
        is_str(request_verdict(REQ(BASE, conn[i], "x")), want, want);
    }
    is_str(request_verdict(REQ(BASE, "te", "gzip")), "TE other than \"trailers\"",
           "TE: gzip refused");
    ok(request_verdict(REQ(BASE, "te", "trailers")) == NULL, "TE: trailers accepted");
    is_str(request_verdict(REQ(BASE, "content-length", "5", "content-length", "6")),
           "invalid or conflicting content-length", "two different content-lengths refused");
    is_str(request_verdict(REQ(BASE, "content-length", "5x")),
           "invalid or conflicting content-length", "content-length not a number refused");
    is_str(request_verdict(REQ(BASE, "host", "b.test")), "host differs from :authority",
           "Host other than :authority refused");
    ok(request_verdict(REQ(BASE, "host", "A.test")) == NULL, "Host equal to :authority accepted");
    is_str(request_verdict(REQ(":method", "CONNECT", ":authority", "a.test:443", ":path", "/")),
           "CONNECT with :scheme or :path", "CONNECT with :path refused");
    ok(request_verdict(REQ(":method", "CONNECT", ":authority", "a.test:443")) == NULL,
       "CONNECT with :authority only passes the message rules");
    is_str(request_verdict(REQ(BASE, "x", "a\nb")), "invalid character in field value",
           "LF in a value refused");

    /* content-length with no body */
    struct message_head h;
    message_head_init(&h, 1);
    ok(!h2_block(&h, REQ(BASE, "content-length", "3"), 0), "block with content-length");
    h.end_stream = 1;
    is_str(message_h2_check(&h), "content-length but the stream ended with the head",
           "content-length on a request without DATA refused");
    is_int(h.content_length, 3, "content_length parsed");
    message_head_clear(&h);

    /* trailers */
    message_head_init(&h, 1);
    ok(!h2_block(&h, REQ(BASE), 0), "head");
    ok(!h2_block(&h, REQ("grpc-status", "0", "grpc-message", "ok"), 1), "trailers accepted");
    is_int((long long)h.ntrailers, 2, "two trailers kept apart from fields");
    is_int((long long)h.nfields, 0, "fields untouched by trailers");
    is_str(h2_block(&h, REQ(":path", "/"), 1), "pseudo-header in trailers",
           "pseudo-header in trailers refused");
    message_head_clear(&h);

    /* responses */
    message_head_init(&h, 0);
    ok(!h2_block(&h, REQ(":status", "204", "server", "t"), 0), "response block");
    is_int(h.status, 204, "status parsed");
    ok(message_h2_check(&h) == NULL, "response passes");
    message_head_clear(&h);
    message_head_init(&h, 0);
    is_str(h2_block(&h, REQ(":status", "20x"), 0), "invalid :status", "bad :status refused");
    message_head_clear(&h);
    message_head_init(&h, 0);
    ok(!h2_block(&h, REQ("server", "t"), 0), "fields only");
    is_str(message_h2_check(&h), "missing :status", "response without :status refused");
    message_head_clear(&h);
}

/* An HTTP/1 head parsed by the real parser. */
static struct http1_head *parsed;
static int grab_head(void *arg, struct http1_head *h)
{
    (void)arg;
    parsed = http1_head_take(h);
    return 0;
}
static int no_body(void *arg, const char *d, size_t n)
{
    (void)arg, (void)d, (void)n;
    return 0;
}
static int grab_done(void *arg)
{
    (void)arg;
    return 1;
}
static const struct http1_handlers grab = {grab_head, no_body, grab_done, NULL};

static struct http1_head *parse_http1(const char *text, int is_request)
{
    struct http1_parser p;
    http1_parser_init(&p, is_request, &grab, NULL);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, text, strlen(text));
    parsed = NULL;
    http1_feed(&p, b);
    evbuffer_free(b);
    http1_parser_free(&p);
    return parsed;
}

/* 1 when h2_head_nv_from(src) gives the list h2_head_nv gives for message_to_h2(src): the same
 * pairs in the same order (names lower-cased, fields dropped, crumbs) without the copy. */
static int same_nv(const struct message_head *src, const struct message_head *h2)
{
    nghttp2_nv *a = NULL, *b = NULL, *c = NULL;
    void *room[H2_NV_ROOM / sizeof(void *)];
    char sa[4], sb[4], sc[4];
    ssize_t na = h2_head_nv(h2, 0, sa, &a),
            nb = h2_head_nv_from(src, src->is_request, sb, NULL, 0, &b),
            nc = h2_head_nv_from(src, src->is_request, sc, room, sizeof room, &c);
    /* the same list whether made in a malloc'd block or in the caller's room */
    int same = na > 0 && na == nb && na == nc && (void *)c == room && (void *)b != room;
    for (ssize_t i = 0; same && i < na; i++)
        same = a[i].namelen == b[i].namelen && a[i].valuelen == b[i].valuelen &&
               !memcmp(a[i].name, b[i].name, a[i].namelen) &&
               !memcmp(a[i].value, b[i].value, a[i].valuelen) && a[i].namelen == c[i].namelen &&
               a[i].valuelen == c[i].valuelen && !memcmp(a[i].name, c[i].name, a[i].namelen) &&
               !memcmp(a[i].value, c[i].value, a[i].valuelen);
    free(a);
    free(b);
    return same;
}

static void test_to_h2(void)
{
    struct http1_head *h1 = parse_http1(
        "POST /up?q=1 HTTP/1.1\r\nHost: a.test:8443\r\nConnection: keep-alive, X-Hop\r\n"
        "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: gzip, trailers\r\nUpgrade: h2c\r\n"
        "Proxy-Connection: keep-alive\r\nCookie: a=1; b=2;c=3\r\nX-Custom: Yes\r\n"
        "Content-Length: 4\r\n\r\nbody", 1);
    ok(h1 != NULL, "HTTP/1 request parsed");
    if (!h1)
        return;
    struct message_head m, h2;
    ok(message_from_http1(&m, h1, "https") == 0, "message_from_http1");
    is_str(m.method, "POST", "method text from llhttp's number");
    is_str(m.scheme, "https", "scheme given by the caller");
    is_str(m.authority, "a.test:8443", "authority from Host");
    is_str(m.path, "/up?q=1", "path from the origin-form target");
    is_int(m.content_length, 4, "content-length carried");
    is_int((long long)m.nfields, (long long)h1->nfields, "every field kept as received");
    ok(message_to_h2(&m, &h2) == 0, "message_to_h2");
    is_str(h2.authority, "a.test:8443", ":authority");
    is_int(h2.major * 10 + h2.minor, 20, "version 2.0");
    ok(!message_get(&h2, "host"), "Host moved to :authority");
    ok(!message_get(&h2, "connection") && !message_get(&h2, "keep-alive") &&
           !message_get(&h2, "upgrade") && !message_get(&h2, "proxy-connection"),
       "connection-specific fields dropped");
    ok(!message_get(&h2, "x-hop"), "field named by Connection dropped");
    is_str(message_get(&h2, "te"), "trailers", "TE reduced to trailers");
    is_str(message_get(&h2, "x-custom"), "Yes", "end-to-end field kept, value as is");
    int crumbs = 0, lower = 1;
    for (size_t i = 0; i < h2.nfields; i++) {
        if (!strcmp(h2.fields[i].name, "cookie"))
            crumbs++;
        for (const char *p = h2.fields[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                lower = 0;
    }
    is_int(crumbs, 3, "Cookie split into three crumbs");
    ok(lower, "every name lower-case");
    ok(message_h2_check(&h2) == NULL, "the mapped head passes the HTTP/2 receive rules");
    ok(same_nv(&m, &h2), "h2_head_nv_from: the request's header list as message_to_h2 makes it");

    /* and back to HTTP/1.1 for flow/HAR */
    const char *why = "x";
    struct http1_head *back = message_to_http1(&h2, &why);
    ok(back && !why, "message_to_http1");
    if (back) {
        is_str(back->fields[0].name, "host", "Host first");
        is_str(back->fields[0].value, "a.test:8443", "Host from :authority");
        is_str(http1_head_get(back, "cookie"), "a=1; b=2; c=3", "cookie crumbs joined with \"; \"");
        int cookies = 0;
        for (size_t i = 0; i < back->nfields; i++)
            cookies += !strcmp(back->fields[i].name, "cookie");
        is_int(cookies, 1, "one Cookie field");
        is_str(back->target, "/up?q=1", "target = path");
        is_int(back->method, HTTP_POST, "method number");
        is_int(back->major * 10 + back->minor, 20, "HTTP/2.0 for HAR");
        is_int(back->framing, HTTP1_LENGTH, "framing from content-length");
        is_int((long long)back->content_length, 4, "content-length");
        is_int((long long)back->wire_size, (long long)h2.field_bytes,
               "wire_size: the field list size when the wire size is not known");
        http1_head_free(back);
    }
    message_head_clear(&m);
    message_head_clear(&h2);
    http1_head_free(h1);

    h1 = parse_http1("GET http://B.test/a/b?c HTTP/1.1\r\nHost: ignored.test\r\n\r\n", 1);
    ok(h1 && message_from_http1(&m, h1, NULL) == 0, "absolute-form request");
    is_str(m.scheme, "http", "scheme from the absolute target");
    is_str(m.authority, "B.test", "authority from the absolute target");
    is_str(m.path, "/a/b?c", "path from the absolute target");
    ok(m.end_stream, "no body");
    message_head_clear(&m);
    http1_head_free(h1);
    h1 = parse_http1("GET http://b.test?x=1 HTTP/1.1\r\nHost: b.test\r\n\r\n", 1);
    ok(h1 && message_from_http1(&m, h1, NULL) == 0, "absolute-form without a path");
    is_str(m.path, "/?x=1", "path / added before the query");
    message_head_clear(&m);
    http1_head_free(h1);

    h1 = parse_http1("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", 0);
    ok(h1 && message_from_http1(&m, h1, NULL) == 0, "response from HTTP/1");
    is_int(m.status, 200, "status");
    ok(message_to_h2(&m, &h2) == 0 && !message_get(&h2, "transfer-encoding") &&
           message_get(&h2, "x-a"),
       "response mapped: Transfer-Encoding dropped");
    ok(same_nv(&m, &h2), "h2_head_nv_from: the response's header list as message_to_h2 makes it");
    message_head_clear(&m);
    message_head_clear(&h2);
    http1_head_free(h1);

    message_head_init(&m, 1); /* no authority: :authority from Host */
    message_set_method(&m, "GET", 3);
    message_set_scheme(&m, "https", 5);
    message_set_path(&m, "/", 1);
    message_add_field_borrowed(&m, "Host", 4, "h.test", 6);
    message_add_field_borrowed(&m, "Accept", 6, "*/*", 3);
    ok(message_to_h2(&m, &h2) == 0 && !strcmp(h2.authority, "h.test"), "Host as :authority");
    ok(same_nv(&m, &h2), "h2_head_nv_from: :authority from Host, as message_to_h2 makes it");
    message_head_clear(&m);
    message_head_clear(&h2);
}

static void test_to_http1(void)
{
    struct message_head m;
    message_head_init(&m, 1);
    ok(!h2_block(&m, REQ(":method", "CONNECT", ":authority", "a.test:443"), 0), "CONNECT head");
    const char *why = NULL;
    struct http1_head *h = message_to_http1(&m, &why);
    ok(h && h->method == HTTP_CONNECT, "CONNECT mapped");
    if (h)
        is_str(h->target, "a.test:443", "CONNECT target = authority");
    http1_head_free(h);
    message_head_clear(&m);

    message_head_init(&m, 1);
    ok(!h2_block(&m, REQ(":method", "BREW", ":scheme", "https", ":path", "/"), 0), "BREW head");
    h = message_to_http1(&m, &why);
    ok(!h && why && strstr(why, "method"), "unknown method: no head, a reason");
    message_head_clear(&m);

    message_head_init(&m, 0);
    ok(!h2_block(&m, REQ(":status", "304", "etag", "\"x\""), 0), "304 head");
    h = message_to_http1(&m, &why);
    ok(h && h->framing == HTTP1_NO_BODY && h->status == 304, "304: no body");
    if (h)
        is_str(h->reason, "", "no reason phrase for HTTP/2 (RFC 9113 8.3.2)");
    http1_head_free(h);
    message_head_clear(&m);

    message_head_init(&m, 0);
    ok(!h2_block(&m, REQ(":status", "200"), 0), "200 head without length");
    h = message_to_http1(&m, &why);
    ok(h && h->framing == HTTP1_CHUNKED, "200 without length: chunked for HTTP/1.1");
    http1_head_free(h);
    message_head_clear(&m);
}

static void test_to_http1_recorded(void)
{
    struct message_head m;
    message_head_init(&m, 1);
    ok(!h2_block(&m, REQ(":method", "POST", ":scheme", "https", ":authority", "a.test:8443",
                         ":path", "/p?q", "content-length", "3", "cookie", "a=1"), 0),
       "POST head");
    const char *why = NULL;
    struct http1_head *h = message_to_http1_recorded(&m, &why);
    ok(h && h->nfields == 6, "recorded: 4 pseudo-headers and 2 fields");
    if (h && h->nfields == 6) {
        is_str(h->fields[0].name, ":method", "first :method");
        is_str(h->fields[1].name, ":scheme", "then :scheme");
        is_str(h->fields[2].value, "a.test:8443", ":authority as sent");
        is_str(h->fields[3].value, "/p?q", ":path as sent");
        is_str(h->fields[4].name, "content-length", "then the client's fields in order");
        ok(!http1_head_get(h, "host"), "no Host made up from :authority");
        ok(h->major == 2 && h->minor == 0 && h->method == HTTP_POST, "version 2.0, method POST");
        is_str(h->target, "/p?q", "target = :path");
        ok(h->framing == HTTP1_LENGTH && h->content_length == 3, "framing from content-length");
        struct evbuffer *out = evbuffer_new();
        http1_write_request_head(out, h, h->target, "a.test:8443", h->framing, 0);
        size_t n = evbuffer_get_length(out);
        char *txt = calloc(1, n + 1);
        evbuffer_remove(out, txt, n);
        ok(!strchr(txt, ':') || !strstr(txt, "\r\n:"), "HTTP/1 writer skips the pseudo-headers");
        free(txt);
        evbuffer_free(out);
    }
    http1_head_free(h);
    message_head_clear(&m);
}

/* What a lent head's user saw and took (message_to_http1_lend). */
struct lent {
    int calls;
    int take;              /* take it (http1_head_take) or only read it */
    struct http1_head *taken;
    int status;
};

static int use_lent(void *arg, struct http1_head *h)
{
    struct lent *l = arg;
    l->calls++;
    l->status = h->status;
    if (l->take)
        l->taken = http1_head_take(h);
    return 7;
}

/* a and b hold the same head (every field a flow or writer reads). */
static int same_http1(const struct http1_head *a, const struct http1_head *b)
{
    if (a->is_request != b->is_request || a->method != b->method || a->status != b->status ||
        a->major != b->major || a->minor != b->minor || a->framing != b->framing ||
        a->content_length != b->content_length || a->keep_alive != b->keep_alive ||
        a->upgrade != b->upgrade || a->wire_size != b->wire_size || a->nfields != b->nfields ||
        strcmp(a->target, b->target) || strcmp(a->reason, b->reason))
        return 0;
    for (size_t i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i].name, b->fields[i].name) ||
            strcmp(a->fields[i].value, b->fields[i].value))
            return 0;
    return 1;
}

/* All of h's strings lie in its own block (a packed head: one free). */
static int strings_inside(const struct http1_head *h)
{
    const char *lo = (const char *)h, *hi = h->buf + h->buf_len;
    for (size_t i = 0; i < h->nfields; i++)
        if (h->fields[i].name < lo || h->fields[i].name >= hi || h->fields[i].value < lo ||
            h->fields[i].value >= hi)
            return 0;
    return 1;
}

/* The response head an HTTP/2 upstream gives the exchange: lent on the stack, taken once (the
 * exchange's http1_head_take), the same head message_to_http1 makes; a big head's heap rooms
 * (fields, offsets, text) are freed by the lender only, never by the take. */
static void test_to_http1_lend(void)
{
    for (int big = 0; big < 2; big++) {
        struct message_head m;
        message_head_init(&m, 0);
        ok(!h2_block(&m, REQ(":status", "200", "content-type", "text/html", "content-length", "5",
                             "cookie", "a=1", "etag", "\"x\"", "cookie", "b=2"), 0),
           "response head");
        char value[300];
        memset(value, 'v', sizeof value - 1);
        value[sizeof value - 1] = 0;
        for (int i = 0; big && i < 60; i++) { /* 60 fields, ~18 KB: every room on the heap */
            char name[32];
            snprintf(name, sizeof name, "x-f-%d", i);
            message_add_field(&m, name, strlen(name), value, strlen(value));
        }
        m.major = 2;
        m.minor = 0;
        m.wire_size = 321;
        const char *why = "unset";
        struct http1_head *want = message_to_http1(&m, &why);
        struct lent l = {0, 1, NULL, 0};
        int used = 0;
        int r = message_to_http1_lend(&m, &why, use_lent, &l, &used);
        ok(r == 0 && !why && l.calls == 1 && used == 7, "%s head lent once, use's result back",
           big ? "big" : "small");
        ok(want && l.taken && same_http1(want, l.taken), "%s: taken head = message_to_http1's",
           big ? "big" : "small");
        ok(l.taken && l.taken->packed && strings_inside(l.taken),
           "%s: taken into one block of its own", big ? "big" : "small");
        if (l.taken)
            is_str(http1_head_get(l.taken, "cookie"), "a=1; b=2", "cookie crumbs joined");
        http1_head_free(want);
        http1_head_free(l.taken);

        struct lent peek = {0, 0, NULL, 0}; /* read, not taken */
        ok(message_to_http1_lend(&m, &why, use_lent, &peek, &used) == 0 && peek.calls == 1 &&
               peek.status == 200,
           "%s: a head only read is fine", big ? "big" : "small");
        message_head_clear(&m);
    }
    struct message_head m;
    message_head_init(&m, 1);
    ok(!h2_block(&m, REQ(":method", "BREW", ":scheme", "https", ":path", "/"), 0), "BREW head");
    const char *why = NULL;
    struct lent l = {0, 1, NULL, 0};
    int used = -5;
    ok(message_to_http1_lend(&m, &why, use_lent, &l, &used) < 0 && why && l.calls == 0 &&
           used == -5,
       "unknown method: not lent, a reason");
    message_head_clear(&m);
}

/* Field values: NUL, CR or LF anywhere refused, every other byte at every place accepted (the
 * check goes eight bytes a step, then byte by byte: lengths 1 to 24 cover both, and bytes next to
 * the bad ones, 0x01, 0x0b, 0x8a, 0x8d, 0xff, show no false match). */
static void test_value_bytes(void)
{
    int refused = 0, accepted = 0, tried_bad = 0, tried_good = 0;
    for (size_t len = 1; len <= 24; len++) {
        for (size_t at = 0; at < len; at++) {
            for (int c = 0; c < 256; c++) {
                char v[24];
                memset(v, c == 'x' ? 'y' : 'x', sizeof v);
                v[at] = (char)c;
                if (c == 0xff && at + 1 < len) /* two high bytes side by side too */
                    v[at + 1] = (char)0x80;
                struct message_head h;
                message_head_init(&h, 0);
                const char *why = message_h2_add(&h, "x-v", 3, v, len, 0);
                int bad = c == 0 || c == '\r' || c == '\n';
                if (bad) {
                    tried_bad++;
                    refused += why && !strcmp(why, "invalid character in field value");
                } else {
                    tried_good++;
                    accepted += !why && h.nfields == 1 && !memcmp(h.fields[0].value, v, len);
                }
                message_head_clear(&h);
            }
        }
    }
    is_int(refused, tried_bad, "NUL, CR, LF refused at every place of values of 1-24 bytes");
    is_int(accepted, tried_good, "every other byte accepted at every place");
}

static void test_arena(void)
{
    struct message_head m, moved;
    message_head_init(&m, 1);
    char big[5000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = 0;
    int fine = 1;
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof name, "x-field-%d", i);
        if (message_add_field(&m, name, strlen(name), i % 50 ? name : big,
                              strlen(i % 50 ? name : big)) < 0)
            fine = 0;
    }
    ok(fine, "500 fields added (some 5 KB)");
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof name, "x-field-%d", i);
        if (strcmp(m.fields[i].name, name) || strcmp(m.fields[i].value, i % 50 ? name : big))
            fine = 0;
    }
    ok(fine, "every earlier string still valid after the arena grew");
    message_head_move(&moved, &m);
    ok(m.nfields == 0 && m.arena == NULL && moved.nfields == 500, "move leaves the source empty");
    message_head_clear(&moved);
    message_head_clear(&m);
}

int main(void)
{
    test_h2_receive_rules();
    test_to_h2();
    test_to_http1();
    test_to_http1_recorded();
    test_to_http1_lend();
    test_value_bytes();
    test_arena();
    return done();
}
