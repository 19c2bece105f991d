#!/usr/bin/env bash
# bench/run.sh — httpeek's benchmark: scenarios S1–S6 of issue 6 plus proxy CPU per request,
# and the HTTP/2 scenarios of issue 18 (H1: S1's requests as 32 streams on one h2 connection,
# with proxy CPU per request; H2: S3's 10 MiB download over h2), against the direct connection,
# a byte-copying relay (bench/relay.c: the ceiling any proxy can reach on this machine), httpeek
# (capture on: default session store) and mitmdump (when installed), in one run; 3 runs each
# (medians), a table of figures and ratios to direct, and each target's h2 figures over its own
# HTTP/1.1 ones (H1/S1, H2/S3). The h2 client offers h2,http/1.1 by ALPN, as apps do; a target
# that chooses http/1.1 gets "h1 only (ALPN)" in its h2 rows, neither a figure nor an error
# (httpeek speaks h2 on both legs by default since issue 18: its h2 rows are figures).
#
#   bench/run.sh            full run (about 10 minutes) + the scale checks (about 1 minute)
#   bench/run.sh --quick    one run, short durations (about 2 minutes), no scale checks
#   bench/run.sh --scale    the scale checks only (bench/scale.sh: 10,000 idle tunnels,
#                           100,000 flows in one session, the viewer's API at 100,000 flows)
#   options: --runs N  --duration SECONDS  --targets "direct relay httpeek mitmdump"  --keep
#            --no-scale  --scale-tunnels N  --scale-flows N
#            --s5-counts "1000 10000"  idle tunnel counts for S5 (each in a fresh proxy)
#            --s5-clients "c py"   S5's clients: loadgen (OpenSSL from C) and bench/idle_py.py
#                           (Python's ssl, asyncio): the two harnesses' TLS stacks; pyh2: the
#                           Python client offering h2,http/1.1 (HTTP/2 on both legs)
#            --only-s5      S5 only (its rows of the table)
#            --only-s6      S6 only (direct and the proxies, --s6-n names each run)  --s6-n N
#            --only-s3      S3 only (one 10 MiB download repeated, MiB/s and CPU per MiB), every
#                           target in each run: interleaved rounds of direct, relay and httpeek
#            HTTPEEK_WRAP="CMD" (environment): run httpeek under CMD, e.g. "heaptrack -o FILE" to
#                           see where S5's memory goes (figures other than S5's mean nothing then)
#            --httpeek-args "ARGS"  more httpeek options (e.g. "--http2=no" to keep both legs
#                           HTTP/1.1, as in runs before issue 18)
#
# Everything is local: Debian's nginx (config generated here, not the system one) is the TLS
# and plain upstream on 127.0.0.1 with a test PKI made with openssl (wildcard *.bench.test);
# nginx's TLS port speaks h2 and HTTP/1.1 by ALPN (loadgen's HTTP/1.1 mode offers http/1.1 only);
# neither the direct client nor a proxy asks DNS for a name: the load generator connects to
# 127.0.0.1, mitmdump gets an addon that points every upstream connection at 127.0.0.1, and
# httpeek reads the names from a hosts file (--hosts; --dns points at tests/e2e/dns.py on
# loopback, so a name missing there still never leaves the machine). An app without a proxy
# resolves a new name itself, so a lookup is not part of what a proxy adds to S6. The
# load comes from bench/loadgen.c (+ loadgen_h2.c, libnghttp2), built here with cc: it verifies
# the chain and host name on every TLS connection and checks every response's status and body
# length (h2: every stream's); errors are reported, never counted as speed. Each step is bounded
# by `timeout`; an EXIT trap kills everything this script started.
# Set-up shared with bench/callgrind.sh (instructions per request under valgrind callgrind, per
# thread kind: repeatable on shared cores, where these times are not) is in bench/lib.sh.
set -u -o pipefail
export LC_ALL=C
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUNS=3 DUR=10 QUICK=0 KEEP=0
TARGETS="direct relay httpeek mitmdump"
S5_COUNTS="1000 10000" S5_CLIENTS="c py" S6_N=100 ONLY_S5=0 ONLY_S6=0 ONLY_S3=0
SCALE=1 SCALE_ONLY=0 SCALE_TUNNELS=10000 SCALE_FLOWS=100000
HTTPEEK_BUILD=${HTTPEEK_BUILD:-$ROOT/build-bench}
HTTPEEK_ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1; RUNS=1; DUR=3; S5_COUNTS=300; S6_N=30; SCALE=0 ;;
        --scale) SCALE=1; SCALE_ONLY=1 ;;
        --no-scale) SCALE=0 ;;
        --scale-tunnels) SCALE_TUNNELS=$2; shift ;;
        --scale-flows) SCALE_FLOWS=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --duration) DUR=$2; shift ;;
        --targets) TARGETS=$2; shift ;;
        --keep) KEEP=1 ;;
        --s5-counts) S5_COUNTS=$2; shift ;;
        --s5-clients) S5_CLIENTS=$2; shift ;;
        --only-s5) ONLY_S5=1 ;;
        --only-s6) ONLY_S6=1 ;;
        --only-s3) ONLY_S3=1; SCALE=0 ;;
        --s6-n) S6_N=$2; shift ;;
        --httpeek-args) read -r -a HTTPEEK_ARGS <<<"$2"; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

