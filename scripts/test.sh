#!/usr/bin/env bash
# scripts/test.sh [meson test args] — install missing build and test dependencies, then build
# and run every test suite twice: a normal build in build/ and an ASan+UBSan build in
# build-sanitize/ (skip the second with HTTPEEK_NO_SANITIZE=1), then a short run of each
# libFuzzer target in build-fuzz/ (FUZZ_SECONDS each, default 6; skipped with HTTPEEK_NO_FUZZ=1
# or when meson test arguments are given). Tests meson may run side by side go HTTPEEK_TEST_JOBS
# at a time (default twice the cores: the e2e scripts mostly wait on deadlines, servers and
# clients; those that load the machine are is_parallel false and run alone). Ends with exactly
# one summary line over all: "N passed, M failed" (a line before it counts skipped checks, if
# any). Exits nonzero when any test failed or a build did not succeed.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }

# run_suite DIR [meson setup options]: configure, build and test DIR; leaves its testlog.json
# EXTRA_TEST_ARGS: more meson test arguments for this suite only
run_suite() {
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" || return 2
    fi
    ninja -C "$dir" || return 2
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs --num-processes "${HTTPEEK_TEST_JOBS:-$(($(nproc) * 2))}" \
        "${TEST_ARGS[@]}" ${EXTRA_TEST_ARGS:-} </dev/null
}

TEST_ARGS=("$@")
logs=()
rc=0
echo "== normal build (build/)"
run_suite build || rc=1
logs+=(build/meson-logs/testlog.json)
if [ "${HTTPEEK_NO_SANITIZE:-0}" != 1 ]; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (build-sanitize/)"
    # leaks are checked at exit by LeakSanitizer; any UB report fails the test
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    # the soak runs once, in the normal build (its RSS bound means nothing under ASan); so do the
    # headless-Chromium scripts (suite browser: they test the viewer's JavaScript; the C behind
    # the API they use is driven by the curl scripts under ASan too) and suite heavy (62's 100,000
    # flows and latency bound; 50-store-har streams HAR under ASan)
    # HTTPEEK_NO_FORCE_INLINE: src/flow_detail.c leaves the inlining of its record writers to the
    # compiler (always_inline into every walk took gcc -O0 with the sanitizers 23 s of this 25 s
    # build for that one file, 0.9 s without; where code is inlined changes nothing ASan checks)
    EXTRA_TEST_ARGS="--no-suite soak --no-suite browser --no-suite heavy" \
        run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
        -Dc_args=-DHTTPEEK_NO_FORCE_INLINE || rc=1
    logs+=(build-sanitize/meson-logs/testlog.json)
fi

if [ "${HTTPEEK_NO_FUZZ:-0}" != 1 ] && [ ${#TEST_ARGS[@]} -eq 0 ]; then
    # libFuzzer targets (clang, ASan+UBSan), each a short run from its seed corpus; longer runs:
    # ./scripts/fuzz.sh SECONDS. Only the fuzz targets are built in build-fuzz/.
    echo "== libFuzzer targets, ${FUZZ_SECONDS:=6} s each (build-fuzz/)"
    export FUZZ_SECONDS
    rm -f build-fuzz/meson-logs/testlog.json
    if { [ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true; } &&
        ninja -C build-fuzz tests/fuzz/fuzz_request tests/fuzz/fuzz_response \
            tests/fuzz/fuzz_clienthello tests/fuzz/fuzz_flow_json tests/fuzz/fuzz_proxy \
            tests/fuzz/fuzz_proxy_ops tests/fuzz/fuzz_h2_front tests/fuzz/fuzz_h2_uplink \
            tests/fuzz/fuzz_ws_frame; then
        meson test -C build-fuzz --suite fuzz --no-rebuild --print-errorlogs </dev/null || rc=1
    else
        rc=1
    fi
    logs+=(build-fuzz/meson-logs/testlog.json)
fi

for log in "${logs[@]}"; do
    if [ ! -s "$log" ]; then
        echo "$log: no test results (the build failed)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done
summary=$(python3 - "${logs[@]}" <<'PY'
# Count individual TAP checks ("ok N" / "not ok N") of every test program; a program that
# failed without printing any "not ok" (crash, bail out, timeout) counts as one more failure.
import json, re, sys
passed = failed = skipped = 0
failures = []  # "suite dir: test: check" lines, printed before the summary so CI's tail names them
for path in sys.argv[1:]:
  for line in open(path):
    line = line.strip()
    if not line:
        continue
    t = json.loads(line)
    where = "%s: %s" % (path.split("/")[0], t.get("name", "?"))
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
    failures += ["%s: %s" % (where, m) for m in re.findall(r"^not ok \d+.*$", out, re.M)]
    if r not in ("OK", "EXPECTEDFAIL", "SKIP") and nots == 0:
        failed += 1
        failures.append("%s: %s" % (where, r))
# CI reads the last line as exactly "N passed, M failed": skips go on the line before it
for f in failures[:40]:
    print("FAILED " + f)
if skipped:
    print("(%d checks skipped: see the test logs)" % skipped)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
)
prc=$?
echo "$summary"
if [ $rc -ne 0 ] || [ $prc -ne 0 ]; then
    exit 1
fi
exit 0
