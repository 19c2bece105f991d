#!/usr/bin/env bash
# 75-rules-ws-tunnel.sh — rules on WebSocket upgrades and on passthrough tunnels (docs/RULES.md),
# with real peers (tests/e2e/ws_rules.py): an upgrade blocked with a status, refused, reset;
# answered by a map local file's status (the server never sees it); its request headers
# rewritten (the server sees the new header); its relayed bytes throttled (a 100 KB message at
# 400 kbps takes ~2 s); and the flows' _rules saying so. Then CONNECT tunnels httpeek passes
# through (--passthrough, no interception): blocked by host (refused: 502 and -1004; reset: closed
# without an answer; a status), throttled by host (100 KB echoed at 400 kbps), a host no rule
# names relayed at full speed, and the tunnel flows' _rules.
source "$(dirname "$0")/lib.sh"

spawn ws 120 "$PYTHON" "$E2E_DIR/ws_rules.py" server "$T/ws.port"
wait_file "$T/ws.port" 10 || { echo "Bail out! ws_rules.py did not start"; exit 1; }
WSP=$(cat "$T/ws.port")
start_dns ws.test=127.0.0.1 pt-refused.test=127.0.0.1 pt-reset.test=127.0.0.1 pt-403.test=127.0.0.1 \
    pt-slow.test=127.0.0.1 pt-free.test=127.0.0.1
start_upstream --mode echo --quiet; ECHO=$UPSTREAM_PORT
printf 'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno sockets today\n' > "$T/denied.http"
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n' > "$T/switch.http"
W="http://ws.test:$WSP"
start_httpeek \
    --block "$W/blocked=403" --block "$W/refused=refused" --block "$W/reset" \
    --map-local "$W/local=$T/denied.http" --map-local "$W/local101=$T/switch.http" \
    --rewrite "$W/hdr=req-header:set:X-Rewritten:yes" \
    --rewrite "$W/hdr=req-header:remove:User-Agent" \
    --throttle "custom:down=400k,latency=0ms@$W/slow" \
    --passthrough 'pt-*.test' \
    --block "pt-refused.test=refused" --block "pt-reset.test" --block "pt-403.test=403" \
    --throttle "custom:down=400k,latency=0ms@pt-slow.test"
V="http://127.0.0.1:$HTTPEEK_WEB_PORT"
wsc() { timeout -k 2 30 "$PYTHON" "$E2E_DIR/ws_rules.py" client "$W$1" "$HTTPEEK_PORT" ${2:-}; }
rules_of() { newest_flow_detail "$V" ws.test | jq_py "json.dumps(d['_rules'])"; }
served() { local n; n=$(grep -c " $1 " "$T/ws.port.log" 2>/dev/null); echo "${n:-0}"; }

r=$(wsc /plain 100000)
is "$(jq_py 'd["status"]' <<<"$r")" "101" "no rule: the upgrade goes through (101)"
fast=$(jq_py 'd["big_secs"]' <<<"$r")
cmp_num "$(jq_py 'int((99 if d["big_secs"] is None else d["big_secs"]) * 1000)' <<<"$r")" -lt 1000 "no rule: a 100 KB message at full speed ($fast s)"

# ---- block -----------------------------------------------------------------------------------------
r=$(wsc /blocked)
is "$(jq_py 'd["status"]' <<<"$r")" "403" "block 403: the upgrade is answered 403, no 101"
like "$(rules_of)" '"action": "block"' "... and the flow's _rules names the block"
r=$(wsc /refused)
is "$(jq_py 'd["status"]' <<<"$r")" "502" "block refused: httpeek's 502 for the upgrade"
is "$(newest_flow_detail "$V" ws.test | jq_py 'd["diagnosis"]["code"]')" "-1004" "... diagnosed -1004 (cannot connect)"
r=$(wsc /reset)
is "$(jq_py 'd["status"]' <<<"$r")" "0" "block reset: the connection closed with no answer to the upgrade"
is "$(served /blocked)$(served /refused)$(served /reset)" "000" "the server saw none of the blocked upgrades"

# ---- map local --------------------------------------------------------------------------------------------
r=$(wsc /local)
is "$(jq_py 'd["status"]' <<<"$r")" "403" "map local: the upgrade answered with the file's 403"
is "$(served /local)" "0" "... and the server never saw it"
like "$(rules_of)" '"action": "map_local"' "the flow's _rules names the map local"
r=$(wsc /local101)
is "$(jq_py 'd["status"]' <<<"$r")" "502" "map local of a 101 file: 502 (no peer behind a file to switch to)"
like "$(rules_of)" 'is not an HTTP response' "... and the flow says why"

