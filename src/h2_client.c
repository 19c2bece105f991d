/* h2_client.c — see h2_client.h. The failure of a stream is decided once, when nghttp2 closes
 * it, from what was seen on the way: a RST_STREAM from the server (its code), a GOAWAY whose
 * last-stream-id is below the stream (not processed: retryable), or the connection's end. */
#include "h2_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h2_mem.h"

struct h2c_stream {
    int32_t id;
    void *arg;
    unsigned flags;            /* H2_CLIENT_* */
    int got_final;             /* final response head delivered */
    int ended;                 /* on_end delivered: no on_fail */
    int reset_by_owner;        /* h2_client_reset: no callbacks */
    int reset_by_server;
    uint32_t server_code;
    int past_goaway;           /* above a GOAWAY's last-stream-id: not processed */
    int not_sent;              /* nghttp2 could not send the request (why in why_buf) */
    const char *bad;           /* rule the response broke (static or why_buf), or NULL */
    char why_buf[200];
    struct h2_outq out;        /* request body */
    int has_out;
    struct h2c_stream *prev, *next;
};

struct h2_client {
    nghttp2_session *ng;
    struct h2_mem mem;          /* nghttp2's allocator (small blocks from per-thread lists) */
    struct evbuffer *gather;    /* frames of one flush (h2_session_drain) */
    const struct h2_client_ops *ops;
    void *arg;
    struct h2_limits lim;
    struct h2c_stream *streams;
    size_t nstreams;
    int goaway;                /* GOAWAY received */
    int32_t goaway_last;
    int failed;
    int32_t cur_sid;           /* stream of the frame being received (for nghttp2's errors) */
    size_t block_bytes;        /* wire bytes of the header block being received (frames) */
    /* The header block being received (a response head, then trailers), whichever stream it is
     * of: a block's HEADERS and CONTINUATION frames come with no other frame between them (RFC
     * 9113 §6.10), so one head per connection serves all streams; its storage stays for the
     * next block (message_head_reset) until the connection is idle (h2_client_trim). */
    struct message_head rx;
    struct h2c_stream *rx_st;  /* the stream of that block (on_begin_headers), so its fields need
                                * no stream lookup each; NULL once the stream is freed */
    char error[256];
    char lib_error[256];
};

static void conn_error(struct h2_client *c, uint32_t code, int by_server, const char *why)
{
    if (c->failed)
        return;
    c->failed = 1;
    if (why != c->error)
        snprintf(c->error, sizeof c->error, "%s", why);
    if (c->ops->on_conn_error)
        c->ops->on_conn_error(c->arg, code, by_server, c->error);
}

static struct h2c_stream *stream_of(struct h2_client *c, int32_t sid)
{
    return nghttp2_session_get_stream_user_data(c->ng, sid);
}

