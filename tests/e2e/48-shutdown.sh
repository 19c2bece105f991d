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
# recorded means in the session file, not the terminal line (printed before the flow is written)
session=$(ls "$HTTPEEK_CONFDIR"/sessions/*.sqlite 2>/dev/null | head -n 1)
"$HTTPEEK" export --session "$session" --har "$T/shutdown.har" 2>"$T/export.err"
got=$("$PYTHON" -c 'import json,sys
E = json.load(open(sys.argv[1]))["log"]["entries"]
print(" ".join(str(e["response"]["status"]) for e in E if e["request"]["url"].endswith("/slow/1")))' "$T/shutdown.har" 2>&1)
is "$got" 200 "and it was recorded in the session file, with its response"
code=$(curl -s --max-time 3 -x "http://127.0.0.1:$HTTPEEK_PORT" -o /dev/null -w '%{http_code}' "http://upstream.test:$UP/bytes/1")
is "$code" 000 "after shutdown nothing accepts on the proxy port"

# SIGHUP reopens the --log file (log rotation) and does not stop the proxy
LOGF=$T/rotate.log
start_httpeek --log "$LOGF"
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
pcurl -o /dev/null "http://upstream.test:$UP/bytes/11"
wait_grep "/bytes/11 200" "$LOGF" 5
mv "$LOGF" "$LOGF.1"
kill -HUP "$pid"
wait_file "$LOGF" 5
pcurl -o /dev/null "http://upstream.test:$UP/bytes/12"
wait_grep "/bytes/12 200" "$LOGF" 5
ok "httpeek is still running after SIGHUP" kill -0 "$pid"
like "$(cat "$LOGF.1")" "/bytes/11 200" "before SIGHUP: lines went to the file now rotated away"
like "$(head -n 1 "$LOGF")" "SIGHUP: reopened " "after SIGHUP: a new file, starting with the reopen line"
like "$(cat "$LOGF")" "/bytes/12 200" "later flow lines go to the new file"
unlike "$(cat "$LOGF.1")" "/bytes/12" "nothing after SIGHUP went to the old file"
err=$("$HTTPEEK" --log /nonexistent/dir/x.log 2>&1); rc=$?
is "$rc:$err" "2:httpeek: --log /nonexistent/dir/x.log: No such file or directory" "an unwritable --log is a one-line error"
done_testing
