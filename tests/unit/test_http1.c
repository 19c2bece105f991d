/* test_http1.c — http1.c against golden transcripts: each input is fed whole and split at every
 * byte offset (llhttp may cut any span anywhere), and must give the same heads, body and
 * re-serialized output. */
#include "../../src/http1.c"

#include "tap.h"

struct capture {
    struct http1_head *heads[8];
    int nheads;
    char body[4096];
    size_t body_len;
    int done;
    size_t body_at_done[8]; /* body_len when each message ended */
    int skip_body_for_head; /* answer on_head with 1 (response to HEAD) */
};

static int cap_head(void *arg, struct http1_head *h)
{
    struct capture *c = arg;
    if (c->nheads < 8)
        c->heads[c->nheads++] = http1_head_take(h);
    return c->skip_body_for_head ? 1 : 0;
}

static int cap_body(void *arg, const char *d, size_t n)
{
    struct capture *c = arg;
    if (c->body_len + n <= sizeof c->body) {
        memcpy(c->body + c->body_len, d, n);
        c->body_len += n;
    }
    return 0;
}

static int cap_done(void *arg)
{
    struct capture *c = arg;
    if (c->done < 8)
        c->body_at_done[c->done] = c->body_len;
    c->done++;
    return 1; /* do not pause: see every message of the transcript */
}

static int cap_done_pause(void *arg)
{
    struct capture *c = arg;
    if (c->done < 8)
        c->body_at_done[c->done] = c->body_len;
    c->done++;
    return 0; /* pause after each message, as front_h1.c does for pipelining */
}

static const struct http1_handlers cap_handlers = {cap_head, cap_body, cap_done, NULL};

static void cap_free(struct capture *c)
{
    for (int i = 0; i < c->nheads; i++)
        http1_head_free(c->heads[i]);
    memset(c, 0, sizeof *c);
}

/* Feed input in two pieces split at `split` (0 = whole). Returns the last feed result. */
static enum http1_feed_result feed_split(int is_request, const char *input, size_t len, size_t split,
                                         struct capture *c, int finish)
{
    struct http1_parser p;
    http1_parser_init(&p, is_request, &cap_handlers, c);
    struct evbuffer *in = evbuffer_new();
    enum http1_feed_result r = HTTP1_FEED_MORE;
    if (split) {
        evbuffer_add(in, input, split);
        r = http1_feed(&p, in);
        if (r == HTTP1_FEED_MORE) {
            evbuffer_add(in, input + split, len - split);
            r = http1_feed(&p, in);
        }
    } else {
        evbuffer_add(in, input, len);
        r = http1_feed(&p, in);
    }
    if (finish && r == HTTP1_FEED_MORE)
        r = http1_finish(&p);
    evbuffer_free(in);
    http1_parser_free(&p);
    return r;
}

static char *serialize_request(const struct http1_head *h, const char *host,
                               enum http1_framing framing, unsigned flags)
{
    struct evbuffer *out = evbuffer_new();
    http1_write_request_head(out, h, "/p?q=1", host, framing, flags);
    size_t n = evbuffer_get_length(out);
    char *s = malloc(n + 1);
    evbuffer_remove(out, s, n);
    s[n] = '\0';
    evbuffer_free(out);
    return s;
}

