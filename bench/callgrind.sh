#!/usr/bin/env bash
# bench/callgrind.sh — instructions per request (valgrind callgrind), per thread kind: figures
# that repeat on a machine whose cores are shared, where bench/run.sh's times do not.
#
#   bench/callgrind.sh                  httpeek from build-bench/ (built here, release, as run.sh)
#   bench/callgrind.sh --rev GIT_REV    that revision, built (release) in a temporary worktree
#   HTTPEEK_BUILD=DIR bench/callgrind.sh   that build directory (ninja is run in it)
#   HTTPEEK_EXTRA_ARGS="--http2=no" bench/callgrind.sh   more httpeek options
#   options: -n N  requests in the shorter measured run (default 2000; the longer one is 2N)
#            --warmup W (default 500)  --clients C (default 4, on 2 loadgen threads: see below)
#            --workers K  httpeek's worker threads (default 1: see below)
#            --pool-wait S  seconds before each measured run (default 36: see below)
#            --s6 K    K first requests to never-seen host names (default 20; 0: no S6)
#            --out DIR keep the dumps and write per-function profiles there (DIR/S1.tsv ...: self
#                      instructions per request, handshakes and transactions included)
#            --s3 M    S3 (below) with M downloads in the shorter run (default 0: not run)
#            --only-s3 S3 only (needs --s3; the warm-up is then 2 downloads and W S1 requests)
#   bench/callgrind.sh --figures DIR   the table again from an --out directory's dumps
#   bench/callgrind.sh --compare DIR_A DIR_B [SCENARIO]   functions whose self instructions per
#            request differ by more than 500 between two --out directories
#
# Set-up as bench/run.sh (bench/lib.sh): test PKI, Debian's nginx on 127.0.0.1, names from a
# hosts file (--hosts) and tests/e2e/dns.py on loopback (--dns), so nothing leaves the machine.
# httpeek runs under `valgrind --tool=callgrind --separate-threads=yes` as users run it (capture
# on: every flow in the default session store). bench/loadgen.c first makes W S1 and W S4
# requests (leaves minted, upstream sessions and pool, arenas, SQLite cache: one-off costs), then
# callgrind_control dumps (and zeroes) the counters; then per scenario two runs of N and 2N
# requests, each followed by a wait until httpeek is idle (store committed) and a dump. The
# difference of the two dumps is N requests on as many connections, so connection set-up and
# teardown cancel out: instructions per request = (dump(2N) - dump(N)) / N.
#   S1  HTTPS keep-alive (CONNECT + TLS, GET /1k), C clients (4, not run.sh's 32: a connection
#       idle for 100 ms gives its TLS buffers back, and under valgrind 32 clients' turns come
#       that far apart, so a varying share of requests would free and allocate them again)
#   S4  plain HTTP keep-alive (absolute-form GET /1k), C clients
#   H1  HTTP/2 keep-alive: the same GET /1k, 32 streams in flight on one connection (loadgen --h2
#       32), when httpeek chooses h2 by ALPN (a one-request probe says; otherwise a note: h1 only)
#   S3  a 10 MiB HTTPS download (GET /10m, one client connection for the run's M or 2M
#       downloads, capture on): instructions per MiB = (dump(2M) - dump(M)) / (10 M); what the
#       downloads' TLS handshakes cost is left out as for S1
#   S6  a first request to a new host name (new CONNECT, leaf minted, new upstream connection):
#       (dump(K new + K+1 known, loadgen --s6) - dump(K+1 known, --new-conn)) / K, and the
#       known-name request on a new connection for comparison (S2 shape, one client)
# Threads are told apart by their start function: worker_main (workers), writer_main (store),
# web_thread (web); the rest (main, resolver pool) is "other". One worker by default: with two,
# the runs' connections land on the workers in varying shares, and a CONNECT on the worker
# without a pooled upstream connection makes a new one (a verified handshake, ~3M instructions),
# so N and 2N no longer cancel. Even with one, a client that closes right after its last
# response leaves its upstream connection in the pool only sometimes, so each measured run
# starts when the pool is empty (--pool-wait) and every run makes C new upstream connections;
# what TLS handshakes cost is left out of S1 and S4 all the same (notes give the counts). The
# store's transactions (BEGIN/COMMIT with the WAL writes and checkpoints) get their own column:
# the writer commits every 2 ms, or up to 10 ms for 256 flows once flows come in batches, and under valgrind 2 ms is a flow or two, so
# their share per flow depends on timing (many more commits per flow than at native speed).
# Automatic passthrough is off (--auto-passthrough 0): loadgen's clients that finish their
# handshake after the N-th request close without one, which httpeek takes for a refused
# certificate.
# Each step is bounded by timeout; an EXIT trap stops everything this script started and removes
# the temporary worktree.
set -u -o pipefail
export LC_ALL=C
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
N=2000 WARM=500 CLIENTS=4 S6_K=20 WORKERS=1 POOL_WAIT=36 REV= OUT= KEEP=0 S3_M=0 ONLY_S3=0

