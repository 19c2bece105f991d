#!/usr/bin/env bash
# 63-event-resume.sh — the live event stream through the binary resumes exactly: a viewer whose
# stream dropped while a slow exchange was in flight, and flows were committed, reconnects with
# Last-Event-ID (as EventSource does) and gets each flow it missed once and none it had; event
# ids are commit sequence numbers (web.h). Flows are numbered when recorded, so through the
# binary only workers racing commit a smaller id after a bigger one: that late commit is
# reproduced deterministically in tests/unit/test_web_events.c (the real store and viewer).
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream --quiet
start_httpeek
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
U="http://upstream.test:$UPSTREAM_PORT"

# events FILE [LAST-EVENT-ID]: follow the stream into FILE (in the background; EVPID)
events() {
    if [ -n "${2:-}" ]; then
        spawn "$(basename "$1")" 30 curl -sS -N -H "Last-Event-ID: $2" "$W/api/events"
    else
        spawn "$(basename "$1")" 30 curl -sS -N "$W/api/events"
    fi
    EVPID=$SPAWN_PID
    wait_grep "retry:" "$T/$(basename "$1").out" 5
}
# flows_in FILE: the URL path of each flow of each "flows" event, in order; then the event ids
flows_in() {
    "$PYTHON" - "$1" <<'EOF'
import json, sys, urllib.parse
flows, ids = [], []
for block in open(sys.argv[1]).read().split("\n\n"):
    lines = block.split("\n")
    if "event: flows" not in lines:
        continue
    for l in lines:
        if l.startswith("id: "):
            ids.append(int(l[4:]))
        if l.startswith("data: "):
            flows += [urllib.parse.urlsplit(f["url"]).path for f in json.loads(l[6:])]
print(" ".join(flows))
print(" ".join(map(str, ids)))
EOF
}

events "$T/ev1"
pcurl -o /dev/null "$U/slow/3" &   # in flight while the stream drops
SLOW=$!
sleep 0.5
pcurl -o /dev/null "$U/bytes/10"
wait_grep "/bytes/10" "$T/ev1.out" 5
kill_pid "$EVPID"                  # the viewer's stream drops here
mapfile -t R < <(flows_in "$T/ev1.out"); F1=${R[0]}; I1=${R[1]}
is "$F1" "/bytes/10" "the first stream had the fast flow, not yet the slow one"
LAST=${I1##* }
ok "its last event id is $LAST" test -n "$LAST"
pcurl -o /dev/null "$U/bytes/20"   # while no stream is open
wait "$SLOW"
wait_flows "$W" 3

events "$T/ev2" "$LAST"            # what EventSource does when it reconnects
pcurl -o /dev/null "$U/bytes/30"   # live, after the reconnect
wait_grep "/bytes/30" "$T/ev2.out" 5
sleep 0.3                          # anything sent twice would come with it
kill_pid "$EVPID"
mapfile -t R < <(flows_in "$T/ev2.out"); F2=${R[0]}; I2=${R[1]}
diag "after Last-Event-ID $LAST: $F2 (event ids $I2)"
n_of() { tr ' ' '\n' <<<"$1" | grep -c "^$2\$"; }
is "$(n_of "$F2" /slow/3)" 1 "after the reconnect, the flow that was in flight comes once"
is "$(n_of "$F2" /bytes/10)" 0 "the flow the first stream had is not sent again"
is "$(n_of "$F2" /bytes/20)" 1 "the flow committed while disconnected comes once"
is "$(n_of "$F2" /bytes/30)" 1 "and the live one after the reconnect, once"
is "$(tr ' ' '\n' <<<"$F2" | wc -l)" 3 "nothing else"
is "$(tr ' ' '\n' <<<"$I2" | sort -n | tr '\n' ' ')" "$(tr ' ' '\n' <<<"$I2" | tr '\n' ' ')" \
    "event ids grow along the stream"
cmp_num "${I2%% *}" -gt "$LAST" "and go on from the one the stream resumed after"

# Last-Event-ID 0: everything committed, each once, in commit order
events "$T/ev3" 0
wait_grep "/bytes/30" "$T/ev3.out" 5
sleep 0.3
kill_pid "$EVPID"
mapfile -t R < <(flows_in "$T/ev3.out"); F3=${R[0]}; I3=${R[1]}
is "$F3" "/bytes/10 /bytes/20 /slow/3 /bytes/30" \
    "Last-Event-ID 0 gets every flow once, in the order they were committed"

# an id from another session (beyond this one's last commit) starts the stream at its end
events "$T/ev4" 999999
pcurl -o /dev/null "$U/bytes/40"
wait_grep "/bytes/40" "$T/ev4.out" 5
sleep 0.3
kill_pid "$EVPID"
mapfile -t R < <(flows_in "$T/ev4.out"); F4=${R[0]}; I4=${R[1]}
is "$F4" "/bytes/40" "a Last-Event-ID beyond the session's commits: the stream starts now, and new flows come"

# a fresh stream (no Last-Event-ID) starts at the end: no replay
events "$T/ev5"
pcurl -o /dev/null "$U/bytes/50"
wait_grep "/bytes/50" "$T/ev5.out" 5
sleep 0.3
kill_pid "$EVPID"
mapfile -t R < <(flows_in "$T/ev5.out"); F5=${R[0]}; I5=${R[1]}
is "$F5" "/bytes/50" "a new stream gets what is committed after it opened, nothing before"
done_testing
