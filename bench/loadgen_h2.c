/* loadgen_h2.c — loadgen's --h2 mode: one nghttp2 client session per connection (libnghttp2,
 * the 1.52 ssize_t API, nghttp2_session_mem_recv/mem_send over the client's non-blocking
 * OpenSSL session), keeping --h2 STREAMS GETs in flight for the run. Each stream's :status and
 * body length are checked as the HTTP/1.1 mode checks a response; a failed stream is counted
 * by kind and the connection carries on (RST_STREAM is an "h2" error); a session error, an EOF
 * or a GOAWAY ends the connection ("h2", "eof") and the client reconnects. Runs on the client's
 * thread only, called from its epoll loop (bench/loadgen.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "loadgen.h"

/* What a browser asks for (Chrome: 6 MiB per stream, 15 MiB per connection): a 10 MiB download
 * runs on window updates, as it does for an app. */
#define STREAM_WINDOW (6 * 1024 * 1024)
#define CONN_WINDOW (15 * 1024 * 1024)
#define READS_PER_STEP 32        /* then back to epoll, so the thread's other clients get turns */

struct h2stream {
    double t_req;                /* when the request was submitted */
    int status;
    long body;
    int in_use;
};

struct h2conn {
    nghttp2_session *s;
    struct h2stream *streams;    /* opt.h2 slots; a slot is a stream's user data */
    int inflight;
    char authority[300];
    unsigned char out[16384];    /* frames gathered for one SSL_write (one TLS record) */
    int out_len, out_off;
    const uint8_t *pend;         /* what mem_send returned and out had no room for yet */
    ssize_t pend_len;
    int want_out;                /* SSL_write would block: wait for EPOLLOUT */
    uint32_t goaway_code;
    int goaway;                  /* the server sent GOAWAY: no new streams on this connection */
    int sent_goaway;             /* nghttp2 ended the session (a protocol error by the server) */
    uint32_t sent_goaway_code;
};

static void count_error(struct thread *th, enum err_kind k, const char *what) {
    th->errs[k]++;
    snprintf(th->last_err, sizeof th->last_err, "%s: %s", err_names[k], what);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
    (void)flags; (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7)) return 0;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (st) {
        char v[8];
        snprintf(v, sizeof v, "%.*s", (int)(valuelen < 7 ? valuelen : 7), (const char *)value);
        st->status = atoi(v);    /* a 1xx is overwritten by the final status */
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *ud) {
    (void)flags; (void)data;
    struct client *c = ud;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, stream_id);
    if (st) st->body += (long)len;
    c->th->bytes += len;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud) {
    struct client *c = ud;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!st) return 0;
    char m[96];
    if (error_code) {
        snprintf(m, sizeof m, "stream %d reset: %s", stream_id, nghttp2_http2_strerror(error_code));
        count_error(c->th, E_H2, m);
    } else if (st->status != opt.expect_status) {
        snprintf(m, sizeof m, "status %d", st->status);
        count_error(c->th, E_STATUS, m);
    } else if (opt.expect_bytes >= 0 && st->body != opt.expect_bytes) {
        snprintf(m, sizeof m, "body %ld bytes, expected %ld", st->body, opt.expect_bytes);
        count_error(c->th, E_LENGTH, m);
    } else {
        record_request(c->th, st->t_req);
    }
    st->in_use = 0;
    c->h2->inflight--;
    nghttp2_session_set_stream_user_data(s, stream_id, NULL);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
    (void)s;
    struct client *c = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->h2->goaway = 1;
        c->h2->goaway_code = frame->goaway.error_code;
    }
    return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
    (void)s;
    struct client *c = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->h2->sent_goaway = 1;
        c->h2->sent_goaway_code = frame->goaway.error_code;
    }
    return 0;
}

/* Keep opt.h2 requests in flight while the run lasts (and --requests allows). */
static int submit_requests(struct client *c) {
    struct h2conn *h = c->h2;
    const char *method = "GET", *scheme = "https";
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
    nghttp2_nv nva[] = { NV(":method", method), NV(":scheme", scheme), NV(":authority", h->authority),
                         NV(":path", opt.path), NV("user-agent", "httpeek-loadgen") };
#undef NV
    if (h->goaway || h->sent_goaway) return 0;
    while (h->inflight < opt.h2 && !stop_flag && now() < t_end) {
        if (opt.requests && __atomic_fetch_add(&issued, 1, __ATOMIC_RELAXED) >= opt.requests) break;
        struct h2stream *st = NULL;
        for (int i = 0; i < opt.h2 && !st; i++) if (!h->streams[i].in_use) st = &h->streams[i];
        if (!st) break;
        *st = (struct h2stream){ .t_req = now(), .in_use = 1 };
        int32_t id = nghttp2_submit_request(h->s, NULL, nva, sizeof nva / sizeof nva[0], NULL, st);
        if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) { st->in_use = 0; h->goaway = 1; break; }
        if (id < 0) { st->in_use = 0; fail(c, E_H2, nghttp2_strerror(id)); return -1; }
        h->inflight++;
    }
    return 0;
}

