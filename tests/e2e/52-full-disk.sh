#!/usr/bin/env bash
# 52-full-disk.sh — a full disk is said out loud (issue 17). The session lives on a small tmpfs
# in a private mount namespace (unshare -m): with the tmpfs filled, requests through the proxy
# still succeed; GET /api/session says recording is failing (disk_full) with the exact count of
# flows not recorded; the event stream says so; the terminal says it once (not per flow); the
# viewer shows the banner (headless Chromium, tests/js/viewer-banner.js); what was recorded stays
# readable and exportable (API list, detail, HAR, `httpeek export`). With space freed, recording
# resumes by itself: the next flows are in the session file, the state is ok again, the terminal
# says so once and the banner goes. Then a session file deleted under httpeek: said once, state
# "deleted", the viewer keeps what it has.
source "$(dirname "$0")/lib.sh"

# re-run this script in a private mount namespace (the tmpfs is seen by nobody else)
if [ -z "${_E2E_PRIVMNT:-}" ]; then
    if ! unshare -m true 2>/dev/null; then
        skip "the full-disk tests" "unshare -m is not permitted here (needs root or user namespaces)"
        done_testing
    fi
    _stop_watchdog
    trap - EXIT
    rm -rf "$T"
    export _E2E_PRIVMNT=1
    exec unshare -m --propagation private -- bash "$0"
fi

DISK=$T/disk
mkdir -p "$DISK"
mount -t tmpfs -o size=64m,mode=0700 tmpfs "$DISK" || {
    skip "the full-disk tests" "cannot mount a tmpfs here"; done_testing; }
# the tmpfs goes before lib.sh removes $T (rm cannot remove a mount point)
_status() { return "$1"; }
_umount_then_cleanup() { local st=$?; umount -l "$DISK" 2>/dev/null; _status "$st"; _cleanup; }
trap _umount_then_cleanup EXIT

start_dns
start_upstream
start_httpeek --session "$DISK/s.sqlite"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
S="$DISK/s.sqlite"

