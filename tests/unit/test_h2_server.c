/* test_h2_server.c — h2_server (the h2 front's engine) against a real nghttp2 client session
 * through an in-process byte pipe, and against raw frames for the floods: multiplexing, flow
 * control as back-pressure both ways, trailers, client resets, limits, malformed requests. */
#include "../../src/h2_server.c"

#include <stdlib.h>
#include "h2_peer.h"
#include "tap.h"

/* ---- the owner: a stand-in for the exchanges of one h2 front ---- */

struct ex {
    int used;
    int32_t sid;
    char path[128];
    size_t body_in;      /* request body bytes received */
    int hold_body;       /* do not consume the request body */
    size_t unconsumed;
    int ended;
    char trailers[256];
    size_t to_send, sent; /* response body */
    int paused, pauses, drains;
    int closed, by_client;
    uint32_t close_code;
    char why[256];
};

struct owner {
    struct h2_server *s;
    struct ex ex[PEER_STREAMS];
    int nreq;
    int refused, refused_status;
    char refused_why[256];
    size_t last_wire, last_list; /* wire_size and field_bytes of the last request head */
    int conn_err;
    uint32_t conn_code;
    char conn_why[300];
};

static struct ex *ex_of(struct owner *o, int32_t sid)
{
    for (int i = 0; i < PEER_STREAMS; i++)
        if (o->ex[i].used && o->ex[i].sid == sid)
            return &o->ex[i];
    return NULL;
}

