#!/usr/bin/env python3
"""bench/idle_py.py — S5's second client: N idle intercepted tunnels held by Python's `ssl`
(asyncio), as a Python harness holds them, next to loadgen's --idle (OpenSSL from C).

Each connection: TCP to the proxy, CONNECT host:port, TLS with Python's default client context
(ssl.create_default_context: its own cipher list, TLS 1.3 session tickets, no ALPN unless
--alpn), the chain verified against --cafile and the host name, one GET PATH whose body must be
--expect-bytes long (over HTTP/2 when --alpn offers h2 and the proxy chooses it: one stream,
HPACK literals), then the connection stays open and idle. At most 50 are being set up at
once (as loadgen). Output, like loadgen --idle: "READY idle=N errors=E" once every connection is
idle (or failed), then after --hold seconds "mode=idle held=N errors=E idle_closed=C" (C: idle
connections the other side closed while held). Exit status 0 when there were no errors.
"""
import argparse
import asyncio
import ssl
import sys


def hpack_literal(name, value):
    """A header as an HPACK literal without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def h2_frame(ftype, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


async def h2_get(args, r, w):
    """One GET on stream 1 of an HTTP/2 connection (ALPN chose h2); the body's length is checked,
    the connection then stays open and idle (SETTINGS and PING answered while the GET runs)."""
    block = b"".join(hpack_literal(k, v) for k, v in ((":method", "GET"), (":scheme", "https"),
                     (":path", args.path), (":authority", f"{args.host}:{args.port}")))
    w.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0) + h2_frame(1, 0x5, 1, block))
    got = 0
    while True:
        head = await asyncio.wait_for(r.readexactly(9), args.timeout)
        n, ftype, flags, stream = int.from_bytes(head[:3], "big"), head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        payload = await asyncio.wait_for(r.readexactly(n), args.timeout)
        if ftype == 4 and not flags & 1:                 # SETTINGS: acknowledge
            w.write(h2_frame(4, 1, 0))
        elif ftype == 6 and not flags & 1:               # PING: answer
            w.write(h2_frame(6, 1, 0, payload))
        elif ftype == 7 or (ftype == 3 and stream == 1): # GOAWAY, RST_STREAM
            raise RuntimeError(f"h2 frame type {ftype}")
        elif stream == 1 and ftype in (0, 1):            # DATA, HEADERS
            if ftype == 0:
                pad = payload[0] if flags & 0x8 else 0
                got += n - pad - (1 if flags & 0x8 else 0)
            if flags & 1:                                # END_STREAM
                if args.expect_bytes >= 0 and got != args.expect_bytes:
                    raise RuntimeError(f"h2 length {got}")
                return


async def one(args, ctx, sem, stats, held):
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(args.proxy_host, args.proxy_port), args.timeout)
            w.write(f"CONNECT {args.host}:{args.port} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n\r\n".encode())
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), args.timeout)
            if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
                raise RuntimeError("CONNECT answered " + head.split(b"\r\n")[0].decode(errors="replace"))
            await asyncio.wait_for(w.start_tls(ctx, server_hostname=args.host), args.timeout)
            if w.get_extra_info("ssl_object").selected_alpn_protocol() == "h2":
                await h2_get(args, r, w)
                stats["ok"] += 1
                stats["h2"] += 1
                held.append((r, w))
                return
            w.write(f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n\r\n".encode())
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), args.timeout)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("status: " + head.split(b"\r\n")[0].decode(errors="replace"))
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":", 1)[1])
            body = await asyncio.wait_for(r.readexactly(n), args.timeout)
            if args.expect_bytes >= 0 and len(body) != args.expect_bytes:
                raise RuntimeError(f"length {len(body)}")
            stats["ok"] += 1
            held.append((r, w))
        except Exception as e:  # counted, never a figure
            stats["errors"] += 1
            stats["last"] = repr(e)[:200]


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True, help="proxy HOST:PORT")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--path", default="/1k")
    p.add_argument("--expect-bytes", type=int, default=-1)
    p.add_argument("--idle", type=int, required=True)
    p.add_argument("--hold", type=float, default=3)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--alpn", default="", help="comma-separated ALPN list to offer (default: none)")
    args = p.parse_args()
    args.proxy_host, port = args.connect.rsplit(":", 1)
    args.proxy_port = int(port)
    ctx = ssl.create_default_context(cafile=args.cafile)
    if args.alpn:
        ctx.set_alpn_protocols(args.alpn.split(","))
    stats = {"ok": 0, "errors": 0, "last": "", "h2": 0}
    held = []
    sem = asyncio.Semaphore(50)
    await asyncio.gather(*(one(args, ctx, sem, stats, held) for _ in range(args.idle)))
    print(f"READY idle={stats['ok']} errors={stats['errors']}", flush=True)
    await asyncio.sleep(args.hold)
    closed = sum(1 for r, w in held if r.at_eof() or w.is_closing())
    line = f"mode=idle held={stats['ok']} errors={stats['errors']} idle_closed={closed} h2={stats['h2']}"
    if stats["last"]:
        line += f' last_error="{stats["last"]}"'
    print(line, flush=True)
    for r, w in held:
        w.close()
    return 1 if stats["errors"] or closed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