static void test_request_every_split(void)
{
    static const char req[] =
        "POST http://Example.com:8080/p?q=1 HTTP/1.1\r\n"
        "Host: example.com:8080\r\n"
        "Connection: keep-alive, X-Drop\r\n"
        "X-Drop: secret\r\n"
        "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
        "Proxy-Connection: keep-alive\r\n"
        "Keep-Alive: timeout=5\r\n"
        "TE: trailers\r\n"
        "Cookie: a=1\r\n"
        "Cookie: b=2\r\n"
        "X-Empty:\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "5;ext=1\r\nhello\r\n"
        "6\r\n world\r\n"
        "0\r\nX-Trailer: t\r\n\r\n";
    size_t len = sizeof req - 1;
    int all_ok = 1;
    for (size_t split = 0; split < len; split++) {
        struct capture c = {0};
        enum http1_feed_result r = feed_split(1, req, len, split, &c, 0);
        int good = r == HTTP1_FEED_MORE && c.nheads == 1 && c.done == 1 &&
                   c.body_len == 11 && !memcmp(c.body, "hello world", 11);
        if (good) {
            struct http1_head *h = c.heads[0];
            good = h->method == HTTP_POST && !strcmp(h->target, "http://Example.com:8080/p?q=1") &&
                   h->nfields == 11 && !strcmp(h->fields[0].name, "Host") &&
                   !strcmp(h->fields[10].name, "Transfer-Encoding") &&
                   !strcmp(h->fields[9].value, "") && h->framing == HTTP1_CHUNKED &&
                   !strcmp(http1_head_get(h, "cookie"), "a=1") && h->keep_alive;
        }
        if (!good) {
            all_ok = 0;
            printf("# request split at %zu: result %d heads %d done %d body %zu", split, r, c.nheads,
                 c.done, c.body_len);
        }
        cap_free(&c);
        if (!all_ok)
            break;
    }
    ok(all_ok, "chunked request with trailers parses identically at every split point");

    /* Connection values naming only the fixed hop-by-hop fields are not searched per field
     * (write_fields): the others still are, whatever the case of their field's name
     * (serialize_request writes the target /p?q=1) */
    static const char conn_req[] =
        "GET /c HTTP/1.1\r\nHost: c.test\r\nConnection: keep-alive, Upgrade\r\n"
        "Keep-Alive: timeout=5\r\nUpgrade: websocket\r\nX-Keep: 1\r\nCONNECTION: X-B\r\n"
        "x-b: 2\r\nPROXY-CONNECTION: x-c\r\nX-C: 3\r\nTE: trailers\r\n\r\n";
    struct capture cc = {0};
    feed_split(1, conn_req, sizeof conn_req - 1, 0, &cc, 0);
    char *cs = cc.nheads == 1 ? serialize_request(cc.heads[0], NULL, HTTP1_NO_BODY, 0) : NULL;
    is_str(cs, "GET /p?q=1 HTTP/1.1\r\nHost: c.test\r\nX-Keep: 1\r\n\r\n",
           "fields named by a later Connection or Proxy-Connection field dropped, others kept");
    free(cs);
    cs = cc.nheads == 1 ? serialize_request(cc.heads[0], NULL, HTTP1_NO_BODY, HTTP1_KEEP_UPGRADE)
                        : NULL;
    is_str(cs, "GET /p?q=1 HTTP/1.1\r\nHost: c.test\r\nUpgrade: websocket\r\nX-Keep: 1\r\n"
               "Connection: upgrade\r\n\r\n",
           "an upgrade keeps Upgrade");
    free(cs);
    cap_free(&cc);

    struct capture c = {0};
    feed_split(1, req, len, 0, &c, 0);
    char *s = serialize_request(c.heads[0], "example.com:8080", HTTP1_CHUNKED, 0);
    is_str(s,
           "POST /p?q=1 HTTP/1.1\r\n"
           "Host: example.com:8080\r\n"
           "Cookie: a=1\r\n"
           "Cookie: b=2\r\n"
           "X-Empty: \r\n"
           "Transfer-Encoding: chunked\r\n"
           "\r\n",
           "hop-by-hop fields (and those Connection names) removed, duplicates and order kept");
    free(s);
    s = serialize_request(c.heads[0], NULL, HTTP1_LENGTH, HTTP1_CLOSE);
    ok(strstr(s, "Content-Length: 0\r\n") && !strstr(s, "Transfer-Encoding") &&
           strstr(s, "Connection: close\r\n") && strstr(s, "Host: example.com:8080\r\n"),
       "re-framing to Content-Length drops Transfer-Encoding and adds Connection: close");
    free(s);
    cap_free(&c);
}