. "$BENCH_DIR/lib.sh"   # log, die, free_port, wait_port, kv, build_httpeek, bench_pki, bench_nginx, bench_dns
bench_workdir bench

# A hard bound on the whole script, whatever happens.
# (sleep gets no stdout/stderr: left behind after the EXIT trap, it would hold a pipe open)
( sleep $(( QUICK || SCALE_ONLY ? 900 : 3600 )) </dev/null >/dev/null 2>&1; log "bench: overall time limit reached"; kill -TERM $$ ) 2>/dev/null &
PIDS+=($!)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ------------------------------------------------------------------ packages ----
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v mitmdump >/dev/null || need+=(mitmproxy)
command -v openssl >/dev/null || need+=(openssl)
command -v cc >/dev/null || need+=(gcc)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
[ -f /usr/include/nghttp2/nghttp2.h ] || need+=(libnghttp2-dev)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y "${need[@]}" >"$W/apt.log" 2>&1 ||
        log "apt-get install failed (see $W/apt.log); continuing with what is there"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is needed (apt-get install nginx)"
if ! command -v mitmdump >/dev/null; then
    TARGETS=${TARGETS//mitmdump/}
    log "mitmdump not installed: skipping it"
fi

# ------------------------------------------------------------------ builds ----
log "building loadgen and httpeek (release, $HTTPEEK_BUILD)"
build_loadgen "$W/loadgen"
cc -O2 -Wall -Wextra -o "$W/relay" "$BENCH_DIR/relay.c" -lpthread || die "relay does not build"
# a directory with only a binary in it (a copy kept for an A/B run) is used as it is
if [ -f "$HTTPEEK_BUILD/build.ninja" ] || [ ! -x "$HTTPEEK_BUILD/httpeek" ]; then build_httpeek "$HTTPEEK_BUILD" "$ROOT"; fi
HTTPEEK=$HTTPEEK_BUILD/httpeek
LG=$W/loadgen

# ------------------------------------------------------------------ helpers ----
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$W/results.txt
# cpu_per TICKS_BEFORE TICKS_AFTER N: proxy CPU (user + system, every thread of the process:
# /proc/PID/stat's utime + stime count all of them) per request, in us
cpu_per() { awk -v d=$(($2 - $1)) -v n="$3" -v h="$CLK_TCK" 'BEGIN {if (n > 0) printf "%.1f", d * 1e6 / h / n}'; }
: >"$RESULTS"
record() { echo "$*" >>"$RESULTS"; }   # record RUN TARGET METRIC VALUE
ERRORS=0

# ------------------------------------------------------------------ PKI ----
log "test PKI"
bench_pki || die "cannot make the test PKI"

# ------------------------------------------------------------------ nginx ----
bench_nginx

# ------------------------------------------------------------------ DNS ----
# bench.test and every S6 name (s6-RUN-TARGET-I.bench.test) → 127.0.0.1, on loopback.
names=("bench.test=127.0.0.1")
for ((r = 1; r <= RUNS; r++)); do
    for t in httpeek mitmdump; do
        for ((i = 0; i < S6_N; i++)); do names+=("s6-$r-$t-$i.bench.test=127.0.0.1"); done
    done
done
bench_dns "${names[@]}"

# mitmdump addon: every upstream connection goes to 127.0.0.1 (same port), so mitmproxy never
# resolves a name; the TLS SNI and verified name stay the requested host.
cat >"$W/loopback.py" <<'EOF'
from mitmproxy import ctx

class Loopback:
    def server_connect(self, data):
        host, port = data.server.address
        data.server.address = ("127.0.0.1", port)

addons = [Loopback()]
EOF

# ------------------------------------------------------------------ proxies ----
PROXY_PID= PROXY_PORT= PROXY_CA= WEB_PORT=
HTTPEEK_EXTRA=("${HTTPEEK_ARGS[@]}")   # more httpeek options (--httpeek-args; bench/scale.sh sets its own)
start_proxy() {   # start_proxy TARGET RUN: a fresh proxy (new confdir, CA and session)
    local t=$1 r=$2
    PROXY_PORT=$(free_port)
    case $t in
        httpeek)
            WEB_PORT=$(free_port)
            rm -rf "$W/hp"
            timeout 3000 ${HTTPEEK_WRAP:-} "$HTTPEEK" --listen "127.0.0.1:$PROXY_PORT" --web "127.0.0.1:$WEB_PORT" \
                --confdir "$W/hp" --upstream-ca "$W/ca.pem" --hosts "$W/hosts" --dns "127.0.0.1:$DNS_PORT" --no-qr \
                "${HTTPEEK_EXTRA[@]}" >"$W/httpeek-$r.log" 2>&1 &
            PROXY_PID=$!
            PROXY_CA=$W/hp/ca-cert.pem ;;
        mitmdump)
            rm -rf "$W/mitm"
            timeout 3000 mitmdump -q --listen-host 127.0.0.1 --listen-port "$PROXY_PORT" \
                --set confdir="$W/mitm" --set ssl_verify_upstream_trusted_ca="$W/ca.pem" \
                -s "$W/loopback.py" -w "$W/mitm-$r.flows" >"$W/mitmdump-$r.log" 2>&1 &
            PROXY_PID=$!
            PROXY_CA=$W/mitm/mitmproxy-ca-cert.pem ;;
        relay)  # copies bytes only: the client's TLS goes through to nginx, verified end to end
            timeout 3000 "$W/relay" --listen "$PROXY_PORT" --connect-tls "$TLS_PORT" \
                --connect-plain "$PLAIN_PORT" --threads "$(nproc)" --max-seconds 3000 \
                >"$W/relay-$r.log" 2>&1 &
            PROXY_PID=$!
            PROXY_CA=$W/ca.pem ;;
    esac
    PIDS+=($PROXY_PID)
    wait_port "$PROXY_PORT" 30 || die "$t did not start: $(tail -5 "$W/$t-$r.log")"
    for ((i = 0; i < 100; i++)); do [ -s "$PROXY_CA" ] && break; sleep 0.05; done
    # the timeout wrapper is the parent: measure the proxy process itself
    local child; child=$(pgrep -P "$PROXY_PID" | head -1)
    [ -n "$child" ] && PROXY_PID=$child
}
stop_proxy() {
    [ -n "$PROXY_PID" ] || return 0
    kill "$PROXY_PID" 2>/dev/null
    local i
    for ((i = 0; i < 120; i++)); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$PROXY_PID" 2>/dev/null
    PROXY_PID=
}

