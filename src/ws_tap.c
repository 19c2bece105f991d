/* ws_tap.c — see ws_tap.h. */
#include "ws_tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include "http1.h"
#include "record.h"
#include "store_messages.h"
#include "ws_frame.h"

struct ws_tap {
    struct store_messages *sink;
    uint64_t flow_id;
    uint64_t started_us;        /* wall clock of the request's start */
    struct ws_reader *from[2];  /* [1]: the client's frames, [0]: the server's */
    uint64_t next_index, cut, dropped;
    uint64_t stored, stored_max; /* bytes of message data handed to the store, and its bound */
    struct ws_end end;
};

static uint64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* "websocket" among the comma-separated tokens of an Upgrade header. */
static int upgrade_is_websocket(const char *v)
{
    for (const char *p = v; p && *p; p++)
        if (!strncasecmp(p, "websocket", 9) && (p == v || p[-1] == ',' || p[-1] == ' ') &&
            (!p[9] || p[9] == ',' || p[9] == ' ' || p[9] == '/'))
            return 1;
    return 0;
}

static void on_message(const struct ws_msg *m, void *arg)
{
    struct ws_tap *t = arg;
    if (m->opcode == WS_OP_CLOSE && !t->end.close_seen) {
        t->end.close_seen = 1;
        t->end.close_code = m->close_code;
        t->end.closed_by = m->from_client ? "client" : "server";
        size_t n = m->len < sizeof t->end.close_reason - 1 ? m->len : sizeof t->end.close_reason - 1;
        memcpy(t->end.close_reason, m->data, n);
        t->end.close_reason[n] = 0;
    }
    if (t->stored + m->len > t->stored_max ||
        store_messages_add(t->sink, t->flow_id, t->next_index, m) < 0) {
        t->dropped++;
        return;
    }
    t->stored += m->len;
    t->next_index++;
    if (m->flags & WS_MSG_CUT)
        t->cut++;
}

struct ws_tap *ws_tap_new(struct proxy *p, struct flow *f)
{
    if (!p->ws_messages || !f->req || !f->resp || f->resp->status != 101)
        return NULL;
    const char *up = http1_head_get(f->req, "upgrade");
    if (!up || !upgrade_is_websocket(up))
        return NULL;
    struct ws_tap *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    const char *ext = http1_head_get(f->resp, "sec-websocket-extensions");
    struct ws_deflate d;
    if (ws_deflate_parse(ext, &d) < 0)
        d.enabled = 0; /* the client fails such a 101: nothing compressed will follow */
    size_t cap = p->opts->max_body;
    t->sink = p->ws_messages;
    t->stored_max = (uint64_t)cap * WS_TAP_FLOW_BODIES; /* a socket open for days stays bounded */
    t->end.close_code = -1;
    t->end.closed_by = t->end.lost_by = "";
    t->started_us = (uint64_t)f->started.tv_sec * 1000000u + (uint64_t)f->started.tv_usec;
    if (!(t->from[0] = ws_reader_new(0, &d, cap, p->budget, on_message, t)) ||
        !(t->from[1] = ws_reader_new(1, &d, cap, p->budget, on_message, t))) {
        ws_reader_free(t->from[0]);
        free(t);
        return NULL;
    }
    t->flow_id = record_number(p, f);
    snprintf(f->note, sizeof f->note, "WebSocket%s: messages in the Messages tab",
             d.enabled ? " (permessage-deflate)" : "");
    store_messages_open(t->sink, t->flow_id, ext);
    return t;
}

void ws_tap_feed(struct ws_tap *t, int from_client, struct evbuffer *in)
{
    struct ws_reader *r = t->from[from_client ? 1 : 0];
    if (ws_reader_error(r)[0])
        return;
    struct evbuffer_iovec v[16];
    uint64_t now = wall_us();
    struct evbuffer_ptr at;
    evbuffer_ptr_set(in, &at, 0, EVBUFFER_PTR_SET);
    size_t left = evbuffer_get_length(in);
    while (left) {
        int n = evbuffer_peek(in, -1, &at, v, 16);
        if (n <= 0)
            break;
        if (n > 16)
            n = 16;
        size_t seen = 0;
        for (int i = 0; i < n && left; i++) {
            size_t len = v[i].iov_len < left ? v[i].iov_len : left;
            if (ws_reader_feed(r, v[i].iov_base, len, now) < 0)
                return;
            seen += len;
            left -= len;
        }
        if (left && evbuffer_ptr_set(in, &at, seen, EVBUFFER_PTR_ADD) < 0)
            break;
    }
}

void ws_tap_leg_ended(struct ws_tap *t, int client_side, int error)
{
    if (t->end.lost_by[0])
        return;
    t->end.lost_by = client_side ? "client" : "server";
    t->end.lost_error = error;
}

void ws_tap_finish(struct ws_tap *t)
{
    if (!t)
        return;
    t->end.end_us = wall_us();
    t->end.duration_ms = t->end.end_us > t->started_us ? (double)(t->end.end_us - t->started_us) / 1000.0 : 0;
    for (int i = 1; i >= 0; i--)
        if (ws_reader_error(t->from[i])[0] && !t->end.malformed[0])
            snprintf(t->end.malformed, sizeof t->end.malformed, "%s", ws_reader_error(t->from[i]));
    store_messages_end(t->sink, t->flow_id, &t->end, t->cut, t->dropped);
    ws_reader_free(t->from[0]);
    ws_reader_free(t->from[1]);
    free(t);
}
