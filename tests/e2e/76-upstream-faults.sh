#!/usr/bin/env bash
# 76-upstream-faults.sh — upstreams that fail mid-way: a reset inside the response head, inside a
# Content-Length body, inside a chunk; more bytes than Content-Length; a response that never
# ends (captured up to --max-body, marked truncated, still forwarded); a server that never reads
# the request body (answering early, or not at all). Each is one recorded flow with the reason,
# the client sees what an app would see without the proxy, and memory stays bounded.
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
pf="$T/faulty.port"
spawn faulty 300 "$PYTHON" "$E2E_DIR/faulty.py" --port 0 --port-file "$pf"
wait_file "$pf" 10 || { echo "Bail out! faulty.py did not start: $(cat "$T/faulty.err")"; exit 1; }
UP=$(cat "$pf")
U="http://upstream.test:$UP"
start_httpeek --session "$T/s.sqlite" --max-body 1000000 --idle-timeout 3 --upstream-timeout 3
# ASan keeps freed memory in quarantine (256 MB), so RSS says nothing about leaks there
if grep -q __asan_init "$HTTPEEK" 2>/dev/null; then SANITIZED=1; else SANITIZED=0; fi
# rss_bound GROWTH-KB DESC
rss_bound() {
    if [ "$SANITIZED" = 1 ]; then skip "$2" "AddressSanitizer build: RSS includes its quarantine"
    else cmp_num "$1" -lt 40000 "$2 (RSS +$1 kB)"; fi
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(pgrep -P "$HTTPEEK_PID" -x httpeek || echo "$HTTPEEK_PID")/status" 2>/dev/null; }
# expected body: bytes of "0123456789" repeated
pattern_sha() { "$PYTHON" -c 'import sys,hashlib; n=int(sys.argv[1]); print(hashlib.sha256((b"0123456789"*(n//10+1))[:n]).hexdigest())' "$1"; }

# ---- resets ---------------------------------------------------------------------------------
code=$(pcurl -o "$T/b" -w '%{http_code}' "$U/reset-head")
is "$code" 502 "reset inside the response head: 502"
like "$(cat "$T/b")" "closed the connection without a response|reset" "... with the reason in the body"

pcurl -o "$T/b" -w '%{http_code}' "$U/reset-body" >"$T/code" 2>"$T/err"; rc=$?
is "$(cat "$T/code")/$rc" "200/18" "reset inside a Content-Length body: 200, then the client sees the body cut short (curl 18)"
is "$(stat -c %s "$T/b")" 3000 "... after the 3000 bytes the server sent"

pcurl -o "$T/b" -w '%{http_code}' "$U/reset-chunk" >"$T/code" 2>"$T/err"; rc=$?
isnt "$rc" 0 "reset inside a chunk: the client's transfer fails (curl $rc), not a clean end"
is "$(stat -c %s "$T/b")" 500 "... after the 500 bytes of the chunk that came"

wait_grep "reset-chunk.*FAILED" "$HTTPEEK_LOG" 5
like "$(log_lines '/reset-head')" "502 .*FAILED wait: .*closed the connection without a response" "log: reset-head FAILED at wait"
like "$(log_lines '/reset-body')" "200 .*FAILED receive: .*in the middle of the response" "log: reset-body FAILED at receive"
like "$(log_lines '/reset-chunk')" "200 .*FAILED receive: " "log: reset-chunk FAILED at receive"

# ---- more than Content-Length ---------------------------------------------------------------
"$PYTHON" - "$HTTPEEK_PORT" "$UP" >"$T/over.out" 2>&1 <<'PY'
import socket, sys
sys.path.insert(0, __import__("os").environ.get("E2E_DIR", "."))
port, up = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
out = []
for path in ("/overlong/10", "/ok/7"):
    s.sendall(("GET http://upstream.test:%d%s HTTP/1.1\r\nHost: upstream.test\r\n\r\n" % (up, path)).encode())
    status = f.readline().split()[1].decode()
    cl = 0
    while True:
        l = f.readline()
        if l in (b"\r\n", b""):
            break
        if l.lower().startswith(b"content-length:"):
            cl = int(l.split(b":")[1])
    out.append("%s:%s" % (status, f.read(cl).decode("latin-1")))
print(" ".join(out))
PY
is "$(cat "$T/over.out")" "200:0123456789 200:0123456" "more bytes than Content-Length: the client gets exactly the length, and its connection stays good"

# ---- endless response -----------------------------------------------------------------------
rss0=$(rss_kb)
CURL_MAX_TIME=4 pcurl -o /dev/null -w '%{size_download}' "$U/endless" >"$T/size" 2>/dev/null
size=$(cat "$T/size")
cmp_num "$size" -gt 5000000 "endless response: bytes keep flowing to the client past --max-body ($size in 4 s)"
rss1=$(rss_kb)
rss_bound "$((rss1 - rss0))" "... while httpeek's memory stays bounded"
wait_grep "/endless .*FAILED" "$HTTPEEK_LOG" 5
like "$(log_lines '/endless')" "200 .*FAILED .*client closed" "log: the endless response is a flow ended by the client"

# a client that stops reading: back-pressure stops reading the upstream, memory stays bounded
rss0=$(rss_kb)
timeout -k 2 20 "$PYTHON" - "$HTTPEEK_PORT" "$UP" <<'PY' >"$T/slow.out" 2>&1
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET http://upstream.test:%s/endless HTTP/1.1\r\nHost: u\r\n\r\n" % sys.argv[2].encode())
# read nothing while the server pushes as fast as it can: 2 s, under --idle-timeout 3 (a client
# that reads nothing for longer is cut like nginx's send_timeout does: no data moved either way)
time.sleep(2)
n = 0
s.settimeout(2)
try:
    while n < 2000000:
        b = s.recv(65536)
        if not b:
            break
        n += len(b)
except OSError:
    pass
print("read", n)
PY
rss1=$(rss_kb)
like "$(cat "$T/slow.out")" "^read 2[0-9]{6}" "a client that stopped reading for 2 s still gets the stream afterwards"
rss_bound "$((rss1 - rss0))" "... and httpeek did not buffer the endless body meanwhile"

# ---- a server that never reads the request body ---------------------------------------------
head -c 20000000 /dev/zero >"$T/big"
t0=$(date +%s%N)
code=$(CURL_MAX_TIME=15 pcurl -o "$T/b" -w '%{http_code}' -H 'Expect:' --data-binary @"$T/big" "$U/noread" 2>"$T/err")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code/$(cat "$T/b")" "200/noread" "server answers without reading a 20 MB body: the client gets the answer"
cmp_num "$ms" -lt 8000 "... promptly (${ms} ms)"
wait_grep "/noread" "$HTTPEEK_LOG" 5
like "$(log_lines '/noread')" "POST [^ ]*/noread 200 6B .*\(response arrived before the request body ended\)" "log: the early answer is recorded, and said to be early"

rss0=$(rss_kb)
t0=$(date +%s%N)
code=$(CURL_MAX_TIME=20 pcurl -o "$T/b" -w '%{http_code}' -H 'Expect:' --data-binary @"$T/big" "$U/silent" 2>"$T/err")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rss1=$(rss_kb)
like "$code" "^(504|000)$" "server neither reads a 20 MB body nor answers: the client gets 504 or a closed connection ($code)"
cmp_num "$ms" -lt 10000 "... at the idle deadline (3 s), not never (${ms} ms)"
rss_bound "$((rss1 - rss0))" "... and the stalled body did not pile up in httpeek"
wait_grep "/silent .*FAILED" "$HTTPEEK_LOG" 5
like "$(log_lines '/silent')" "FAILED (send|wait): .*(no data either way|sent no response)" "log: the stalled upload FAILED with a timeout"

# ---- an until-EOF body is re-chunked; the proxy is still healthy ------------------------------
code=$(pcurl -o "$T/b" -w '%{http_code}' "$U/eof/100000")
is "$code/$(file_sha "$T/b")" "200/$(pattern_sha 100000)" "a body delimited by the close arrives whole"
code=$(pcurl -o "$T/b" -w '%{http_code}' "$U/chunked/100000")
is "$code/$(file_sha "$T/b")" "200/$(pattern_sha 100000)" "a chunked body arrives whole"

# ---- the session: one flow per request; the endless one capped and marked truncated -------------
stop_httpeek
"$PYTHON" - "$T/s.sqlite" >"$T/db.out" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select summary, failed, resp_len, resp_total, resp_trunc from flows").fetchall()
print("flows", len(rows))
for summary, failed, rlen, rtotal, rtrunc in rows:
    url = json.loads(summary).get("url", "")
    if url.endswith("/endless"):
        print("endless", failed, rlen, rtotal, rtrunc)
PY
like "$(grep '^flows' "$T/db.out")" "^flows 11$" "the session holds one flow per request (11)"
read -r _ failed rlen rtotal rtrunc < <(grep '^endless' "$T/db.out")
is "$failed/$rlen/$rtrunc" "1/1000000/1" "endless flow: failed (client closed), 1000000 bytes captured (--max-body), marked truncated"
cmp_num "${rtotal:-0}" -gt 5000000 "endless flow: the total counts every byte forwarded ($rtotal)"

done_testing
