/* fuzz_ws_frame.c — libFuzzer target for ws_frame.c: the input's first byte picks the side
 * (masked client frames or server frames) and the permessage-deflate parameters, its second a
 * split size; the rest is fed as that side's byte stream in pieces of that size, so frame
 * headers and payloads are cut everywhere. Every message handed back is checked against the
 * reader's promises (data within the capture limit, size at least the captured bytes). The
 * Sec-WebSocket-Extensions parser gets the same bytes as a header value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ws_frame.h"

#define CAPTURE 4096

static void check(const struct ws_msg *m, void *arg)
{
    (void)arg;
    if (m->len > CAPTURE + 2 || (m->opcode != WS_OP_CLOSE && m->size < m->len) ||
        m->opcode == WS_OP_CONT || (m->len && !m->data))
        abort();
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < m->len; i++)
        sink ^= m->data[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0];
    size_t piece = data[1] ? data[1] : 1;
    data += 2;
    size -= 2;
    char header[256];
    size_t hl = size < sizeof header - 1 ? size : sizeof header - 1;
    memcpy(header, data, hl);
    header[hl] = 0;
    struct ws_deflate d;
    ws_deflate_parse(header, &d);
    memset(&d, 0, sizeof d);
    d.enabled = (mode >> 1) & 1;
    d.client_no_context_takeover = (mode >> 2) & 1;
    d.server_no_context_takeover = (mode >> 3) & 1;
    d.client_max_window_bits = d.server_max_window_bits = 8 + (mode >> 4) % 8;
    struct ws_reader *r = ws_reader_new(mode & 1, &d, CAPTURE, NULL, check, NULL);
    if (!r)
        return 0;
    for (size_t at = 0; at < size; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        if (ws_reader_feed(r, data + at, n, at) < 0) {
            if (!ws_reader_error(r)[0])
                abort(); /* a malformed stream always says why */
            break;
        }
    }
    (void)ws_reader_midway(r);
    ws_reader_free(r);
    return 0;
}