compare() {   # compare DIR_A DIR_B [SCENARIO]
    python3 - "$@" <<'EOF'
import os, sys
a, b = sys.argv[1], sys.argv[2]
scen = sys.argv[3:] or [s[:-4] for s in sorted(os.listdir(b)) if s.endswith(".tsv") and os.path.exists(os.path.join(a, s))]
def load(p):
    d = {}
    for line in open(p):
        f = line.rstrip("\n").split("\t")
        if len(f) == 3 and f[0] != "kind":
            d[(f[0], f[1])] = float(f[2])
    return d
for s in scen:
    A, B = load(os.path.join(a, s + ".tsv")), load(os.path.join(b, s + ".tsv"))
    ta, tb = sum(A.values()), sum(B.values())
    print(f"{s}: {ta:,.0f} -> {tb:,.0f} instructions per request ({tb - ta:+,.0f})")
    rows = [(B.get(k, 0) - A.get(k, 0), k) for k in set(A) | set(B)]
    rows = [r for r in rows if abs(r[0]) >= 500]
    rows.sort(key=lambda r: -abs(r[0]))
    for d, (kind, fn) in rows[:40]:
        print(f"  {d:+10,.0f}  {A.get((kind, fn), 0):10,.0f} -> {B.get((kind, fn), 0):10,.0f}  {kind:7} {fn}")
EOF
}

