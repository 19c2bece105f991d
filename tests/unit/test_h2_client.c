/* test_h2_client.c — h2_client (the h2 uplink's engine) against a real nghttp2 server session
 * through an in-process byte pipe: multiplexing, interim and final heads, trailers both ways,
 * back-pressure both ways, GOAWAY with a last-stream-id in the middle, REFUSED_STREAM (retryable
 * once), other resets, malformed responses, the pool's "can take another stream". */
#include "../../src/h2_client.c"

#include <stdlib.h>
#include "h2_peer.h"
#include "tap.h"

struct cex {
    int used;
    int32_t sid;
    int status, interim;
    size_t wire; /* wire_size of the final head */
    char fields[4096];
    size_t body;
    int hold;
    size_t unconsumed;
    int ended;
    char trailers[256];
    int failed;
    struct h2_failure f;
    char why[256];
    size_t to_send, sent; /* request body */
    const char *trailer;  /* request trailer "name: value" */
    int paused, pauses, drains;
};

struct owner {
    struct h2_client *c;
    struct cex ex[PEER_STREAMS];
    int conn_err;
    char conn_why[300];
};

static void c_response(void *arg, int32_t sid, void *sa, struct message_head *h)
{
    (void)arg, (void)sid;
    struct cex *e = sa;
    if (h->status < 200) {
        e->interim++;
        return;
    }
    e->status = h->status;
    e->wire = h->wire_size;
    for (size_t i = 0; i < h->nfields; i++) {
        size_t l = strlen(e->fields);
        snprintf(e->fields + l, sizeof e->fields - l, "%s=%s;", h->fields[i].name,
                 h->fields[i].value);
    }
}

static void c_body(void *arg, int32_t sid, void *sa, const uint8_t *d, size_t len)
{
    (void)d;
    struct owner *o = arg;
    struct cex *e = sa;
    e->body += len;
    if (e->hold)
        e->unconsumed += len;
    else
        h2_client_consume(o->c, sid, len);
}

static void c_end(void *arg, int32_t sid, void *sa, struct message_head *t)
{
    (void)arg, (void)sid;
    struct cex *e = sa;
    e->ended = 1;
    for (size_t i = 0; t && i < t->ntrailers; i++) {
        size_t l = strlen(e->trailers);
        snprintf(e->trailers + l, sizeof e->trailers - l, "%s=%s;", t->trailers[i].name,
                 t->trailers[i].value);
    }
}

static void c_fail(void *arg, int32_t sid, void *sa, const struct h2_failure *f)
{
    (void)arg, (void)sid;
    struct cex *e = sa;
    e->failed++;
    e->f = *f;
    snprintf(e->why, sizeof e->why, "%s", f->why);
}

static void produce(struct owner *o, struct cex *e)
{
    static char chunk[16384];
    e->paused = 0;
    while (e->sent < e->to_send) {
        size_t n = e->to_send - e->sent < sizeof chunk ? e->to_send - e->sent : sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (char)('A' + (e->sent + i) % 26);
        int r = h2_client_send_body(o->c, e->sid, chunk, n);
        if (r < 0)
            return;
        e->sent += n;
        if (r == 1) {
            e->paused = 1;
            e->pauses++;
            return;
        }
    }
    struct message_head t;
    message_head_init(&t, 1);
    if (e->trailer) {
        const char *colon = strchr(e->trailer, ':');
        message_add_trailer(&t, e->trailer, (size_t)(colon - e->trailer), colon + 2,
                            strlen(colon + 2));
    }
    h2_client_end(o->c, e->sid, &t);
    message_head_clear(&t);
}

static void c_drain(void *arg, int32_t sid, void *sa)
{
    (void)sid;
    struct cex *e = sa;
    e->drains++;
    if (e->paused)
        produce(arg, e);
}

static void c_conn_error(void *arg, uint32_t code, int by_server, const char *why)
{
    (void)code, (void)by_server;
    struct owner *o = arg;
    o->conn_err++;
    snprintf(o->conn_why, sizeof o->conn_why, "%s", why);
}