# lg TARGET ARGS...: run loadgen against TARGET (direct or through the current proxy)
lg() {
    local t=$1; shift
    local tls=1 args=()
    for a in "$@"; do [ "$a" = --plain ] && tls=0 || args+=("$a"); done
    local port=$TLS_PORT; [ $tls = 0 ] && port=$PLAIN_PORT
    local base=(--host bench.test --port "$port")
    [ $tls = 1 ] && base+=(--tls)
    if [ "$t" = direct ]; then
        base+=(--connect "127.0.0.1:$port")
        [ $tls = 1 ] && base+=(--cafile "$W/ca.pem")
    else
        base+=(--connect "127.0.0.1:$PROXY_PORT" --proxy)
        [ $tls = 1 ] && base+=(--cafile "$PROXY_CA")
    fi
    timeout $((DUR * 3 + 120)) "$LG" "${base[@]}" "${args[@]}" 2>>"$W/loadgen.err"
}
# h2_run RUN TARGET SCENARIO LOADGEN-ARGS...: an HTTP/2 scenario (loadgen --h2, offering
# h2,http/1.1 as apps do); sets OUT. Returns 1 when the target did not choose h2 by ALPN (httpeek
# before it speaks h2): recorded as "alpn_SCENARIO ANSWER", shown as "h1 only (ALPN)", neither an
# error nor a figure.
h2_run() {
    local r=$1 t=$2 s=$3 alpn; shift 3
    OUT=$(lg "$t" --alpn-both "$@")
    alpn=$(kv alpn "$OUT")
    if [ -n "$alpn" ] && [ "$alpn" != h2 ] && [ "$(kv errors "$OUT")" = "$(kv err_alpn "$OUT")" ]; then
        record "$r" "$t" "alpn_$s" "$alpn"
        log "  $t $s: h1 only (its ALPN answer: $alpn): $OUT"
        return 1
    fi
    check "$r" "$t" "$s" "$OUT"
    log "  $t $s: $OUT"
    return 0
}
check() {   # check RUN TARGET SCENARIO OUTPUTLINE: note errors
    local e; e=$(kv errors "$4")
    if [ -z "$4" ] || [ "${e:-1}" != 0 ]; then
        ERRORS=$((ERRORS + 1))
        log "  $2 $3 run $1: ERRORS: ${4:-no output}"
        echo "$1 $2 err_$3 1" >>"$RESULTS"   # the table shows "err", never a number, for it
    fi
}

