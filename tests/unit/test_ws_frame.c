/* test_ws_frame.c — ws_frame.c: frames built here as RFC 6455 says (masked from the client, not
 * from the server), fed whole and a byte at a time: text, binary, 16- and 64-bit lengths,
 * fragments with control frames between them, close code and reason, permessage-deflate with
 * and without context takeover (zlib deflating like a peer), the capture limit, the memory
 * budget, a deflate bomb, malformed frames, and the Sec-WebSocket-Extensions parser. */
#include "../../src/ws_frame.c"

#include "tap.h"

#define MAXMSG 16

struct got {
    size_t n;
    struct ws_msg m[MAXMSG];
    unsigned char *data[MAXMSG];
};

static void collect(const struct ws_msg *m, void *arg)
{
    struct got *g = arg;
    if (g->n >= MAXMSG)
        return;
    g->m[g->n] = *m;
    g->data[g->n] = malloc(m->len + 1);
    memcpy(g->data[g->n], m->data, m->len);
    g->data[g->n][m->len] = 0;
    g->m[g->n].data = g->data[g->n];
    g->n++;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->data[i]);
    memset(g, 0, sizeof *g);
}

/* Append one frame to buf at *len. */
static void frame(unsigned char *buf, size_t *len, int fin, int rsv1, int op, int masked,
                  const void *payload, size_t n)
{
    unsigned char *p = buf + *len;
    *p++ = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
    unsigned char m = masked ? 0x80 : 0;
    if (n < 126) {
        *p++ = m | (unsigned char)n;
    } else if (n < 65536) {
        *p++ = m | 126;
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    } else {
        *p++ = m | 127;
        for (int i = 7; i >= 0; i--)
            *p++ = (unsigned char)((uint64_t)n >> (8 * i));
    }
    static const unsigned char key[4] = {0xa1, 0x5e, 0x07, 0xc3};
    if (masked) {
        memcpy(p, key, 4);
        p += 4;
    }
    const unsigned char *s = payload;
    for (size_t i = 0; i < n; i++)
        p[i] = masked ? s[i] ^ key[i & 3] : s[i];
    *len = (size_t)(p + n - buf);
}

/* Feed buf whole (step 0) or step bytes at a time. */
static int feed(struct ws_reader *r, const unsigned char *buf, size_t len, size_t step)
{
    if (!step)
        return ws_reader_feed(r, buf, len, 1);
    for (size_t i = 0; i < len; i += step)
        if (ws_reader_feed(r, buf + i, len - i < step ? len - i : step, 1) < 0)
            return -1;
    return 0;
}

/* Raw deflate of data as a permessage-deflate sender does it (the 00 00 ff ff tail removed).
 * z: the sender's stream (kept between messages for context takeover). */
static size_t pmd(z_stream *z, const void *data, size_t n, unsigned char *out, size_t cap)
{
    z->next_in = (unsigned char *)data;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    deflate(z, Z_SYNC_FLUSH);
    size_t len = cap - z->avail_out;
    return len >= 4 ? len - 4 : 0;
}

static void test_plain(size_t step)
{
    static unsigned char buf[300000];
    static unsigned char big[70000];
    size_t len = 0;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7);
    frame(buf, &len, 1, 0, WS_OP_TEXT, 1, "hello", 5);
    frame(buf, &len, 1, 0, WS_OP_BINARY, 1, big, 300);      /* 16-bit length */
    frame(buf, &len, 1, 0, WS_OP_BINARY, 1, big, sizeof big); /* 64-bit length */
    frame(buf, &len, 0, 0, WS_OP_TEXT, 1, "frag-one ", 9);
    frame(buf, &len, 1, 0, WS_OP_PING, 1, "between", 7);
    frame(buf, &len, 0, 0, WS_OP_CONT, 1, "frag-two ", 9);
    frame(buf, &len, 1, 0, WS_OP_CONT, 1, "frag-three", 10);
    frame(buf, &len, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8" "done", 6);
    struct got g = {0};
    struct ws_reader *r = ws_reader_new(1, NULL, 100000, NULL, collect, &g);
    is_int(feed(r, buf, len, step), 0, "client frames parse");
    is_int((long long)g.n, 6, "six messages (the ping between fragments is its own)");
    ok(g.m[0].opcode == WS_OP_TEXT && g.m[0].len == 5 && !memcmp(g.data[0], "hello", 5) &&
       g.m[0].from_client, "a masked text, unmasked (step %zu)", step);
    ok(g.m[1].opcode == WS_OP_BINARY && g.m[1].len == 300 && !memcmp(g.data[1], big, 300),
       "a binary with a 16-bit length");
    ok(g.m[2].len == sizeof big && g.m[2].size == sizeof big && !memcmp(g.data[2], big, sizeof big) &&
       !(g.m[2].flags & WS_MSG_CUT), "a binary with a 64-bit length");
    ok(g.m[3].opcode == WS_OP_PING && !strcmp((char *)g.data[3], "between"),
       "a ping between fragments comes out when it arrives");
    ok(g.m[4].opcode == WS_OP_TEXT && !strcmp((char *)g.data[4], "frag-one frag-two frag-three") &&
       g.m[4].size == 28, "three fragments reassembled into one text");
    ok(g.m[5].opcode == WS_OP_CLOSE && g.m[5].close_code == 1000 && g.m[5].len == 4 &&
       !memcmp(g.data[5], "done", 4), "close 1000 done");
    ok(!ws_reader_midway(r), "nothing half-read at the end");
    ws_reader_free(r);
    got_free(&g);
}

