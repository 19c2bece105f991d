/* test_session_size.c — what every connection keeps for its life (S5: memory per idle
 * intercepted tunnel, issue 21): struct session holds no HTTP/1 parser inline (a leg makes one
 * when HTTP/1 first needs it; an HTTP/2 leg never does) and no fixed 256-byte name (the tunnel's
 * host, SNI, error and upstream name, the uplink's host: name_str.h, at their length); and
 * name_str keeps the old fields' behaviour (a name longer than 255 bytes is cut there). */
#include <stdlib.h>
#include <string.h>
#include "name_str.h"
#include "session.h"
#include "tap.h"

static void on_phase(void *a, enum tunnel_phase p, const char *w) { (void)a, (void)p, (void)w; }
static void on_close(void *a, int f) { (void)a, (void)f; }
static void on_fail(void *a, struct flow *f, int s, const char *r) { (void)a, (void)f, (void)s, (void)r; }
static void on_arg(void *a) { (void)a; }

static void test_sizes(void)
{
    printf("# sizeof: session %zu, leg %zu, tunnel %zu, uplink %zu, http1_parser %zu\n",
           sizeof(struct session), sizeof(struct leg), sizeof(struct tunnel),
           sizeof(struct uplink), sizeof(struct http1_parser));
    /* 3,656 bytes before (two parsers of 520, five names of 256); 1,384 after */
    ok(sizeof(struct session) <= 1536, "struct session is at most 1,536 bytes (%zu): every "
       "connection, idle tunnels included, holds it", sizeof(struct session));
    ok(sizeof(struct leg) < sizeof(struct http1_parser),
       "a leg holds no HTTP/1 parser inline (leg %zu < parser %zu bytes)", sizeof(struct leg),
       sizeof(struct http1_parser));
    ok(sizeof(struct tunnel) < 4 * 256, "a tunnel holds no fixed 256-byte names (%zu bytes)",
       sizeof(struct tunnel));
    ok(sizeof(struct uplink) < sizeof(struct leg) + 256,
       "an uplink holds no fixed 256-byte host (%zu bytes)", sizeof(struct uplink));
}

static const struct http1_handlers no_handlers;

/* a request head taken as the front takes it (the parser's head reset, its scratch kept) */
static int take_head(void *arg, struct http1_head *h)
{
    (void)arg;
    http1_head_free(http1_head_take(h));
    return 0;
}
static const struct http1_handlers taking_handlers = {take_head, NULL, NULL, NULL};

static void test_leg_parser(void)
{
    struct leg leg = {0};
    ok(leg.parser == NULL, "a new leg has no HTTP/1 parser");
    struct http1_parser *p = leg_parser_reset(&leg, 1, &no_handlers, NULL);
    ok(p && leg.parser == p, "leg_parser_reset makes it when first needed");
    ok(leg_parser_reset(&leg, 0, &no_handlers, NULL) == p, "and reuses it after");
    /* idle: leg_release_buffers gives the parser's head scratch back with the TLS buffers */
    struct evbuffer *in = evbuffer_new();
    p = leg_parser_reset(&leg, 1, &taking_handlers, NULL);
    evbuffer_add_printf(in, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    http1_feed(p, in);
    evbuffer_free(in);
    ok(p->head.buf && p->head.fields && !p->head.buf_len,
       "a request whose head was taken leaves the parser's scratch for the next one");
    is_int(leg_release_buffers(&leg), 1, "an idle plain leg holds no TLS buffers");
    ok(!p->head.buf && !p->head.spans && !p->head.fields,
       "and its parser's head scratch is given back (S5)");
    leg_parser_free(&leg);
    ok(leg.parser == NULL, "leg_parser_free gives it back");
    leg_parser_free(&leg); /* nothing to do the second time */
    ok(leg.parser == NULL, "leg_parser_free without a parser does nothing");
}

static void test_name_str(void)
{
    const char *f = NULL;
    name_str_clear(&f);
    ok(f == NAME_STR_EMPTY, "a cleared field (zeroed before) is NAME_STR_EMPTY");
    is_int(name_str_set(&f, ""), 0, "setting \"\" succeeds");
    ok(f == NAME_STR_EMPTY, "and allocates nothing");
    is_int(name_str_set(&f, "api.example.com"), 0, "setting a name succeeds");
    is_str(f, "api.example.com", "the field holds it");
    const char *held = f;
    name_str_set(&f, f);
    ok(f == held && !strcmp(f, "api.example.com"), "setting a field to itself keeps it");
    char long_name[400];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    name_str_set(&f, long_name);
    is_int((long long)strlen(f), NAME_STR_MAX, "a 399-byte name is cut at 255 bytes (as the "
                                               "char[256] fields did)");
    ok(!strncmp(f, long_name, NAME_STR_MAX), "its first 255 bytes kept");
    name_str_printf(&f, "TLS handshake with %s:%d failed: %s", "h.test", 443, "alert");
    is_str(f, "TLS handshake with h.test:443 failed: alert", "name_str_printf formats");
    name_str_printf(&f, "%s%s", long_name, long_name);
    is_int((long long)strlen(f), NAME_STR_MAX, "a longer formatted text is cut at 255 bytes");
    name_str_clear(&f);
    ok(f == NAME_STR_EMPTY && !f[0], "cleared: \"\" again");
}

static void test_tunnel_names(void)
{
    static const struct tunnel_ops ops = {on_phase, on_close, on_fail, on_arg, on_arg};
    struct tunnel t = {0};
    struct leg client = {0}, upstream = {0};
    uint64_t activity = 0;
    char dummy;
    tunnel_init(&t, &ops, NULL, 1, (struct proxy *)&dummy, (struct event_base *)&dummy, NULL,
                NULL, &client, &upstream, "127.0.0.1", &activity);
    ok(t.host && !t.host[0] && t.sni && !t.sni[0] && t.error && !t.error[0] && t.up_name &&
           !t.up_name[0], "tunnel_init: host, sni, error and up_name read \"\"");
    name_str_set(&t.sni, "api.example.com");
    name_str_set(&t.host, "api.example.com");
    tunnel_free(&t); /* ASan: nothing leaks */
    ok(t.host == NAME_STR_EMPTY && t.sni == NAME_STR_EMPTY, "tunnel_free gives the names back");

    struct uplink u = {0};
    uplink_init(&u, NULL);
    ok(u.host && !u.host[0] && u.leg.fd == -1 && u.leg.owner == &u,
       "uplink_init: host \"\", no socket, owner set");
}

int main(void)
{
    test_sizes();
    test_leg_parser();
    test_name_str();
    test_tunnel_names();
    return done();
}