figures() {   # figures DUMPS_DIR [PROFILES_DIR]: the table (and per-function profiles) from the dumps
    python3 - "$1" "${2:-}" <<'EOF'
import glob, os, re, sys
from collections import defaultdict
cg, out = sys.argv[1], sys.argv[2]
meta = open(os.path.join(cg, "meta")).read().split()
N, K, rev, ncpu = meta[:4]
N, K, M = int(N), int(K), int(meta[4]) if len(meta) > 4 else 0
parts = {}
for line in open(os.path.join(cg, "parts")):
    p, name = line.split()
    parts[name] = int(p)
START = {"worker_main": "worker", "writer_main": "store", "web_thread": "web"}
def parse(path):
    """(total Ir, {function: self Ir}, set of function names, {SSL_do_handshake, sqlite3_exec:
    inclusive Ir; "sqlite3_exec calls": calls}, upstream certificate verifications) of a dump"""
    names, objs, self_ir, seen = {}, {}, defaultdict(int), set()
    total, fn, ob, skip, cfn, hs, hs_ir, verifies = 0, None, "", False, None, None, defaultdict(int), 0
    with open(path, errors="replace") as f:
        for line in f:
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip:
                    if hs:
                        hs_ir[hs] += int(line.split()[-1])
                    skip, hs = False, None
                    continue
                v = line.split()
                if len(v) >= 2:
                    self_ir[fn] += int(v[-1])
            elif line.startswith(("fn=", "cfn=", "ob=", "cob=")):
                m = re.match(r"(?:c?fn|c?ob)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                table = objs if "ob=" in line[:4] else names
                if m:
                    if m.group(2) is not None:
                        table[m.group(1)] = m.group(2)
                    name = table.get(m.group(1), "?")
                else:
                    name = line.split("=", 1)[1].strip()
                if "ob=" in line[:4]:
                    if c == "o":
                        ob = os.path.basename(name)
                    continue
                seen.add(name)
                if c == "c":
                    cfn = name
                if c == "f":   # unnamed code is told apart by its object: libcrypto.so.3:0x1d0280
                    fn = f"{ob}:{name}" if name.startswith("0x") else name
            elif line.startswith("calls="):
                skip = True
                hs = cfn if cfn in ("SSL_do_handshake", "sqlite3_exec") else None
                if cfn == "X509_verify_cert":
                    verifies += int(line[6:].split()[0])
                if cfn == "sqlite3_exec":
                    hs_ir["sqlite3_exec calls"] += int(line[6:].split()[0])
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    return total, self_ir, seen, hs_ir, verifies
# thread kinds, from the warm-up dump (every thread had run its start function by then)
kind = {}
for path in glob.glob(os.path.join(cg, "cg.out.%d-*" % parts["warmup"])):
    tid = path.rsplit("-", 1)[1]
    seen = parse(path)[2]
    k = "other"
    for fn, kk in START.items():
        if fn in seen:
            k = kk
    kind[tid] = k
def load(name):
    tot, fns, hs, ver = defaultdict(int), defaultdict(int), defaultdict(int), 0
    for path in glob.glob(os.path.join(cg, "cg.out.%d-*" % parts[name])):
        tid = path.rsplit("-", 1)[1]
        k = kind.get(tid, "other")
        t, s, _, h, v = parse(path)
        tot[k] += t
        for f in h:
            hs[(k, f)] += h[f]
        ver += v
        for f, v in s.items():
            fns[(k, f)] += v
    return tot, fns, hs, ver
KINDS = ["worker", "store", "web", "other"]
rows, notes = [], []
def per_req(label, a, b, n, unit="flows"):
    (ta, fa, ha, va), (tb, fb, hb, vb) = load(a), load(b)
    # TLS handshakes are connection costs: the same client handshakes in both runs, but not as
    # many new upstream connections (a client closing right after its last response does not
    # always leave its upstream in the pool), so they are taken out of both runs
    hsa = sum(v for (k, f), v in ha.items() if f == "SSL_do_handshake")
    hsb = sum(v for (k, f), v in hb.items() if f == "SSL_do_handshake")
    # the store's transactions (BEGIN, COMMIT and the checkpoints in it: sqlite3_exec) are as
    # many as the writer's batches, whose size depends on timing (up to 2 ms, or up to 10 ms for 256 flows once flows come in batches: under
    # valgrind 2 ms is a flow or two), so they are a column of their own
    ca, cb = ha.get(("store", "sqlite3_exec"), 0), hb.get(("store", "sqlite3_exec"), 0)
    xa, xb = ha.get(("store", "sqlite3_exec calls"), 0), hb.get(("store", "sqlite3_exec calls"), 0)
    vals = {k: (tb[k] - hb.get((k, "SSL_do_handshake"), 0) - ta[k] + ha.get((k, "SSL_do_handshake"), 0)) / n for k in KINDS}
    vals["commit"] = (cb - ca) / n
    vals["store"] -= vals["commit"]
    notes.append(f"{label}: upstream certificate verifications {va} and {vb} in the two runs; TLS "
                 f"handshakes left out: {hsa:,} and {hsb:,} instructions; store transactions "
                 f"{xa // 2:,} and {xb // 2:,} ({n / max((xb - xa) / 2, 1):.1f} {unit} per transaction)")
    vals["total"] = sum(vals.values())
    rows.append((label, vals))
    if out:
        with open(os.path.join(out, label.split()[0] + ".tsv"), "w") as f:
            f.write("kind\tfunction\tIr_per_request\n")
            for key in sorted(set(fa) | set(fb), key=lambda k: -(fb.get(k, 0) - fa.get(k, 0))):
                v = (fb.get(key, 0) - fa.get(key, 0)) / n
                if abs(v) >= 1:
                    f.write(f"{key[0]}\t{key[1]}\t{v:.1f}\n")
if f"S1-{N}" in parts:
    per_req("S1 HTTPS keep-alive", f"S1-{N}", f"S1-{2 * N}", N)
    per_req("S4 plain keep-alive", f"S4-{N}", f"S4-{2 * N}", N)
if M and f"S3-{M}" in parts:   # per MiB: M more 10 MiB downloads
    per_req("S3 10 MiB download, per MiB", f"S3-{M}", f"S3-{2 * M}", 10 * M, "MiB")
    # valgrind counts each iteration of `rep movsb` (glibc's memcpy from 4 KiB up on a CPU
    # without AVX-512, as valgrind presents it) as an instruction: memcpy's count follows the
    # sizes of the copies more than their cost, so it is shown apart
    mc = sum(v for (k, f), v in load(f"S3-{2 * M}")[1].items() if k == "worker" and f.startswith("__mem")) - \
         sum(v for (k, f), v in load(f"S3-{M}")[1].items() if k == "worker" and f.startswith("__mem"))
    notes.append(f"S3: the worker's memcpy/memmove {mc / (10 * M):,.0f} instructions per MiB "
                 f"(rep movsb counted per byte), the worker without them "
                 f"{rows[-1][1]['worker'] - mc / (10 * M):,.0f}")
if f"H1-{N}" in parts:
    per_req("H1 h2 keep-alive, 32 streams", f"H1-{N}", f"H1-{2 * N}", N)
elif os.path.exists(os.path.join(cg, "h2_alpn")) and open(os.path.join(cg, "h2_alpn")).read().strip() != "h2":
    notes.append("H1 (h2, 32 streams on one connection): not run, httpeek chose "
                 f"{open(os.path.join(cg, 'h2_alpn')).read().strip()} by ALPN (h1 only)")
if K and "S6-new" in parts:
    (tk, fk, _, _) = load("S6-known")
    vals = {k: tk[k] / (K + 1) for k in KINDS}
    vals["commit"] = 0
    vals["total"] = sum(vals.values())
    (tn, fn_, _, _) = load("S6-new")
    new = {k: (tn[k] - tk[k]) / K for k in KINDS}
    new["commit"] = 0
    new["total"] = sum(new.values())
    rows.append(("S6 new host name (new conn)", new))
    rows.append(("S2 known host (new conn, 1 client)", vals))
    if out:
        with open(os.path.join(out, "S6.tsv"), "w") as f:
            f.write("kind\tfunction\tIr_per_request\n")
            for key in sorted(set(fk) | set(fn_), key=lambda k: -(fn_.get(k, 0) - fk.get(k, 0))):
                v = (fn_.get(key, 0) - fk.get(key, 0)) / K
                if abs(v) >= 1:
                    f.write(f"{key[0]}\t{key[1]}\t{v:.1f}\n")
nw = sum(1 for k in kind.values() if k == "worker")
print()
print(f"httpeek {rev}: instructions per request (S3: per MiB) (callgrind, {nw} worker threads on {ncpu} cores), N={N}")
COLS = ["worker", "store", "commit", "web", "other", "total"]
hdr = f"{'scenario':36}" + "".join(f" {k:>10}" for k in COLS)
print(hdr)
print("-" * len(hdr))
for label, v in rows:
    print(f"{label:36}" + "".join(f" {v[k]:>10,.0f}" for k in COLS))
for n in notes:
    print("note: " + n)
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        -n) N=$2; shift ;;
        --warmup) WARM=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --workers) WORKERS=$2; shift ;;
        --pool-wait) POOL_WAIT=$2; shift ;;
        --s6) S6_K=$2; shift ;;
        --s3) S3_M=$2; shift ;;
        --only-s3) ONLY_S3=1; S6_K=0 ;;
        --rev) REV=$2; shift ;;
        --out) OUT=$2; shift ;;
        --keep) KEEP=1 ;;
        --compare) shift; compare "$@"; exit ;;
        --figures) figures "$2" "$2"; exit ;;
        -h|--help) sed -n '2,50p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$N" -gt 0 ] && [ "$WARM" -gt 0 ] && [ "$CLIENTS" -gt 0 ] || { echo "bad -n, --warmup or --clients" >&2; exit 2; }
