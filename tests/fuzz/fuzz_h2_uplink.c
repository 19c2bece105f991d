/* fuzz_h2_uplink.c — libFuzzer target: server bytes (SETTINGS, HEADERS, DATA, RST_STREAM,
 * GOAWAY ...) into the h2 uplink's engine (h2_client), which has sent four requests (streams 1,
 * 3, 5, 7; one with a body and trailers). The owner behaves like an exchange: it consumes bodies,
 * retries a retryable failure once, resets a stream after its first body bytes. The input is fed
 * in two reads (split where its first byte says), then the leg closes. Any crash, leak,
 * sanitizer report or hang is a finding. Seeds: test_h2_client's scenarios (H2_SEED_DIR). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "h2_client.h"

struct owner {
    struct h2_client *c;
    int retries;
};

static int32_t submit(struct owner *o, const char *path, int body, unsigned flags)
{
    struct message_head h;
    message_head_init(&h, 1);
    message_set_method(&h, body ? "POST" : "GET", body ? 4 : 3);
    message_set_scheme(&h, "https", 5);
    message_set_authority(&h, "b.test", 6);
    message_set_path(&h, path, strlen(path));
    message_add_field(&h, "cookie", 6, "a=1; b=2", 8);
    h.end_stream = !body;
    int32_t sid = h2_client_submit(o->c, &h, flags, o);
    message_head_clear(&h);
    if (sid > 0 && body) {
        static char data[100000];
        h2_client_send_body(o->c, sid, data, sizeof data);
        message_head_init(&h, 1);
        message_add_trailer(&h, "x-t", 3, "1", 1);
        h2_client_end(o->c, sid, &h);
        message_head_clear(&h);
    }
    return sid;
}

static void on_response(void *arg, int32_t sid, void *sa, struct message_head *head)
{
    (void)arg, (void)sid, (void)sa;
    struct message_head mine;
    message_head_move(&mine, head);
    message_head_clear(&mine);
}

static void on_body(void *arg, int32_t sid, void *sa, const uint8_t *d, size_t len)
{
    (void)sa, (void)d;
    struct owner *o = arg;
    h2_client_consume(o->c, sid, len);
    if (sid == 5)
        h2_client_reset(o->c, sid, 8 /* CANCEL */);
}

static void on_fail(void *arg, int32_t sid, void *sa, const struct h2_failure *f)
{
    (void)sid, (void)sa;
    struct owner *o = arg;
    if (f->retryable && o->retries++ < 2 && h2_client_can_take(o->c))
        submit(o, "/retry", 0, 1 /* H2_CLIENT_RETRY */);
}

static const struct h2_client_ops ops = {
    .on_response = on_response, .on_body = on_body, .on_fail = on_fail};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct owner o = {0};
    o.c = h2_client_new(&ops, &o, NULL);
    if (!o.c)
        return 0;
    struct evbuffer *out = evbuffer_new();
    submit(&o, "/size/50000", 0, 0);
    submit(&o, "/trailers", 1, 0);
    submit(&o, "/interim", 0, 0);
    submit(&o, "/size/10", 0, 0);
    h2_client_flush(o.c, out);
    size_t split = size ? (size_t)data[0] * size / 256 : 0;
    if (h2_client_feed(o.c, data, split) == 0) {
        h2_client_flush(o.c, out);
        h2_client_feed(o.c, data + split, size - split);
    }
    h2_client_flush(o.c, out);
    h2_client_done(o.c);
    h2_client_eof(o.c);
    evbuffer_free(out);
    h2_client_free(o.c);
    return 0;
}
