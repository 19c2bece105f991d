#!/usr/bin/env bash
# bench/cpu_split.sh — where a request's CPU goes, natively: user and system time per request of
# each httpeek thread (worker, store writer, checkpointer) and of bench/relay.c, for S1 (HTTPS
# keep-alive through a CONNECT tunnel) and S4 (plain keep-alive), rounds interleaved.
#
#   bench/cpu_split.sh [-n N] [--rounds R] [--clients C] [--perf]   httpeek from build-bench/
#   HTTPEEK_BUILD=DIR bench/cpu_split.sh                              that build directory
#
# Set-up as bench/syscalls.sh (bench/lib.sh: test PKI, nginx and DNS on loopback; httpeek with
# one worker, capture on as users run it). Each round runs N requests of S1 and of S4 through
# httpeek, then through the relay; the threads' utime/stime (/proc/PID/task/*/stat) before and
# after give µs per request per thread, user and system apart. Threads are named by what they
# did: the one with the most CPU is the worker; in httpeek the thread with user time besides it
# is the store writer and the one with system time only the checkpointer (its copies are
# pread/pwrite). --perf: one more S1 and S4 run of httpeek under `perf record` (cpu-clock), CPU
# shares per thread and shared object (kernel, libcrypto, SQLite...); perf's own cost inflates
# those runs, so they give shares, not µs. Clock ticks are 10 ms: keep N × CPU ≥ 1 s.
set -u -o pipefail
export LC_ALL=C
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
N=60000 ROUNDS=3 CLIENTS=4 PERF=0
while [ $# -gt 0 ]; do
    case $1 in
        -n) N=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --perf) PERF=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

. "$BENCH_DIR/lib.sh"
bench_workdir cpusplit
( sleep 1800 </dev/null >/dev/null 2>&1; log "cpu_split: overall time limit reached"; kill -TERM $$ ) 2>/dev/null &
PIDS+=($!)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for c in openssl cc python3 meson ninja; do command -v "$c" >/dev/null || die "$c is needed"; done
[ "$PERF" = 0 ] || command -v perf >/dev/null || die "--perf needs perf (linux-perf)"

build_loadgen "$W/loadgen"
LG=$W/loadgen
cc -O2 -Wall -Wextra -o "$W/relay" "$BENCH_DIR/relay.c" -lpthread || die "relay does not build"
HTTPEEK_BUILD=${HTTPEEK_BUILD:-$ROOT/build-bench}
build_httpeek "$HTTPEEK_BUILD" "$ROOT"
bench_pki || die "cannot make the test PKI"
bench_nginx
bench_dns "bench.test=127.0.0.1"

# start_target httpeek|relay: TARGET_PID, PROXY_PORT, PROXY_CA for it; one warm-up of each mode
start_target() {
    PROXY_PORT=$(free_port)
    if [ "$1" = httpeek ]; then
        "$HTTPEEK_BUILD/httpeek" --listen "127.0.0.1:$PROXY_PORT" --web "127.0.0.1:$(free_port)" \
            --confdir "$W/hp" --session "$W/session-$RANDOM.sqlite" --upstream-ca "$W/ca.pem" \
            --hosts "$W/hosts" --dns "127.0.0.1:$DNS_PORT" --no-qr --auto-passthrough 0 \
            --workers 1 ${HTTPEEK_EXTRA_ARGS:-} >>"$W/httpeek.log" 2>&1 &
        PROXY_CA=$W/hp/ca-cert.pem
    else   # one thread, as httpeek's one worker
        "$W/relay" --listen "$PROXY_PORT" --connect-tls "$TLS_PORT" --connect-plain "$PLAIN_PORT" \
            --threads 1 --max-seconds 1800 >>"$W/relay.log" 2>&1 &
        PROXY_CA=$W/ca.pem
    fi
    TARGET_PID=$!
    PIDS+=($TARGET_PID)
    wait_port "$PROXY_PORT" 30 || die "$1 did not start"
    for ((i = 0; i < 100; i++)); do [ -s "$PROXY_CA" ] && break; sleep 0.05; done
    lg tls -n 2000 >/dev/null && lg plain -n 2000 >/dev/null || die "$1: warm-up failed"
}
stop_target() { kill "$TARGET_PID" 2>/dev/null; wait "$TARGET_PID" 2>/dev/null; }

