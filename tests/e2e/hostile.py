#!/usr/bin/env python3
"""Hostile clients for the hardening e2e tests (stdlib only, 127.0.0.1 only).

    hostile.py raw PORT TEXT|@FILE [--split N] [--delay S] [--timeout S] [--close-wait S]
        send bytes (TEXT with Python escapes such as \\r\\n, or a file), optionally
        in pieces of N bytes with S seconds between them; print "STATUS CLOSED BODY" (STATUS 0 when no response came, CLOSED 1 when
        the proxy closed the connection after answering, 0 when it kept it open --close-wait
        seconds (default 2), "-" with --close-wait 0: not looked at, no wait).
    hostile.py req PORT KIND N UPSTREAM_PORT [--timeout S] [--close-wait S]
        build a request and send it as `raw` does; KIND is one of
        target N (request-target of N bytes), line N (one header line of N bytes),
        head N (N bytes of headers in 1000-byte lines), count N (N header fields).
    hostile.py hold PORT N SECS
        open N connections that each send a partial request head and then one byte a second
        (slowloris), keep them SECS seconds; print how many the proxy answered or closed.
    hostile.py tls PORT HOST:PORT SNI|- CAFILE [--split N]
        CONNECT, then a TLS handshake sending SNI ("-" for none; Python escapes allowed), the
        ClientHello cut into N-byte TCP segments; then GET / inside. Prints "CONNECT-STATUS RESULT".
    hostile.py hello PORT HOST:PORT SNI|-|@HEX [--records N] [--split N] [--cut N] [--raw TEXT]
        CONNECT, then a hand-made TLS 1.2 ClientHello whose SNI may hold any bytes (@HEX gives
        them in hex), spread over N TLS records, cut into N-byte segments, or only its first
        --cut bytes; --raw sends TEXT instead of a hello. Prints "CONNECT-STATUS ANSWER" where
        ANSWER is tls-handshake / tls-alert / closed / silent / other:HEX of what came back.
"""
import select
import socket
import ssl
import sys
import threading
import time

UP = "upstream.test"


def recv_response(s, timeout, close_wait=2.0):
    """Read one response (head + Content-Length body) and whether the peer then closed: 1, or 0
    when it kept the connection open close_wait seconds; "-" when close_wait is 0 (not looked at,
    for a caller whose check is only the status: the wait would cost close_wait on every kept
    connection)."""
    s.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    if b"\r\n\r\n" not in data:
        return 0, data, 1
    head, _, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].split(b" ")
    status = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
    cl = 0
    for h in head.split(b"\r\n")[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v.strip())
    try:
        while len(body) < cl and time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            body += b
    except (socket.timeout, ConnectionResetError):
        pass
    if not close_wait:
        return status, body, "-"
    closed = 0
    try:
        s.settimeout(max(0.1, min(close_wait, deadline - time.monotonic())))
        b = s.recv(1)
        closed = 1 if not b else 0
    except socket.timeout:
        closed = 0
    except ConnectionResetError:
        closed = 1
    return status, body, closed


