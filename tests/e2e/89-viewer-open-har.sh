#!/usr/bin/env bash
# 89-viewer-open-har.sh — Open a HAR in the live viewer (issue 20): POST /api/har/import records a
# Chrome-shaped HAR's entries into the session as flows (one 200 JSON answer; one status 0 with
# Chrome's _error net::ERR_NAME_NOT_RESOLVED, whose diagnosis is recomputed: -1003), answers
# their ids once GET /api/flows/{id} finds them; refused without the token when the viewer
# listens beyond loopback and from another Origin (no flow made); a file that is no HAR: 400.
# Then tests/js/viewer-open-har.js picks the file with "Open HAR…" in headless Chromium: both
# flows in the list, the failed one's detail says -1003. Screenshot: meson-logs/89-open-har.png.
source "$(dirname "$0")/lib.sh"

start_dns har.test=127.0.0.1 # nothing here is resolved: the import sends nothing
WP=$(free_port)
start_httpeek --web "0.0.0.0:$WP"
wait_grep "^Viewer: .*token=" "$HTTPEEK_LOG" 5
url=$(grep "^Viewer:" "$HTTPEEK_LOG" | awk '{print $2}')
tok=${url##*token=}
W="http://127.0.0.1:$WP"
AUTH=(-H "Authorization: Bearer $tok")

# what Chrome's DevTools saves: a JSON answer, and a request whose host did not resolve
cat >"$T/bug.har" <<'HAREOF'
{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
 "pages": [],
 "entries": [
  {"startedDateTime": "2026-03-02T10:15:30.123Z", "time": 84.5,
   "request": {"method": "GET", "url": "https://api.example.test/v1/user?id=7", "httpVersion": "http/2.0",
     "headers": [{"name": ":authority", "value": "api.example.test"}, {"name": "accept", "value": "application/json"}],
     "queryString": [{"name": "id", "value": "7"}], "cookies": [], "headersSize": -1, "bodySize": 0},
   "response": {"status": 200, "statusText": "", "httpVersion": "http/2.0",
     "headers": [{"name": "content-type", "value": "application/json"}],
     "cookies": [], "content": {"size": 25, "mimeType": "application/json", "text": "{\"user\":{\"name\":\"Ann\"}}"},
     "redirectURL": "", "headersSize": -1, "bodySize": -1, "_transferSize": 120, "_error": null},
   "serverIPAddress": "192.0.2.10", "_initiator": {"type": "script"}, "_priority": "High", "_resourceType": "fetch",
   "cache": {}, "timings": {"blocked": 1.2, "dns": 10.0, "ssl": 20.1, "connect": 30.4, "send": 0.3, "wait": 40.2, "receive": 2.3, "_blocked_queueing": 0.8}},
  {"startedDateTime": "2026-03-02T10:15:31.000Z", "time": 12.0,
   "request": {"method": "POST", "url": "https://nowhere.example.test/track", "httpVersion": "",
     "headers": [{"name": "content-type", "value": "application/json"}],
     "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 9, "postData": {"mimeType": "application/json", "text": "{\"e\":\"x\"}"}},
   "response": {"status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [],
     "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": -1,
     "_transferSize": 0, "_error": "net::ERR_NAME_NOT_RESOLVED"},
   "serverIPAddress": "", "_resourceType": "fetch", "cache": {},
   "timings": {"blocked": -1, "dns": -1, "ssl": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0}}
 ]}}
HAREOF

code() { api -o /dev/null -w '%{http_code}' "$@"; }
IMPORT="$W/api/har/import?name=bug.har"
is "$(code -X POST --data-binary @"$T/bug.har" "$IMPORT")" 401 "POST /api/har/import without the token: 401"
is "$(code -X POST --data-binary @"$T/bug.har" "${AUTH[@]}" -H 'Origin: http://evil.test' "$IMPORT")" 403 \
    "POST /api/har/import with the token, from another origin: 403"
is "$(code "${AUTH[@]}" "$IMPORT")" 405 "GET /api/har/import imports nothing: 405"
is "$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'len(d)')" 0 "none of them made a flow"

echo 'not json {' >"$T/bad.har"
out=$(api -X POST --data-binary @"$T/bad.har" "${AUTH[@]}" -w ' %{http_code}' "$IMPORT")
like "$out" '^\{"error": ?"not a HAR file: .*\} 400$' "a file that is not JSON: 400 with the reason"
out=$(api -X POST --data-binary '{"log":{"version":"1.2"}}' "${AUTH[@]}" -w ' %{http_code}' "$IMPORT")
like "$out" 'no log.entries.* 400$' "JSON without log.entries: 400 with the reason"

out=$(api -X POST --data-binary @"$T/bug.har" "${AUTH[@]}" -H "Origin: $W" -w '\n%{http_code}' "$IMPORT")
is "$(tail -n1 <<<"$out")" 200 "POST /api/har/import with the token from the page's origin: 200"
IDS=$(head -n1 <<<"$out" | jq_py '" ".join(str(i) for i in d["ids"])')
read -r OK_ID FAIL_ID <<<"$IDS"
ok "it answers the ids of the two flows it made ($IDS)" [ -n "$OK_ID" ] && [ -n "$FAIL_ID" ] && [ "$FAIL_ID" -gt "$OK_ID" ]

d=$(api "${AUTH[@]}" "$W/api/flows/$OK_ID")
is "$(jq_py '[d["method"], d["url"], d["status"]]' <<<"$d")" "['GET', 'https://api.example.test/v1/user?id=7', 200]" \
    "the 200 entry is a flow at once: method, URL, status"
is "$(jq_py 'd["note"]' <<<"$d")" "imported from bug.har" "its note names the file it came from"
is "$(api "${AUTH[@]}" "$W/api/flows/$OK_ID/response/body")" '{"user":{"name":"Ann"}}' "its response body is the HAR's"
d=$(api "${AUTH[@]}" "$W/api/flows/$FAIL_ID")
is "$(jq_py 'd["diagnosis"]["code"]' <<<"$d")" -1003 "the status 0 entry with net::ERR_NAME_NOT_RESOLVED: diagnosis -1003"
is "$(jq_py 'd["diagnosis"]["stage"]' <<<"$d")" dns "... at the DNS stage"
is "$(api "${AUTH[@]}" "$W/api/flows" | jq_py 'len(d)')" 2 "the list has both"

# the page: "Open HAR…" with the file picked
NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "Open HAR in the viewer" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
    done_testing
    exit 0
fi
ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
mkdir -p "$ART" 2>/dev/null || ART=$T
out=$(VIEWER="$W/?token=$tok" TOKEN=$tok HAR="$T/bug.har" ART=$ART HOME=$T timeout -k 5 60 "$NODE" "$JS/viewer-open-har.js" 2>&1)
rc=$?
node_tap "$out"
is "$rc" 0 "viewer-open-har.js finished (status $rc)"
done_testing