static const struct h2_client_ops ops = {c_response, c_body, c_end, c_fail, c_drain, c_conn_error};

static int io_feed(void *e, const uint8_t *d, size_t len) { return h2_client_feed(e, d, len); }
static int io_flush(void *e, struct evbuffer *out) { return h2_client_flush(e, out); }

struct rig {
    struct owner o;
    struct peer p;
    struct engine_io io;
};

/* With H2_SEED_DIR set, the server's bytes of each scenario become a seed for fuzz_h2_uplink. */
static struct rig *rig_new(const nghttp2_settings_entry *iv, size_t niv)
{
    static int scenario;
    struct rig *r = calloc(1, sizeof *r);
    r->o.c = h2_client_new(&ops, &r->o, NULL);
    peer_init(&r->p, 1, iv, niv);
    r->io = (struct engine_io){io_feed, io_flush, r->o.c};
    const char *dir = getenv("H2_SEED_DIR");
    if (dir) {
        char path[512];
        snprintf(path, sizeof path, "%s/scenario_%d", dir, ++scenario);
        r->p.seed = fopen(path, "wb");
    }
    return r;
}

static void rig_free(struct rig *r)
{
    h2_client_free(r->o.c);
    peer_free(&r->p);
    free(r);
}

/* Submit a request; body_len > 0 sends a body (produced with back-pressure). */
static struct cex *request(struct rig *r, const char *method, const char *path, size_t body_len,
                           const char *trailer, unsigned flags)
{
    struct cex *e = NULL;
    for (int i = 0; i < PEER_STREAMS && !e; i++)
        if (!r->o.ex[i].used)
            e = &r->o.ex[i];
    memset(e, 0, sizeof *e);
    e->used = 1;
    struct message_head h;
    message_head_init(&h, 1);
    message_set_method(&h, method, strlen(method));
    message_set_scheme(&h, "https", 5);
    message_set_path(&h, path, strlen(path));
    message_add_field(&h, "Host", 4, "b.test", 6); /* becomes :authority */
    message_add_field(&h, "Connection", 10, "keep-alive", 10);
    message_add_field(&h, "Cookie", 6, "a=1; b=2", 8);
    h.end_stream = body_len == 0 && !trailer;
    e->sid = h2_client_submit(r->o.c, &h, flags, e);
    message_head_clear(&h);
    e->to_send = body_len;
    e->trailer = trailer;
    if (!h.end_stream)
        produce(&r->o, e);
    return e;
}

