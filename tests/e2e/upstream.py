#!/usr/bin/env python3
"""Scripted loopback upstream for the httpeek e2e tests (stdlib only).

It plays the origin server behind the proxy.  Three modes:

  http (default)  threaded HTTP/1.1 server, optionally over TLS (--cert/--key);
                  endpoints below; every response carries X-Conn-Id, a counter
                  of accepted TCP connections, so tests can see keep-alive reuse.
  echo            raw TCP echo (non-HTTP), for the opaque CONNECT tunnel test.
  blackhole       accepts, reads and discards, never answers (timeout tests).

HTTP endpoints (any method; HEAD gets the heads without the body):
  /bytes/N        N deterministic pseudo-random bytes, Content-Length
  /chunked/N      the same bytes, Transfer-Encoding: chunked, varied chunk sizes
  /gzip/N         the same bytes gzip-encoded (mtime 0), Content-Encoding: gzip
  /echo           the request body verbatim (Content-Length or chunked request,
                  Expect: 100-continue honoured); X-Body-Sha256, X-Body-Length,
                  X-Request-Chunked, X-Expect describe what was received
  /headers        JSON: request line, method, target, version, headers as
                  received (ordered [name, value] pairs), conn_id, tls, sni
  /status/N       status N; no body for 1xx/204/304, else a short text body
  /altsvc         short body with Alt-Svc: h3=":443" (the proxy strips it by default)
  /close          short body with Connection: close, then closes
  /slow/SECS      sleeps SECS before the first byte, then a short body
  /noread/SECS    reads no request body: waits SECS, answers 200 and closes (a server that
                  does not read, so the proxy's upload backs up)
  /trailers       chunked JSON body {trailers: the request's trailer fields as received
                  ([name, value] pairs), chunked, length}, then a trailer section:
                  grpc-status: 0, grpc-message: all good, x-body-sha256 (of the request body)
  /hangup         closes the connection without any response
Generated bodies also carry X-Body-Sha256 (of the identity bytes).

`upstream.py --gen N` writes the N bytes of /bytes/N to stdout (for checksums).

The bound port is written to --port-file once listening (use --port 0).
"""
import argparse
import gzip
import hashlib
import http.server
import json
import os
import random
import socket
import socketserver
import ssl
import sys
import threading
import time
from functools import lru_cache

CHUNK_SIZES = [1, 7, 100, 4096, 3, 65536, 16384, 1000, 2, 32768]
MAX_BODY = 64 * 1024 * 1024


@lru_cache(maxsize=16)
def gen_bytes(n):
    """N deterministic pseudo-random bytes (same N -> same bytes, any run)."""
    return random.Random(n).randbytes(n)


