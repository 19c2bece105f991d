#!/usr/bin/env python3
"""ws_raw.py — a WebSocket server and client that write frames byte by byte (stdlib only), for
what a well-behaved peer never sends (tests/e2e/53-websocket.sh).

  ws_raw.py server PORTFILE   answers one upgrade with a 101, then sends: a text "ok1", a text
                              frame masked (a server must not mask: malformed), a text "after",
                              and closes the TCP connection; writes the bytes it sent after the
                              101 to PORTFILE.sent (hex)
  ws_raw.py client URL PROXYPORT   a ws:// upgrade through the proxy (absolute form); prints the
                              hex of every byte received after the 101's head
"""
import base64
import hashlib
import os
import socket
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload, mask=None):
    b = bytes([0x80 | op, (0x80 if mask else 0) | len(payload)])
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        b += mask
    return b + payload


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def server(portfile):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    s, _ = ls.accept()
    head, _ = read_head(s)
    key = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
    body = frame(1, b"ok1") + frame(1, b"masked!", mask=b"\x01\x02\x03\x04") + frame(1, b"after")
    s.sendall(body)
    with open(portfile + ".sent", "w") as f:
        f.write(body.hex())
    s.shutdown(socket.SHUT_WR)
    s.recv(100)
    s.close()


def client(url, proxyport):
    hostport = url.split("//", 1)[1].split("/", 1)[0]
    s = socket.create_connection(("127.0.0.1", int(proxyport)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (url, hostport, key)).encode())
    head, rest = read_head(s)
    data = rest
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print(head.split("\r\n")[0])
    print(data.hex())


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3])