/* Write what the session has to send. Returns 0 (all sent, or blocked: want_out), -1 failed. */
static int flush_out(struct client *c) {
    struct h2conn *h = c->h2;
    h->want_out = 0;
    for (;;) {
        if (h->out_off == h->out_len) {
            h->out_off = h->out_len = 0;
            while (h->out_len < (int)sizeof h->out) {
                if (h->pend_len == 0) {
                    h->pend_len = nghttp2_session_mem_send(h->s, &h->pend);
                    if (h->pend_len < 0) { fail(c, E_H2, nghttp2_strerror((int)h->pend_len)); return -1; }
                    if (h->pend_len == 0) break;
                }
                ssize_t k = (int)sizeof h->out - h->out_len;
                if (k > h->pend_len) k = h->pend_len;
                memcpy(h->out + h->out_len, h->pend, (size_t)k);
                h->out_len += (int)k; h->pend += k; h->pend_len -= k;
            }
            if (h->out_len == 0) return 0;
        }
        ERR_clear_error();
        int n = SSL_write(c->ssl, h->out + h->out_off, h->out_len - h->out_off);
        if (n > 0) { h->out_off += n; continue; }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) { h->want_out = 1; return 0; }
        unsigned long le = ERR_peek_error();
        fail(c, E_IO, le ? ERR_reason_error_string(le) : strerror(errno));
        return -1;
    }
}

/* Submit, send, and wait for what comes next. Returns -1 when the client is closed. */
static int pump(struct client *c) {
    struct h2conn *h = c->h2;
    if (submit_requests(c) < 0 || flush_out(c) < 0) return -1;
    if (!nghttp2_session_want_read(h->s)) {   /* after our GOAWAY went out, or nothing left */
        if (h->sent_goaway || h->inflight) {
            char m[128];
            if (h->sent_goaway)
                snprintf(m, sizeof m, "the server broke the protocol: loadgen sent GOAWAY %s",
                         nghttp2_http2_strerror(h->sent_goaway_code));
            else
                snprintf(m, sizeof m, "session over with %d streams in flight", h->inflight);
            fail(c, E_H2, m);
            return -1;
        }
    }
    if (h->inflight == 0 && !h->want_out && (h->goaway || stop_flag || now() >= t_end ||
                                             (opt.requests && issued >= opt.requests))) {
        if (h->goaway && !stop_flag && now() < t_end) {
            /* our nginx config never ends a connection: a GOAWAY is worth seeing */
            char m[96];
            snprintf(m, sizeof m, "GOAWAY (%s) from the server", nghttp2_http2_strerror(h->goaway_code));
            fail(c, E_H2, m);    /* counted, then a new connection */
            return -1;
        }
        close_conn(c);
        c->done = 1;
        return -1;
    }
    set_events(c, EPOLLIN | (h->want_out ? EPOLLOUT : 0));
    return 0;
}

void h2_start(struct client *c) {
    struct h2conn *h = calloc(1, sizeof *h);
    if (!h || !(h->streams = calloc((size_t)opt.h2, sizeof *h->streams))) die("out of memory");
    c->h2 = h;
    if (opt.port == 443) snprintf(h->authority, sizeof h->authority, "%s", c->host);
    else snprintf(h->authority, sizeof h->authority, "%s:%d", c->host, opt.port);
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb)) die("out of memory");
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    int rv = nghttp2_session_client_new(&h->s, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rv) die("nghttp2_session_client_new: %s", nghttp2_strerror(rv));
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
    };
    if ((rv = nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0])) ||
        (rv = nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW)))
        die("nghttp2 settings: %s", nghttp2_strerror(rv));
    c->st = S_H2;
    c->t_req = now();            /* the timeout: no progress on the connection for --timeout */
    h2_step(c);                  /* reads what OpenSSL may hold already, then sends */
}

void h2_step(struct client *c) {
    static __thread unsigned char buf[BUF_SIZE];
    struct h2conn *h = c->h2;
    for (int i = 0; i < READS_PER_STEP; i++) {
        ERR_clear_error();
        int n = SSL_read(c->ssl, buf, sizeof buf);
        if (n > 0) {
            c->t_req = now();
            ssize_t rv = nghttp2_session_mem_recv(h->s, buf, (size_t)n);
            if (rv < 0) { fail(c, E_H2, nghttp2_strerror((int)rv)); return; }
            if (h->sent_goaway) break;   /* nghttp2 ended the session: pump() says why */
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) ||
            ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            char m[96];
            snprintf(m, sizeof m, "connection closed with %d streams in flight", h->inflight);
            if (h->inflight || !(stop_flag || now() >= t_end)) fail(c, E_EOF, m);
            else { close_conn(c); c->done = 1; }
            return;
        }
        unsigned long le = ERR_peek_error();
        fail(c, E_IO, le ? ERR_reason_error_string(le) : strerror(errno));
        return;
    }
    pump(c);
}

void h2_free(struct client *c) {
    if (!c->h2) return;
    nghttp2_session_del(c->h2->s);
    free(c->h2->streams);
    free(c->h2);
    c->h2 = NULL;
}