# ------------------------------------------------------------------ scenarios ----
# s5_measure TARGET RUN N CLIENT: S5, idle intercepted tunnels: RSS delta / N (each tunnel did
# one request), in a freshly started proxy (after S1–S4 the process has freed heap that would
# absorb the tunnels and hide their cost); one request first so one-off costs (leaf, thread
# arenas) are in the baseline. CLIENT c: loadgen --idle (OpenSSL from C, ALPN http/1.1);
# py: bench/idle_py.py (Python's ssl via asyncio, its default context, no ALPN); pyh2: the same
# offering h2,http/1.1 as apps do (the tunnel is then HTTP/2 on both legs). Each tunnel
# costs the proxy a descriptor per leg: when the fd limit cannot hold both legs of N tunnels
# (2 N + 200 > ulimit -n), the tunnels go to nginx's 2 s keep-alive server (SHORT_PORT), as
# bench/scale.sh does, and the figure is the client legs' (recorded as s5l_*).
s5_measure() {
    local t=$1 r=$2 n=$3 cl=$4 port=$TLS_PORT key=s5 out line rest before after lgpid
    if [ "$(ulimit -n)" -lt $((2 * n + 200)) ]; then port=$SHORT_PORT key=s5l; fi
    stop_proxy
    # one client address holds every tunnel: httpeek's per-address limit
    # (--max-client-connections, 512 by default) would answer the rest 503
    local keep=("${HTTPEEK_EXTRA[@]}")
    [ "$t" = httpeek ] && HTTPEEK_EXTRA+=(--max-connections $((n + 1000)))
    # (httpeek before that limit has no such option: an older build measured for comparison)
    [ "$t" = httpeek ] && [ "$("$HTTPEEK" --help 2>&1 | grep -c -- --max-client-connections)" != 0 ] &&
        HTTPEEK_EXTRA+=(--max-client-connections $((n + 1000)))
    start_proxy "$t" "$r-s5-$n-$cl"
    HTTPEEK_EXTRA=("${keep[@]}")
    out=$(lg "$t" --port "$port" --path /1k --expect-bytes 1024 -c 1 -n 1 -d 30)
    check "$r" "$t" "S5_${cl}_$n" "$out"
    sleep 0.5
    local fifo=$W/idle.fifo; rm -f "$fifo"; mkfifo "$fifo"
    before=$(rss_kb "$PROXY_PID")
    if [ "$cl" = py ] || [ "$cl" = pyh2 ]; then
        local alpn=(); [ "$cl" = pyh2 ] && alpn=(--alpn h2,http/1.1)
        timeout $((n / 20 + 300)) python3 "$BENCH_DIR/idle_py.py" --connect "127.0.0.1:$PROXY_PORT" \
            --host bench.test --port "$port" --cafile "$PROXY_CA" --path /1k --expect-bytes 1024 \
            --idle "$n" --hold 3 --timeout 60 "${alpn[@]}" >"$fifo" 2>>"$W/loadgen.err" &
    else
        timeout $((n / 20 + 300)) "$LG" --host bench.test --port "$port" --tls --cafile "$PROXY_CA" \
            --connect "127.0.0.1:$PROXY_PORT" --proxy --path /1k --expect-bytes 1024 --idle "$n" \
            -t 2 -d 3 --timeout 60 >"$fifo" 2>>"$W/loadgen.err" &
    fi
    lgpid=$!
    exec 5<"$fifo"
    line=
    read -r -t $((n / 20 + 240)) line <&5
    [ "$key" = s5l ] && sleep 2   # the 2 s origin closes the idle upstream legs
    sleep 1
    after=$(rss_kb "$PROXY_PID")
    rest=$(cat <&5); exec 5<&-
    wait "$lgpid"
    check "$r" "$t" "S5_${cl}_$n" "$(echo "$rest" | tail -1)"
    record "$r" "$t" "${key}_${cl}_$n" "$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN {printf "%.1f", (a - b) / n}')"
    log "  $t S5 ($cl, $n$([ "$key" = s5l ] && echo ", client legs only")): rss ${before} -> ${after} KiB; $line $rest"
    stop_proxy
    sleep 1
}

