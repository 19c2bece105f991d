/* test_http1_limits.c — http1.c's hardening, each case fed whole and split at every byte (llhttp
 * cuts spans anywhere, and the obs-fold check works on where spans start): request size limits
 * and which one broke, obs-fold refused in both directions, HTTP/0.9 and HTTP/2.0 request lines
 * refused, several Transfer-Encoding fields forwarded as one list, a body announced on a 204
 * not read, status 0 refused. */
#include "../../src/http1.c"

#include "tap.h"

struct seen {
    int heads, bodies, done;
    struct http1_head *head;
};

static int s_head(void *arg, struct http1_head *h)
{
    struct seen *s = arg;
    s->heads++;
    if (!s->head)
        s->head = http1_head_take(h);
    return 0;
}

static int s_body(void *arg, const char *d, size_t n)
{
    (void)d;
    struct seen *s = arg;
    s->bodies += (int)n;
    return 0;
}

static int s_done(void *arg)
{
    struct seen *s = arg;
    s->done++;
    return 0; /* pause after each message, as front_h1.c does */
}

static const struct http1_handlers handlers = {s_head, s_body, s_done, NULL};

struct outcome {
    enum http1_feed_result r;
    enum http1_limit limit;
    char error[128];
    struct seen seen;
    size_t left; /* bytes left unparsed */
};

/* Feed msg split at split (0 = whole) to a parser with lim (NULL = defaults). */
static struct outcome run(int is_request, const char *msg, size_t split, const struct http1_limits *lim)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    struct http1_parser p;
    http1_parser_init(&p, is_request, &handlers, &o.seen);
    if (lim)
        http1_parser_set_limits(&p, lim);
    struct evbuffer *in = evbuffer_new();
    size_t len = strlen(msg);
    if (split && split < len) {
        evbuffer_add(in, msg, split);
        o.r = http1_feed(&p, in);
        if (o.r == HTTP1_FEED_MORE) {
            evbuffer_add(in, msg + split, len - split);
            o.r = http1_feed(&p, in);
        }
    } else {
        evbuffer_add(in, msg, len);
        o.r = http1_feed(&p, in);
    }
    o.limit = p.limit;
    if (o.r == HTTP1_FEED_ERROR)
        snprintf(o.error, sizeof o.error, "%s", p.error);
    o.left = evbuffer_get_length(in);
    evbuffer_free(in);
    http1_parser_free(&p);
    return o;
}

static void drop(struct outcome *o) { http1_head_free(o->seen.head); }

/* Every split of msg gives the same outcome: returns how many splits disagreed with want. */
static int every_split(int is_request, const char *msg, enum http1_feed_result want_r,
                       enum http1_limit want_limit, const char *want_error,
                       const struct http1_limits *lim)
{
    int bad = 0;
    for (size_t split = 0; split < strlen(msg); split++) {
        struct outcome o = run(is_request, msg, split, lim);
        if (o.r != want_r || o.limit != want_limit ||
            (want_error && !strstr(o.error, want_error))) {
            if (!bad)
                printf("#   split %zu: result %d limit %d error '%s'\n", split, o.r, o.limit, o.error);
            bad++;
        }
        drop(&o);
    }
    return bad;
}

