/* test_trailers.c — trailer sections: http1.c's parser hands a chunked message's trailer fields to
 * on_trailers (requests and responses, pipelined, limits), trailers.c records them with a flow,
 * writes them in a chunked end (minus the fields that may not be trailers) and makes an HTTP/2
 * trailer head of them. */
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "flow.h"
#include "http1.h"
#include "message.h"
#include "tap.h"
#include "trailers.h"

struct got {
    int heads, dones, trailer_calls;
    char trailers[512]; /* "name=value;" for each field */
    char body[256];
    int done_before_trailers;
};

static int g_head(void *arg, struct http1_head *h)
{
    (void)h;
    ((struct got *)arg)->heads++;
    return 0;
}

static int g_body(void *arg, const char *d, size_t n)
{
    struct got *g = arg;
    strncat(g->body, d, n < sizeof g->body - strlen(g->body) - 1 ? n : sizeof g->body - strlen(g->body) - 1);
    return 0;
}

static int g_done(void *arg)
{
    ((struct got *)arg)->dones++;
    return 1;
}

static int g_trailers(void *arg, const struct http1_field *f, size_t n)
{
    struct got *g = arg;
    g->trailer_calls++;
    if (g->dones)
        g->done_before_trailers = 1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(g->trailers);
        snprintf(g->trailers + l, sizeof g->trailers - l, "%s=%s;", f[i].name, f[i].value);
    }
    return 0;
}

static const struct http1_handlers handlers = {g_head, g_body, g_done, g_trailers};

static enum http1_feed_result feed(struct http1_parser *p, const char *s)
{
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, s, strlen(s));
    enum http1_feed_result r = http1_feed(p, in);
    evbuffer_free(in);
    return r;
}

/* Feed s one byte at a time (llhttp splits every span). */
static enum http1_feed_result feed_bytes(struct http1_parser *p, const char *s)
{
    enum http1_feed_result r = HTTP1_FEED_MORE;
    for (size_t i = 0; s[i] && r != HTTP1_FEED_ERROR; i++) {
        char c[2] = {s[i], 0};
        r = feed(p, c);
    }
    return r;
}

