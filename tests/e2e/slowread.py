#!/usr/bin/env python3
"""slowread.py — a slowhttptest-style slow-read attack through an HTTP proxy, and its upstream.

  slowread.py serve --port-file F
      an asyncio HTTP/1.1 server: GET /big/N answers N bytes of body(N) (Content-Length, keep
      reading the socket's pace: it writes as fast as the proxy reads); GET /json/N answers N
      bytes of a JSON array that never closes; GET /small answers "ok".
  slowread.py attack --proxy PORT --upstream HOST:PORT --conns C --size N --slow SECS
                     --ready FILE --out FILE
      opens C connections to the proxy, each with a tiny receive buffer, sends one absolute-form
      GET /big/N on each, reads a few bytes a second from each for SECS seconds (touching FILE
      once every request is sent), then reads everything as fast as it can and writes one JSON
      line to --out: {"conns", "complete" (responses with status 200 and all N body bytes),
      "body_ok" (of those, bytes equal to body(N)), "statuses": {status: count}, "errors"}.
  slowread.py sha N
      prints the sha256 of body(N).

body(N) repeats a fixed 1 KiB block of pseudo-random bytes, so the store's compression keeps
the session small while every byte still has to arrive in its place.
"""
import asyncio
import hashlib
import json
import os
import random
import selectors
import socket
import sys
import time
import zlib

_BLOCK = random.Random(17).randbytes(1024)
_cache = {}


def body(n):
    if n not in _cache:
        _cache[n] = (_BLOCK * (n // len(_BLOCK) + 1))[:n]
    return _cache[n]


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            path = line[1] if len(line) > 1 else "/"
            if path.startswith("http://"):  # absolute form (asked directly, without the proxy)
                path = "/" + path.split("/", 3)[3]
            if path.startswith("/big/"):
                data = body(int(path[5:]))
                ctype = b"application/octet-stream"
            elif path.startswith("/json/"):  # a JSON array cut short: it never closes
                n = int(path[6:])
                data = (b"[" + b'{"k": 12345678},' * (n // 16 + 1))[:n]
                ctype = b"application/json"
            else:
                data = b"ok\n"
                ctype = b"text/plain"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype +
                         b"\r\nContent-Length: %d\r\n\r\n" % len(data))
            view = memoryview(data)
            for at in range(0, len(data), 256 << 10):
                writer.write(view[at:at + (256 << 10)])
                await writer.drain()
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def serve(port_file):
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, port_file)
    async with server:
        await server.serve_forever()


class Conn:
    def __init__(self, sock, size):
        self.sock = sock
        self.size = size
        self.head = b""
        self.status = None
        self.got = 0
        self.crc = 0
        self.done = False
        self.error = None

    def feed(self, data):
        if self.status is None:
            self.head += bytes(data)
            if b"\r\n\r\n" not in self.head:
                return
            head, rest = self.head.split(b"\r\n\r\n", 1)
            self.status = head.split(b" ", 2)[1].decode("latin-1")
            self.head = head
            data = rest
            if self.status != "200":
                self.done = True
                return
        self.got += len(data)
        self.crc = zlib.crc32(data, self.crc)
        if self.got >= self.size:
            self.done = True


def attack(a):
    sel = selectors.DefaultSelector()
    conns = []
    req = ("GET http://%s/big/%d HTTP/1.1\r\nHost: %s\r\n\r\n" %
           (a.upstream, a.size, a.upstream)).encode()
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # before connect: small window
        s.settimeout(10)
        s.connect(("127.0.0.1", a.proxy))
        s.sendall(req)
        s.setblocking(False)
        conns.append(Conn(s, a.size))
    with open(a.ready, "w") as f:
        f.write("sent\n")
    end = time.monotonic() + a.slow
    while time.monotonic() < end:  # a few bytes a second from each
        for c in conns:
            if c.done:
                continue
            try:
                data = c.sock.recv(64)
            except BlockingIOError:
                continue
            except OSError as e:
                c.error = str(e)
                c.done = True
                continue
            if not data:
                c.error = "closed early"
                c.done = True
            else:
                c.feed(data)
        time.sleep(1)
    for c in conns:  # now read as fast as possible: a normal receive buffer again
        if not c.done:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sel.register(c.sock, selectors.EVENT_READ, c)
    left = sum(1 for c in conns if not c.done)
    deadline = time.monotonic() + a.drain_timeout
    buf = bytearray(256 << 10)
    view = memoryview(buf)
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            c = key.data
            try:
                n = c.sock.recv_into(buf)
                data = view[:n]
            except BlockingIOError:
                continue
            except OSError as e:
                data, c.error = b"", str(e)
            if not data:
                c.error = c.error or "closed early"
                c.done = True
            else:
                c.feed(data)
            if c.done:
                sel.unregister(c.sock)
                left -= 1
    want = zlib.crc32(body(a.size))
    statuses = {}
    for c in conns:
        statuses[c.status or "none"] = statuses.get(c.status or "none", 0) + 1
    complete = [c for c in conns if c.status == "200" and c.got == a.size]
    errors = sorted({c.error for c in conns if c.error and not (c.status == "200" and c.got == a.size)})
    out = {"conns": len(conns), "complete": len(complete),
           "body_ok": sum(1 for c in complete if c.crc == want), "statuses": statuses,
           "errors": errors[:5], "unfinished": left}
    with open(a.out, "w") as f:
        f.write(json.dumps(out) + "\n")
    for c in conns:
        c.sock.close()


def main():
    import argparse
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port-file", required=True)
    t = sub.add_parser("attack")
    t.add_argument("--proxy", type=int, required=True)
    t.add_argument("--upstream", required=True)
    t.add_argument("--conns", type=int, required=True)
    t.add_argument("--size", type=int, required=True)
    t.add_argument("--slow", type=float, default=8)
    t.add_argument("--drain-timeout", type=float, default=60)
    t.add_argument("--ready", required=True)
    t.add_argument("--out", required=True)
    h = sub.add_parser("sha")
    h.add_argument("n", type=int)
    a = ap.parse_args()
    if a.cmd == "serve":
        asyncio.run(serve(a.port_file))
    elif a.cmd == "attack":
        attack(a)
    else:
        print(hashlib.sha256(body(a.n)).hexdigest())


if __name__ == "__main__":
    main()