static void test_body_writer(void)
{
    struct evbuffer *out = evbuffer_new();
    http1_write_body(out, HTTP1_CHUNKED, "abc", 3);
    http1_write_body(out, HTTP1_CHUNKED, "", 0);
    http1_write_body(out, HTTP1_CHUNKED, "0123456789abcdefg", 17);
    http1_write_end(out, HTTP1_CHUNKED);
    size_t n = evbuffer_get_length(out);
    char buf[128] = {0};
    evbuffer_remove(out, buf, n);
    is_str(buf, "3\r\nabc\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n",
           "chunked writer: hex sizes, empty writes skipped, last-chunk");
    evbuffer_free(out);
}

static void test_pipelined_and_pause(void)
{
    static const char two[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    struct capture c = {0};
    struct http1_parser p;
    struct http1_handlers pausing = {cap_head, cap_body, cap_done_pause, NULL};
    http1_parser_init(&p, 1, &pausing, &c);
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, two, sizeof two - 1);
    enum http1_feed_result r1 = http1_feed(&p, in);
    size_t left = evbuffer_get_length(in);
    int heads_after_first = c.nheads;
    http1_parser_resume(&p);
    enum http1_feed_result r2 = http1_feed(&p, in);
    ok(r1 == HTTP1_FEED_PAUSED && left == strlen(strstr(two, "GET /b")) && heads_after_first == 1,
       "parser pauses after the first pipelined request, the second stays buffered");
    ok(r2 == HTTP1_FEED_PAUSED && c.nheads == 2 && !strcmp(c.heads[1]->target, "/b"),
       "after resume the second request is parsed");
    evbuffer_free(in);
    http1_parser_free(&p);
    cap_free(&c);
}

static void test_responses(void)
{
    struct capture c = {0};
    static const char eof_resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
    enum http1_feed_result r = feed_split(0, eof_resp, sizeof eof_resp - 1, 20, &c, 1);
    ok(r == HTTP1_FEED_MORE && c.nheads == 1 && c.heads[0]->framing == HTTP1_UNTIL_EOF &&
           c.done == 1 && c.body_len == 11,
       "a response without length is delimited by close (http1_finish ends it)");
    cap_free(&c);

    static const char interim[] =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX: y\r\n\r\n";
    r = feed_split(0, interim, sizeof interim - 1, 0, &c, 0);
    ok(r == HTTP1_FEED_MORE && c.nheads == 2 && c.heads[0]->status == 100 &&
           c.heads[1]->status == 204 && c.heads[1]->framing == HTTP1_NO_BODY && c.done == 2,
       "100 Continue then 204: two heads, no bodies");
    cap_free(&c);

    static const char head_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    c.skip_body_for_head = 1;
    r = feed_split(0, head_resp, sizeof head_resp - 1, 0, &c, 0);
    ok(r == HTTP1_FEED_MORE && c.done == 1 && c.body_len == 0 &&
           c.heads[0]->content_length == 1234,
       "answer to HEAD: Content-Length kept, no body expected");
    struct evbuffer *out = evbuffer_new();
    http1_write_response_head(out, c.heads[0], c.heads[0]->framing, 0);
    char buf[256] = {0};
    evbuffer_remove(out, buf, sizeof buf - 1);
    is_str(buf, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
           "HEAD answer re-serialized with its Content-Length unchanged");
    evbuffer_free(out);
    cap_free(&c);
}