static void produce(struct owner *o, struct ex *e)
{
    static char chunk[16384];
    e->paused = 0;
    while (e->sent < e->to_send) {
        size_t n = e->to_send - e->sent < sizeof chunk ? e->to_send - e->sent : sizeof chunk;
        memset(chunk, 'a' + (int)(e->sent % 26), n);
        int r = h2_server_send_body(o->s, e->sid, chunk, n);
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
    message_head_init(&t, 0);
    if (!strcmp(e->path, "/trailers"))
        message_add_trailer(&t, "grpc-status", 11, "0", 1);
    h2_server_end(o->s, e->sid, &t);
    message_head_clear(&t);
}

static void respond(struct owner *o, struct ex *e)
{
    struct message_head h;
    if (!strcmp(e->path, "/interim")) {
        message_head_init(&h, 0);
        h.status = 103;
        message_add_field(&h, "Link", 4, "</a.css>; rel=preload", 21);
        h2_server_respond(o->s, e->sid, &h, 0);
        message_head_clear(&h);
    }
    message_head_init(&h, 0);
    h.status = 200;
    message_add_field(&h, "Content-Type", 12, "text/plain", 10);
    message_add_field(&h, "Connection", 10, "keep-alive", 10); /* dropped for HTTP/2 */
    e->to_send = !strncmp(e->path, "/size/", 6) ? strtoul(e->path + 6, NULL, 10) : e->body_in;
    h2_server_respond(o->s, e->sid, &h, 0);
    message_head_clear(&h);
    produce(o, e);
}

static int o_request(void *arg, int32_t sid, struct message_head *head)
{
    struct owner *o = arg;
    o->nreq++;
    o->last_wire = head->wire_size;
    o->last_list = head->field_bytes;
    for (int i = 0; i < PEER_STREAMS; i++)
        if (!o->ex[i].used) {
            struct ex *e = &o->ex[i];
            memset(e, 0, sizeof *e);
            e->used = 1;
            e->sid = sid;
            snprintf(e->path, sizeof e->path, "%s", head->path);
            e->hold_body = !strcmp(head->path, "/hold-body");
            h2_server_set_stream_arg(o->s, sid, e);
            return 0;
        }
    return -1;
}

static void o_body(void *arg, int32_t sid, void *sa, const uint8_t *d, size_t len)
{
    (void)d;
    struct owner *o = arg;
    struct ex *e = sa;
    e->body_in += len;
    if (e->hold_body)
        e->unconsumed += len;
    else
        h2_server_consume(o->s, sid, len);
}

static void o_end(void *arg, int32_t sid, void *sa, struct message_head *trailers)
{
    (void)sid;
    struct ex *e = sa;
    e->ended = 1;
    for (size_t i = 0; trailers && i < trailers->ntrailers; i++) {
        size_t l = strlen(e->trailers);
        snprintf(e->trailers + l, sizeof e->trailers - l, "%s=%s;", trailers->trailers[i].name,
                 trailers->trailers[i].value);
    }
    respond(arg, e);
}

static void o_close(void *arg, int32_t sid, void *sa, uint32_t code, int by_client, const char *why)
{
    (void)arg, (void)sid;
    struct ex *e = sa;
    e->closed = 1;
    e->close_code = code;
    e->by_client = by_client;
    snprintf(e->why, sizeof e->why, "%s", why ? why : "");
}

static void o_drain(void *arg, int32_t sid, void *sa)
{
    (void)sid;
    struct ex *e = sa;
    e->drains++;
    if (e->paused)
        produce(arg, e);
}

static void o_refused(void *arg, int32_t sid, const struct message_head *h, int status,
                      const char *why)
{
    (void)sid, (void)h;
    struct owner *o = arg;
    o->refused++;
    o->refused_status = status;
    snprintf(o->refused_why, sizeof o->refused_why, "%s", why);
}

static void o_conn_error(void *arg, uint32_t code, int by_client, const char *why)
{
    (void)by_client;
    struct owner *o = arg;
    o->conn_err++;
    o->conn_code = code;
    snprintf(o->conn_why, sizeof o->conn_why, "%s", why);
}

static const struct h2_server_ops ops = {o_request, o_body, o_end, o_close, o_drain, o_refused,
                                         o_conn_error};

static int io_feed(void *e, const uint8_t *d, size_t len) { return h2_server_feed(e, d, len); }
static int io_flush(void *e, struct evbuffer *out) { return h2_server_flush(e, out); }

struct rig {
    struct owner o;
    struct peer p;
    struct engine_io io;
};

static struct rig *rig_new(const char *seed_name, const struct h2_limits *lim)
{
    struct rig *r = calloc(1, sizeof *r);
    r->o.s = h2_server_new(&ops, &r->o, lim);
    peer_init(&r->p, 0, NULL, 0);
    r->io = (struct engine_io){io_feed, io_flush, r->o.s};
    const char *dir = getenv("H2_SEED_DIR");
    if (dir && seed_name) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, seed_name);
        r->p.seed = fopen(path, "wb");
    }
    return r;
}

static void rig_free(struct rig *r)
{
    h2_server_free(r->o.s);
    peer_free(&r->p);
    free(r);
}

/* Every byte of a body: the pattern produce() writes. */
static int body_ok(struct evbuffer *b, size_t want)
{
    if (evbuffer_get_length(b) != want)
        return 0;
    const uint8_t *p = evbuffer_pullup(b, -1);
    for (size_t off = 0; off < want; off += 16384)
        if (p[off] != 'a' + (int)(off % 26))
            return 0;
    return 1;
}