def send(port, data, split=0, delay=0.0, timeout=10.0, close_wait=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if split:
            for i in range(0, len(data), split):
                s.sendall(data[i:i + split])
                if delay:
                    time.sleep(delay)
        else:
            s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    st, body, closed = recv_response(s, timeout, close_wait)
    s.close()
    return st, body, closed


def build(kind, n, up_port):
    host = "%s:%d" % (UP, up_port)
    if kind == "target":
        path = "/bytes/1?" + "a" * max(0, n - len("/bytes/1?"))
        return ("GET http://%s%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (host, path, host)).encode()
    if kind == "line":
        return ("GET http://%s/bytes/1 HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n"
                % (host, host, "b" * (n - 7))).encode()
    if kind == "head":
        lines = "".join("X-H%d: %s\r\n" % (i, "c" * 990) for i in range(n // 1000))
        return ("GET http://%s/bytes/1 HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (host, host, lines)).encode()
    if kind == "count":
        lines = "".join("X-N%d: v\r\n" % i for i in range(n - 1))
        return ("GET http://%s/bytes/1 HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (host, host, lines)).encode()
    raise SystemExit("unknown kind " + kind)


def show(st, body, closed):
    print("%d %s %s" % (st, closed, body.decode("latin-1").strip().replace("\n", " ")[:300]))


def hold(port, n, secs):
    socks = []
    for i in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET http://upstream.test/slow HTTP/1.1\r\nHost: upstream.test\r\n")
            s.setblocking(False)
            socks.append(s)
        except OSError:
            break
    ended = 0
    t_end = time.monotonic() + secs
    alive = list(socks)
    while time.monotonic() < t_end and alive:
        for s in list(alive):
            try:
                s.send(b"X")
            except BlockingIOError:
                pass
            except OSError:
                alive.remove(s)
                ended += 1
                continue
            r, _, _ = select.select([s], [], [], 0)
            if r:
                alive.remove(s)
                ended += 1
        time.sleep(0.5)
    for s in socks:
        s.close()
    print("%d %d" % (len(socks), ended))


def tls(port, target, sni, cafile, split):
    th, tp = target.rsplit(":", 1)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    st = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if st != 200:
        print("%d no-tunnel" % st)
        return
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    if sni == "-":
        server_hostname = None
    else:
        server_hostname = sni.encode("latin-1").decode("unicode_escape")
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        obj = ctx.wrap_bio(inc, out, server_side=False, server_hostname=server_hostname)
    except (ValueError, UnicodeError) as e:
        # Python refuses to send such a name itself: hand-patch is out of scope, report it
        print("%d client-refused-sni %s" % (st, type(e).__name__))
        return
    result = "ok"
    deadline = time.monotonic() + 10

    def flush():
        data = out.read()
        if not data:
            return
        if split:
            for i in range(0, len(data), split):
                s.sendall(data[i:i + split])
                time.sleep(0.002)
        else:
            s.sendall(data)

    def pump():
        s.settimeout(max(0.1, deadline - time.monotonic()))
        b = s.recv(65536)
        if not b:
            inc.write_eof()
        else:
            inc.write(b)

    try:
        while True:
            try:
                obj.do_handshake()
                flush()
                break
            except ssl.SSLWantReadError:
                flush()
                pump()
        obj.write(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % th).encode())
        flush()
        resp = b""
        while b"\r\n" not in resp:
            try:
                resp += obj.read(65536)
            except ssl.SSLWantReadError:
                pump()
        result = "resp:" + resp.split(b"\r\n", 1)[0].decode("latin-1")
    except ssl.SSLError as e:
        result = "tls-error:" + (e.reason or str(e))
    except (OSError, EOFError) as e:
        result = "closed:" + type(e).__name__
    print("%d %s" % (st, result))


def client_hello(sni):
    """A TLS 1.2 ClientHello that OpenSSL answers; sni is bytes or None."""
    import os
    import struct as st

    def ext(t, data):
        return st.pack("!HH", t, len(data)) + data
    exts = b""
    if sni is not None:
        entry = b"\x00" + st.pack("!H", len(sni)) + sni
        exts += ext(0, st.pack("!H", len(entry)) + entry)
    exts += ext(10, bytes.fromhex("0004001d0017"))          # x25519, P-256
    exts += ext(11, bytes.fromhex("0100"))                  # uncompressed points
    exts += ext(13, bytes.fromhex("000a04030804040105010201"))  # signature algorithms
    exts += ext(16, bytes.fromhex("0009") + b"\x08http/1.1")  # ALPN
    ciphers = bytes.fromhex("c02bc02fc02cc030009c002f")
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + st.pack("!H", len(ciphers)) + ciphers
            + b"\x01\x00" + st.pack("!H", len(exts)) + exts)
    return b"\x01" + st.pack("!I", len(body))[1:] + body


def hello(port, target, sni, records, split, cut, raw):
    import struct as st
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if code != 200:
        print("%d no-tunnel" % code)
        return
    if raw is not None:
        wire = raw.encode("latin-1").decode("unicode_escape").encode("latin-1")
    else:
        name = None if sni == "-" else (bytes.fromhex(sni[1:]) if sni.startswith("@")
                                         else sni.encode("latin-1"))
        msg = client_hello(name)
        n = max(1, records)
        size = (len(msg) + n - 1) // n
        wire = b"".join(b"\x16\x03\x01" + st.pack("!H", len(msg[i:i + size])) + msg[i:i + size]
                        for i in range(0, len(msg), size))
    if cut:
        wire = wire[:cut]
    try:
        if split:
            for i in range(0, len(wire), split):
                s.sendall(wire[i:i + split])
                time.sleep(0.003)
        else:
            s.sendall(wire)
    except OSError:
        print("%d closed" % code)
        return
    s.settimeout(8)
    try:
        b = s.recv(5)
    except socket.timeout:
        print("%d silent" % code)
        return
    except OSError:
        b = b""
    if not b:
        print("%d closed" % code)
    elif b[0] == 0x16:
        print("%d tls-handshake" % code)
    elif b[0] == 0x15:
        print("%d tls-alert" % code)
    else:
        print("%d other:%s" % (code, b.hex()))


def main():
    a = sys.argv[1:]
    opt = {}
    pos = []
    i = 0
    while i < len(a):
        if a[i].startswith("--"):
            opt[a[i][2:]] = a[i + 1]
            i += 2
        else:
            pos.append(a[i])
            i += 1
    timeout = float(opt.get("timeout", 10))
    close_wait = float(opt.get("close-wait", 2.0))
    if pos[0] == "raw":
        data = (open(pos[2][1:], "rb").read() if pos[2].startswith("@")
                else pos[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
        show(*send(int(pos[1]), data, int(opt.get("split", 0)), float(opt.get("delay", 0)), timeout,
                   close_wait))
    elif pos[0] == "req":
        show(*send(int(pos[1]), build(pos[2], int(pos[3]), int(pos[4])), timeout=timeout,
                   close_wait=close_wait))
    elif pos[0] == "hold":
        hold(int(pos[1]), int(pos[2]), float(pos[3]))
    elif pos[0] == "hello":
        hello(int(pos[1]), pos[2], pos[3], int(opt.get("records", 1)), int(opt.get("split", 0)),
              int(opt.get("cut", 0)), opt.get("raw"))
    elif pos[0] == "tls":
        tls(int(pos[1]), pos[2], pos[3], pos[4], int(opt.get("split", 0)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
