#!/usr/bin/env bash
# bench/syscalls.sh — system calls per request, per httpeek thread, for S1 (HTTPS keep-alive
# through a CONNECT tunnel) and S4 (plain keep-alive): counts that repeat where times do not.
#
#   bench/syscalls.sh [-n N] [--clients C] [--workers K]   httpeek from build-bench/ (release)
#   HTTPEEK_BUILD=DIR bench/syscalls.sh                     that build directory
#
# Set-up as bench/callgrind.sh (bench/lib.sh: test PKI, nginx and DNS on loopback). httpeek runs
# natively; after a warm-up, `strace -f -qq` is attached to all its threads for N requests of
# each scenario (C clients, their connections' set-up included) and the calls are
# counted per thread and per call name, divided by N. Threads are named by what they do: the
# one that calls epoll_wait and reads/writes sockets most is a worker (with --workers 1 there is
# one); the rest are listed by their thread id with their busiest calls.
set -u -o pipefail
export LC_ALL=C
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
N=2000 CLIENTS=4 WORKERS=1
while [ $# -gt 0 ]; do
    case $1 in
        -n) N=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --workers) WORKERS=$2; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

. "$BENCH_DIR/lib.sh"
bench_workdir syscalls
( sleep 900 </dev/null >/dev/null 2>&1; log "syscalls: overall time limit reached"; kill -TERM $$ ) 2>/dev/null &
PIDS+=($!)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for c in strace openssl cc python3 meson ninja; do command -v "$c" >/dev/null || die "$c is needed"; done

build_loadgen "$W/loadgen"
LG=$W/loadgen
HTTPEEK_BUILD=${HTTPEEK_BUILD:-$ROOT/build-bench}
build_httpeek "$HTTPEEK_BUILD" "$ROOT"
bench_pki || die "cannot make the test PKI"
bench_nginx
bench_dns "bench.test=127.0.0.1"

PROXY_PORT=$(free_port)
WEB_PORT=$(free_port)
"$HTTPEEK_BUILD/httpeek" --listen "127.0.0.1:$PROXY_PORT" --web "127.0.0.1:$WEB_PORT" --confdir "$W/hp" \
    --upstream-ca "$W/ca.pem" --hosts "$W/hosts" --dns "127.0.0.1:$DNS_PORT" --no-qr \
    --auto-passthrough 0 --workers "$WORKERS" ${HTTPEEK_EXTRA_ARGS:-} >"$W/httpeek.log" 2>&1 &
HP=$!
PIDS+=($HP)
wait_port "$PROXY_PORT" 30 || die "httpeek did not start: $(tail -5 "$W/httpeek.log")"
PROXY_CA=$W/hp/ca-cert.pem
for ((i = 0; i < 100; i++)); do [ -s "$PROXY_CA" ] && break; sleep 0.05; done

lg() {   # lg tls|plain ARGS...
    local mode=$1; shift
    local base=(--host bench.test --connect "127.0.0.1:$PROXY_PORT" --proxy --path /1k --expect-bytes 1024 --timeout 60)
    if [ "$mode" = tls ]; then base+=(--port "$TLS_PORT" --tls --cafile "$PROXY_CA")
    else base+=(--port "$PLAIN_PORT"); fi
    timeout 300 "$LG" "${base[@]}" -d 200 "$@"
}
log "warm-up"
lg tls -n 2000 -c "$CLIENTS" -t 2 >/dev/null
lg plain -n 2000 -c "$CLIENTS" -t 2 >/dev/null
sleep 1

for s in S1 S4; do
    mode=tls; [ $s = S4 ] && mode=plain
    # the C connections' set-up (CONNECT, handshakes) is counted too: small against N requests
    strace -f -qq -p "$HP" -o "$W/$s.trace" 2>"$W/$s.strace.err" &
    ST=$!
    sleep 1
    out=$(lg $mode -n "$N" -c "$CLIENTS" -t 2)
    sleep 1   # the store's last transaction
    kill -INT $ST; wait $ST 2>/dev/null
    log "$s: $out"
    python3 - "$W/$s.trace" "$N" "$s" <<'EOF'
import collections, re, sys
path, n, scen = sys.argv[1], int(sys.argv[2]), sys.argv[3]
per = collections.defaultdict(collections.Counter)
again = collections.defaultdict(collections.Counter)
for line in open(path):
    if "= -1 EAGAIN" in line:
        m = re.match(r"(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)", line)
        if m:
            again[int(m.group(1))][m.group(2)] += 1
    m = re.match(r"(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)", line)
    if not m or "resumed>" in line and "<..." not in line:
        continue
    if "<... " in line:   # the end of an interrupted call was counted at its start
        continue
    per[int(m.group(1))][m.group(2)] += 1
def score(c):
    return c["epoll_wait"] + c["read"] + c["write"] + c["readv"] + c["writev"]
tids = sorted(per, key=lambda t: -sum(per[t].values()))
print(f"{scen}: system calls per request (N={n})")
total = 0
for t in tids:
    c = per[t]
    s = sum(c.values())
    total += s
    kind = "worker?" if c["epoll_wait"] and score(c) > s / 2 else "thread"
    top = ", ".join(f"{k} {v / n:.2f}" for k, v in c.most_common(8))
    print(f"  {kind} {t}: {s / n:.2f}  ({top})")
    if again[t]:
        print("      of which EAGAIN: " + ", ".join(f"{k} {v / n:.2f}" for k, v in again[t].most_common(4)))
print(f"  all threads: {total / n:.2f}")
EOF
done
