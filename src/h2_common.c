/* h2_common.c — see h2_common.h. */
#include "h2_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *h2_frame_name(uint8_t type)
{
    static const char *const names[] = {"DATA",    "HEADERS", "PRIORITY",      "RST_STREAM",
                                        "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
                                        "WINDOW_UPDATE", "CONTINUATION"};
    return type < sizeof names / sizeof *names ? names[type] : "unknown frame";
}

const char *h2_error_name(uint32_t code)
{
    static const char *const names[] = {
        "NO_ERROR",       "PROTOCOL_ERROR",     "INTERNAL_ERROR",     "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT", "STREAM_CLOSED",    "FRAME_SIZE_ERROR",   "REFUSED_STREAM",
        "CANCEL",         "COMPRESSION_ERROR",  "CONNECT_ERROR",      "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
    return code < sizeof names / sizeof *names ? names[code] : "unknown error code";
}

const char *h2_error_meaning(uint32_t code)
{
    switch (code) {
    case NGHTTP2_PROTOCOL_ERROR: return "the peer broke an HTTP/2 rule";
    case NGHTTP2_FLOW_CONTROL_ERROR: return "the peer sent more DATA than the window allowed";
    case NGHTTP2_SETTINGS_TIMEOUT: return "the peer did not acknowledge our SETTINGS";
    case NGHTTP2_FRAME_SIZE_ERROR: return "a frame larger than SETTINGS_MAX_FRAME_SIZE";
    case NGHTTP2_COMPRESSION_ERROR:
        return "the HPACK header block could not be decoded (e.g. a dynamic table larger than "
               "SETTINGS_HEADER_TABLE_SIZE)";
    case NGHTTP2_ENHANCE_YOUR_CALM: return "the peer floods us";
    default: return h2_error_name(code);
    }
}

void h2_describe_error(const char *msg, char *out, size_t size)
{
    int type = 0, sid = 0, at = 0;
    if (sscanf(msg, "Invalid HTTP header field was received: frame type: %d, stream: %d, name: [%n",
               &type, &sid, &at) == 2 && at > 0) {
        const char *name = msg + at, *end = strstr(name, "], value: [");
        const char *value = end ? end + 11 : "";
        size_t vl = strlen(value);
        if (vl && value[vl - 1] == ']')
            vl--;
        snprintf(out, size, "%s frame on stream %d: %s field %.*s: %.*s",
                 h2_frame_name((uint8_t)type), sid,
                 name[0] == ':' ? "misplaced, repeated or unknown pseudo-header" : "invalid",
                 (int)(end ? end - name : 0), name, (int)vl, value);
    } else {
        snprintf(out, size, "%s", msg);
    }
}

int h2_outq_init(struct h2_outq *q, int is_request)
{
    memset(q, 0, sizeof *q);
    message_head_init(&q->trailers, is_request);
    q->buf = evbuffer_new();
    return q->buf ? 0 : -1;
}

void h2_outq_free(struct h2_outq *q)
{
    if (q->buf)
        evbuffer_free(q->buf);
    q->buf = NULL;
    message_head_clear(&q->trailers);
}

/* End of body: EOF, with the trailers submitted in place of END_STREAM on the last DATA. */
static void outq_finish(nghttp2_session *s, int32_t stream_id, struct h2_outq *q,
                        uint32_t *data_flags)
{
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!q->has_trailers || !q->trailers.ntrailers)
        return;
    nghttp2_nv *nv = NULL;
    char status[4];
    ssize_t n = h2_head_nv(&q->trailers, 1, status, &nv);
    if (n > 0 && nghttp2_submit_trailer(s, stream_id, nv, (size_t)n) == 0)
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    free(nv);
    q->has_trailers = 0;
}

ssize_t h2_outq_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                     uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)user_data;
    struct h2_outq *q = source->ptr;
    size_t avail = evbuffer_get_length(q->buf);
    if (!avail && !q->ended) {
        q->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    if (n && evbuffer_remove(q->buf, buf, n) != (int)n)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    q->sent += n;
    if (q->was_full && evbuffer_get_length(q->buf) < H2_OUTQ_LOW) {
        q->was_full = 0;
        q->drained = 1;
    }
    if (q->ended && !evbuffer_get_length(q->buf))
        outq_finish(s, stream_id, q, data_flags);
    return (ssize_t)n;
}

int h2_outq_kick(nghttp2_session *s, int32_t stream_id, struct h2_outq *q)
{
    if (!q->deferred)
        return 0;
    q->deferred = 0;
    return nghttp2_session_resume_data(s, stream_id);
}

static nghttp2_nv make_nv(const char *name, size_t nl, const char *value, size_t vl)
{
    return (nghttp2_nv){(uint8_t *)(uintptr_t)name, (uint8_t *)(uintptr_t)value, nl, vl,
                        NGHTTP2_NV_FLAG_NONE};
}

