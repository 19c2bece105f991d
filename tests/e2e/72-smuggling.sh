#!/usr/bin/env bash
# 72-smuggling.sh — request smuggling and framing attacks. Every ambiguous or invalid request
# head (both Content-Length and Transfer-Encoding, duplicate lengths, obs-fold, bare LF, ...)
# gets 400 with the reason and the connection closed, and no byte of it reaches the upstream.
# An invalid chunked body (head already forwarded) ends the upstream connection before the
# upstream ever has a whole request. Broken response framing from the upstream gives 502.
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
pf="$T/faulty.port"
spawn faulty 300 "$PYTHON" "$E2E_DIR/faulty.py" --port 0 --port-file "$pf" --record "$T/faulty.rec"
wait_file "$pf" 10 || { echo "Bail out! faulty.py did not start: $(cat "$T/faulty.err")"; exit 1; }
UP=$(cat "$pf")
start_httpeek --session "$T/s.sqlite"
H="$E2E_DIR/hostile.py"
raw() { timeout -k 2 20 "$PYTHON" "$H" raw "$HTTPEEK_PORT" "$@" --timeout 5 2>&1 | tail -n 1; }
# upstream connections accepted and requests read whole so far: faulty.py appends "accept N" and
# "request N LINE" as they happen, so nothing waits for a connection to close
nconn() { { cat "$T/faulty.rec" 2>/dev/null; } | grep -c '^accept '; }
nreq() { { cat "$T/faulty.rec" 2>/dev/null; } | grep -c '^request '; }
# requests_since N: the request lines the upstream read whole after the first N
requests_since() { { cat "$T/faulty.rec" 2>/dev/null; } | grep '^request ' | tail -n +$(($1 + 1)) | cut -d' ' -f3- | tr '\n' '|'; }
# good_request PATH: one good request on a new client connection; the upstream has read it by the
# time its answer is back, and on the same upstream connection anything sent before it too
good_request() { raw "GET http://upstream.test:$UP$1 HTTP/1.1\\r\\nHost: u\\r\\n\\r\\n"; }

A="POST http://upstream.test:$UP/ok/5 HTTP/1.1\\r\\nHost: upstream.test\\r\\n"
# head_case DESC REQUEST REASON-ERE: 400, closed, reason, nothing reaches the upstream
head_case() {
    local desc=$1 req=$2 reason=$3 before out
    before=$(nconn)
    out=$(raw "$req")
    like "$out" "^400 1 .*($reason)" "$desc: 400, closed, reason ($out)"
    is "$(nconn)" "$before" "$desc: no connection to the upstream"
}
head_case "Content-Length and Transfer-Encoding" "${A}Content-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n" "Content-Length can't be present with Transfer-Encoding"
head_case "Transfer-Encoding then Content-Length" "${A}Transfer-Encoding: chunked\\r\\nContent-Length: 5\\r\\n\\r\\n0\\r\\n\\r\\n" "Content-Length can't be present with Transfer-Encoding"
head_case "two different Content-Length" "${A}Content-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello!" "Duplicate Content-Length"
head_case "two equal Content-Length" "${A}Content-Length: 5\\r\\nContent-Length: 5\\r\\n\\r\\nhello" "Duplicate Content-Length"
head_case "Content-Length list" "${A}Content-Length: 5, 5\\r\\n\\r\\nhello" "Invalid character in Content-Length"
head_case "negative Content-Length" "${A}Content-Length: -1\\r\\n\\r\\n" "Invalid character in Content-Length"
head_case "Content-Length overflow" "${A}Content-Length: 99999999999999999999999\\r\\n\\r\\n" "Content-Length overflow"
head_case "obs-fold" "${A}X-Folded: a\\r\\n b\\r\\nContent-Length: 0\\r\\n\\r\\n" "obs-fold"
head_case "obs-fold, sent byte by byte" "${A}X-Folded: a\\r\\n\\tb\\r\\nContent-Length: 0\\r\\n\\r\\n\" --split \"1" "obs-fold"
head_case "bare LF line ends" "POST http://upstream.test:$UP/ok/5 HTTP/1.1\\nHost: upstream.test\\nContent-Length: 0\\n\\n" "Invalid header value char|LF"
head_case "bare LF after one field" "${A}X-A: a\\nContent-Length: 0\\r\\n\\r\\n" "Invalid header value char|LF"
head_case "bare CR in a value" "${A}X-A: a\\rb\\r\\nContent-Length: 0\\r\\n\\r\\n" "LF"
head_case "NUL in a value" "${A}X-A: a\\x00b\\r\\nContent-Length: 0\\r\\n\\r\\n" "Invalid header value char"
head_case "space before the colon" "${A}Content-Length : 5\\r\\n\\r\\nhello" "Invalid header field char"
head_case "chunked not the final coding" "${A}Transfer-Encoding: chunked, gzip\\r\\n\\r\\n0\\r\\n\\r\\n" "Transfer-Encoding"
head_case "unknown transfer coding" "${A}Transfer-Encoding: xchunked\\r\\n\\r\\n0\\r\\n\\r\\n" "Transfer-Encoding"
head_case "chunked twice" "${A}Transfer-Encoding: chunked\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n" "Transfer-Encoding"
head_case "HTTP/2.0 request line" "GET http://upstream.test:$UP/ok/5 HTTP/2.0\\r\\nHost: u\\r\\n\\r\\n" "unsupported HTTP version"
head_case "HTTP/0.9 request line" "GET http://upstream.test:$UP/ok/5\\r\\n\\r\\n" "unsupported HTTP version"
head_case "identity with Content-Length" "${A}Transfer-Encoding: identity\\r\\nContent-Length: 5\\r\\n\\r\\nhello" "Content-Length can't be present"
like "$(good_request /ok/5)" "^200 0 01234$" "a good request after the refused heads is answered"
is "$(nconn) $(requests_since 0)" "1 GET /ok/5 HTTP/1.1|" "... and it is the first and only request, on the first and only connection, the upstream got"

