#!/usr/bin/env bash
# 90-write-endpoints.sh — issue 20's "every write endpoint refused without the token when the
# viewer listens beyond loopback, and refused cross-origin", all in one table: every POST, PUT and
# DELETE of the API (rules, breakpoints and their paused actions, repeat, compose, HAR export and import,
# clients, passthrough, clear) answered 401 without the token, 403 with the token from another
# Origin, and not 401/403 with the token from the page's own origin; and no state change on GET
# (a GET of a write URL makes no flow, adds no breakpoint).
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream; UP=$UPSTREAM_PORT
WP=$(free_port)
start_httpeek --web "0.0.0.0:$WP"
wait_grep "^Viewer: .*token=" "$HTTPEEK_LOG" 5
url=$(grep "^Viewer:" "$HTTPEEK_LOG" | awk '{print $2}')
tok=${url##*token=}
W="http://127.0.0.1:$WP"
AUTH=(-H "Authorization: Bearer $tok")
pcurl -o /dev/null "http://upstream.test:$UP/bytes/10?r=w"
for i in $(seq 50); do
    n=$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'len(d)' 2>/dev/null)
    [ "${n:-0}" -ge 1 ] && break
    sleep 0.1
done
FID=$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'd[0]["id"]')
RULES=$(api "${AUTH[@]}" "$W/api/rules")
ok "a flow to repeat and the rules file are there" [ -n "$FID" ] && [ -n "$RULES" ]

code() { api -o /dev/null -w '%{http_code}' "$@"; }
# METHOD PATH BODY: each write endpoint
ENDPOINTS=(
    "PUT /api/rules $RULES"
    "POST /api/breakpoints {\"phase\":\"request\",\"match\":{\"host\":\"x.test\"}}"
    "PUT /api/breakpoints {\"breakpoints\":[]}"
    "DELETE /api/breakpoints -"
    "POST /api/breakpoints/paused/1 {\"action\":\"continue\"}"
    "POST /api/flows/$FID/replay {}"
    "POST /api/requests {\"url\":\"http://upstream.test:$UP/bytes/1\"}"
    "POST /api/har {\"ids\":[$FID]}"
    "POST /api/har/import {\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://x.test/\"},\"response\":{\"status\":200}}]}}"
    "PUT /api/clients/127.0.0.1 {\"name\":\"x\"}"
    "DELETE /api/passthrough/127.0.0.1/x.test -"
    "DELETE /api/flows -"
)
for e in "${ENDPOINTS[@]}"; do
    read -r m p b <<<"$e"
    data=(); [ "$b" != - ] && data=(--data-binary "$b" -H 'Content-Type: application/json')
    is "$(code -X "$m" "${data[@]}" "$W$p")" 401 "$m $p without the token: 401"
    is "$(code -X "$m" "${data[@]}" "${AUTH[@]}" -H 'Origin: http://evil.test' "$W$p")" 403 "$m $p with the token, from another origin: 403"
done
is "$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'len(d)')" 1 "none of them made a flow or cleared the list"
is "$(api "${AUTH[@]}" "$W/api/breakpoints" | jq_py 'len(d["breakpoints"])')" 0 "none of them added a breakpoint"

# with the token from the page's own origin: accepted (the refusals above are the token's and
# the Origin's, not the endpoint's)
is "$(code -X POST --data-binary '{"phase":"request","match":{"host":"x.test"}}' "${AUTH[@]}" -H "Origin: $W" "$W/api/breakpoints")" 201 "POST /api/breakpoints with the token from its own origin: 201"
is "$(code -X POST --data-binary '{}' "${AUTH[@]}" -H "Origin: $W" "$W/api/flows/$FID/replay")" 200 "POST /api/flows/{id}/replay with the token from its own origin: 200"

# no state change on GET
n0=$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'len(d)')
c1=$(code "${AUTH[@]}" "$W/api/flows/$FID/replay")
c2=$(code "${AUTH[@]}" "$W/api/requests?url=http://upstream.test:$UP/bytes/1")
sleep 0.5
is "$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'len(d)')" "$n0" "a GET of the repeat and compose URLs makes no flow ($c1, $c2)"
ok "and is not answered as a success" [ "${c1:0:1}" != 2 ] && [ "${c2:0:1}" != 2 ]
c3=$(code "${AUTH[@]}" "$W/api/breakpoints/paused/1?action=abort")
is "$(api "${AUTH[@]}" "$W/api/breakpoints" | jq_py 'len(d["breakpoints"])')" 1 "a GET of a paused action changes nothing ($c3)"
stop_httpeek

# on loopback (no token needed): cross-origin writes are still refused
start_httpeek
WL="http://127.0.0.1:$HTTPEEK_WEB_PORT"
for e in "${ENDPOINTS[@]}"; do
    read -r m p b <<<"$e"
    [ "$p" = "/api/rules" ] && b=$(api "$WL/api/rules")
    data=(); [ "$b" != - ] && data=(--data-binary "$b" -H 'Content-Type: application/json')
    is "$(code -X "$m" "${data[@]}" -H 'Origin: http://evil.test' "$WL$p")" 403 "loopback: $m $p from another origin: 403"
done
done_testing
