/* fuzz_response.c — libFuzzer target: the response path. Bytes from an upstream go through the
 * http1 response parser (answering a GET or a HEAD, for an HTTP/1.1 or 1.0 client, as the first
 * byte says; fed in two reads) and are re-framed the way front_h1.c sends them to the client: until-EOF
 * bodies re-chunked for 1.1 clients, chunked ones de-chunked for 1.0, interim 1xx heads passed on,
 * the end of input being the upstream's close (http1_finish). Oracle: the client-side bytes parse
 * again without error into the same final status and the same body bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "http1.h"

struct side {
    struct evbuffer *out;
    struct evbuffer *body;
    enum http1_framing out_framing;
    int head_request;
    int client_11;
    int status;       /* last final status */
    int done;
    int second;
};

static int on_head(void *arg, struct http1_head *h)
{
    struct side *s = arg;
    if (h->status >= 100 && h->status < 200 && h->status != 101) {
        if (!s->second)
            http1_write_response_head(s->out, h, HTTP1_NO_BODY, 0);
        return 0;
    }
    s->status = h->status;
    if (s->second)
        return s->head_request ? 1 : 0;
    enum http1_framing f;
    if (h->status == 101)
        f = HTTP1_NO_BODY;
    else if (s->head_request)
        f = h->framing;
    else if (h->framing == HTTP1_UNTIL_EOF)
        f = s->client_11 ? HTTP1_CHUNKED : HTTP1_UNTIL_EOF;
    else if (h->framing == HTTP1_CHUNKED && !s->client_11)
        f = HTTP1_UNTIL_EOF;
    else
        f = h->framing;
    s->out_framing = f;
    if (http1_write_response_head(s->out, h, f, f == HTTP1_UNTIL_EOF ? HTTP1_CLOSE : 0) < 0)
        return -1;
    return s->head_request ? 1 : 0;
}

static int on_body(void *arg, const char *d, size_t n)
{
    struct side *s = arg;
    evbuffer_add(s->body, d, n);
    if (!s->second)
        http1_write_body(s->out, s->out_framing, d, n);
    return 0;
}

static int on_done(void *arg)
{
    struct side *s = arg;
    if (s->status == 0)
        return 1; /* an interim response ended */
    s->done++;
    if (!s->second && !s->head_request && s->out_framing != HTTP1_UNTIL_EOF)
        http1_write_end(s->out, s->out_framing);
    return 0; /* one response per request, as front_h1.c and exchange.c: pause */
}

static const struct http1_handlers handlers = {on_head, on_body, on_done, NULL};

/* Inputs whose two reads reached the parser separately, and inputs run (printed at exit: a
 * split that never happens would make the "two reads" promise empty; run_fuzz.sh fails on 0). */
static unsigned long split_feeds, inputs;

static void print_split_feeds(void)
{
    fprintf(stderr, "split feeds: %lu of %lu inputs\n", split_feeds, inputs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    atexit(print_split_feeds);
    return 0;
}

/* Feed data[0..split) and run the parser, then (when it wants more) the rest and run it again:
 * two reads, as a client's bytes arrive. The first part is drained from in before the second is
 * added, so spans cut at the split must survive their bytes being gone. */
static enum http1_feed_result feed_in_two(struct http1_parser *p, struct evbuffer *in,
                                          const uint8_t *data, size_t len, size_t split)
{
    size_t first = split && split < len ? split : len;
    evbuffer_add(in, data, first);
    enum http1_feed_result r = http1_feed(p, in);
    if (first < len && r == HTTP1_FEED_MORE) {
        if (evbuffer_get_length(in) != 0)
            abort(); /* the parser must have taken the whole first read */
        split_feeds++;
        evbuffer_add(in, data + first, len - first);
        r = http1_feed(p, in);
    }
    return r;
}


static enum http1_feed_result run(struct side *s, const uint8_t *data, size_t len, size_t split)
{
    struct http1_parser p;
    http1_parser_init(&p, 0, &handlers, s);
    if (s->second) { /* the re-parse is the client's: our Connection field may add one more */
        struct http1_limits lim = {0, 0, 2 * HTTP1_MAX_HEAD_BYTES, 2 * HTTP1_MAX_HEADERS};
        http1_parser_set_limits(&p, &lim);
    }
    struct evbuffer *in = evbuffer_new();
    enum http1_feed_result r = feed_in_two(&p, in, data, len, split);
    if (r == HTTP1_FEED_MORE && !s->done)
        r = http1_finish(&p); /* the upstream closed */
    if (r == HTTP1_FEED_ERROR && getenv("FUZZ_DUMP"))
        fprintf(stderr, "parse %s: %s (%s at %zu)\n", s->second ? "again" : "first", p.error,
                p.error_name, p.error_offset);
    evbuffer_free(in);
    http1_parser_free(&p);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    inputs++;
    if (size < 2)
        return 0;
    int head = data[0] & 1, client_11 = !(data[0] & 2);
    size_t split = data[1];
    data += 2;
    size -= 2;
    struct side a = {.out = evbuffer_new(), .body = evbuffer_new(), .head_request = head,
                     .client_11 = client_11};
    struct side b = {.out = evbuffer_new(), .body = evbuffer_new(), .head_request = head,
                     .client_11 = client_11, .second = 1};
    enum http1_feed_result r = run(&a, data, size, split);
    if (r != HTTP1_FEED_ERROR && r != HTTP1_FEED_UPGRADE && a.done && a.status != 101) {
        size_t olen = evbuffer_get_length(a.out);
        const uint8_t *o = evbuffer_pullup(a.out, -1);
        if (getenv("FUZZ_DUMP")) /* replaying a crash: show what would be forwarded */
            fprintf(stderr, "---- forwarded (%zu bytes) ----\n%.*s\n----\n", olen, (int)olen,
                    o ? (const char *)o : "");
        enum http1_feed_result r2 = run(&b, o ? o : (const uint8_t *)"", olen, 0);
        if (r2 == HTTP1_FEED_ERROR || !b.done || b.status != a.status)
            abort(); /* the client could not read what we sent it */
        size_t l1 = evbuffer_get_length(a.body), l2 = evbuffer_get_length(b.body);
        if (l1 != l2 || (l1 && memcmp(evbuffer_pullup(a.body, -1), evbuffer_pullup(b.body, -1), l1)))
            abort(); /* the body changed on the way */
    }
    evbuffer_free(a.out);
    evbuffer_free(a.body);
    evbuffer_free(b.out);
    evbuffer_free(b.body);
    return 0;
}
