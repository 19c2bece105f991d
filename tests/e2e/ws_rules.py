#!/usr/bin/env python3
"""ws_rules.py — WebSocket and CONNECT peers for the rules on upgrades and passthrough tunnels
(tests/e2e/75-rules-ws-tunnel.sh), stdlib only.

  ws_rules.py server PORTFILE   a WebSocket server on 127.0.0.1 (threaded): answers every upgrade
                                with a 101, then sends a text message, JSON {path, headers} of the
                                upgrade request as it arrived; then a text "big:N" from the client
                                gets a binary message of N bytes, "bye" a close. Appends one line
                                per upgrade it answered to PORTFILE.log
  ws_rules.py client URL PROXYPORT [BIG]   a ws:// upgrade through the proxy (absolute form):
                                prints JSON {status, line, first (the server's first message,
                                parsed), big_secs (time for a BIG-byte message, when asked),
                                error}
  ws_rules.py connect HOST:PORT PROXYPORT N   a CONNECT through the proxy, then N bytes sent to
                                an echo server and read back: prints JSON {status, line, echoed,
                                secs, error}
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload, mask=None):
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        b = bytes([0x80 | op, mbit | n])
    elif n < 65536:
        b = bytes([0x80 | op, mbit | 126]) + struct.pack(">H", n)
    else:
        b = bytes([0x80 | op, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        b += mask
    return b + payload


def recv_exact(s, n, buf):
    while len(buf[0]) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf[0] += chunk
    out, buf[0] = buf[0][:n], buf[0][n:]
    return out


def read_frame(s, buf):
    b0, b1 = recv_exact(s, 2, buf)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", recv_exact(s, 2, buf))[0]
    elif n == 127:
        n = struct.unpack(">Q", recv_exact(s, 8, buf))[0]
    mask = recv_exact(s, 4, buf) if b1 & 0x80 else None
    data = recv_exact(s, n, buf)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return b0 & 0x0F, data


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def serve_one(s, portfile):
    try:
        head, rest = read_head(s)
        lines = head.split("\r\n")
        hdrs = [l.split(":", 1) for l in lines[1:] if ":" in l]
        hdrs = [[k.strip(), v.strip()] for k, v in hdrs]
        key = [v for k, v in hdrs if k.lower() == "sec-websocket-key"][0]
        with open(portfile + ".log", "a") as f:
            f.write(lines[0] + "\n")
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        s.sendall(frame(1, json.dumps({"path": lines[0].split(" ")[1], "headers": hdrs}).encode()))
        buf = [rest]
        while True:
            op, data = read_frame(s, buf)
            if op == 8 or data == b"bye":
                s.sendall(frame(8, struct.pack(">H", 1000)))
                break
            if data.startswith(b"big:"):
                s.sendall(frame(2, b"x" * int(data[4:])))
    except (OSError, ConnectionError, IndexError):
        pass
    finally:
        s.close()


def server(portfile):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve_one, args=(s, portfile), daemon=True).start()


def client(url, proxyport, big):
    out = {"status": 0, "line": "", "first": None, "big_secs": None, "error": None}
    hostport = url.split("//", 1)[1].split("/", 1)[0]
    try:
        s = socket.create_connection(("127.0.0.1", int(proxyport)), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (url, hostport, key)).encode())
        head, rest = read_head(s)
        out["line"] = head.split("\r\n")[0]
        out["status"] = int(out["line"].split(" ")[1]) if out["line"] else 0
        if out["status"] == 101:
            buf = [rest]
            op, data = read_frame(s, buf)
            out["first"] = json.loads(data)
            if big:
                t0 = time.monotonic()
                s.sendall(frame(1, b"big:%d" % big, mask=os.urandom(4)))
                op, data = read_frame(s, buf)
                out["big_secs"] = round(time.monotonic() - t0, 3) if len(data) == big else None
            s.sendall(frame(1, b"bye", mask=os.urandom(4)))
            read_frame(s, buf)
        s.close()
    except (OSError, ConnectionError, ValueError) as e:
        out["error"] = type(e).__name__
    print(json.dumps(out))


def connect(target, proxyport, n):
    out = {"status": 0, "line": "", "echoed": 0, "secs": None, "error": None}
    try:
        s = socket.create_connection(("127.0.0.1", int(proxyport)), timeout=20)
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        head, rest = read_head(s)
        out["line"] = head.split("\r\n")[0]
        out["status"] = int(out["line"].split(" ")[1]) if out["line"] else 0
        if out["status"] == 200 and n:
            t0 = time.monotonic()
            payload = os.urandom(n)
            threading.Thread(target=s.sendall, args=(payload,), daemon=True).start()
            got = rest
            while len(got) < n:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            out["echoed"] = len(got) if got == payload[:len(got)] else -1
            out["secs"] = round(time.monotonic() - t0, 3)
        s.close()
    except (OSError, ConnectionError, ValueError) as e:
        out["error"] = type(e).__name__
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    elif sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    else:
        connect(sys.argv[2], sys.argv[3], int(sys.argv[4]))