# scen RUN TARGET KEY SCENARIO LOADGEN-ARGS...: one keep-alive/new-connection scenario; records
# KEY_rps, KEY_p50_us, KEY_p99_us and KEY_cpu_us (the proxy's CPU per request: user + system of
# all its threads over the run; S3: per MiB as KEY_cpu_us_mib); sets OUT
scen() {
    local r=$1 t=$2 k=$3 s=$4 before= after n; shift 4
    [ -n "$PROXY_PID" ] && before=$(cpu_ticks "$PROXY_PID")
    OUT=$(lg "$t" "$@")
    [ -n "$PROXY_PID" ] && after=$(cpu_ticks "$PROXY_PID")
    check "$r" "$t" "$s" "$OUT"
    record "$r" "$t" "${k}_rps" "$(kv rps "$OUT")"
    record "$r" "$t" "${k}_p50_us" "$(kv p50_us "$OUT")"
    record "$r" "$t" "${k}_p99_us" "$(kv p99_us "$OUT")"
    if [ -n "$before" ]; then
        if [ "$k" = s3 ]; then
            n=$(awk -v m="$(kv mibps "$OUT")" -v s="$(kv seconds "$OUT")" 'BEGIN {printf "%d", m * s}')
            record "$r" "$t" s3_cpu_us_mib "$(cpu_per "$before" "$after" "$n")"
        else
            record "$r" "$t" "${k}_cpu_us" "$(cpu_per "$before" "$after" "$(kv requests "$OUT")")"
        fi
    fi
    log "  $t $s: $OUT"
}

