/* h2_peer.h — for the HTTP/2 engine tests: a real nghttp2 session (client or server) on the
 * other end of an in-process byte pipe, recording what it receives per stream; a pump that moves
 * bytes both ways until both sides are quiet; raw frame builders for the flood tests. When
 * H2_SEED_DIR is set, the bytes a client peer sends in each scenario are also written there, the
 * first 4 KiB or so (seeds for tests/fuzz/corpus/h2_front). */
#ifndef HTTPEEK_H2_PEER_H
#define HTTPEEK_H2_PEER_H

#include <nghttp2/nghttp2.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wunused-function" /* each test uses some of the helpers */

#define PEER_STREAMS 4096
#define H2_SEED_MAX 4096 /* bytes kept of a scenario as a fuzz seed */

struct peer_stream {
    int32_t id;
    int used;
    int status;          /* final :status (client peer) */
    int interim;         /* 1xx heads seen */
    char path[256];      /* :path (server peer) */
    char method[16];
    struct evbuffer *body;
    size_t body_len;
    int ended;           /* END_STREAM received */
    int rst;             /* RST_STREAM received */
    uint32_t rst_code;
    int closed;
    uint32_t close_code;
    char trailers[256];  /* "name=value;" of received trailers */
    char fields[512];    /* "name=value;" of received regular fields */
    int hold;            /* do not give the window back for this stream's DATA */
    size_t held;         /* bytes not consumed yet */
    int got_head;
    int blocks, final_block; /* header blocks seen; the one with the final :status */
    /* server peer: what to answer */
    size_t answer_len;
    const char *answer_trailer; /* "name: value" */
    char trailer_room[32];      /* answer_trailer's text when made per stream ("/fields/") */
    size_t answered_body;
};

struct peer {
    nghttp2_session *ng;
    int is_server;
    struct peer_stream st[PEER_STREAMS];
    int goaway;
    uint32_t goaway_code;
    int32_t goaway_last;
    char goaway_text[256];
    /* server peer: send GOAWAY with this last-stream-id once this many requests arrived */
    int goaway_after, requests;
    int refuse_stream;   /* server peer: RST_STREAM REFUSED_STREAM for this stream id */
    int32_t goaway_sent_last; /* server peer: last-stream-id of the GOAWAY it sent (0: none) */
    FILE *seed;          /* client peer: copy of the bytes it sends */
};

static struct peer_stream *peer_stream(struct peer *p, int32_t id)
{
    for (int i = 0; i < PEER_STREAMS; i++)
        if (p->st[i].used && p->st[i].id == id)
            return &p->st[i];
    for (int i = 0; i < PEER_STREAMS; i++)
        if (!p->st[i].used) {
            memset(&p->st[i], 0, sizeof p->st[i]);
            p->st[i].used = 1;
            p->st[i].id = id;
            p->st[i].body = evbuffer_new();
            return &p->st[i];
        }
    abort();
}

static void cat_nv(char *dst, size_t size, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
    size_t len = strlen(dst);
    snprintf(dst + len, size - len, "%.*s=%.*s;", (int)nl, (const char *)n, (int)vl,
             (const char *)v);
}

static int peer_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *n, size_t nl,
                          const uint8_t *v, size_t vl, uint8_t flags, void *user)
{
    (void)ng, (void)flags;
    struct peer *p = user;
    struct peer_stream *s = peer_stream(p, f->hd.stream_id);
    if (nl == 7 && !memcmp(n, ":status", 7)) {
        int st = atoi((const char *)v);
        if (st < 200) {
            s->interim++;
        } else {
            s->status = st;
            s->final_block = s->blocks;
        }
        s->got_head = 1;
    } else if (nl == 5 && !memcmp(n, ":path", 5)) {
        snprintf(s->path, sizeof s->path, "%.*s", (int)vl, (const char *)v);
    } else if (nl == 7 && !memcmp(n, ":method", 7)) {
        snprintf(s->method, sizeof s->method, "%.*s", (int)vl, (const char *)v);
    } else if (n[0] != ':') {
        if (p->is_server ? s->blocks > 1 : s->final_block && s->blocks > s->final_block)
            cat_nv(s->trailers, sizeof s->trailers, n, nl, v, vl);
        else
            cat_nv(s->fields, sizeof s->fields, n, nl, v, vl);
    }
    if (p->is_server)
        s->got_head = 1;
    return 0;
}

