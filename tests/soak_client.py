#!/usr/bin/env python3
"""Soak load for httpeek (stdlib only, 127.0.0.1 only): many client threads for a while.

    soak_client.py --proxy PORT --plain PORT --tls PORT --ca FILE --seconds S --clients N --out FILE

Each client loops until the deadline over connections that are plain proxy requests (absolute
URLs) or CONNECT tunnels intercepted by httpeek (TLS, origin-form), keep-alive for 1-5 requests
or one request with Connection: close. Paths pick faults in tests/e2e/faulty.py at random:
normal bodies (length, chunked, until-close, too long), resets mid-head / mid-body / mid-chunk,
endless bodies the client gives up on, servers that answer without reading an upload or never
answer. Clients also abort on their own: after part of a request body, or after part of a
response. Every request whose head was sent whole carries ?soak=<client>-<n>; the ids are written
to --out, one per line, for the checker. A summary line goes to stdout.
"""
import argparse
import random
import socket
import ssl
import sys
import threading
import time

WEIGHTS = [  # (path template, weight, kind)
    ("/ok/%d", 30, "ok"), ("/chunked/%d", 12, "ok"), ("/eof/%d", 6, "close"),
    ("/overlong/%d", 4, "ok"), ("/slow/%d", 4, "ok"), ("/reset-head", 4, "fault"),
    ("/reset-body", 4, "fault"), ("/reset-chunk", 4, "fault"), ("/endless", 2, "endless"),
    ("/noread", 2, "upload"), ("/silent", 1, "fault"), ("/ok/%d", 6, "abort-request"),
    ("/chunked/%d", 6, "abort-response"),
]
TOTAL = sum(w for _, w, _ in WEIGHTS)


def pick(rng):
    x = rng.uniform(0, TOTAL)
    for tmpl, w, kind in WEIGHTS:
        x -= w
        if x <= 0:
            return tmpl, kind
    return WEIGHTS[0][0], WEIGHTS[0][2]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}

    def add(self, k, n=1):
        with self.lock:
            self.c[k] = self.c.get(k, 0) + n


def read_head(f):
    line = f.readline(65537)
    if not line:
        raise EOFError("closed before a response")
    status = int(line.split()[1])
    headers = {}
    while True:
        h = f.readline(65537)
        if not h:
            raise EOFError("closed in the head")
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.partition(b":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


def read_body(f, headers, limit=None):
    """Read the body; returns (bytes read, complete)."""
    n = 0
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while True:
            size = int(f.readline(100).split(b";")[0].strip() or b"x", 16)
            if size == 0:
                while f.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return n, True
            got = len(f.read(size))
            n += got
            if got < size:
                return n, False
            f.readline(3)
            if limit and n > limit:
                return n, False
    if b"content-length" in headers:
        want = int(headers[b"content-length"])
        got = len(f.read(want))
        return got, got == want
    while True:  # until close
        b = f.read(65536)
        if not b:
            return n, True
        n += len(b)
        if limit and n > limit:
            return n, False


def client(idx, a, deadline, stats, ids, ids_lock):
    rng = random.Random(idx * 7919 + int(time.time()))
    n = 0
    while time.monotonic() < deadline:
        tls = rng.random() < 0.4
        port = a.tls if tls else a.plain
        keep = rng.random() < 0.6
        count = rng.randint(1, 5) if keep else 1
        try:
            s = socket.create_connection(("127.0.0.1", a.proxy), timeout=15)
        except OSError:
            stats.add("connect-failed")
            time.sleep(0.1)
            continue
        try:
            if tls:
                s.sendall(b"CONNECT upstream.test:%d HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n"
                          % (port, port))
                head = b""
                while b"\r\n\r\n" not in head:
                    b = s.recv(1)
                    if not b:
                        raise EOFError("CONNECT closed")
                    head += b
                line = head.split(b"\r\n", 1)[0]
                if b" 200 " not in line:  # e.g. 504: the upstream did not accept in time
                    stats.add("tunnel-refused-" + line.split(b" ")[1].decode("latin-1"))
                    raise StopIteration
                ctx = ssl.create_default_context(cafile=a.ca)
                ctx.set_alpn_protocols(["http/1.1"])
                s = ctx.wrap_socket(s, server_hostname="upstream.test")
                stats.add("tunnels")
            f = s.makefile("rb")
            for i in range(count):
                if time.monotonic() >= deadline:
                    break
                tmpl, kind = pick(rng)
                path = tmpl % rng.choice([0, 10, 1000, 20000, 200000]) if "%d" in tmpl else tmpl
                if tmpl == "/slow/%d":
                    path = "/slow/%d" % rng.randint(1, 300)
                n += 1
                rid = "%d-%d" % (idx, n)
                target = ("%s?soak=%s" % (path, rid) if tls else
                          "http://upstream.test:%d%s?soak=%s" % (port, path, rid))
                last = (i == count - 1)
                body = b""
                if kind == "upload":
                    body = b"u" * rng.choice([1000, 300000, 2000000])
                elif kind == "abort-request" or rng.random() < 0.1:
                    body = b"p" * rng.choice([10, 5000, 100000])
                method = b"POST" if body else b"GET"
                head = (b"%s %s HTTP/1.1\r\nHost: upstream.test:%d\r\nUser-Agent: soak/%d\r\n"
                        % (method, target.encode(), port, idx))
                if body:
                    head += b"Content-Length: %d\r\n" % len(body)
                if last and not keep:
                    head += b"Connection: close\r\n"
                s.sendall(head + b"\r\n")
                with ids_lock:
                    ids.append(rid)
                stats.add("requests")
                if kind == "abort-request":
                    s.sendall(body[: len(body) // 2])
                    stats.add("client-abort-request")
                    raise StopIteration
                if body:
                    try:
                        s.sendall(body)
                    except OSError:
                        stats.add("upload-cut")
                        raise StopIteration
                status, headers = read_head(f)
                stats.add("status-%d" % status)
                if kind == "abort-response":
                    f.read(rng.randint(0, 3000))
                    stats.add("client-abort-response")
                    raise StopIteration
                if kind == "endless":
                    read_body(f, headers, limit=rng.choice([10000, 500000]))
                    stats.add("endless-abandoned")
                    raise StopIteration
                got, complete = read_body(f, headers)
                if not complete or status >= 500 or kind in ("fault", "close", "upload") or \
                        headers.get(b"connection", b"").lower() == b"close":
                    stats.add("complete" if complete else "cut")
                    raise StopIteration
                stats.add("complete")
        except StopIteration:
            pass
        except (OSError, EOFError, ValueError, IndexError, ssl.SSLError) as e:
            stats.add("error-" + type(e).__name__)
        finally:
            try:
                s.close()
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", type=int, required=True)
    ap.add_argument("--plain", type=int, required=True)
    ap.add_argument("--tls", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=24)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    stats = Stats()
    ids, lock = [], threading.Lock()
    deadline = time.monotonic() + a.seconds
    threads = [threading.Thread(target=client, args=(i, a, deadline, stats, ids, lock), daemon=True)
               for i in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.seconds + 60)
    with open(a.out, "w") as f:
        f.write("\n".join(ids) + "\n")
    print(" ".join("%s=%d" % kv for kv in sorted(stats.c.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
