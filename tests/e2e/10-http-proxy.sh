#!/usr/bin/env bash
# 10-http-proxy.sh — plain HTTP proxying (absolute-form requests, curl -x):
# bodies of every size and framing arrive byte-identical in both directions,
# HEAD/204/304 framing, hop-by-hop removal and origin-form toward the origin,
# keep-alive on both legs, pipelining, and an HTTP/1.0 client.
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream --quiet
UP=$UPSTREAM_PORT
BASE="http://upstream.test:$UP"
start_httpeek
diag "httpeek on 127.0.0.1:$HTTPEEK_PORT, upstream on $UP, dns on $DNS_PORT"

like "$(cat "$HTTPEEK_LOG")" "listening on 127\.0\.0\.1:$HTTPEEK_PORT" "prints 'listening on' with the proxy address"
like "$(cat "$HTTPEEK_LOG")" "CA certificate: .*/ca-cert\.pem" "prints the CA certificate path"

# ---- response bodies: sizes and framings --------------------------------
for n in 0 1024 10485760; do
    rm -f "$T/body" "$T/h"
    pcurl -o "$T/body" -D "$T/h" "$BASE/bytes/$n"; rc=$?
    is "$rc" 0 "GET /bytes/$n: curl exit status"
    is "$(status_of "$T/h")" 200 "GET /bytes/$n: status 200"
    is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha $n)" "GET /bytes/$n: body identical (sha256)"
    is "$(header Content-Length "$T/h")" "$n" "GET /bytes/$n: Content-Length passed on"
done

for n in 0 100000 10485760; do
    pcurl -o "$T/body" -D "$T/h" "$BASE/chunked/$n"
    is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha $n)" "GET /chunked/$n (varied chunk sizes): body identical"
done

n=1048576
pcurl --compressed -o "$T/body" -D "$T/h" "$BASE/gzip/$n"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha $n)" "GET /gzip/$n with curl --compressed: decoded body identical"
pcurl -o "$T/body" -D "$T/h" "$BASE/gzip/$n"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gzip_sha $n)" "GET /gzip/$n raw: gzip bytes identical"
is "$(header Content-Encoding "$T/h")" gzip "GET /gzip/$n: Content-Encoding: gzip passed on"

sleep 0.3
like "$(cat "$HTTPEEK_LOG")" "GET http://upstream\.test:$UP/bytes/1024 200 " "log has one line for the exchange: method, URL, status"

# ---- request bodies -----------------------------------------------------
head -c 10485760 /dev/urandom >"$T/up10m"
up_sha=$(file_sha "$T/up10m")
pcurl -o "$T/body" -D "$T/h" -X POST --data-binary @"$T/up10m" \
    -H 'Content-Type: application/octet-stream' -H 'Expect:' "$BASE/echo"
is "$(header X-Body-Sha256 "$T/h")" "$up_sha" "POST 10 MiB (Content-Length): upstream received it intact"
is "$(file_sha "$T/body" 2>/dev/null)" "$up_sha" "POST 10 MiB (Content-Length): echo identical"

pcurl -o "$T/body" -D "$T/h" -X PUT --data-binary @"$T/up10m" \
    -H 'Transfer-Encoding: chunked' -H 'Expect:' "$BASE/echo"
is "$(header X-Body-Sha256 "$T/h")" "$up_sha" "PUT 10 MiB (chunked): upstream received it intact"
is "$(file_sha "$T/body" 2>/dev/null)" "$up_sha" "PUT 10 MiB (chunked): echo identical"

pcurl -o "$T/body" -D "$T/h" -X POST --data-binary '' "$BASE/echo"
is "$(header X-Body-Length "$T/h")/$(stat -c %s "$T/body" 2>/dev/null)" "0/0" "POST with an empty body"

# Expect: 100-continue (RFC 9110 10.1.1): the client gets its 100 and the body goes through
head -c 1024 /dev/urandom >"$T/up1k"
pcurl -v -o "$T/body" -D "$T/h" -H 'Expect: 100-continue' --expect100-timeout 10 \
    --data-binary @"$T/up1k" "$BASE/echo" 2>"$T/v"
like "$(cat "$T/v")" "< HTTP/1\.[01] 100 Continue" "Expect: 100-continue: client receives 100 Continue"
unlike "$(cat "$T/v")" "Done waiting for 100-continue" "Expect: 100-continue: the 100 arrives before curl gives up waiting (10 s)"
is "$(file_sha "$T/body" 2>/dev/null)" "$(file_sha "$T/up1k")" "Expect: 100-continue: body echoed identical"
is "$(status_of "$T/h")" 200 "Expect: 100-continue: final status 200"

# ---- HEAD, 204, 304 -----------------------------------------------------
CURL_MAX_TIME=10 pcurl -I -o "$T/body" "$BASE/bytes/1000"; rc=$?
is "$rc" 0 "HEAD: completes (no body awaited)"
is "$(status_of "$T/body")" 200 "HEAD: status 200"
is "$(header Content-Length "$T/body")" 1000 "HEAD: Content-Length of the GET passed on"

CURL_MAX_TIME=10 pcurl -o "$T/b1" -D "$T/h" "$BASE/status/204" -o "$T/b2" "$BASE/bytes/10"; rc=$?
is "$rc" 0 "204 then GET on the same connection: curl exit status"
is "$(grep -E '^HTTP/' "$T/h" | awk '{print $2}' | tr '\n' ' ')" "204 200 " "204 then GET: statuses"
is "$(stat -c %s "$T/b1" 2>/dev/null)/$(file_sha "$T/b2" 2>/dev/null)" "0/$(gen_sha 10)" "204 has no body; the next response is intact"

