#!/usr/bin/env bash
# bench/viewer-first-screen.sh [N] — how fast the built-in viewer shows a big session.
# Builds a session of N flows (default 100,000) by driving real requests through httpeek (two
# curl processes with URL globbing over keep-alive connections, to a fast asyncio origin on
# loopback; about 1% of the flows fail with a refused port, 1% are 404s, 4% are images), stops
# httpeek, starts it again with --session on that file, loads the viewer in headless Chromium
# and prints: navigation → first screen of rows, → all N loaded, scroll responsiveness, filter
# latency, the JS heap, then sends LIVE_FLOWS (default 10,000) more flows through the proxy while
# the page follows them live. Figures only, no pass/fail. Everything stays on 127.0.0.1 (loopback DNS).
# HTTPEEK=path/to/httpeek (default build/httpeek); needs python3, curl, node + tests/js/node_modules
# (cd tests/js && npm ci) and chromium.
set -u -o pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HTTPEEK=${HTTPEEK:-$REPO/build/httpeek}
N=${1:-100000}
W=$(mktemp -d "${TMPDIR:-/tmp}/httpeek-bench-viewer.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
export CURL_HOME=/nonexistent

[ -x "$HTTPEEK" ] || { echo "no httpeek at $HTTPEEK (build it or set HTTPEEK)"; exit 1; }
if ! command -v node >/dev/null || [ ! -f "$REPO/tests/js/node_modules/playwright-core/package.json" ]; then
    echo "needs node and tests/js/node_modules (cd tests/js && npm ci)"; exit 1
fi
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "needs chromium"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { local _; for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_port() { local _; for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now_ms() { date +%s%3N; }

python3 "$REPO/tests/e2e/dns.py" --port 0 --port-file "$W/dns.port" upstream.test=127.0.0.1 >"$W/dns.log" 2>&1 &
PIDS+=($!)
python3 "$REPO/bench/viewer/upstream.py" "$W/up.port" >"$W/up.log" 2>&1 &
PIDS+=($!)
if ! wait_file "$W/dns.port" || ! wait_file "$W/up.port"; then echo "dns.py or the origin did not start"; exit 1; fi
DNS=$(cat "$W/dns.port"); UP=$(cat "$W/up.port"); REFUSED=$(free_port)
SESSION=$W/session.sqlite

start_httpeek() {
    PROXY=$(free_port); WEBP=$(free_port)
    "$HTTPEEK" --confdir "$W/conf" --session "$SESSION" --dns "127.0.0.1:$DNS" --no-qr \
        --listen "127.0.0.1:$PROXY" --web "127.0.0.1:$WEBP" >"$W/httpeek$1.log" 2>"$W/httpeek$1.err" </dev/null &
    HP=$!
    PIDS+=("$HP")
    if ! wait_port "$PROXY" || ! wait_port "$WEBP"; then echo "httpeek did not start: $(tail -3 "$W/httpeek$1.err")"; exit 1; fi
}
count_flows() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from flows").fetchone()[0])' "$SESSION" 2>/dev/null || echo 0; }

# ---- build the session --------------------------------------------------------------------------
start_httpeek 1
FAIL=$((N / 100)); NF=$((N / 100)); IMG=$((N * 4 / 100)); API=$((N - FAIL - NF - IMG)); HALF=$((API / 2))
t0=$(now_ms)
C=(curl -s -o /dev/null --max-time 600 -x "http://127.0.0.1:$PROXY")
# curl writes every globbed body to stdout: send it nowhere
"${C[@]}" "http://upstream.test:$UP/api/v1/items/[1-$HALF]?page=[1-1]" >/dev/null &
c1=$!
{ "${C[@]}" "http://upstream.test:$UP/api/v2/users/[$((HALF + 1))-$API]/profile" >/dev/null
  "${C[@]}" "http://upstream.test:$UP/img/[1-$IMG].png" >/dev/null
  "${C[@]}" "http://upstream.test:$UP/status/404?i=[1-$NF]" >/dev/null
  [ "$FAIL" -gt 0 ] && "${C[@]}" "http://upstream.test:$REFUSED/gone?i=[1-$FAIL]" >/dev/null; } &
c2=$!
wait "$c1" "$c2"
for _ in $(seq 100); do [ "$(count_flows)" -ge "$N" ] && break; sleep 0.1; done
t1=$(now_ms)
kill -TERM "$HP"; wait "$HP" 2>/dev/null
have=$(count_flows)
echo "session: $have flows made through the proxy in $(( t1 - t0 )) ms ($(( have * 1000 / (t1 - t0 + 1) )) flows/s), $(du -h "$SESSION" | cut -f1) on disk"

# ---- the viewer ---------------------------------------------------------------------------------
start_httpeek 2
WEB=http://127.0.0.1:$WEBP
t0=$(now_ms); curl -s -o "$W/p1.json" "$WEB/api/flows?after=0&limit=2000"; t1=$(now_ms)
curl -s -o "$W/all.json" "$WEB/api/flows?after=0&limit=0"; t2=$(now_ms)
curl -s -o /dev/null "$WEB/api/clients"; t3=$(now_ms)
echo "API: first page of 2000 in $(( t1 - t0 )) ms ($(du -k "$W/p1.json" | cut -f1) KiB); all $have in $(( t2 - t1 )) ms ($(du -m "$W/all.json" | cut -f1) MiB); /api/clients in $(( t3 - t2 )) ms"
PROXY_PORT=$PROXY UP_PORT=$UP LIVE_FLOWS=${LIVE_FLOWS:-10000} node "$REPO/bench/viewer/measure.js" "$WEB/" "$have"
