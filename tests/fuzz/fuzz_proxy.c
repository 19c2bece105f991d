/* fuzz_proxy.c — libFuzzer target: the whole proxy path (session.c, front_h1.c, exchange.c,
 * tunnel.c, relay.c, the legs, TLS both ways, the pool) with fuzzed bytes on both sides, through
 * proxy_harness.h. Input: a flags byte, a piece size, the client's byte count (2 bytes, little endian), the client's bytes, then the
 * upstream's bytes. The two streams are written in pieces, alternately, the event loop running
 * between pieces; then the flags' closes, deadlines passing by hand, and the end. Oracle: no
 * crash, no sanitizer report, no leak (memory or socket), no connection that outlives its peers
 * and its deadlines.
 * Flags: bits 0-1 the upstream connect (ok, refused, no such host, times out); bit 2 the client
 * starts TLS after its first head (CONNECT then TLS); bit 3 the upstream never answers TLS with
 * TLS; bit 4 the client half-closes after its bytes; bit 5 the upstream closes after its bytes;
 * bit 6 the client refuses httpeek's certificate; bit 7 the store is behind. */
#include <stdint.h>
#include <string.h>
#include "proxy_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return harness_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    unsigned flags = data[0];
    size_t piece = data[1] ? data[1] : 4096;
    size_t clen = (size_t)data[2] | (size_t)data[3] << 8;
    data += 4;
    size -= 4;
    if (clen > size)
        clen = size;
    const uint8_t *cl = data, *up = data + clen;
    size_t ulen = size - clen;

    harness_begin();
    harness_next_connect((enum harness_outcome)(flags & 3), (flags >> 3) & 1);
    harness_store_busy((flags >> 7) & 1);
    harness_new_client();
    harness_settle(1);
    size_t tls_at = 0; /* client bytes before TLS starts: the first head */
    if (flags & 4) {
        const uint8_t *e = memmem(cl, clen, "\r\n\r\n", 4);
        tls_at = e ? (size_t)(e - cl) + 4 : clen;
    }
    size_t ci = 0, ui = 0;
    int tls_started = 0;
    while (ci < clen || ui < ulen) {
        if (ci < clen) {
            size_t n = clen - ci < piece ? clen - ci : piece;
            if (tls_at && !tls_started && ci < tls_at && ci + n > tls_at)
                n = tls_at - ci;
            harness_client_write(cl + ci, n);
            ci += n;
            harness_settle(1);
            if (tls_at && !tls_started && ci >= tls_at) {
                harness_settle(2); /* the answer to the CONNECT */
                harness_client_start_tls((flags >> 6) & 1);
                tls_started = 1;
                harness_settle(2);
            }
        }
        if (ui < ulen) {
            size_t n = ulen - ui < piece ? ulen - ui : piece;
            harness_upstream_write(up + ui, n);
            ui += n;
            harness_settle(1);
        }
    }
    harness_settle(2);
    if (flags & 16)
        harness_client_shutdown();
    if (flags & 32)
        harness_upstream_close();
    harness_settle(2);
    harness_timeouts(1);
    harness_end();
    return 0;
}