static void stream_free(struct h2_client *c, struct h2c_stream *st)
{
    if (c->rx_st == st)
        c->rx_st = NULL;
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    if (st->has_out)
        h2_outq_free(&st->out);
    free(st);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)ng;
    struct h2_client *c = user;
    struct h2c_stream *st = stream_of(c, frame->hd.stream_id);
    c->rx_st = NULL;
    if (!st || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    c->rx_st = st;
    message_head_reset(&c->rx);
    c->rx.major = 2;
    c->rx.minor = 0;
    c->rx.stream_id = st->id;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)flags;
    struct h2_client *c = user;
    struct h2c_stream *st = c->rx_st && c->rx_st->id == frame->hd.stream_id
                                ? c->rx_st
                                : stream_of(c, frame->hd.stream_id);
    if (!st || st->bad || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    const char *why = NULL;
    struct message_head *h = &c->rx; /* this stream's block (on_begin_headers) */
    if (h->field_bytes + namelen + valuelen + 32 > c->lim.max_header_list ||
        h->nfields + h->ntrailers >= c->lim.max_header_fields)
        why = "response header list too large";
    else
        why = message_h2_add(h, (const char *)name, namelen, (const char *)value, valuelen,
                             st->got_final);
    if (why) {
        st->bad = why;
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
}

static void deliver_end(struct h2_client *c, struct h2c_stream *st, struct message_head *trailers)
{
    if (st->ended || st->bad || st->reset_by_owner)
        return;
    st->ended = 1;
    if (c->ops->on_end)
        c->ops->on_end(c->arg, st->id, st->arg, trailers);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)ng;
    struct h2_client *c = user;
    struct h2c_stream *st = frame->hd.stream_id ? stream_of(c, frame->hd.stream_id) : NULL;
    int end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (!st || st->bad || st->reset_by_owner)
            return 0;
        if (!st->got_final) {
            c->rx.end_stream = end_stream;
            c->rx.wire_size = c->block_bytes;
            const char *why = message_h2_check(&c->rx);
            if (why) {
                st->bad = why;
                nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
                return 0;
            }
            if (c->rx.status >= 200)
                st->got_final = 1;
            if (c->ops->on_response)
                c->ops->on_response(c->arg, st->id, st->arg, &c->rx);
            message_head_reset(&c->rx);
            if (st->got_final && end_stream)
                deliver_end(c, st, NULL);
        } else if (end_stream) {
            deliver_end(c, st, c->rx.ntrailers ? &c->rx : NULL);
        }
        return 0;
    case NGHTTP2_DATA:
        if (st && end_stream)
            deliver_end(c, st, NULL);
        return 0;
    case NGHTTP2_RST_STREAM:
        if (st) {
            st->reset_by_server = 1;
            st->server_code = frame->rst_stream.error_code;
        }
        return 0;
    case NGHTTP2_GOAWAY:
        c->goaway = 1;
        c->goaway_last = frame->goaway.last_stream_id;
        for (struct h2c_stream *s = c->streams; s; s = s->next)
            if (s->id > c->goaway_last)
                s->past_goaway = 1;
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
            char why[256];
            snprintf(why, sizeof why, "GOAWAY %s from the server (last stream %d): %.*s",
                     h2_error_name(frame->goaway.error_code), frame->goaway.last_stream_id,
                     (int)(frame->goaway.opaque_data_len > 120 ? 120
                                                               : frame->goaway.opaque_data_len),
                     frame->goaway.opaque_data ? (const char *)frame->goaway.opaque_data : "");
            conn_error(c, frame->goaway.error_code, 1, why);
        }
        return 0;
    default:
        return 0;
    }
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data,
                         size_t len, void *user)
{
    (void)flags;
    struct h2_client *c = user;
    nghttp2_session_consume_connection(ng, len); /* see h2_server.c: only streams wait */
    struct h2c_stream *st = stream_of(c, sid);
    if (!st || st->bad || st->reset_by_owner || !st->got_final || !c->ops->on_body) {
        nghttp2_session_consume_stream(ng, sid, len);
        return 0;
    }
    c->ops->on_body(c->arg, sid, st->arg, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *user)
{
    struct h2_client *c = user;
    struct h2c_stream *st = stream_of(c, sid);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(ng, sid, NULL);
    c->nstreams--;
    if (c->goaway && sid > c->goaway_last)
        st->past_goaway = 1;
    if (!st->ended && !st->reset_by_owner && c->ops->on_fail) {
        char why[300];
        struct h2_failure f = {.code = code, .why = why};
        if (st->not_sent) {
            f.code = NGHTTP2_REFUSED_STREAM;
            f.retryable = 1;
            snprintf(why, sizeof why, "%s", st->why_buf);
        } else if (st->past_goaway) {
            f.retryable = f.lost = 1;
            snprintf(why, sizeof why,
                     "GOAWAY from the server (last stream %d): stream %d not processed",
                     c->goaway_last, sid);
        } else if (st->reset_by_server) {
            f.code = st->server_code;
            if (st->server_code == NGHTTP2_REFUSED_STREAM) {
                f.retryable = !(st->flags & H2_CLIENT_RETRY);
                f.lost = !f.retryable;
            } else {
                f.lost = 1;
            }
            snprintf(why, sizeof why, "RST_STREAM %s from the server",
                     h2_error_name(st->server_code));
        } else if (st->bad) {
            f.code = NGHTTP2_PROTOCOL_ERROR;
            snprintf(why, sizeof why, "invalid response: %s", st->bad);

        } else {
            f.lost = 1;
            snprintf(why, sizeof why, "stream closed with %s%s%s", h2_error_name(code),
                     c->error[0] ? ": " : "", c->error);
        }
        c->ops->on_fail(c->arg, sid, st->arg, &f);
    }
    stream_free(c, st);
    return 0;
}

/* A stream error nghttp2 found: keep its sentence, with the frame named, as the stream's reason;
 * a connection error (stream 0) is the connection's. */
static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                            void *user)
{
    (void)ng;
    struct h2_client *c = user;
    struct h2c_stream *st = frame->hd.stream_id ? stream_of(c, frame->hd.stream_id) : NULL;
    char *dst = st && !st->bad ? st->why_buf : c->error;
    size_t size = st && !st->bad ? sizeof st->why_buf : sizeof c->error;
    snprintf(dst, size, "%s frame on stream %d: %s", h2_frame_name(frame->hd.type),
             frame->hd.stream_id, nghttp2_strerror(lib_error));
    if (st && !st->bad)
        st->bad = st->why_buf;
    return 0;
}

