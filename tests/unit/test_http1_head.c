/* test_http1_head.c — heap heads in one block (http1_head.c): a taken head's every field reads
 * back as parsed, its strings live in its own block (not in the parser's scratch, which the next
 * message overwrites), it is made by one malloc and freed by one free, long heads give the
 * parser's room back, an allocation failure leaves the parser's head as it was, and an idle
 * connection's parser gives its scratch back (http1_parser_release_scratch; S5) but never a head
 * it is still receiving. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* http1_head.c's allocations, counted and made to fail on demand */
static int n_malloc, n_free, fail_next_malloc;
static void *counted_malloc(size_t n)
{
    if (fail_next_malloc) {
        fail_next_malloc = 0;
        return NULL;
    }
    n_malloc++;
    return malloc(n);
}
static void counted_free(void *p)
{
    if (p)
        n_free++;
    free(p);
}
#define malloc(n) counted_malloc(n)
#define free(p) counted_free(p)
#include "../../src/http1_head.c"
#undef malloc
#undef free

#include "../../src/http1_edit.h"
#include "../../src/message.h"
#include "tap.h"

struct taken {
    struct http1_head *heads[4];
    int n;
    int fail_first; /* make the first take fail (then take again) */
    int failed_then_intact;
};

static int all_in_block(const struct http1_head *h)
{
    const char *lo = (const char *)h, *hi = lo + malloc_usable_size((void *)h);
    const char *ptrs[2] = {h->target, h->reason};
    for (int i = 0; i < 2; i++)
        if (ptrs[i][0] && (ptrs[i] < lo || ptrs[i] >= hi))
            return 0;
    if (h->nfields && ((const char *)h->fields < lo || (const char *)(h->fields + h->nfields) > hi))
        return 0;
    for (size_t i = 0; i < h->nfields; i++)
        if (h->fields[i].name < lo || h->fields[i].name >= hi || h->fields[i].value < lo ||
            h->fields[i].value >= hi)
            return 0;
    return 1;
}

static int on_head(void *arg, struct http1_head *h)
{
    struct taken *t = arg;
    if (t->fail_first) {
        t->fail_first = 0;
        fail_next_malloc = 1;
        struct http1_head *none = http1_head_take(h);
        /* the parser's head is untouched: its fields still read */
        t->failed_then_intact = !none && h->nfields == 2 && !strcmp(h->fields[1].name, "X-Empty") &&
                                !strcmp(h->target, "/first");
    }
    int before = n_malloc;
    struct http1_head *k = http1_head_take(h);
    if (!k || n_malloc - before != 1 || t->n == 4)
        return -1; /* one malloc per taken head */
    t->heads[t->n++] = k;
    return 0;
}

static int on_done(void *arg)
{
    (void)arg;
    return 1;
}

static const struct http1_handlers handlers = {on_head, NULL, on_done, NULL};

static void feed(struct http1_parser *p, const char *s)
{
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, s, strlen(s));
    http1_feed(p, in);
    evbuffer_free(in);
}

static void test_requests(void)
{
    struct taken t = {.fail_first = 1};
    struct http1_parser p;
    http1_parser_init(&p, 1, &handlers, &t);
    char *long_value = calloc(1, 5001);
    memset(long_value, 'v', 5000);
    char *second = NULL;
    if (asprintf(&second,
                 "POST /second?x=%%41 HTTP/1.1\r\nHost: b.test\r\nCookie: %s\r\n"
                 "Content-Length: 0\r\n\r\n",
                 long_value) < 0)
        return;
    /* two messages in one feed: the second reuses the parser's scratch the first came from */
    feed(&p, "GET /first HTTP/1.1\r\nHost: a.test\r\nX-Empty:\r\n\r\n"
             "GET /third HTTP/1.1\r\nhost: c.test\r\n\r\n");
    is_int(t.n, 2, "two pipelined heads taken");
    ok(t.failed_then_intact, "a take that cannot allocate returns NULL and leaves the head");
    size_t kept_cap = p.head.buf_cap;
    ok(kept_cap > 0 && p.head.fields_cap > 0, "the parser keeps a small head's room");
    feed(&p, second);
    is_int(t.n, 3, "the long head taken");
    ok(p.head.buf == NULL && p.head.buf_cap == 0 && p.head.fields == NULL,
       "a head over 2 KiB gives the parser's room back");
    if (t.n == 3) {
        struct http1_head *a = t.heads[0], *c = t.heads[1], *b = t.heads[2];
        is_str(a->target, "/first", "first target intact after later messages");
        is_int((long long)a->nfields, 2, "first: field count");
        is_str(a->fields[0].name, "Host", "first: name 0");
        is_str(a->fields[0].value, "a.test", "first: value 0");
        is_str(a->fields[1].name, "X-Empty", "first: empty-valued name");
        is_str(a->fields[1].value, "", "first: empty value");
        is_str(a->reason, "", "request: reason empty");
        is_str(c->target, "/third", "third target");
        is_str(http1_head_get(c, "Host"), "c.test", "third: host");
        is_str(b->target, "/second?x=%41", "long: target as sent");
        is_str(http1_head_get(b, "cookie"), long_value, "long: 5,000-byte value intact");
        is_int(b->framing, HTTP1_NO_BODY, "long: framing");
        is_int(a->method, HTTP_GET, "first: method");
        is_int(b->method, HTTP_POST, "long: method");
        ok(all_in_block(a) && all_in_block(b) && all_in_block(c),
           "every string and the fields live in the head's own block");
        ok(a->packed && !a->spans && a->buf_len == a->buf_cap, "taken head is packed, no spans");
        int frees = n_free;
        http1_head_free(a);
        is_int(n_free - frees, 1, "a taken head is freed by one free()");
        /* replacing a packed head's fields makes them its own blocks; freeing stays right */
        static const struct http1_field in[] = {{"X-New", "1"}};
        ok(http1_head_replace(c, "/new", "", in, 1) == 0 && !c->packed, "replace on a packed head");
        is_str(c->target, "/new", "replaced target");
        is_str(c->fields[0].value, "1", "replaced field");
        http1_head_free(c);
        http1_head_free(b);
    }
    free(second);
    free(long_value);
    http1_parser_free(&p);
}

