/* ws_frame.c — see ws_frame.h. A byte-at-a-time state machine over the frame header (at most 14
 * bytes, gathered in hdr), then the payload streamed through unmasking (and inflating) into the
 * message being assembled; nothing of the relayed stream is kept beyond the capture. */
#include "ws_frame.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* One message being assembled: a data message (text/binary, maybe fragmented) or a control frame
 * (whole in one frame, at most 125 bytes). */
struct ws_asm {
    struct budget *budget;     /* what buf holds is taken from it (NULL: no budget) */
    int opcode;
    unsigned flags;
    uint64_t size, wire_size;
    unsigned char *buf;
    size_t len, cap, max;
};

struct ws_reader {
    int from_client;
    struct ws_deflate deflate;
    size_t max_capture;
    ws_msg_fn fn;
    void *arg;
    char error[160];
    /* the frame header being read */
    unsigned char hdr[14];
    size_t hdr_len;
    /* the frame whose payload is being read (hdr_len == 0 and in_payload) */
    int in_payload;
    int fin, rsv1, opcode, masked;
    unsigned char mask[4];
    uint64_t remaining, offset;
    struct ws_asm data;        /* the data message (opcode 0 when none is open) */
    struct ws_asm ctl;         /* the control frame being read */
    z_stream zs;
    int zs_ready;              /* inflateInit2 done */
    int zs_broken;             /* the inflate context is lost: later messages with context takeover
                                  cannot be inflated */
};

static const unsigned char deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

const char *ws_opcode_name(int op)
{
    switch (op) {
    case WS_OP_CONT: return "continuation";
    case WS_OP_TEXT: return "text";
    case WS_OP_BINARY: return "binary";
    case WS_OP_CLOSE: return "close";
    case WS_OP_PING: return "ping";
    case WS_OP_PONG: return "pong";
    default: return "unknown";
    }
}

/* ---- Sec-WebSocket-Extensions ---- */

static int window_bits(const char *v, int *out)
{
    if (!*v) /* a bare client_max_window_bits in an answer is invalid; tolerate as 15 */
        return *out = 15, 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 8 || n > 15)
        return -1;
    *out = (int)n;
    return 0;
}

int ws_deflate_parse(const char *header, struct ws_deflate *out)
{
    memset(out, 0, sizeof *out);
    out->client_max_window_bits = out->server_max_window_bits = 15;
    if (!header)
        return 0;
    /* extensions are comma-separated, parameters of each semicolon-separated (RFC 6455 §9.1);
     * a server accepts at most one permessage-deflate */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", header);
    char *save_ext = NULL;
    for (char *ext = strtok_r(buf, ",", &save_ext); ext; ext = strtok_r(NULL, ",", &save_ext)) {
        char *save_p = NULL;
        char *name = strtok_r(ext, ";", &save_p);
        if (!name)
            continue;
        while (isspace((unsigned char)*name))
            name++;
        size_t nl = strlen(name);
        while (nl && isspace((unsigned char)name[nl - 1]))
            name[--nl] = 0;
        if (strcasecmp(name, "permessage-deflate") != 0)
            continue;
        struct ws_deflate d = *out;
        d.enabled = 1;
        for (char *p = strtok_r(NULL, ";", &save_p); p; p = strtok_r(NULL, ";", &save_p)) {
            while (isspace((unsigned char)*p))
                p++;
            char *eq = strchr(p, '=');
            char *v = "";
            if (eq) {
                *eq = 0;
                v = eq + 1;
                while (isspace((unsigned char)*v))
                    v++;
                if (*v == '"') {
                    v++;
                    char *q = strchr(v, '"');
                    if (q)
                        *q = 0;
                }
            }
            size_t pl = strlen(p);
            while (pl && isspace((unsigned char)p[pl - 1]))
                p[--pl] = 0;
            size_t vl = strlen(v);
            while (vl && isspace((unsigned char)v[vl - 1]))
                v[--vl] = 0;
            if (!strcasecmp(p, "client_no_context_takeover"))
                d.client_no_context_takeover = 1;
            else if (!strcasecmp(p, "server_no_context_takeover"))
                d.server_no_context_takeover = 1;
            else if (!strcasecmp(p, "client_max_window_bits")) {
                if (window_bits(v, &d.client_max_window_bits) < 0)
                    return -1;
            } else if (!strcasecmp(p, "server_max_window_bits")) {
                if (window_bits(v, &d.server_max_window_bits) < 0)
                    return -1;
            } else {
                return -1; /* an unknown parameter: the client would fail the connection */
            }
        }
        *out = d;
        return 0;
    }
    return 0;
}

/* ---- the reader ---- */

struct ws_reader *ws_reader_new(int from_client, const struct ws_deflate *deflate,
                                size_t max_capture, struct budget *budget, ws_msg_fn fn,
                                void *arg)
{
    struct ws_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->from_client = from_client;
    if (deflate)
        r->deflate = *deflate;
    r->max_capture = max_capture;
    r->fn = fn;
    r->arg = arg;
    r->data.max = max_capture;
    r->data.budget = budget;
    r->ctl.max = 125;
    return r;
}

