#!/usr/bin/env bash
# 70-limits.sh — size and count limits on request heads (414 / 431 with a reason, flow
# recorded, connection closed), the header deadline (408), slowloris against a healthy client,
# --max-connections (503 past the limit, logged once, service resumes), and running out of file
# descriptors (accepting pauses, service resumes).
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
H="$E2E_DIR/hostile.py"
hreq() { timeout -k 2 20 "$PYTHON" "$H" req "$HTTPEEK_PORT" "$1" "$2" "$UP" "${@:3}"; }
# hpass KIND N: hreq for a check that looks only at the status (--close-wait 0: CLOSED is "-", no
# 2 s wait for a close that does not come on a kept connection)
hpass() { hreq "$1" "$2" --close-wait 0; }

# ---- defaults -------------------------------------------------------------------------------
start_httpeek --header-timeout 2 --session "$T/s1.sqlite"
out=$(hpass target 16000)
like "$out" "^200 " "request-target of 16000 bytes (under the 16384 default) goes through"
out=$(hreq target 17000)
like "$out" "^414 1 " "request-target of 17000 bytes: 414 and the connection is closed ($out)"
like "$out" "max-request-line" "414 body names the limit and the option"
out=$(hpass line 16000)
like "$out" "^200 " "header line of 16000 bytes goes through"
out=$(hreq line 17000)
like "$out" "^431 1 .*header line longer than 16384 bytes .*max-header-line" "header line of 17000 bytes: 431, closed, reason"
out=$(hpass head 60000)
like "$out" "^200 " "request head of 60 kB goes through"
out=$(hreq head 70000)
like "$out" "^431 1 .*max-header-bytes" "request head of 70 kB: 431, closed, reason"
out=$(hpass count 90)
like "$out" "^200 " "90 header fields go through (upstream.py takes at most 100)"
out=$(hreq count 201)
like "$out" "^431 1 .*more than 200 header fields" "201 header fields: 431, closed, reason"

wait_grep "FAILED client_request: request refused: more than 200" "$HTTPEEK_LOG" 5
n=$(log_lines "FAILED client_request: request refused" | wc -l)
is "$n" 4 "each refused request is one FAILED flow line in the log"
like "$(log_lines ' 414 ' | head -n 1)" " http://upstream\.test:$UP/bytes/1\?a+\.\.\. 414 " "the 414 flow keeps the (cut) request-target"
unlike "$(log_lines 'FAILED client_request: request refused')" "NSURLError" "a 414/431 is an HTTP status the app receives, not an NSURLError: no code on those lines"

# ---- header deadline ------------------------------------------------------------------------
t0=$(date +%s%N)
out=$(timeout -k 2 20 "$PYTHON" "$H" raw "$HTTPEEK_PORT" 'GET http://upstream.test/ HTTP/1.1\r\nHost: up' --timeout 8)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$out" "^408 1 .*not received within 2s" "partial head, then silence: 408 after --header-timeout 2 ($out)"
cmp_num "$ms" -lt 5000 "the 408 comes at the deadline (${ms} ms)"
out=$(timeout -k 2 20 "$PYTHON" "$H" raw "$HTTPEEK_PORT" "GET http://upstream.test:$UP/bytes/5 HTTP/1.1\\r\\nHost: upstream.test\\r\\n\\r\\n" --split 20 --delay 0.2 --close-wait 0)
like "$out" "^200 " "a slow but complete head within the deadline is served"
wait_grep "408 .*FAILED client_request: request head not received" "$HTTPEEK_LOG" 5
ok "the 408 is a FAILED flow line" grep -q "FAILED client_request: request head not received" "$HTTPEEK_LOG"

# slowloris: 300 connections trickling a head do not stop a healthy client
timeout -k 2 30 "$PYTHON" "$H" hold "$HTTPEEK_PORT" 300 6 >"$T/hold.out" 2>&1 &
HOLD=$!
sleep 1
t0=$(date +%s%N)
code=$(pcurl -o "$T/body" -w '%{http_code}' "http://upstream.test:$UP/bytes/1000")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code/$(file_sha "$T/body")" "200/$(gen_sha 1000)" "during a 300-connection slowloris a healthy client is served"
cmp_num "$ms" -lt 2000 "... promptly (${ms} ms)"
wait $HOLD
read -r opened ended <"$T/hold.out"
is "$opened" 300 "slowloris opened its 300 connections"
is "$ended" 300 "every slowloris connection was answered (408) or closed by the deadline"

# flows are in the session: the refused ones are there with their failure
stop_httpeek
rows=$("$PYTHON" - "$T/s1.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# the failure's reason is the summary's error (the detail may be a flow record: flow_detail.h)
print(db.execute("select count(*) from flows where failed = 1"
                 " and json_extract(summary, '$.error') like 'request refused:%'").fetchone()[0])
PY
)
is "$rows" 4 "the session holds the 4 refused requests as failed flows"

