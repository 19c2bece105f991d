/* test_flow_url.c — a flow's URL lives in the flow's own block when it fits (flow.c
 * flow_set_url): every value reads back as set, longer ones get their own copy, replacing one
 * by the other (or by a piece of itself) keeps the text, and flow_free frees exactly what was
 * allocated (a double or invalid free aborts here, a leak fails the ASan tree). */
#include <string.h>
#include "../../src/flow.h"
#include "tap.h"

int main(void)
{
    struct flow *f = flow_new(1, 1, 1024);
    ok(f != NULL, "flow made");
    if (!f)
        return done();
    size_t base = flow_mem_size(f);
    flow_set_url(f, "https://a.test/1k");
    is_str(f->url, "https://a.test/1k", "short URL reads back");
    ok(f->url == f->url_room, "a short URL is kept in the flow's block");
    is_int((long long)flow_mem_size(f), (long long)base, "no memory beyond the flow for it");

    char longer[FLOW_URL_ROOM + 100];
    memset(longer, 'p', sizeof longer - 1);
    memcpy(longer, "https://b.test/", 15);
    longer[sizeof longer - 1] = '\0';
    flow_set_url(f, longer);
    is_str(f->url, longer, "long URL reads back");
    ok(f->url != f->url_room, "a long URL gets its own block");
    is_int((long long)flow_mem_size(f), (long long)(base + sizeof longer),
           "its bytes are counted");

    char edge[FLOW_URL_ROOM];
    memset(edge, 'e', sizeof edge - 1);
    edge[sizeof edge - 1] = '\0';
    flow_set_url(f, edge); /* 255 characters: the room's last byte is its NUL */
    is_str(f->url, edge, "a URL that just fits reads back");
    ok(f->url == f->url_room, "and is kept in the room (the long copy freed)");

    flow_set_url(f, f->url + 5); /* a piece of itself */
    is_str(f->url, edge + 5, "set from a piece of its own text");
    flow_set_url(f, longer);
    flow_set_url(f, f->url + 15); /* a piece of its own heap copy, still long */
    is_str(f->url, longer + 15, "set from a piece of its own long copy");
    flow_set_url(f, "");
    is_str(f->url, "", "empty URL");
    flow_set_url(f, longer);
    flow_free(f); /* frees the long copy and the flow */
    ok(1, "flow freed with a long URL");
    struct flow *g = flow_new(2, 1, 1024);
    if (g) {
        flow_set_url(g, "http://c.test/");
        flow_free(g); /* the room is not freed on its own */
    }
    ok(1, "flow freed with a short URL");
    return done();
}
