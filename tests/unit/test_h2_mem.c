/* test_h2_mem.c — h2_mem: nghttp2's frame buffer of a session is the mapped block, frames packed
 * into it make its pages resident, h2_mem_release_idle gives them back (mincore), and the session
 * goes on writing correct frames into the zero-filled pages afterwards. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <nghttp2/nghttp2.h>
#include "../../src/h2_mem.h"
#include "tap.h"

static size_t resident_pages(void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, r = 0;
    unsigned char *v = calloc(n, 1);
    if (!v || mincore(p, len, v) != 0) {
        free(v);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    return r;
}

/* Everything the session has to send, concatenated; returns its length. */
static size_t send_all(nghttp2_session *ng, uint8_t *out, size_t cap)
{
    size_t off = 0;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(ng, &data);
        if (n <= 0 || off + (size_t)n > cap)
            return off;
        memcpy(out + off, data, (size_t)n);
        off += (size_t)n;
    }
}

int main(void)
{
    struct h2_mem m;
    nghttp2_mem mem;
    nghttp2_session_callbacks *cb;
    nghttp2_session *ng = NULL;
    h2_mem_init(&m, &mem);
    nghttp2_session_callbacks_new(&cb);
    m.creating = 1;
    int rv = nghttp2_session_server_new3(&ng, cb, NULL, NULL, &mem);
    m.creating = 0;
    nghttp2_session_callbacks_del(cb);
    ok(rv == 0 && ng, "a server session made with h2_mem's allocator");
    ok(m.framebuf != NULL && m.framebuf_len >= 16384, "its frame buffer is h2_mem's mapped block (%zu bytes)",
       m.framebuf_len);
    if (!m.framebuf)
        return done();

    /* a frame as big as the buffer takes: every page of it is written */
    static uint8_t payload[16384 - 64], out[65536];
    memset(payload, 'x', sizeof payload);
    nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, NULL, 0);
    nghttp2_submit_goaway(ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, payload, sizeof payload);
    size_t n = send_all(ng, out, sizeof out);
    ok(n > sizeof payload, "SETTINGS and a 16 KiB GOAWAY sent (%zu bytes)", n);
    size_t pages = m.framebuf_len / (size_t)sysconf(_SC_PAGESIZE);
    size_t res = resident_pages(m.framebuf, m.framebuf_len);
    ok(res != (size_t)-1 && res + 1 >= pages, "after it the frame buffer's pages are resident (%zu of %zu: "
       "the last holds only the end of the biggest frame)", res, pages);
    ok(!nghttp2_session_want_write(ng), "nothing left to send");

    h2_mem_release_idle(&m);
    is_int((long long)resident_pages(m.framebuf, m.framebuf_len), 0,
           "h2_mem_release_idle: no page of it is resident");

    /* the session writes into the zero-filled pages as before */
    static const uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    nghttp2_submit_ping(ng, NGHTTP2_FLAG_NONE, opaque);
    n = send_all(ng, out, sizeof out);
    static const uint8_t want[] = {0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    ok(n == sizeof want && memcmp(out, want, sizeof want) == 0, "a PING after the release is the right 17 bytes");
    ok(resident_pages(m.framebuf, m.framebuf_len) >= 1, "and it made the first page resident again");

    nghttp2_session_del(ng);
    ok(m.framebuf == NULL, "the session's end unmaps the frame buffer");
    return done();
}