static void test_multiplex(void)
{
    struct rig *r = rig_new("multiplex", NULL);
    int32_t ids[20];
    for (int i = 0; i < 20; i++)
        ids[i] = peer_request(&r->p, "GET", "/size/100000", NULL, NULL);
    struct peer_body post = {.len = 300000};
    int32_t echo = peer_request(&r->p, "POST", "/echo", &post, NULL);
    pump(&r->io, &r->p);
    int good = 0;
    for (int i = 0; i < 20; i++) {
        struct peer_stream *s = peer_stream(&r->p, ids[i]);
        good += s->status == 200 && body_ok(s->body, 100000) && s->closed && !s->close_code;
    }
    is_int(good, 20, "20 multiplexed downloads complete, every byte right");
    struct peer_stream *e = peer_stream(&r->p, echo);
    ok(e->status == 200 && e->body_len == 300000, "upload of 300000 bytes echoed on the same connection");
    is_int((long long)ex_of(&r->o, echo)->body_in, 300000, "the owner got every request body byte");
    is_int(r->o.nreq, 21, "21 requests delivered");
    int closed = 0;
    for (int i = 0; i < 21; i++)
        closed += r->o.ex[i].closed && r->o.ex[i].close_code == 0;
    is_int(closed, 21, "every stream closed with NO_ERROR for the owner");
    is_int((long long)h2_server_streams(r->o.s), 0, "no stream left open");
    ok(!strstr(peer_stream(&r->p, ids[0])->fields, "connection="),
       "Connection not sent over HTTP/2");
    ok(strstr(peer_stream(&r->p, ids[0])->fields, "content-type=text/plain;") != NULL,
       "response field lower-cased and sent");
    ok(!r->o.conn_err && !r->p.goaway, "no connection error");
    ok(r->o.last_wire > 9 && r->o.last_wire < r->o.last_list,
       "wire_size of a request head: its HEADERS frame, HPACK-compressed");
    printf("# wire_size %zu, field_bytes %zu\n", r->o.last_wire, r->o.last_list);
    rig_free(r);
}

static void test_flow_download(void)
{
    struct rig *r = rig_new("flow_download", NULL);
    int32_t slow = peer_request(&r->p, "GET", "/size/4000000", NULL, NULL);
    int32_t fast = peer_request(&r->p, "GET", "/size/1000000", NULL, NULL);
    peer_stream(&r->p, slow)->hold = 1;
    pump(&r->io, &r->p);
    struct peer_stream *ps = peer_stream(&r->p, slow), *pf = peer_stream(&r->p, fast);
    ok(pf->ended && body_ok(pf->body, 1000000), "a fast stream completes while another is stalled");
    ok(!ps->ended && ps->body_len <= 65535, "the stalled stream got no more than its window");
    struct ex *e = ex_of(&r->o, slow);
    ok(e->paused, "the producer of the stalled stream was told to pause");
    ok(e->sent <= 65535 + H2_OUTQ_HIGH + 16384,
       "httpeek queued a bounded amount for the stalled stream");
    printf("# stalled stream: produced %zu, delivered %zu\n", e->sent, ps->body_len);
    for (int i = 0; i < 200 && !ps->ended; i++) {
        peer_release(&r->p, slow);
        ps->hold = 1;
        pump(&r->io, &r->p);
    }
    ok(ps->ended && body_ok(ps->body, 4000000), "the stalled stream completes once read");
    ok(e->drains > 0, "on_drain resumed the producer");
    rig_free(r);
}

static void test_flow_upload(void)
{
    struct rig *r = rig_new("flow_upload", NULL);
    struct peer_body big = {.len = 2000000}, small = {.len = 1000};
    int32_t held = peer_request(&r->p, "POST", "/hold-body", &big, NULL);
    int32_t quick = peer_request(&r->p, "POST", "/echo", &small, NULL);
    pump(&r->io, &r->p);
    struct ex *e = ex_of(&r->o, held);
    ok(peer_stream(&r->p, quick)->ended && peer_stream(&r->p, quick)->body_len == 1000,
       "a small upload completes while a large one is held back");
    ok(e->body_in <= 256 * 1024, "the held upload got no more than the stream window");
    printf("# held upload: %zu bytes delivered before consume\n", e->body_in);
    for (int i = 0; i < 200 && !e->ended; i++) {
        h2_server_consume(r->o.s, held, e->unconsumed);
        e->unconsumed = 0;
        pump(&r->io, &r->p);
    }
    ok(e->ended && e->body_in == 2000000, "the upload completes as the owner consumes");
    ok(peer_stream(&r->p, held)->ended, "and is answered");
    rig_free(r);
}