static void test_response_reasons(void)
{
    struct taken t = {0};
    struct http1_parser p;
    http1_parser_init(&p, 0, &handlers, &t);
    feed(&p, "HTTP/1.1 204\r\nX-A: 1\r\n\r\nHTTP/1.1 404 Not\tFound Here\r\n\r\n");
    is_int(t.n, 2, "two responses taken");
    if (t.n == 2) {
        is_int(t.heads[0]->status, 204, "status without reason");
        is_str(t.heads[0]->reason, "", "empty reason phrase");
        is_str(t.heads[0]->fields[0].value, "1", "its field");
        is_str(t.heads[1]->reason, "Not\tFound Here", "reason phrase with a tab, as sent");
        is_int((long long)t.heads[1]->nfields, 0, "no fields");
        ok(all_in_block(t.heads[0]) && all_in_block(t.heads[1]), "responses packed");
    }
    for (int i = 0; i < t.n; i++)
        http1_head_free(t.heads[i]);
    http1_parser_free(&p);
}

static void test_from_message(void)
{
    struct message_head m;
    message_head_init(&m, 1);
    message_set_method(&m, "GET", 3);
    message_set_scheme(&m, "https", 5);
    message_set_authority(&m, "h.test", 6);
    message_set_path(&m, "/m", 2);
    message_add_field(&m, "cookie", 6, "a=1", 3);
    message_add_field(&m, "accept", 6, "*/*", 3);
    message_add_field(&m, "cookie", 6, "b=2", 3);
    struct http1_head *h = message_to_http1(&m, NULL);
    ok(h && h->packed && all_in_block(h), "message_to_http1 makes one block");
    if (h) {
        is_str(h->target, "/m", "its target");
        is_str(http1_head_get(h, "host"), "h.test", "host from :authority");
        is_str(http1_head_get(h, "cookie"), "a=1; b=2", "cookie crumbs joined");
        is_str(http1_head_get(h, "accept"), "*/*", "accept");
        int frees = n_free;
        http1_head_free(h);
        is_int(n_free - frees, 1, "freed by one free()");
    }
    message_head_clear(&m);
}

/* S5, memory per idle tunnel: the ~1 KiB a parser keeps between messages goes back while the
 * connection idles, and the next message allocates it again. */
static void test_idle_release(void)
{
    struct taken t = {0};
    struct http1_parser p;
    http1_parser_init(&p, 1, &handlers, &t);
    feed(&p, "GET /a HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n");
    is_int(t.n, 1, "a request taken");
    ok(p.head.buf && p.head.spans && p.head.fields, "between messages the parser keeps its scratch");
    int frees = n_free;
    http1_parser_release_scratch(&p);
    is_int(n_free - frees, 3, "idle: its three scratch blocks are freed");
    ok(!p.head.buf && !p.head.spans && !p.head.fields && !p.head.buf_cap && !p.head.spans_cap &&
           !p.head.fields_cap,
       "and the parser holds none");
    http1_parser_release_scratch(&p); /* nothing left: a no-op */
    /* part of the next head arrived: its scratch holds it and stays */
    feed(&p, "POST /b HTTP/1.1\r\nHost: b.te");
    frees = n_free;
    http1_parser_release_scratch(&p);
    ok(n_free == frees && p.head.buf && p.head.buf_len, "a head being received keeps its scratch");
    feed(&p, "st\r\nContent-Length: 0\r\n\r\n");
    is_int(t.n, 2, "the next request taken after the release");
    if (t.n == 2) {
        is_str(t.heads[1]->target, "/b", "its target");
        is_str(http1_head_get(t.heads[1], "host"), "b.test", "its host, split across reads");
        is_str(t.heads[0]->target, "/a", "the first head, taken before the release, intact");
    }
    for (int i = 0; i < t.n; i++)
        http1_head_free(t.heads[i]);
    http1_parser_free(&p);
}

int main(void)
{
    test_idle_release();
    test_requests();
    test_response_reasons();
    test_from_message();
    return done();
}