static void parse_response_trailers(void)
{
    struct got g = {0};
    struct http1_parser p;
    http1_parser_init(&p, 0, &handlers, &g);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n"
                       "Trailer: grpc-status, grpc-message\r\n\r\n"
                       "5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: all good\r\n\r\n";
    is_int(feed(&p, resp), HTTP1_FEED_MORE, "chunked response with trailers parses");
    is_int(g.trailer_calls, 1, "on_trailers called once");
    is_str(g.trailers, "grpc-status=0;grpc-message=all good;", "response trailer fields in order");
    is_str(g.body, "hello", "body unchanged");
    ok(!g.done_before_trailers && g.dones == 1, "on_trailers comes before on_done");
    /* the next message on the connection has none: nothing left over */
    memset(&g, 0, sizeof g);
    is_int(feed(&p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
           HTTP1_FEED_MORE, "next chunked response without trailers");
    is_int(g.trailer_calls, 0, "no on_trailers for an empty trailer section");
    is_int(g.heads, 1, "its head arrived");
    http1_parser_free(&p);

    memset(&g, 0, sizeof g);
    http1_parser_init(&p, 0, &handlers, &g);
    is_int(feed_bytes(&p, resp), HTTP1_FEED_MORE, "the same, one byte at a time");
    is_str(g.trailers, "grpc-status=0;grpc-message=all good;", "trailers whole across reads");
    http1_parser_free(&p);
}

static void parse_request_trailers(void)
{
    struct got g = {0};
    struct http1_parser p;
    http1_parser_init(&p, 1, &handlers, &g);
    is_int(feed(&p, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "2\r\nhi\r\n0\r\nx-checksum: abc\r\nx-empty:\r\n\r\n"),
           HTTP1_FEED_MORE, "chunked request with trailers parses");
    is_str(g.trailers, "x-checksum=abc;x-empty=;", "request trailer fields (an empty value too)");
    http1_parser_free(&p);

    /* limits hold for trailers as for heads */
    memset(&g, 0, sizeof g);
    http1_parser_init(&p, 1, &handlers, &g);
    struct http1_limits lim = {0, 0, 0, 2};
    http1_parser_set_limits(&p, &lim);
    is_int(feed(&p, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "0\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n"),
           HTTP1_FEED_ERROR, "more trailer fields than max_fields: refused");
    is_int(p.limit, HTTP1_LIMIT_FIELDS, "the limit named is the field count");
    http1_parser_free(&p);

    /* a parser without on_trailers drops them, as before */
    static const struct http1_handlers plain = {g_head, g_body, g_done, NULL};
    memset(&g, 0, sizeof g);
    http1_parser_init(&p, 1, &plain, &g);
    is_int(feed(&p, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "0\r\na: 1\r\n\r\n"),
           HTTP1_FEED_MORE, "no on_trailers: parsed, dropped");
    is_int(g.dones, 1, "message done");
    http1_parser_free(&p);
}

static void record_and_write(void)
{
    struct flow *f = flow_new(1, 1, 1024);
    struct http1_field fields[] = {{"grpc-status", "7"}, {"Content-Length", "5"},
                                   {"grpc-message", "denied"}};
    is_int(trailers_record_http1(f, 1, fields, 3), 0, "record response trailers");
    ok(f->resp_trailers && f->resp_trailers->nfields == 3, "three recorded, as received");
    is_str(f->resp_trailers->fields[2].value, "denied", "values copied");
    ok(f->req_trailers == NULL, "request side untouched");
    size_t before = sizeof *f;
    ok(flow_mem_size(f) > before + f->resp_trailers->buf_cap - 1, "counted in the flow's memory");

    struct evbuffer *out = evbuffer_new();
    trailers_write_http1(out, HTTP1_CHUNKED, f->resp_trailers);
    size_t n = evbuffer_get_length(out);
    char *s = calloc(1, n + 1);
    evbuffer_remove(out, s, n);
    is_str(s, "0\r\ngrpc-status: 7\r\ngrpc-message: denied\r\n\r\n",
           "chunked end with the trailer section, Content-Length left out");
    free(s);
    trailers_write_http1(out, HTTP1_LENGTH, f->resp_trailers);
    is_int((long long)evbuffer_get_length(out), 0, "a Content-Length body cannot carry them");
    trailers_write_http1(out, HTTP1_CHUNKED, NULL);
    n = evbuffer_get_length(out);
    s = calloc(1, n + 1);
    evbuffer_remove(out, s, n);
    is_str(s, "0\r\n\r\n", "no trailers: the plain last-chunk");
    free(s);
    evbuffer_free(out);

    struct message_head m;
    message_head_init(&m, 0);
    is_int(trailers_to_message(&m, f->resp_trailers), 2, "HTTP/2 trailer head: two fields");
    is_str(m.ntrailers == 2 ? m.trailers[0].name : NULL, "grpc-status", "first is grpc-status");
    message_head_clear(&m);

    struct message_head h2;
    message_head_init(&h2, 1);
    message_add_trailer(&h2, "x-sum", 5, "42", 2);
    is_int(trailers_record(f, 0, &h2), 0, "record an HTTP/2 request's trailers");
    is_str(f->req_trailers && f->req_trailers->nfields == 1 ? f->req_trailers->fields[0].name : NULL,
           "x-sum", "recorded from the message head");
    message_head_clear(&h2);
    message_head_init(&h2, 1);
    is_int(trailers_record(f, 0, &h2), 0, "an empty trailer head records nothing");
    ok(f->req_trailers != NULL, "and keeps what was there");
    message_head_clear(&h2);
    ok(!trailers_forwardable(":status", 7) && !trailers_forwardable("TE", 2) &&
           trailers_forwardable("grpc-status", 11),
       "forwardable: no pseudo-headers nor hop-by-hop fields");
    flow_free(f);
}

int main(void)
{
    parse_response_trailers();
    parse_request_trailers();
    record_and_write();
    return done();
}
