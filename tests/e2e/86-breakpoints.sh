#!/usr/bin/env bash
# 86-breakpoints.sh — breakpoints through the API with curl and real servers: a request paused,
# edited (a header and a JSON field) and executed — the server received the edit, curl got the
# answer; continue unchanged; a response paused, edited (status, JSON body: Content-Length
# recomputed) and executed; a gzip response edited decoded and re-encoded; aborts (a status,
# -1005: curl sees the connection lost, -1004); a pause left until curl gives up (the flow says
# -1001 from the client side, the pause goes away); pauses listed while they last and announced
# on /api/events; bad actions refused; write endpoints refused cross-origin and without the token
# beyond loopback; _breakpoints in the flow and the HAR (its originals' secrets redacted on ask).
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream; UP=$UPSTREAM_PORT
start_httpeek --upstream-timeout 1 # a pause outlasts every deadline of httpeek's
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
P="127.0.0.1:$HTTPEEK_PORT"
BASE="http://upstream.test:$UP"

post() { api -X POST -H 'Content-Type: application/json' --data-binary "$2" "$W$1"; }
code() { api -o /dev/null -w '%{http_code}' "$@"; }
# wait_paused PHASE: the id of the first paused exchange at PHASE (empty after 5 s)
wait_paused() {
    local i id
    for i in $(seq 50); do
        id=$(api "$W/api/breakpoints" | jq_py "next((str(p['id']) for p in d['paused'] if p['phase'] == '$1'), '')")
        [ -n "$id" ] && { echo "$id"; return 0; }
        sleep 0.1
    done
}
paused_view() { api "$W/api/breakpoints" | jq_py "[p for p in d['paused'] if p['id'] == $1][0]$2"; }
last_flow() { api "$W/api/flows/$(api "$W/api/flows" | jq_py 'max(f["id"] for f in d)')"; }

is "$(api "$W/api/breakpoints" | jq_py 'd["breakpoints"], d["paused"]')" "[] []" "no breakpoints at start"

# events: a stream open from the start hears of every pause
api -N --max-time 60 "$W/api/events" >"$T/events.txt" 2>/dev/null &
EV_PID=$!
_PIDS+=("$EV_PID")

# --- request: paused, edited (header + JSON field), executed --------------------------------
id=$(post /api/breakpoints '{"match": {"host": "upstream.test", "path": "/echo"}, "phase": "request"}' | jq_py 'd["id"]')
is "$id" "bp-1" "POST /api/breakpoints adds one (id bp-1)"
curl -sS -x "$P" --max-time 20 -D "$T/h1" -o "$T/b1" -H 'Content-Type: application/json' \
    -H 'X-Mode: original' -H 'Authorization: Bearer s3cret-bp-token' \
    --data-binary '{"user": "ann", "plan": "free"}' "$BASE/echo" &