# ---- rewrite of the upgrade request's headers ---------------------------------------------------------------
r=$(wsc /hdr)
is "$(jq_py 'd["status"]' <<<"$r")" "101" "rewrite: the upgrade still goes through"
is "$(jq_py '[v for k, v in d["first"]["headers"] if k.lower() == "x-rewritten"]' <<<"$r")" "['yes']" \
    "the server got the header the rule set on the upgrade request"
is "$(jq_py '[v for k, v in d["first"]["headers"] if k.lower() in ("user-agent",)]' <<<"$r")" "[]" \
    "... and not the one it removed"
is "$(jq_py '[k for k, v in d["first"]["headers"] if k.lower() in ("upgrade", "sec-websocket-key")]' <<<"$r" | tr -d "'" )" \
    "[Upgrade, Sec-WebSocket-Key]" "... with the upgrade's own headers kept"
like "$(rules_of)" 'request header X-Rewritten set' "the flow's _rules has the rewrite"

# ---- throttle of the relayed bytes ---------------------------------------------------------------------------
r=$(wsc /slow 100000)
t=$(jq_py 'd["big_secs"]' <<<"$r")
is "$(jq_py 'd["status"]' <<<"$r")" "101" "throttle: the upgrade goes through"
is "$(py 'import sys; t = float(sys.argv[1]); print(1.7 <= t <= 5.0)' "$t")" "True" \
    "a 100 KB message relayed at 400 kbps down takes ~2 s: never under 1.7 s, under 5 s on a loaded machine (took $t s; unthrottled $fast s)"
like "$(rules_of)" '"action": "throttle"' "the flow's _rules names the throttle"

# ---- passthrough tunnels -------------------------------------------------------------------------------------
ptc() { timeout -k 2 30 "$PYTHON" "$E2E_DIR/ws_rules.py" connect "$1:$ECHO" "$HTTPEEK_PORT" "${2:-0}"; }
tunnel_of() { newest_flow_detail "$V" "$1"; }
r=$(ptc pt-free.test 100000)
is "$(jq_py 'd["status"], d["echoed"]' <<<"$r")" "200 100000" "passthrough, no rule: 100 KB relayed and echoed"
cmp_num "$(jq_py 'int(d["secs"] * 1000)' <<<"$r")" -lt 1000 "... at full speed ($(jq_py 'd["secs"]' <<<"$r") s)"
r=$(ptc pt-refused.test)
is "$(jq_py 'd["status"]' <<<"$r")" "502" "passthrough blocked 'refused': the CONNECT gets httpeek's 502"
d=$(tunnel_of pt-refused.test)
is "$(jq_py 'd["diagnosis"]["code"]' <<<"$d")" "-1004" "... diagnosed -1004"
like "$(jq_py 'json.dumps(d["_rules"])' <<<"$d")" 'refused \(passthrough\)' "... and the tunnel flow's _rules names the block"
r=$(ptc pt-reset.test)
is "$(jq_py 'd["status"], d["line"]' <<<"$r")" "0 " "passthrough blocked 'reset': the connection closed, no answer to the CONNECT"
d=$(tunnel_of pt-reset.test)
like "$(jq_py 'json.dumps(d["_rules"]), d["diagnosis"]["code"]' <<<"$d")" 'without an answer.*-1005' "... the flow says so (-1005)"
r=$(ptc pt-403.test)
is "$(jq_py 'd["status"]' <<<"$r")" "403" "passthrough blocked with a status: the CONNECT gets 403"
r=$(ptc pt-slow.test 100000)
t=$(jq_py 'd["secs"]' <<<"$r")
is "$(jq_py 'd["status"], d["echoed"]' <<<"$r")" "200 100000" "passthrough throttled: the bytes are relayed whole"
is "$(py 'import sys; t = float(sys.argv[1]); print(1.7 <= t <= 5.0)' "$t")" "True" \
    "... 100 KB back at 400 kbps down takes ~2 s: 1.7 to 5 s (took $t s)"
like "$(jq_py 'json.dumps(d["_rules"])' <<<"$(tunnel_of pt-slow.test)")" '"action": "throttle".*passthrough' \
    "the tunnel flow's _rules names the throttle"
is "$(jq_py 'd["kind"]' <<<"$(tunnel_of pt-slow.test)")" "tunnel" "... a tunnel flow (the bytes were relayed, not intercepted)"

done_testing
