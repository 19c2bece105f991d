#!/usr/bin/env bash
# 48-shutdown.sh — SIGTERM stops accepting, lets an exchange in progress finish (grace period),
# does not wait for idle keep-alive clients, records every flow, and exits promptly. Under the
# sanitizer build, done_testing also fails on any leak reported at exit.
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
start_httpeek
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
[ -n "$pid" ] || { echo "Bail out! cannot find the httpeek process"; exit 1; }

# an idle keep-alive client and a slow exchange in progress
exec 5<>"/dev/tcp/127.0.0.1/$HTTPEEK_PORT"
CURL_MAX_TIME=10 pcurl -o "$T/slow" -w '%{http_code}' "http://upstream.test:$UP/slow/1" >"$T/slow.code" 2>/dev/null &
curl_pid=$!
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$pid"
for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
t1=$(date +%s%N)
wait "$curl_pid"
exec 5>&-
ok "httpeek exited after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
ms=$(( (t1 - t0) / 1000000 ))
cmp_num "$ms" -lt 3000 "it exits within the grace period, not held up by the idle client (${ms} ms)"
is "$(cat "$T/slow.code")" 200 "the exchange in progress at SIGTERM finished"
like "$(cat "$HTTPEEK_LOG")" "GET http://upstream\.test:$UP/slow/1 200" "and it was recorded"
code=$(curl -s --max-time 3 -x "http://127.0.0.1:$HTTPEEK_PORT" -o /dev/null -w '%{http_code}' "http://upstream.test:$UP/bytes/1")
is "$code" 000 "after shutdown nothing accepts on the proxy port"
done_testing
