#!/usr/bin/env python3
"""bench/viewer/upstream.py PORTFILE — a fast loopback origin for the viewer benchmark (asyncio,
keep-alive, bodyless requests only). The answer depends on the path so that the session looks
like an app's traffic: /api/... JSON, /img/... PNG bytes, /status/N that status, else text."""
import asyncio
import json
import sys

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cf000000030101005b2d"
                    "0c4b0000000049454e44ae426082")


def answer(path):
    if path.startswith("/api/"):
        body = json.dumps({"path": path, "items": [{"id": 1, "name": "widget"}], "ok": True}).encode()
        return 200, "OK", "application/json", body
    if path.startswith("/img/"):
        return 200, "OK", "image/png", PNG
    if path.startswith("/status/"):
        code = int(path.split("/")[2].split("?")[0] or 200)
        return code, "Status", "text/plain", b"status %d\n" % code
    return 200, "OK", "text/plain", b"ok\n"


class Proto(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        out = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head, self.buf = self.buf[:end], self.buf[end + 4:]
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            if "://" in path:
                path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
            code, reason, ctype, body = answer(path)
            out.append(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                       b"Cache-Control: no-cache\r\n\r\n" % (code, reason.encode(), ctype.encode(), len(body)) + body)
        if out:
            self.t.write(b"".join(out))


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Proto, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    await server.serve_forever()


asyncio.run(main())