static void test_trailers(void)
{
    struct rig *r = rig_new("trailers", NULL);
    struct peer_body b = {.len = 10, .trailer = "x-req-trailer: yes"};
    const char *te[] = {"te", "trailers", "content-type", "application/grpc", NULL};
    int32_t id = peer_request(&r->p, "POST", "/trailers", &b, te);
    pump(&r->io, &r->p);
    struct ex *e = ex_of(&r->o, id);
    is_str(e ? e->trailers : "", "x-req-trailer=yes;", "request trailers delivered to the owner");
    struct peer_stream *s = peer_stream(&r->p, id);
    is_str(s->trailers, "grpc-status=0;", "response trailers (grpc-status) reach the client");
    ok(s->ended && s->body_len == 10 && !s->close_code, "stream ends cleanly after the trailers");
    rig_free(r);
}

static void test_interim(void)
{
    struct rig *r = rig_new("interim", NULL);
    int32_t id = peer_request(&r->p, "GET", "/interim", NULL, NULL);
    pump(&r->io, &r->p);
    struct peer_stream *s = peer_stream(&r->p, id);
    ok(s->interim == 1 && s->status == 200 && s->ended, "103 Early Hints then 200");
    rig_free(r);
}

static void test_client_reset(void)
{
    struct rig *r = rig_new("client_reset", NULL);
    int32_t id = peer_request(&r->p, "GET", "/size/5000000", NULL, NULL);
    peer_stream(&r->p, id)->hold = 1;
    pump(&r->io, &r->p);
    nghttp2_submit_rst_stream(r->p.ng, 0, id, NGHTTP2_CANCEL);
    pump(&r->io, &r->p);
    struct ex *e = ex_of(&r->o, id);
    ok(e->closed && e->by_client && e->close_code == NGHTTP2_CANCEL,
       "client RST_STREAM CANCEL mid-download reaches the owner as a close by the client");
    is_str(e->why, "RST_STREAM CANCEL from the client", "the reason names the frame and code");
    int32_t next = peer_request(&r->p, "GET", "/size/10", NULL, NULL);
    pump(&r->io, &r->p);
    ok(peer_stream(&r->p, next)->ended, "the connection goes on after the reset");
    ok(!r->p.goaway && !r->o.conn_err, "a single reset is no flood");
    ok(h2_server_send_body(r->o.s, id, "x", 1) < 0, "sending on the reset stream fails cleanly");
    rig_free(r);
}

/* Raw client bytes in, server bytes out. */
static struct evbuffer *raw_exchange(struct owner *o, struct evbuffer *in, int batches)
{
    struct evbuffer *out = evbuffer_new();
    size_t len = evbuffer_get_length(in);
    const uint8_t *p = evbuffer_pullup(in, -1);
    size_t step = batches > 1 ? len / (size_t)batches + 1 : len;
    for (size_t off = 0; off < len; off += step) {
        if (h2_server_feed(o->s, p + off, off + step > len ? len - off : step) < 0) {
            h2_server_flush(o->s, out);
            break;
        }
        h2_server_flush(o->s, out);
    }
    return out;
}

static void save_seed(const char *name, struct evbuffer *b);

