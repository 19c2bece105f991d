#!/usr/bin/env bash
# 20-connect-tls.sh — HTTPS through CONNECT with interception: the client
# trusts only httpeek's CA, httpeek trusts the test CA for the upstream.
# Bodies identical both ways, keep-alive on both legs inside the tunnel, HEAD,
# hop-by-hop removal, pipelining inside TLS, an opaque (non-TLS) tunnel relayed
# untouched, and 200 concurrent clients.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 echo.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
start_upstream --mode echo --quiet
ECHO=$UPSTREAM_PORT
BASE="https://upstream.test:$UP"
start_httpeek --upstream-ca "$PKI/ca.pem"
diag "httpeek on 127.0.0.1:$HTTPEEK_PORT, TLS upstream on $UP, echo on $ECHO, dns on $DNS_PORT"

ok "CA certificate written to confdir" test -s "$HTTPEEK_CA"

# ---- first exchange, seen by curl -v -----------------------------------
pcurl_tls -v -o "$T/body" "$BASE/bytes/1024" 2>"$T/v"; rc=$?
is "$rc" 0 "GET over CONNECT+TLS: curl verifies the minted leaf against httpeek's CA"
like "$(cat "$T/v")" "HTTP/1\.[01] 200 Connection established" "CONNECT answered '200 Connection established'"
like "$(cat "$T/v")" "subject: CN ?= ?upstream\.test|subjectAltName: host \"upstream\.test\" matched" "leaf is for upstream.test"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha 1024)" "GET /bytes/1024 over TLS: body identical"
sleep 0.3
like "$(cat "$HTTPEEK_LOG")" "GET https://upstream\.test:$UP/bytes/1024 200 " "log line for the intercepted exchange (https URL, status)"

# ---- response bodies ----------------------------------------------------
for n in 0 10485760; do
    pcurl_tls -o "$T/body" -D "$T/h" "$BASE/bytes/$n"
    is "$(status_of "$T/h")" 200 "TLS GET /bytes/$n: status 200"
    is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha $n)" "TLS GET /bytes/$n: body identical"
done
for n in 100000 10485760; do
    pcurl_tls -o "$T/body" "$BASE/chunked/$n"
    is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha $n)" "TLS GET /chunked/$n: body identical"
done
n=1048576
pcurl_tls --compressed -o "$T/body" "$BASE/gzip/$n"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha $n)" "TLS GET /gzip/$n --compressed: decoded body identical"
pcurl_tls -o "$T/body" -D "$T/h" "$BASE/gzip/$n"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gzip_sha $n)" "TLS GET /gzip/$n raw: gzip bytes identical"
is "$(header Content-Encoding "$T/h")" gzip "TLS GET /gzip/$n: Content-Encoding passed on"

# ---- a client that reads slower than the server sends ----------------------
# The client's records are gathered and written out when its output drains (tls_wbuf.c): here
# its socket fills, so gathered records wait for it to be writable, and the close-delimited
# response must reach the client whole before httpeek closes the connection.
n=4194304
pcurl_tls --limit-rate 4M -o "$T/body" -D "$T/h" "$BASE/bytes/$n"
is "$(status_of "$T/h")/$(file_sha "$T/body" 2>/dev/null)" "200/$(gen_sha $n)" \
    "TLS GET /bytes/$n read at 4 MB/s: body identical"
pcurl_tls --limit-rate 4M -o "$T/body" -D "$T/h" "$BASE/eof/$n"
is "$(status_of "$T/h")/$(file_sha "$T/body" 2>/dev/null)" "200/$(gen_sha $n)" \
    "TLS GET /eof/$n (ends with the server's close) read at 4 MB/s: body identical"
pcurl_tls -o "$T/body" -D "$T/h" "$BASE/eof/$n"
is "$(status_of "$T/h")/$(file_sha "$T/body" 2>/dev/null)" "200/$(gen_sha $n)" \
    "TLS GET /eof/$n at full speed: body identical"