static void test_multiplex(void)
{
    struct rig *r = rig_new(NULL, 0);
    struct cex *e[30];
    for (int i = 0; i < 30; i++)
        e[i] = request(r, "GET", "/size/50000", 0, NULL, 0);
    pump(&r->io, &r->p);
    int good = 0;
    for (int i = 0; i < 30; i++)
        good += e[i]->status == 200 && e[i]->body == 50000 && e[i]->ended && !e[i]->failed;
    is_int(good, 30, "30 multiplexed requests on one connection complete");
    ok(e[0]->wire > 9 && e[29]->wire > 9 && e[29]->wire < e[0]->wire,
       "wire_size of response heads: HEADERS frames, smaller once HPACK has indexed them");
    printf("# wire_size first %zu, last %zu\n", e[0]->wire, e[29]->wire);
    struct peer_stream *ps = peer_stream(&r->p, e[0]->sid);
    ok(strstr(ps->fields, "cookie=a=1;cookie=b=2;") && !strstr(ps->fields, "connection=") &&
           !strstr(ps->fields, "host="),
       "the server got an HTTP/2 head: cookie crumbs, no Connection, Host as :authority");
    is_int((long long)h2_client_streams(r->o.c), 0, "no stream left");
    is_int(nghttp2_session_get_remote_settings(r->p.ng, NGHTTP2_SETTINGS_ENABLE_PUSH), 0,
           "the server was told SETTINGS_ENABLE_PUSH 0");
    nghttp2_nv push[] = {{(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
                         {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
                         {(uint8_t *)":authority", (uint8_t *)"b.test", 10, 6, 0},
                         {(uint8_t *)":path", (uint8_t *)"/pushed", 5, 7, 0}};
    ok(nghttp2_submit_push_promise(r->p.ng, 0, e[0]->sid, push, 4, NULL) < 0,
       "so a server cannot push");
    ok(h2_client_can_take(r->o.c), "the connection can take another stream");
    rig_free(r);
}

static void test_interim_and_trailers(void)
{
    struct rig *r = rig_new(NULL, 0);
    struct cex *a = request(r, "GET", "/interim", 0, NULL, 0);
    struct cex *t = request(r, "POST", "/trailers", 100, "x-req: 1", 0);
    pump(&r->io, &r->p);
    ok(a->interim == 1 && a->status == 200 && a->ended, "103 delivered as interim, then 200");
    is_str(t->trailers, "grpc-status=0;", "response trailers delivered (grpc-status)");
    ok(t->ended && !t->failed, "a response with trailers ends cleanly");
    struct peer_stream *ps = peer_stream(&r->p, t->sid);
    is_str(ps->trailers, "x-req=1;", "request trailers reach the server");
    is_int((long long)ps->body_len, 100, "request body reaches the server");
    rig_free(r);
}

/* Response heads of many streams whose HEADERS and trailers interleave on one connection: each
 * stream is told its own fields and trailers only, whatever blocks came before on the
 * connection (one header block at a time: the engine keeps one head's storage per connection
 * and reuses it, big heads included), and again after the storage went back (h2_client_trim). */
static void test_heads_per_stream(void)
{
    struct rig *r = rig_new(NULL, 0);
    for (int round = 0; round < 2; round++) {
        struct cex *e[24];
        for (int i = 0; i < 24; i++)
            e[i] = request(r, "GET", i % 5 == 2 ? "/fields/big" : "/fields/small", 0, NULL, 0);
        pump(&r->io, &r->p);
        int own = 0, trailers = 0;
        for (int i = 0; i < 24; i++) {
            char want[3200], pad[3001];
            memset(pad, 'p', 3000);
            pad[3000] = 0;
            snprintf(want, sizeof want, "x-stream=%d;%s%s%s", e[i]->sid,
                     i % 5 == 2 ? "x-pad=" : "", i % 5 == 2 ? pad : "", i % 5 == 2 ? ";" : "");
            own += e[i]->status == 200 && e[i]->ended && !e[i]->failed &&
                   !strcmp(e[i]->fields, want);
            char tw[32];
            snprintf(tw, sizeof tw, "x-t=%d;", e[i]->sid);
            trailers += !strcmp(e[i]->trailers, e[i]->sid % 3 == 0 ? tw : "");
        }
        is_int(own, 24, round ? "after the trim: each stream got its own head"
                              : "each of 24 interleaved streams got its own head");
        is_int(trailers, 24, "each stream got its own trailers or none");
        for (int i = 0; i < 24; i++)
            e[i]->used = 0;
        h2_client_trim(r->o.c);
        ok(r->o.c->rx.arena == NULL && r->o.c->rx.fields == NULL, "trim gave the storage back");
    }
    rig_free(r);
}

static void test_backpressure(void)
{
    struct rig *r = rig_new(NULL, 0);
    /* upload: the server peer's stream window is 64 KiB; it reads as it goes */
    struct cex *up = request(r, "POST", "/size/5", 3000000, NULL, 0);
    pump(&r->io, &r->p);
    ok(up->pauses > 0 && up->drains > 0, "the request body producer paused and resumed");
    is_int((long long)peer_stream(&r->p, up->sid)->body_len, 3000000,
           "3 MB uploaded with back-pressure");
    ok(up->ended, "and answered");

    /* download: one stream not consumed, another completes */
    struct cex *slow = request(r, "GET", "/size/4000000", 0, NULL, 0);
    slow->hold = 1;
    struct cex *fast = request(r, "GET", "/size/1000000", 0, NULL, 0);
    pump(&r->io, &r->p);
    ok(fast->ended && fast->body == 1000000, "a stream completes while another is not read");
    ok(!slow->ended && slow->body <= 256 * 1024,
       "the unread stream got no more than its window (httpeek buffers a bounded amount)");
    printf("# unread stream: %zu bytes before consume\n", slow->body);
    for (int i = 0; i < 200 && !slow->ended; i++) {
        h2_client_consume(r->o.c, slow->sid, slow->unconsumed);
        slow->unconsumed = 0;
        pump(&r->io, &r->p);
    }
    ok(slow->ended && slow->body == 4000000, "it completes once the owner consumes");
    rig_free(r);
}

static void test_goaway(void)
{
    struct rig *r = rig_new(NULL, 0);
    r->p.goaway_after = 3;
    struct cex *e[10];
    for (int i = 0; i < 10; i++)
        e[i] = request(r, "GET", "/size/1000", 0, NULL, 0);
    pump(&r->io, &r->p);
    int done = 0, retry = 0, other = 0;
    for (int i = 0; i < 10; i++) {
        if (e[i]->sid <= r->p.goaway_sent_last)
            done += e[i]->ended && !e[i]->failed && e[i]->body == 1000;
        else if (e[i]->failed && e[i]->f.retryable && e[i]->f.lost)
            retry++;
        else
            other++;
    }
    is_int(r->p.goaway_sent_last, 5, "the server said GOAWAY with last-stream-id 5");
    is_int(done, 3, "streams at or below last-stream-id complete");
    is_int(retry, 7, "streams above it fail as retryable, connection lost");
    is_int(other, 0, "nothing else happens to them");
    printf("# %s\n", e[9]->why);
    ok(strstr(e[9]->why, "GOAWAY") != NULL, "the reason names GOAWAY");
    ok(!h2_client_can_take(r->o.c), "no new stream after GOAWAY");
    rig_free(r);
}

/* Requests waiting for a stream slot when GOAWAY arrives never leave: retryable. */
static void test_goaway_queued(void)
{
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}};
    struct rig *r = rig_new(iv, 1);
    r->p.goaway_after = 1;
    pump(&r->io, &r->p); /* SETTINGS exchanged: one stream at a time */
    struct cex *a = request(r, "GET", "/size/100", 0, NULL, 0);
    struct cex *b = request(r, "GET", "/size/100", 0, NULL, 0);
    struct cex *c = request(r, "POST", "/size/100", 1000, NULL, 0);
    pump(&r->io, &r->p);
    ok(a->ended && a->body == 100, "the stream in flight at GOAWAY completes");
    ok(b->failed && b->f.retryable && c->failed && c->f.retryable,
       "requests queued behind MAX_CONCURRENT_STREAMS fail as retryable (never sent)");
    ok(strstr(b->why, "request not sent") != NULL, "the reason says it was never sent");
    is_int((long long)h2_client_streams(r->o.c), 0, "no stream left behind");
    rig_free(r);
}

static void test_resets(void)
{
    struct rig *r = rig_new(NULL, 0);
    r->p.refuse_stream = 1;
    struct cex *a = request(r, "GET", "/size/10", 0, NULL, 0);
    pump(&r->io, &r->p);
    ok(a->failed && a->f.retryable && a->f.code == NGHTTP2_REFUSED_STREAM,
       "REFUSED_STREAM: retryable");
    is_str(a->why, "RST_STREAM REFUSED_STREAM from the server", "the reason names the frame and code");
    r->p.refuse_stream = 3;
    struct cex *b = request(r, "GET", "/size/10", 0, NULL, H2_CLIENT_RETRY);
    pump(&r->io, &r->p);
    ok(b->sid == 3 && b->failed && !b->f.retryable, "REFUSED_STREAM of a retry: final");
    struct cex *c = request(r, "GET", "/rst", 0, NULL, 0);
    pump(&r->io, &r->p);
    ok(c->failed && !c->f.retryable && c->f.lost && c->f.code == NGHTTP2_INTERNAL_ERROR,
       "RST_STREAM INTERNAL_ERROR from the server: lost, not retryable");
    is_str(c->why, "RST_STREAM INTERNAL_ERROR from the server", "its reason");
    struct cex *d = request(r, "GET", "/bad", 0, NULL, 0);
    pump(&r->io, &r->p);
    ok(d->failed && !d->ended && d->status == 0, "a response with a connection-specific field fails");
    printf("# %s\n", d->why);
    struct cex *e = request(r, "GET", "/size/10", 0, NULL, 0);
    pump(&r->io, &r->p);
    ok(e->ended && e->body == 10, "the connection goes on after stream errors");

    /* the owner cancels a download */
    struct cex *f = request(r, "GET", "/size/3000000", 0, NULL, 0);
    f->hold = 1;
    pump(&r->io, &r->p);
    ok(h2_client_reset(r->o.c, f->sid, NGHTTP2_CANCEL) == 0, "owner resets a stream");
    pump(&r->io, &r->p);
    struct peer_stream *ps = peer_stream(&r->p, f->sid);
    ok(ps->rst && ps->rst_code == NGHTTP2_CANCEL, "the server sees RST_STREAM CANCEL");
    ok(!f->failed && !f->ended, "no callback for a stream the owner reset");

    /* the server leg closes */
    struct cex *g = request(r, "GET", "/size/3000000", 0, NULL, 0);
    g->hold = 1;
    pump(&r->io, &r->p);
    h2_client_eof(r->o.c);
    ok(g->failed && g->f.lost && !g->f.retryable, "leg closed mid-response: lost, not retryable");
    ok(!h2_client_can_take(r->o.c), "a closed connection takes no stream");
    rig_free(r);
}

static void test_concurrency_limit(void)
{
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 2}};
    struct rig *r = rig_new(iv, 1);
    pump(&r->io, &r->p); /* SETTINGS exchanged */
    ok(h2_client_can_take(r->o.c), "empty connection can take a stream");
    struct cex *a = request(r, "GET", "/size/1000000", 0, NULL, 0);
    struct cex *b = request(r, "GET", "/size/1000000", 0, NULL, 0);
    a->hold = b->hold = 1;
    pump(&r->io, &r->p);
    ok(!h2_client_can_take(r->o.c), "server's MAX_CONCURRENT_STREAMS 2 reached: full");
    for (int i = 0; i < 100 && !(a->ended && b->ended); i++) {
        h2_client_consume(r->o.c, a->sid, a->unconsumed);
        h2_client_consume(r->o.c, b->sid, b->unconsumed);
        a->unconsumed = b->unconsumed = 0;
        pump(&r->io, &r->p);
    }
    ok(a->ended && b->ended && h2_client_can_take(r->o.c), "streams done: it can take again");
    rig_free(r);
}

