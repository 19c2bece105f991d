/* test_rewrite.c — the rewrite engine (rewrite.h): edits parsed and refused, header add / set /
 * remove on a parsed head, regex with groups and literal replacement, query edits, JSON path
 * set / remove, and a gzip / deflate round trip through body_decode. */
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "body_decode.h"
#include "http1.h"
#include "rewrite.h"
#include "tap.h"

static struct http1_head *taken;
static int on_head(void *arg, struct http1_head *h)
{
    (void)arg;
    taken = http1_head_take(h);
    return 1;
}
static int on_body(void *arg, const char *d, size_t n) { (void)arg; (void)d; (void)n; return 0; }
static int on_done(void *arg) { (void)arg; return 0; }

static struct http1_head *head_of(const char *text)
{
    struct http1_handlers h = {on_head, on_body, on_done, NULL};
    struct http1_parser p;
    struct evbuffer *b = evbuffer_new();
    http1_parser_init(&p, 0, &h, NULL);
    evbuffer_add(b, text, strlen(text));
    taken = NULL;
    http1_feed(&p, b);
    http1_parser_free(&p);
    evbuffer_free(b);
    return taken;
}

static struct rewrite *edit(const char *spec)
{
    char err[256];
    struct rewrite *w = rewrite_parse(spec, err, sizeof err);
    if (!w)
        printf("# %s: %s\n", spec, err);
    return w;
}

static int refused(const char *spec, const char *want)
{
    char err[256];
    struct rewrite *w = rewrite_parse(spec, err, sizeof err);
    rewrite_free(w);
    return !w && strstr(err, want);
}

