#!/usr/bin/env bash
# 84-replay.sh — Repeat and compose (issue 20) through the API, with curl and real servers:
# a captured flow repeated x20 at concurrency 4 makes 20 new flows marked _replay_of that the
# upstream really received; an HTTPS flow repeated (CONNECT + TLS through httpeek's own CA);
# a POST composed from scratch reaches the server with its body; rules apply to a repeat (a
# --rewrite header reaches the server); bad input is a 400 with a reason, an unknown flow a 404;
# the HAR carries _replay_of and _composed; the write endpoints are refused cross-origin and,
# on a viewer beyond loopback, without the token.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream; PLAIN=$UPSTREAM_PORT; UPLOG=$T/upstream$_UP_N.err
start_upstream --tls server --quiet; TLSUP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --rewrite "*/headers*=req-header:set:X-Rule:applied"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
post() { api -X POST -H 'Content-Type: application/json' "$@"; }

pcurl -o /dev/null "http://upstream.test:$PLAIN/bytes/10?r=1" -H 'X-Mine: kept'
wait_flows "$W" 1
ORIG=$(api "$W/api/flows" | jq_py 'd[0]["id"]')
before=$(grep -c 'GET /bytes/10?r=1' "$UPLOG")
is "$before" 1 "the upstream saw the captured request once"

# Repeat x20, 4 at a time
out=$(post -d '{"count":20,"concurrency":4}' "$W/api/flows/$ORIG/replay")
is "$(echo "$out" | jq_py 'len(d["ids"]), d["errors"]')" "20 0" "POST /api/flows/{id}/replay count 20: 20 new flow ids, no errors"
is "$(grep -c 'GET /bytes/10?r=1' "$UPLOG")" 21 "the upstream received 20 more requests"
ids=$(echo "$out" | jq_py '",".join(map(str, d["ids"]))')
marks=$(api "$W/api/flows?after=$ORIG" | jq_py 'sorted(set((f.get("_replay_of"), f["status"]) for f in d if f["id"] in ['"$ids"']))')
is "$marks" "[($ORIG, 200)]" "every new flow's summary says _replay_of the original, status 200"
first=${ids%%,*}
det=$(flow_detail "$first")
is "$(echo "$det" | jq_py 'd["_replay_of"], d["url"], [h["value"] for h in d["request"]["headers"] if h["name"].lower() == "x-mine"]')" "$ORIG http://upstream.test:$PLAIN/bytes/10?r=1 ['kept']" "the repeat's detail: _replay_of, same URL, the captured headers"
is "$(flow_detail "$ORIG" | jq_py '"_replay_of" in d')" False "the original carries no _replay_of"

# concurrency is bounded: 4 at a time means the upstream never saw more than 4 at once (slow ones)
pcurl -o /dev/null "http://upstream.test:$PLAIN/slow/0.3"
wait_flows "$W" 22
SLOW=$(api "$W/api/flows" | jq_py '[f["id"] for f in d if f["path"].startswith("/slow")][0]')
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
out=$(post -d '{"count":8,"concurrency":4}' "$W/api/flows/$SLOW/replay")
t1=$(ms)
is "$(echo "$out" | jq_py 'len(d["ids"])')" 8 "8 repeats of a slow request"
cmp_num $((t1 - t0)) -ge 600 "8 slow (0.3 s) requests, 4 at a time, take two rounds or more ($((t1 - t0)) ms)"
cmp_num $((t1 - t0)) -lt 2000 "... but not eight one after the other ($((t1 - t0)) ms)"
t0=$(ms)
out=$(post -d '{"count":3,"delay_ms":300}' "$W/api/flows/$ORIG/replay")
t1=$(ms)
is "$(echo "$out" | jq_py 'len(d["ids"])')" 3 "count 3 with delay_ms 300: 3 flows"
cmp_num $((t1 - t0)) -ge 600 "... started 300 ms apart ($((t1 - t0)) ms)"