void ws_reader_free(struct ws_reader *r)
{
    if (!r)
        return;
    if (r->zs_ready)
        inflateEnd(&r->zs);
    if (r->data.budget)
        budget_give(r->data.budget, r->data.cap);
    free(r->data.buf);
    free(r->ctl.buf);
    free(r);
}

const char *ws_reader_error(const struct ws_reader *r) { return r->error; }

int ws_reader_midway(const struct ws_reader *r)
{
    return !r->error[0] && (r->hdr_len > 0 || r->in_payload || r->data.opcode != 0);
}

static int fail(struct ws_reader *r, const char *why)
{
    if (!r->error[0])
        snprintf(r->error, sizeof r->error, "%s frame: %s", r->from_client ? "client" : "server",
                 why);
    return -1;
}

/* Keep up to a->max bytes of the message's payload; count them all. */
static void capture(struct ws_asm *a, const unsigned char *p, size_t n)
{
    a->size += n;
    size_t room = a->len < a->max ? a->max - a->len : 0;
    size_t take = n < room ? n : room;
    if (take < n)
        a->flags |= WS_MSG_CUT;
    if (!take)
        return;
    if (a->len + take > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->len + take)
            cap *= 2;
        if (cap > a->max)
            cap = a->max;
        if (a->budget && !budget_take(a->budget, cap - a->cap)) {
            a->flags |= WS_MSG_CUT; /* the memory budget is used up: the rest is counted only */
            a->max = a->len;
            return;
        }
        unsigned char *b = realloc(a->buf, cap);
        if (!b) {
            if (a->budget)
                budget_give(a->budget, cap - a->cap);
            a->flags |= WS_MSG_CUT;
            return;
        }
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, p, take);
    a->len += take;
}

/* Inflate n compressed bytes of the open data message into its capture. */
static void inflate_some(struct ws_reader *r, const unsigned char *p, size_t n)
{
    struct ws_asm *a = &r->data;
    if (a->flags & WS_MSG_INFLATE_FAILED)
        return;
    if (!r->zs_ready) {
        /* a window of 15 bits decodes what any smaller negotiated window produced */
        if (inflateInit2(&r->zs, -15) != Z_OK) {
            a->flags |= WS_MSG_INFLATE_FAILED;
            return;
        }
        r->zs_ready = 1;
    }
    unsigned char out[16384];
    r->zs.next_in = (unsigned char *)p;
    r->zs.avail_in = (uInt)n;
    for (;;) {
        r->zs.next_out = out;
        r->zs.avail_out = sizeof out;
        int rc = inflate(&r->zs, Z_SYNC_FLUSH);
        size_t got = sizeof out - r->zs.avail_out;
        capture(a, out, got);
        if (a->size > WS_INFLATE_MAX || (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)) {
            a->flags |= WS_MSG_INFLATE_FAILED | WS_MSG_CUT;
            r->zs_broken = 1; /* its window is lost: the next message may refer to it */
            return;
        }
        if (rc == Z_STREAM_END) { /* a final block: RFC 7692 allows it; start afresh */
            inflateReset(&r->zs);
            if (r->zs.avail_in == 0)
                break;
        }
        if ((rc == Z_BUF_ERROR && got == 0) || (r->zs.avail_in == 0 && r->zs.avail_out != 0))
            break; /* all read, and nothing more pending */
    }
}

static void emit(struct ws_reader *r, struct ws_asm *a, uint64_t now)
{
    struct ws_msg m = {.from_client = r->from_client, .opcode = a->opcode, .flags = a->flags,
                       .size = a->size, .wire_size = a->wire_size, .data = a->buf, .len = a->len,
                       .close_code = -1, .at_us = now};
    if (a->opcode == WS_OP_CLOSE && a->len >= 2) {
        m.close_code = a->buf[0] << 8 | a->buf[1];
        m.data += 2;
        m.len -= 2;
    }
    if (m.len == 0)
        m.data = (const unsigned char *)"";
    r->fn(&m, r->arg);
    a->opcode = 0;
    a->flags = 0;
    a->size = a->wire_size = 0;
    a->len = 0;
    if (a == &r->data)
        a->max = r->max_capture; /* a budget refusal cut only that message */
    if (a->cap > 65536 && a != &r->ctl) { /* do not keep a big buffer for the next small one */
        if (a->budget)
            budget_give(a->budget, a->cap);
        free(a->buf);
        a->buf = NULL;
        a->cap = 0;
    }
}

/* The data message ends: finish inflating (the tail the sender removed) and hand it over. */
static void end_data(struct ws_reader *r, uint64_t now)
{
    struct ws_asm *a = &r->data;
    if (a->flags & WS_MSG_COMPRESSED) {
        inflate_some(r, deflate_tail, sizeof deflate_tail);
        int reset = r->from_client ? r->deflate.client_no_context_takeover
                                   : r->deflate.server_no_context_takeover;
        if (reset && r->zs_ready) {
            inflateReset(&r->zs); /* the sender starts each message afresh: so can we */
            r->zs_broken = 0;
        }
    }
    emit(r, a, now);
}