static int peer_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    (void)ng;
    peer_stream(user, f->hd.stream_id)->blocks++;
    return 0;
}

static int peer_on_data(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *d, size_t len,
                        void *user)
{
    (void)flags;
    struct peer *p = user;
    struct peer_stream *s = peer_stream(p, sid);
    evbuffer_add(s->body, d, len);
    s->body_len += len;
    nghttp2_session_consume_connection(ng, len);
    if (s->hold)
        s->held += len;
    else
        nghttp2_session_consume_stream(ng, sid, len);
    return 0;
}

static ssize_t peer_answer_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t length,
                                uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)user;
    struct peer_stream *s = src->ptr;
    size_t left = s->answer_len - s->answered_body;
    size_t n = left < length ? left : length;
    memset(buf, 'a' + (int)(s->answered_body % 26), n);
    s->answered_body += n;
    if (s->answered_body == s->answer_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->answer_trailer) {
            const char *colon = strchr(s->answer_trailer, ':');
            nghttp2_nv t = {(uint8_t *)s->answer_trailer, (uint8_t *)colon + 2,
                            (size_t)(colon - s->answer_trailer), strlen(colon + 2), 0};
            if (nghttp2_submit_trailer(ng, sid, &t, 1) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

/* Server peer: answer a complete request. "/size/N" -> N bytes; "/trailers" -> 5 bytes and
 * grpc-status: 0; "/interim" -> 103 then 200. Body of POSTs is counted only. */
static void peer_serve(struct peer *p, struct peer_stream *s)
{
    if (p->goaway_sent_last && s->id > p->goaway_sent_last)
        return; /* not processed, as the GOAWAY said */
    p->requests++;
    if (p->refuse_stream == s->id) {
        nghttp2_submit_rst_stream(p->ng, 0, s->id, NGHTTP2_REFUSED_STREAM);
        return;
    }
    if (!strcmp(s->path, "/rst")) {
        nghttp2_submit_rst_stream(p->ng, 0, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (!strcmp(s->path, "/bad")) {
        nghttp2_nv bad[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                            {(uint8_t *)"connection", (uint8_t *)"close", 10, 5, 0}};
        nghttp2_submit_response(p->ng, s->id, bad, 2, NULL);
        return;
    }
    if (p->goaway_after && p->requests == p->goaway_after) {
        /* streams above s->id are not processed; s->id is answered below */
        nghttp2_submit_goaway(p->ng, 0, s->id, NGHTTP2_NO_ERROR, (const uint8_t *)"bye", 3);
        p->goaway_sent_last = s->id;
    }
    if (!strcmp(s->path, "/interim")) {
        nghttp2_nv e = {(uint8_t *)":status", (uint8_t *)"103", 7, 3, 0};
        nghttp2_submit_headers(p->ng, 0, s->id, NULL, &e, 1, NULL);
    }
    if (!strncmp(s->path, "/fields/", 8)) {
        /* "/fields/small" or "/fields/big": fields of this stream's own (x-stream: its id; big:
         * x-pad of 3,000 bytes), trailers "x-t: id" on every third stream */
        char id[16], *pad = NULL;
        snprintf(id, sizeof id, "%d", s->id);
        int big = !strcmp(s->path + 8, "big");
        if (big && (pad = malloc(3001))) {
            memset(pad, 'p', 3000);
            pad[3000] = 0;
        }
        nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                           {(uint8_t *)"x-stream", (uint8_t *)id, 8, strlen(id), 0},
                           {(uint8_t *)"x-pad", (uint8_t *)pad, 5, pad ? 3000 : 0, 0}};
        s->answer_len = 5;
        if (s->id % 3 == 0) {
            snprintf(s->trailer_room, sizeof s->trailer_room, "x-t: %d", s->id);
            s->answer_trailer = s->trailer_room;
        }
        nghttp2_data_provider dp = {.source.ptr = s, .read_callback = peer_answer_read};
        nghttp2_submit_response(p->ng, s->id, nv, pad ? 3 : 2, &dp);
        free(pad);
        return;
    }
    s->answer_len = !strncmp(s->path, "/size/", 6) ? strtoul(s->path + 6, NULL, 10) : 5;
    if (!strcmp(s->path, "/trailers"))
        s->answer_trailer = "grpc-status: 0";
    char len[24];
    snprintf(len, sizeof len, "%zu", s->answer_len);
    nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                       {(uint8_t *)"content-length", (uint8_t *)len, 14, strlen(len), 0}};
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = peer_answer_read};
    nghttp2_submit_response(p->ng, s->id, nv, s->answer_trailer ? 1 : 2, &dp);
}

static int peer_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    (void)ng;
    struct peer *p = user;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        p->goaway = 1;
        p->goaway_code = f->goaway.error_code;
        p->goaway_last = f->goaway.last_stream_id;
        snprintf(p->goaway_text, sizeof p->goaway_text, "%.*s", (int)f->goaway.opaque_data_len,
                 f->goaway.opaque_data ? (const char *)f->goaway.opaque_data : "");
        return 0;
    }
    if (!f->hd.stream_id)
        return 0;
    struct peer_stream *s = peer_stream(p, f->hd.stream_id);
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        s->rst = 1;
        s->rst_code = f->rst_stream.error_code;
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        s->ended = 1;
        if (p->is_server)
            peer_serve(p, s);
    }
    return 0;
}

