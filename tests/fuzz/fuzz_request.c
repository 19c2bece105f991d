/* fuzz_request.c — libFuzzer target: the client-request path. Bytes from a client go through
 * http1 request parsing (request limits on, fed in two reads split where the first byte says, so
 * llhttp cuts spans) and are re-framed the way exchange.c forwards them (head re-serialized with a
 * Host, body re-chunked or length-framed). Oracle: what we would send upstream parses again
 * without error into the same number of messages with the same body bytes — the forwarded
 * framing is never ambiguous, whatever the client sent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "http1.h"

struct side {
    struct evbuffer *out;        /* what goes upstream (first pass) */
    struct evbuffer *body;       /* de-chunked body bytes seen */
    enum http1_framing framing;  /* of the message in progress */
    int messages;                /* heads seen */
    int done;                    /* messages completed */
    int upgrade;                 /* stopped at CONNECT / Upgrade */
    int second;                  /* 1 on the re-parse */
};

static int on_head(void *arg, struct http1_head *h)
{
    struct side *s = arg;
    s->messages++;
    s->framing = h->framing;
    if (!s->second) {
        /* exchange.c: an HTTP/1.0 client's chunked request goes on chunked (we speak 1.1 upstream) */
        if (http1_write_request_head(s->out, h, h->target[0] ? h->target : "/", "fuzz.test:8080",
                                     h->framing, h->upgrade ? HTTP1_KEEP_UPGRADE : 0) < 0)
            return -1;
    }
    return 0;
}

static int on_body(void *arg, const char *d, size_t n)
{
    struct side *s = arg;
    evbuffer_add(s->body, d, n);
    if (!s->second)
        http1_write_body(s->out, s->framing, d, n);
    return 0;
}

static int on_done(void *arg)
{
    struct side *s = arg;
    s->done++;
    if (!s->second)
        http1_write_end(s->out, s->framing);
    return 1; /* go on with pipelined requests */
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


/* Parse in (two reads when split > 0); returns the last feed result. */
static enum http1_feed_result run(struct side *s, const uint8_t *data, size_t len, size_t split)
{
    struct http1_parser p;
    http1_parser_init(&p, 1, &handlers, s);
    struct http1_limits lim = {4096, 2048, 16384, 50};
    if (!s->second) /* the re-parse keeps the defaults: forwarding adds Host */
        http1_parser_set_limits(&p, &lim);
    struct evbuffer *in = evbuffer_new();
    enum http1_feed_result r = HTTP1_FEED_MORE;
    r = feed_in_two(&p, in, data, len, split);
    if (r == HTTP1_FEED_UPGRADE)
        s->upgrade = 1;
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
    if (size < 1)
        return 0;
    size_t split = data[0];
    data++;
    size--;
    struct side a = {.out = evbuffer_new(), .body = evbuffer_new()};
    struct side b = {.out = evbuffer_new(), .body = evbuffer_new(), .second = 1};
    enum http1_feed_result r = run(&a, data, size, split);
    if (a.done > 0) {
        /* Re-parse only the messages that completed (a cut-off last one is not forwarded whole). */
        size_t olen = evbuffer_get_length(a.out);
        const uint8_t *o = evbuffer_pullup(a.out, -1);
        if (getenv("FUZZ_DUMP")) /* replaying a crash: show what would be forwarded */
            fprintf(stderr, "---- forwarded (%zu bytes) ----\n%.*s\n----\n", olen, (int)olen,
                    o ? (const char *)o : "");
        enum http1_feed_result r2 = run(&b, o ? o : (const uint8_t *)"", olen, 0);
        if (r2 == HTTP1_FEED_ERROR && !a.upgrade && r != HTTP1_FEED_ERROR)
            abort(); /* we produced something we ourselves cannot parse */
        if (!a.upgrade && b.done < a.done)
            abort(); /* a message got lost or merged */
        if (!a.upgrade && r != HTTP1_FEED_ERROR && a.done == a.messages) {
            size_t l1 = evbuffer_get_length(a.body), l2 = evbuffer_get_length(b.body);
            if (l1 != l2 || (l1 && memcmp(evbuffer_pullup(a.body, -1), evbuffer_pullup(b.body, -1), l1)))
                abort(); /* the body changed on the way */
        }
    }
    evbuffer_free(a.out);
    evbuffer_free(a.body);
    evbuffer_free(b.out);
    evbuffer_free(b.body);
    return 0;
}
