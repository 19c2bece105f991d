#!/usr/bin/env bash
# bench/store_burst.sh — the store writer's instructions per flow with a fixed batching
# (docs/BENCHMARKS.md, "Store writer (i24-store)"): bench/store_burst.c under callgrind at 1,000
# and 2,000 flows, (instructions(2,000) - instructions(1,000)) / 1,000 per thread, so the store's
# open and close cancel out and every commit holds B flows whatever valgrind's speed.
#
#   bench/store_burst.sh BUILD_DIR [s1|s4] [B]     e.g. bench/store_burst.sh build-bench s1 64
#
# BUILD_DIR: a meson build directory of this tree (ninja is run in it for store_burst; release
# builds give the figures docs/BENCHMARKS.md quotes). Threads: 1 the bench's main thread (makes
# the flows), 2 the WAL checkpointer, 3 the store writer. KEEP=1 keeps the dumps (the directory
# is printed) for callgrind_annotate.
set -u -o pipefail
export LC_ALL=C
BUILD=${1:?usage: bench/store_burst.sh BUILD_DIR [s1|s4] [B]}
KIND=${2:-s1}
B=${3:-64}
command -v valgrind >/dev/null || { echo "store_burst.sh: valgrind is needed" >&2; exit 1; }
ninja -C "$BUILD" store_burst >/dev/null || { echo "store_burst.sh: build failed" >&2; exit 1; }
BIN=$(cd "$BUILD" && pwd)/store_burst
OUT=$(mktemp -d /tmp/httpeek-store-burst.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$OUT"' EXIT
for n in 1000 2000; do
    mkdir -p "$OUT/$n"
    timeout 600 valgrind --tool=callgrind --separate-threads=yes \
        --callgrind-out-file="$OUT/$n/cg.out" "$BIN" "$OUT/$n" "$n" "$B" "$KIND" \
        >"$OUT/$n/log" 2>&1 || { echo "store_burst.sh: run of $n failed: $(tail -1 "$OUT/$n/log")" >&2; exit 1; }
    rm -f "$OUT/$n"/burst.sqlite*
done
python3 - "$OUT" "$KIND" "$B" <<'EOF'
import glob, re, sys
out, kind, b = sys.argv[1:]
def totals(n):
    t = {}
    for f in glob.glob(f"{out}/{n}/cg.out-*"):
        for line in open(f):
            if line.startswith(("summary:", "totals:")):
                t[f.rsplit("-", 1)[1]] = int(line.split()[1])
    return t
a, c = totals(1000), totals(2000)
print(f"{kind} flows in bursts of {b}: instructions per flow (2,000 - 1,000 flows, / 1,000)")
names = {"01": "main (makes the flows)", "02": "checkpointer", "03": "store writer"}
for k in sorted(set(a) | set(c)):
    print(f"  thread {k} {names.get(k, ''):24s} {(c.get(k, 0) - a.get(k, 0)) / 1000:10,.0f}")
print(f"  all threads {'':21s} {(sum(c.values()) - sum(a.values())) / 1000:10,.0f}")
EOF
[ "${KEEP:-0}" = 1 ] && echo "dumps in $OUT"
exit 0