C1=$!
pid=$(wait_paused request)
ok "the request is paused before it goes upstream" [ -n "$pid" ]
is "$(paused_view "$pid" '["request"]["body"]')" '{"user": "ann", "plan": "free"}' "the paused view has the request body"
is "$(paused_view "$pid" '["breakpoint"], d["paused"][0]["client_timeout_s"]')" "bp-1 60" "it names its breakpoint and the app's 60 s timeout"
is "$(grep -c 'POST /echo' "$T/upstream1.err" 2>/dev/null)" 0 "the server has not seen it while paused"
sleep 1.5 # longer than --upstream-timeout: no deadline of httpeek's fires while paused
hdrs=$(paused_view "$pid" '["request"]["headers"]' | "$PYTHON" -c '
import ast, json, sys
h = [p for p in ast.literal_eval(sys.stdin.read()) if p[0].lower() not in ("x-mode",)]
h.append(["X-Mode", "edited"]); print(json.dumps(h))')
is "$(post "/api/breakpoints/paused/$pid" "{\"action\": \"execute\", \"request\": {\"headers\": $hdrs, \"body\": \"{\\\"user\\\": \\\"ann\\\", \\\"plan\\\": \\\"pro\\\"}\"}}" | jq_py 'd["action"]')" execute "execute is accepted"
wait "$C1"; rc=$?
is "$rc" 0 "curl got the response"
is "$(cat "$T/b1")" '{"user": "ann", "plan": "pro"}' "the server received the edited JSON field (echoed back)"
like "$(tr -d '\r' <"$T/h1")" "X-Body-Length: 30" "Content-Length was recomputed for the edited body"
f=$(last_flow)
is "$(jq_py 'd["_breakpoints"][0]["action"], d["_breakpoints"][0]["edited"], d["_breakpoints"][0]["original"]["body"]' <<<"$f")" 'execute True {"user": "ann", "plan": "free"}' "the flow says edited at breakpoint, with the original"
is "$(jq_py '[h["value"] for h in d["request"]["headers"] if h["name"] == "X-Mode"]' <<<"$f")" "['edited']" "the flow's request is the edited one"
is "$(api "$W/api/breakpoints" | jq_py 'len(d["paused"])')" 0 "nothing paused any more"

# the edited header reached the server: /headers echoes what it received
curl -sS -x "$P" --max-time 20 -o "$T/b2" -H 'X-Mode: original' "$BASE/echo?h" &
C2=$!
pid=$(wait_paused request)
is "$(post "/api/breakpoints/paused/$pid" "{\"action\": \"execute\", \"request\": {\"url\": \"$BASE/headers\", \"headers\": [[\"Host\", \"upstream.test:$UP\"], [\"X-Mode\", \"edited\"]]}}" | jq_py 'd["id"]')" "$pid" "execute with a new URL"
wait "$C2"
is "$("$PYTHON" -c 'import json,sys; print([v for k, v in json.load(open(sys.argv[1]))["headers"] if k == "X-Mode"])' "$T/b2")" "['edited']" "the server received the edited header at the edited URL"
is "$(last_flow | jq_py 'd["url"].endswith("/headers"), d["_breakpoints"][0]["original"]["url"].endswith("/echo?h")')" "True True" \
    "the flow's URL is the edited one it went to (/headers), the original (/echo?h) kept beside it"

# continue unchanged
curl -sS -x "$P" --max-time 20 -o "$T/b3" --data-binary 'as is' "$BASE/echo" &
C3=$!
pid=$(wait_paused request)
post "/api/breakpoints/paused/$pid" '{"action": "continue"}' >/dev/null
wait "$C3"
is "$(cat "$T/b3")" "as is" "continue: the request goes unchanged"
is "$(last_flow | jq_py 'd["_breakpoints"][0]["action"], d["_breakpoints"][0]["edited"]')" "continue False" "the flow says continued, not edited"

# abort with a status: answered here, the server never asked
curl -sS -x "$P" --max-time 20 -o "$T/b4" -w '%{http_code}' --data-binary 'x' "$BASE/echo" >"$T/c4" &
C4=$!
pid=$(wait_paused request)
post "/api/breakpoints/paused/$pid" '{"action": "abort", "abort": {"status": 418, "body": "no tea"}}' >/dev/null
wait "$C4"
is "$(cat "$T/c4") $(cat "$T/b4")" "418 no tea" "abort with a status: curl gets it"

# abort -1004: the app is told it cannot connect (502), the flow's diagnosis says -1004
curl -sS -x "$P" --max-time 20 -o /dev/null -w '%{http_code}' "$BASE/echo" >"$T/c5" &
C5=$!
pid=$(wait_paused request)
post "/api/breakpoints/paused/$pid" '{"action": "abort", "abort": {"error": -1004}}' >/dev/null
wait "$C5"
is "$(cat "$T/c5") $(last_flow | jq_py 'd["diagnosis"]["code"]')" "502 -1004" "abort -1004: a refused connect as the flow's diagnosis"

# --- the client gives up while paused: -1001 from the client side ---------------------------
curl -sS -x "$P" --max-time 3 -o /dev/null "$BASE/echo" 2>/dev/null &
C6=$!
pid=$(wait_paused request)
ok "paused again" [ -n "$pid" ]
wait "$C6"; rc=$?
is "$rc" 28 "curl gave up (its --max-time 3)"
for i in $(seq 30); do [ "$(api "$W/api/breakpoints" | jq_py 'len(d["paused"])')" = 0 ] && break; sleep 0.1; done
is "$(api "$W/api/breakpoints" | jq_py 'len(d["paused"])')" 0 "the paused entry went away with the client"
f=$(last_flow)
is "$(jq_py 'd["diagnosis"]["code"], d["failure"]["closed_by"]' <<<"$f")" "-1001 client" "the flow says -1001, from the client side"
is "$(code -X POST -H 'Content-Type: application/json' --data '{"action":"continue"}' "$W/api/breakpoints/paused/$pid")" 404 "acting on a gone pause: 404"

# --- response phase ------------------------------------------------------------------------
is "$(code -X DELETE "$W/api/breakpoints/bp-1")" 204 "DELETE /api/breakpoints/{id} removes one"
post /api/breakpoints '{"id": "resp", "match": {"url": "http://upstream.test/*", "path": "/headers"}, "phase": "response"}' >/dev/null
curl -sS -x "$P" --max-time 20 -D "$T/h7" -o "$T/b7" "$BASE/headers" &
C7=$!
pid=$(wait_paused response)
ok "the response is paused before its head goes to the client" [ -n "$pid" ]
is "$(paused_view "$pid" '["response"]["status"], d["paused"][0]["request"]["method"]')" "200 GET" "the paused view has the response and its request"
post "/api/breakpoints/paused/$pid" '{"action": "execute", "response": {"status": 201, "headers": [["Content-Type", "application/json"], ["X-Edited", "1"]], "body": "{\"edited\": true}"}}' >/dev/null
wait "$C7"
is "$(status_of "$T/h7") $(cat "$T/b7")" '201 {"edited": true}' "the edited response reached curl"
like "$(tr -d '\r' <"$T/h7")" "Content-Length: 16" "with its Content-Length recomputed"
is "$(last_flow | jq_py 'd["_breakpoints"][0]["phase"], d["_breakpoints"][0]["original"]["status"], d["response"]["status"]')" "response 200 201" "the flow has the edited response and the original"

# a gzip response: shown decoded, edited as text, re-encoded for the client
post /api/breakpoints '{"id": "gz", "match": {"path": "/gzip/*"}, "phase": "response"}' >/dev/null
curl -sS -x "$P" --max-time 20 --compressed -D "$T/h8" -o "$T/b8" "$BASE/gzip/100" &
C8=$!
pid=$(wait_paused response)
is "$(paused_view "$pid" '["response"]["body_encoding"]')" gzip "a gzip body is shown decoded"
post "/api/breakpoints/paused/$pid" '{"action": "execute", "response": {"body": "plain words"}}' >/dev/null
wait "$C8"
is "$(cat "$T/b8")" "plain words" "the edited body is re-encoded with the Content-Encoding kept"
like "$(tr -d '\r' <"$T/h8")" "Content-Encoding: gzip" "Content-Encoding kept"

# the Content-Encoding header removed by the edit: the held body goes decoded to match
curl -sS -x "$P" --max-time 20 -D "$T/h8b" -o "$T/b8b" "$BASE/gzip/5000" &
C8B=$!
pid=$(wait_paused response)
post "/api/breakpoints/paused/$pid" '{"action": "execute", "response": {"headers": [["Content-Type", "application/octet-stream"]]}}' >/dev/null
wait "$C8B"
is "$(file_sha "$T/b8b")" "$(gen_sha 5000)" "Content-Encoding removed with the header: the body goes decoded"
unlike "$(tr -d '\r' <"$T/h8b")" "Content-Encoding" "and no Content-Encoding is left"

# abort -1005 at the response: curl sees the connection lost (empty reply)
curl -sS -x "$P" --max-time 20 -o /dev/null "$BASE/headers" 2>"$T/e9" &
C9=$!
pid=$(wait_paused response)
post "/api/breakpoints/paused/$pid" '{"action": "abort", "abort": {"error": -1005}}' >/dev/null
wait "$C9"; rc=$?
is "$rc" 52 "abort -1005: curl sees the connection closed without a reply"
is "$(last_flow | jq_py 'd["diagnosis"]["code"], d["_breakpoints"][0]["error"]')" "-1005 -1005" "the flow says -1005"

# several paused at once, resumed in any order
M=()
for n in 1 2 3; do curl -sS -x "$P" --max-time 20 -o "$T/m$n" "$BASE/headers?n=$n" & M+=($!); done
for i in $(seq 50); do [ "$(api "$W/api/breakpoints" | jq_py 'len(d["paused"])')" = 3 ] && break; sleep 0.1; done
ids=$(api "$W/api/breakpoints" | jq_py '" ".join(str(p["id"]) for p in reversed(d["paused"]))')
is "$(wc -w <<<"$ids")" 3 "three exchanges paused at once"
for i in $ids; do post "/api/breakpoints/paused/$i" '{"action": "continue"}' >/dev/null; done
wait "${M[@]}"
ok "each resumed, newest first" bash -c 'grep -q n=1 "$1" && grep -q n=2 "$2" && grep -q n=3 "$3"' _ "$T/m1" "$T/m2" "$T/m3"

# --- refusals -------------------------------------------------------------------------------
is "$(code -X POST --data '{"phase": "sometimes", "match": {"host": "x"}}' "$W/api/breakpoints")" 400 "a bad phase: 400"
is "$(code -X POST --data '{"phase": "request", "match": {"hots": "x"}}' "$W/api/breakpoints")" 400 "an unknown match field: 400"
is "$(code -X POST --data '{"action": "explode"}' "$W/api/breakpoints/paused/1")" 400 "an unknown action: 400"
is "$(code -X POST --data '{"action": "abort", "abort": {"error": -1234}}' "$W/api/breakpoints/paused/1")" 400 "an abort error it cannot make: 400"
is "$(code -X POST --data '{"action": "execute", "request": {"headers": [["X-A", "b\r\nX-Injected: 1"]]}}' "$W/api/breakpoints/paused/1")" 400 "a header value with a line break: 400"
is "$(code -X POST -H 'Origin: http://evil.example' --data '{"phase": "request", "match": {"host": "x"}}' "$W/api/breakpoints")" 403 "a cross-origin add: 403"
is "$(code -X POST -H 'Origin: http://evil.example' --data '{"action": "continue"}' "$W/api/breakpoints/paused/1")" 403 "a cross-origin action: 403"
is "$(code -X DELETE -H 'Origin: http://evil.example' "$W/api/breakpoints")" 403 "a cross-origin delete: 403"
is "$(code -X PUT --data '{"breakpoints": []}' "$W/api/breakpoints")" 200 "PUT replaces the whole list"
is "$(api "$W/api/breakpoints" | jq_py 'd["breakpoints"]')" "[]" "now empty"

# events announced the pauses
kill "$EV_PID" 2>/dev/null
ok "/api/events announced the pauses (event: breakpoints)" grep -q '^event: breakpoints' "$T/events.txt"

# the HAR keeps _breakpoints
api -o "$T/s.har" "$W/api/har"
ok "the HAR entries carry _breakpoints" "$PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1]))["log"]["entries"]; sys.exit(0 if any(x.get("_breakpoints") for x in e) else 1)' "$T/s.har"
api -o "$T/r.har" "$W/api/har?redact=1"
is "$("$PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1]))["log"]["entries"]; print([v for x in e for b in x.get("_breakpoints", []) for n, v in b.get("original", {}).get("headers", []) if n.lower() == "authorization"])' "$T/r.har")" "['[redacted]']" "Redact secrets: a paused request's original Authorization is redacted in _breakpoints"
ok "the redacted HAR has the secret nowhere" bash -c '! grep -q s3cret-bp-token "$1"' _ "$T/r.har"
ok "the plain HAR keeps it" grep -q s3cret-bp-token "$T/s.har"
stop_httpeek

