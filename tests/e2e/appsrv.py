"""appsrv.py — a loopback HTTP server whose answers are what app-level warnings are about
(tests/e2e/49-app-warnings.sh): an API answering HTML on 502, valid JSON, JSON as text/plain,
broken JSON, empty JSON, a body labelled gzip that is not, ETag revalidation, cacheable and
no-store responses, an HLS playlist with good and bad lines. Usage: appsrv.py --port-file F."""
import argparse
import gzip
import http.server
import socketserver

PLAYLIST = (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n"
            b"#EXTINF:10,\nhttps://cdn.example.com/seg0.ts\n"
            b"#EXTINF:10,\nseg1.ts\n"
            b"#EXTINF:10,\nhttp://cdn.example.com/seg2.ts\n"
            b"#EXTINF:10,\nftp://cdn.example.com/seg3.ts\n"
            b"#EXTINF:10,\nseg 4.ts\n#EXT-X-ENDLIST\n")

# links (tests/e2e/51-links.sh): a master playlist with a variant that 404s, a media playlist
# with a segment that 404s and a key, a playlist whose URIs all load
MASTER = (b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nv1/index.m3u8\n"
          b"#EXT-X-STREAM-INF:BANDWIDTH=1600000\nv2/index.m3u8\n")
MEDIA = (b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-KEY:METHOD=AES-128,URI=\"../../keys/k.key\"\n"
         b"#EXTINF:6,\ns0.ts\n#EXTINF:6,\ns1.ts?sig=abc\n#EXT-X-ENDLIST\n")
GOOD = b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nv1/s0.ts\n#EXT-X-ENDLIST\n"
M3U8 = [("Content-Type", "application/vnd.apple.mpegurl")]

ROUTES = {
    "/live/master.m3u8": (200, M3U8, MASTER),
    "/live/v1/index.m3u8": (200, M3U8, MEDIA),
    "/live/good.m3u8": (200, M3U8, GOOD),
    "/live/v1/s0.ts": (200, [("Content-Type", "video/mp2t")], b"\x47" * 188),
    "/keys/k.key": (200, [("Content-Type", "application/octet-stream")], b"k" * 16),
    "/api/down": (502, [("Content-Type", "text/html")], b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"),
    "/api/ok": (200, [("Content-Type", "application/json; charset=utf-8")], b'{"ok": true, "items": [1, 2, 3]}'),
    "/api/plain": (200, [("Content-Type", "text/plain")], b'{"ok": true}'),
    "/api/broken": (200, [("Content-Type", "application/json")], b'{"a": 1, "b": }'),
    "/api/empty": (200, [("Content-Type", "application/json")], b""),
    "/api/fakegzip": (200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], b'{"a": 1}'),
    "/api/gz": (200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], gzip.compress(b'{"a": 1}')),
    "/api/cached": (200, [("Content-Type", "application/json"), ("Cache-Control", "max-age=3600")], b'{"a": 1}'),
    "/api/nostore": (200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], b'{"a": 1}'),
    "/media/playlist.m3u8": (200, [("Content-Type", "application/vnd.apple.mpegurl")], PLAYLIST),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].split("/", 1)[1]
        if path == "/api/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                status, headers, body = 304, [("ETag", '"v1"')], b""
            else:
                status, headers, body = 200, [("Content-Type", "application/json"), ("ETag", '"v1"'),
                                              ("Cache-Control", "no-cache")], b'{"v": 1}'
        elif path == "/api/lm":
            lm = "Tue, 01 Dec 2026 10:00:00 GMT"
            if self.headers.get("If-Modified-Since") == lm:
                status, headers, body = 304, [("Last-Modified", lm)], b""
            else:
                status, headers, body = 200, [("Content-Type", "application/json"), ("Last-Modified", lm)], b'{"lm": 1}'
        else:
            status, headers, body = ROUTES.get(path, (404, [("Content-Type", "text/plain")], b"no route\n"))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