static void test_rejects(void)
{
    struct capture c = {0};
    static const char smuggle[] =
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    enum http1_feed_result r = feed_split(1, smuggle, sizeof smuggle - 1, 0, &c, 0);
    ok(r == HTTP1_FEED_ERROR, "Content-Length together with Transfer-Encoding is rejected");
    cap_free(&c);

    static const char dup_cl[] = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
    r = feed_split(1, dup_cl, sizeof dup_cl - 1, 0, &c, 0);
    ok(r == HTTP1_FEED_ERROR, "two different Content-Length values are rejected");
    cap_free(&c);

    static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    struct http1_parser p;
    http1_parser_init(&p, 1, &cap_handlers, &c);
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, garbage, sizeof garbage - 1);
    r = http1_feed(&p, in);
    ok(r == HTTP1_FEED_ERROR && p.error_name && p.error,
       "TLS bytes sent to the plain proxy port are a parse error with a name (%s)",
       p.error_name ? p.error_name : "none");
    evbuffer_free(in);
    http1_parser_free(&p);
    cap_free(&c);

    /* a head over the limit */
    size_t big = HTTP1_MAX_HEAD_BYTES + 100;
    char *huge = malloc(big + 64);
    int n = sprintf(huge, "GET / HTTP/1.1\r\nX-Big: ");
    memset(huge + n, 'a', big);
    memcpy(huge + n + big, "\r\n\r\n", 4);
    r = feed_split(1, huge, (size_t)n + big + 4, 0, &c, 0);
    ok(r == HTTP1_FEED_ERROR, "a head over HTTP1_MAX_HEAD_BYTES is refused");
    free(huge);
    cap_free(&c);
}

static void test_connect_upgrade(void)
{
    static const char req[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01";
    struct capture c = {0};
    struct http1_parser p;
    http1_parser_init(&p, 1, &cap_handlers, &c);
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, req, sizeof req - 1);
    enum http1_feed_result r = http1_feed(&p, in);
    ok(r == HTTP1_FEED_UPGRADE && c.nheads == 1 && c.heads[0]->method == HTTP_CONNECT &&
           !strcmp(c.heads[0]->target, "example.com:443") && evbuffer_get_length(in) == 3,
       "CONNECT stops at the upgrade and leaves the tunnel bytes in the buffer");
    evbuffer_free(in);
    http1_parser_free(&p);
    cap_free(&c);
}

/* Feed what is in `in`, resuming after each paused message as front_h1.c does. */
static enum http1_feed_result feed_resuming(struct http1_parser *p, struct evbuffer *in)
{
    enum http1_feed_result r;
    while ((r = http1_feed(p, in)) == HTTP1_FEED_PAUSED)
        http1_parser_resume(p);
    return r;
}

/* Three pipelined requests, each framed another way, split at every byte of the whole input:
 * every message (not only the first) must come out the same, and forward with its framing. */
static void test_pipelined_every_split(void)
{
    static const char three[] =
        "POST http://h/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        "PUT http://h/b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-B: 2\r\n\r\nabcde"
        "GET http://h/c HTTP/1.1\r\nHost: h\r\nX-C: 3\r\n\r\n";
    size_t len = sizeof three - 1;
    int all_ok = 1, forwarded_ok = 1;
    struct http1_handlers pausing = {cap_head, cap_body, cap_done_pause, NULL};
    for (size_t split = 0; split <= len && all_ok; split++) {
        struct capture c = {0};
        struct http1_parser p;
        http1_parser_init(&p, 1, &pausing, &c);
        struct evbuffer *in = evbuffer_new();
        evbuffer_add(in, three, split);
        enum http1_feed_result r = feed_resuming(&p, in);
        if (r == HTTP1_FEED_MORE) {
            evbuffer_add(in, three + split, len - split);
            r = feed_resuming(&p, in);
        }
        int good = r == HTTP1_FEED_MORE && evbuffer_get_length(in) == 0 && c.nheads == 3 &&
                   c.done == 3 && c.body_len == 16 && !memcmp(c.body, "hello worldabcde", 16) &&
                   c.body_at_done[0] == 11 && c.body_at_done[1] == 16 && c.body_at_done[2] == 16;
        if (good) {
            struct http1_head **h = c.heads;
            good = h[0]->method == HTTP_POST && !strcmp(h[0]->target, "http://h/a") &&
                   h[0]->framing == HTTP1_CHUNKED &&
                   h[1]->method == HTTP_PUT && !strcmp(h[1]->target, "http://h/b") &&
                   h[1]->framing == HTTP1_LENGTH && h[1]->content_length == 5 &&
                   !strcmp(http1_head_get(h[1], "x-b"), "2") &&
                   h[2]->method == HTTP_GET && !strcmp(h[2]->target, "http://h/c") &&
                   h[2]->framing == HTTP1_NO_BODY && !strcmp(http1_head_get(h[2], "x-c"), "3");
        }
        if (!good) {
            all_ok = 0;
            printf("# pipelined input split at %zu: result %d heads %d done %d body %zu\n", split, r,
                   c.nheads, c.done, c.body_len);
        }
        if (good && split == 0) { /* each forwarded head keeps its own framing */
            char *a = serialize_request(c.heads[0], NULL, c.heads[0]->framing, 0);
            char *b = serialize_request(c.heads[1], NULL, c.heads[1]->framing, 0);
            char *g = serialize_request(c.heads[2], NULL, c.heads[2]->framing, 0);
            forwarded_ok = strstr(a, "Transfer-Encoding: chunked\r\n") && !strstr(a, "Content-Length") &&
                           strstr(b, "Content-Length: 5\r\n") && !strstr(b, "Transfer-Encoding") &&
                           !strstr(g, "Content-Length") && !strstr(g, "Transfer-Encoding");
            if (!forwarded_ok)
                printf("# a forwarded head lost its framing fields\n");
            free(a);
            free(b);
            free(g);
        }
        evbuffer_free(in);
        http1_parser_free(&p);
        cap_free(&c);
    }
    ok(all_ok, "three pipelined requests (chunked, Content-Length, no body) parse identically at "
               "every split point of the whole input, pausing after each as front_h1.c does");
    ok(forwarded_ok, "each pipelined request is forwarded with its own framing (chunked, "
                     "Content-Length: 5, none)");
}

