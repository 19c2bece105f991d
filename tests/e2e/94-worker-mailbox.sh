#!/usr/bin/env bash
# 94-worker-mailbox.sh — the workers' event loops take no locks (EVENT_BASE_FLAG_NOLOCK): every
# other thread reaches a worker through its mailbox. Driven together, under load, on 2 workers:
# the system resolver's pool threads hand lookups back (many distinct names, and clients that
# give up while a lookup still runs), the web thread hands actions to exchanges paused at a
# breakpoint, and SIGTERM (main) stops the workers while lookups and pauses are still pending.
# Nothing may be lost (every request answered, every pause released) and the stop must be clean
# and prompt. Under the sanitizer builds (ASan, TSan) done_testing fails on any report.
# In a private network and mount namespace (as 38-resolve): no lookup reaches the real resolver.
source "$(dirname "$0")/lib.sh"

NAMES=40
hosts="127.0.0.1 localhost"
for i in $(seq "$NAMES"); do hosts+=$'\n'"127.0.0.1 n$i.test"; done
if ! enter_private_net "$hosts" "hosts: files dns" "nameserver 127.0.0.1
options timeout:1 attempts:1"; then
    skip "worker mailbox tests" "$PRIVATE_NET_SKIP"
    done_testing
fi

start_upstream --quiet; UP=$UPSTREAM_PORT
start_httpeek --workers 2 --upstream-timeout 10
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
P="127.0.0.1:$HTTPEEK_PORT"
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
post() { api -X POST -H 'Content-Type: application/json' --data-binary "$2" "$W$1"; }
paused_ids() { api "$W/api/breakpoints" | jq_py "' '.join(str(p['id']) for p in d['paused'])"; }

# a DNS server that reads and never answers, on the private resolv.conf's port 53: names not in
# the private /etc/hosts wait there (1 s) in a pool thread
cat >"$T/silent.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").write("up")
while True:
    s.recvfrom(4096)
PY
spawn silent53 100 "$PYTHON" "$T/silent.py" "$T/silent53.up"
wait_file "$T/silent53.up" 10 || { echo "Bail out! silent DNS on 53: $(cat "$T/silent53.err")"; exit 1; }

id=$(post /api/breakpoints '{"match": {"path": "/bytes/77"}, "phase": "request"}' | jq_py 'd["id"]')
is "$id" "bp-1" "a request breakpoint on /bytes/77"

# load: 4 clients, each through every name once (each a lookup in the pool: the cache is per
# name), keep-alive off so that connections land on both workers
WAIT=()
for c in 1 2 3 4; do
    (
        for i in $(seq "$NAMES"); do
            curl -sS -x "$P" --max-time 20 -o /dev/null -w '%{http_code}\n' "http://n$i.test:$UP/bytes/$((c * 10))"
        done >"$T/load$c.codes"
    ) &
    WAIT+=($!)
done
# clients that give up while their lookup still runs (the pool's result comes after they left)
for i in $(seq 6); do
    curl -sS -x "$P" --max-time 0.2 -o /dev/null "http://gone$i.test:$UP/bytes/1" 2>/dev/null &
done
# paused exchanges, released by the web thread while the load runs
BP=8
for i in $(seq "$BP"); do
    curl -sS -x "$P" --max-time 30 -o /dev/null -w '%{http_code}\n' "http://n$i.test:$UP/bytes/77" >"$T/bp$i.code" &
    WAIT+=($!)
done
released=0
for try in $(seq 200); do
    for p in $(paused_ids); do
        [ "$(post "/api/breakpoints/paused/$p" '{"action": "continue"}' | jq_py 'd.get("action", "")' 2>/dev/null)" = continue ] &&
            released=$((released + 1))
    done
    [ "$released" -ge "$BP" ] && break
    sleep 0.1
done
is "$released" "$BP" "every paused exchange was handed its action by the web thread"
wait "${WAIT[@]}"
codes=$(cat "$T"/load*.codes | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
is "$codes" "200x$((4 * NAMES)) " "every request through the resolver pool was answered (4 x $NAMES names)"
is "$(cat "$T"/bp*.code | sort | uniq -c | awk '{print $2 "x" $1}')" "200x$BP" "every released exchange completed"
is "$(paused_ids)" "" "nothing is left paused"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://n1.test:$UP/bytes/5")
is "$code" 200 "lookups whose clients went away finished harmlessly: httpeek still serves"

# stop with work pending on both kinds of hand-over: two exchanges paused (never released), slow
# lookups in a pool thread, and load running
for i in 1 2; do
    curl -sS -x "$P" --max-time 20 -o /dev/null "http://n$i.test:$UP/bytes/77" 2>/dev/null &
done
for i in 1 2 3; do
    curl -sS -x "$P" --max-time 20 -o /dev/null "http://slow$i.test:$UP/bytes/1" 2>/dev/null &
done
(for i in $(seq "$NAMES"); do curl -sS -x "$P" --max-time 5 -o /dev/null "http://n$i.test:$UP/bytes/3" 2>/dev/null; done) &
for try in $(seq 50); do
    [ "$(paused_ids | wc -w)" -ge 2 ] && break
    sleep 0.1
done
is "$(paused_ids | wc -w)" 2 "two exchanges paused when the stop comes"
t0=$(date +%s%N)
kill -TERM "$pid"
for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "httpeek exited after SIGTERM with pauses and lookups pending" bash -c "! kill -0 $pid 2>/dev/null"
cmp_num "$ms" -lt 5000 "... promptly: every worker got its stop (${ms} ms)"
wait "$HTTPEEK_PID"; rc=$?
is "$rc" 0 "... and exited cleanly (status 0)"
unlike "$(cat "$HTTPEEK_ERR")" "Sanitizer|runtime error" "no sanitizer report"
done_testing
