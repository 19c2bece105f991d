#!/usr/bin/env bash
# bench/tail.sh — where S1's tail latency comes from (issue 21): S1 (HTTPS keep-alive, 1 KiB,
# 32 clients) through the relay and through httpeek, interleaved rounds, each with loadgen's
# --timeline (requests, slowest and >= 2 ms requests per 10 ms window) and httpeek's CPU per
# thread kind (workers, store writer, other) over the run. Variants of httpeek run side by side
# so a cause shows as a difference, not a guess:
#   httpeek        as users run it (capture on)
#   httpeek-idle   the store writer thread under SCHED_IDLE (chrt -i): it gets a core only when
#                  nothing else wants one, so its commits cannot hold a core a worker waits for
#   httpeek-nice   the store writer at nice -5: it keeps up with the workers instead
# A variant "httpeek-args:ARGS" runs httpeek with more options (e.g. "httpeek-args:--workers 1");
# "httpeek-b" runs the binary in $HTTPEEK_B instead (another build: A/B in the same rounds).
#
#   bench/tail.sh [--rounds N] [--duration S] [--variants "relay httpeek httpeek-idle"] [--keep]
#
# Output: per round and variant one line (rps, p50, p99, p999, max, p99/p50, slow windows and
# how they cluster), then medians per variant and each one's p99 over the relay's.
set -u -o pipefail
export LC_ALL=C
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
ROUNDS=2 DUR=5 KEEP=0 VARIANTS="relay httpeek httpeek-idle"
HTTPEEK_BUILD=${HTTPEEK_BUILD:-$ROOT/build-bench}
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift ;;
        --duration) DUR=$2; shift ;;
        --variants) VARIANTS=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
. "$BENCH_DIR/lib.sh"
bench_workdir tail
( sleep 1800 </dev/null >/dev/null 2>&1; kill -TERM $$ ) 2>/dev/null &
PIDS+=($!)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

build_loadgen "$W/loadgen"
cc -O2 -Wall -Wextra -o "$W/relay" "$BENCH_DIR/relay.c" -lpthread || die "relay does not build"
build_httpeek "$HTTPEEK_BUILD" "$ROOT"
HTTPEEK=$HTTPEEK_BUILD/httpeek
bench_pki || die "cannot make the test PKI"
bench_nginx
bench_dns "bench.test=127.0.0.1"
CLK_TCK=$(getconf CLK_TCK)

