/* ws_frame.h — an incremental RFC 6455 frame reader for one direction of a WebSocket that httpeek
 * relays: it is shown the bytes as they pass (never changes or holds them) and hands back whole
 * messages: text and binary reassembled from their fragments (control frames may come between),
 * ping, pong and close (code and reason). permessage-deflate (RFC 7692) messages are inflated
 * with zlib, honouring the negotiated context takeover; what is captured of a message is bounded
 * (the rest is counted) and so is what inflating may produce (deflate bombs). A frame that breaks
 * the RFC (bad opcode, reserved bits, a client frame not masked or a server frame masked, a
 * fragmented or oversized control frame, a stray continuation) stops the reader for good with a
 * reason; the relay itself carries on. One reader belongs to one thread (no locking). */
#ifndef HTTPEEK_WS_FRAME_H
#define HTTPEEK_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"
#include "budget.h"

enum ws_opcode {
    WS_OP_CONT = 0, WS_OP_TEXT = 1, WS_OP_BINARY = 2,
    WS_OP_CLOSE = 8, WS_OP_PING = 9, WS_OP_PONG = 10
};

/* Flags of a message (ws_msg.flags). */
#define WS_MSG_COMPRESSED 1u    /* sent with permessage-deflate (RSV1); data is inflated */
#define WS_MSG_CUT 2u           /* data holds only the first bytes of the message (size has all) */
#define WS_MSG_INFLATE_FAILED 4u /* could not be inflated (bad stream, or too big): data cut there */

/* Most bytes inflating one message may produce before it is given up (WS_MSG_INFLATE_FAILED):
 * past it only a deflate bomb would go, and inflating it all would cost seconds of CPU. */
#define WS_INFLATE_MAX (64u << 20)

/* The permessage-deflate offer the server accepted in its 101 (RFC 7692 §7). */
struct ws_deflate {
    int enabled;
    int client_no_context_takeover; /* the client resets its compressor after each message */
    int server_no_context_takeover;
    int client_max_window_bits;     /* 8..15; 15 when not given */
    int server_max_window_bits;
};

/* Parse a Sec-WebSocket-Extensions value from a 101 (NULL allowed: none). Fills *out (enabled 0
 * when permessage-deflate is not in it). Returns 0, or -1 when its parameters are invalid
 * (the extension is then taken as not negotiated). */
int ws_deflate_parse(const char *header, struct ws_deflate *out) HP_NONNULL(2);

/* One message (or control frame) as the reader completes it. Borrowed for the callback only. */
struct ws_msg {
    int from_client;            /* 1: client → server */
    enum ws_opcode opcode;      /* TEXT, BINARY, CLOSE, PING or PONG (never CONT) */
    unsigned flags;             /* WS_MSG_* */
    uint64_t size;              /* payload bytes of the whole message (inflated when compressed;
                                   what was inflated when that failed) */
    uint64_t wire_size;         /* payload bytes on the wire (compressed size) */
    const unsigned char *data;  /* the captured payload (for CLOSE: the reason only) */
    size_t len;
    int close_code;             /* CLOSE: the status code, -1 when the frame had none */
    uint64_t at_us;             /* when its last frame arrived (the time given to ws_reader_feed) */
};

typedef void (*ws_msg_fn)(const struct ws_msg *m, void *arg);

struct ws_reader;

/* A reader for the frames one side sends (from_client: masked frames expected). deflate: what the
 * 101 negotiated (NULL: no extension). Each message's data is captured up to max_capture bytes,
 * its buffer taken from budget (NULL: none) as it grows: what the budget refuses is not captured
 * (WS_MSG_CUT). fn is called for each message from inside ws_reader_feed. NULL on OOM. */
struct ws_reader *ws_reader_new(int from_client, const struct ws_deflate *deflate,
                                size_t max_capture, struct budget *budget, ws_msg_fn fn,
                                void *arg) HP_WUNRES;

/* Read the next len bytes that side sent, at time now_us. Returns 0, or -1 once the stream is
 * malformed (then and after: nothing more is read; ws_reader_error says why). */
int ws_reader_feed(struct ws_reader *r, const void *data, size_t len, uint64_t now_us)
    HP_NONNULL(1);

/* Why the stream was taken as malformed, "" while it is not. */
const char *ws_reader_error(const struct ws_reader *r) HP_NONNULL(1);

/* 1 while a frame or a fragmented message is only partly read (a connection that ends then
 * ended mid-message). */
int ws_reader_midway(const struct ws_reader *r) HP_NONNULL(1);

/* NULL allowed. */
void ws_reader_free(struct ws_reader *r);

/* "text", "binary", "close", "ping", "pong", "continuation" or "unknown". */
const char *ws_opcode_name(int opcode);

#endif