int main(void)
{
    /* parsing */
    ok(refused("nope:x", "unknown edit"), "an unknown edit is refused, naming the kinds");
    ok(refused("req-header:set:X-A", "NAME:VALUE"), "set without a value is refused");
    ok(refused("resp-header:set:Bad Name:1", "not a header name"), "a bad header name is refused");
    ok(refused("status:99", "200..599"), "a status out of range is refused");
    ok(refused("url:(unclosed=>x", "bad regex"), "a bad regex is refused with regerror's words");
    ok(refused("resp-json:$.a=pro", "not JSON"), "a JSON value must be JSON");
    ok(refused("resp-json:user.plan=1", "not a path"), "a path must start with $");
    ok(refused("req-header:set:X-A:a\r\nEvil: 1", "line break"), "a value cannot smuggle a header");

    /* headers */
    struct http1_head *h = head_of("HTTP/1.1 200 OK\r\nServer: nginx\r\nX-A: 1\r\nX-A: 2\r\n"
                                   "Content-Length: 0\r\n\r\n");
    ok(h && h->nfields == 4, "a parsed head to edit");
    char before[256];
    struct rewrite *w = edit("resp-header:remove:Server");
    ok(rewrite_head(w, h, before, sizeof before) == 1 && !http1_head_get(h, "server") &&
       !strcmp(before, "nginx"), "remove: the header is gone, its old value given");
    ok(rewrite_head(w, h, before, sizeof before) == 0, "remove of an absent header: no change");
    rewrite_free(w);
    w = edit("resp-header:set:X-A:three");
    ok(rewrite_head(w, h, before, sizeof before) == 1 && !strcmp(http1_head_get(h, "x-a"), "three") &&
       h->nfields == 2, "set replaces every field of the name with one");
    rewrite_free(w);
    w = edit("resp-header:add:X-A:four");
    ok(rewrite_head(w, h, before, sizeof before) == 1 && h->nfields == 3, "add keeps the others");
    rewrite_free(w);
    ok(rewrite_head_set(h, NULL, NULL, 0, 503, "Service Unavailable") == 0 && h->status == 503 &&
       !strcmp(h->reason, "Service Unavailable") && !strcmp(http1_head_get(h, "content-length"), "0"),
       "status and reason set, fields kept");
    http1_head_free(h);

    /* regex with groups, literal */
    int n = 0;
    w = edit("resp-body:\"plan\": *\"([a-z]+)\"=>\"plan\": \"pro\", \"was\": \"\\1\"");
    char *s = w ? rewrite_replace(w, "{\"plan\": \"free\", \"x\": {\"plan\":\"basic\"}}", &n) : NULL;
    is_str(s, "{\"plan\": \"pro\", \"was\": \"free\", \"x\": {\"plan\": \"pro\", \"was\": \"basic\"}}",
       "regex: every match replaced, \\1 is the group");
    ok(n == 2, "and counted");
    free(s);
    rewrite_free(w);
    w = edit("resp-body-literal:a.b=>[\\0]");
    s = rewrite_replace(w, "a.b axb a.b", &n);
    is_str(s, "[\\0] axb [\\0]", "literal: dots are dots, no groups");
    free(s);
    rewrite_free(w);
    w = edit("url:^/v1/(.*)=>/v2/\\1");
    s = rewrite_replace(w, "/v1/users?id=1", &n);
    is_str(s, "/v2/users?id=1", "url: a regex over path and query");
    free(s);
    rewrite_free(w);

    /* query */
    w = edit("query:set:debug=1");
    s = rewrite_query(w, "/a?x=1&debug=0&y=2");
    is_str(s, "/a?x=1&debug=1&y=2", "query set replaces in place");
    free(s);
    s = rewrite_query(w, "/a");
    is_str(s, "/a?debug=1", "query set adds when absent");
    free(s);
    rewrite_free(w);
    w = edit("query:remove:x");
    s = rewrite_query(w, "/a?x=1&xy=2&x");
    is_str(s, "/a?xy=2", "query remove takes every x and only x");
    free(s);
    rewrite_free(w);

    /* request bodies */
    int count = 0;
    w = edit("req-body:(a+)=><\\1>");
    ok(w && w->target == REWRITE_REQ_BODY && rewrite_on_req_body(w) && !rewrite_on_body(w),
       "req-body: a request body edit, not a response one");
    s = rewrite_replace(w, "baab", &count);
    is_str(s, "b<aa>b", "req-body: regex with a group");
    free(s);
    rewrite_free(w);
    w = edit("req-body-literal:a.b=>x");
    s = rewrite_replace(w, "a.b axb", &count);
    is_str(s, "x axb", "req-body-literal: the dot is literal");
    free(s);
    rewrite_free(w);
    w = edit("req-json:remove:$.debug");
    ok(w && w->target == REWRITE_REQ_JSON && rewrite_is_json(w) && rewrite_on_req_body(w),
       "req-json: a JSON edit of the request body");
    rewrite_free(w);
    ok(refused("req-json:$.a=pro", "not JSON"), "req-json: the value must be JSON");

    /* JSON */
    const char *doc = "{\"user\": {\"plan\": \"free\", \"id\": 7}, \"items\": [{\"id\": 1}, {\"id\": 2}]}";
    char *old = NULL, why[200];
    w = edit("resp-json:$.user.plan=\"pro\"");
    s = rewrite_json(w, doc, strlen(doc), &old, why, sizeof why);
    is_str(s, "{\"user\":{\"plan\":\"pro\",\"id\":7},\"items\":[{\"id\":1},{\"id\":2}]}", "JSON set at a path");
    is_str(old, "\"free\"", "the old value given");
    free(s);
    free(old);
    rewrite_free(w);
    w = edit("resp-json:$.items[1].id={\"n\": 3}");
    s = rewrite_json(w, doc, strlen(doc), &old, why, sizeof why);
    ok(s && strstr(s, "[{\"id\":1},{\"id\":{\"n\":3}}]"), "JSON set through an array index");
    free(s);
    free(old);
    rewrite_free(w);
    w = edit("resp-json:$.flags.beta=true");
    s = rewrite_json(w, doc, strlen(doc), &old, why, sizeof why);
    ok(s && strstr(s, "\"flags\":{\"beta\":true}") && !strcmp(old, "(none)"),
       "JSON set makes a missing object on the way");
    free(s);
    free(old);
    rewrite_free(w);
    w = edit("resp-json:remove:$.user.id");
    s = rewrite_json(w, doc, strlen(doc), &old, why, sizeof why);
    ok(s && !strstr(s, "\"id\":7") && !strcmp(old, "7"), "JSON remove at a path");
    free(s);
    free(old);
    s = rewrite_json(w, "[1]", 3, &old, why, sizeof why);
    ok(!s && strstr(why, "does not fit"), "a path that does not fit the body is said so");
    s = rewrite_json(w, "<html>", 6, &old, why, sizeof why);
    ok(!s && strstr(why, "not JSON"), "a body that is not JSON is said so");
    rewrite_free(w);

    /* gzip / deflate round trip */
    const char *codings[] = {"gzip", "deflate"};
    for (int i = 0; i < 2; i++) {
        struct evbuffer *enc = evbuffer_new(), *dec = evbuffer_new();
        ok(rewrite_encode(codings[i], (const unsigned char *)doc, strlen(doc), enc) == 0,
           "%s encodes", codings[i]);
        size_t el = evbuffer_get_length(enc);
        ok(body_decode(codings[i], 0, evbuffer_pullup(enc, -1), el, 1 << 20, dec) == BODY_DECODE_OK &&
           evbuffer_get_length(dec) == strlen(doc) &&
           !memcmp(evbuffer_pullup(dec, -1), doc, strlen(doc)), "%s round trip gives the text back",
           codings[i]);
        evbuffer_free(enc);
        evbuffer_free(dec);
    }
    struct evbuffer *b = evbuffer_new();
    ok(rewrite_encode("zstd", (const unsigned char *)"x", 1, b) < 0, "a coding it cannot make: -1");
    evbuffer_free(b);
    return done();
}