# ---- options --------------------------------------------------------------------------------
start_httpeek --max-request-line 1000 --max-header-line 500 --max-header-bytes 3000 --max-headers 10
out=$(hpass target 900);   like "$out" "^200 " "--max-request-line 1000: 900 bytes pass"
out=$(hreq target 1100);  like "$out" "^414 1 .*1000 bytes" "--max-request-line 1000: 1100 bytes get 414"
out=$(hreq line 600);     like "$out" "^431 1 .*500 bytes" "--max-header-line 500: 600 bytes get 431"
out=$(hpass count 10);     like "$out" "^200 " "--max-headers 10: 10 fields pass"
out=$(hreq count 11);     like "$out" "^431 1 .*more than 10 header" "--max-headers 10: 11 fields get 431"
out=$(timeout -k 2 20 "$PYTHON" "$H" raw "$HTTPEEK_PORT" "GET http://upstream.test:$UP/bytes/1 HTTP/1.1\\r\\nHost: upstream.test\\r\\nA: $(printf 'x%.0s' $(seq 400))\\r\\nB: $(printf 'x%.0s' $(seq 400))\\r\\nC: $(printf 'x%.0s' $(seq 400))\\r\\nD: $(printf 'x%.0s' $(seq 400))\\r\\nE: $(printf 'x%.0s' $(seq 400))\\r\\nF: $(printf 'x%.0s' $(seq 400))\\r\\nG: $(printf 'x%.0s' $(seq 400))\\r\\nH: $(printf 'x%.0s' $(seq 400))\\r\\n\\r\\n")
like "$out" "^431 1 .*3000 bytes" "--max-header-bytes 3000: a 3.3 kB head gets 431"
for opt in "--max-request-line 10" "--max-headers 0" "--max-header-bytes x" "--max-connections 0"; do
    # shellcheck disable=SC2086
    timeout 5 "$HTTPEEK" $opt --listen 127.0.0.1:1 >"$T/o" 2>"$T/e"; rc=$?
    is "$rc/$(grep -c . "$T/e")" "2/1" "bad value '$opt': exit 2 with one line"
done
ok "--help lists the limits" bash -c "'$HTTPEEK' --help | grep -q -- --max-connections"

# ---- --max-connections ----------------------------------------------------------------------
start_httpeek --max-connections 5 --workers 1
"$PYTHON" - "$HTTPEEK_PORT" "$UP" >"$T/maxc.out" 2>&1 <<'PY'
import socket, sys, time
port, up = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
time.sleep(0.5)
res = []
for _ in range(3):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    res.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
    s.close()
print("over:", "|".join(res))
for s in held:
    s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("GET http://upstream.test:%d/bytes/10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % up).encode())
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print("after:", data.split(b"\r\n", 1)[0].decode("latin-1"))
PY
like "$(grep over: "$T/maxc.out")" "over: HTTP/1.1 503[^|]*\|HTTP/1.1 503[^|]*\|HTTP/1.1 503" "--max-connections 5: the 6th, 7th, 8th connections get 503"
like "$(grep after: "$T/maxc.out")" "after: HTTP/1.1 200" "once connections close, service resumes"
# (each refused connection is also a flow line, FAILED ... the --max-connections 5 limit)
is "$(cat "$HTTPEEK_ERR" "$HTTPEEK_LOG" | grep 'max-connections 5' | grep -vc ' FAILED ')" 1 "reaching the limit is logged once"
is "$(grep -c ' 503 .*FAILED client_request: .*--max-connections 5 limit.*\[503 HTTPServiceUnavailable\]' "$HTTPEEK_LOG")" 3 "each of the 3 refused connections is a flow naming the limit"

# ---- out of file descriptors: accepting pauses, nothing spins or crashes, service resumes -------
if command -v prlimit >/dev/null; then
    start_httpeek --workers 1
    HP=$(pgrep -P "$HTTPEEK_PID" -x httpeek || echo "$HTTPEEK_PID")
    n0=$(ls "/proc/$HP/fd" | wc -l)
    prlimit --pid "$HP" --nofile=$((n0 + 20)):$((n0 + 20))
    out=$("$PYTHON" - "$HTTPEEK_PORT" "$UP" <<'PY'
import socket, sys, time
port, up = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(60)]
time.sleep(1.5)
for s in held:
    s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET http://upstream.test:%d/bytes/10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % up)
d = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    d += b
print(d.split(b"\r\n")[0].decode())
PY
)
    like "$(grep -c 'pausing accepts' "$HTTPEEK_ERR")" "^[1-9]" "60 connections with 20 descriptors to spare: accepting pauses (EMFILE), logged"
    is "$out" "HTTP/1.1 200 OK" "once they close, the next client is served"
    ok "httpeek is still running" kill -0 "$HP"
else
    skip "out of file descriptors" "no prlimit"
fi

# ---- the open-file limit: raised to the hard limit at start, said when even that is short --------
lim() { awk '/^Max open files/ {print $4, $5}' "/proc/$(pgrep -P "$HTTPEEK_PID" -x httpeek || echo "$HTTPEEK_PID")/limits"; }
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -ge 4096 ]; then
    (ulimit -Sn 1024 && start_httpeek && echo "$(lim)" >"$T/lim1" && stop_httpeek)
    is "$(cat "$T/lim1" 2>/dev/null)" "$HARD $HARD" "a soft open-file limit of 1024 is raised to the hard limit ($HARD)"
    (ulimit -Sn 1024 && ulimit -Hn 4096 && start_httpeek --max-connections 4096 && sleep 0.3 &&
        grep -c 'open-file limit (4096) allows about 1920 connections, fewer than --max-connections 4096' "$HTTPEEK_ERR" >"$T/lim2"; stop_httpeek)
    is "$(cat "$T/lim2" 2>/dev/null)" 1 "a hard limit too small for --max-connections is said once at start"
else
    skip "the open-file limit is raised to the hard limit" "hard limit $HARD (needs a finite one of 4096 or more)"
fi

done_testing
