/* h2_server.c — see h2_server.h. nghttp2 does the framing, HPACK and most of RFC 9113's message
 * checks; this file adds httpeek's rules (message.c's, which also name what broke), the limits
 * nghttp2 1.52 leaves to the application (header field count, PING/SETTINGS/PRIORITY floods), the
 * back-pressure of both bodies, and the translation of nghttp2's errors into sentences. */
#include "h2_server.h"

#include "h2_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct h2s_stream {
    int32_t id;
    void *arg;                 /* the owner's (its exchange) */
    struct message_head head;  /* request head, then trailers while they arrive */
    int delivered;             /* on_request taken */
    int ended;                 /* request END_STREAM seen */
    int answered;              /* a response head was submitted */
    int refused;               /* answered or reset by the engine: no owner */
    int too_large;             /* header list / field count over the limit: answer 431 */
    int reset_by_client;
    int reset_by_owner;        /* h2_server_reset: no more body for the owner */
    uint32_t client_code;      /* RST_STREAM code from the client */
    int64_t content_length;    /* of the request, -1 when none */
    uint64_t body_in;          /* request body bytes received */
    const char *bad;           /* rule a header broke (static or why_buf), or NULL */
    char why_buf[160];
    struct h2_outq out;        /* response body */
    int has_out;
    struct h2s_stream *prev, *next;
};

struct h2_server {
    nghttp2_session *ng;
    struct evbuffer *gather;    /* frames of one flush (h2_session_drain) */
    const struct h2_server_ops *ops;
    void *arg;
    struct h2_limits lim;
    struct h2s_stream *streams; /* every stream with state */
    size_t nstreams;            /* delivered and open */
    struct h2_bucket resets, control;
    int failed;                 /* on_conn_error called */
    int any_drained;
    int32_t cur_sid;            /* stream of the frame being received (for nghttp2's errors) */
    size_t block_bytes;         /* wire bytes of the header block being received (frames) */
    struct h2s_stream *rx_st;   /* the stream whose request head is being received (its fields
                                 * need no stream lookup each); NULL once the stream is freed */
    struct h2s_errors *errs;    /* made at the first error (most connections have none), or
                                 * NULL: both texts empty */
    struct h2_mem mem;          /* nghttp2's allocator: its frame buffer given back when idle */
    int32_t closed[8];          /* the last streams closed: nghttp2 forgets a closed stream at once
                                 * here (no_closed_streams), and HEADERS on one of these is still a
                                 * connection error STREAM_CLOSED (RFC 9113 5.1), as when it kept
                                 * them (it kept up to MAX_CONCURRENT_STREAMS) */
    unsigned closed_next;       /* where the next one goes in closed */
};

/* A connection's error texts: half a KiB that an idle connection (thousands of them) need not
 * hold until something goes wrong. */
struct h2s_errors {
    char error[256];            /* last connection error */
    char lib[256];              /* nghttp2's last error message (error_callback2) */
};

/* s's error texts, made now if need be; NULL out of memory (the texts then stay empty). */
static struct h2s_errors *errs(struct h2_server *s)
{
    if (!s->errs)
        s->errs = calloc(1, sizeof *s->errs);
    return s->errs;
}

static const char *error_text(const struct h2_server *s) { return s->errs ? s->errs->error : ""; }
static const char *lib_error_text(const struct h2_server *s) { return s->errs ? s->errs->lib : ""; }

static void conn_error(struct h2_server *s, uint32_t code, int by_client, const char *why)
{
    if (s->failed)
        return;
    struct h2s_errors *e = errs(s);
    if (e && why != e->error)
        snprintf(e->error, sizeof e->error, "%s", why);
    s->failed = 1;
    if (s->ops->on_conn_error)
        s->ops->on_conn_error(s->arg, code, by_client, e ? e->error : why);
}

/* Cut the connection off: GOAWAY with code, reported once. */
static void cut(struct h2_server *s, uint32_t code, const char *why)
{
    nghttp2_session_terminate_session(s->ng, code);
    conn_error(s, code, 0, why);
}