static void test_close_and_cut(void)
{
    unsigned char buf[4096], data[3000];
    size_t len = 0;
    memset(data, 'x', sizeof data);
    frame(buf, &len, 1, 0, WS_OP_TEXT, 0, data, sizeof data);
    frame(buf, &len, 1, 0, WS_OP_CLOSE, 0, "\x03\xf3" "boom", 6);
    frame(buf, &len, 1, 0, WS_OP_CLOSE, 0, "", 0);
    struct got g = {0};
    struct ws_reader *r = ws_reader_new(0, NULL, 1000, NULL, collect, &g);
    is_int(feed(r, buf, len, 0), 0, "server frames (not masked) parse");
    ok(g.n == 3 && g.m[0].len == 1000 && g.m[0].size == 3000 && (g.m[0].flags & WS_MSG_CUT),
       "a message past the capture limit: cut, its size whole");
    ok(g.m[1].opcode == WS_OP_CLOSE && g.m[1].close_code == 1011 && g.m[1].len == 4 &&
       !memcmp(g.m[1].data, "boom", 4), "close: code 1011, reason boom");
    ok(g.m[2].close_code == -1 && g.m[2].len == 0, "close without a code: -1");
    ws_reader_free(r);
    got_free(&g);

    /* the memory budget refuses the buffer: cut, counted */
    struct budget b;
    budget_init(&b, BUDGET_MIN);
    atomic_store(&b.used, BUDGET_MIN - 100);
    r = ws_reader_new(0, NULL, 100000, &b, collect, &g);
    len = 0;
    frame(buf, &len, 1, 0, WS_OP_BINARY, 0, data, sizeof data);
    feed(r, buf, len, 0);
    ok(g.n == 1 && (g.m[0].flags & WS_MSG_CUT) && g.m[0].len < 3000 && g.m[0].size == 3000,
       "a capture the memory budget cannot hold is cut (%zu of 3000 kept)", g.n ? g.m[0].len : 0);
    ws_reader_free(r);
    is_int((long long)atomic_load(&b.used), BUDGET_MIN - 100, "the reader gives back all it took");
    got_free(&g);
}