# HTTPS: CONNECT + TLS to httpeek, trusting its own CA
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/headers?tls=1"
TLSID=$(flow_id_of "$W" "tls=1")
out=$(post "$W/api/flows/$TLSID/replay")
rid=$(echo "$out" | jq_py 'd["ids"][0]')
det=$(flow_detail "$rid")
is "$(echo "$det" | jq_py 'd["_replay_of"], d["status"], d["scheme"]')" "$TLSID 200 https" "an HTTPS flow repeated (no body in the POST: once)"
like "$(api "$W/api/flows/$rid/response/body")" '"tls": true' "the repeat reached the TLS upstream"
is "$(echo "$det" | jq_py '[r["action"] for r in d["_rules"]]')" "['rewrite']" "rules apply to a repeat: the rewrite rule touched its flow"
out=$(post -d "{\"url\":\"http://upstream.test:$PLAIN/headers?c=1\"}" "$W/api/requests")
cid0=$(echo "$out" | jq_py 'd["id"]')
is "$(api "$W/api/flows/$cid0/response/body" | jq_py '[v for n, v in d["headers"] if n == "X-Rule"]')" "['applied']" "rules apply to a composed request: the --rewrite header reached the server"

# a flow captured over HTTP/2 (pseudo-headers in its head) is repeated over HTTP/1.1
pcurl_tls --http2 -o /dev/null "https://upstream.test:$TLSUP/headers?h2=1" -H 'X-H2: yes'
H2ID=$(flow_id_of "$W" "h2=1")
is "$(flow_detail "$H2ID" | jq_py 'd["request"]["http_version"], d["request"]["headers"][0]["name"]')" "HTTP/2.0 :method" "(a flow captured over HTTP/2, pseudo-headers first)"
rid=$(post "$W/api/flows/$H2ID/replay" | jq_py 'd["ids"][0]')
is "$(api "$W/api/flows/$rid/response/body" | jq_py '[n for n, v in d["headers"] if n.startswith(":")], [v for n, v in d["headers"] if n == "x-h2"], d["method"]')" "[] ['yes'] GET" "an HTTP/2 flow repeated: its headers reach the server without pseudo-headers"

# compose a POST from scratch
body='{"hello":"world","n":1}'
req=$("$PYTHON" -c 'import json,sys; print(json.dumps({"method":"POST","url":sys.argv[1],"headers":[["Content-Type","application/json"],["X-Composed","yes"]],"body":sys.argv[2]}))' "http://upstream.test:$PLAIN/echo" "$body")
out=$(post -d "$req" "$W/api/requests")
cid=$(echo "$out" | jq_py 'd["id"]')
det=$(flow_detail "$cid")
is "$(echo "$det" | jq_py 'd["_composed"], d["method"], d["status"]')" "True POST 200" "POST /api/requests: {id} of a flow marked _composed"
is "$(api "$W/api/flows/$cid/response/body")" "$body" "the server received the composed body (echoed)"
is "$(echo "$det" | jq_py '[h["value"] for h in d["request"]["headers"] if h["name"] == "X-Composed"]')" "['yes']" "the composed headers were sent"
b64=$(printf '\x00\x01binary\xff' | base64)
out=$(post -d "{\"method\":\"PUT\",\"url\":\"https://upstream.test:$TLSUP/echo\",\"body_base64\":\"$b64\"}" "$W/api/requests")
cid2=$(echo "$out" | jq_py 'd["id"]')
is "$(api "$W/api/flows/$cid2/response/body" | od -An -tx1 | tr -s ' ')" "$(printf '\x00\x01binary\xff' | od -An -tx1 | tr -s ' ')" "body_base64 over HTTPS: the server got the bytes"
is "$(api "$W/api/flows?after=$((cid2 - 1))" | jq_py 'd[0].get("_composed")')" True "the summary carries _composed"
out=$(post -d '{"url":"http://nohost.test/x"}' "$W/api/requests")
fid=$(echo "$out" | jq_py 'd["id"]')
is "$(flow_detail "$fid" | jq_py 'd["_composed"], d["failed"], d["diagnosis"]["code"]')" "True True -1003" "a composed request that fails is a flow with its diagnosis"