int main(void)
{
    const struct http1_limits lim = {32, 40, 200, 4};
    const char *good = "GET http://h.test/abc HTTP/1.1\r\nHost: h.test\r\nX-Long: 0123456789\r\n"
                       "Accept: */*\r\n\r\n";
    ok(every_split(1, good, HTTP1_FEED_PAUSED, HTTP1_LIMIT_NONE, NULL, &lim) == 0,
       "a request within every limit parses at every split");
    struct outcome o = run(1, good, 0, &lim);
    ok(o.seen.head && o.seen.head->nfields == 3 && !strcmp(o.seen.head->fields[1].value, "0123456789"),
       "its fields come out whole");
    drop(&o);

    ok(every_split(1, "GET http://h.test/0123456789012345678901234567890 HTTP/1.1\r\n\r\n",
                   HTTP1_FEED_ERROR, HTTP1_LIMIT_TARGET, "request-target too long", &lim) == 0,
       "a 33-byte target breaks max_target 32 (414) at every split");
    ok(every_split(1, "GET / HTTP/1.1\r\nX-Long: 01234567890123456789012345678901234\r\n\r\n",
                   HTTP1_FEED_ERROR, HTTP1_LIMIT_FIELD_LINE, "header field too long", &lim) == 0,
       "a 41-byte header line breaks max_field_line 40 at every split");
    const struct http1_limits small_head = {1000, 1000, 100, 50};
    ok(every_split(1, "GET / HTTP/1.1\r\nA: 0123456789012345678901234567890\r\n"
                      "B: 0123456789012345678901234567890\r\nC: 0123456789012345678901234567890\r\n\r\n",
                   HTTP1_FEED_ERROR, HTTP1_LIMIT_HEAD, "head too large", &small_head) == 0,
       "a head over max_head 100 breaks that limit at every split");
    ok(every_split(1, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
                   HTTP1_FEED_ERROR, HTTP1_LIMIT_FIELDS, "too many header fields", &lim) == 0,
       "a fifth field breaks max_fields 4 at every split");

    ok(every_split(1, "GET / HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n  b\r\nAccept: */*\r\n\r\n",
                   HTTP1_FEED_ERROR, HTTP1_LIMIT_NONE, "obs-fold", NULL) == 0,
       "obs-fold in a request is refused at every split");
    ok(every_split(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n \r\n\r\n0\r\n\r\n",
                   HTTP1_FEED_ERROR, HTTP1_LIMIT_NONE, "obs-fold", NULL) == 0,
       "obs-fold in a response is refused at every split");
    ok(every_split(1, "GET / HTTP/1.1\r\nX-Spaces: a  b \t c\r\nX-Empty:\r\nX-Tab:\tv\r\n\r\n",
                   HTTP1_FEED_PAUSED, HTTP1_LIMIT_NONE, NULL, NULL) == 0,
       "spaces and tabs inside values are not mistaken for obs-fold at any split");

    o = run(1, "GET /\r\n\r\n", 0, NULL);
    ok(o.r == HTTP1_FEED_ERROR && strstr(o.error, "HTTP version"), "HTTP/0.9 request line refused (%s)", o.error);
    drop(&o);
    o = run(1, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, NULL);
    ok(o.r == HTTP1_FEED_ERROR, "HTTP/2 preface refused (%s)", o.error);
    drop(&o);

    o = run(1, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
               "0\r\n\r\n", 0, NULL);
    struct evbuffer *out = evbuffer_new();
    if (o.seen.head)
        http1_write_request_head(out, o.seen.head, "/", "h", HTTP1_CHUNKED, 0);
    evbuffer_add(out, "", 1);
    const char *w = (const char *)evbuffer_pullup(out, -1);
    ok(strstr(w, "Transfer-Encoding: gzip, chunked\r\n") && !strstr(w, "Transfer-Encoding: gzip\r\n"),
       "two Transfer-Encoding fields are forwarded as one list ending in chunked");
    evbuffer_free(out);
    drop(&o);

    o = run(0, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", 0, NULL);
    is_int(o.seen.bodies, 0, "a body announced on a 204 is not read as its body");
    is_int((long long)o.left, 5, "... its bytes stay unparsed (the connection is out of step)");
    drop(&o);
    o = run(0, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0, NULL);
    is_int(o.seen.bodies, 0, "nor a chunked body announced on a 304");
    drop(&o);
    o = run(0, "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", 0, NULL);
    ok(o.r == HTTP1_FEED_ERROR, "status 0 refused (%s)", o.error);
    drop(&o);
    o = run(0, "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n", 0, NULL);
    ok(o.r == HTTP1_FEED_ERROR || (o.seen.head && !strchr(o.seen.head->reason, '\x01')),
       "a control byte in a reason phrase is never passed on");
    drop(&o);
    return done();
}