# body_case DESC REQUEST REASON-ERE: 400, closed, reason; the upstream never got a whole request
body_case() {
    local desc=$1 req=$2 reason=$3 out before
    before=$(nreq)
    out=$(raw "$req")
    like "$out" "^400 1 .*($reason)" "$desc: 400, closed, reason ($out)"
    is "$(nreq)" "$before" "$desc: the upstream never had a whole request"
}
body_case "invalid chunk size" "${A}Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nhello\\r\\n0\\r\\n\\r\\n" "chunk size"
body_case "chunk size overflow" "${A}Transfer-Encoding: chunked\\r\\n\\r\\nfffffffffffffffff\\r\\nhello\\r\\n0\\r\\n\\r\\n" "overflow"
body_case "no CRLF after chunk data" "${A}Transfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhelloXX0\\r\\n\\r\\n" "CRLF|LF|chunk"
body_case "bare LF after chunk size" "${A}Transfer-Encoding: chunked\\r\\n\\r\\n5\\nhello\\r\\n0\\r\\n\\r\\n" "chunk size|LF"
body_case "empty chunk extension" "${A}Transfer-Encoding: chunked\\r\\n\\r\\n5;\\r\\nhello\\r\\n0\\r\\n\\r\\n" "chunk extension"
body_case "invalid chunk size after a good chunk, sent slowly" "${A}Transfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhello\\r\\n-1\\r\\n\\r\\n\" --split \"40\" --delay \"0.2" "chunk size"

before=$(nreq)
like "$(good_request /ok/5)" "^200 0 01234$" "a good request after the invalid bodies is answered"
is "$(requests_since "$before")" "GET /ok/5 HTTP/1.1|" "... and it is the only request the upstream read whole since them"

# a body that looks like a request stays a body
before=$(nreq)
out=$(raw "GET http://upstream.test:$UP/ok/5 HTTP/1.1\\r\\nHost: u\\r\\nContent-Length: 31\\r\\n\\r\\nGET /ok/7 HTTP/1.1\\r\\nHost: u\\r\\n\\r\\n")
like "$out" "^200 0 01234$" "a request inside a Content-Length body is forwarded as a body"
like "$(good_request /ok/3)" "^200 0 012$" "a good request after it is answered"
is "$(requests_since "$before")" "GET /ok/5 HTTP/1.1|GET /ok/3 HTTP/1.1|" "... and the upstream saw exactly those two requests, not the one inside the body"

# broken response framing from the upstream: 502, the smuggled part never reaches the client
for c in resp-cl-te resp-dup-cl resp-bare-lf resp-obs-fold; do
    out=$(raw "GET http://upstream.test:$UP/$c HTTP/1.1\\r\\nHost: u\\r\\n\\r\\n")
    like "$out" "^502 1 .*invalid response from upstream" "upstream $c: 502 with the reason ($out)"
    unlike "$out" "smuggled" "upstream $c: nothing of it reaches the client"
done
# hostile.py reads the Content-Length (8) of the 204 head as a body to wait for: any of the bytes
# behind the head would be read and shown; none come, so it waits until --timeout (2 s: they would
# come with the head, not seconds after it)
out=$(timeout -k 2 20 "$PYTHON" "$H" raw "$HTTPEEK_PORT" "GET http://upstream.test:$UP/resp-204-body HTTP/1.1\\r\\nHost: u\\r\\n\\r\\n" --timeout 2 2>&1 | tail -n 1)
like "$out" "^204 " "upstream 204 with a body: the client gets the 204 ($out)"
unlike "$out" "smuggled" "... and never the body bytes behind it"
out=$(timeout -k 2 20 "$PYTHON" - "$HTTPEEK_PORT" "$UP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET http://upstream.test:%s/resp-te-split HTTP/1.1\r\nHost: u\r\nConnection: close\r\n\r\n" % sys.argv[2].encode())
d = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    d += b
te = [l for l in d.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"transfer-encoding")]
print(b" | ".join(te).decode())
PY
)
is "$out" "Transfer-Encoding: identity, chunked" "two Transfer-Encoding fields reach the client as one list ending in chunked"
out=$(raw "GET http://upstream.test:$UP/resp-bad-chunk HTTP/1.1\\r\\nHost: u\\r\\n\\r\\n")
unlike "$out" "^200 0" "upstream invalid chunk size: the client connection is not kept as if it were fine ($out)"

# every refused request is a failed flow in the session
wait_grep "resp-bad-chunk.*FAILED" "$HTTPEEK_LOG" 5
n=$(log_lines "400 .*FAILED client_request: invalid request" | wc -l)
is "$n" 26 "each refused request is one FAILED flow (log)"
stop_httpeek
is "$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from flows where failed=1 and json_extract(summary, \"$.error\") like \"%invalid request%\"").fetchone()[0])' "$T/s.sqlite")" 26 "each refused request is a failed flow in the session"

done_testing
