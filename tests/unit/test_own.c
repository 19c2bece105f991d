/* test_own.c — what httpeek answers itself: which plain requests are for httpeek and which were
 * meant for another server, the paths browsers ask by themselves, its own page's response captured
 * into a flow (--record-own), and the per-client bound on refusal flows. */
#include "../../src/own.c"

#include <stdlib.h>
#include "tap.h"

static int recorded;
static void sink(struct flow *f, void *arg)
{
    (void)arg;
    recorded++;
    flow_free(f);
}

int main(void)
{
    ok(own_host_is_self(NULL, 8080) && own_host_is_self("", 8080), "no Host: httpeek's own");
    ok(own_host_is_self("httpeek.test", 8080) && own_host_is_self("HTTPEEK.TEST:80", 8080),
       "httpeek.test (any case, any port)");
    ok(own_host_is_self("192.168.1.20:8080", 8080) && own_host_is_self("[fd00::2]:8080", 8080) &&
           own_host_is_self("10.0.0.1", 8080),
       "an address typed on the phone (with or without the port)");
    ok(own_host_is_self("localhost:8080", 8080) && own_host_is_self("a.localhost", 8080),
       "localhost names");
    ok(own_host_is_self("mybox.example:8080", 8080), "any name with httpeek's own port");
    char me[256];
    gethostname(me, sizeof me);
    me[sizeof me - 1] = '\0';
    char local[300];
    snprintf(local, sizeof local, "%s.local", me);
    ok(own_host_is_self(me, 8080) && own_host_is_self(local, 8080),
       "this machine's name, also with .local (%s)", me);
    ok(!own_host_is_self("api.example.test", 8080) && !own_host_is_self("api.example.test:80", 8080) &&
           !own_host_is_self("api.example.test:443", 8080),
       "another server's name, on another port: not for httpeek (not meant for a proxy)");

    ok(own_path_is_automatic("/favicon.ico") && own_path_is_automatic("/robots.txt") &&
           own_path_is_automatic("/apple-touch-icon-precomposed.png") &&
           own_path_is_automatic("/favicon.ico?x=1"),
       "paths browsers ask any site for");
    ok(!own_path_is_automatic("/api/items") && !own_path_is_automatic("/favicon.icon") &&
           !own_path_is_automatic("/apple-touch-icon"),
       "other paths are not");

    /* an own page's response into the flow */
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nold");
    size_t before = evbuffer_get_length(out);
    evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
    struct flow *f = flow_new(1, 1, 1024);
    own_capture_response(f, out, before, 0);
    ok(f->resp && f->resp->status == 200 && f->resp_body.len == 5 &&
           !memcmp(f->resp_body.data, "hello", 5) &&
           !strcmp(http1_head_get(f->resp, "content-type"), "text/plain"),
       "own page: the response written from the offset on becomes the flow's response");
    flow_free(f);
    evbuffer_drain(out, evbuffer_get_length(out));
    evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    f = flow_new(1, 1, 1024);
    own_capture_response(f, out, 0, 1);
    ok(f->resp && f->resp->status == 200 && f->resp_body.total == 0,
       "own page, HEAD: the head without a body");
    flow_free(f);
    evbuffer_freeze(out, 1); /* a bufferevent's output: its start is frozen */
    f = flow_new(1, 1, 1024);
    own_capture_response(f, out, 0, 1);
    ok(f->resp && f->resp->status == 200, "own page: read from an output whose start is frozen");
    flow_free(f);
    evbuffer_unfreeze(out, 1);
    evbuffer_free(out);

    /* refusal flows are bounded per client and second */
    struct opts o;
    memset(&o, 0, sizeof o);
    o.max_body = 1024;
    o.max_connections = 4;
    struct proxy p;
    memset(&p, 0, sizeof p);
    p.opts = &o;
    p.sink = sink;
    static struct own_limiter lim;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5555)};
    inet_pton(AF_INET, "10.9.8.7", &a.sin_addr);
    for (int i = 0; i < 20; i++) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
            own_refuse_connection(&p, &lim, fds[0], (struct sockaddr *)&a, FLOW_REFUSED_CLIENT, 0);
            close(fds[1]);
        }
    }
    ok(recorded >= OWN_REFUSALS_PER_CLIENT && recorded <= 2 * OWN_REFUSALS_PER_CLIENT,
       "20 identical refusals at once: at most %d a second are flows (%d)", OWN_REFUSALS_PER_CLIENT,
       recorded);
    int before_other = recorded;
    inet_pton(AF_INET, "10.9.8.6", &a.sin_addr);
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
        own_refuse_connection(&p, &lim, fds[0], (struct sockaddr *)&a, FLOW_REFUSED_CLIENT, 0);
        close(fds[1]);
    }
    ok(recorded == before_other + 1, "another client's refusal is still recorded");
    return done();
}
