#!/usr/bin/env bash
# long_run.sh TARGET SECONDS — the long run of one libFuzzer target (docs/TESTING.md's figures):
# build-fuzz/tests/fuzz/fuzz_TARGET from its seeds plus build-fuzz/tests/fuzz/work/TARGET, at
# nice 10, in fork mode with one worker that goes on after a crash (every finding of the run is
# kept in work/artifacts/TARGET/, not only the first). Prints the CPU time, the inputs run, the
# coverage and the findings; exits 1 when there were any. The log is work/TARGET.long.log.
set -u
cd "$(dirname "$0")/../.."
t=$1 secs=$2
work=build-fuzz/tests/fuzz/work
mkdir -p "$work/$t" "$work/artifacts/$t"
# a copy: fork mode starts every job from the file, which a rebuild meanwhile would change
exe=$work/fuzz_$t.long
cp "build-fuzz/tests/fuzz/fuzz_$t" "$exe" || exit 2
log=$work/$t.long.log
dict=tests/fuzz/$t.dict
dictarg=()
[ -f "$dict" ] && dictarg=(-dict="$dict")
before=$(ls "$work/artifacts/$t" | wc -l)
/usr/bin/time -f 'cpu: %U user + %S sys s, wall %e s, max rss %M KiB' -o "$work/$t.time" \
    nice -n 10 "$exe" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "${dictarg[@]}" \
    -artifact_prefix="$work/artifacts/$t/" "$work/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1)
after=$(ls "$work/artifacts/$t" | wc -l)
echo "$t: $(cat "$work/$t.time")"
echo "$t: $last"
echo "$t: $((after - before)) new findings in $work/artifacts/$t/"
[ "$after" -eq "$before" ]
