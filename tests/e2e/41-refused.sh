#!/usr/bin/env bash
# 41-refused.sh — every request that reaches httpeek is a flow, the ones it answers itself too:
# a scheme it does not proxy (-1002), a plain request meant for another server (-1002, with how to
# set the proxy), a malformed target (-1000), its limits (414, 431, 408: HTTP statuses the app
# receives, each naming the option), a client outside --allow-client (403) and the connection
# limit (503), both bounded per client; its own pages stay out of the list unless --record-own.
# Each case is checked where a user looks: the status the client got, the terminal line,
# /api/flows, /api/flows/{id} and the HAR.
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
H="$E2E_DIR/hostile.py"
raw() { timeout -k 2 20 "$PYTHON" "$H" raw "$HTTPEEK_PORT" "$@" --timeout 5 2>&1 | tail -n 1; }

# flow_of URL-SUBSTRING: "code|domain|name|stage|status_sent|reason_short|detail|fix" of the last
# flow whose URL contains it ("none" when there is none)
flow_of() {
    "$PYTHON" - "http://127.0.0.1:$HTTPEEK_WEB_PORT" "$1" <<'PY'
import json, sys, time, urllib.request
base, part = sys.argv[1], sys.argv[2]
# the terminal line comes before its batch's commit (store.c): wait until the flow is listed
for _ in range(50):
    flows = json.load(urllib.request.urlopen(base + "/api/flows", timeout=10))
    hit = [f for f in flows if part in f["url"]]
    if hit:
        break
    time.sleep(0.1)
if not hit:
    print("none"); sys.exit()
f = hit[-1]
d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
g = d.get("diagnosis") or {}
print("|".join(str(x) for x in (g.get("code"), g.get("domain", ""), g.get("name"), g.get("stage"),
                                 (d.get("failure") or {}).get("status_sent"), f["reason_short"],
                                 g.get("detail"), g.get("fix"))))
PY
}
nflows() { api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows" | jq_py 'len(d)'; }
line_of() { wait_grep "$1" "$HTTPEEK_LOG" 5; grep -F -- "$1" "$HTTPEEK_LOG" | tail -n 1; }

start_httpeek --header-timeout 1
P=$HTTPEEK_PORT
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# ---- a scheme httpeek does not proxy ---------------------------------------------------------
code=$(CURL_MAX_TIME=10 pcurl -o "$T/b" -w '%{http_code}' "ftp://upstream.test:$UP/file")
is "$code" 400 "ftp:// through the proxy: 400"
like "$(line_of "ftp://upstream.test:$UP/file")" " 400 .*FAILED client_request: unsupported URL scheme 'ftp' \[-1002 NSURLErrorUnsupportedURL\]" "ftp://: terminal line, -1002 at client_request"
like "$(flow_of "ftp://upstream.test")" "^-1002\|\|NSURLErrorUnsupportedURL\|client_request\|400\|unsupported request\|.*answered 400" "ftp://: /api/flows/{id} diagnosis -1002, stage, status_sent 400"

# ---- a plain request meant for another server (no proxy set, or redirected) ------------------
code=$(curl -sS --max-time 10 -o "$T/b" -w '%{http_code}' -H 'Host: api.example.test' "http://127.0.0.1:$P/api/items")
is "$code" 400 "GET /api/items with Host api.example.test straight to the proxy port: 400"
like "$(cat "$T/b")" "set the proxy to 127\.0\.0\.1:$P .*proxy\.pac.*transparent mode\) is not supported" "the 400 says how to set the proxy and that transparent mode is not offered"
like "$(line_of "http://api.example.test/api/items")" "GET http://api\.example\.test/api/items 400 .*FAILED client_request: not a proxy request.*\[-1002 NSURLErrorUnsupportedURL\]" "not meant for a proxy: terminal line, -1002"
f=$(flow_of "api.example.test/api/items")
like "$f" "^-1002\|\|NSURLErrorUnsupportedURL\|client_request\|400\|not a proxy request\|" "not meant for a proxy: diagnosis -1002 at client_request, status_sent 400, reason_short"
like "$f" "Set the device's proxy to server 127\.0\.0\.1, port $P" "... its detail names the proxy to set (this machine's address and port)"
like "$f" "Configure Proxy > Manual.*proxy\.pac.*Transparent mode .* is not offered" "... its fix: Wi-Fi proxy Manual or the PAC; transparent mode is not offered"

# ---- a malformed target ----------------------------------------------------------------------
out=$(raw 'GET http:///nohost HTTP/1.1\r\nHost: x\r\n\r\n')
like "$out" "^400 1 .*malformed request target" "a target with no host: 400 with the reason ($out)"
like "$(line_of "http:///nohost")" "FAILED client_request: malformed request-target .*\[-1000 NSURLErrorBadURL\]" "malformed target: terminal line, -1000"
like "$(flow_of "http:///nohost")" "^-1000\|\|NSURLErrorBadURL\|client_request\|400\|malformed URL\|" "malformed target: diagnosis -1000, status_sent 400"

# ---- limits: HTTP statuses the app receives, each naming its option ---------------------------
out=$(timeout -k 2 20 "$PYTHON" "$H" req "$P" target 17000 "$UP")
like "$out" "^414 1 " "request-target of 17000 bytes: 414"
like "$(line_of " 414 ")" "\[414 HTTPURITooLong\]" "414: terminal line [414 HTTPURITooLong]"
like "$(flow_of "/bytes/1?aaaa")" "^414\|HTTP\|HTTPURITooLong\|client_request\|414\|URL too long\|.*--max-request-line" "414: diagnosis in domain HTTP naming --max-request-line"
out=$(timeout -k 2 20 "$PYTHON" "$H" req "$P" count 201 "$UP")
like "$out" "^431 1 " "201 header fields: 431"
like "$(line_of " 431 ")" "\[431 HTTPRequestHeaderFieldsTooLarge\]" "431: terminal line"
out=$(timeout -k 2 20 "$PYTHON" "$H" raw "$P" "GET http://upstream.test:$UP/slow-head HTTP/1.1\\r\\nHost: up" --timeout 8 | tail -n 1)
like "$out" "^408 1 " "partial head, then silence: 408 after --header-timeout 1 ($out)"
like "$(line_of "slow-head")" "127\.0\.0\.1 - http://upstream\.test:$UP/slow-head 408 .*FAILED client_request: request head not received within 1s \(--header-timeout\) \[408 HTTPRequestTimeout\]" "408: the flow keeps the target as far as it was read; terminal line"
like "$(flow_of "slow-head")" "^408\|HTTP\|HTTPRequestTimeout\|client_request\|408\|.*--header-timeout" "408: diagnosis names --header-timeout"
api "$W/api/flows" -o "$T/flows.json"
like "$(jq_py '[f["diag_code"] for f in d if f["diag_code"] == 431]' <"$T/flows.json")" "^\[431\]$" "431: /api/flows summary diag_code 431"

# ---- httpeek's own pages: not flows by default, but they count for the device ----------------
n0=$(nflows)
is "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/")" 200 "the setup page, fetched directly: 200"
is "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/ca-cert.pem")" 200 "the CA, fetched directly: 200"
is "$(CURL_MAX_TIME=10 pcurl -o /dev/null -w '%{http_code}' "http://httpeek.test/")" 200 "http://httpeek.test/ through the proxy: 200"
is "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/favicon.ico")" 404 "/favicon.ico: 404"
sleep 0.3
is "$(nflows)" "$n0" "httpeek's own pages (and a browser's favicon.ico) are not flows"
like "$(api "$W/api/clients" | jq_py '[c["checklist"]["ca_downloaded"] for c in d if c["addr"] == "127.0.0.1"]')" "True" "... but the CA download still counts in the device's checklist"
is "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/api/items")" 404 "an unknown page on httpeek's own site: 404"
like "$(line_of "http://127.0.0.1:$P/api/items")" " 404 .*\[404 HTTPNotFound\]" "... is a flow (the app may have been given httpeek's address as its server)"
like "$(flow_of "127.0.0.1:$P/api/items")" "^404\|HTTP\|HTTPNotFound\|client_request\|404\|no such page\|.*set the device's proxy to server 127\.0\.0\.1, port $P" "... its diagnosis says to give the app its server's URL and set the proxy"

