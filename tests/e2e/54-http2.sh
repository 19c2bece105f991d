#!/usr/bin/env bash
# 54-http2.sh — HTTP/2 from the client (--http2=yes) through an intercepted CONNECT tunnel to an
# HTTP/1.1 server: curl --http2 (one stream, bodies both ways, 40 streams multiplexed on one
# connection), headless Chromium loading a page of 50 resources, a stream the client resets
# mid-download (-999), a name the leaf does not cover (421), a stream that times out alone,
# the header limits, HAR's HTTP/2.0, h2 by default, and --http2=no giving the client HTTP/1.1.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 other.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
BASE="https://upstream.test:$UP"
SESSION=$T/h2.sqlite
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --upstream-timeout 2 --max-headers 40 \
    --session "$SESSION"
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
diag "httpeek on $HTTPEEK_PORT (--http2=yes), TLS HTTP/1.1 upstream on $UP"

# newest flow detail whose URL matches a regex
flow_by_url() {
    "$PYTHON" - "$WEB" "$1" <<'PY'
import json, re, sys, urllib.request
base, pat = sys.argv[1], sys.argv[2]
fl = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if re.search(pat, f["url"])]
print(json.dumps(json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, max(f["id"] for f in fl)),
                                                  timeout=10)) if fl else {}))
PY
}

# ---- one stream ---------------------------------------------------------------
pcurl_tls --http2 -v -o "$T/body" "$BASE/bytes/100000" 2>"$T/v"
like "$(cat "$T/v")" "ALPN: server accepted h2" "the client is offered h2 by ALPN and takes it"
like "$(cat "$T/v")" "< HTTP/2 200" "GET over HTTP/2: 200"
is "$(file_sha "$T/body" 2>/dev/null)" "$(gen_sha 100000)" "GET /bytes/100000 over HTTP/2: body identical"
n=10485760
pcurl_tls --http2 -o "$T/body" -w '%{http_version}' "$BASE/bytes/$n" >"$T/ver"
is "$(cat "$T/ver")/$(file_sha "$T/body" 2>/dev/null)" "2/$(gen_sha $n)" "10 MiB over HTTP/2 (flow control): body identical"
head -c 300000 /dev/urandom >"$T/post"
pcurl_tls --http2 -o "$T/echo" -D "$T/h" --data-binary @"$T/post" "$BASE/echo"
is "$(header X-Body-Sha256 "$T/h")/$(file_sha "$T/echo")" "$(file_sha "$T/post")/$(file_sha "$T/post")" \
    "POST of 300000 bytes over HTTP/2: the server got them and they came back identical"
pcurl_tls --http2 -o "$T/hdrs" "$BASE/headers"
like "$(cat "$T/hdrs")" "\"version\": \"HTTP/1.1\"" "the upstream got the request over HTTP/1.1"
is "$(jq_py '[v for k, v in d["headers"] if k.lower() == "host"]' <"$T/hdrs")" "['upstream.test:$UP']" \
    "the upstream got one Host, from :authority"
is "$(jq_py '" ".join(k.lower() for k, v in d["headers"]) + " / defects %d" % len(d["defects"])' <"$T/hdrs")" \
    "host user-agent accept / defects 0" \
    "the upstream got exactly the client's fields: no pseudo-header went upstream as a field"

sleep 0.3
d=$(flow_by_url "/bytes/100000$")
is "$(jq_py 'd["request"]["http_version"]' <<<"$d")" "HTTP/2.0" "API: the flow's request is HTTP/2.0"
is "$(jq_py '",".join(h["name"] for h in d["request"]["headers"][:4])' <<<"$d")" ":method,:scheme,:authority,:path" \
    "API: the pseudo-headers come first in the recorded request"
is "$(jq_py 'd["request"]["headers"][2]["value"]' <<<"$d")" "upstream.test:$UP" "API: :authority as the client sent it"

# ---- many streams on one connection ---------------------------------------------
before=$(api "$WEB/api/flows" | jq_py 'len(d)')
urls=()
for i in $(seq 40); do urls+=(-o "$T/p$i" "$BASE/bytes/$((1000 + i))"); done
pcurl_tls --http2 --parallel --parallel-max 20 -w '%{http_version} %{response_code}\n' "${urls[@]}" >"$T/par" 2>/dev/null
is "$(sort "$T/par" | uniq -c | awk '{print $1, $2, $3}')" "40 2 200" "40 requests with --parallel: all HTTP/2 200"
good=0
for i in $(seq 40); do [ "$(file_sha "$T/p$i" 2>/dev/null)" = "$(gen_sha $((1000 + i)))" ] && good=$((good + 1)); done
is "$good" 40 "40 parallel streams: every body identical"
wait_flows "$WEB" $((before + 40))
out=$("$PYTHON" - "$WEB" "$before" <<'PY'
import json, sys, urllib.request
base, before = sys.argv[1], int(sys.argv[2])
fl = sorted(json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)), key=lambda f: f["id"])[before:]
urls = [f["url"] for f in fl]
print(len(fl), len(set(urls)), len({f["conn_id"] for f in fl}))
PY
)
is "$out" "40 40 1" "one flow per stream (40 flows, 40 URLs) on one client connection"