static struct h2s_stream *stream_of(struct h2_server *s, int32_t sid)
{
    return nghttp2_session_get_stream_user_data(s->ng, sid);
}

static void stream_free(struct h2_server *s, struct h2s_stream *st)
{
    if (s->rx_st == st)
        s->rx_st = NULL;
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    message_head_clear(&st->head);
    if (st->has_out)
        h2_outq_free(&st->out);
    free(st);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct h2_server *s = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2s_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    st->id = frame->hd.stream_id;
    message_head_init(&st->head, 1);
    st->head.major = 2;
    st->head.minor = 0;
    st->head.stream_id = st->id;
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    nghttp2_session_set_stream_user_data(ng, st->id, st);
    s->rx_st = st;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)flags;
    struct h2_server *s = user;
    struct h2s_stream *st = s->rx_st && s->rx_st->id == frame->hd.stream_id
                                ? s->rx_st
                                : stream_of(s, frame->hd.stream_id);
    if (!st || st->bad || st->too_large || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    int trailers = st->delivered;
    size_t count = trailers ? st->head.ntrailers : st->head.nfields;
    if (st->head.field_bytes + namelen + valuelen + 32 > s->lim.max_header_list ||
        count >= s->lim.max_header_fields) {
        if (trailers) { /* the request was taken: trailers too large fail the stream */
            st->bad = "trailer section too large";
            nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
        } else {
            st->too_large = 1;
        }
        return 0;
    }
    const char *why = message_h2_add(&st->head, (const char *)name, namelen,
                                     (const char *)value, valuelen, trailers);
    if (why) {
        st->bad = why;
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
}

/* The engine answers a request itself with a short text/plain response. */
static void answer(struct h2_server *s, struct h2s_stream *st, int status, const char *why)
{
    st->refused = 1;
    if (s->ops->on_refused)
        s->ops->on_refused(s->arg, st->id, &st->head, status, why);
    char len[24];
    snprintf(len, sizeof len, "%zu", strlen(why) + 9);
    if (h2_outq_init(&st->out, 0) < 0) {
        nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    st->has_out = 1;
    evbuffer_add_printf(st->out.buf, "httpeek: %s", why);
    st->out.ended = 1;
    char code[4];
    snprintf(code, sizeof code, "%03d", status % 1000);
    nghttp2_nv nv[] = {
        {(uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"text/plain; charset=utf-8", 12, 25,
         NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-length", (uint8_t *)len, 14, strlen(len), NGHTTP2_NV_FLAG_NONE}};
    nghttp2_data_provider dp = {.source.ptr = &st->out, .read_callback = h2_outq_read};
    st->answered = 1;
    if (nghttp2_submit_response(s->ng, st->id, nv, 3, &dp) != 0)
        nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

static void request_headers_done(struct h2_server *s, struct h2s_stream *st, int end_stream)
{
    if (st->bad) { /* reset already queued */
        st->refused = 1;
        if (s->ops->on_refused)
            s->ops->on_refused(s->arg, st->id, &st->head, 0, st->bad);
        return;
    }
    if (st->too_large) {
        answer(s, st, 431, "request header list too large");
        return;
    }
    st->head.end_stream = end_stream;
    st->head.wire_size = s->block_bytes;
    const char *why = message_h2_check(&st->head);
    if (why) {
        st->bad = why;
        st->refused = 1;
        if (s->ops->on_refused)
            s->ops->on_refused(s->arg, st->id, &st->head, 0, why);
        nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
        return;
    }
    if (!strcmp(st->head.method, "CONNECT")) {
        answer(s, st, 501, "CONNECT over HTTP/2 is not supported");
        return;
    }
    if (s->ops->on_request(s->arg, st->id, &st->head) < 0) {
        st->refused = 1;
        nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
        return;
    }
    st->delivered = 1;
    st->content_length = st->head.content_length;
    s->nstreams++;
    message_head_clear(&st->head); /* the owner moved it, or does not need it any more */
    message_head_init(&st->head, 1);
    if (end_stream) {
        st->ended = 1;
        if (s->ops->on_end)
            s->ops->on_end(s->arg, st->id, st->arg, NULL);
    }
}

/* Flood counters: take a token or cut the connection off (GOAWAY ENHANCE_YOUR_CALM; nghttp2
 * ignores the rest of the input once the session is terminated). Returns 0 for the callback. */
static int flood_check(struct h2_server *s, struct h2_bucket *b, const char *what)
{
    if (h2_bucket_take(b, h2_now_ms()) == 0)
        return 0;
    char why[128];
    snprintf(why, sizeof why, "%s flood from the client", what);
    cut(s, NGHTTP2_ENHANCE_YOUR_CALM, why);
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)ng;
    struct h2_server *s = user;
    struct h2s_stream *st = frame->hd.stream_id ? stream_of(s, frame->hd.stream_id) : NULL;
    int end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (!st)
            return 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            request_headers_done(s, st, end_stream);
        } else if (st->delivered && !st->bad && end_stream && !st->ended) {
            st->ended = 1;
            if (s->ops->on_end)
                s->ops->on_end(s->arg, st->id, st->arg, st->head.ntrailers ? &st->head : NULL);
        }
        return 0;
    case NGHTTP2_DATA:
        if (!end_stream && frame->hd.length == 0)
            return flood_check(s, &s->control, "empty DATA frame");
        if (st && st->delivered && end_stream && !st->ended) {
            st->ended = 1;
            if (s->ops->on_end)
                s->ops->on_end(s->arg, st->id, st->arg, NULL);
        }
        return 0;
    case NGHTTP2_RST_STREAM:
        if (st) {
            st->reset_by_client = 1;
            st->client_code = frame->rst_stream.error_code;
        }
        if (h2_bucket_take(&s->resets, h2_now_ms()) < 0)
            cut(s, NGHTTP2_ENHANCE_YOUR_CALM,
                "rapid reset: the client opens and resets streams in a loop");
        return 0;
    case NGHTTP2_PING:
        return frame->hd.flags & NGHTTP2_FLAG_ACK ? 0 : flood_check(s, &s->control, "PING");
    case NGHTTP2_SETTINGS:
        return frame->hd.flags & NGHTTP2_FLAG_ACK ? 0 : flood_check(s, &s->control, "SETTINGS");
    case NGHTTP2_PRIORITY:
        return flood_check(s, &s->control, "PRIORITY");
    case NGHTTP2_GOAWAY:
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
            char why[256];
            snprintf(why, sizeof why, "GOAWAY %s from the client: %.*s",
                     h2_error_name(frame->goaway.error_code),
                     (int)(frame->goaway.opaque_data_len > 120 ? 120
                                                               : frame->goaway.opaque_data_len),
                     frame->goaway.opaque_data ? (const char *)frame->goaway.opaque_data : "");
            conn_error(s, frame->goaway.error_code, 1, why);
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
    struct h2_server *s = user;
    /* the connection window goes back at once; only the stream's waits for the owner, so a
     * slow exchange holds back its own stream and never the others */
    nghttp2_session_consume_connection(ng, len);
    struct h2s_stream *st = stream_of(s, sid);
    if (!st || !st->delivered || st->bad || st->reset_by_owner || !s->ops->on_body) {
        nghttp2_session_consume_stream(ng, sid, len);
        return 0;
    }
    st->body_in += len;
    s->ops->on_body(s->arg, sid, st->arg, data, len);
    return 0;
}

static const char *close_why(const struct h2_server *s, struct h2s_stream *st, uint32_t code,
                             char *buf, size_t size)
{
    if (st->reset_by_client) {
        snprintf(buf, size, "RST_STREAM %s from the client", h2_error_name(st->client_code));
        return buf;
    }
    if (st->bad)
        return st->bad;
    if (code == NGHTTP2_NO_ERROR)
        return NULL;
    if (code == NGHTTP2_PROTOCOL_ERROR && st->content_length >= 0 &&
        st->body_in != (uint64_t)st->content_length) { /* nghttp2 checks it, silently */
        snprintf(buf, size, "DATA frames: request body of %llu bytes, content-length says %lld",
                 (unsigned long long)st->body_in, (long long)st->content_length);
        return buf;
    }
    if (code == NGHTTP2_FLOW_CONTROL_ERROR) { /* nghttp2 resets it without a word */
        snprintf(buf, size, "DATA frames on stream %d: more than its flow-control window (%u "
                 "bytes) sent before WINDOW_UPDATE", (int)st->id, s->lim.stream_window);
        return buf;
    }
    snprintf(buf, size, "stream closed with %s", h2_error_name(code));
    return buf;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *user)
{
    struct h2_server *s = user;
    struct h2s_stream *st = stream_of(s, sid);
    s->closed[s->closed_next++ % (sizeof s->closed / sizeof *s->closed)] = sid;
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(ng, sid, NULL);
    char buf[160];
    const char *why = close_why(s, st, code, buf, sizeof buf);
    if (st->delivered) {
        s->nstreams--;
        /* a stream that ended both ways is fine whatever RST followed it */
        if (s->ops->on_close)
            s->ops->on_close(s->arg, sid, st->arg, code, st->reset_by_client, why);
    } else if (!st->refused && s->ops->on_refused) {
        s->ops->on_refused(s->arg, sid, &st->head, 0, why ? why : "stream closed before its head");
    }
    stream_free(s, st);
    return 0;
}

static const char *settings_name(int32_t id)
{
    switch (id) {
    case NGHTTP2_SETTINGS_ENABLE_PUSH: return "SETTINGS_ENABLE_PUSH";
    case NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE: return "SETTINGS_INITIAL_WINDOW_SIZE";
    case NGHTTP2_SETTINGS_MAX_FRAME_SIZE: return "SETTINGS_MAX_FRAME_SIZE";
    case NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL: return "SETTINGS_ENABLE_CONNECT_PROTOCOL";
    default: return "setting";
    }
}

/* The first value of a SETTINGS frame that RFC 9113 §6.5.2 forbids, in words, or NULL. */
static const char *bad_setting(const nghttp2_settings *f, char *buf, size_t size)
{
    for (size_t i = 0; i < f->niv; i++) {
        int32_t id = f->iv[i].settings_id;
        uint32_t v = f->iv[i].value;
        const char *rule = NULL;
        if ((id == NGHTTP2_SETTINGS_ENABLE_PUSH ||
             id == NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) && v > 1)
            rule = "0 or 1";
        else if (id == NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE && v > NGHTTP2_MAX_WINDOW_SIZE)
            rule = "at most 2^31-1";
        else if (id == NGHTTP2_SETTINGS_MAX_FRAME_SIZE &&
                 (v < 16384 || v > 16777215))
            rule = "16384 to 16777215";
        if (rule) {
            snprintf(buf, size, "SETTINGS frame: %s %u (must be %s)", settings_name(id), v,
                     rule);
            return buf;
        }
    }
    return NULL;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                            void *user)
{
    (void)ng;
    struct h2_server *s = user;
    char setting[160], unkept[sizeof s->errs->error];
    struct h2s_errors *e = errs(s);
    char *error = e ? e->error : unkept;
    size_t size = e ? sizeof e->error : sizeof unkept;
    if (frame->hd.type == NGHTTP2_SETTINGS &&
        bad_setting(&frame->settings, setting, sizeof setting))
        snprintf(error, size, "%s", setting);
    else if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
        s->nstreams >= s->lim.max_concurrent_streams)
        snprintf(error, size,
                 "HEADERS frame on stream %d: more than SETTINGS_MAX_CONCURRENT_STREAMS (%u) "
                 "streams open", frame->hd.stream_id, s->lim.max_concurrent_streams);
    else
        snprintf(error, size, "%s frame on stream %d: %s",
                 h2_frame_name(frame->hd.type), frame->hd.stream_id, nghttp2_strerror(lib_error));
    struct h2s_stream *st = frame->hd.stream_id ? stream_of(s, frame->hd.stream_id) : NULL;
    if (st && !st->bad) {
        /* nghttp2 says "violation in HTTP messaging rule"; message.c says which rule */
        const char *rule = frame->hd.type == NGHTTP2_HEADERS && !st->delivered
                               ? message_h2_check(&st->head)
                               : NULL;
        snprintf(st->why_buf, sizeof st->why_buf, "%s%s%s", error, rule ? ": " : "",
                 rule ? rule : "");
        st->bad = st->why_buf;
    }
    return 0;
}

/* nghttp2's own checks (RFC 9113 §8.2, §8.3) come here with a sentence; a stream it resets
 * keeps the sentence as its reason. */
static int on_error2(nghttp2_session *ng, int lib_error, const char *msg, size_t len, void *user)
{
    (void)lib_error;
    struct h2_server *s = user;
    char unkept[sizeof s->errs->lib];
    struct h2s_errors *e = errs(s);
    char *lib = e ? e->lib : unkept;
    snprintf(lib, e ? sizeof e->lib : sizeof unkept, "%.*s", (int)len, msg);
    struct h2s_stream *st = s->cur_sid ? nghttp2_session_get_stream_user_data(ng, s->cur_sid)
                                       : NULL;
    if (st && !st->bad) {
        h2_describe_error(lib, st->why_buf, sizeof st->why_buf);
        st->bad = st->why_buf;
    }
    return 0;
}

/* 1 when sid is one of the last streams closed. */
static int recently_closed(const struct h2_server *s, int32_t sid)
{
    for (size_t i = 0; sid > 0 && i < sizeof s->closed / sizeof *s->closed; i++)
        if (s->closed[i] == sid)
            return 1;
    return 0;
}

static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *user)
{
    struct h2_server *s = user;
    s->cur_sid = hd->stream_id;
    /* (nghttp2 ignores a DATA frame on a stream it does not know before telling us of it) */
    if (hd->type == NGHTTP2_HEADERS && !s->failed && recently_closed(s, hd->stream_id)) {
        struct h2s_errors *e = errs(s); /* the text it gave when it kept the stream */
        if (e)
            snprintf(e->error, sizeof e->error, "HEADERS frame on stream %d: %s", hd->stream_id,
                     nghttp2_strerror(NGHTTP2_ERR_STREAM_CLOSED));
        nghttp2_session_terminate_session(ng, NGHTTP2_STREAM_CLOSED);
    }
    if (hd->type == NGHTTP2_HEADERS)
        s->block_bytes = 9 + hd->length;
    else if (hd->type == NGHTTP2_CONTINUATION)
        s->block_bytes += 9 + hd->length;
    return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)ng;
    struct h2_server *s = user;
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
        char why[300], debug[160] = "";
        /* nghttp2's fail-fast checks give no callback, only the GOAWAY's debug data, which
         * names the frame ("DATA: stream_id == 0") */
        if (frame->goaway.opaque_data_len)
            snprintf(debug, sizeof debug, "%.*s",
                     (int)(frame->goaway.opaque_data_len < 150 ? frame->goaway.opaque_data_len
                                                               : 150),
                     (const char *)frame->goaway.opaque_data);
        snprintf(why, sizeof why, "GOAWAY %s sent: %s", h2_error_name(frame->goaway.error_code),
                 error_text(s)[0]       ? error_text(s)
                 : lib_error_text(s)[0] ? lib_error_text(s)
                 : debug[0]        ? debug
                                   : h2_error_meaning(frame->goaway.error_code));
        conn_error(s, frame->goaway.error_code, 0, why);
    }
    return 0;
}