# bad input
code() { api -o "$T/err" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@"; }
is "$(code -d 'nonsense' "$W/api/requests")" 400 "bad JSON: 400"
like "$(cat "$T/err")" "JSON object" "... with a reason"
is "$(code -d '{"url":"ftp://x/"}' "$W/api/requests")" 400 "a URL that is not http(s): 400"
is "$(code -d '{"url":"http://x/","headers":[["Bad Name","v"]]}' "$W/api/requests")" 400 "a header name that is no token: 400"
is "$(code -d '{"url":"http://x/","headers":[["X","a\r\nEvil: 1"]]}' "$W/api/requests")" 400 "a header value with CR LF: 400"
is "$(code -d '{"url":"http://x/","method":"GE T"}' "$W/api/requests")" 400 "a bad method: 400"
is "$(code -d '{"count":0}' "$W/api/flows/$ORIG/replay")" 400 "count 0: 400"
like "$(cat "$T/err")" "count must be an integer from 1 to 1000" "... saying the range"
is "$(code -d '{"concurrency":33}' "$W/api/flows/$ORIG/replay")" 400 "concurrency 33: 400"
is "$(code "$W/api/flows/999999/replay")" 404 "an unknown flow: 404"
is "$(api -o /dev/null -w '%{http_code}' "$W/api/flows/$ORIG/replay")" 405 "GET on replay changes nothing: 405"
is "$(api -o /dev/null -w '%{http_code}' "$W/api/requests")" 405 "GET /api/requests: 405"
is "$(code -H 'Origin: http://evil.test' "$W/api/flows/$ORIG/replay")" 403 "a repeat from another origin: 403"
is "$(code -H 'Origin: http://evil.test' -d '{"url":"http://upstream.test/"}' "$W/api/requests")" 403 "a compose from another origin: 403"
is "$(grep -c 'GET /bytes/10?r=1' "$UPLOG")" 24 "the refused writes sent nothing upstream"

# a request body not captured whole is not repeated
start_httpeek --upstream-ca "$PKI/ca.pem" --max-body 1000
W2="http://127.0.0.1:$HTTPEEK_WEB_PORT"
head -c 5000 /dev/zero | pcurl -o /dev/null --data-binary @- "http://upstream.test:$PLAIN/echo"
wait_flows "$W2" 1
BIG=$(api "$W2/api/flows" | jq_py 'd[0]["id"]')
is "$(api -o "$T/err" -w '%{http_code}' -X POST "$W2/api/flows/$BIG/replay")" 409 "a request body cut by --max-body: 409"
like "$(cat "$T/err")" "not captured whole \(1000 of 5000 bytes\)" "... saying how much was captured"
stop_httpeek

# HAR
har=$(api "$W/api/har?ids=$first,$cid,$ORIG")
is "$(echo "$har" | jq_py '[(e.get("_replay_of"), e.get("_composed")) for e in sorted(d["log"]["entries"], key=lambda e: e["_id"])]')" "[(None, None), ($ORIG, None), (None, True)]" "the HAR entries carry _replay_of and _composed"
stop_httpeek

# beyond loopback: the token is required for the write endpoints too
WP=$(free_port)
start_httpeek --web "0.0.0.0:$WP"
wait_grep "^Viewer: .*token=" "$HTTPEEK_LOG" 5
url=$(grep "^Viewer:" "$HTTPEEK_LOG" | awk '{print $2}')
tok=${url##*token=}
pcurl -o /dev/null "http://upstream.test:$PLAIN/bytes/10?r=tok"
W3="http://127.0.0.1:$WP"
for i in $(seq 50); do
    n=$(api -H "Authorization: Bearer $tok" "$W3/api/flows" | jq_py 'len(d)' 2>/dev/null)
    [ "${n:-0}" -ge 1 ] && break
    sleep 0.1
done
TID=$(api -H "Authorization: Bearer $tok" "$W3/api/flows" | jq_py 'd[0]["id"]')
is "$(api -o /dev/null -w '%{http_code}' -X POST "$W3/api/flows/$TID/replay")" 401 "beyond loopback: a repeat without the token: 401"
is "$(api -o /dev/null -w '%{http_code}' -X POST -d '{"url":"http://upstream.test/"}' "$W3/api/requests")" 401 "beyond loopback: a compose without the token: 401"
is "$(grep -c 'GET /bytes/10?r=tok' "$UPLOG")" 1 "nothing was sent for them"
is "$(api -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" -H 'Origin: http://evil.test' "$W3/api/flows/$TID/replay")" 403 "with the token but from another origin: 403"
is "$(api -X POST -H "Authorization: Bearer $tok" "$W3/api/flows/$TID/replay" | jq_py 'len(d["ids"])')" 1 "with the token: repeated"
is "$(grep -c 'GET /bytes/10?r=tok' "$UPLOG")" 2 "... and the upstream got it"

# stopped with repeats in flight (a slow upstream, a delay): it exits at once and cleanly (the
# sanitizer build checks what it leaves)
pcurl -o /dev/null "http://upstream.test:$PLAIN/slow/5"
SID=$(api -H "Authorization: Bearer $tok" "$W3/api/flows" | jq_py '[f["id"] for f in d if f["path"] == "/slow/5"][0]')
api --max-time 20 -o "$T/inflight" -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" -d '{"count":6,"concurrency":2,"delay_ms":500}' "$W3/api/flows/$SID/replay" >"$T/inflight.code" 2>/dev/null &
CPID=$!
sleep 1
t0=$(date +%s)
stop_httpeek
wait "$CPID"
cmp_num $(( $(date +%s) - t0 )) -le 3 "stopped with repeats in flight: httpeek exits within 3 s"

# httpeek view FILE.har: an httpeek HAR (exported above) and a Chrome-like one
start_httpeek --upstream-ca "$PKI/ca.pem"
W4="http://127.0.0.1:$HTTPEEK_WEB_PORT"
pcurl -o /dev/null "http://upstream.test:$PLAIN/bytes/10?r=har"
pcurl -o /dev/null --data-binary 'har body' "http://upstream.test:$PLAIN/echo?har=1"
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/headers?har=tls"
pcurl -o /dev/null "http://nohost.test/har"
wait_flows "$W4" 4
api -o "$T/own.har" "$W4/api/har"
stop_httpeek
"$PYTHON" - "$T/chrome.har" "http://upstream.test:$PLAIN" <<'PY'
import base64, json, sys
up = sys.argv[2]
def entry(method, url, status, text=None, b64=False, error=None, post=None, timings=None):
    e = {"startedDateTime": "2026-12-01T10:00:00.250+01:00", "time": 120,
         "request": {"method": method, "url": url, "httpVersion": "h2",
                     "headers": [{"name": ":authority", "value": "x"}, {"name": "accept", "value": "application/json"}],
                     "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
         "response": {"status": status, "statusText": "", "httpVersion": "h2",
                      "headers": [{"name": "content-type", "value": "application/json"}],
                      "cookies": [], "content": {"size": 0, "mimeType": "application/json"},
                      "redirectURL": "", "headersSize": -1, "bodySize": -1},
         "cache": {}, "timings": timings or {"blocked": 5, "dns": 10, "connect": 30, "ssl": 20, "send": 1, "wait": 60, "receive": 14}}
    if text is not None:
        e["response"]["content"]["text"] = base64.b64encode(text.encode()).decode() if b64 else text
        if b64: e["response"]["content"]["encoding"] = "base64"
    if error: e["response"]["_error"] = error
    if post is not None: e["request"]["postData"] = {"mimeType": "application/json", "text": post}
    return e
har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "pages": [], "entries": [
    entry("GET", "https://api.example.test/v1/user", 200, '{"name":"Ada"}', b64=True),
    entry("POST", up + "/echo?from=chrome", 201, '{"ok":true}', post='{"plan":"pro"}'),
    entry("GET", "https://gone.example.test/x", 0, error="net::ERR_NAME_NOT_RESOLVED", timings={"blocked": 1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": 0, "receive": 0}),
    entry("GET", "http://127.0.0.1:9/refused", 0, error="net::ERR_CONNECTION_REFUSED"),
    {"request": {"method": "GET", "url": "chrome-extension://abc/x"}, "response": {"status": 200}},
]}}
json.dump(har, open(sys.argv[1], "w"))
PY
start_httpeek view "$T/chrome.har"
W5="http://127.0.0.1:$HTTPEEK_WEB_PORT"
like "$(cat "$HTTPEEK_LOG")" "Imported 4 requests from $T/chrome.har" "httpeek view: a Chrome HAR's HTTP entries imported (the extension URL skipped)"
list=$(api "$W5/api/flows")
is "$(echo "$list" | jq_py '[(f["method"], f["url"], f["status"], f["failed"]) for f in d]')" \
   "[('GET', 'https://api.example.test/v1/user', 200, False), ('POST', 'http://upstream.test:$PLAIN/echo?from=chrome', 201, False), ('GET', 'https://gone.example.test/x', 0, True), ('GET', 'http://127.0.0.1:9/refused', 0, True)]" \
   "the list: method, URL, status and failure of each entry, in order"
is "$(echo "$list" | jq_py '[f["diag_code"] for f in d]')" "[0, 0, -1003, -1004]" "diagnosis recomputed from Chrome's net::ERR_ names (-1003 DNS, -1004 refused)"
ids=($(echo "$list" | jq_py '" ".join(str(f["id"]) for f in d)'))
is "$(api "$W5/api/flows/${ids[0]}/response/body")" '{"name":"Ada"}' "a base64 response body reads back as its bytes"
det=$(flow_detail "${ids[0]}")
is "$(echo "$det" | jq_py '[h["name"] for h in d["request"]["headers"]], d["started"], d["timings"]["wait"], d["timings"]["connect"], d["timings"]["ssl"]')" \
   "['accept'] 2026-12-01T09:00:00.250Z 60.0 30.0 20.0" "headers (no h2 pseudo-headers), start time (UTC) and timings kept"
is "$(echo "$det" | jq_py 'd["request"]["http_version"], d["response"]["http_version"]')" "HTTP/2.0 HTTP/2.0" \
   "an entry Chrome fetched over h2 says HTTP/2.0 (not the HTTP/1.1 its heads were parsed as)"
out=$(post -d '{"count":2}' "$W5/api/flows/${ids[1]}/replay")
r1=$(echo "$out" | jq_py 'd["ids"][0]')
is "$(api "$W5/api/flows/$r1/response/body")" '{"plan":"pro"}' "an imported POST repeated: the server got its body"
is "$(flow_detail "$r1" | jq_py 'd["_replay_of"], d["status"]')" "${ids[1]} 200" "... recorded beside the imports as a repeat of it"
stop_httpeek
start_httpeek view "$T/own.har"
W6="http://127.0.0.1:$HTTPEEK_WEB_PORT"
list=$(api "$W6/api/flows")
is "$(echo "$list" | jq_py '[(f["path"], f["status"], f["diag_code"]) for f in d]')" \
   "[('/bytes/10?r=har', 200, 0), ('/echo?har=1', 200, 0), ('/headers?har=tls', 200, 0), ('/har', 0, -1003)]" \
   "httpeek view of httpeek's own HAR: the same flows, the failure diagnosed again"
is "$(flow_detail "$(echo "$list" | jq_py 'd[0]["id"]')" | jq_py 'd["request"]["http_version"], d["response"]["http_version"]')" \
   "HTTP/1.1 HTTP/1.1" "... an HTTP/1.1 exchange stays HTTP/1.1"
is "$(api "$W6/api/flows/$(echo "$list" | jq_py 'd[1]["id"]')/request/body")" "har body" "request bodies kept"
stop_httpeek
"$HTTPEEK" view "$T/nothere.har" --confdir "$T/new/confv" >"$T/v.out" 2>"$T/v.err"
is "$?" 1 "httpeek view of a missing file: exit status 1"
like "$(cat "$T/v.err")" "nothere.har: not a HAR file" "... saying why"
echo '{"log":{}}' >"$T/empty.har"
"$HTTPEEK" view "$T/empty.har" --confdir "$T/confv" >"$T/v.out" 2>"$T/v.err"
like "$(cat "$T/v.err")" "no log.entries" "a JSON file without log.entries is refused"
"$HTTPEEK" export --session "$(ls "$T"/confdir5/sessions/*.sqlite | head -n 1)" --har "$T/again.har" >/dev/null 2>&1
is "$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$T/again.har")" 6 "the view's session exports again: 4 imported + 2 repeats"
done_testing