# A client that reads nothing for 2 s and asked for the connection's close: the server's 24 MiB and
# its close arrive while the client's socket is full, so httpeek closes the connection with records
# still gathered; they must still all go out, then the close.
out=$(py '
import sys, time, hashlib
sys.path.insert(0, sys.argv[1]); import httpc
proxy, up, ca, n = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
s, st, head = httpc.connect_tunnel(proxy, "upstream.test", up)
t = httpc.tls_wrap(s, "upstream.test", ca)
t.sendall(b"GET /eof/%d HTTP/1.1\r\nHost: upstream.test:%d\r\nConnection: close\r\n\r\n"
          % (n, up))
time.sleep(2)
f = t.makefile("rb")
r = httpc.read_response(f)
try:
    rest = f.read()
    end = "then closed" if rest == b"" else "then %d more bytes" % len(rest)
except OSError as e:
    end = "then %s" % e
print("%d %d %s %s" % (r["status"], len(r["body"]), hashlib.sha256(r["body"]).hexdigest(), end))
' "$E2E_DIR" "$HTTPEEK_PORT" "$UP" "$HTTPEEK_CA" 25165824 2>&1)
is "$out" "200 25165824 $(gen_sha 25165824) then closed" \
    "a client that stops reading for 2 s gets the whole close-delimited 24 MiB body, then the close"

# ---- request bodies -----------------------------------------------------
head -c 10485760 /dev/urandom >"$T/up10m"
up_sha=$(file_sha "$T/up10m")
pcurl_tls -o "$T/body" -D "$T/h" -X POST --data-binary @"$T/up10m" -H 'Expect:' "$BASE/echo"
is "$(header X-Body-Sha256 "$T/h")" "$up_sha" "TLS POST 10 MiB (Content-Length): upstream received it intact"
is "$(file_sha "$T/body" 2>/dev/null)" "$up_sha" "TLS POST 10 MiB (Content-Length): echo identical"
pcurl_tls -o "$T/body" -D "$T/h" -X PUT --data-binary @"$T/up10m" \
    -H 'Transfer-Encoding: chunked' -H 'Expect:' "$BASE/echo"
is "$(header X-Body-Sha256 "$T/h")" "$up_sha" "TLS PUT 10 MiB (chunked): upstream received it intact"
is "$(file_sha "$T/body" 2>/dev/null)" "$up_sha" "TLS PUT 10 MiB (chunked): echo identical"

# ---- HEAD ---------------------------------------------------------------
CURL_MAX_TIME=10 pcurl_tls -I -o "$T/h" "$BASE/bytes/1000"; rc=$?
is "$rc/$(status_of "$T/h")/$(header Content-Length "$T/h")" "0/200/1000" "TLS HEAD: completes, 200, Content-Length 1000"

# ---- keep-alive inside the tunnel, both legs ------------------------------
pcurl_tls -v -o /dev/null -o /dev/null "$BASE/bytes/10" "$BASE/bytes/20" 2>"$T/v"
like "$(cat "$T/v")" "Re-using existing connection" "client leg: second request re-uses the tunnel"
is "$(grep -c 'CONNECT upstream' "$T/v")" 1 "client leg: only one CONNECT for two requests"
ids=$(grep -i '^< X-Conn-Id:' "$T/v" | tr -d '\r' | awk '{print $3}' | tr '\n' ' ')
if [[ "$ids" =~ ^([0-9]+)\ ([0-9]+)\ $ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
    pass "upstream leg: same X-Conn-Id for both requests ($ids)"
else
    fail "upstream leg: same X-Conn-Id for both requests" "X-Conn-Id values: '$ids'"
fi

# ---- what the origin receives ------------------------------------------
pcurl_tls --http1.1 -o "$T/hdrs.json" "$BASE/headers?a=1" \
    -H 'Connection: keep-alive, X-Drop-Me' -H 'X-Drop-Me: 1' -H 'Keep-Alive: timeout=5' \
    -H 'TE: trailers' -H 'Proxy-Connection: keep-alive' -H 'X-Keep-Me: yes'
out=$("$PYTHON" - "$T/hdrs.json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("no json: %s" % e); sys.exit()
names = {k.lower(): v for k, v in j["headers"]}
print("target=%s tls=%s sni=%s host=%s keep=%s" % (j["target"], j["tls"], j["sni"],
      names.get("host"), names.get("x-keep-me")))
for h in ["x-drop-me", "keep-alive", "te", "proxy-connection"]:
    if h in names:
        print("leaked=%s" % h)
PY
)
like "$out" "target=/headers\?a=1 " "origin-form request-target inside the tunnel"
like "$out" "tls=True sni=upstream\.test " "upstream TLS with SNI upstream.test"
like "$out" "host=upstream\.test:$UP " "Host forwarded"
like "$out" "keep=yes" "end-to-end header kept"
unlike "$out" "leaked=" "hop-by-hop headers removed inside the tunnel"

# ---- pipelining inside TLS ---------------------------------------------
out=$(py '
import sys, random
sys.path.insert(0, sys.argv[1]); import httpc
proxy, up, ca = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s, st, head = httpc.connect_tunnel(proxy, "upstream.test", up)
print("CONNECT -> %d" % st)
t = httpc.tls_wrap(s, "upstream.test", ca)
reqs = [("GET", "/bytes/100"), ("HEAD", "/bytes/1000"), ("GET", "/chunked/5000")]
t.sendall(b"".join(("%s %s HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (m, p, up)).encode()
                   for m, p in reqs))
f = t.makefile("rb")
for m, p in reqs:
    try:
        r = httpc.read_response(f, m)
    except Exception as e:
        print("%s %s -> error %s" % (m, p, e)); break
    n = int(p.rsplit("/", 1)[1])
    want = b"" if m == "HEAD" else random.Random(n).randbytes(n)
    print("%s %s -> %d len=%d %s" % (m, p, r["status"], len(r["body"]),
          "same" if r["body"] == want else "DIFFERENT"))
' "$E2E_DIR" "$HTTPEEK_PORT" "$UP" "$HTTPEEK_CA" 2>&1)
is "$out" "CONNECT -> 200
GET /bytes/100 -> 200 len=100 same
HEAD /bytes/1000 -> 200 len=0 same
GET /chunked/5000 -> 200 len=5000 same" "3 pipelined requests inside TLS: 3 responses in order, intact"

# ---- opaque tunnel: non-TLS bytes relayed untouched ----------------------
out=$(py '
import sys, os
sys.path.insert(0, sys.argv[1]); import httpc
proxy, port = int(sys.argv[2]), int(sys.argv[3])
s, st, head = httpc.connect_tunnel(proxy, "echo.test", port)
print("CONNECT -> %d" % st)
data = b"hello, not TLS\r\n\x00\xff\x16" + bytes(range(256)) * 400
s.sendall(data)
got = b""
while len(got) < len(data):
    b = s.recv(65536)
    if not b:
        break
    got += b
print("echoed %s" % ("all %d bytes, same" % len(data) if got == data else
                   "%d of %d bytes, DIFFERENT" % (len(got), len(data))))
s.sendall(b"second write")
got = b""
while len(got) < 12:
    b = s.recv(100)
    if not b:
        break
    got += b
print("second: %r" % got)
s.close()
' "$E2E_DIR" "$HTTPEEK_PORT" "$ECHO" 2>&1)
is "$out" "CONNECT -> 200
echoed all 102419 bytes, same
second: b'second write'" "CONNECT to a raw TCP echo service: bytes relayed untouched both ways"
wait_grep "CONNECT echo\.test:$ECHO TUNNEL" "$HTTPEEK_LOG" 5
like "$(cat "$HTTPEEK_LOG")" "CONNECT echo\.test:$ECHO TUNNEL up=[0-9.]+[kMG]?B down=[0-9.]+[kMG]?B" "log line for the opaque tunnel with byte counts"

# ---- 200 concurrent clients ----------------------------------------------
out=$(PY_TIMEOUT=60 py '
import sys, threading, random, hashlib
sys.path.insert(0, sys.argv[1]); import httpc
proxy, up, ca = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
N = 200
barrier = threading.Barrier(N, timeout=30)
results = [None] * N
def one(i):
    n = 1000 + 997 * i
    try:
        barrier.wait()
        s, st, head = httpc.connect_tunnel(proxy, "upstream.test", up, timeout=40)
        if st != 200:
            results[i] = "CONNECT %d" % st; return
        t = httpc.tls_wrap(s, "upstream.test", ca)
        t.sendall(("GET /bytes/%d HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (n, up)).encode())
        r = httpc.read_response(t.makefile("rb"))
        ok = r["status"] == 200 and r["body"] == random.Random(n).randbytes(n)
        results[i] = "ok" if ok else "status %d len %d" % (r["status"], len(r["body"]))
        t.close()
    except Exception as e:
        results[i] = "error %r" % e
ts = [threading.Thread(target=one, args=(i,)) for i in range(N)]
for t in ts: t.start()
for t in ts: t.join()
good = sum(1 for r in results if r == "ok")
print("%d/%d ok" % (good, N))
bad = [r for r in results if r != "ok"]
for r in sorted(set(bad))[:5]:
    print("e.g. %s (x%d)" % (r, bad.count(r)))
' "$E2E_DIR" "$HTTPEEK_PORT" "$UP" "$HTTPEEK_CA" 2>&1)
is "$out" "200/200 ok" "200 concurrent TLS clients through CONNECT: every body correct"

# the proxy is still serving afterwards
pcurl_tls -o "$T/body" "$BASE/bytes/1024"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha 1024)" "still serving after the concurrent burst"

done_testing