ssize_t h2_head_nv(const struct message_head *h, int trailers, char status[4], nghttp2_nv **nv)
{
    size_t nf = trailers ? h->ntrailers : h->nfields;
    nghttp2_nv *a = malloc((nf + 5) * sizeof *a);
    if (!a)
        return -1;
    size_t n = 0;
    if (!trailers) {
        if (h->is_request) {
            a[n++] = make_nv(":method", 7, h->method, strlen(h->method));
            if (h->scheme[0])
                a[n++] = make_nv(":scheme", 7, h->scheme, strlen(h->scheme));
            if (h->authority[0])
                a[n++] = make_nv(":authority", 10, h->authority, strlen(h->authority));
            if (h->path[0])
                a[n++] = make_nv(":path", 5, h->path, strlen(h->path));
        } else {
            int st = h->status > 0 && h->status < 1000 ? h->status : 500;
            status[0] = (char)('0' + st / 100);
            status[1] = (char)('0' + st / 10 % 10);
            status[2] = (char)('0' + st % 10);
            status[3] = '\0';
            a[n++] = make_nv(":status", 7, status, 3);
        }
    }
    const struct message_field *f = trailers ? h->trailers : h->fields;
    for (size_t i = 0; i < nf; i++)
        a[n++] = make_nv(f[i].name, f[i].name_len, f[i].value, f[i].value_len);
    *nv = a;
    return (ssize_t)n;
}

ssize_t h2_head_nv_from(const struct message_head *src, int is_request, char status[4],
                        void *room, size_t room_size, nghttp2_nv **nv)
{
    size_t bytes, max = message_h2_fields_max(src, 0, &bytes);
    /* one block: the list, the fields it is made from, lower-cased names; the caller's room
     * when it fits (nghttp2 copies the list when a head is submitted) */
    size_t need = (max + 4) * sizeof(nghttp2_nv) + max * sizeof(struct message_field) + bytes + 1;
    nghttp2_nv *a = need <= room_size ? room : malloc(need);
    if (!a)
        return -1;
    struct message_field *f = (struct message_field *)(a + max + 4);
    size_t nf = message_h2_fields(src, 0, f, (char *)(f + max));
    size_t n = 0;
    if (is_request) {
        const char *authority = message_h2_authority(src);
        a[n++] = make_nv(":method", 7, src->method, strlen(src->method));
        if (src->scheme[0])
            a[n++] = make_nv(":scheme", 7, src->scheme, strlen(src->scheme));
        if (authority[0])
            a[n++] = make_nv(":authority", 10, authority, strlen(authority));
        if (src->path[0])
            a[n++] = make_nv(":path", 5, src->path, strlen(src->path));
    } else {
        int st = src->status > 0 && src->status < 1000 ? src->status : 500;
        status[0] = (char)('0' + st / 100);
        status[1] = (char)('0' + st / 10 % 10);
        status[2] = (char)('0' + st % 10);
        status[3] = '\0';
        a[n++] = make_nv(":status", 7, status, 3);
    }
    for (size_t i = 0; i < nf; i++)
        a[n++] = make_nv(f[i].name, f[i].name_len, f[i].value, f[i].value_len);
    *nv = a;
    return (ssize_t)n;
}

int h2_session_drain(nghttp2_session *ng, struct evbuffer *gather, struct evbuffer *out)
{
    int rv = 0;
    for (;;) {
        const uint8_t *data = NULL;
        ssize_t n = nghttp2_session_mem_send(ng, &data);
        if (n <= 0) {
            rv = (int)n;
            break;
        }
        if (evbuffer_add(gather, data, (size_t)n) < 0) {
            rv = NGHTTP2_ERR_NOMEM;
            break;
        }
    }
    /* one append to the leg's output: its callbacks (the leg's write kick, the TLS
     * bufferevent's) run once per flush, not once per frame; what was made before an error
     * goes out too */
    if (evbuffer_get_length(gather) && evbuffer_add_buffer(out, gather) < 0)
        return NGHTTP2_ERR_NOMEM;
    return rv;
}

void h2_limits_default(struct h2_limits *l)
{
    l->max_concurrent_streams = 100;
    l->max_header_list = 64 * 1024;
    l->max_header_fields = 200;
    l->header_table_size = 4096;
    l->stream_window = 256 * 1024;
    l->connection_window = 16 * 1024 * 1024;
    /* nghttp2's own defaults for resets (1000, 33/s); a real client sends a few PINGs and
     * SETTINGS a minute, a flood sends thousands a second */
    l->reset_burst = 1000;
    l->reset_rate = 33;
    l->control_burst = 500;
    l->control_rate = 50;
    l->max_continuations = 8;
    l->max_outbound_ack = 1000;
}

void h2_bucket_init(struct h2_bucket *b, double burst, double rate)
{
    b->tokens = b->burst = burst;
    b->rate = rate;
    b->last_ms = 0;
}

int h2_bucket_take(struct h2_bucket *b, uint64_t now_ms)
{
    if (b->last_ms && now_ms > b->last_ms) {
        b->tokens += b->rate * (double)(now_ms - b->last_ms) / 1000.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last_ms = now_ms;
    if (b->tokens < 1.0)
        return -1;
    b->tokens -= 1.0;
    return 0;
}

uint64_t h2_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int h2_outq_send(nghttp2_session *s, int32_t stream_id, struct h2_outq *q, const void *data,
                 size_t len)
{
    if (q->ended)
        return -1;
    if (len && evbuffer_add(q->buf, data, len) < 0)
        return -1;
    h2_outq_kick(s, stream_id, q);
    if (evbuffer_get_length(q->buf) >= H2_OUTQ_HIGH) {
        q->was_full = 1;
        return 1;
    }
    return 0;
}

int h2_outq_end(nghttp2_session *s, int32_t stream_id, struct h2_outq *q,
                const struct message_head *trailers)
{
    if (q->ended)
        return -1;
    if (trailers && trailers->ntrailers) {
        message_head_clear(&q->trailers);
        if (message_to_h2(trailers, &q->trailers) < 0)
            return -1;
        q->has_trailers = 1;
    }
    q->ended = 1;
    h2_outq_kick(s, stream_id, q);
    return 0;
}