CURL_MAX_TIME=10 pcurl -o "$T/b1" -D "$T/h" -H 'If-None-Match: "v1"' "$BASE/status/304" -o "$T/b2" "$BASE/bytes/10"; rc=$?
is "$rc" 0 "304 then GET on the same connection: curl exit status"
is "$(grep -E '^HTTP/' "$T/h" | awk '{print $2}' | tr '\n' ' ')" "304 200 " "304 then GET: statuses"
is "$(stat -c %s "$T/b1" 2>/dev/null)/$(file_sha "$T/b2" 2>/dev/null)" "0/$(gen_sha 10)" "304 has no body; the next response is intact"

pcurl -o "$T/body" -D "$T/h" "$BASE/status/404"
is "$(status_of "$T/h")/$(cat "$T/body")" "404/status 404" "an upstream 404 is passed on with its body"

# ---- hop-by-hop headers, Host, origin-form (RFC 9110 7.6.1) ------------
pcurl -o "$T/hdrs.json" "$BASE/headers?q=1&r=two" \
    -H 'Connection: keep-alive, X-Drop-Me' -H 'X-Drop-Me: 1' \
    -H 'Keep-Alive: timeout=5' -H 'TE: trailers' -H 'Trailer: X-T' -H 'Upgrade: foo/1' \
    -H 'Proxy-Connection: keep-alive' -H 'Proxy-Authorization: Basic Zm9vOmJhcg==' \
    -H 'X-Keep-Me: yes'
out=$("$PYTHON" - "$T/hdrs.json" "upstream.test:$UP" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
names = {k.lower(): v for k, v in j["headers"]}
print("target=%s" % j["target"])
print("version=%s" % j["version"])
print("host=%s" % names.get("host"))
for h in ["x-drop-me", "keep-alive", "te", "trailer", "upgrade", "proxy-connection",
          "proxy-authorization"]:
    if h in names:
        print("leaked=%s" % h)
conn = names.get("connection", "")
if "x-drop-me" in conn.lower():
    print("leaked=connection-token")
print("keep=%s" % names.get("x-keep-me"))
print("ua=%s" % ("user-agent" in names))
PY
)
like "$out" "target=/headers\?q=1&r=two" "request-target sent to the origin in origin-form, query kept"
like "$out" "version=HTTP/1\.1" "forwarded as HTTP/1.1"
like "$out" "host=upstream\.test:$UP" "Host forwarded"
unlike "$out" "leaked=" "hop-by-hop headers removed (Connection tokens, Keep-Alive, TE, Trailer, Upgrade, Proxy-*)"
like "$out" "keep=yes" "end-to-end header kept"
like "$out" "ua=True" "User-Agent kept"

# ---- keep-alive on both legs --------------------------------------------
pcurl -v -o /dev/null -o /dev/null "$BASE/bytes/10" "$BASE/bytes/20" 2>"$T/v"
like "$(cat "$T/v")" "Re-using existing connection" "client leg kept alive: curl re-uses its proxy connection"
ids=$(grep -i '^< X-Conn-Id:' "$T/v" | tr -d '\r' | awk '{print $3}' | tr '\n' ' ')
if [[ "$ids" =~ ^([0-9]+)\ ([0-9]+)\ $ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
    pass "upstream leg kept alive: same X-Conn-Id for both requests ($ids)"
else
    fail "upstream leg kept alive: same X-Conn-Id for both requests" "X-Conn-Id values: '$ids'"
fi

# ---- pipelining: three requests in one write, three responses in order ---
out=$(py '
import sys, hashlib, random
sys.path.insert(0, sys.argv[1]); import httpc
proxy, up = int(sys.argv[2]), int(sys.argv[3])
base = "http://upstream.test:%d" % up
s = httpc.connect(proxy)
reqs = [("GET", "/bytes/100"), ("HEAD", "/bytes/1000"), ("GET", "/chunked/5000")]
s.sendall(b"".join(("%s %s%s HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (m, base, p, up)).encode()
                   for m, p in reqs))
f = s.makefile("rb")
for m, p in reqs:
    try:
        r = httpc.read_response(f, m)
    except Exception as e:
        print("%s %s -> error %s" % (m, p, e)); break
    n = int(p.rsplit("/", 1)[1])
    want = b"" if m == "HEAD" else random.Random(n).randbytes(n)
    print("%s %s -> %d len=%d cl=%s %s" % (m, p, r["status"], len(r["body"]),
          httpc.hget(r["headers"], "Content-Length"), "same" if r["body"] == want else "DIFFERENT"))
' "$E2E_DIR" "$HTTPEEK_PORT" "$UP" 2>&1)
is "$out" "GET /bytes/100 -> 200 len=100 cl=100 same
HEAD /bytes/1000 -> 200 len=0 cl=1000 same
GET /chunked/5000 -> 200 len=5000 cl=None same" "3 pipelined requests (GET, HEAD, chunked GET): 3 responses in order, intact"

# ---- HTTP/1.0 client -----------------------------------------------------
pcurl -0 -o "$T/body" -D "$T/h" "$BASE/bytes/1024"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha 1024)" "HTTP/1.0 client (curl -0): body identical"
pcurl -0 -o "$T/body" -D "$T/h" "$BASE/chunked/100000"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha 100000)" "HTTP/1.0 client, chunked upstream response: body identical"
unlike "$(tr 'A-Z' 'a-z' <"$T/h")" "^transfer-encoding:" "HTTP/1.0 client gets no Transfer-Encoding (RFC 9112 6.1)"

done_testing