@lru_cache(maxsize=16)
def gzip_bytes(n):
    return gzip.compress(gen_bytes(n), compresslevel=6, mtime=0)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0

    def next(self):
        with self.lock:
            self.n += 1
            return self.n


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "upstream.py/1"

    # -- per connection ---------------------------------------------------
    def setup(self):
        super().setup()
        self.conn_id = self.server.conn_counter.next()
        self.expect_seen = ""

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("upstream.py[%s] conn=%d %s\n"
                             % (self.server.label, self.conn_id, fmt % args))

    def handle_expect_100(self):
        self.expect_seen = "100-continue"
        return super().handle_expect_100()

    # every method goes through one dispatcher
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    # -- helpers ----------------------------------------------------------
    def is_head(self):
        return self.command == "HEAD"

    def start(self, status, headers):
        self.send_response(status)
        self.send_header("X-Conn-Id", str(self.conn_id))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def send_body(self, status, body, ctype="application/octet-stream", extra=()):
        hdrs = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        hdrs.extend(extra)
        self.start(status, hdrs)
        if not self.is_head():
            self.wfile.write(body)

    def read_body(self):
        """Request body per RFC 9112 6.3: chunked wins over Content-Length."""
        te = self.headers.get("Transfer-Encoding", "")
        self.req_trailers = []
        if "chunked" in te.lower():
            parts = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("EOF in chunk size")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:  # trailers until the empty line
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                        k, _, v = t.decode("latin-1").partition(":")
                        self.req_trailers.append([k.strip(), v.strip()])
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after chunk data
            return b"".join(parts), True
        n = int(self.headers.get("Content-Length", "0") or "0")
        if n > MAX_BODY:
            raise ValueError("body too large")
        return (self.rfile.read(n) if n else b""), False

    # -- dispatcher -------------------------------------------------------
    def dispatch(self):
        path = self.path
        if path.startswith("http://") or path.startswith("https://"):
            # absolute-form reached the origin: report it, tests check origin-form
            pass
        route = path.split("?", 1)[0]
        parts = [p for p in route.split("/") if p]
        if parts and parts[0] == "noread":
            time.sleep(float(parts[1]) if len(parts) > 1 else 1)
            self.close_connection = True
            self.send_body(200, b"did not read\n", "text/plain", [("Connection", "close")])
            return
        try:
            body, chunked = self.read_body()
        except (ValueError, ConnectionError) as e:
            self.close_connection = True
            self.send_body(400, ("bad request body: %s\n" % e).encode(), "text/plain")
            return
        name = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        try:
            fn = getattr(self, "ep_" + name, None)
            if fn is None:
                self.send_body(404, b"no such endpoint\n", "text/plain")
                return
            fn(arg, body, chunked)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def ep_bytes(self, arg, body, chunked):
        data = gen_bytes(int(arg or "0"))
        self.send_body(200, data, extra=[("X-Body-Sha256", sha256(data))])

    def ep_chunked(self, arg, body, chunked):
        data = gen_bytes(int(arg or "0"))
        self.start(200, [("Content-Type", "application/octet-stream"),
                         ("Transfer-Encoding", "chunked"),
                         ("X-Body-Sha256", sha256(data))])
        if self.is_head():
            return
        off = 0
        i = 0
        out = []
        while off < len(data):
            n = CHUNK_SIZES[i % len(CHUNK_SIZES)]
            piece = data[off:off + n]
            out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
            off += len(piece)
            i += 1
            if len(out) >= 32:
                self.wfile.write(b"".join(out))
                out = []
        out.append(b"0\r\n\r\n")
        self.wfile.write(b"".join(out))

    def ep_trailers(self, arg, body, chunked):
        data = json.dumps({"trailers": self.req_trailers, "chunked": chunked,
                           "length": len(body)}).encode()
        self.start(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"),
                         ("Trailer", "grpc-status, grpc-message, x-body-sha256")])
        if self.is_head():
            return
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n0\r\ngrpc-status: 0\r\n"
                         b"grpc-message: all good\r\nx-body-sha256: " + sha256(body).encode() +
                         b"\r\n\r\n")

    def ep_gzip(self, arg, body, chunked):
        n = int(arg or "0")
        gz = gzip_bytes(n)
        self.send_body(200, gz, extra=[("Content-Encoding", "gzip"),
                                       ("X-Body-Sha256", sha256(gen_bytes(n))),
                                       ("X-Gzip-Sha256", sha256(gz))])

    def ep_echo(self, arg, body, chunked):
        self.send_body(200, body, extra=[("X-Body-Sha256", sha256(body)),
                                         ("X-Body-Length", str(len(body))),
                                         ("X-Request-Chunked", "1" if chunked else "0"),
                                         ("X-Expect", self.expect_seen or "none")])

    def ep_headers(self, arg, body, chunked):
        sock = self.connection
        info = {
            "request_line": self.requestline,
            "method": self.command,
            "target": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            # header lines Python's parser dropped (":method: GET" has no name: a defect)
            "defects": [str(d) for d in self.headers.defects],
            "conn_id": self.conn_id,
            "body_length": len(body),
            "tls": isinstance(sock, ssl.SSLSocket),
            "sni": getattr(sock, "httpeek_sni", None),
            "alpn": sock.selected_alpn_protocol() if isinstance(sock, ssl.SSLSocket) else None,
        }
        self.send_body(200, (json.dumps(info, indent=1) + "\n").encode(), "application/json")

    def ep_status(self, arg, body, chunked):
        code = int(arg or "200")
        if code < 200 or code in (204, 304):
            hdrs = [("ETag", '"v1"')] if code == 304 else []
            self.start(code, hdrs)
            return
        self.send_body(code, ("status %d\n" % code).encode(), "text/plain")

    def ep_altsvc(self, arg, body, chunked):
        self.send_body(200, b"h3 offered\n", "text/plain",
                       extra=[("Alt-Svc", 'h3=":443"; ma=86400'), ("X-After", "kept")])

    def ep_close(self, arg, body, chunked):
        self.close_connection = True
        self.send_body(200, b"bye\n", "text/plain", extra=[("Connection", "close")])

    def ep_eof(self, arg, body, chunked):
        """N bytes whose end is the connection's close (no length, no chunks)."""
        data = gen_bytes(int(arg or "0"))
        self.close_connection = True
        self.start(200, [("Content-Type", "application/octet-stream"), ("Connection", "close"),
                         ("X-Body-Sha256", sha256(data))])
        if not self.is_head():
            self.wfile.write(data)
        self.wfile.flush()
        # a clean TLS end (close_notify): without it the body's end could be a truncation, which
        # httpeek passes on as one
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.settimeout(5)
                self.connection.unwrap()
            except (ssl.SSLError, OSError):
                pass

    def ep_page(self, arg, body, chunked):
        """An HTML page loading N images (/bytes/200?i=K): a browser's many parallel requests."""
        imgs = "".join('<img src="/bytes/200?i=%d">' % i for i in range(int(arg or "0")))
        self.send_body(200, ("<!doctype html><title>page</title>%s\n" % imgs).encode(),
                       "text/html")

    def ep_slow(self, arg, body, chunked):
        time.sleep(float(arg or "1"))
        self.send_body(200, b"slow\n", "text/plain")

    def ep_hangup(self, arg, body, chunked):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # runs in the per-connection thread: the TLS handshake happens here so a
        # slow or silent client never blocks accept()
        if self.ssl_ctx is not None:
            request.settimeout(30)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                if not self.quiet:
                    sys.stderr.write("upstream.py[%s] TLS handshake failed: %s\n"
                                     % (self.label, e))
                request.close()
                return
            request.settimeout(None)
        try:
            super().finish_request(request, client_address)
        finally:
            try:
                request.close()
            except OSError:
                pass