/* A whole header is in hdr: check it against the RFC and start its payload. */
static int start_frame(struct ws_reader *r, uint64_t len)
{
    int b0 = r->hdr[0];
    r->fin = b0 >> 7;
    r->rsv1 = (b0 >> 6) & 1;
    r->opcode = b0 & 0x0f;
    if (b0 & 0x30)
        return fail(r, "RSV2/RSV3 set (no extension defines them)");
    int control = r->opcode >= 8;
    if ((r->opcode > 2 && r->opcode < 8) || r->opcode > 10)
        return fail(r, "reserved opcode");
    if (r->masked != r->from_client)
        return fail(r, r->from_client ? "not masked (a client must mask every frame)"
                                      : "masked (a server must not mask)");
    if (control) {
        if (!r->fin)
            return fail(r, "fragmented control frame");
        if (len > 125)
            return fail(r, "control frame over 125 bytes");
        if (r->rsv1)
            return fail(r, "RSV1 on a control frame");
        if (r->opcode == WS_OP_CLOSE && len == 1)
            return fail(r, "close frame with a 1-byte payload");
        r->ctl.opcode = r->opcode;
        r->ctl.flags = 0;
        r->ctl.size = r->ctl.len = 0;
        r->ctl.wire_size = len;
    } else if (r->opcode == WS_OP_CONT) {
        if (!r->data.opcode)
            return fail(r, "continuation frame with no message to continue");
        if (r->rsv1)
            return fail(r, "RSV1 on a continuation frame");
        r->data.wire_size += len;
    } else {
        if (r->data.opcode)
            return fail(r, "new message before the last one's final fragment");
        if (r->rsv1 && !r->deflate.enabled)
            return fail(r, "RSV1 set without permessage-deflate");
        r->data.opcode = r->opcode;
        r->data.flags = r->rsv1 ? WS_MSG_COMPRESSED : 0;
        r->data.size = r->data.len = 0;
        r->data.wire_size = len;
        if (r->rsv1 && r->zs_broken) {
            int reset = r->from_client ? r->deflate.client_no_context_takeover
                                       : r->deflate.server_no_context_takeover;
            if (!reset)
                r->data.flags |= WS_MSG_INFLATE_FAILED | WS_MSG_CUT;
        }
    }
    r->remaining = len;
    r->offset = 0;
    r->in_payload = 1;
    return 0;
}

static void end_frame(struct ws_reader *r, uint64_t now)
{
    r->in_payload = 0;
    if (r->opcode >= 8)
        emit(r, &r->ctl, now);
    else if (r->fin)
        end_data(r, now);
}

static void payload(struct ws_reader *r, const unsigned char *p, size_t n)
{
    unsigned char buf[4096];
    while (n) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = r->masked ? p[i] ^ r->mask[(r->offset + i) & 3] : p[i];
        r->offset += k;
        if (r->opcode >= 8)
            capture(&r->ctl, buf, k);
        else if (r->data.flags & WS_MSG_COMPRESSED)
            inflate_some(r, buf, k);
        else
            capture(&r->data, buf, k);
        p += k;
        n -= k;
    }
}

/* Bytes the header needs in all, from what of it is there (0: not known yet). */
static size_t header_size(const struct ws_reader *r)
{
    if (r->hdr_len < 2)
        return 0;
    size_t n = 2 + ((r->hdr[1] & 0x80) ? 4 : 0);
    int l7 = r->hdr[1] & 0x7f;
    return n + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
}

int ws_reader_feed(struct ws_reader *r, const void *data, size_t len, uint64_t now_us)
{
    const unsigned char *p = data;
    if (r->error[0])
        return -1;
    while (len) {
        if (r->in_payload) {
            size_t k = r->remaining < len ? (size_t)r->remaining : len;
            payload(r, p, k);
            p += k;
            len -= k;
            r->remaining -= k;
            if (!r->remaining)
                end_frame(r, now_us);
            continue;
        }
        r->hdr[r->hdr_len++] = *p++;
        len--;
        size_t need = header_size(r);
        if (!need || r->hdr_len < need)
            continue;
        r->masked = r->hdr[1] >> 7;
        int l7 = r->hdr[1] & 0x7f;
        uint64_t plen = (uint64_t)l7;
        size_t at = 2;
        if (l7 == 126) {
            plen = (uint64_t)r->hdr[2] << 8 | r->hdr[3];
            at = 4;
        } else if (l7 == 127) {
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | r->hdr[2 + i];
            at = 10;
            if (plen >> 63)
                return fail(r, "payload length with its top bit set");
        }
        if (r->masked)
            memcpy(r->mask, r->hdr + at, 4);
        r->hdr_len = 0;
        if (start_frame(r, plen) < 0)
            return -1;
        if (!r->remaining)
            end_frame(r, now_us);
    }
    return 0;
}