/* CVE-2023-44487: HEADERS and RST_STREAM CANCEL for stream after stream, as the attack sends. */
static void test_rapid_reset(void)
{
    struct h2_limits lim;
    h2_limits_default(&lim);
    lim.reset_burst = 50;
    lim.reset_rate = 1;
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, &lim);
    struct evbuffer *in = evbuffer_new();
    preface(in);
    const char *pairs[] = {":method", "GET", ":scheme", "https", ":authority", "a.test", ":path",
                           "/size/100000", NULL};
    uint8_t block[512];
    size_t n = hpack(block, sizeof block, pairs);
    for (int32_t sid = 1; sid < 2 * 300; sid += 2) {
        frame(in, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, sid, block, n);
        frame(in, NGHTTP2_RST_STREAM, 0, sid, "\0\0\0\x08", 4);
    }
    save_seed("rapid_reset", in);
    struct evbuffer *out = raw_exchange(&o, in, 30);
    is_int(goaway_code(out), NGHTTP2_ENHANCE_YOUR_CALM,
           "open-and-reset loop cut off with GOAWAY ENHANCE_YOUR_CALM");
    ok(o.conn_err && strstr(o.conn_why, "rapid reset"), "the owner is told: rapid reset");
    printf("# %s (after %d requests)\n", o.conn_why, o.nreq);
    ok(o.nreq <= 60, "the loop was stopped near the burst");
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);

    /* under the limit: resets are fine */
    o = (struct owner){0};
    o.s = h2_server_new(&ops, &o, &lim);
    in = evbuffer_new();
    preface(in);
    for (int32_t sid = 1; sid < 2 * 40; sid += 2) {
        frame(in, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, sid, block, n);
        frame(in, NGHTTP2_RST_STREAM, 0, sid, "\0\0\0\x08", 4);
    }
    out = raw_exchange(&o, in, 30);
    ok(goaway_code(out) == -1 && !o.conn_err && o.nreq == 40, "40 resets under a burst of 50 pass");
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);
}

static void save_seed(const char *name, struct evbuffer *b)
{
    const char *dir = getenv("H2_SEED_DIR");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        size_t len = evbuffer_get_length(b);
        fwrite(evbuffer_pullup(b, -1), 1, len < H2_SEED_MAX ? len : H2_SEED_MAX, f);
        fclose(f);
    }
}

static void test_continuation_flood(void)
{
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, NULL);
    struct evbuffer *in = evbuffer_new();
    preface(in);
    const char *pairs[2 * 60 + 9] = {":method", "GET", ":scheme", "https", ":authority", "a.test",
                                     ":path", "/"};
    char names[60][16];
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof names[i], "x-h%d", i);
        pairs[8 + 2 * i] = names[i];
        pairs[9 + 2 * i] = "vvvvvvvvvvvvvvvvvvvv";
    }
    pairs[8 + 120] = NULL;
    uint8_t block[8192];
    size_t n = hpack(block, sizeof block, pairs);
    size_t pieces = 30, step = n / pieces + 1, off = 0;
    frame(in, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, block, step);
    for (off = step; off < n; off += step)
        frame(in, NGHTTP2_CONTINUATION, off + step >= n ? NGHTTP2_FLAG_END_HEADERS : 0, 1,
              block + off, off + step > n ? n - off : step);
    save_seed("continuation_flood", in);
    struct evbuffer *out = raw_exchange(&o, in, 1);
    is_int(goaway_code(out), NGHTTP2_ENHANCE_YOUR_CALM, "CONTINUATION flood: GOAWAY ENHANCE_YOUR_CALM");
    ok(strstr(h2_server_error(o.s), "CONTINUATION") != NULL, "the error names CONTINUATION");
    printf("# %s\n", h2_server_error(o.s));
    is_int(o.nreq, 0, "no request from the flooded header block");
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);
}