run_target() {   # run_target TARGET RUN
    local t=$1 r=$2 out before after n
    if [ "$ONLY_S5" = 1 ]; then
        [ "$t" = direct ] || [ "$t" = relay ] && return
        for n in $S5_COUNTS; do
            for c in $S5_CLIENTS; do s5_measure "$t" "$r" "$n" "$c"; done
        done
        return
    fi
    if [ "$ONLY_S6" = 1 ]; then
        [ "$t" = relay ] && return
        s6_measure "$t" "$r"
        return
    fi
    if [ "$t" != direct ]; then start_proxy "$t" "$r"; fi
    if [ "$ONLY_S3" = 1 ]; then
        scen "$r" "$t" s3 S3 --path /10m --expect-bytes $((10 * 1024 * 1024)) -c 1 -d "$DUR" --timeout 60
        record "$r" "$t" s3_mibps "$(kv mibps "$OUT")"
        stop_proxy
        return
    fi
    # S1 HTTPS keep-alive, 1 KiB, 32 clients
    scen "$r" "$t" s1 S1 --path /1k --expect-bytes 1024 -c 32 -t 2 -d "$DUR"
    # H1 HTTP/2 keep-alive, 1 KiB, 32 streams on one connection: S1's requests (32 in flight)
    # multiplexed on one h2 connection instead of 32 HTTP/1.1 ones
    [ -n "$PROXY_PID" ] && before=$(cpu_ticks "$PROXY_PID")
    if h2_run "$r" "$t" H1 --path /1k --expect-bytes 1024 --h2 32 -c 1 -d "$DUR"; then
        record "$r" "$t" h1_rps "$(kv rps "$OUT")"
        record "$r" "$t" h1_p50_us "$(kv p50_us "$OUT")"
        record "$r" "$t" h1_p99_us "$(kv p99_us "$OUT")"
        [ -n "$PROXY_PID" ] && record "$r" "$t" h1_cpu_us "$(cpu_per "$before" "$(cpu_ticks "$PROXY_PID")" "$(kv requests "$OUT")")"
    fi
    # S2 new TLS connection per request
    scen "$r" "$t" s2 S2 --path /1k --expect-bytes 1024 -c 32 -t 2 -d "$DUR" --new-conn
    # S3 one 10 MiB download (repeated by one client for the duration); CPU per MiB
    scen "$r" "$t" s3 S3 --path /10m --expect-bytes $((10 * 1024 * 1024)) -c 1 -d "$DUR" --timeout 60
    record "$r" "$t" s3_mibps "$(kv mibps "$OUT")"
    # H2 one 10 MiB download over h2 (repeated by one client for the duration): S3 over h2
    if h2_run "$r" "$t" H2 --path /10m --expect-bytes $((10 * 1024 * 1024)) --h2 1 -c 1 -d "$DUR" --timeout 60; then
        record "$r" "$t" h2_mibps "$(kv mibps "$OUT")"
    fi
    # S4 plain HTTP keep-alive, 1 KiB (absolute-form through the proxy)
    scen "$r" "$t" s4 S4 --plain --path /1k --expect-bytes 1024 -c 32 -t 2 -d "$DUR"
    if [ "$t" != direct ] && [ "$t" != relay ]; then
        local n c
        for n in $S5_COUNTS; do
            for c in $S5_CLIENTS; do s5_measure "$t" "$r" "$n" "$c"; done
        done
    fi
    # S6 first request to a new host name vs a known one (new TLS connection each); the relay
    # intercepts nothing, so it has no S5 or S6
    [ "$t" = relay ] && { stop_proxy; return; }
    s6_measure "$t" "$r"
}
# s6_measure TARGET RUN: S6, S6_N first requests to never-seen names (each on a new TLS
# connection, each followed by one to the known name bench.test); records the medians
s6_measure() {
    local t=$1 r=$2 out
    [ "$t" != direct ] && [ -z "$PROXY_PID" ] && start_proxy "$t" "$r-s6"
    out=$(lg "$t" --path /1k --expect-bytes 1024 --s6 "$S6_N" --host-pattern "s6-$r-$t-%d.bench.test")
    check "$r" "$t" S6 "$out"; record "$r" "$t" s6_extra_ms "$(kv extra_ms "$out")"
    record "$r" "$t" s6_known_ms "$(kv known_median_ms "$out")"
    record "$r" "$t" s6_new_ms "$(kv new_median_ms "$out")"
    log "  $t S6: $out"
    stop_proxy
}

log "machine: $(nproc) cores, $(uname -r); runs=$RUNS duration=${DUR}s targets: $TARGETS; fd limit $(ulimit -n)"
if [ "$SCALE_ONLY" = 0 ]; then
for ((r = 1; r <= RUNS; r++)); do
    for t in $TARGETS; do
        log "run $r/$RUNS: $t"
        run_target "$t" "$r"
    done
done

