/* test_h2_mem.c — h2_mem: nghttp2's frame buffer of a session is the mapped block, frames packed
 * into it make its pages resident, h2_mem_release_idle gives them back (mincore), and the session
 * goes on writing correct frames into the zero-filled pages afterwards. The stream map's table:
 * mapped, kept while a stream is in it, given back once none is (no_closed_streams, as
 * h2_server.c sets), and the session serves the next stream after that. */
#define _DEFAULT_SOURCE
#include <pthread.h>
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

static int on_frame(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
    (void)arg;
    if (fr->hd.type == NGHTTP2_HEADERS && (fr->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"204", 7, 3, NGHTTP2_NV_FLAG_NONE}};
        nghttp2_submit_response(ng, fr->hd.stream_id, nv, 1, NULL);
    }
    return 0;
}

static int responses;
static int on_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *arg)
{
    (void)ng, (void)sid, (void)code, (void)arg;
    responses++;
    return 0;
}

/* What one session sends goes to the other's input. */
static void pump(nghttp2_session *from, nghttp2_session *to)
{
    static uint8_t buf[65536];
    size_t n = send_all(from, buf, sizeof buf);
    nghttp2_session_mem_recv(to, buf, n);
}

/* The stream map's table: a server session (no closed streams kept, as h2_server.c's) serving a
 * client's requests. */
static void test_stream_table(void)
{
    struct h2_mem m;
    nghttp2_mem mem;
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    nghttp2_session *srv = NULL, *cl = NULL;
    h2_mem_init(&m, &mem);
    nghttp2_session_callbacks_new(&cb);
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_closed_streams(opt, 1);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    m.creating = 1;
    int rv = nghttp2_session_server_new3(&srv, cb, NULL, opt, &mem);
    m.creating = 0;
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, NULL);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    rv |= nghttp2_session_client_new(&cl, cb, NULL);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    ok(rv == 0 && m.table != NULL && m.table_len >= 4096,
       "the server session's stream map table is h2_mem's mapped block (%zu bytes)", m.table_len);
    if (!m.table)
        return;
    nghttp2_nv req[] = {{(uint8_t *)":method", (uint8_t *)"GET", 7, 3, NGHTTP2_NV_FLAG_NONE},
                        {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, NGHTTP2_NV_FLAG_NONE},
                        {(uint8_t *)":authority", (uint8_t *)"a.test", 10, 6, NGHTTP2_NV_FLAG_NONE},
                        {(uint8_t *)":path", (uint8_t *)"/", 5, 1, NGHTTP2_NV_FLAG_NONE}};
    nghttp2_submit_settings(cl, NGHTTP2_FLAG_NONE, NULL, 0);
    nghttp2_submit_settings(srv, NGHTTP2_FLAG_NONE, NULL, 0);
    int32_t sid = nghttp2_submit_request(cl, NULL, req, 4, NULL, NULL);
    pump(cl, srv); /* the request: stream 1 opens on the server, into the map */
    ok(nghttp2_session_find_stream(srv, sid) != NULL, "a request's stream is open on the server");
    h2_mem_release_idle(&m);
    ok(resident_pages(m.table, m.table_len) >= 1,
       "h2_mem_release_idle keeps the table while a stream is in it");
    pump(srv, cl); /* the response (END_STREAM): the stream closes on both sides */
    pump(cl, srv);
    ok(responses == 1 && !nghttp2_session_find_stream(srv, sid) && !nghttp2_session_want_write(srv),
       "the response ended the stream: the server keeps no closed stream");
    h2_mem_release_idle(&m);
    is_int((long long)resident_pages(m.table, m.table_len), 0,
           "with no stream in it, h2_mem_release_idle gives the table's pages back");
    sid = nghttp2_submit_request(cl, NULL, req, 4, NULL, NULL);
    pump(cl, srv);
    ok(nghttp2_session_find_stream(srv, sid) != NULL && resident_pages(m.table, m.table_len) >= 1,
       "the next request's stream goes into the zero-filled table");
    pump(srv, cl);
    ok(responses == 2, "and is answered");
    nghttp2_session_del(cl);
    nghttp2_session_del(srv);
    ok(m.table == NULL, "the session's end unmaps the table");
}

