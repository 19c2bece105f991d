#!/usr/bin/env python3
"""slow_hello.py — a TCP relay on 127.0.0.1 that holds the server's first bytes of each
connection (its TLS ServerHello flight) for --delay seconds, then relays both ways untouched:
a server whose handshakes take that long, so a test can see what happens while one runs.
Usage: slow_hello.py --port P --to PORT [--delay S]"""
import argparse
import socket
import threading
import time


def pipe(src, dst, delay):
    first = True
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if first and delay:
                time.sleep(delay)
            first = False
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--delay", type=float, default=0.4)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        s = socket.create_connection(("127.0.0.1", a.to))
        threading.Thread(target=pipe, args=(c, s, 0), daemon=True).start()
        threading.Thread(target=pipe, args=(s, c, a.delay), daemon=True).start()


if __name__ == "__main__":
    main()