[ "$ONLY_S3" = 0 ] || [ "$S3_M" -gt 0 ] || { echo "--only-s3 needs --s3 M" >&2; exit 2; }

W=$(mktemp -d /tmp/httpeek-callgrind.XXXXXX) || exit 1
chmod 755 "$W"
PIDS=()
SRC_WT=
cleanup() {
    local p i
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for ((i = 0; i < 50; i++)); do   # valgrind writes its last dump as it exits
        local alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ -n "$SRC_WT" ]; then
        git -C "$ROOT" worktree remove --force "$SRC_WT" >/dev/null 2>&1
        git -C "$ROOT" worktree prune >/dev/null 2>&1
    fi
    if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$BENCH_DIR/lib.sh"

# A hard bound on the whole script (sleep without our stdout/stderr: it must not hold a pipe)
( sleep 3600 </dev/null >/dev/null 2>&1; log "callgrind: overall time limit reached"; kill -TERM $$ ) 2>/dev/null &
PIDS+=($!)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

for c in valgrind callgrind_control openssl cc python3 meson ninja; do
    command -v "$c" >/dev/null || die "$c is needed"
done

# ------------------------------------------------------------------ builds ----
build_loadgen "$W/loadgen"
LG=$W/loadgen
if [ -n "$REV" ]; then
    SRC_WT=$W/src
    REV_ID=$(git -C "$ROOT" rev-parse --short=7 "$REV^{commit}" 2>/dev/null) || die "no revision $REV"
    git -C "$ROOT" worktree add --detach "$SRC_WT" "$REV_ID" >"$W/worktree.log" 2>&1 ||
        die "git worktree add failed: $(tail -3 "$W/worktree.log")"
    HTTPEEK_BUILD=$W/build
    log "building httpeek $REV_ID (release, temporary worktree)"
    build_httpeek "$HTTPEEK_BUILD" "$SRC_WT"