static void test_control_flood(uint8_t type, const char *name)
{
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, NULL);
    struct evbuffer *in = evbuffer_new();
    preface(in);
    for (int i = 0; i < 2000; i++) {
        if (type == NGHTTP2_PING)
            frame(in, NGHTTP2_PING, 0, 0, "12345678", 8);
        else
            frame(in, NGHTTP2_SETTINGS, 0, 0, NULL, 0);
    }
    char seed[64];
    snprintf(seed, sizeof seed, "%s_flood", name);
    save_seed(seed, in);
    struct evbuffer *out = raw_exchange(&o, in, 200); /* the client reads our ACKs */
    char what[80];
    snprintf(what, sizeof what, "%s flood: GOAWAY ENHANCE_YOUR_CALM", name);
    is_int(goaway_code(out), NGHTTP2_ENHANCE_YOUR_CALM, what);
    snprintf(what, sizeof what, "%s flood", name);
    ok(strstr(o.conn_why, what) != NULL, "the owner is told which flood");
    printf("# %s\n", o.conn_why);
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);

    /* a client that never reads our ACKs: nghttp2's outbound ACK limit (our rate limit set
     * out of the way) */
    struct h2_limits lim;
    h2_limits_default(&lim);
    lim.control_burst = 100000;
    o = (struct owner){0};
    o.s = h2_server_new(&ops, &o, &lim);
    in = evbuffer_new();
    preface(in);
    for (int i = 0; i < 1200; i++)
        frame(in, NGHTTP2_PING, 0, 0, "12345678", 8);
    int rc = h2_server_feed(o.s, evbuffer_pullup(in, -1), evbuffer_get_length(in));
    ok(rc < 0 && o.conn_err && strstr(o.conn_why, "does not read"),
       "PINGs whose ACKs are never read cut the connection");
    printf("# %s\n", o.conn_why);
    evbuffer_free(in);
    h2_server_free(o.s);
}

static void test_header_limits(void)
{
    struct rig *r = rig_new("header_list_too_large", NULL);
    static char big[2001];
    memset(big, 'b', 2000);
    const char *extra[2 * 41 + 1];
    char names[41][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "x-big-%d", i);
        extra[2 * i] = names[i];
        extra[2 * i + 1] = big;
    }
    extra[80] = NULL;
    int32_t id = peer_request(&r->p, "GET", "/", NULL, extra);
    pump(&r->io, &r->p);
    is_int(peer_stream(&r->p, id)->status, 431, "header list over 64 KiB: 431");
    ok(r->o.refused_status == 431 && r->o.nreq == 0, "the owner gets it as a refusal, not a request");
    is_str(r->o.refused_why, "request header list too large", "the refusal says why");
    int32_t next = peer_request(&r->p, "GET", "/size/3", NULL, NULL);
    pump(&r->io, &r->p);
    ok(peer_stream(&r->p, next)->status == 200, "the connection goes on");
    rig_free(r);

    struct h2_limits lim;
    h2_limits_default(&lim);
    lim.max_header_fields = 50;
    r = rig_new(NULL, &lim);
    const char *many[2 * 60 + 1];
    for (int i = 0; i < 60; i++) {
        many[2 * i] = "x-n";
        many[2 * i + 1] = "1";
    }
    many[120] = NULL;
    id = peer_request(&r->p, "GET", "/", NULL, many);
    pump(&r->io, &r->p);
    is_int(peer_stream(&r->p, id)->status, 431, "more fields than the limit: 431");
    rig_free(r);
}

/* One raw request header block on stream 1: the RST_STREAM code the server sends (-1 none). */
static long malformed(const char *const *pairs, char *why, size_t why_size, int *nreq)
{
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, NULL);
    struct evbuffer *in = evbuffer_new();
    preface(in);
    uint8_t block[4096];
    size_t n = hpack(block, sizeof block, pairs);
    frame(in, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, block, n);
    struct evbuffer *out = raw_exchange(&o, in, 1);
    long code = -1;
    size_t len = evbuffer_get_length(out), off = 0;
    const uint8_t *p = evbuffer_pullup(out, -1);
    while (off + 9 <= len) {
        size_t flen = (size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2];
        if (p[off + 3] == NGHTTP2_RST_STREAM && off + 13 <= len)
            code = (long)p[off + 12];
        off += 9 + flen;
    }
    snprintf(why, why_size, "%s", o.refused_why);
    *nreq = o.nreq;
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);
    return code;
}

