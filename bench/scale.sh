#!/usr/bin/env bash
# bench/scale.sh — the scale checks of issue 6, for httpeek (capture on, as users run it):
#   1. SCALE_TUNNELS (10,000) concurrent idle intercepted tunnels held: how many, httpeek's RSS
#      before/with them, KiB per tunnel, and a healthy request through the proxy meanwhile;
#   2. SCALE_FLOWS (100,000) flows recorded in one session (HTTPS keep-alive, 1 KiB, 32 clients)
#      with httpeek's RSS sampled every second: RSS at ~10% / 50% / 100% of the flows, the peak,
#      and the session's flows table counted (SQLite) — every request is one flow;
#   3. the viewer's flow-list API on that session: GET /api/flows?after=0&limit=100, the viewer's
#      own first page (limit=2000, web/app.js) and the whole list, curl time_total, median of 10.
# It is part of bench/run.sh (sourced after its set-up: nginx, DNS, PKI, builds, helpers); run it
# with `bench/run.sh --scale` (this file run directly does that). About a minute on 2 cores.
#
# File descriptors: each held tunnel costs httpeek one descriptor for the client and, while the
# origin keeps its keep-alive connection, one upstream. When the hard limit (ulimit -Hn) is too
# small for both (2 × N + margin), the tunnels go to an nginx server that closes idle keep-alive
# connections after 2 s, as real origins do after their own timeout: httpeek then holds the
# client tunnels (TLS session, connection state) without the upstream legs; the table says so.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    exec "$(cd "$(dirname "$0")" && pwd)/run.sh" --scale "$@"
fi

# lgp ARGS...: loadgen through the current proxy (CONNECT + TLS, verified against its CA)
lgp() {
    local secs=$1; shift
    timeout "$secs" "$LG" --host bench.test --port "$TLS_PORT" --tls --cafile "$PROXY_CA" \
        --connect "127.0.0.1:$PROXY_PORT" --proxy "$@" 2>>"$W/loadgen.err"
}
count_flows() {   # count_flows DB: rows in the session's flows table
    if command -v sqlite3 >/dev/null; then
        sqlite3 -cmd '.timeout 3000' "$1" 'select count(*) from flows' 2>/dev/null || echo 0
    else
        python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=3).execute("select count(*) from flows").fetchone()[0])' "$1" 2>/dev/null || echo 0
    fi
}
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
median_ms() {   # median_ms URL: median curl time_total of 10 GETs, in ms ("err" on a failure)
    local i t code times=()
    for ((i = 0; i < 10; i++)); do
        read -r code t < <(curl -s -o /dev/null --max-time 30 -w '%{http_code} %{time_total}\n' "$1")
        [ "$code" = 200 ] || { echo err; return 1; }
        times+=("$t")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%.1f", (v[5] + v[6]) / 2 * 1000}'
}