static int on_error2(nghttp2_session *ng, int lib_error, const char *msg, size_t len, void *user)
{
    (void)lib_error;
    struct h2_client *c = user;
    snprintf(c->lib_error, sizeof c->lib_error, "%.*s", (int)len, msg);
    struct h2c_stream *st = c->cur_sid ? nghttp2_session_get_stream_user_data(ng, c->cur_sid)
                                       : NULL;
    if (st && !st->bad) {
        h2_describe_error(c->lib_error, st->why_buf, sizeof st->why_buf);
        st->bad = st->why_buf;
    }
    return 0;
}

static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *user)
{
    (void)ng;
    struct h2_client *c = user;
    c->cur_sid = hd->stream_id;
    if (hd->type == NGHTTP2_HEADERS)
        c->block_bytes = 9 + hd->length;
    else if (hd->type == NGHTTP2_CONTINUATION)
        c->block_bytes += 9 + hd->length;
    return 0;
}

/* A request nghttp2 could not send (a GOAWAY arrived while it waited for a free stream slot):
 * it never opened, so no stream close follows; it never left either, so it may go again. */
static int on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                             void *user)
{
    struct h2_client *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2c_stream *st = NULL;
    for (struct h2c_stream *x = c->streams; x; x = x->next)
        if (x->id == frame->hd.stream_id)
            st = x;
    if (!st)
        return 0;
    st->not_sent = 1;
    snprintf(st->why_buf, sizeof st->why_buf, "request not sent: %s", nghttp2_strerror(lib_error));
    if (nghttp2_session_find_stream(ng, st->id))
        return 0; /* opened already: its close follows and reports it */
    c->nstreams--;
    if (!st->reset_by_owner && c->ops->on_fail) {
        struct h2_failure f = {.code = NGHTTP2_REFUSED_STREAM, .retryable = 1, .why = st->why_buf};
        c->ops->on_fail(c->arg, st->id, st->arg, &f);
    }
    stream_free(c, st);
    return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)ng;
    struct h2_client *c = user;
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
        char why[300];
        snprintf(why, sizeof why, "GOAWAY %s sent: %s", h2_error_name(frame->goaway.error_code),
                 c->error[0]       ? c->error
                 : c->lib_error[0] ? c->lib_error
                                   : h2_error_meaning(frame->goaway.error_code));
        conn_error(c, frame->goaway.error_code, 0, why);
    }
    return 0;
}