lg() {   # lg tls|plain ARGS...: loadgen through the target; checks every response
    local mode=$1; shift
    local base=(--host bench.test --connect "127.0.0.1:$PROXY_PORT" --proxy --path /1k
        --expect-bytes 1024 --timeout 60 -c "$CLIENTS" -t 2 -d 300)
    if [ "$mode" = tls ]; then base+=(--port "$TLS_PORT" --tls --cafile "$PROXY_CA")
    else base+=(--port "$PLAIN_PORT"); fi
    timeout 300 "$LG" "${base[@]}" "$@"
}

snap() { for t in /proc/"$1"/task/*; do awk -v t="${t##*/}" '{print t, $14, $15}' "$t/stat"; done; }

# measure TARGET SCENARIO: one run of N requests, a line of µs per request per thread
measure() {
    local mode=tls out
    [ "$2" = S4 ] && mode=plain
    snap "$TARGET_PID" >"$W/t0"
    out=$(lg $mode -n "$N") || die "$1 $2: loadgen failed: $out"
    [ "$(kv errors "$out")" = 0 ] || die "$1 $2: loadgen errors: $out"
    sleep 0.5   # the store's last transaction and checkpoint
    snap "$TARGET_PID" >"$W/t1"
    python3 - "$W/t0" "$W/t1" "$N" "$1" "$2" "$(kv rps "$out")" <<'PY' | tee -a "$W/rows"
import os, sys
a = {l.split()[0]: list(map(int, l.split()[1:])) for l in open(sys.argv[1])}
b = {l.split()[0]: list(map(int, l.split()[1:])) for l in open(sys.argv[2])}
n, target, scen, rps = int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])
us = 1e6 / os.sysconf("SC_CLK_TCK") / n
rows = []
for t, (u, s) in b.items():
    u0, s0 = a.get(t, [0, 0])
    if u - u0 + s - s0:
        rows.append(((u - u0) * us, (s - s0) * us))
rows.sort(key=lambda r: -(r[0] + r[1]))
names = []
for i, (u, s) in enumerate(rows):
    if i == 0:
        names.append("worker")
    elif target == "httpeek":
        names.append("writer" if u > 0.2 * (u + s) else "checkpointer")
    else:
        names.append("thread")
tot_u, tot_s = sum(r[0] for r in rows), sum(r[1] for r in rows)
parts = "  ".join("%s %.1f (%.1f+%.1f)" % (nm, u + s, u, s) for nm, (u, s) in zip(names, rows))
print("%-7s %s %7.0f req/s  all %5.1f us (user %.1f + sys %.1f)  %s"
      % (target, scen, rps, tot_u + tot_s, tot_u, tot_s, parts))
PY
}

log "S1/S4, $ROUNDS rounds of $N requests, $CLIENTS clients; µs per request: all (user + sys), per thread"
for ((r = 1; r <= ROUNDS; r++)); do
    for target in httpeek relay; do
        start_target "$target"
        measure "$target" S1
        measure "$target" S4
        stop_target
    done
done
python3 - "$W/rows" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    target, scen = line.split()[:2]
    m = re.search(r"all +([\d.]+) us \(user ([\d.]+) \+ sys ([\d.]+)\)", line)
    rows.setdefault((target, scen), []).append(tuple(map(float, m.groups())))
print("medians: all / user / sys µs per request")
for scen in ("S1", "S4"):
    med = {t: [statistics.median(v[i] for v in rows[(t, scen)]) for i in range(3)]
           for t in ("httpeek", "relay") if (t, scen) in rows}
    line = "  ".join("%s %.1f / %.1f / %.1f" % (t, *v) for t, v in med.items())
    if len(med) == 2:
        line += "  httpeek/relay %.2f" % (med["httpeek"][0] / med["relay"][0])
    print(" ", scen, line)
PY

if [ "$PERF" = 1 ]; then
    start_target httpeek
    for s in S1 S4; do
        mode=tls; [ $s = S4 ] && mode=plain
        perf record -F 2999 -p "$TARGET_PID" -o "$W/$s.perf" >"$W/$s.perf.log" 2>&1 &
        PR=$!
        sleep 1
        lg $mode -n "$N" >/dev/null
        kill -INT $PR; wait $PR 2>/dev/null
        echo "$s under perf: share of httpeek's CPU per thread (pid column: thread) and shared object"
        perf report -i "$W/$s.perf" --sort pid,dso --stdio 2>/dev/null | grep -v '^#' | grep . | head -16
    done
    stop_target
fi
