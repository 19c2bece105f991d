#!/usr/bin/env bash
# scripts/test.sh [meson test args] — install missing build and test
# dependencies, build into build/, run every test suite, and end with exactly
# one summary line: "N passed, M failed" (", K skipped" when some were skipped).
# Exits nonzero when any test failed or the build did not succeed.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }
if [ ! -f build/build.ninja ]; then
    meson setup build || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C build || { echo "0 passed, 1 failed"; exit 1; }

rm -f build/meson-logs/testlog.json
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@" </dev/null
rc=$?

log=build/meson-logs/testlog.json
if [ ! -s "$log" ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
summary=$(python3 - "$log" <<'PY'
# Count individual TAP checks ("ok N" / "not ok N") of every test program; a program that
# failed without printing any "not ok" (crash, bail out, timeout) counts as one more failure.
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    t = json.loads(line)
    r = t.get("result", "")
    out = t.get("stdout", "") or ""
    oks = len(re.findall(r"^ok \d+", out, re.M))
    skips = len(re.findall(r"^ok \d+.*# SKIP", out, re.M | re.I))
    nots = len(re.findall(r"^not ok \d+", out, re.M))
    if oks + nots == 0:  # not a TAP producer: count the program itself
        oks = 1 if r in ("OK", "EXPECTEDFAIL") else 0
        skips = 1 if r == "SKIP" else 0
        oks += skips
    passed += oks - skips
    skipped += skips
    failed += nots
    if r not in ("OK", "EXPECTEDFAIL", "SKIP") and nots == 0:
        failed += 1
s = "%d passed, %d failed" % (passed, failed)
if skipped:
    s += ", %d skipped" % skipped
print(s)
sys.exit(1 if failed else 0)
PY
)
prc=$?
echo "$summary"
if [ $rc -ne 0 ] || [ $prc -ne 0 ]; then
    exit 1
fi
exit 0
