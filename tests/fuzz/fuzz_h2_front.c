/* fuzz_h2_front.c — libFuzzer target: client bytes (connection preface and frames) into the h2
 * front's engine (h2_server) with an owner that behaves like the exchange layer will: it takes
 * every request, consumes request bodies, answers with a head, a body that may pause on the
 * queue mark and trailers, and resets every fifth stream itself. The input is fed in two reads
 * (split where its first byte says) with the frames we send drained between them; then the leg
 * closes. Any crash, leak, sanitizer report or hang is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h2_server.h"

struct owner {
    struct h2_server *s;
    int requests;
};

static void answer(struct owner *o, int32_t sid)
{
    struct message_head h;
    message_head_init(&h, 0);
    h.status = sid % 7 == 0 ? 103 : 200;
    message_add_field(&h, "Content-Type", 12, "text/plain", 10);
    h2_server_respond(o->s, sid, &h, 0);
    if (h.status == 103) {
        h.status = 200;
        h2_server_respond(o->s, sid, &h, 0);
    }
    message_head_clear(&h);
    static char body[70000];
    h2_server_send_body(o->s, sid, body, (size_t)(sid % 3) * sizeof body / 2);
    struct message_head t;
    message_head_init(&t, 0);
    message_add_trailer(&t, "grpc-status", 11, "0", 1);
    h2_server_end(o->s, sid, sid % 2 ? &t : NULL);
    message_head_clear(&t);
}

static int on_request(void *arg, int32_t sid, struct message_head *head)
{
    struct owner *o = arg;
    if (++o->requests % 13 == 0)
        return -1; /* refused: REFUSED_STREAM */
    struct message_head mine;
    message_head_move(&mine, head); /* as an exchange keeps it */
    h2_server_set_stream_arg(o->s, sid, o);
    if (mine.end_stream)
        answer(o, sid);
    message_head_clear(&mine);
    if (o->requests % 5 == 0)
        h2_server_reset(o->s, sid, 8 /* CANCEL */);
    return 0;
}

static void on_body(void *arg, int32_t sid, void *sa, const uint8_t *d, size_t len)
{
    (void)sa, (void)d;
    struct owner *o = arg;
    h2_server_consume(o->s, sid, len);
}

static void on_end(void *arg, int32_t sid, void *sa, struct message_head *trailers)
{
    (void)sa, (void)trailers;
    answer(arg, sid);
}

static void on_drain(void *arg, int32_t sid, void *sa)
{
    (void)sa;
    struct owner *o = arg;
    h2_server_send_body(o->s, sid, "more", 4);
}

static const struct h2_server_ops ops = {
    .on_request = on_request, .on_body = on_body, .on_end = on_end, .on_drain = on_drain};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct owner o = {0};
    struct h2_limits lim;
    h2_limits_default(&lim);
    lim.reset_burst = 20; /* reach the flood paths with small inputs */
    lim.control_burst = 20;
    o.s = h2_server_new(&ops, &o, &lim);
    if (!o.s)
        return 0;
    struct evbuffer *out = evbuffer_new();
    size_t split = size ? (size_t)data[0] * size / 256 : 0;
    if (h2_server_feed(o.s, data, split) == 0) {
        h2_server_flush(o.s, out);
        evbuffer_drain(out, evbuffer_get_length(out));
        h2_server_feed(o.s, data + split, size - split);
    }
    h2_server_flush(o.s, out);
    h2_server_done(o.s);
    h2_server_eof(o.s);
    h2_server_flush(o.s, out);
    evbuffer_free(out);
    h2_server_free(o.s);
    return 0;
}