static void test_malformed(void)
{
    struct {
        const char *name;
        const char *pairs[16];
    } cases[] = {
        {"missing :path", {":method", "GET", ":scheme", "https", ":authority", "a.test", NULL}},
        {"upper-case name", {":method", "GET", ":scheme", "https", ":path", "/", "Accept", "x", NULL}},
        {"pseudo after regular", {":method", "GET", "accept", "x", ":scheme", "https", ":path", "/", NULL}},
        {"unknown pseudo", {":method", "GET", ":scheme", "https", ":path", "/", ":foo", "x", NULL}},
        {"connection field", {":method", "GET", ":scheme", "https", ":path", "/", "connection", "close", NULL}},
        {"TE gzip", {":method", "GET", ":scheme", "https", ":path", "/", "te", "gzip", NULL}},
        {"empty :path", {":method", "GET", ":scheme", "https", ":path", "", NULL}},
        {"duplicate :method", {":method", "GET", ":method", "POST", ":scheme", "https", ":path", "/", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char why[256], name[128];
        int nreq;
        long code = malformed(cases[i].pairs, why, sizeof why, &nreq);
        snprintf(name, sizeof name, "%s: RST_STREAM PROTOCOL_ERROR, no request, the reason names HEADERS",
                 cases[i].name);
        ok(code == NGHTTP2_PROTOCOL_ERROR && nreq == 0 && strstr(why, "HEADERS frame on stream 1"),
           "%s", name);
        printf("#   %s -> %s\n", cases[i].name, why);
    }
    char why[256];
    int nreq;
    const char *good[] = {":method", "GET", ":scheme", "https", ":authority", "a.test", ":path", "/", NULL};
    long code = malformed(good, why, sizeof why, &nreq);
    ok(code == -1 && nreq == 1, "a well-formed block passes");

    /* CONNECT */
    struct rig *r = rig_new("connect", NULL);
    nghttp2_nv nv[] = {{(uint8_t *)":method", (uint8_t *)"CONNECT", 7, 7, 0},
                       {(uint8_t *)":authority", (uint8_t *)"b.test:443", 10, 10, 0}};
    int32_t id = nghttp2_submit_request(r->p.ng, NULL, nv, 2, NULL, NULL);
    pump(&r->io, &r->p);
    is_int(peer_stream(&r->p, id)->status, 501, "CONNECT over HTTP/2 answered 501");
    ok(r->o.refused_status == 501 && r->o.nreq == 0, "and reported as a refusal");
    rig_free(r);

    /* content-length that DATA does not match */
    r = rig_new("content_length_mismatch", NULL);
    struct peer_body b = {.len = 5};
    const char *cl[] = {"content-length", "10", NULL};
    id = peer_request(&r->p, "POST", "/hold-body", &b, cl);
    pump(&r->io, &r->p);
    struct ex *e = ex_of(&r->o, id);
    ok(e && e->closed && e->close_code == NGHTTP2_PROTOCOL_ERROR,
       "content-length 10 with 5 bytes of DATA fails the stream with PROTOCOL_ERROR");
    printf("#   %s\n", e ? e->why : "");
    rig_free(r);
}

/* Preface, our SETTINGS out, the client's ACK in: our announced settings are in force. */
static void handshake(struct owner *o, struct evbuffer *out)
{
    struct evbuffer *in = evbuffer_new();
    preface(in);
    h2_server_feed(o->s, evbuffer_pullup(in, -1), evbuffer_get_length(in));
    h2_server_flush(o->s, out);
    evbuffer_drain(in, evbuffer_get_length(in));
    frame(in, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, NULL, 0);
    h2_server_feed(o->s, evbuffer_pullup(in, -1), evbuffer_get_length(in));
    evbuffer_free(in);
}

/* An HPACK dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE (4096). */
static void test_hpack_table_size(void)
{
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, NULL);
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    handshake(&o, out);
    const char *pairs[] = {":method", "GET", ":scheme", "https", ":authority", "a.test", ":path",
                           "/", NULL};
    uint8_t block[512] = {0x3f, 0xe1, 0xff, 0x03}; /* size update to 65536 */
    size_t n = 4 + hpack(block + 4, sizeof block - 4, pairs);
    frame(in, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, block, n);
    h2_server_feed(o.s, evbuffer_pullup(in, -1), evbuffer_get_length(in));
    h2_server_flush(o.s, out);
    is_int(goaway_code(out), NGHTTP2_COMPRESSION_ERROR,
           "HPACK table larger than announced: GOAWAY COMPRESSION_ERROR");
    ok(o.nreq == 0 && o.conn_err && strstr(o.conn_why, "HPACK"), "no request; the owner is told why");
    printf("# %s\n", o.conn_why);
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);
}