struct h2_server *h2_server_new(const struct h2_server_ops *ops, void *arg,
                                const struct h2_limits *limits)
{
    struct h2_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ops = ops;
    s->arg = arg;
    if (!(s->gather = evbuffer_new())) {
        free(s);
        return NULL;
    }
    if (limits)
        s->lim = *limits;
    else
        h2_limits_default(&s->lim);
    h2_bucket_init(&s->resets, s->lim.reset_burst, s->lim.reset_rate);
    h2_bucket_init(&s->control, s->lim.control_burst, s->lim.control_rate);
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
    nghttp2_option_set_no_auto_window_update(opt, 1);
    /* a closed stream is forgotten at once: nghttp2 would keep up to MAX_CONCURRENT_STREAMS of
     * them (~0.3 KiB each) for RFC 7540 priorities, which RFC 9113 deprecated, on every idle
     * connection; and with no stream left the stream map's table can be given back (h2_mem.h) */
    nghttp2_option_set_no_closed_streams(opt, 1);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, s->lim.header_table_size);
    nghttp2_option_set_max_outbound_ack(opt, s->lim.max_outbound_ack);
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_max_continuations(opt, s->lim.max_continuations);
    /* ours cuts off first, with ENHANCE_YOUR_CALM and a sentence; nghttp2's is the backstop */
    nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * s->lim.reset_burst + 1,
                                               2ull * s->lim.reset_rate + 1);
    nghttp2_mem mem;
    h2_mem_init(&s->mem, &mem);
    s->mem.creating = 1;
    int rv = nghttp2_session_server_new3(&s->ng, cb, s, opt, &mem);
    s->mem.creating = 0;
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    cb = NULL;
    opt = NULL;
    if (rv)
        goto fail;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->lim.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s->lim.max_header_list},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, s->lim.header_table_size},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s->lim.stream_window},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv) ||
        nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)s->lim.connection_window))
        goto fail;
    return s;