static void test_server_garbage(void)
{
    struct rig *r = rig_new(NULL, 0);
    struct cex *a = request(r, "GET", "/size/10", 0, NULL, 0);
    struct evbuffer *o = evbuffer_new();
    h2_client_flush(r->o.c, o);
    evbuffer_drain(o, evbuffer_get_length(o)); /* preface, SETTINGS, HEADERS */
    const char *junk = "HTTP/1.1 400 Bad Request\r\n\r\n";
    h2_client_feed(r->o.c, (const uint8_t *)junk, strlen(junk));
    h2_client_flush(r->o.c, o);
    ok(r->o.conn_err == 1, "an HTTP/1.1 answer to the preface fails the connection, said once");
    printf("# %s\n", r->o.conn_why);
    ok(goaway_code(o) == NGHTTP2_PROTOCOL_ERROR, "GOAWAY PROTOCOL_ERROR sent to the server");
    h2_client_eof(r->o.c);
    ok(a->failed && a->f.lost, "the open stream fails as lost");
    evbuffer_free(o);
    rig_free(r);
}

int main(void)
{
    test_multiplex();
    test_interim_and_trailers();
    test_heads_per_stream();
    test_backpressure();
    test_goaway();
    test_goaway_queued();
    test_resets();
    test_concurrency_limit();
    test_server_garbage();
    return done();
}