# ---- the HAR: every refusal with its _diagnosis, written the way failures are -----------------
api "$W/api/har?redact=0" -o "$T/a.har"
out=$("$PYTHON" - "$T/a.har" "$UP" <<'PY'
import json, sys
es = json.load(open(sys.argv[1]))["log"]["entries"]
def find(part):
    # (HAR keeps http(s) URLs only: the ftp:// one is about:blank there, its _error says it)
    return [e for e in es if part in e["request"]["url"] or part in e["response"].get("_error", "")][-1]
for part, code in (("scheme 'ftp'", -1002), ("api.example.test/api/items", -1002),
                   ("http:///nohost", -1000), ("slow-head", 408)):
    e = find(part)
    d = e.get("_diagnosis", {})
    print(part, d.get("code") == code, d.get("stage"), d.get("domain", "-"),
          e["response"]["status"], bool(e["response"].get("_error")))
print("own", any(e["request"]["url"].rstrip("/").endswith("httpeek.test") for e in es))
PY
)
like "$out" "scheme 'ftp' True client_request - 0 True" "HAR: ftp:// has _diagnosis -1002 (stage client_request), response.status 0 and _error as failures are written"
like "$out" "api.example.test/api/items True client_request - 0 True" "HAR: the request not meant for a proxy has _diagnosis -1002"
like "$out" "http:///nohost True client_request - 0 True" "HAR: the malformed target has _diagnosis -1000"
like "$out" "slow-head True client_request HTTP 0 True" "HAR: the 408 has _diagnosis code 408, domain HTTP"
like "$out" "own False" "HAR: httpeek's own pages are not in it"
stop_httpeek