fail:
    if (cb)
        nghttp2_session_callbacks_del(cb);
    if (opt)
        nghttp2_option_del(opt);
    h2_server_free(s);
    return NULL;
}

void h2_server_free(struct h2_server *s)
{
    if (!s)
        return;
    while (s->streams)
        stream_free(s, s->streams);
    if (s->ng)
        nghttp2_session_del(s->ng);
    if (s->gather)
        evbuffer_free(s->gather);
    free(s->errs);
    free(s);
}

int h2_server_feed(struct h2_server *s, const uint8_t *data, size_t len)
{
    if (s->failed && !nghttp2_session_want_read(s->ng))
        return -1;
    ssize_t n = nghttp2_session_mem_recv(s->ng, data, len);
    if (n < 0) {
        char why[300];
        if (n == NGHTTP2_ERR_BAD_CLIENT_MAGIC)
            snprintf(why, sizeof why, "not an HTTP/2 connection preface");
        else if (n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
            snprintf(why, sizeof why, "CONTINUATION flood: more than %u CONTINUATION frames "
                     "after HEADERS", s->lim.max_continuations);
        else if (n == NGHTTP2_ERR_FLOODED)
            snprintf(why, sizeof why, "SETTINGS or PING flood: the client does not read our "
                     "acknowledgements");
        else
            snprintf(why, sizeof why, "%s%s%s", nghttp2_strerror((int)n),
                     lib_error_text(s)[0] ? ": " : "", lib_error_text(s));
        uint32_t code = n == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR
                                                          : NGHTTP2_ENHANCE_YOUR_CALM;
        if (n != NGHTTP2_ERR_TOO_MANY_CONTINUATIONS && n != NGHTTP2_ERR_FLOODED)
            code = NGHTTP2_PROTOCOL_ERROR;
        cut(s, code, why);
        return -1;
    }
    return s->failed ? -1 : 0;
}

/* Tell producers whose queues drained (outside nghttp2's callbacks, so they may send); 1 when
 * any was told. */
static int tell_drained(struct h2_server *s)
{
    int told = 0, again = 1;
    while (again) {
        again = 0;
        for (struct h2s_stream *st = s->streams; st; st = st->next) {
            if (st->has_out && st->out.drained) {
                st->out.drained = 0;
                if (s->ops->on_drain && st->delivered) {
                    s->ops->on_drain(s->arg, st->id, st->arg);
                    told = again = 1; /* the list may have changed: start over */
                    break;
                }
            }
        }
    }
    return told;
}

int h2_server_flush(struct h2_server *s, struct evbuffer *out)
{
    /* what a told producer queued goes out in this flush too, as far as windows allow; the
     * rounds are bounded (the owner flushes again when its leg's output drains) */
    for (int round = 0; round < 16; round++) {
        int rv = h2_session_drain(s->ng, s->gather, out);
        if (rv == NGHTTP2_ERR_NOMEM)
            return -1;
        if (rv < 0) {
            conn_error(s, NGHTTP2_INTERNAL_ERROR, 0, nghttp2_strerror(rv));
            return -1;
        }
        if (!tell_drained(s))
            break;
    }
    return 0;
}

void h2_server_eof(struct h2_server *s)
{
    while (s->streams) {
        struct h2s_stream *st = s->streams;
        nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
        if (st->delivered) {
            s->nstreams--;
            if (s->ops->on_close)
                s->ops->on_close(s->arg, st->id, st->arg, NGHTTP2_CANCEL, 1,
                                 "the client closed the connection");
        }
        stream_free(s, st);
    }
    s->failed = 1;
}

int h2_server_done(struct h2_server *s)
{
    return !nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng);
}

