/* test_replay.c — what a repeat or composed request sends (replay.h: replay_spec_check and
 * replay_spec_wire: absolute form for http://, CONNECT then origin form for https://, Host from
 * the URL, hop-by-hop and framing fields dropped, Content-Length from the body, IPv6 literals,
 * bad methods, URLs, names and values refused) and the registry that marks their flows
 * (replay_marks.h: only the registered address and port, the id reported once). */
#include <stdlib.h>
#include <string.h>
#include "flow.h"
#include "replay.h"
#include "replay_marks.h"
#include "tap.h"

static char *connect_head, *head, host[256], err[200];
static int tls;

static int wire(struct replay_spec *s)
{
    free(connect_head);
    free(head);
    connect_head = head = NULL;
    return replay_spec_wire(s, &tls, &connect_head, &head, host, sizeof host, err, sizeof err);
}

int main(void)
{
    struct replay_spec *s = replay_spec_new("GET", "http://api.test:8080/a/b?x=1&y=2");
    replay_spec_header(s, "Host", "other.test");
    replay_spec_header(s, "Connection", "keep-alive");
    replay_spec_header(s, "Proxy-Connection", "keep-alive");
    replay_spec_header(s, "Accept", "*/*");
    replay_spec_header(s, "Content-Length", "99");
    replay_spec_header(s, "Transfer-Encoding", "chunked");
    replay_spec_header(s, ":authority", "api.test");
    replay_spec_header(s, "X-Two", "a");
    replay_spec_header(s, "X-Two", "b");
    is_int(wire(s), 0, "http:// GET is sent");
    is_int(tls, 0, "... without TLS");
    ok(connect_head == NULL, "... and no CONNECT");
    is_str(head, "GET http://api.test:8080/a/b?x=1&y=2 HTTP/1.1\r\nHost: api.test:8080\r\n"
                 "Accept: */*\r\nX-Two: a\r\nX-Two: b\r\n\r\n",
           "absolute form, Host from the URL, hop-by-hop / framing / pseudo fields dropped, "
           "repeated fields kept in order, no Content-Length without a body");
    replay_spec_free(s);

    s = replay_spec_new("POST", "https://api.test/v1/user");
    replay_spec_header(s, "Content-Type", "application/json");
    replay_spec_body(s, "{\"a\":1}", 7);
    is_int(wire(s), 0, "https:// POST is sent");
    is_int(tls, 1, "... over TLS");
    is_str(connect_head, "CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\n\r\n",
           "CONNECT to the default port first");
    is_str(head, "POST /v1/user HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\n"
                 "Content-Length: 7\r\n\r\n",
           "then origin form with Content-Length from the body");
    is_str(host, "api.test", "the TLS name is the URL's host");
    replay_spec_free(s);

    s = replay_spec_new("PUT", "https://[::1]:8443");
    is_int(wire(s), 0, "an IPv6 literal URL is sent");
    is_str(connect_head, "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
           "CONNECT names it in brackets");
    is_str(head, "PUT / HTTP/1.1\r\nHost: [::1]:8443\r\nContent-Length: 0\r\n\r\n",
           "an empty path is /, a PUT without a body says Content-Length: 0");
    is_str(host, "::1", "the TLS name of an IPv6 literal has no brackets");
    replay_spec_free(s);

    static const char *const bad_urls[] = {"ftp://x/", "/relative", "http://", "http://a b/",
                                           "https://x/\r\nEvil: 1", "nonsense"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        s = replay_spec_new("GET", bad_urls[i]);
        ok(replay_spec_check(s, err, sizeof err) < 0 && wire(s) < 0, "URL %zu refused (%s)", i,
           err); /* by number: one holds CR LF, which would break the TAP line */
        replay_spec_free(s);
    }
    static const char *const bad_methods[] = {"", "GE T", "CONNECT", "G\r\nET",
                                              "AVERYLONGMETHODNAMETHATISTOOLONGFORUS"};
    for (size_t i = 0; i < sizeof bad_methods / sizeof *bad_methods; i++) {
        s = replay_spec_new(bad_methods[i], "http://x/");
        ok(replay_spec_check(s, err, sizeof err) < 0, "method %zu refused", i);
        replay_spec_free(s);
    }
    s = replay_spec_new("GET", "http://x/");
    replay_spec_header(s, "Bad Name", "v");
    ok(replay_spec_check(s, err, sizeof err) < 0 && strstr(err, "header 1"), "a name that is no token refused: %s", err);
    replay_spec_free(s);
    s = replay_spec_new("GET", "http://x/");
    replay_spec_header(s, "X", "a\r\nEvil: 1");
    ok(replay_spec_check(s, err, sizeof err) < 0 && strstr(err, "CR or LF"), "a value with CR LF refused: %s", err);
    replay_spec_free(s);
    s = replay_spec_new("GET", "http://x/");
    int n = 0;
    while (replay_spec_header(s, "X", "y") == 0)
        n++;
    is_int(n, REPLAY_MAX_HEADERS, "at most REPLAY_MAX_HEADERS headers");
    replay_spec_free(s);

    /* the registry */
    struct replay_marks *m = replay_marks_new();
    struct flow *f = flow_new(0, 1, 0), *g = flow_new(0, 2, 0);
    strcpy(f->client_addr, "127.0.0.1");
    f->client_port = 40000;
    strcpy(g->client_addr, "127.0.0.1");
    g->client_port = 40001;
    replay_marks_flow(m, f);
    ok(!f->replay_of && !f->composed, "nothing registered: a flow is not marked");
    replay_marks_add(m, "127.0.0.1", 40000, 7, 0, NULL);
    replay_marks_add(m, "::1", 40001, 0, 1, NULL);
    replay_marks_flow(m, f);
    replay_marks_flow(m, g);
    is_int((long long)f->replay_of, 7, "the registered address and port: marked _replay_of 7");
    ok(!g->replay_of && !g->composed, "the same port from another address: not marked");
    f->id = 12;
    replay_marks_recorded(m, f);
    f->id = 13;
    replay_marks_recorded(m, f);
    is_int((long long)replay_marks_recorded_id(m, "127.0.0.1", 40000), 12, "its first recorded id is kept");
    is_int((long long)replay_marks_remove(m, "127.0.0.1", 40000), 12, "... and returned when it is unregistered");
    f->replay_of = 0;
    replay_marks_flow(m, f);
    ok(!f->replay_of, "unregistered: no longer marked");
    is_int((long long)replay_marks_remove(m, "127.0.0.1", 40000), 0, "removing twice finds nothing");
    flow_free(f);
    flow_free(g);
    replay_marks_free(m);
    free(connect_head);
    free(head);
    return done();
}
