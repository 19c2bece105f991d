#!/usr/bin/env python3
"""A raw loopback upstream that misbehaves on request (stdlib only, 127.0.0.1 only).

The request path picks the behaviour, so a client always knows what it asked for:
  /ok/N            N body bytes with Content-Length (keep-alive)
  /chunked/N       N body bytes chunked, 1000-byte chunks (keep-alive)
  /eof/N           N body bytes, no length: delimited by the close
  /reset-head      part of a response head, then a TCP reset
  /reset-body      Content-Length 10000, 3000 bytes, then a reset
  /reset-chunk     chunked, a chunk announced as 4096 bytes cut after 500, then a reset
  /overlong/N      Content-Length N, then N + 100 bytes (100 the client must never see)
  /endless         chunked body that never ends (until the peer goes away)
  /noread          answers 200 at once without reading the request body, then waits
  /silent          reads nothing more and never answers
  /slow/MS         waits MS milliseconds, then /ok/10
  /resp-cl-te, /resp-dup-cl, /resp-bad-chunk, /resp-bare-lf, /resp-obs-fold, /resp-204-body,
  /resp-te-split   responses with broken or unusual framing
Bodies are bytes of "0123456789" repeated. Every accepted connection and the bytes it
delivered are appended to --record FILE as
"conn <n> bytes <count> requests <complete requests read> first <request line>" when it ends;
as they happen, "accept <n>" when one is accepted and "request <n> <request line>" for each
request read whole (so a test can count them without waiting for connections to close).
With --cert/--key every connection is TLS (ALPN http/1.1).
"""
import argparse
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

PATTERN = b"0123456789" * 1000


# Responses that break HTTP/1.1 framing rules (a proxy must not pass them on as they are).
CANNED = {
    "resp-cl-te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled",
    "resp-dup-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 13\r\n\r\nhello, world!",
    "resp-bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "resp-bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
    "resp-obs-fold": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n \r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "resp-204-body": b"HTTP/1.1 204 No Content\r\nContent-Length: 8\r\n\r\nsmuggled",
    "resp-te-split": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\n",
}


def body(n):
    out = PATTERN * (n // len(PATTERN)) + PATTERN[: n % len(PATTERN)]
    return out


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.total = 0
        self.complete = 0  # requests read whole (head and body)

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError
        self.total += len(b)
        self.buf += b

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise EOFError
            self.fill()
        h, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return h

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        l, _, self.buf = self.buf.partition(b"\r\n")
        return l

    def read_body(self, headers):
        te = headers.get(b"transfer-encoding", b"").lower()
        if b"chunked" in te:
            while True:
                size = int(self.line().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.line():
                        pass
                    return
                self.take(size + 2)
        n = int(headers.get(b"content-length", b"0") or b"0")
        if n:
            self.take(n)

    def reset(self):
        raw = self.s
        if isinstance(raw, ssl.SSLSocket):  # reset the TCP connection under the TLS session
            raw = socket.socket(fileno=raw.detach())
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        if self.server.tls:
            try:
                self.request.settimeout(10)
                self.request = self.server.tls.wrap_socket(self.request, server_side=True)
                self.request.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        c = Conn(self.request)
        srv = self.server
        with srv.lock:
            srv.nconn += 1
            n = srv.nconn
        self.n = n
        self.note("accept %d" % n)
        first = b""
        try:
            self.serve(c)
        except (EOFError, OSError, ValueError):
            pass
        finally:
            first = getattr(c, "first", b"")
            if srv.record:
                with srv.lock, open(srv.record, "a") as f:
                    f.write("conn %d bytes %d requests %d first %s\n"
                            % (n, c.total, c.complete, first.decode("latin-1")))

    def note(self, line):
        if self.server.record:
            with self.server.lock, open(self.server.record, "a") as f:
                f.write(line + "\n")

    def serve(self, c):
        s = c.s
        while True:
            h = c.head()
            lines = h.split(b"\r\n")
            if not getattr(c, "first", b""):
                c.first = lines[0]
            parts = lines[0].split(b" ")
            path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
            if "://" in path:
                path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
            headers = {}
            for l in lines[1:]:
                k, _, v = l.partition(b":")
                headers[k.strip().lower()] = v.strip()
            seg = [p for p in path.split("?")[0].split("/") if p]
            what = seg[0] if seg else "ok"
            arg = int(seg[1]) if len(seg) > 1 and seg[1].isdigit() else 10
            close = headers.get(b"connection", b"").lower() == b"close"
            if what == "silent":
                time.sleep(3600)
                return
            if what == "noread":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnoread")
                time.sleep(30)
                return
            c.read_body(headers)
            c.complete += 1
            self.note("request %d %s" % (self.n, lines[0].decode("latin-1")))
            if what in CANNED:
                s.sendall(CANNED[what])
                time.sleep(0.2)
                return
            if what == "slow":
                time.sleep(arg / 1000.0)
                what, arg = "ok", 10
            if what == "ok":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s"
                          % (arg, b"Connection: close\r\n" if close else b"", body(arg)))
                if close:
                    return
            elif what == "chunked":
                out = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
                b = body(arg)
                for i in range(0, len(b), 1000):
                    out.append(b"%x\r\n%s\r\n" % (len(b[i:i + 1000]), b[i:i + 1000]))
                out.append(b"0\r\n\r\n")
                s.sendall(b"".join(out))
                if close:
                    return
            elif what == "eof":
                s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body(arg))
                s.shutdown(socket.SHUT_WR)
                return
            elif what == "reset-head":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
                time.sleep(0.05)
                c.reset()
                return
            elif what == "reset-body":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + body(3000))
                time.sleep(0.05)
                c.reset()
                return
            elif what == "reset-chunk":
                s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + body(500))
                time.sleep(0.05)
                c.reset()
                return
            elif what == "overlong":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s%s"
                          % (arg, body(arg), b"EXTRA" * 20))
                time.sleep(0.3)
                return
            elif what == "endless":
                s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"%x\r\n%s\r\n" % (16384, body(16384))
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    s.sendall(chunk)
                return
            else:
                s.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--record")
    ap.add_argument("--cert", help="serve TLS with this certificate (PEM)")
    ap.add_argument("--key")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.lock = threading.Lock()
    srv.nconn = 0
    srv.record = a.record
    srv.tls = None
    if a.cert:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(a.cert, a.key)
        srv.tls.set_alpn_protocols(["http/1.1"])
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