struct h2_client *h2_client_new(const struct h2_client_ops *ops, void *arg,
                                const struct h2_limits *limits)
{
    struct h2_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ops = ops;
    c->arg = arg;
    message_head_init(&c->rx, 0);
    if (!(c->gather = evbuffer_new())) {
        free(c);
        return NULL;
    }
    if (limits)
        c->lim = *limits;
    else
        h2_limits_default(&c->lim);
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
        goto fail;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
    nghttp2_session_callbacks_set_error_callback2(cb, on_error2);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, c->lim.header_table_size);
    nghttp2_option_set_max_outbound_ack(opt, c->lim.max_outbound_ack);
    nghttp2_option_set_max_continuations(opt, c->lim.max_continuations);
    nghttp2_option_set_peer_max_concurrent_streams(opt, c->lim.max_concurrent_streams);
    nghttp2_mem mem; /* nghttp2 keeps a copy; c->mem (its user data) lives as long as c */
    h2_mem_init(&c->mem, &mem);
    int rv = nghttp2_session_client_new3(&c->ng, cb, c, opt, &mem);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    cb = NULL;
    opt = NULL;
    if (rv)
        goto fail;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->lim.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, c->lim.max_header_list},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, c->lim.header_table_size},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->lim.stream_window}};
    if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv) ||
        nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)c->lim.connection_window))
        goto fail;
    return c;
fail:
    if (cb)
        nghttp2_session_callbacks_del(cb);
    if (opt)
        nghttp2_option_del(opt);
    h2_client_free(c);
    return NULL;
}

void h2_client_free(struct h2_client *c)
{
    if (!c)
        return;
    while (c->streams)
        stream_free(c, c->streams);
    if (c->ng)
        nghttp2_session_del(c->ng);
    if (c->gather)
        evbuffer_free(c->gather);
    message_head_clear(&c->rx);
    free(c);
}

void h2_client_trim(struct h2_client *c)
{
    message_head_clear(&c->rx);
}

int h2_client_feed(struct h2_client *c, const uint8_t *data, size_t len)
{
    if (c->failed && !nghttp2_session_want_read(c->ng))
        return -1;
    ssize_t n = nghttp2_session_mem_recv(c->ng, data, len);
    if (n < 0) {
        char why[300];
        snprintf(why, sizeof why, "%s%s%s", nghttp2_strerror((int)n), c->lib_error[0] ? ": " : "",
                 c->lib_error);
        nghttp2_session_terminate_session(c->ng, n == NGHTTP2_ERR_FLOODED ||
                                                         n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                                                     ? NGHTTP2_ENHANCE_YOUR_CALM
                                                     : NGHTTP2_PROTOCOL_ERROR);
        conn_error(c, NGHTTP2_PROTOCOL_ERROR, 0, why);
        return -1;
    }
    return c->failed ? -1 : 0;
}

/* Tell producers whose queues drained (outside nghttp2's callbacks, so they may send); 1 when
 * any was told. */
static int tell_drained(struct h2_client *c)
{
    int told = 0, again = 1;
    while (again) {
        again = 0;
        for (struct h2c_stream *st = c->streams; st; st = st->next) {
            if (st->has_out && st->out.drained) {
                st->out.drained = 0;
                if (c->ops->on_drain && !st->reset_by_owner) {
                    c->ops->on_drain(c->arg, st->id, st->arg);
                    told = again = 1; /* the list may have changed: start over */
                    break;
                }
            }
        }
    }
    return told;
}

int h2_client_flush(struct h2_client *c, struct evbuffer *out)
{
    /* what a told producer queued goes out in this flush too, as far as windows allow; the
     * rounds are bounded (the owner flushes again when its leg's output drains) */
    for (int round = 0; round < 16; round++) {
        int rv = h2_session_drain(c->ng, c->gather, out);
        if (rv == NGHTTP2_ERR_NOMEM)
            return -1;
        if (rv < 0) {
            conn_error(c, NGHTTP2_INTERNAL_ERROR, 0, nghttp2_strerror(rv));
            return -1;
        }
        if (!tell_drained(c))
            break;
    }
    return 0;
}

void h2_client_eof(struct h2_client *c)
{
    while (c->streams) {
        struct h2c_stream *st = c->streams;
        nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
        c->nstreams--;
        if (!st->ended && !st->reset_by_owner && c->ops->on_fail) {
            struct h2_failure f = {.code = NGHTTP2_CANCEL, .lost = 1,
                                   .retryable = st->past_goaway,
                                   .why = st->past_goaway
                                              ? "the server closed the connection after GOAWAY "
                                                "(stream not processed)"
                                              : "the server closed the connection"};
            c->ops->on_fail(c->arg, st->id, st->arg, &f);
        }
        stream_free(c, st);
    }
    c->failed = 1;
}

