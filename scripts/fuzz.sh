#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — build the libFuzzer targets with clang in build-fuzz/
# (CC=clang meson setup build-fuzz -Dfuzz=true) and run each for SECONDS (default 60), one
# TAP-style line per target with its figures. Inputs that found new coverage are kept in
# build-fuzz/tests/fuzz/work/<target>/ between runs; a crashing input is saved in
# build-fuzz/tests/fuzz/work/artifacts/<target>/ (replay: build-fuzz/tests/fuzz/fuzz_<target> FILE,
# FUZZ_DUMP=1 shows what would be forwarded). Exits nonzero when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(request response clienthello flow_json proxy proxy_ops)
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 2; }
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null || { echo "not ok - meson setup build-fuzz"; exit 1; }
fi
ninja -C build-fuzz $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null ||
    { echo "not ok - build of the fuzz targets"; exit 1; }
failed=0
n=0
for t in "${targets[@]}"; do
    n=$((n + 1))
    line=$(FUZZ_SECONDS=$secs bash tests/fuzz/run_fuzz.sh "build-fuzz/tests/fuzz/fuzz_$t" "$t" \
        "tests/fuzz/corpus/$t" "build-fuzz/tests/fuzz/work/$t")
    rc=$?
    printf '%s\n' "$line" | grep -E '^(not )?ok ' | sed "s/^\(not \)\{0,1\}ok 1 /\1ok $n /"
    if [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        printf '%s\n' "$line" | grep '^#' | head -n 12
    fi
done
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