PID= PORT= CA=
start() {   # start VARIANT
    PORT=$(free_port)
    case $1 in
        relay)
            timeout 3000 "$W/relay" --listen "$PORT" --connect-tls "$TLS_PORT" --connect-plain "$PLAIN_PORT" \
                --threads "$(nproc)" --max-seconds 3000 >"$W/relay.log" 2>&1 &
            PID=$!; CA=$W/ca.pem ;;
        httpeek*)
            local extra=()
            case $1 in httpeek-args:*) read -r -a extra <<<"${1#httpeek-args:}" ;; esac
            rm -rf "$W/hp"
            local bin=$HTTPEEK
            [ "$1" = httpeek-b ] && bin=${HTTPEEK_B:?HTTPEEK_B names the other build}
            timeout 3000 "$bin" --listen "127.0.0.1:$PORT" --web "127.0.0.1:$(free_port)" --confdir "$W/hp" \
                --upstream-ca "$W/ca.pem" --hosts "$W/hosts" --dns "127.0.0.1:$DNS_PORT" --no-qr "${extra[@]}" \
                >"$W/httpeek.log" 2>&1 &
            PID=$!; CA=$W/hp/ca-cert.pem ;;
    esac
    PIDS+=($PID)
    wait_port "$PORT" 30 || die "$1 did not start"
    for ((i = 0; i < 100; i++)); do [ -s "$CA" ] && break; sleep 0.05; done
    local child; child=$(pgrep -P "$PID" | head -1)
    [ -n "$child" ] && PID=$child
}
stop() { kill "$PID" 2>/dev/null; for ((i = 0; i < 100; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done; kill -9 "$PID" 2>/dev/null; }
lgp() {
    timeout $((DUR * 3 + 60)) "$W/loadgen" --host bench.test --port "$TLS_PORT" --tls --cafile "$CA" \
        --connect "127.0.0.1:$PORT" --proxy "$@" 2>>"$W/loadgen.err"
}
# store_tid: httpeek's store writer, the thread that writes the session file (SQLite's pwrite64)
store_tid() {
    timeout 3 strace -f -qq -p "$PID" -e trace=pwrite64 -o "$W/strace.out" >/dev/null 2>&1 &
    local sp=$!
    lgp --path /1k --expect-bytes 1024 -c 4 -t 1 -d 1 >/dev/null
    wait "$sp"
    awk '/pwrite64/ {print $1}' "$W/strace.out" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}'
}
# thread_ticks: "TID TICKS" for every thread of $PID
thread_ticks() { for f in /proc/"$PID"/task/*/stat; do awk '{print $1, $14 + $15}' "$f" 2>/dev/null; done; }

RES=$W/res.txt; : >"$RES"
for ((r = 1; r <= ROUNDS; r++)); do
    for v in $VARIANTS; do
        start "$v"
        lgp --path /1k --expect-bytes 1024 -c 4 -t 1 -n 200 -d 10 >/dev/null   # warm: leaf minted, arenas made
        stid=
        if [[ $v == httpeek* ]]; then
            stid=$(store_tid)
            [ "$v" = httpeek-idle ] && [ -n "$stid" ] && chrt -i -p 0 "$stid"
            [ "$v" = httpeek-nice ] && [ -n "$stid" ] && renice -n -5 -p "$stid" >/dev/null
        fi
        thread_ticks >"$W/t0"
        out=$(lgp --path /1k --expect-bytes 1024 -c 32 -t 2 -d "$DUR" --timeline "$W/tl-$r-$v")
        thread_ticks >"$W/t1"
        # CPU per request: every thread, and the store writer's share
        cpu=$(awk -v st="${stid:-x}" -v n="$(kv requests "$out")" -v h="$CLK_TCK" '
            NR == FNR {a[$1] = $2; next}
            {d = $2 - a[$1]; if ($1 == st) s += d; t += d}
            END {if (n > 0) printf "cpu_us=%.1f store_us=%.1f", t * 1e6 / h / n, s * 1e6 / h / n}' "$W/t0" "$W/t1")
        [[ $v == relay ]] && cpu=$(awk -v n="$(kv requests "$out")" -v h="$CLK_TCK" 'NR == FNR {a[$1] = $2; next} {t += $2 - a[$1]} END {if (n > 0) printf "cpu_us=%.1f", t * 1e6 / h / n}' "$W/t0" "$W/t1")
        # the timeline: windows with a >= 2 ms request, and how many of them come in runs
        tl=$(awk '{n++; if ($4 > 0) {s++; if (prev) run++} prev = ($4 > 0); if ($2 == 0) z++}
                  END {printf "slow_windows=%d/%d adjacent=%d empty_windows=%d", s, n, run, z}' "$W/tl-$r-$v")
        echo "$r $v $out $cpu $tl" >>"$RES"
        cp "$W/$([[ $v == relay ]] && echo relay || echo httpeek).log" "$W/log-$r-$v" 2>/dev/null
        log "round $r $v: $(kv rps "$out") req/s p50 $(kv p50_us "$out") p99 $(kv p99_us "$out") p999 $(kv p999_us "$out") max $(kv max_us "$out") us; $cpu; $tl; errors=$(kv errors "$out")"
        stop
        # the store's summary at exit (a build that logs it at info: WAL, checkpoints, backlog)
        [[ $v == httpeek* ]] && grep -ho 'WAL at most.*' "$W/httpeek.log" | sed "s/^/    round $r $v store: /"
    done
done
python3 - "$RES" "$VARIANTS" <<'EOF'
import re, statistics, sys
rows = [l.split(" ", 2) for l in open(sys.argv[1])]
def kvs(s): return {k: v for k, v in re.findall(r"(\w+)=(\S+)", s)}
by = {}
for r, v, rest in rows:
    by.setdefault(v, []).append(kvs(rest))
def med(v, k):
    xs = [float(d[k]) for d in by.get(v, []) if k in d]
    return statistics.median(xs) if xs else None
print()
print(f"{'variant':28} {'req/s':>8} {'p50':>6} {'p99':>6} {'p999':>6} {'p99/p50':>8} {'cpu_us':>7} {'store_us':>8} {'p99/relay':>10}")
for v in sys.argv[2].split():
    p50, p99, rl = med(v, "p50_us"), med(v, "p99_us"), med("relay", "p99_us")
    f = lambda x, n=0: "-" if x is None else f"{x:.{n}f}"
    print(f"{v:28} {f(med(v, 'rps')):>8} {f(p50):>6} {f(p99):>6} {f(med(v, 'p999_us')):>6} "
          f"{f(p99 / p50 if p50 and p99 else None, 2):>8} {f(med(v, 'cpu_us'), 1):>7} {f(med(v, 'store_us'), 1):>8} "
          f"{f(p99 / rl if rl and p99 else None, 2):>10}")
EOF
