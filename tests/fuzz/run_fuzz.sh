#!/usr/bin/env bash
# run_fuzz.sh EXE NAME SEEDDIR WORKDIR — run one libFuzzer target for FUZZ_SECONDS (default 20)
# from the seed corpus (read-only) plus WORKDIR (new inputs are kept there between runs), and
# print TAP: one line with the figures (runs, exec/s, coverage, corpus), "not ok" on any crash,
# leak, timeout or sanitizer report, with the reproducer's file name. Crash inputs are saved in
# WORKDIR/../artifacts/NAME/ (the log in WORKDIR/../NAME.log).
set -u
exe=$1 name=$2 seed=$3 work=$4
secs=${FUZZ_SECONDS:-20}
art="$(dirname "$work")/artifacts/$name"
mkdir -p "$work" "$art" || exit 1
log="$(dirname "$work")/$name.log"
echo "1..1"
# -rss_limit_mb: a target that grows without bound is a bug too; -timeout: one input > 10 s hangs
# a dictionary of the target's tokens, when it has one (tests/fuzz/<target>.dict)
dict="$(dirname "$seed")/../$name.dict"
dictarg=()
[ -f "$dict" ] && dictarg=(-dict="$dict")
timeout -k 5 $((secs + 60)) "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    "${dictarg[@]}" -print_final_stats=1 -artifact_prefix="$art/" "$work" "$seed" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(printf '%s' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
corp=$(printf '%s' "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
# targets that feed a parser in two reads print "split feeds: N of M inputs" at exit: N must not
# be 0, or the two-reads promise is empty
split=$(sed -n 's/^split feeds: \([0-9]*\) of .*/\1/p' "$log" | tail -n 1)
if [ "$rc" -eq 0 ] && [ "${split:-x}" = 0 ]; then
    echo "not ok 1 - fuzz $name: no input reached the parser in two reads (split feeds: 0)"
    exit 1
fi
if [ "$rc" -eq 0 ]; then
    echo "ok 1 - fuzz $name: ${runs:-?} inputs in ${secs} s (${eps:-?} exec/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}${split:+, $split fed in two reads}, no crash"
else
    echo "not ok 1 - fuzz $name: exit $rc after ${runs:-?} inputs (cov ${cov:-?})"
    grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written|artifact_prefix' "$log" | head -n 8 | sed 's/^/# /'
    tail -n 30 "$log" | sed 's/^/# /'
    exit 1
fi
