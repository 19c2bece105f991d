"""Raw HTTP/1.1 client helpers for the e2e tests (stdlib only).

curl cannot pipeline or speak through a CONNECT tunnel byte by byte, so the
tests that need that import this module from inline python:
    sys.path.insert(0, E2E_DIR); import httpc
Everything has a timeout; nothing here connects anywhere but 127.0.0.1.
"""
import socket
import ssl

TIMEOUT = 20


def connect(port, timeout=TIMEOUT):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_head(f):
    """Read a response head: (version, status, reason, [(name, value)])."""
    line = f.readline(65537)
    if not line:
        raise EOFError("connection closed before a status line")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("bad status line %r" % line)
    version, status = parts[0], int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    while True:
        h = f.readline(65537)
        if not h:
            raise EOFError("connection closed inside the head")
        if h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return version, status, reason, headers


def hget(headers, name):
    """Last value of header NAME (case-insensitive), or None."""
    v = None
    for k, val in headers:
        if k.lower() == name.lower():
            v = val
    return v


def read_response(f, method="GET"):
    """Read one full response (skipping 1xx); returns dict with status,
    headers, body (bytes) and framing ('length', 'chunked', 'close', 'none')."""
    while True:
        version, status, reason, headers = read_head(f)
        if 100 <= status < 200 and status != 101:
            continue
        break
    te = (hget(headers, "Transfer-Encoding") or "").lower()
    cl = hget(headers, "Content-Length")
    body = b""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        framing = "none"
    elif "chunked" in te:
        framing = "chunked"
        parts = []
        while True:
            line = f.readline(65537)
            if not line:
                raise EOFError("closed inside chunked body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while f.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            parts.append(readn(f, size))
            f.readline(3)
        body = b"".join(parts)
    elif cl is not None:
        framing = "length"
        body = readn(f, int(cl))
    else:
        framing = "close"
        body = f.read()
    return {"version": version, "status": status, "reason": reason,
            "headers": headers, "body": body, "framing": framing}


def readn(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError("short body: %d of %d bytes" % (len(b), n))
    return b


def connect_tunnel(proxy_port, host, port, timeout=TIMEOUT):
    """Open a CONNECT tunnel through the proxy; returns (sock, status, head_bytes).
    The socket is left right after the proxy's response head."""
    s = connect(proxy_port, timeout)
    s.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
               % (host, port, host, port)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)  # byte by byte: nothing after the head may be consumed
        if not b:
            break
        head += b
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return s, status, head


def tls_wrap(sock, server_hostname, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx.wrap_socket(sock, server_hostname=server_hostname)