/* wire_size: the head as forwarded in HTTP/1.1 (start line, "name: value" CRLF per field, the
 * empty line), counted from the head's strings. */
static size_t wire_of(const struct http1_head *h)
{
    size_t w = h->is_request
                   ? strlen(llhttp_method_name((llhttp_method_t)h->method)) + strlen(h->target) + 12
                   : strlen(h->reason) + 15;
    for (size_t i = 0; i < h->nfields; i++)
        w += strlen(h->fields[i].name) + strlen(h->fields[i].value) + 4;
    return w + 2;
}

static void test_wire_size(void)
{
#define HEAD(req, lit) {req, lit, sizeof lit - 1}
    static const struct {
        int is_request;
        const char *head;
        size_t len;
    } heads[] = {
        HEAD(1, "GET http://a.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n"),
        HEAD(1, "PROPFIND / HTTP/1.0\r\nX-Empty:\r\nX-Spaces:   v  w   \r\nX-None:\r\n\r\n"),
        HEAD(1, "OPTIONS * HTTP/1.1\r\n\r\n"),
        HEAD(0, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\nX-E:\r\n\r\n"),
        HEAD(0, "HTTP/1.1 204\r\nA: b\r\n\r\n"),
        HEAD(0, "HTTP/1.0 404 Not\tFound  Here\r\n\r\n"),
        /* llhttp lets a NUL through in a reason phrase: the phrase ends there */
        HEAD(0, "HTTP/1.1 200 O\0K\r\nA: b\r\nContent-Length: 0\r\n\r\n"),
    };
#undef HEAD
    int all_ok = 1;
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        size_t len = heads[i].len;
        for (size_t split = 0; split < len; split++) {
            struct capture c = {0};
            feed_split(heads[i].is_request, heads[i].head, len, split, &c, 0);
            if (c.nheads != 1 || c.heads[0]->wire_size != wire_of(c.heads[0])) {
                printf("# head %zu split %zu: heads %d wire %zu, want %zu\n", i, split, c.nheads,
                       c.nheads ? c.heads[0]->wire_size : 0, c.nheads ? wire_of(c.heads[0]) : 0);
                all_ok = 0;
            }
            cap_free(&c);
        }
    }
    ok(all_ok, "wire_size counts every head's start line and fields at every split point");
}

int main(void)
{
    test_wire_size();
    test_request_every_split();
    test_body_writer();
    test_pipelined_and_pause();
    test_pipelined_every_split();
    test_responses();
    test_rejects();
    test_connect_upgrade();
    return done();
}