# --- HTTPS, an HTTP/2 client, an HTTP/2-capable path: the same pauses ----------------------
PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_upstream --tls server --quiet; TUP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
post /api/breakpoints '{"match": {"host": "upstream.test", "method": "POST"}, "phase": "both"}' >/dev/null
pcurl_tls --http2 -o "$T/b10" -D "$T/h10" --data-binary '{"a": 1}' -H 'Content-Type: application/json' "https://upstream.test:$TUP/echo" &
C10=$!
pid=$(wait_paused request)
ok "HTTP/2 client, HTTPS: the request pauses" [ -n "$pid" ]
post "/api/breakpoints/paused/$pid" '{"action": "execute", "request": {"body": "{\"a\": 2}"}}' >/dev/null
pid=$(wait_paused response)
ok "then its response pauses (phase both)" [ -n "$pid" ]
post "/api/breakpoints/paused/$pid" '{"action": "execute", "response": {"headers": [["Content-Type", "application/json"], ["X-Edited", "yes"]]}}' >/dev/null
wait "$C10"; rc=$?
is "$rc $(cat "$T/b10")" '0 {"a": 2}' "curl (HTTP/2) got the response to the edited request"
like "$(tr -d '\r' <"$T/h10")" "x-edited: yes" "with the edited response header"
is "$(last_flow | jq_py 'len(d["_breakpoints"]), d["request"]["http_version"]')" "2 HTTP/2.0" "the flow records both pauses"
curl_h2_gone=$(pcurl_tls --http2 --max-time 2 -o /dev/null --data-binary 'x' "https://upstream.test:$TUP/echo" 2>/dev/null; echo $?)
is "$curl_h2_gone" 28 "an HTTP/2 client gives up while paused"
for i in $(seq 30); do [ "$(api "$W/api/breakpoints" | jq_py 'len(d["paused"])')" = 0 ] && break; sleep 0.1; done
is "$(api "$W/api/breakpoints" | jq_py 'len(d["paused"])') $(last_flow | jq_py 'd["diagnosis"]["code"]')" "0 -1001" "its pause goes, its flow says -1001"
stop_httpeek

# beyond loopback: every write needs the token
WP=$(free_port)
start_httpeek --web "0.0.0.0:$WP"
wait_grep "^Viewer: .*token=" "$HTTPEEK_LOG" 5
tok=$(grep "^Viewer:" "$HTTPEEK_LOG" | awk '{print $2}'); tok=${tok##*token=}
is "$(code -X POST --data '{"phase": "request", "match": {"host": "x"}}' "http://127.0.0.1:$WP/api/breakpoints")" 401 "add without the token: 401"
is "$(code -X POST --data '{"action": "continue"}' "http://127.0.0.1:$WP/api/breakpoints/paused/1")" 401 "an action without the token: 401"
is "$(code -X DELETE "http://127.0.0.1:$WP/api/breakpoints")" 401 "delete without the token: 401"
is "$(code "http://127.0.0.1:$WP/api/breakpoints")" 401 "even the list without the token: 401"
is "$(code -X POST -H "Authorization: Bearer $tok" --data '{"phase": "request", "match": {"host": "x"}}' "http://127.0.0.1:$WP/api/breakpoints")" 201 "with the token: 201"
stop_httpeek
done_testing