static void test_deflate(int takeover, size_t step)
{
    struct ws_deflate d;
    char ext[160];
    snprintf(ext, sizeof ext, "permessage-deflate; server_max_window_bits=10%s",
             takeover ? "" : "; client_no_context_takeover");
    is_int(ws_deflate_parse(ext, &d), 0, "the 101's extension parses");
    ok(d.enabled && d.server_max_window_bits == 10 && d.client_no_context_takeover == !takeover,
       "permessage-deflate with its parameters");
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    static unsigned char buf[200000], c[100000];
    static char text[50000];
    for (size_t i = 0; i + 1 < sizeof text; i++)
        text[i] = "all work and no play "[i % 21];
    size_t len = 0, n;
    n = pmd(&z, "hello hello hello", 17, c, sizeof c);
    frame(buf, &len, 1, 1, WS_OP_TEXT, 1, c, n);
    if (!takeover)
        deflateReset(&z);
    n = pmd(&z, "hello hello hello", 17, c, sizeof c); /* refers back to the first with takeover */
    frame(buf, &len, 1, 1, WS_OP_TEXT, 1, c, n);
    if (!takeover)
        deflateReset(&z);
    n = pmd(&z, text, sizeof text - 1, c, sizeof c);
    /* one compressed message in two fragments, a pong between them */
    frame(buf, &len, 0, 1, WS_OP_TEXT, 1, c, n / 2);
    frame(buf, &len, 1, 0, WS_OP_PONG, 1, "", 0);
    frame(buf, &len, 1, 0, WS_OP_CONT, 1, c + n / 2, n - n / 2);
    frame(buf, &len, 1, 0, WS_OP_BINARY, 1, "raw", 3); /* RSV1 clear: not compressed */
    deflateEnd(&z);
    struct got g = {0};
    struct ws_reader *r = ws_reader_new(1, &d, 100000, NULL, collect, &g);
    is_int(feed(r, buf, len, step), 0, "deflated frames parse");
    ok(g.n == 5, "five messages (%zu)", g.n);
    ok(g.m[0].len == 17 && !memcmp(g.data[0], "hello hello hello", 17) &&
       (g.m[0].flags & WS_MSG_COMPRESSED), "a deflated text, inflated (takeover %d, step %zu)",
       takeover, step);
    ok(g.m[1].len == 17 && !memcmp(g.data[1], "hello hello hello", 17) &&
       !(g.m[1].flags & WS_MSG_INFLATE_FAILED),
       "the second message inflates (%s)", takeover ? "with the first as context" : "afresh");
    ok(g.m[3].len == sizeof text - 1 && !memcmp(g.data[3], text, sizeof text - 1) &&
       g.m[3].wire_size < 2000, "a fragmented deflated message inflates whole (%llu on the wire)",
       (unsigned long long)g.m[3].wire_size);
    ok(g.m[4].len == 3 && !(g.m[4].flags & WS_MSG_COMPRESSED), "RSV1 clear: not inflated");
    ws_reader_free(r);
    got_free(&g);
}

static void test_bomb(int takeover)
{
    struct ws_deflate d;
    ws_deflate_parse(takeover ? "permessage-deflate" : "permessage-deflate; server_no_context_takeover", &d);
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
    size_t total = WS_INFLATE_MAX + (8u << 20); /* past the bound */
    unsigned char *zero = calloc(1, 1 << 20);
    size_t cap = total / 500, n = 0;
    unsigned char *c = malloc(cap);
    z.next_out = c;
    z.avail_out = (uInt)cap;
    for (size_t i = 0; i < total >> 20; i++) {
        z.next_in = zero;
        z.avail_in = 1 << 20;
        deflate(&z, Z_NO_FLUSH);
    }
    deflate(&z, Z_SYNC_FLUSH);
    n = cap - z.avail_out - 4;
    deflateEnd(&z);
    unsigned char *buf = malloc(n + 64);
    size_t len = 0;
    frame(buf, &len, 1, 1, WS_OP_BINARY, 0, c, n);
    frame(buf, &len, 1, 1, WS_OP_TEXT, 0, "\xca\xcf\x06\x00", 4); /* "ok" deflated afresh */
    struct got g = {0};
    struct ws_reader *r = ws_reader_new(0, &d, 1000, NULL, collect, &g);
    ok(feed(r, buf, len, 0) == 0, "a deflate bomb (%zu bytes inflating to %zu MiB) is not malformed",
       n, total >> 20);
    ok(g.n == 2 && (g.m[0].flags & WS_MSG_INFLATE_FAILED) && g.m[0].size <= WS_INFLATE_MAX + 65536 &&
       g.m[0].len == 1000, "inflating stops at WS_INFLATE_MAX (%llu bytes), the capture at its limit",
       g.n ? (unsigned long long)g.m[0].size : 0);
    if (takeover)
        ok(g.n == 2 && (g.m[1].flags & WS_MSG_INFLATE_FAILED),
           "with context takeover the next message cannot be inflated either (said, not guessed)");
    else
        ok(g.n == 2 && !(g.m[1].flags & WS_MSG_INFLATE_FAILED) && g.m[1].len == 2 &&
           !memcmp(g.data[1], "ok", 2),
           "without context takeover the next message inflates afresh");
    ws_reader_free(r);
    got_free(&g);
    free(buf);
    free(c);
    free(zero);
}

