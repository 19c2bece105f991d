#!/usr/bin/env python3
"""h2_faulty.py — a TLS HTTP/2 server (ALPN h2, or http/1.1 when that is what the client offers)
that misbehaves on purpose, written on raw frames (Debian's python3 has no h2 library).
Requests are told apart by their order on the connection, not by path (no HPACK decoding):

  ok        every request: 200 with body "ok N\\n" (N: the request's number on the connection)
  goaway    requests 1..K answered; when request K+2 arrives, GOAWAY (NO_ERROR) with the
            last-stream-id of request K, the answers to 1..K, then the connection is closed
            after a second; requests above K are never answered (K: --keep, 2)
  rst       200 head and 5 bytes of body, then RST_STREAM INTERNAL_ERROR
  refuse    the first request of each h2 connection: RST_STREAM REFUSED_STREAM; others ok
  protoerr  GOAWAY PROTOCOL_ERROR ("bad frame from client" as debug data), then close
  trailers  200 (content-type application/grpc), a body, trailers grpc-status: 0 and
            grpc-message: fine, ending the stream
  big       64 MiB per request, as fast as the client's flow-control windows allow; prints
            "conn C sent N" every half second (back-pressure: what the client let through)

Each connection prints "conn C alpn P" and each request "conn C stream S req N" to stdout.
HTTP/1.1 connections get "HTTP/1.1 200" with body "h1 ok\\n" for every request."""
import argparse
import socket
import ssl
import struct
import sys
import threading
import time

lock = threading.Lock()
conn_count = [0]


def log(line):
    with lock:
        print(line, flush=True)


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def lit(name, value):
    """HPACK literal without indexing, new name, no Huffman (short strings only)."""
    n, v = name.encode(), value.encode()
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve_h1(s, cid):
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        log("conn %d h1 %s" % (cid, head.split(b"\r\n")[0].decode(errors="replace")))
        body = b"h1 ok\n"
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def serve_h2(s, cid, mode, keep):
    if read_exact(s, 24) != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
        return
    s.sendall(frame(4, 0, 0))
    reqs = []  # stream ids in order of arrival

    def answer(sid, n):
        body = b"ok %d\n" % n
        s.sendall(frame(1, 4, sid, b"\x88" + lit("content-length", str(len(body)))) +
                  frame(0, 1, sid, body))

    while True:
        hdr = read_exact(s, 9)
        length = int.from_bytes(hdr[:3], "big")
        ftype, flags = hdr[3], hdr[4]
        sid = struct.unpack(">I", hdr[5:9])[0] & 0x7FFFFFFF
        payload = read_exact(s, length) if length else b""
        if ftype == 4 and not flags & 1:
            s.sendall(frame(4, 1, 0))
        elif ftype == 6 and not flags & 1:
            s.sendall(frame(6, 1, 0, payload))
        elif ftype == 7:
            return
        elif ftype == 1:
            reqs.append(sid)
            n = len(reqs)
            log("conn %d stream %d req %d" % (cid, sid, n))
            if mode == "ok" or (mode == "refuse" and n > 1):
                answer(sid, n)
            elif mode == "refuse":
                s.sendall(frame(3, 0, sid, struct.pack(">I", 7)))  # REFUSED_STREAM
            elif mode == "rst":
                s.sendall(frame(1, 4, sid, b"\x88" + lit("content-length", "100")) +
                          frame(0, 0, sid, b"12345"))
                time.sleep(0.2)
                s.sendall(frame(3, 0, sid, struct.pack(">I", 2)))  # INTERNAL_ERROR
            elif mode == "protoerr":
                s.sendall(frame(7, 0, 0, struct.pack(">II", 0, 1) + b"bad frame from client"))
                time.sleep(0.5)
                return
            elif mode == "trailers":
                s.sendall(frame(1, 4, sid, b"\x88" + lit("content-type", "application/grpc")) +
                          frame(0, 0, sid, b"\x00\x00\x00\x00\x02hi") +
                          frame(1, 5, sid, lit("grpc-status", "0") + lit("grpc-message", "fine")))
            elif mode == "goaway" and n == keep + 2:
                s.sendall(frame(7, 0, 0, struct.pack(">II", reqs[keep - 1], 0)))
                for i in range(keep):
                    answer(reqs[i], i + 1)
                time.sleep(1)
                return


def serve_h2_big(s, cid):
    """One response of 64 MiB per request, sent as fast as the client's flow-control windows
    allow; prints "conn C sent N" every 0.5 s: what the client let through."""
    if read_exact(s, 24) != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
        return
    s.sendall(frame(4, 0, 0))
    s.settimeout(0.05)
    buf = b""
    conn_win, init_win = 65535, 65535
    streams = {}  # sid -> [window, bytes left]
    sent, last = 0, time.time()
    while True:
        try:
            chunk = s.recv(65536)
            if not chunk:
                return
            buf += chunk
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            length = int.from_bytes(buf[:3], "big")
            ftype, flags = buf[3], buf[4]
            sid = struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
            payload, buf = buf[9:9 + length], buf[9 + length:]
            if ftype == 4 and not flags & 1:
                for i in range(0, len(payload) - 5, 6):
                    ident, val = struct.unpack(">HI", payload[i:i + 6])
                    if ident == 4:
                        for st in streams.values():
                            st[0] += val - init_win
                        init_win = val
                s.sendall(frame(4, 1, 0))
            elif ftype == 8:
                inc = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                if sid == 0:
                    conn_win += inc
                elif sid in streams:
                    streams[sid][0] += inc
            elif ftype == 1:
                streams[sid] = [init_win, 64 << 20]
                log("conn %d stream %d req 1" % (cid, sid))
                s.sendall(frame(1, 4, sid, b"\x88" + lit("content-length", str(64 << 20))))
            elif ftype in (3, 7):
                if ftype == 3:
                    log("conn %d stream %d reset %d" % (cid, sid, struct.unpack(">I", payload[:4])[0]))
                streams.pop(sid, None)
                if ftype == 7:
                    return
        for sid, st in list(streams.items()):
            while st[1] > 0 and st[0] > 0 and conn_win > 0:
                n = min(16384, st[0], conn_win, st[1])
                s.sendall(frame(0, 1 if n == st[1] else 0, sid, b"x" * n))
                st[0] -= n
                st[1] -= n
                conn_win -= n
                sent += n
            if st[1] == 0:
                del streams[sid]
        if time.time() - last >= 0.5:
            last = time.time()
            log("conn %d sent %d" % (cid, sent))


def handle(raw, ctx, mode, keep):
    with lock:
        conn_count[0] += 1
        cid = conn_count[0]
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()
        return
    proto = s.selected_alpn_protocol() or "none"
    log("conn %d alpn %s" % (cid, proto))
    try:
        if proto == "h2" and mode == "big":
            serve_h2_big(s, cid)
        elif proto == "h2":
            serve_h2(s, cid, mode, keep)
        else:
            serve_h1(s, cid)
    except (EOFError, OSError, ssl.SSLError):
        pass
    finally:
        try:
            s.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--keep", type=int, default=2)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    log("listening on %d mode %s" % (a.port, a.mode))
    while True:
        raw, _ = ls.accept()
        threading.Thread(target=handle, args=(raw, ctx, a.mode, a.keep), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