# ------------------------------------------------------------------ table ----
python3 - "$RESULTS" "$TARGETS" "$RUNS" "$ERRORS" <<'EOF'
import statistics, sys
from collections import defaultdict
path, targets, runs, errors = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), int(sys.argv[4])
vals = defaultdict(list)
h1only = {}   # (target, "H1"/"H2") -> its ALPN answer, when it did not choose h2
for line in open(path):
    p = line.split()
    if len(p) == 4 and p[2].startswith("alpn_"):
        h1only[(p[1], p[2][5:])] = p[3]
        continue
    if len(p) == 4 and p[3] not in ("", "nan"):
        try: vals[(p[1], p[2])].append(float(p[3]))
        except ValueError: pass
SCEN = {"s1_rps": "S1", "s1_p50_us": "S1", "s1_p99_us": "S1", "s1_cpu_us": "S1",
        "s2_rps": "S2", "s2_p99_us": "S2", "s2_cpu_us": "S2", "s3_mibps": "S3", "s3_cpu_us_mib": "S3",
        "s4_rps": "S4", "s4_p99_us": "S4", "s4_cpu_us": "S4", "s6_extra_ms": "S6", "s6_new_ms": "S6",
        "h1_rps": "H1", "h1_p50_us": "H1", "h1_p99_us": "H1", "h1_cpu_us": "H1", "h2_mibps": "H2"}
# S5: one row per tunnel count and client (s5_CLIENT_N; s5l_: client legs only, the fd limit)
s5keys = sorted({m for (_, m) in vals if m.startswith(("s5_", "s5l_"))},
                key=lambda m: (int(m.rsplit("_", 1)[1]), m.split("_")[1]))
for m in s5keys: SCEN[m] = "S5_" + m.split("_", 1)[1]   # its own err_ mark (check's scenario)
# h2 over HTTP/1.1 for the same requests, per target (the goals of issue 18)
DERIVED = {"h1_vs_s1": ("h1_rps", "s1_rps"), "h2_vs_s3": ("h2_mibps", "s3_mibps"),
           "h1cpu_vs_s1": ("h1_cpu_us", "s1_cpu_us")}
def errored(t, m):
    return (t, "err_" + SCEN.get(m, "")) in vals
def med(t, m):
    if m in DERIVED:
        a, b = (med(t, x) for x in DERIVED[m])
        for mark in ("h1only", "err"):
            if mark in (a, b): return mark
        return a / b if a is not None and b else None
    if (t, SCEN.get(m, "")) in h1only:
        return "h1only"
    if errored(t, m):
        return "err"
    v = vals.get((t, m))
    return statistics.median(v) if v else None
CLIENT = {"c": "C client", "py": "Python ssl", "pyh2": "Python ssl, h2"}
s5rows = [(f"S5 idle tunnel, {int(m.rsplit('_', 1)[1]):,}, {CLIENT.get(m.split('_')[1], m.split('_')[1])}"
           + (" *" if m.startswith("s5l_") else ""), m, "KiB/conn", "abs", "<= 32 KiB") for m in s5keys]
rows = [
    ("S1 HTTPS keep-alive 1 KiB, 32 clients", "s1_rps", "req/s", "ratio", ">= 0.85 rel"),
    ("S2 new TLS connection per request", "s2_rps", "req/s", "ratio", ">= 0.85 rel"),
    ("S3 one 10 MiB HTTPS download", "s3_mibps", "MiB/s", "ratio", ">= 0.85 rel"),
    ("S4 plain HTTP keep-alive 1 KiB", "s4_rps", "req/s", "ratio", ">= 0.85 rel"),
] + s5rows + [
    ("S6 new host name: extra latency", "s6_extra_ms", "ms", "abs", "<= 0.6 ms"),
    ("S6 first request to a new name", "s6_new_ms", "ms", "lat", "<= 1.5x dir"),
    ("S1 proxy CPU per request", "s1_cpu_us", "us", "abs", "<= 20 us"),
    ("S2 proxy CPU per request", "s2_cpu_us", "us", "abs", ""),
    ("S3 proxy CPU per MiB", "s3_cpu_us_mib", "us", "abs", ""),
    ("S4 proxy CPU per request", "s4_cpu_us", "us", "abs", "<= 17 us"),
    ("S1 median latency", "s1_p50_us", "us", "abs", ""),
    ("S1 p99 latency", "s1_p99_us", "us", "lat", "<= 2x rel"),
    ("S2 p99 latency", "s2_p99_us", "us", "lat", ""),
    ("S4 p99 latency", "s4_p99_us", "us", "lat", ""),
    ("H1 h2 keep-alive 1 KiB, 32 streams/conn", "h1_rps", "req/s", "ratio", ""),
    ("H2 one 10 MiB download over h2", "h2_mibps", "MiB/s", "ratio", ""),
    ("H1/S1: h2 vs HTTP/1.1 req/s", "h1_vs_s1", "ratio", "abs", ">= 1.00"),
    ("H2/S3: h2 vs HTTP/1.1 MiB/s", "h2_vs_s3", "ratio", "abs", ">= 1.00"),
    ("proxy CPU per h2 req (H1)", "h1_cpu_us", "us", "abs", "<= S1's"),
    ("H1/S1: proxy CPU per request", "h1cpu_vs_s1", "ratio", "abs", "<= 1.00"),
    ("H1 median latency", "h1_p50_us", "us", "abs", ""),
    ("H1 p99 latency", "h1_p99_us", "us", "lat", ""),
]
def fmt(x):
    if x is None: return "-"
    if x == "err": return "err"
    if x == "h1only": return "h1 only (ALPN)"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"