int h2_client_can_take(const struct h2_client *c)
{
    nghttp2_session *ng = c->ng;
    if (c->failed || c->goaway || !nghttp2_session_check_request_allowed(ng))
        return 0;
    uint32_t max = nghttp2_session_get_remote_settings(ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    if (max > c->lim.max_concurrent_streams)
        max = c->lim.max_concurrent_streams;
    return c->nstreams < max && nghttp2_session_get_next_stream_id(ng) < (1u << 31) - 2;
}

size_t h2_client_streams(const struct h2_client *c) { return c->nstreams; }

int32_t h2_client_submit(struct h2_client *c, const struct message_head *head, unsigned flags,
                         void *stream_arg)
{
    if (c->failed)
        return -1;
    struct h2c_stream *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->arg = stream_arg;
    st->flags = flags;
    nghttp2_nv *nv = NULL;
    void *nv_room[H2_NV_ROOM / sizeof(void *)]; /* pointer-aligned */
    char status[4];
    int32_t sid = -1;
    ssize_t n = h2_head_nv_from(head, 1, status, nv_room, sizeof nv_room, &nv);
    if (n < 0)
        goto out;
    if (head->end_stream) {
        sid = nghttp2_submit_request(c->ng, NULL, nv, (size_t)n, NULL, st);
    } else {
        if (h2_outq_init(&st->out, 1) < 0)
            goto out;
        st->has_out = 1;
        nghttp2_data_provider dp = {.source.ptr = &st->out, .read_callback = h2_outq_read};
        sid = nghttp2_submit_request(c->ng, NULL, nv, (size_t)n, &dp, st);
    }
    if (sid < 0) {
        snprintf(c->error, sizeof c->error, "request not submitted: %s", nghttp2_strerror(sid));
        sid = -1;
    }
out:
    if ((void *)nv != nv_room)
        free(nv);
    if (sid < 0) {
        if (st->has_out)
            h2_outq_free(&st->out);
        free(st);
        return -1;
    }
    st->id = sid;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->nstreams++;
    return sid;
}

/* The owner's calls look streams up in our list: nghttp2 opens a submitted stream only when its
 * HEADERS go out, and a request body may be queued before that. */
static struct h2c_stream *find_stream(struct h2_client *c, int32_t sid)
{
    for (struct h2c_stream *st = c->streams; st; st = st->next)
        if (st->id == sid)
            return st;
    return NULL;
}

static struct h2c_stream *live_stream(struct h2_client *c, int32_t sid)
{
    struct h2c_stream *st = find_stream(c, sid);
    return st && !st->reset_by_owner ? st : NULL;
}

int h2_client_send_body(struct h2_client *c, int32_t sid, const void *data, size_t len)
{
    struct h2c_stream *st = live_stream(c, sid);
    return st && st->has_out ? h2_outq_send(c->ng, sid, &st->out, data, len) : -1;
}

int h2_client_end(struct h2_client *c, int32_t sid, const struct message_head *trailers)
{
    struct h2c_stream *st = live_stream(c, sid);
    return st && st->has_out ? h2_outq_end(c->ng, sid, &st->out, trailers) : -1;
}

int h2_client_reset(struct h2_client *c, int32_t sid, uint32_t error_code)
{
    struct h2c_stream *st = live_stream(c, sid);
    if (!st)
        return -1;
    st->reset_by_owner = 1;
    return nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, sid, error_code) ? -1 : 0;
}

void h2_client_consume(struct h2_client *c, int32_t sid, size_t n)
{
    if (stream_of(c, sid))
        nghttp2_session_consume_stream(c->ng, sid, n);
}

void h2_client_shutdown(struct h2_client *c)
{
    nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
}

int h2_client_done(struct h2_client *c)
{
    return !nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng);
}

const char *h2_client_error(const struct h2_client *c) { return c->error; }