def serve_stream(sock, label, quiet, handler):
    sock.listen(512)
    while True:
        c, peer = sock.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def echo_conn(c):
    with c:
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                return
            if not b:
                try:
                    c.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            c.sendall(b)


def blackhole_conn(c):
    with c:
        while True:
            try:
                if not c.recv(65536):
                    return
            except OSError:
                return


def write_port_file(path, port):
    if path:
        with open(path + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["http", "echo", "blackhole"], default="http")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--label", default="up")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--gen", type=int, help="write /bytes/N content to stdout and exit")
    a = ap.parse_args()

    if a.gen is not None:
        sys.stdout.buffer.write(gen_bytes(a.gen))
        return

    if a.mode in ("echo", "blackhole"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", a.port))
        write_port_file(a.port_file, s.getsockname()[1])
        print("upstream.py %s listening on 127.0.0.1:%d" % (a.mode, s.getsockname()[1]),
              flush=True)
        serve_stream(s, a.label, a.quiet, echo_conn if a.mode == "echo" else blackhole_conn)
        return

    srv = Server(("127.0.0.1", a.port), Handler)
    srv.conn_counter = Counter()
    srv.label = a.label
    srv.quiet = a.quiet
    srv.ssl_ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        ctx.set_alpn_protocols(["http/1.1"])

        def sni_cb(sslsock, name, _ctx):
            sslsock.httpeek_sni = name
            return None
        ctx.sni_callback = sni_cb
        srv.ssl_ctx = ctx
    port = srv.server_address[1]
    write_port_file(a.port_file, port)
    print("upstream.py http%s listening on 127.0.0.1:%d" % ("s" if a.cert else "", port),
          flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