cols = [t for t in targets]
CW = 14 if h1only else 10   # value column width ("h1 only (ALPN)" needs 14)
vs_relay = "relay" in cols and "httpeek" in cols
hdr = f"{'scenario':44} {'unit':8}" + "".join(f" {c:>{CW}}" for c in cols) + "".join(f" {c+'/dir':>13}" for c in cols if c != "direct") + (f" {'httpeek/relay':>13}" if vs_relay else "") + f"  {'target':>10}"
print()
print(f"httpeek benchmark — {runs} run(s), medians; ratios are to the direct connection")
print(hdr)
print("-" * len(hdr))
for name, m, unit, kind, target in rows:
    line = f"{name:44} {unit:8}" + "".join(f" {fmt(med(c, m)):>{CW}}" for c in cols)
    for c in cols:
        if c == "direct": continue
        d, v = med("direct", m), med(c, m)
        ok = d not in (None, "err", "h1only") and v not in (None, "err", "h1only")
        r = (v / d) if (kind in ("ratio", "lat") and ok and d) else None
        line += f" {(f'{r:.3f}' if r is not None else ''):>13}"
    if vs_relay:
        d, v = med("relay", m), med("httpeek", m)
        ok = d not in (None, "err", "h1only") and v not in (None, "err", "h1only")
        line += f" {(f'{v / d:.3f}' if kind in ('ratio', 'lat') and ok and d else ''):>13}"
    line += f"  {target:>10}"
    print(line)
print()
if any(m.startswith("s5l_") for m in s5keys):
    print("S5 *: client legs only: the fd limit cannot hold both legs of that many tunnels; the origin")
    print("closed the idle upstream legs after 2 s (as real origins do), so they are not in the figure")
print("p99 rows: their ratio columns are latency over direct's / relay's (lower is better);")
print("CPU rows: user + system time of every proxy thread (/proc/PID/stat) over the run / requests")
print(f"runs with errors: {errors}" if errors else "no errors: every connection verified, every response checked")
for (t, s), answer in sorted(h1only.items()):
    print(f"{t} {s}: h1 only (ALPN): offered h2,http/1.1, it chose {answer}: no h2 figures")
print("H1/H2: S1/S3's requests over HTTP/2 (one connection, 32 streams / one stream); H1/S1, H2/S3 and")
print("their CPU row compare each target's h2 figures with its own HTTP/1.1 ones for the same requests")
if "relay" in cols:
    print("relay: bench/relay.c copies bytes and nothing else (no TLS, parsing or recording); its ratio")
    print("is the most any proxy can reach on this machine, so httpeek/relay is how close httpeek gets")
EOF
log "on a machine shared with other work the figures are noisy: compare ratios, not absolutes"
fi
if [ "$SCALE" = 1 ]; then
    # bench/scale.sh: the scale checks (httpeek only), with this script's nginx, DNS and helpers
    . "$BENCH_DIR/scale.sh"
    run_scale || ERRORS=$((ERRORS + 1))
fi
[ "$ERRORS" = 0 ]