size_t h2_server_streams(const struct h2_server *s) { return s->nstreams; }

void h2_server_release_idle(struct h2_server *s)
{
    if (s->ng && !s->nstreams && !s->failed && !nghttp2_session_want_write(s->ng))
        h2_mem_release_idle(&s->mem);
}

int h2_server_set_stream_arg(struct h2_server *s, int32_t sid, void *stream_arg)
{
    struct h2s_stream *st = stream_of(s, sid);
    if (!st)
        return -1;
    st->arg = stream_arg;
    return 0;
}

static struct h2s_stream *live_stream(struct h2_server *s, int32_t sid)
{
    struct h2s_stream *st = stream_of(s, sid);
    return st && st->delivered ? st : NULL;
}

int h2_server_respond(struct h2_server *s, int32_t sid, const struct message_head *head,
                      int end_stream)
{
    struct h2s_stream *st = live_stream(s, sid);
    if (!st || st->answered)
        return -1;
    nghttp2_nv *nv = NULL;
    void *nv_room[H2_NV_ROOM / sizeof(void *)]; /* pointer-aligned */
    char status[4];
    ssize_t n = h2_head_nv_from(head, 0, status, nv_room, sizeof nv_room, &nv);
    int rv = -1;
    if (n < 0)
        goto out;
    if (head->status < 200) { /* interim: more heads follow */
        rv = nghttp2_submit_headers(s->ng, NGHTTP2_FLAG_NONE, sid, NULL, nv, (size_t)n, NULL) < 0
                 ? -1 : 0;
        goto out;
    }
    if (end_stream) {
        rv = nghttp2_submit_response(s->ng, sid, nv, (size_t)n, NULL) ? -1 : 0;
    } else {
        if (!st->has_out) {
            if (h2_outq_init(&st->out, 0) < 0)
                goto out;
            st->has_out = 1;
        }
        nghttp2_data_provider dp = {.source.ptr = &st->out, .read_callback = h2_outq_read};
        rv = nghttp2_submit_response(s->ng, sid, nv, (size_t)n, &dp) ? -1 : 0;
    }
    if (rv == 0)
        st->answered = 1;
out:
    if ((void *)nv != nv_room)
        free(nv);
    return rv;
}

int h2_server_send_body(struct h2_server *s, int32_t sid, const void *data, size_t len)
{
    struct h2s_stream *st = live_stream(s, sid);
    return st && st->has_out ? h2_outq_send(s->ng, sid, &st->out, data, len) : -1;
}

int h2_server_end(struct h2_server *s, int32_t sid, const struct message_head *trailers)
{
    struct h2s_stream *st = live_stream(s, sid);
    return st && st->has_out ? h2_outq_end(s->ng, sid, &st->out, trailers) : -1;
}

int h2_server_reset(struct h2_server *s, int32_t sid, uint32_t error_code)
{
    struct h2s_stream *st = live_stream(s, sid);
    if (!st)
        return -1;
    st->reset_by_owner = 1;
    return nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, sid, error_code) ? -1 : 0;
}

void h2_server_consume(struct h2_server *s, int32_t sid, size_t n)
{
    if (stream_of(s, sid))
        nghttp2_session_consume_stream(s->ng, sid, n);
}

void h2_server_shutdown(struct h2_server *s)
{
    nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(s->ng), NGHTTP2_NO_ERROR,
                          NULL, 0);
}

const char *h2_server_error(const struct h2_server *s) { return error_text(s); }