run_scale() {
    local rc=0 n=$SCALE_TUNNELS nf=$SCALE_FLOWS hard out line rest lgpid
    local -A R
    export CURL_HOME=/nonexistent
    log "scale checks: $n idle tunnels, $nf flows in one session, the viewer API (httpeek)"

    # ---- 1. idle intercepted tunnels -----------------------------------------------------------
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=1048576
    local port=$TLS_PORT legs="client + upstream legs held"
    if [ "$(ulimit -n)" -lt $((2 * n + 200)) ]; then
        port=$SHORT_PORT
        legs="client legs held; origin closes idle upstreams after 2 s (fd limit $(ulimit -n) < 2 x $n)"
    fi
    # one client address holds them all: past --max-client-connections (512) they would get 503
    HTTPEEK_EXTRA=(--max-connections $((n + 1000)) --max-client-connections $((n + 1000)))
    start_proxy httpeek scale1
    HTTPEEK_EXTRA=()
    out=$(lgp 60 --port "$port" --path /1k --expect-bytes 1024 -c 1 -n 1 -d 30)
    [ "$(kv errors "$out")" = 0 ] || { log "  scale 1: warm-up request failed: $out"; rc=1; }
    sleep 0.5
    R[t_before]=$(rss_kb "$PROXY_PID")
    local fifo=$W/scale.fifo; rm -f "$fifo"; mkfifo "$fifo"
    lgp 400 --port "$port" --path /1k --expect-bytes 1024 --idle "$n" -t 2 -d 12 --timeout 60 >"$fifo" &
    lgpid=$!
    exec 6<"$fifo"
    line=
    read -r -t 300 line <&6
    sleep 3   # settle (and, with the short keep-alive origin, let the last upstreams close)
    R[t_after]=$(rss_kb "$PROXY_PID")
    R[t_fds]=$(fds_of "$PROXY_PID")
    R[t_healthy]=$(curl -s -o /dev/null --max-time 20 -w '%{http_code} %{time_total}' \
        --cacert "$PROXY_CA" -x "http://127.0.0.1:$PROXY_PORT" "https://bench.test:$TLS_PORT/1k")
    rest=$(cat <&6); exec 6<&-
    wait "$lgpid"
    R[t_ready]=$(kv idle "$line")
    R[t_held]=$(kv held "$rest")
    R[t_errors]=$(kv errors "$rest")
    R[t_closed]=$(kv idle_closed "$rest")
    log "  scale 1: $line / $rest; rss ${R[t_before]} -> ${R[t_after]} KiB, ${R[t_fds]} fds; healthy: ${R[t_healthy]}"
    if [ -z "$rest" ] || [ "${R[t_errors]:-1}" != 0 ] || [ "${R[t_closed]:-1}" != 0 ] ||
       [ "${R[t_held]:-0}" != "$n" ] || [ "${R[t_healthy]%% *}" != 200 ]; then
        rc=1; log "  scale 1: FAILED"
    fi
    stop_proxy

    # ---- 2. flows in one session, RSS sampled ------------------------------------------------
    start_proxy httpeek scale2
    local db= i
    out=$(lgp 60 --path /1k --expect-bytes 1024 -c 1 -n 1 -d 30)   # creates the session file
    for ((i = 0; i < 100; i++)); do
        db=$(ls "$W"/hp/sessions/*.sqlite 2>/dev/null | head -1)
        [ -n "$db" ] && [ "$(count_flows "$db")" -ge 1 ] && break
        sleep 0.1
    done
    [ -n "$db" ] || { log "  scale 2: no session file under $W/hp/sessions"; return 1; }
    local samples=$W/scale-rss.txt
    : >"$samples"
    # every second: seconds, RSS (KiB), flows committed (the warm-up flow is not counted)
    ( t0=$(date +%s.%N)
      while kill -0 "$PROXY_PID" 2>/dev/null; do
          echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.1f", a - b}') $(rss_kb "$PROXY_PID") $(( $(count_flows "$db") - 1 ))" >>"$samples"
          sleep 1 </dev/null >/dev/null 2>&1
      done ) &
    local sampler=$!
    PIDS+=($sampler)
    R[f_base]=$(rss_kb "$PROXY_PID")
    out=$(lgp 300 --path /1k --expect-bytes 1024 -c 32 -t 2 -n "$nf" -d 240 --timeout 60)
    log "  scale 2: $out"
    R[f_reqs]=$(kv requests "$out"); R[f_rps]=$(kv rps "$out"); R[f_errors]=$(kv errors "$out")
    local have=0
    for ((i = 0; i < 600; i++)); do
        have=$(( $(count_flows "$db") - 1 ))
        [ "$have" -ge "$nf" ] && break
        sleep 0.1
    done
    sleep 1.5   # one more sample at rest
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
    R[f_flows]=$have
    R[f_hwm]=$(hwm_kb "$PROXY_PID")
    R[f_end]=$(rss_kb "$PROXY_PID")
    R[f_size]=$(du -m "$db" | cut -f1)
    # RSS at the first sample with >= 10% / 50% / 100% of the flows, and the sampled peak
    local r10 r50 r100 rpeak nsamp
    read -r r10 r50 r100 rpeak nsamp < <(awk -v n="$nf" '
        { s++; if ($2 > peak) peak = $2
          if (a == "" && $3 >= n / 10) a = $2
          if (b == "" && $3 >= n / 2) b = $2
          if (c == "" && $3 >= n) c = $2 }
        END { print (a == "" ? 0 : a), (b == "" ? 0 : b), (c == "" ? 0 : c), peak + 0, s + 0 }' "$samples")
    R[f_10]=$r10 R[f_50]=$r50 R[f_100]=$r100 R[f_peak]=$rpeak R[f_nsamp]=$nsamp
    log "  scale 2: ${R[f_flows]} flows, rss base ${R[f_base]} 10% ${R[f_10]} 50% ${R[f_50]} 100% ${R[f_100]} peak ${R[f_peak]} hwm ${R[f_hwm]} KiB (${R[f_nsamp]} samples: $samples)"
    if [ "${R[f_errors]:-1}" != 0 ] || [ "${R[f_reqs]:-0}" != "$nf" ] || [ "${R[f_flows]}" != "$nf" ]; then
        rc=1; log "  scale 2: FAILED"
    fi

    # ---- 3. the viewer's flow-list API at that many flows -------------------------------------
    local web=http://127.0.0.1:$WEB_PORT u k
    for k in 100 2000 all; do
        u="$web/api/flows?after=0&limit=$k"; [ $k = all ] && u="$web/api/flows"
        R[a_$k]=$(median_ms "$u") || rc=1
        # the answer is what it should be: that many summaries
        R[a_${k}_n]=$(curl -s --max-time 30 "$u" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
        log "  scale 3: $u: median ${R[a_$k]} ms, ${R[a_${k}_n]} summaries"
    done
    R[a_bytes]=$(curl -s --max-time 30 -o /dev/null -w '%{size_download}' "$web/api/flows?after=0&limit=2000")
    stop_proxy

    # ---- table ----------------------------------------------------------------------------------
    local kpt
    kpt=$(awk -v a="${R[t_after]}" -v b="${R[t_before]}" -v n="${R[t_held]:-0}" 'BEGIN {if (n > 0) printf "%.1f", (a - b) / n; else print "-"}')
    local fmt='%-44s %-40s %s\n'
    echo
    echo "httpeek scale checks — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, fd limit $(ulimit -n)"
    printf "$fmt" check result target
    printf '%s\n' "-------------------------------------------------------------------------------------------------------"
    printf "$fmt" "1 idle intercepted tunnels held" "${R[t_held]:-0} of $n (${R[t_fds]} fds in httpeek)" ">= 10,000"
    printf "$fmt" "  ($legs)" "" ""
    printf "$fmt" "  httpeek RSS before -> with the tunnels" "$(mib "${R[t_before]}") MiB -> $(mib "${R[t_after]}") MiB" ""
    printf "$fmt" "  memory per idle tunnel" "$kpt KiB" "<= 40 KiB"
    printf "$fmt" "  healthy request meanwhile" "$(awk -v c="${R[t_healthy]% *}" -v t="${R[t_healthy]#* }" 'BEGIN {printf "HTTP %s in %.1f ms", c, t * 1000}')" "200"
    printf "$fmt" "2 flows recorded in one session" "${R[f_flows]} of $nf (${R[f_size]} MiB file)" "all"
    printf "$fmt" "  load (HTTPS keep-alive 1 KiB, 32 clients)" "${R[f_rps]} req/s, ${R[f_errors]} errors" ""
    printf "$fmt" "  httpeek RSS at start / 10% / 50% / 100%" "$(mib "${R[f_base]}") / $(mib "${R[f_10]}") / $(mib "${R[f_50]}") / $(mib "${R[f_100]}") MiB" "bounded"
    printf "$fmt" "  httpeek RSS peak (sampled / VmHWM)" "$(mib "${R[f_peak]}") / $(mib "${R[f_hwm]}") MiB" ""
    printf "$fmt" "3 GET /api/flows?after=0&limit=100" "${R[a_100]} ms (median of 10; ${R[a_100_n]} flows)" "< 100 ms"
    printf "$fmt" "  ...&limit=2000 (the viewer's first page)" "${R[a_2000]} ms (${R[a_2000_n]} flows, $(( ${R[a_bytes]:-0} / 1024 )) KiB)" "< 100 ms"
    printf "$fmt" "  GET /api/flows (default: all)" "${R[a_all]} ms (${R[a_all_n]} flows)" ""
    echo
    [ $rc = 0 ] && echo "scale checks: no errors" || echo "scale checks: FAILURES (see the log above)"
    return $rc
}