static void malformed(const char *what, int from_client, int deflate, const unsigned char *bytes,
                      size_t n, const char *want)
{
    struct ws_deflate d = {.enabled = deflate, .client_max_window_bits = 15, .server_max_window_bits = 15};
    struct got g = {0};
    struct ws_reader *r = ws_reader_new(from_client, &d, 1000, NULL, collect, &g);
    int rc = feed(r, bytes, n, 0);
    ok(rc == -1 && strstr(ws_reader_error(r), want), "%s: malformed (%s)", what, ws_reader_error(r));
    ok(ws_reader_feed(r, "\x81\x00", 2, 1) == -1 && g.n == 0, "%s: nothing read after it", what);
    ws_reader_free(r);
    got_free(&g);
}

static void test_malformed(void)
{
    unsigned char b[64];
    size_t len = 0;
    frame(b, &len, 1, 0, WS_OP_TEXT, 0, "hi", 2);
    malformed("an unmasked client frame", 1, 0, b, len, "not masked");
    len = 0;
    frame(b, &len, 1, 0, WS_OP_TEXT, 1, "hi", 2);
    malformed("a masked server frame", 0, 0, b, len, "masked");
    malformed("opcode 3", 0, 0, (const unsigned char *)"\x83\x00", 2, "reserved opcode");
    malformed("opcode 11", 0, 0, (const unsigned char *)"\x8b\x00", 2, "reserved opcode");
    malformed("RSV2", 0, 0, (const unsigned char *)"\xa1\x00", 2, "RSV2/RSV3");
    malformed("RSV1 without the extension", 0, 0, (const unsigned char *)"\xc1\x00", 2, "without permessage-deflate");
    malformed("RSV1 on a ping", 0, 1, (const unsigned char *)"\xc9\x00", 2, "RSV1 on a control");
    malformed("a fragmented ping", 0, 0, (const unsigned char *)"\x09\x00", 2, "fragmented control");
    malformed("a 126-byte ping", 0, 0, (const unsigned char *)"\x89\x7e\x00\x7e", 4, "over 125");
    malformed("a 1-byte close", 0, 0, (const unsigned char *)"\x88\x01\x03", 3, "1-byte");
    malformed("a stray continuation", 0, 0, (const unsigned char *)"\x80\x00", 2, "no message to continue");
    malformed("a new text inside a fragmented one", 0, 0,
              (const unsigned char *)"\x01\x01" "a" "\x81\x01" "b", 6, "before the last one");
    malformed("a 64-bit length with its top bit", 0, 0,
              (const unsigned char *)"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, "top bit");
    /* a stream cut mid-frame is not malformed, only unfinished */
    struct got g = {0};
    struct ws_reader *r = ws_reader_new(0, NULL, 1000, NULL, collect, &g);
    ok(ws_reader_feed(r, "\x81\x05he", 4, 1) == 0 && ws_reader_midway(r) && g.n == 0,
       "a frame cut short is midway, not malformed");
    ws_reader_free(r);
}

static void test_extensions(void)
{
    struct ws_deflate d;
    ok(ws_deflate_parse(NULL, &d) == 0 && !d.enabled, "no header: no extension");
    ok(ws_deflate_parse("x-webkit-deflate-frame", &d) == 0 && !d.enabled, "another extension: not ours");
    ok(ws_deflate_parse("foo, permessage-deflate ; client_max_window_bits=\"9\" ; server_no_context_takeover", &d) == 0 &&
       d.enabled && d.client_max_window_bits == 9 && d.server_no_context_takeover && !d.client_no_context_takeover,
       "parameters after another extension, quoted value, spaces");
    ok(ws_deflate_parse("permessage-deflate; server_max_window_bits=16", &d) == -1, "window bits 16: invalid");
    ok(ws_deflate_parse("permessage-deflate; server_max_window_bits=7", &d) == -1, "window bits 7: invalid");
    ok(ws_deflate_parse("permessage-deflate; foo=1", &d) == -1, "an unknown parameter: invalid");
}

int main(void)
{
    test_plain(0);
    test_plain(1);
    test_plain(7);
    test_close_and_cut();
    test_deflate(1, 0);
    test_deflate(1, 1);
    test_deflate(0, 0);
    test_deflate(0, 3);
    test_bomb(1);
    test_bomb(0);
    test_malformed();
    test_extensions();
    return done();
}
