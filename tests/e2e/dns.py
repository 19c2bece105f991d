#!/usr/bin/env python3
"""Tiny loopback DNS server for the e2e tests (stdlib only).

httpeek is always started with `--dns 127.0.0.1:PORT` pointing here, so no test
ever reaches the machine's real resolver.  Names given on the command line as
NAME=IPv4 get an A answer; AAAA (and any other type) for a known name gets an
empty NOERROR answer; every other name gets NXDOMAIN at once.  Names are
matched case-insensitively (evdns may randomise the case, "0x20") and the
question is echoed byte for byte as it was sent.

usage: dns.py [--port N] [--port-file FILE] [--delay NAME=SECS ...] NAME=IP ...
  --port 0 (default) binds an ephemeral port; the bound port is written to
  --port-file (and printed on stdout) once the socket is ready.
  --delay NAME=SECS answers queries for NAME only after SECS seconds.
"""
import argparse
import ipaddress
import socket
import struct
import sys
import threading
import time

QTYPE_A = 1
RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4


def parse_question(msg):
    """Return (qname_lowercase, qtype, qclass, end_offset) of the first question."""
    off = 12
    labels = []
    while True:
        if off >= len(msg):
            raise ValueError("truncated name")
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compression in question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    if off + 4 > len(msg):
        raise ValueError("truncated question")
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    return ".".join(labels).lower().rstrip("."), qtype, qclass, off + 4


def build_reply(msg, names, log):
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000:          # a response, not a query
        return None
    opcode = (flags >> 11) & 0xF
    rd = flags & 0x0100
    base_flags = 0x8000 | 0x0400 | rd | 0x0080  # QR, AA, RD echoed, RA
    if opcode != 0 or qdcount != 1:
        return struct.pack("!HHHHHH", qid, base_flags | RCODE_NOTIMP, 0, 0, 0, 0)
    try:
        qname, qtype, qclass, end = parse_question(msg)
    except ValueError:
        return struct.pack("!HHHHHH", qid, base_flags | RCODE_FORMERR, 0, 0, 0, 0)
    question = msg[12:end]          # echoed exactly as sent (0x20 case kept)
    answers = b""
    ancount = 0
    if qname in names:
        rcode = RCODE_NOERROR
        if qtype == QTYPE_A and qclass == 1:
            ip = names[qname]
            # pointer 0xC00C to the question name, TYPE A, CLASS IN, TTL 5
            answers = struct.pack("!HHHIH", 0xC00C, QTYPE_A, 1, 5, 4) + ip
            ancount = 1
    else:
        rcode = RCODE_NXDOMAIN
    log("%s type=%d -> %s" % (qname, qtype,
        "NXDOMAIN" if rcode == RCODE_NXDOMAIN else
        ("A %s" % socket.inet_ntoa(names[qname]) if ancount else "NOERROR empty")))
    return struct.pack("!HHHHHH", qid, base_flags | rcode, 1, ancount, 0, 0) + question + answers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--delay", action="append", default=[])
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("mapping", nargs="*")
    a = ap.parse_args()

    names = {}
    for m in a.mapping:
        name, _, ip = m.partition("=")
        addr = ipaddress.IPv4Address(ip)
        if not addr.is_loopback:
            sys.exit("dns.py: only 127.0.0.0/8 answers are allowed: %s" % m)
        names[name.lower().rstrip(".")] = addr.packed
    delays = {}
    for d in a.delay:
        name, _, secs = d.partition("=")
        delays[name.lower().rstrip(".")] = float(secs)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", a.port))
    port = sock.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    print("dns.py listening on 127.0.0.1:%d" % port, flush=True)

    def log(s):
        if not a.quiet:
            print("dns.py: " + s, flush=True)

    def answer_later(reply, peer, secs):
        time.sleep(secs)
        try:
            sock.sendto(reply, peer)
        except OSError:
            pass

    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            reply = build_reply(msg, names, log)
        except Exception as e:  # never die on a strange packet
            log("error: %r" % e)
            continue
        if reply is None:
            continue
        try:
            qname = parse_question(msg)[0]
        except ValueError:
            qname = ""
        if qname in delays:
            threading.Thread(target=answer_later, args=(reply, peer, delays[qname]),
                             daemon=True).start()
        else:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