/* More open streams than SETTINGS_MAX_CONCURRENT_STREAMS. */
static void test_stream_limit(void)
{
    struct h2_limits lim;
    h2_limits_default(&lim);
    lim.max_concurrent_streams = 10;
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, &lim);
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    handshake(&o, out);
    const char *pairs[] = {":method", "POST", ":scheme", "https", ":authority", "a.test", ":path",
                           "/hold-body", NULL};
    uint8_t block[512];
    size_t n = hpack(block, sizeof block, pairs);
    for (int32_t sid = 1; sid < 2 * 15; sid += 2) /* 15 uploads that stay open */
        frame(in, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, sid, block, n);
    h2_server_feed(o.s, evbuffer_pullup(in, -1), evbuffer_get_length(in));
    h2_server_flush(o.s, out);
    is_int(o.nreq, 10, "10 streams taken under MAX_CONCURRENT_STREAMS 10");
    is_int((long long)h2_server_streams(o.s), 10, "10 open");
    /* nghttp2 treats streams over the acknowledged limit as a connection error */
    is_int(goaway_code(out), NGHTTP2_PROTOCOL_ERROR, "the 11th stream: GOAWAY PROTOCOL_ERROR");
    ok(strstr(o.conn_why, "HEADERS frame on stream 21: more than SETTINGS_MAX_CONCURRENT_STREAMS") != NULL,
       "the reason names the frame and the limit");
    printf("# %s\n", o.conn_why);
    evbuffer_free(in);
    evbuffer_free(out);
    h2_server_free(o.s);
}

static void test_not_h2(void)
{
    struct owner o = {0};
    o.s = h2_server_new(&ops, &o, NULL);
    const char *h1 = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ok(h2_server_feed(o.s, (const uint8_t *)h1, strlen(h1)) < 0, "HTTP/1.1 bytes refused");
    is_str(h2_server_error(o.s), "not an HTTP/2 connection preface", "the reason says so");
    h2_server_free(o.s);
}

static void test_shutdown_and_eof(void)
{
    struct rig *r = rig_new(NULL, NULL);
    int32_t id = peer_request(&r->p, "GET", "/size/1000000", NULL, NULL);
    peer_stream(&r->p, id)->hold = 1;
    pump(&r->io, &r->p);
    h2_server_shutdown(r->o.s);
    pump(&r->io, &r->p);
    ok(r->p.goaway && r->p.goaway_code == 0 && r->p.goaway_last == id,
       "graceful GOAWAY NO_ERROR names the last stream");
    h2_server_eof(r->o.s);
    struct ex *e = ex_of(&r->o, id);
    ok(e->closed && e->by_client && e->close_code == NGHTTP2_CANCEL,
       "client leg closed: open streams end as cancelled by the client");
    rig_free(r);
}

int main(void)
{
    test_multiplex();
    test_flow_download();
    test_flow_upload();
    test_trailers();
    test_interim();
    test_client_reset();
    test_rapid_reset();
    test_continuation_flood();
    test_control_flood(NGHTTP2_PING, "PING");
    test_control_flood(NGHTTP2_SETTINGS, "SETTINGS");
    test_header_limits();
    test_malformed();
    test_hpack_table_size();
    test_stream_limit();
    test_not_h2();
    test_shutdown_and_eof();
    return done();
}