else
    HTTPEEK_BUILD=${HTTPEEK_BUILD:-$ROOT/build-bench}
    SRC=$ROOT   # the build directory's own source tree, when meson says which
    s=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
        "$HTTPEEK_BUILD/meson-info/meson-info.json" 2>/dev/null) && [ -d "$s" ] && SRC=$s
    REV_ID=$(git -C "$SRC" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
    [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no -- src meson.build 2>/dev/null)" ] && REV_ID="$REV_ID+changes"
    log "building httpeek (release, $HTTPEEK_BUILD, source $SRC)"
    if [ -f "$HTTPEEK_BUILD/build.ninja" ] || [ ! -x "$HTTPEEK_BUILD/httpeek" ]; then
        build_httpeek "$HTTPEEK_BUILD" "$SRC"
    fi
fi
HTTPEEK=$HTTPEEK_BUILD/httpeek
[ -x "$HTTPEEK" ] || die "no httpeek in $HTTPEEK_BUILD"

# ------------------------------------------------------------------ set-up ----
log "test PKI"
bench_pki || die "cannot make the test PKI"
bench_nginx
names=("bench.test=127.0.0.1")
for ((i = 0; i < S6_K; i++)); do names+=("s6-cg-$i.bench.test=127.0.0.1"); done
bench_dns "${names[@]}"

# ------------------------------------------------------------------ httpeek under callgrind ----
CG=$W/cg
mkdir -p "$CG"
PROXY_PORT=$(free_port)
WEB_PORT=$(free_port)
log "httpeek under callgrind (capture on, default session store)"
timeout 3000 valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$CG/cg.out" \
    "$HTTPEEK" --listen "127.0.0.1:$PROXY_PORT" --web "127.0.0.1:$WEB_PORT" --confdir "$W/hp" \
    --upstream-ca "$W/ca.pem" --hosts "$W/hosts" --dns "127.0.0.1:$DNS_PORT" --no-qr --auto-passthrough 0 --workers "$WORKERS" ${HTTPEEK_EXTRA_ARGS:-} \
    >"$W/httpeek.log" 2>"$W/valgrind.log" &
PIDS+=($!)
wait_port "$PROXY_PORT" 120 && kill -0 "${PIDS[-1]}" 2>/dev/null ||
    die "httpeek did not start: $(tail -5 "$W/valgrind.log" "$W/httpeek.log")"
PROXY_CA=$W/hp/ca-cert.pem
for ((i = 0; i < 100; i++)); do [ -s "$PROXY_CA" ] && break; sleep 0.05; done
VG_PID=$(pgrep -P "${PIDS[-1]}" | head -1)
[ -n "$VG_PID" ] || die "no valgrind process"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wait_idle() {   # until httpeek has used no CPU for 0.6 s (the store has committed), at most 300 s
    local i last now quiet=0
    last=$(cpu_ticks "$VG_PID")
    for ((i = 0; i < 1000 && quiet < 3; i++)); do
        sleep 0.3
        now=$(cpu_ticks "$VG_PID")
        if [ "$now" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; fi
        last=$now
    done
    [ "$quiet" -ge 3 ] || log "warning: httpeek did not go idle"
}
PART=0
dump() {   # dump NAME: callgrind writes (and zeroes) the counters of every thread
    PART=$((PART + 1))
    timeout 120 callgrind_control -d "$1" "$VG_PID" >>"$W/callgrind_control.log" 2>&1 ||
        die "callgrind_control -d failed: $(tail -3 "$W/callgrind_control.log")"
    local i
    for ((i = 0; i < 100; i++)); do
        ls "$CG"/cg.out."$PART"-* >/dev/null 2>&1 && break
        sleep 0.1
    done
    ls "$CG"/cg.out."$PART"-* >/dev/null 2>&1 || die "no dump $PART ($1)"
    sleep 0.5
    echo "$PART $1" >>"$CG/parts"
}
ERRORS=0
lgrun() {   # lgrun tls|plain ARGS...: loadgen through httpeek; checks every response
    local mode=$1 out; shift
    local base=(--host bench.test --connect "127.0.0.1:$PROXY_PORT" --proxy --path /1k --expect-bytes 1024 --timeout 60)
    if [ "$mode" = tls ]; then base+=(--port "$TLS_PORT" --tls --cafile "$PROXY_CA")
    else base+=(--port "$PLAIN_PORT"); fi
    out=$(timeout 400 "$LG" "${base[@]}" -d 300 "$@" 2>>"$W/loadgen.err")
    local e; e=$(kv errors "$out")
    if [ -z "$out" ] || [ "${e:-1}" != 0 ]; then
        ERRORS=$((ERRORS + 1)); log "  loadgen errors: ${out:-no output}"
    fi
    log "  $mode $*: $out"
}

s3run() {   # s3run N: N 10 MiB downloads on one connection through httpeek; checks every response
    local out e
    out=$(timeout 3000 "$LG" --host bench.test --connect "127.0.0.1:$PROXY_PORT" --proxy --port "$TLS_PORT" \
        --tls --cafile "$PROXY_CA" --path /10m --expect-bytes $((10 * 1024 * 1024)) --timeout 600 \
        -c 1 -n "$1" -d 3000 2>>"$W/loadgen.err")
    e=$(kv errors "$out")
    if [ -z "$out" ] || [ "${e:-1}" != 0 ]; then
        ERRORS=$((ERRORS + 1)); log "  loadgen errors: ${out:-no output}"
    fi
    log "  S3 -n $1: $out"
}
log "warm-up: $WARM S1$([ "$ONLY_S3" = 0 ] && echo " and $WARM S4") requests, $CLIENTS clients"
lgrun tls -n "$WARM" -c "$CLIENTS" -t 2
[ "$ONLY_S3" = 0 ] && lgrun plain -n "$WARM" -c "$CLIENTS" -t 2
[ "$S3_M" -gt 0 ] && s3run 2
# H1 only when httpeek chooses h2 by ALPN (one h2 request, offering h2,http/1.1, says)
H2_ALPN=$(kv alpn "$(timeout 60 "$LG" --host bench.test --connect "127.0.0.1:$PROXY_PORT" --proxy \
    --port "$TLS_PORT" --tls --cafile "$PROXY_CA" --path /1k --expect-bytes 1024 --h2 1 --alpn-both -n 1 \
    -d 30 --timeout 30 2>>"$W/loadgen.err")")
log "httpeek's ALPN answer to h2,http/1.1: ${H2_ALPN:-no answer}"
[ "$H2_ALPN" = h2 ] && [ "$ONLY_S3" = 0 ] && lgrun tls -n "$WARM" -c 1 --h2 32
echo "${H2_ALPN:-none}" >"$CG/h2_alpn"
wait_idle
dump warmup
SCENS="S1 S4"; [ "$ONLY_S3" = 1 ] && SCENS=
for s in $SCENS; do
    mode=tls; [ $s = S4 ] && mode=plain
    for n in "$N" $((2 * N)); do
        # the previous run's pooled upstream connections expire first (idle 30 s, swept every
        # 5 s), so every run opens as many new upstream connections as it has clients
        log "$s: $n requests (after ${POOL_WAIT}s for the upstream pool to empty)"
        sleep "$POOL_WAIT"
        lgrun $mode -n "$n" -c "$CLIENTS" -t 2
        wait_idle
        dump "$s-$n"
    done
done
if [ "$H2_ALPN" = h2 ] && [ "$ONLY_S3" = 0 ]; then
    for n in "$N" $((2 * N)); do
        log "H1: $n h2 requests, 32 streams on one connection (after ${POOL_WAIT}s for the upstream pool to empty)"
        sleep "$POOL_WAIT"
        lgrun tls -n "$n" -c 1 --h2 32
        wait_idle
        dump "H1-$n"
    done
fi
if [ "$S3_M" -gt 0 ]; then
    for n in "$S3_M" $((2 * S3_M)); do
        log "S3: $n 10 MiB downloads on one connection (after ${POOL_WAIT}s for the upstream pool to empty)"
        sleep "$POOL_WAIT"
        s3run "$n"
        wait_idle
        dump "S3-$n"
    done
fi
if [ "$S6_K" -gt 0 ]; then
    log "S6: $S6_K new host names (each followed by a known one)"
    lgrun tls --s6 "$S6_K" --host-pattern "s6-cg-%d.bench.test"
    wait_idle
    dump "S6-new"
    lgrun tls --new-conn -n $((S6_K + 1)) -c 1
    wait_idle
    dump "S6-known"
fi
[ "$ERRORS" = 0 ] || die "loadgen reported errors: no figures"

# ------------------------------------------------------------------ figures ----
if [ -n "$OUT" ]; then
    mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || die "cannot make $OUT"
fi
echo "$N $S6_K $REV_ID $(nproc) $S3_M" >"$CG/meta"
figures "$CG" "${OUT:-}"
rc=$?
if [ -n "$OUT" ]; then
    cp "$CG"/cg.out.* "$CG/parts" "$CG/meta" "$CG/h2_alpn" "$OUT/" && log "dumps and profiles in $OUT"
fi
exit $rc