# ---- --record-own: own pages are flows, marked own ----------------------------------------
start_httpeek --record-own
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
is "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTPEEK_PORT/")" 200 "--record-own: the setup page, fetched directly: 200"
CURL_MAX_TIME=10 pcurl -o /dev/null "http://httpeek.test/proxy.pac"
wait_flows "$W" 2
out=$(api "$W/api/flows" | jq_py '"|".join("%s %s %s %s" % (f["url"], f["status"], f["own"], f["failed"]) for f in d)')
like "$out" "http://127\.0\.0\.1:$HTTPEEK_PORT/ 200 True False" "--record-own: the setup page is a flow marked own, with its 200"
like "$out" "http://httpeek\.test/proxy\.pac 200 True False" "--record-own: the PAC through the proxy is a flow marked own"
like "$(line_of "httpeek.test/proxy.pac")" " 200 .*httpeek's own page \(recorded: --record-own\)" "--record-own: its terminal line says so"
stop_httpeek

# ---- 403: a client outside --allow-client, rate-limited per client ----------------------------
start_httpeek --allow-client 10.0.0.0/8 --workers 1   # the bound is per worker
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
code=$(CURL_MAX_TIME=10 pcurl -o "$T/b" -w '%{http_code}' "http://upstream.test:$UP/bytes/10")
is "$code" 403 "a client outside --allow-client: 403"
like "$(line_of " 403 ")" "127\.0\.0\.1 - - 403 .*FAILED client_request: client 127\.0\.0\.1 is not in the ranges allowed to use the proxy \(--allow-client: 10\.0\.0\.0/8\) \[403 HTTPForbidden\]" "403: a flow naming the client, the reason and the allowed ranges"
like "$(flow_of "-")" "^403\|HTTP\|HTTPForbidden\|client_request\|403\|not allowed\|.*--allow-client" "403: diagnosis in domain HTTP, the fix names --allow-client"
# a flood of refusals stays a few flows a second, and the next one says how many were left out
secs=$("$PYTHON" - "$HTTPEEK_PORT" <<'PY'
import socket, sys, time
t0 = time.monotonic()
for _ in range(40):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.recv(4096)
    s.close()
print(int(time.monotonic() - t0))
PY
)
sleep 0.4
for _ in $(seq 50); do # the refusals' batches may still be committing (store.c: line, then COMMIT)
    n=$(api "$W/api/flows" | jq_py 'len(d)')
    [ "${n:-0}" -ge 2 ] && break
    sleep 0.1
done
# one flow before the flood, then at most 5 a second for the seconds it spanned
cmp_num "$n" -le $((1 + 5 * (secs + 2))) "40 refused connections in ${secs}+ s: at most 5 flows a second per client ($n flows)"
cmp_num "$n" -ge 2 "... and the refusals within the limit are flows"
sleep 1.1
before=$(api "$W/api/flows" | jq_py 'len(d)')
CURL_MAX_TIME=10 pcurl -o /dev/null "http://upstream.test:$UP/bytes/10"
# its flow is listed once its batch is committed, which the terminal line precedes (store.c)
wait_flows "$W" $((before + 1))
like "$(api "$W/api/flows" | jq_py 'd[-1]["note"]')" "^[0-9]+ more 403 refusals of this client were not recorded \(at most 5 a second\)" "the next recorded refusal says how many were left out"
stop_httpeek

# ---- 503 at --max-connections, while one connection is held ------------------------------------
start_httpeek --max-connections 1 --workers 1
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
out=$("$PYTHON" - "$HTTPEEK_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = socket.create_connection(("127.0.0.1", port), timeout=5)
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
print(s.recv(4096).split(b"\r\n", 1)[0].decode())
s.close()
held.close()
PY
)
is "$out" "HTTP/1.1 503 Service Unavailable" "--max-connections 1, one connection held: the next gets 503"
like "$(line_of " 503 ")" " 503 .*FAILED client_request: 1 client connections were open, the --max-connections 1 limit.*\[503 HTTPServiceUnavailable\]" "503: a flow saying which limit"
like "$(flow_of "-")" "^503\|HTTP\|HTTPServiceUnavailable\|client_request\|503\|too many connections\|.*--max-connections" "503: diagnosis in domain HTTP naming --max-connections"
like "$(api "$W/api/har?redact=0" | jq_py '[(e["response"]["status"], e["_diagnosis"]["code"], e["_diagnosis"]["domain"], e["_client"]) for e in d["log"]["entries"]]')" "^\[\(0, 503, 'HTTP', '127\.0\.0\.1'\)\]$" "503: in the HAR with _diagnosis code 503, domain HTTP, the client"

done_testing
