#!/usr/bin/env bash
# 96-big-download.sh — a big HTTPS download through an intercepted tunnel from an HTTP/2 upstream
# (nginx: 8 KiB DATA frames): the client gets the body in whole 16 KiB TLS records (tls_wbuf.h's
# tls_wbuf_out_room: the client leg's output starts with a big chain, so the TLS bufferevent's
# writes are not cut at every upstream frame), and capture shows every body exactly, also when
# one big capture reuses the block the one before it freed (capture.h's spare block).
source "$(dirname "$0")/lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "1..0 # SKIP nginx is not installed"; exit 0; }

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1

NG=$T/nginx
mkdir -p "$NG/www"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$NG/www/one"
head -c $((4 * 1024 * 1024 - 1000)) /dev/urandom >"$NG/www/two"
NGPORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    default_type application/octet-stream;
    ssl_protocols TLSv1.3;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    server {
        listen 127.0.0.1:$NGPORT ssl http2;
        server_name _;
        root $NG/www;
    }
}
EOF
spawn nginx 120 "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log"
wait_port "$NGPORT" 10 || { echo "Bail out! nginx did not start: $(cat "$NG/error.log" "$T/nginx.err")"; exit 1; }
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --workers 1
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# GET PATH... on one intercepted HTTP/1.1 connection; the TLS records are read off the socket
# (their 5-byte headers) before OpenSSL decrypts them. Prints per path "sha256 body-records
# body-bytes" and, last, the record lengths of the first body as "lengths=L,L,...".
download() {
    py '
import hashlib, socket, ssl, sys
port, up, ca, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(("CONNECT upstream.test:%d HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (up, up)).encode())
head = b""
while not head.endswith(b"\r\n\r\n"):
    head += s.recv(1)
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
t = ctx.wrap_bio(inc, outg, server_hostname="upstream.test")
raw = b""          # bytes read but not yet a whole record
records = []       # (type, length) of every record received
def pump():        # one socket read: whole records to OpenSSL, their headers noted
    global raw
    data = s.recv(1 << 16)
    if not data:
        raise SystemExit("connection closed")
    raw += data
    while len(raw) >= 5 and len(raw) >= 5 + int.from_bytes(raw[3:5], "big"):
        n = 5 + int.from_bytes(raw[3:5], "big")
        records.append((raw[0], n - 5))
        inc.write(raw[:n])
        raw = raw[n:]
def flush():
    d = outg.read()
    if d:
        s.sendall(d)
while True:
    try:
        t.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        pump()
flush()
def read(n):       # n plaintext bytes
    buf = b""
    while len(buf) < n:
        try:
            buf += t.read(n - len(buf))
        except ssl.SSLWantReadError:
            pump()
    return buf
out = []
for i, path in enumerate(paths):
    t.write(("GET %s HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (path, up)).encode())
    flush()
    head = b""
    while b"\r\n\r\n" not in head:
        head += read(1)
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    first = len(records)
    body = read(length)
    rec = [n for typ, n in records[first:] if typ == 23]
    out.append("%s %d %d" % (hashlib.sha256(body).hexdigest(), len(rec), length))
    if i == 0:
        lengths = rec
print("\n".join(out))
print("lengths=" + ",".join(map(str, lengths)))
' "$HTTPEEK_PORT" "$NGPORT" "$HTTPEEK_CA" "$@"
}

res=$(download /one /two)
diag "$(sed -n 1,2p <<<"$res")"
one=($(sed -n 1p <<<"$res")) two=($(sed -n 2p <<<"$res"))
is "${one[0]}/${two[0]}" "$(file_sha "$NG/www/one")/$(file_sha "$NG/www/two")" \
    "two big bodies, one after the other on one tunnel: both identical"
# TLS 1.3: a full record carries 16 KiB of data, its content type and a 16-byte tag (16401)
# (before: ~8 KiB records, none full, twice as many as the 256 a 4 MiB body needs; now the
# records are full but where the client leg's output ran dry: ~310, half of them full)
n=${one[1]}
cmp_num "$n" -le 400 "the 4 MiB body came in big TLS records: $n records (256 at least)"
full=$(sed -n 's/^lengths=//p' <<<"$res" | tr ',' '\n' | grep -c '^16401$')
cmp_num "$full" -ge 64 "$full of them full-size (16,401 bytes with the TLS 1.3 type and tag)"

# capture: each flow holds its own body, whole (the second big capture reuses the first's block)
wait_flows "$WEB" 2
ids=$(api "$WEB/api/flows" | jq_py '" ".join(str(f["id"]) for f in sorted(d, key=lambda f: f["id"]) if "/one" in f["url"] or "/two" in f["url"])')
set -- $ids
is "$#" 2 "two flows"
for i in 1 2; do
    id=${!i}
    name=$([ "$i" = 1 ] && echo one || echo two)
    for k in $(seq 50); do   # the body is readable once the store has written the flow
        got=$(api "$WEB/api/flows/$id/response/body" | sha256sum | cut -d' ' -f1)
        [ "$got" = "$(file_sha "$NG/www/$name")" ] && break
        sleep 0.2
    done
    is "$got" "$(file_sha "$NG/www/$name")" "capture: the /$name flow's stored body is /$name's bytes"
    d=$(flow_detail "$id")
    n=$(stat -c %s "$NG/www/$name")
    is "$(jq_py '"%s/%s/%s" % (d["response"]["body_size"], d["response"]["body_captured"], d["response"]["body_truncated"])' <<<"$d")" \
        "$n/$n/False" "capture: its size, all of it captured, not truncated"
done

done_testing
