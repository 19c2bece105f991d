#!/usr/bin/env bash
# 95-plain-reads.sh — plain sockets (HTTP proxy requests on both legs) are read without asking
# the socket how much it holds first (no ioctl(FIONREAD) before each read: leg.c's plain_read),
# and what is read that way is whole: keep-alive requests, a 2 MiB upload and download (many
# reads, the input's high watermark), a client that goes away mid-upload (EOF on that leg), a
# throttled exchange (read by libevent's own path: its token buckets). Counted with strace on
# the running httpeek.
source "$(dirname "$0")/lib.sh"

if ! command -v strace >/dev/null 2>&1; then
    skip "plain reads" "strace is not installed"
    done_testing
fi

start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
start_httpeek --workers 1
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
BASE="http://upstream.test:$UP"
code=$(pcurl -o /dev/null -w '%{http_code}' "$BASE/bytes/10")
is "$code" 200 "a plain request before tracing"

head -c $((2 << 20)) /dev/urandom >"$T/up2m"
up_sha=$(file_sha "$T/up2m")

strace -f -qq -e trace=ioctl,readv,read -p "$pid" -o "$T/trace" 2>"$T/strace.err" &
STRACE=$!
_PIDS+=("$STRACE")
sleep 1
if ! kill -0 "$STRACE" 2>/dev/null; then
    skip "plain reads traced" "strace cannot attach here: $(head -c 200 "$T/strace.err")"
    done_testing
fi

urls=()
for i in $(seq 20); do urls+=(-o /dev/null "$BASE/bytes/$((1000 + i))"); done
codes=$(pcurl -s -w '%{http_code} ' "${urls[@]}")
is "$codes" "$(printf '200 %.0s' $(seq 20))" "20 keep-alive plain requests answered"
pcurl -o "$T/body" -D "$T/h" -X POST --data-binary @"$T/up2m" \
    -H 'Content-Type: application/octet-stream' -H 'Expect:' "$BASE/echo"
is "$(header X-Body-Sha256 "$T/h")" "$up_sha" "POST 2 MiB: the server received it intact"
is "$(file_sha "$T/body" 2>/dev/null)" "$up_sha" "... and the echo came back intact"
sleep 0.5
kill -INT "$STRACE" 2>/dev/null
wait "$STRACE" 2>/dev/null

reads=$(grep -cE '(^|[ ])readv?\(' "$T/trace")
cmp_num "$reads" -gt 40 "the worker read the plain sockets ($reads read calls traced)"
is "$(grep -c 'FIONREAD' "$T/trace")" 0 "no ioctl(FIONREAD) before any of those reads"

# a client that goes away in the middle of its upload: EOF on the plain client leg
"$PYTHON" - "$HTTPEEK_PORT" "$UP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST http://upstream.test:%s/echo HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 100000\r\n\r\n" % sys.argv[2].encode() + b"x" * 5000)
s.close()
PY
sleep 0.5
code=$(pcurl -o /dev/null -w '%{http_code}' "$BASE/bytes/10")
is "$code" 200 "a client gone mid-upload: httpeek still serves"

# a throttled exchange: libevent's own read path (token buckets) still applies
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
etag=$(api -D - -o /dev/null "$W/api/rules" | header etag /dev/stdin)
code=$(api -o "$T/put.out" -w '%{http_code}' -X PUT -H "If-Match: $etag" --data-binary \
  '{"version": 1, "rules": [{"id": "slow", "match": {"host": "upstream.test"}, "action": {"type": "throttle", "down": "520k", "latency": "0ms"}}]}' \
  "$W/api/rules")
is "$code" 200 "a throttle rule for upstream.test"
t0=$(date +%s%N)
pcurl -o "$T/slow" "$BASE/bytes/65536"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(file_sha "$T/slow")" "$(gen_sha 65536)" "a throttled plain download is intact"
cmp_num "$ms" -ge 700 "... and throttled (64 KiB at 520 kbit/s, ~1 s: ${ms} ms)"
done_testing