static int peer_on_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *user)
{
    (void)ng;
    struct peer_stream *s = peer_stream(user, sid);
    s->closed = 1;
    s->close_code = code;
    return 0;
}

static void peer_init(struct peer *p, int is_server, const nghttp2_settings_entry *iv, size_t niv)
{
    memset(p, 0, sizeof *p);
    p->is_server = is_server;
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
    nghttp2_session_callbacks_set_on_header_callback(cb, peer_on_header);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, peer_on_begin_headers);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, peer_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, peer_on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, peer_on_close);
    if (is_server)
        nghttp2_session_server_new2(&p->ng, cb, p, opt);
    else
        nghttp2_session_client_new2(&p->ng, cb, p, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    nghttp2_settings_entry def[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    nghttp2_submit_settings(p->ng, 0, iv ? iv : def, iv ? niv : 1);
}

static void peer_free(struct peer *p)
{
    for (int i = 0; i < PEER_STREAMS; i++)
        if (p->st[i].used)
            evbuffer_free(p->st[i].body);
    nghttp2_session_del(p->ng);
    if (p->seed)
        fclose(p->seed);
}

/* Give back the window of a held stream. */
static void peer_release(struct peer *p, int32_t sid)
{
    struct peer_stream *s = peer_stream(p, sid);
    s->hold = 0;
    nghttp2_session_consume_stream(p->ng, sid, s->held);
    s->held = 0;
}

/* Request body source for a client peer: src->ptr = struct peer_body. */
struct peer_body {
    size_t len, sent;
    const char *trailer; /* "name: value" sent as trailers, or NULL */
};

static ssize_t peer_body_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t length,
                              uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)user;
    struct peer_body *b = src->ptr;
    size_t n = b->len - b->sent < length ? b->len - b->sent : length;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)('A' + (b->sent + i) % 26);
    b->sent += n;
    if (b->sent == b->len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (b->trailer) {
            const char *colon = strchr(b->trailer, ':');
            nghttp2_nv t = {(uint8_t *)b->trailer, (uint8_t *)colon + 2,
                            (size_t)(colon - b->trailer), strlen(colon + 2), 0};
            if (nghttp2_submit_trailer(ng, sid, &t, 1) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

/* Client peer: submit a request; body NULL for none. Extra fields "name", "value", ... NULL. */
static int32_t peer_request(struct peer *p, const char *method, const char *path,
                            struct peer_body *body, const char *const *extra)
{
    nghttp2_nv nv[64];
    size_t n = 0;
#define NV(a, b) nv[n++] = (nghttp2_nv){(uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b), 0}
    NV(":method", method);
    NV(":scheme", "https");
    NV(":authority", "a.test");
    NV(":path", path);
    for (; extra && extra[0] && n < 64; extra += 2)
        NV(extra[0], extra[1]);
#undef NV
    nghttp2_data_provider dp = {.source.ptr = body, .read_callback = peer_body_read};
    return nghttp2_submit_request(p->ng, NULL, nv, n, body ? &dp : NULL, NULL);
}

/* One side of the pipe: the engine under test. */
struct engine_io {
    int (*feed)(void *e, const uint8_t *d, size_t len);
    int (*flush)(void *e, struct evbuffer *out);
    void *e;
};

/* Move bytes both ways until neither side has anything to say (or rounds run out). Returns the
 * bytes moved. */
static size_t pump(struct engine_io *io, struct peer *p)
{
    size_t total = 0;
    struct evbuffer *o = evbuffer_new();
    for (int round = 0; round < 100000; round++) {
        size_t moved = 0;
        io->flush(io->e, o);
        size_t n = evbuffer_get_length(o);
        if (n) {
            nghttp2_session_mem_recv(p->ng, evbuffer_pullup(o, -1), n);
            evbuffer_drain(o, n);
            moved += n;
        }
        const uint8_t *d;
        ssize_t m;
        while ((m = nghttp2_session_mem_send(p->ng, &d)) > 0) {
            if (p->seed && ftell(p->seed) < H2_SEED_MAX) /* seeds stay small: fast fuzzing */
                fwrite(d, 1, (size_t)m < H2_SEED_MAX ? (size_t)m : H2_SEED_MAX, p->seed);
            io->feed(io->e, d, (size_t)m);
            moved += (size_t)m;
        }
        total += moved;
        if (!moved)
            break;
    }
    evbuffer_free(o);
    return total;
}

/* ---- raw frames ---- */

static void frame(struct evbuffer *b, uint8_t type, uint8_t flags, int32_t sid, const void *payload,
                  size_t len)
{
    uint8_t hd[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                     (uint8_t)(sid >> 24 & 0x7f), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8),
                     (uint8_t)sid};
    evbuffer_add(b, hd, 9);
    if (len)
        evbuffer_add(b, payload, len);
}

static void preface(struct evbuffer *b)
{
    evbuffer_add(b, NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
    frame(b, NGHTTP2_SETTINGS, 0, 0, NULL, 0);
}

/* HPACK-encode name/value pairs (NULL-terminated) with a fresh deflater into out; returns size. */
static size_t hpack(uint8_t *out, size_t cap, const char *const *pairs)
{
    nghttp2_hd_deflater *d;
    nghttp2_hd_deflate_new(&d, 4096);
    nghttp2_nv nv[256];
    size_t n = 0;
    for (; pairs[0] && n < 256; pairs += 2)
        nv[n++] = (nghttp2_nv){(uint8_t *)pairs[0], (uint8_t *)pairs[1], strlen(pairs[0]),
                               strlen(pairs[1]), NGHTTP2_NV_FLAG_NO_INDEX};
    ssize_t r = nghttp2_hd_deflate_hd(d, out, cap, nv, n);
    nghttp2_hd_deflate_del(d);
    return r < 0 ? 0 : (size_t)r;
}

/* The error code of the first GOAWAY frame in b (frames from the server), or -1. */
static long goaway_code(struct evbuffer *b)
{
    size_t len = evbuffer_get_length(b);
    const uint8_t *p = evbuffer_pullup(b, -1);
    size_t off = 0;
    while (off + 9 <= len) {
        size_t flen = (size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2];
        if (p[off + 3] == NGHTTP2_GOAWAY && off + 9 + 8 <= len)
            return (long)((uint32_t)p[off + 13] << 24 | (uint32_t)p[off + 14] << 16 |
                          (uint32_t)p[off + 15] << 8 | p[off + 16]);
        off += 9 + flen;
    }
    return -1;
}

#endif
