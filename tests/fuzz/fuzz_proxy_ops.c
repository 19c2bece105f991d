/* fuzz_proxy_ops.c — libFuzzer target: the stateful one. The input is a program run against the
 * real connection code through proxy_harness.h: each operation byte (low 4 bits) interleaves
 * client writes, upstream writes (fuzzed bytes, or one of a few well-formed messages, so the
 * fuzzer reaches deep states quickly), half-closes and closes of either side, deadlines passing,
 * back-pressure (a side that stops reading), TLS started by the client, connect failures, the
 * store falling behind and more client connections. The loop runs a step after every operation.
 * Oracle: as fuzz_proxy (no crash, leak, stuck connection or leaked socket). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proxy_harness.h"

enum op {
    OP_CLIENT_BYTES, OP_UPSTREAM_BYTES, OP_CLIENT_MSG, OP_UPSTREAM_MSG, OP_CLIENT_SHUTDOWN,
    OP_CLIENT_CLOSE, OP_UPSTREAM_SHUTDOWN, OP_UPSTREAM_CLOSE, OP_TIMEOUT, OP_SETTLE,
    OP_NEXT_CONNECT, OP_CLIENT_READING, OP_UPSTREAM_READING, OP_CLIENT_TLS, OP_NEW_CLIENT,
    OP_STORE_BUSY,
};

static const char *const client_msgs[] = {
    "GET http://fuzz.test/ HTTP/1.1\r\nHost: fuzz.test\r\n\r\n",
    "POST http://fuzz.test/p HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 5\r\n\r\nhello",
    "POST http://fuzz.test/c HTTP/1.1\r\nHost: fuzz.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n0\r\n\r\n",
    "CONNECT fuzz.test:443 HTTP/1.1\r\nHost: fuzz.test:443\r\n\r\n",
    "CONNECT fuzz.test:80 HTTP/1.1\r\nHost: fuzz.test:80\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: fuzz.test\r\n\r\n", /* origin-form: inside a tunnel */
    "GET http://fuzz.test/ws HTTP/1.1\r\nHost: fuzz.test\r\nConnection: Upgrade\r\n"
    "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "HEAD http://fuzz.test/ HTTP/1.1\r\nHost: fuzz.test\r\n\r\n",
    "GET http://httpeek.test/ HTTP/1.1\r\nHost: httpeek.test\r\n\r\n",
    "GET http://fuzz.test/ HTTP/1.0\r\n\r\n",
    "POST http://fuzz.test/e HTTP/1.1\r\nHost: fuzz.test\r\nExpect: 100-continue\r\n"
    "Content-Length: 3\r\n\r\n",
    "abc",
    "CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n",
    "POST http://fuzz.test/big HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 400000\r\n\r\n",
};

static const char *const upstream_msgs[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\r\nuntil the upstream closes",
    "HTTP/1.1 100 Continue\r\n\r\n",
    ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 400000\r\n\r\n",
};

/* 400000 bytes of body for the "big" messages, in pieces of the program's choosing. */
static char big[65536];

static const uint8_t *take(const uint8_t **d, size_t *left, size_t n)
{
    if (n > *left)
        n = *left;
    const uint8_t *p = *d;
    *d += n;
    *left -= n;
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memset(big, 'b', sizeof big);
    return harness_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_begin();
    harness_new_client();
    harness_settle(1);
    const uint8_t *d = data;
    size_t left = size;
    int client_reading = 1, upstream_reading = 1, busy = 0;
    for (int ops = 0; left > 0 && ops < 256; ops++) {
        uint8_t b = *take(&d, &left, 1);
        uint8_t arg = left ? *take(&d, &left, 1) : 0;
        switch ((enum op)(b & 15)) {
        case OP_CLIENT_BYTES:
        case OP_UPSTREAM_BYTES: {
            size_t n = arg;
            if (n > left)
                n = left;
            const uint8_t *p = take(&d, &left, n);
            if ((b & 15) == OP_CLIENT_BYTES)
                harness_client_write(p, n);
            else
                harness_upstream_write(p, n);
            break;
        }
        case OP_CLIENT_MSG: {
            const char *m = client_msgs[arg % (sizeof client_msgs / sizeof *client_msgs)];
            harness_client_write(m, strlen(m));
            break;
        }
        case OP_UPSTREAM_MSG: {
            const char *m = upstream_msgs[arg % (sizeof upstream_msgs / sizeof *upstream_msgs)];
            harness_upstream_write(m, strlen(m));
            break;
        }
        case OP_CLIENT_SHUTDOWN: harness_client_shutdown(); break;
        case OP_CLIENT_CLOSE: harness_client_close(); break;
        case OP_UPSTREAM_SHUTDOWN: harness_upstream_shutdown(); break;
        case OP_UPSTREAM_CLOSE: harness_upstream_close(); break;
        case OP_TIMEOUT: harness_timeouts(!(arg & 1)); break; /* odd arg: a short time */
        case OP_SETTLE: harness_settle(arg & 7); break;
        case OP_NEXT_CONNECT:
            harness_next_connect((enum harness_outcome)(arg & 3), (arg >> 2) & 1);
            break;
        case OP_CLIENT_READING:
            client_reading = !client_reading;
            harness_client_reading(client_reading);
            break;
        case OP_UPSTREAM_READING:
            upstream_reading = !upstream_reading;
            harness_upstream_reading(upstream_reading);
            break;
        case OP_CLIENT_TLS: harness_client_start_tls(arg & 1); break;
        case OP_NEW_CLIENT:
            if ((arg & 3) == 3) { /* a big body, 64 KiB at a time, to the side arg says */
                for (int i = 0; i < 7; i++) {
                    if (arg & 4)
                        harness_upstream_write(big, sizeof big);
                    else
                        harness_client_write(big, sizeof big);
                    harness_settle(1);
                }
            } else if (harness_new_client() >= 0) {
                client_reading = 1;
            }
            break;
        case OP_STORE_BUSY:
            busy = !busy;
            harness_store_busy(busy);
            break;
        }
        harness_settle(b >> 4 & 3);
    }
    harness_end();
    return 0;
}