# ---- a stream the client resets mid-download --------------------------------------
CURL_MAX_TIME=60 pcurl_tls --http2 --parallel -o "$T/small" "$BASE/bytes/10" \
    --next --cacert "$HTTPEEK_CA" -x "http://127.0.0.1:$HTTPEEK_PORT" --limit-rate 200k --max-time 1 \
    -o "$T/big" "$BASE/bytes/52428800" 2>/dev/null
sleep 0.5
d=$(flow_by_url "/bytes/52428800$")
is "$(jq_py 'd["diag_code"]' <<<"$d")" "-999" "a stream the client cancels mid-download: -999 (cancelled)"
like "$(jq_py 'd["error"]' <<<"$d")" "RST_STREAM CANCEL from the client|client" "its error says the client ended it"

# ---- 421 for a name the leaf does not cover --------------------------------------
pcurl_tls --http2 -o "$T/b421" -D "$T/h" -H "Host: other.test:$UP" "$BASE/bytes/10"
is "$(status_of "$T/h")" 421 "a request for other.test on upstream.test's connection: 421 Misdirected Request"
sleep 0.3
d=$(flow_by_url "other.test")
is "$(jq_py 'd["failure"]["status_sent"]' <<<"$d")/$(jq_py 'd["failed"]' <<<"$d")" "421/True" \
    "the 421 is a flow, marked failed"
is "$(jq_py 'd["diag_code"]' <<<"$d")" "421" "the 421's diagnosis says httpeek answered 421 (misdirected), not an NSURLError"


# ---- a stream that never gets a response times out alone ---------------------------
pcurl_tls --http2 --parallel -o "$T/slow" -w '%{response_code}\n' "$BASE/slow/4" \
    --next --cacert "$HTTPEEK_CA" -x "http://127.0.0.1:$HTTPEEK_PORT" -o "$T/fast" \
    -w '%{response_code}\n' "$BASE/bytes/20" >"$T/codes" 2>/dev/null
is "$(sort "$T/codes" | tr '\n' ' ')" "200 504 " "a stream with no response in 2 s (--upstream-timeout) gets 504, the other 200"

# ---- limits ------------------------------------------------------------------------
hs=()
for i in $(seq 50); do hs+=(-H "X-Many-$i: v"); done
pcurl_tls --http2 -o /dev/null -D "$T/h" "${hs[@]}" "$BASE/bytes/10"
is "$(status_of "$T/h")" 431 "50 header fields over HTTP/2 with --max-headers 40: 431"
sleep 0.3
unlike "$(cat "$HTTPEEK_LOG")" "refuses it for upstream\\.test" \
    "requests answered 421 or 431 do not read as the client refusing httpeek's leaf"

# ---- HAR -------------------------------------------------------------------------------
stop_httpeek
"$HTTPEEK" export --session "$SESSION" --har "$T/out.har" 2>"$T/export.err"
is "$?" 0 "httpeek export writes the HAR"
NODE=$(command -v node || command -v nodejs || true)
if [ -n "$NODE" ] && [ -f "$REPO_ROOT/tests/js/node_modules/har-validator/package.json" ]; then
    out=$("$NODE" "$REPO_ROOT/tests/js/validate-har.js" "$T/out.har" 2>&1)
    like "$out" "^valid " "har-validator accepts the HAR of HTTP/2 flows ($out)"
else
    skip "har-validator accepts the HAR of HTTP/2 flows" "node or tests/js/node_modules missing"
fi
is "$("$PYTHON" -c '
import json, sys
e = [x for x in json.load(open(sys.argv[1]))["log"]["entries"] if x["request"]["url"].endswith("/bytes/100000")][0]
print(e["request"]["httpVersion"])' "$T/out.har")" "HTTP/2.0" "HAR: httpVersion HTTP/2.0"

# ---- Chromium: a page of 50 resources over h2 ------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
if [ -n "$NODE" ] && [ -d "$REPO_ROOT/tests/js/node_modules/playwright-core" ] && [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    out=$(PAGE_URL="$BASE/page/50" PROXY="127.0.0.1:$HTTPEEK_PORT" WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT" \
          RESOURCES=50 timeout -k 5 60 "$NODE" "$REPO_ROOT/tests/js/h2-page.js" 2>&1)
    node_tap "$out"
else
    skip "Chromium loads a page of 50 resources over HTTP/2" "node, playwright-core or chromium missing"
fi

# ---- the default (on) and --http2=no ---------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem"
pcurl_tls --http2 -o /dev/null -w '%{http_version}' "$BASE/bytes/10" >"$T/ver"
is "$(cat "$T/ver")" "2" "without --http2 (default yes) the client asking for h2 gets HTTP/2"
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=no
pcurl_tls --http2 -o /dev/null -w '%{http_version}' "$BASE/bytes/10" >"$T/ver"
is "$(cat "$T/ver")" "1.1" "--http2=no: the client gets HTTP/1.1"

done_testing