/* Small blocks (h2_mem's per-thread lists): a freed block is the next one of its class, calloc
 * zeroes a reused block, realloc keeps the bytes across classes and to and from big blocks,
 * frees past the lists' bound and big blocks go back to malloc, and another thread has lists of
 * its own (freed when it exits: valgrind and ASan runs see no leak). */
static void *thread_blocks(void *arg)
{
    nghttp2_mem *mem = arg;
    int fine = 1;
    void *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = mem->malloc((size_t)(i * 7 % 600) + 1, mem->mem_user_data);
        fine &= p[i] != NULL;
        if (p[i])
            memset(p[i], i, (size_t)(i * 7 % 600) + 1);
    }
    for (int i = 0; i < 100; i++) {
        const unsigned char *b = p[i];
        fine &= b && b[0] == (unsigned char)i && b[i * 7 % 600] == (unsigned char)i;
        mem->free(p[i], mem->mem_user_data);
    }
    return fine ? arg : NULL;
}

static void test_small_blocks(void)
{
    struct h2_mem m;
    nghttp2_mem mem;
    h2_mem_init(&m, &mem);
    void *u = mem.mem_user_data;
    unsigned char *a = mem.malloc(100, u);
    ok(a && ((uintptr_t)a & 15) == 0, "a small block, 16-byte aligned");
    memset(a, 0xAA, 100);
    mem.free(a, u);
    unsigned char *b = mem.malloc(120, u);
    ok(b == a, "a freed block is the next block of its class (100 and 120 bytes: 128)");
    mem.free(b, u);
    unsigned char *z = mem.calloc(4, 30, u);
    int zero = z == a;
    for (int i = 0; z && i < 120; i++)
        zero &= z[i] == 0;
    ok(zero, "calloc of a reused block: zeroed");
    for (int i = 0; i < 120; i++)
        z[i] = (unsigned char)i;
    unsigned char *g = mem.realloc(z, 300, u); /* 128 -> 512 class */
    int kept = g != NULL;
    for (int i = 0; g && i < 120; i++)
        kept &= g[i] == (unsigned char)i;
    ok(kept, "realloc into a larger class keeps the bytes");
    ok(mem.realloc(g, 200, u) == g, "realloc within its room: the same block");
    for (int i = 0; i < 300; i++)
        g[i] = (unsigned char)(i * 3);
    unsigned char *big = mem.realloc(g, 5000, u); /* class -> big */
    kept = big != NULL;
    for (int i = 0; big && i < 300; i++)
        kept &= big[i] == (unsigned char)(i * 3);
    ok(kept && ((uintptr_t)big & 15) == 0, "realloc into a big block keeps the bytes");
    memset(big + 300, 7, 4700);
    unsigned char *bigger = mem.realloc(big, 70000, u);
    ok(bigger && bigger[299] == (unsigned char)(299 * 3) && bigger[4999] == 7,
       "a big block grows as malloc's");
    unsigned char *small = mem.realloc(bigger, 40, u); /* big -> class */
    ok(small && small[39] == (unsigned char)(39 * 3), "and shrinks into a class keeping its bytes");
    mem.free(small, u);
    mem.free(NULL, u);
    void *many[200];
    int all = 1;
    for (int i = 0; i < 200; i++)
        all &= (many[i] = mem.malloc(64, u)) != NULL;
    for (int i = 0; i < 200; i++)
        mem.free(many[i], u); /* 32 kept, the rest freed */
    ok(all, "200 blocks of a class made and freed (past the lists' bound)");
    pthread_t t;
    void *res = NULL;
    ok(pthread_create(&t, NULL, thread_blocks, &mem) == 0 && pthread_join(t, &res) == 0 &&
           res == &mem,
       "another thread's blocks, every size up to 600 bytes, hold their bytes");
}

int main(void)
{
    test_stream_table();
    test_small_blocks();

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
