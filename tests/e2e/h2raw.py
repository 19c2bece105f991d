"""Raw HTTP/2 client for the e2e tests (stdlib only): frames written by hand with struct.pack.

Debian has no python3-h2, and curl / nghttp cannot misbehave on purpose (bad frames, a stream
that never gives window back), so the tests that need that import this module from inline
python:  sys.path.insert(0, E2E_DIR); import h2raw
Header blocks are sent as HPACK literals without indexing (no Huffman, no dynamic table), which
every decoder accepts; received header blocks are not decoded (tests look at frames, DATA and
what httpeek recorded). Everything has a timeout; nothing connects anywhere but 127.0.0.1.
"""
import socket
import ssl
import struct
import time

TIMEOUT = 20
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
(DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE,
 CONTINUATION) = range(10)
END_STREAM, ACK, END_HEADERS, PADDED = 0x1, 0x1, 0x4, 0x8
SETTINGS_HEADER_TABLE_SIZE, SETTINGS_ENABLE_PUSH, SETTINGS_MAX_CONCURRENT_STREAMS = 1, 2, 3
SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_FRAME_SIZE = 4, 5
ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]


def error_name(code):
    return ERRORS[code] if code < len(ERRORS) else "0x%x" % code


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid) + payload


def settings(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def window_update(sid, n):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", n))


def rst_stream(sid, code):
    return frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def _int(v, bits, flags=0):
    top = (1 << bits) - 1
    if v < top:
        return bytes([flags | v])
    out = [flags | top]
    v -= top
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return _int(len(b), 7) + b


def block(fields):
    """An HPACK header block of literal fields without indexing (new names)."""
    return b"".join(b"\x00" + _str(k) + _str(v) for k, v in fields)


def request_fields(method, authority, path, extra=()):
    return [(":method", method), (":scheme", "https"), (":authority", authority),
            (":path", path)] + list(extra)


def headers(sid, fields, end_stream=False, end_headers=True):
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, flags, sid, block(fields))


def tunnel(proxy_port, host, port, cafile, alpn=("h2",), timeout=TIMEOUT):
    """CONNECT host:port through httpeek, then TLS with alpn; returns the TLS socket."""
    s = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    s.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host.encode(), port, host.encode(), port))
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            raise EOFError("proxy closed during CONNECT")
        head += c
    if b" 200" not in head.split(b"\r\n", 1)[0]:
        raise ValueError("CONNECT refused: %r" % head)
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(list(alpn))
    t = ctx.wrap_socket(s, server_hostname=host)
    t.settimeout(timeout)
    return t


class Conn:
    """One HTTP/2 connection over a socket: send frames, read frames."""

    def __init__(self, sock, settings_pairs=(), preface=True):
        self.sock = sock
        self.buf = b""
        self.goaway = None  # (last_stream_id, error code, debug text)
        self.data = {}  # stream id -> bytes of DATA received
        self.ended = set()  # streams the server ended (END_STREAM)
        self.headers = {}  # stream id -> HEADERS frames received
        self.resets = {}  # stream id -> RST_STREAM error code
        self.closed = False
        if preface:
            self.send(PREFACE + settings(settings_pairs))

    def send(self, *frames):
        self.sock.sendall(b"".join(frames))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame in time")
            self.sock.settimeout(left)
            try:
                c = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, OSError) as e:
                if isinstance(e, socket.timeout):
                    raise
                c = b""
            if not c:
                self.closed = True
                return False
            self.buf += c
        return True

    def read_frame(self, timeout=TIMEOUT):
        """(type, flags, sid, payload), or None when the server closed. Tracks what it saw;
        answers SETTINGS and PING."""
        deadline = time.monotonic() + timeout
        if not self._fill(9, deadline):
            return None
        n = struct.unpack(">I", b"\x00" + self.buf[:3])[0]
        if not self._fill(9 + n, deadline):
            return None
        ftype, flags, sid = struct.unpack(">BBI", self.buf[3:9])
        sid &= 0x7FFFFFFF
        payload = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        if ftype == SETTINGS and not flags & ACK:
            self.send(settings(ack=True))
        elif ftype == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code, payload[8:].decode("utf-8", "replace"))
        elif ftype == DATA:
            body = payload
            if flags & PADDED:
                body = payload[1:len(payload) - payload[0]]
            self.data[sid] = self.data.get(sid, b"") + body
        elif ftype == HEADERS:
            self.headers[sid] = self.headers.get(sid, 0) + 1
        elif ftype == RST_STREAM:
            self.resets[sid] = struct.unpack(">I", payload)[0]
        if ftype in (DATA, HEADERS) and flags & END_STREAM:
            self.ended.add(sid)
        return ftype, flags, sid, payload

    def run_until(self, cond, timeout=TIMEOUT, on_frame=None):
        """Read frames until cond(self) is true (True), the server closed or time ran out
        (False)."""
        deadline = time.monotonic() + timeout
        while not cond(self):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                f = self.read_frame(left)
            except socket.timeout:
                return False
            if f is None:
                return cond(self)
            if on_frame:
                on_frame(self, f)
        return True
