#!/usr/bin/env bash
# tests/soak.sh [--short | --duration SECONDS] [--clients N] — mixed load against the real httpeek
# for 10 minutes (--short: 60 s): many clients (plain proxy requests and intercepted CONNECT/TLS,
# keep-alive and not, some aborting mid-request or mid-response; tests/soak_client.py) against
# loopback upstreams that inject faults at random (tests/e2e/faulty.py: resets mid-head, mid-body
# and mid-chunk, bodies longer than their length, endless bodies, servers that never read the
# upload or never answer). At the end (TAP):
#   - httpeek never crashed and exits 0 on SIGTERM (no sanitizer report with a sanitized build);
#   - RSS after the load is within SOAK_RSS_MB (default 32) MB of RSS after the warm-up;
#   - its open file descriptors come back to the count before the load;
#   - every request a client sent whole (ids in ?soak=) is exactly one flow in the session file,
#     with a response or a failure.
# Uses $HTTPEEK (default build/httpeek). Only 127.0.0.0/8 is used; everything started is killed.
secs=600
clients=24
while [ $# -gt 0 ]; do
    case $1 in
        --short) secs=60 ;;
        --duration) secs=$2; shift ;;
        --clients) clients=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
export E2E_TIMEOUT=$((secs + 180))
export HTTPEEK_RUN_SECS=$((secs + 170))
source "$(dirname "$0")/e2e/lib.sh"
SOAK_RSS_MB=${SOAK_RSS_MB:-32}

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
for kind in plain tls; do
    extra=()
    [ "$kind" = tls ] && extra=(--cert "$PKI/server.pem" --key "$PKI/server.key")
    spawn "faulty-$kind" $((secs + 170)) "$PYTHON" "$E2E_DIR/faulty.py" --port 0 \
        --port-file "$T/faulty-$kind.port" "${extra[@]}"
    wait_file "$T/faulty-$kind.port" 10 || { echo "Bail out! faulty.py ($kind) did not start"; exit 1; }
done
PLAIN=$(cat "$T/faulty-plain.port")
TLS=$(cat "$T/faulty-tls.port")
start_httpeek --upstream-ca "$PKI/ca.pem" --session "$T/soak.sqlite" --upstream-timeout 2 \
    --idle-timeout 5 --header-timeout 5 --max-body 262144 --upstream-idle 3
HP=$(pgrep -P "$HTTPEEK_PID" -x httpeek || echo "$HTTPEEK_PID")
if grep -q __asan_init "$HTTPEEK" 2>/dev/null; then SANITIZED=1; else SANITIZED=0; fi
nfd() { ls "/proc/$HP/fd" 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$HP/status" 2>/dev/null; }
sleep 0.5
fd0=$(nfd)
diag "load: $clients clients for $secs s; httpeek pid $HP, $fd0 fds open before the load"

timeout -k 5 $((secs + 90)) "$PYTHON" "$REPO_ROOT/tests/soak_client.py" --proxy "$HTTPEEK_PORT" \
    --plain "$PLAIN" --tls "$TLS" --ca "$HTTPEEK_CA" --seconds "$secs" --clients "$clients" \
    --out "$T/ids" >"$T/client.out" 2>"$T/client.err" &
LOAD=$!
warm=$((secs / 5 < 30 ? secs / 5 : 30))
sleep "$warm"
rss_warm=$(rss)
peak=$rss_warm
samples=""
t=$warm
while kill -0 "$LOAD" 2>/dev/null; do
    sleep 5
    t=$((t + 5))
    r=$(rss)
    [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    [ $((t % 60)) -lt 5 ] && samples="$samples ${t}s:$((r / 1024))MB"
done
wait "$LOAD"
diag "client: $(cat "$T/client.out")"
[ -s "$T/client.err" ] && diag "client stderr: $(tail -n 5 "$T/client.err")"
ok "httpeek is still running after the load" kill -0 "$HP"

# connections drain: idle ones close after --idle-timeout 5, pooled upstream ones after
# --upstream-idle 3 (the pool is exercised by the load, then must give its sockets back)
fd1=$(nfd)
for i in $(seq 40); do
    fd1=$(nfd)
    [ "$fd1" -le "$fd0" ] && break
    sleep 0.5
done
rss_end=$(rss)
diag "RSS: ${rss_warm} kB after ${warm} s warm-up, ${rss_end} kB at the end, peak ${peak} kB;${samples}"
is "$fd1" "$fd0" "file descriptors back to the count before the load ($fd0)"
if [ "$SANITIZED" = 1 ]; then
    skip "RSS growth within ${SOAK_RSS_MB} MB" "AddressSanitizer build: RSS includes its quarantine"
else
    cmp_num "$(( (rss_end - rss_warm) / 1024 ))" -lt "$SOAK_RSS_MB" "RSS growth after warm-up within ${SOAK_RSS_MB} MB (+$(( (rss_end - rss_warm) / 1024 )) MB)"
fi
nreq=$(grep -c . "$T/ids")
cmp_num "$nreq" -gt $((secs * 5)) "the clients sent a real load ($nreq requests)"

kill -TERM "$HP"
for i in $(seq 100); do kill -0 "$HP" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HP" 2>/dev/null; then
    fail "httpeek exits 0 on SIGTERM" "still running 10 s after SIGTERM"
    stop_httpeek
else
    wait "$HTTPEEK_PID"
    is "$?" 0 "httpeek exits 0 on SIGTERM"
fi
"$PYTHON" - "$T/soak.sqlite" "$T/ids" "$HTTPEEK_LOG" >"$T/check.out" 2>&1 <<'PY'
import collections, json, re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
sent = [l.strip() for l in open(sys.argv[2]) if l.strip()]
seen = {}
flows = 0
for summary, status, failed in db.execute("select summary, status, failed from flows"):
    flows += 1
    url = json.loads(summary).get("url", "")
    m = re.search(r"[?&]soak=([0-9]+-[0-9]+)", url)
    if m:
        seen.setdefault(m.group(1), []).append((status or 0, failed))
missing = [i for i in sent if i not in seen]
dups = [i for i in sent if len(seen.get(i, [])) > 1]
empty = [i for i in sent if i in seen and not any(s > 0 or f for s, f in seen[i])]
print("flows %d sent %d missing %d duplicated %d without-outcome %d" %
      (flows, len(sent), len(missing), len(dups), len(empty)))
# every exchange httpeek printed (requests cut short by the client included) is a row: the
# terminal line is printed whether or not the row was written, so compare the two, line for row
printed = collections.Counter(m.group(1) for m in
                              (re.search(r"[?&]soak=([0-9]+-[0-9]+)", l) for l in open(sys.argv[3], errors="replace")) if m)
rows = collections.Counter(i for i, v in seen.items() for _ in v)
unstored = sorted((printed - rows).elements())
print("printed %d unstored %d examples %s" % (sum(printed.values()), len(unstored), unstored[:5]))
print("examples missing=%s dup=%s empty=%s" % (missing[:5], dups[:5], empty[:5]))
PY
diag "$(cat "$T/check.out")"
like "$(head -n 1 "$T/check.out")" "missing 0 duplicated 0 without-outcome 0" "every request sent is exactly one flow with a response or a failure"
like "$(sed -n 2p "$T/check.out")" "^printed [1-9][0-9]* unstored 0 " "every flow printed on the terminal is a row of the session file"
like "$(grep -c 'soak=' "$HTTPEEK_LOG")" "^[1-9]" "the terminal shows the exchanges"

done_testing