# rec EXPR: a python expression over the recording object (as r)
rec() { api "$W/api/session" | "$PYTHON" -c "import json,sys; r=json.load(sys.stdin)['recording']; print($1)"; }
# rows: flows in the session file itself (not what the viewer holds)
rows() { "$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True).execute("select count(*) from flows").fetchone()[0])' "$S"; }
# proxy N TAG: N requests through the proxy; prints how many answered 200
proxy() {
    local i n=0
    for i in $(seq "$1"); do
        [ "$(pcurl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UPSTREAM_PORT/bytes/$((1000 + i))?$2")" = 200 ] && n=$((n + 1))
    done
    echo "$n"
}
# wait_rec EXPR: until rec EXPR prints True, at most 6 s
wait_rec() {
    local i
    for i in $(seq 60); do [ "$(rec "$1" 2>/dev/null)" = True ] && return 0; sleep 0.1; done
    return 1
}

is "$(rec 'r["state"], r["not_recorded"]')" "ok 0" "a fresh session records: GET /api/session says ok, nothing lost"
is "$(proxy 3 before)" 3 "three requests before the disk fills"
wait_flows "$W" 3
is "$(rows)" 3 "they are in the session file"

spawn events 90 curl -sN --max-time 80 "$W/api/events"
wait_grep 'httpeek' "$T/events.out" 5

# fill the tmpfs to the last page
dd if=/dev/zero of="$DISK/fill" bs=4k 2>/dev/null
is "$(df --output=avail "$DISK" | tail -n 1 | tr -d ' ')" 0 "the session's tmpfs is full"

LOST=26 # not recorded while the disk is full: 25 held in memory (up to 16 MiB), one dropped
is "$(proxy 20 full)" 20 "with the disk full, every request through the proxy still succeeds"
# two bodies big enough for the body file (256 KiB and more): it fails too, said once
for i in 1 2; do
    pcurl -o "$T/big$i" "http://127.0.0.1:$UPSTREAM_PORT/bytes/300000?big$i"
done
is "$(file_sha "$T/big1"),$(file_sha "$T/big2")" "$(gen_sha 300000),$(gen_sha 300000)" \
    "bodies for the body file still reach the client whole"
# four 4.2 MB bodies: three more fit in the 16 MiB held in memory, the fourth does not
for i in 1 2 3 4; do
    pcurl -o "$T/huge$i" "http://127.0.0.1:$UPSTREAM_PORT/bytes/4200000?huge$i"
done
is "$(file_sha "$T/huge4")" "$(gen_sha 4200000)" "a 4.2 MB body reaches the client whole with the disk full"
wait_rec "r['not_recorded'] >= $LOST"
is "$(rec 'r["state"], r["reason"]')" "failing disk_full" "GET /api/session: recording failing, reason disk_full"
is "$(rec 'r["not_recorded"], r["waiting"], r["not_recorded_total"]')" "$LOST 25 1" \
    "GET /api/session: exactly $LOST flows not recorded, 25 of them waiting in memory, 1 lost (over 16 MiB)"
like "$(rec 'r["since"], r["reason_text"], r["last_error"]')" "^20[0-9-]+T[0-9:]+Z disk full .*full" \
    "it says since when (ISO-8601 UTC), in words, and SQLite's error"
is "$(rows)" 3 "nothing half-written reached the session file"
sleep 1.2 # a retry a second: the held flows are tried again (and fail again) without new traffic
is "$(rec 'r["not_recorded"], r["waiting"]')" "$LOST 25" "retries without new flows keep the count (nothing counted twice)"
wait_grep '"not_recorded":'$LOST "$T/events.out" 4
like "$(grep -E '^event: recording' -A1 "$T/events.out" | grep -F '"disk_full"' | tail -n 1)" \
    '"state":"failing".*"not_recorded":'$LOST "the event stream says recording is failing (event: recording, with the count)"
sleep 1.2 # the writer has long seen every failure; a line per flow would be there by now
is "$(grep -c 'session disk full' "$HTTPEEK_ERR")" 1 "the terminal says 'session disk full' once, not per flow"
like "$(grep 'session disk full' "$HTTPEEK_ERR")" "session disk full: [0-9]+ flows not recorded since [0-9:]+(, [0-9]+ of them waiting in memory to be written)? \($S" \
    "the terminal line names the count, the time and the session file"
is "$(grep -cE 'not written|commit of [0-9]+ flows failed' "$HTTPEEK_ERR")" 0 "and no line per flow or per batch"
cmp_num "$(grep -c 'bodies kept in the session file' "$HTTPEEK_ERR")" -le 1 "the body file failing is said at most once, not per body"

# what was recorded stays readable and exportable
is "$(api "$W/api/flows" | jq_py 'len(d)')" 3 "the flows recorded before stay listed"
first=$(api "$W/api/flows" | jq_py 'd[0]["id"]')
like "$(flow_detail "$first" | jq_py 'd["status"], d["path"]')" "^200 /bytes/1001\?before$" "and their detail reads"
is "$(api "$W/api/har" | jq_py 'len(d["log"]["entries"])')" 3 "GET /api/har exports them with the disk full"
"$HTTPEEK" export --session "$S" --har "$T/full.har" >/dev/null 2>"$T/export.err"
is "$(jq_py 'len(d["log"]["entries"])' <"$T/full.har" 2>&1)" 3 "httpeek export reads the session with its disk full"

# the viewer's banner (headless Chromium)
NODE=$(command -v node || command -v nodejs || true)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
JS=$REPO_ROOT/tests/js
BROWSER=
if [ -n "$NODE" ] && [ -f "$JS/node_modules/playwright-core/package.json" ] && [ -x "$CHROMIUM" ]; then
    BROWSER=1
    spawn banner 60 env VIEWER_URL="$W" EXPECT_COUNT=$LOST CHROMIUM="$CHROMIUM" HOME="$T" \
        SCREENSHOT="${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}/52-disk-full-banner.png" "$NODE" "$JS/viewer-banner.js"
    BANNER_PID=$SPAWN_PID
    wait_grep '^# banner-seen|^not ok' "$T/banner.out" 30
else
    skip "the viewer's banner in headless Chromium" "node, tests/js/node_modules or chromium missing"
fi

# space returns: recording resumes by itself
rm -f "$DISK/fill"
# no new request: the held flows are tried again on their own (once a second)
wait_rec "r['state'] == 'ok'"
is "$(rec 'r["state"], repr(r["reason"]), r["not_recorded"], r["not_recorded_total"]')" "ok '' 0 1" \
    "recording resumes by itself, without new traffic: state ok, the total lost for good is 1"
is "$(rows)" 28 "the 25 flows that waited in memory are in the session file"
is "$(proxy 5 after)" 5 "five requests once space is freed"
pcurl -o /dev/null "http://127.0.0.1:$UPSTREAM_PORT/bytes/300000?big-after"
wait_flows "$W" 34
is "$(rows)" 34 "the 25 flows that waited and the six new ones are in the session file"
is "$(api "$W/api/flows" | jq_py 'sorted(f["path"] for f in d if "full" in f["path"] or "huge" in f["path"] or "big" in f["path"] and "after" not in f["path"])' | tr -d "'")" \
    "[/bytes/1001?full, /bytes/1002?full, /bytes/1003?full, /bytes/1004?full, /bytes/1005?full, /bytes/1006?full, /bytes/1007?full, /bytes/1008?full, /bytes/1009?full, /bytes/1010?full, /bytes/1011?full, /bytes/1012?full, /bytes/1013?full, /bytes/1014?full, /bytes/1015?full, /bytes/1016?full, /bytes/1017?full, /bytes/1018?full, /bytes/1019?full, /bytes/1020?full, /bytes/300000?big1, /bytes/300000?big2, /bytes/4200000?huge1, /bytes/4200000?huge2, /bytes/4200000?huge3]" \
    "every flow that waited is recorded (the one over the bound is not)"
held=$(api "$W/api/flows" | jq_py '[f["id"] for f in d if f["path"].endswith("?huge3")][0]')
is "$(api "$W/api/flows/$held/response/body" | sha256sum | cut -d' ' -f1)" "$(gen_sha 4200000)" \
    "a 4.2 MB body that waited in memory reads back whole"
big=$(api "$W/api/flows" | jq_py 'd[-1]["id"]')
is "$(api "$W/api/flows/$big/response/body" | sha256sum | cut -d' ' -f1)" "$(gen_sha 300000)" \
    "a big body recorded after the resume reads back whole (the body file works again)"
is "$(api "$W/api/flows" | jq_py '[f["path"] for f in d[-6:-1]] == ["/bytes/%d?after" % (1001 + i) for i in range(5)]')" True \
    "and in the viewer's list"
wait_grep 'session recording resumed' "$HTTPEEK_ERR" 3
is "$(grep -c 'session recording resumed' "$HTTPEEK_ERR")" 1 "the terminal says once that recording resumed"
like "$(grep 'session recording resumed' "$HTTPEEK_ERR")" "25 flows that waited are recorded, 1 flows were not recorded between [0-9:]+ and [0-9:]+ \(disk full\)" \
    "with how many flows waited and were recorded, how many were lost, and when"
wait_grep '"state":"ok"' "$T/events.out" 3
like "$(grep -E '^event: recording' -A1 "$T/events.out" | tail -n 1)" '"state":"ok"' "the event stream says recording is ok again"
api "$W/api/har" >"$T/after.har"
is "$(jq_py 'len(d["log"]["entries"])' <"$T/after.har")" 34 "HAR export after the resume has all 34 recorded flows"
if [ -n "$BROWSER" ]; then
    wait "$BANNER_PID"
    node_tap "$(cat "$T/banner.out")"
    v=$("$NODE" "$JS/validate-har.js" "$T/after.har" 2>&1)
    like "$v" '^valid 34 entries' "the HAR is valid HAR 1.2 ($v)"
fi
stop_httpeek

# ---- a session file deleted under httpeek ------------------------------------------------------
start_httpeek --session "$DISK/d.sqlite"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
is "$(proxy 2 before-rm)" 2 "two requests before the session file is deleted"
wait_flows "$W" 2
rm -f "$DISK/d.sqlite"
sleep 1.1 # the writer looks at the file at most once a second
is "$(proxy 4 after-rm)" 4 "requests still succeed once the session file is deleted"
wait_rec "r['reason'] == 'deleted'"
is "$(rec 'r["state"], r["reason"]')" "failing deleted" "GET /api/session: failing, reason deleted"
like "$(rec 'r["not_recorded"]')" '^[1-4]$' "it counts the flows that went into the deleted file"
wait_grep 'session file deleted' "$HTTPEEK_ERR" 3
sleep 0.5
is "$(grep -c 'session file deleted' "$HTTPEEK_ERR")" 1 "the terminal says once that the session file was deleted"
wait_flows "$W" 6
is "$(api "$W/api/flows" | jq_py 'len(d)')" 6 "the viewer still lists every flow (the open file lives until httpeek exits)"
is "$(api "$W/api/har" | jq_py 'len(d["log"]["entries"])')" 6 "and exports them as HAR, to keep them"
stop_httpeek

# ---- stopped while the disk is full: the waiting flows are said lost, nothing leaks ---------------
start_httpeek --session "$DISK/q.sqlite"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
dd if=/dev/zero of="$DISK/fill" bs=4k 2>/dev/null
is "$(proxy 3 at-exit)" 3 "three requests with the disk full again"
wait_rec "r['waiting'] == 3"
stop_httpeek
like "$(grep 'waited for the session file' "$HTTPEEK_ERR")" "3 flows that waited for the session file to be writable are not recorded \(disk full\)" \
    "stopped with the disk still full, the terminal says the 3 waiting flows are not recorded"
rm -f "$DISK/fill"

done_testing
