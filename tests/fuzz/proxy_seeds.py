#!/usr/bin/env python3
"""proxy_seeds.py — write the seed inputs of fuzz_proxy and fuzz_proxy_ops (corpus/proxy*/seed-*):
well-formed exchanges the fuzzer mutates from (plain HTTP, CONNECT with and without TLS, upgrades,
failures). Run from anywhere; rewrites only the seed-* files."""
import os, struct

here = os.path.dirname(os.path.abspath(__file__))

def proxy(flags, client, upstream, piece=0):
    return bytes([flags, piece]) + struct.pack('<H', len(client)) + client + upstream

GET = b'GET http://fuzz.test/ HTTP/1.1\r\nHost: fuzz.test\r\n\r\n'
OK = b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'
CONNECT443 = b'CONNECT fuzz.test:443 HTTP/1.1\r\nHost: fuzz.test:443\r\n\r\n'
proxy_seeds = {
    'get': proxy(0, GET, OK),
    'get-pieces': proxy(0, GET, OK, piece=7),
    'post-chunked': proxy(0, b'POST http://fuzz.test/c HTTP/1.1\r\nHost: fuzz.test\r\n'
                          b'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
                          b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
    'pipelined': proxy(0, GET + b'GET http://fuzz.test/2 HTTP/1.1\r\nHost: fuzz.test\r\n\r\n', OK + OK),
    'head': proxy(0, b'HEAD http://fuzz.test/ HTTP/1.1\r\nHost: fuzz.test\r\n\r\n',
                  b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'),
    'until-close': proxy(32, b'GET http://fuzz.test/ HTTP/1.0\r\n\r\n', b'HTTP/1.1 200 OK\r\n\r\nbody'),
    'refused': proxy(1, GET, b''),
    'nxdomain': proxy(2, GET, b''),
    'timeout': proxy(3, GET, b''),
    'own-page': proxy(0, b'GET http://httpeek.test/ HTTP/1.1\r\nHost: httpeek.test\r\n\r\n', b''),
    'connect-tls': proxy(4, CONNECT443 + b'GET / HTTP/1.1\r\nHost: fuzz.test\r\n\r\n', OK),
    'connect-tls-post': proxy(4 | 16, CONNECT443 + b'POST /p HTTP/1.1\r\nHost: fuzz.test\r\n'
                              b'Content-Length: 3\r\n\r\nabc', OK),
    'connect-tls-reject': proxy(4 | 64, CONNECT443 + b'GET / HTTP/1.1\r\nHost: fuzz.test\r\n\r\n', OK),
    'connect-tls-raw-upstream': proxy(4 | 8, CONNECT443 + b'GET / HTTP/1.1\r\n\r\n', b'\x15\x03\x03\x00\x02\x02\x28'),
    'connect-plain': proxy(0, b'CONNECT fuzz.test:80 HTTP/1.1\r\nHost: fuzz.test:80\r\n\r\nping', b'pong'),
    'connect-other-host': proxy(4, b'CONNECT other.test:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n', OK),
    'websocket': proxy(0, b'GET http://fuzz.test/ws HTTP/1.1\r\nHost: fuzz.test\r\nConnection: Upgrade\r\n'
                       b'Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
                       b'Sec-WebSocket-Version: 13\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58',
                       b'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n'
                       b'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello'),
    'expect-100': proxy(0, b'POST http://fuzz.test/e HTTP/1.1\r\nHost: fuzz.test\r\nExpect: 100-continue\r\n'
                        b'Content-Length: 3\r\n\r\nabc', b'HTTP/1.1 100 Continue\r\n\r\n' + OK),
    'store-busy': proxy(128, GET, OK),
}

# fuzz_proxy_ops: (op, arg[, bytes]) pairs; op's bits 4-5 are extra settle rounds
C_BYTES, U_BYTES, C_MSG, U_MSG, C_SHUT, C_CLOSE, U_SHUT, U_CLOSE, TIMEOUT, SETTLE, NEXT, C_READ, U_READ, C_TLS, NEW, BUSY = range(16)
def ops(*steps):
    out = b''
    for s in steps:
        out += bytes([s[0], s[1]])
        if len(s) > 2:
            out += s[2]
    return out

ops_seeds = {
    'get': ops((C_MSG, 0), (U_MSG, 0), (SETTLE, 3)),
    'get-timeout': ops((C_MSG, 0), (TIMEOUT, 0), (TIMEOUT, 0)),
    'chunked-halfclose': ops((C_MSG, 2), (U_MSG, 1), (C_SHUT, 0), (SETTLE, 2), (U_SHUT, 0)),
    'connect-tls': ops((C_MSG, 3), (SETTLE, 2), (C_TLS, 0), (SETTLE, 4), (C_MSG, 5), (SETTLE, 3),
                       (U_MSG, 0), (SETTLE, 3), (C_MSG, 5), (U_MSG, 1), (SETTLE, 3)),
    'connect-tls-pool': ops((C_MSG, 3), (C_TLS, 0), (SETTLE, 4), (C_MSG, 5), (U_MSG, 0), (SETTLE, 3),
                            (C_CLOSE, 0), (SETTLE, 2), (NEW, 0), (C_MSG, 3), (C_TLS, 0), (SETTLE, 4),
                            (C_MSG, 5), (U_MSG, 0), (SETTLE, 3)),
    'connect-reject': ops((C_MSG, 3), (C_TLS, 1), (SETTLE, 4), (TIMEOUT, 0)),
    'connect-plain': ops((C_MSG, 4), (SETTLE, 2), (C_BYTES, 4, b'ping'), (U_BYTES, 4, b'pong'),
                         (U_SHUT, 0), (C_SHUT, 0)),
    'websocket': ops((C_MSG, 6), (U_MSG, 4), (SETTLE, 2), (C_BYTES, 3, b'\x81\x01a'),
                     (U_BYTES, 3, b'\x81\x01b'), (U_CLOSE, 0)),
    'big-body-slow-client': ops((C_MSG, 0), (U_MSG, 9), (C_READ, 0), (NEW, 7), (SETTLE, 3),
                                (C_READ, 0), (SETTLE, 5)),
    'big-upload-slow-upstream': ops((C_MSG, 13), (U_READ, 0), (NEW, 3), (TIMEOUT, 0), (U_READ, 0),
                                    (SETTLE, 5)),
    'refused-then-ok': ops((NEXT, 1), (C_MSG, 0), (SETTLE, 2), (NEW, 0), (NEXT, 0), (C_MSG, 0),
                           (U_MSG, 0)),
    'connect-timeout': ops((NEXT, 3), (C_MSG, 3), (SETTLE, 1), (TIMEOUT, 0)),
    'store-busy': ops((BUSY, 0), (C_MSG, 0), (TIMEOUT, 1), (BUSY, 0), (TIMEOUT, 1), (U_MSG, 0)),
    'connect-peek-wait': ops((C_MSG, 3), (SETTLE, 2), (TIMEOUT, 1), (C_BYTES, 3, b'\x16\x03\x01'), (TIMEOUT, 1), (TIMEOUT, 0)),
    'expect-continue': ops((C_MSG, 10), (U_MSG, 3), (SETTLE, 1), (C_MSG, 11), (U_MSG, 0)),
    'keepalive-idle': ops((C_MSG, 0), (U_MSG, 0), (SETTLE, 2), (TIMEOUT, 0), (C_MSG, 0), (U_MSG, 8)),
}

for name, seeds in (('proxy', proxy_seeds), ('proxy_ops', ops_seeds)):
    d = os.path.join(here, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(d, 'seed-' + k), 'wb') as f:
            f.write(v)
