#!/usr/bin/env bash
# 59-trailers.sh — trailer sections (gRPC's status lives there) between an HTTP/2 client and an
# HTTP/1.1 server through httpeek (--http2=yes), and for an HTTP/1.1 client: the server's chunked
# trailer section reaches an h2 client as a trailing HEADERS frame and an HTTP/1.1 client as a
# chunked trailer section; an h2 client's request trailers reach the server as a chunked trailer
# section; both are recorded with the flow (API `trailers`, HAR `_trailers`).
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
BASE="https://upstream.test:$UP"
SESSION=$T/tr.sqlite
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --session "$SESSION"
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"

flow_by_url() {
    "$PYTHON" - "$WEB" "$1" <<'PY'
import json, re, sys, urllib.request
base, pat = sys.argv[1], sys.argv[2]
fl = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if re.search(pat, f["url"])]
print(json.dumps(json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, max(f["id"] for f in fl)),
                                                  timeout=10)) if fl else {}))
PY
}
trailers_of() { jq_py "' '.join('%s=%s' % (h['name'], h['value']) for h in (d.get('$1') or {}).get('trailers', ['missing']))"; }

# ---- response trailers: HTTP/1.1 server -> h2 client ----------------------------------
pcurl_tls --http2 -o "$T/b" -D "$T/h" "$BASE/trailers?h2" 2>/dev/null
like "$(grep "^HTTP/" "$T/h" | tail -n1)" "^HTTP/2 200" "curl --http2: 200 over HTTP/2"
is "$(tr -d '\r' <"$T/h" | grep -E '^grpc-(status|message):' | tr '\n' '|')" "grpc-status: 0|grpc-message: all good|" \
    "the server's trailers (grpc-status, grpc-message) reach the h2 client after the body"
sleep 0.3
d=$(flow_by_url "/trailers\\?h2$")
is "$(trailers_of response <<<"$d")" \
    "grpc-status=0 grpc-message=all good x-body-sha256=$(printf '' | sha256sum | cut -d' ' -f1)" \
    "API: the response's trailers recorded in order"
is "$(trailers_of request <<<"$d")" "" "API: a request without trailers has trailers []"

# ---- request trailers: h2 client -> HTTP/1.1 server (raw frames: curl cannot send them) --
out=$(py "
import json, sys
sys.path.insert(0, '$E2E_DIR'); import h2raw
t = h2raw.tunnel($HTTPEEK_PORT, 'upstream.test', $UP, '$HTTPEEK_CA')
assert t.selected_alpn_protocol() == 'h2', t.selected_alpn_protocol()
c = h2raw.Conn(t)
c.send(h2raw.headers(1, h2raw.request_fields('POST', 'upstream.test:$UP', '/trailers?raw',
                                              [('content-type', 'application/grpc'), ('te', 'trailers')])),
       h2raw.frame(h2raw.DATA, 0, 1, b'hello'),
       h2raw.headers(1, [('x-checksum', 'abc'), ('grpc-timeout', '1S')], end_stream=True))
c.run_until(lambda c: 1 in c.ended or 1 in c.resets)
body = json.loads(c.data.get(1, b'{}') or b'{}')
print(json.dumps({'got': body, 'headers_frames': c.headers.get(1, 0), 'reset': c.resets.get(1)}))
")
diag "$out"
is "$(jq_py 'd["got"]["trailers"]' <<<"$out")" "[['x-checksum', 'abc'], ['grpc-timeout', '1S']]" \
    "the h2 client's request trailers reach the HTTP/1.1 server as a chunked trailer section"
is "$(jq_py '"%s %s" % (d["got"]["chunked"], d["got"]["length"])' <<<"$out")" "True 5" \
    "the request body went chunked, 5 bytes"
is "$(jq_py 'd["headers_frames"]' <<<"$out")" 2 "the response came as HEADERS, DATA, then trailing HEADERS (END_STREAM)"
sleep 0.3
d=$(flow_by_url "/trailers\\?raw$")
is "$(trailers_of request <<<"$d")" "x-checksum=abc grpc-timeout=1S" "API: the request's trailers recorded"
like "$(trailers_of response <<<"$d")" "^grpc-status=0 grpc-message=all good x-body-sha256=2cf24dba" \
    "API: the response's trailers recorded (the server saw the 5 bytes)"

# ---- an HTTP/1.1 client gets them as a chunked trailer section --------------------------
out=$(py "
import sys
sys.path.insert(0, '$E2E_DIR'); import httpc, socket, ssl
s = httpc.connect($HTTPEEK_PORT)
s.sendall(b'CONNECT upstream.test:$UP HTTP/1.1\r\nHost: upstream.test:$UP\r\n\r\n')
f = s.makefile('rb')
httpc.read_head(f)
ctx = ssl.create_default_context(cafile='$HTTPEEK_CA')
ctx.set_alpn_protocols(['http/1.1'])
t = ctx.wrap_socket(s, server_hostname='upstream.test')
t.sendall(b'POST /trailers?h1 HTTP/1.1\r\nHost: upstream.test:$UP\r\nTransfer-Encoding: chunked\r\n\r\n'
          b'3\r\nabc\r\n0\r\nx-h1-trailer: yes\r\n\r\n')
raw = b''
while not raw.endswith(b'\r\n\r\n') or b'\r\n0\r\n' not in raw:
    c = t.recv(65536)
    if not c:
        break
    raw += c
print(raw.split(b'\r\n0\r\n', 1)[1].decode().replace('\r\n', '|'))
")
is "$out" "grpc-status: 0|grpc-message: all good|x-body-sha256: $(printf abc | sha256sum | cut -d' ' -f1)||" \
    "an HTTP/1.1 client gets the server's trailers in the chunked end"
sleep 0.3
d=$(flow_by_url "/trailers\\?h1$")
is "$(trailers_of request <<<"$d")" "x-h1-trailer=yes" "API: an HTTP/1.1 client's chunked request trailers are recorded"

# ---- the viewer: a Trailers block under the headers ------------------------------------------
NODE=$(command -v node || command -v nodejs || true)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
JS=$REPO_ROOT/tests/js
if [ -n "$NODE" ] && [ -f "$JS/node_modules/playwright-core/package.json" ] && [ -x "$CHROMIUM" ]; then
    out=$(VIEWER_URL="$WEB" FLOW_URL_PART="/trailers?raw" CHROMIUM=$CHROMIUM HOME=$T \
          EXPECT_REQ="x-checksum=abc;grpc-timeout=1S;" \
          EXPECT_RESP="grpc-status=0;grpc-message=all good;x-body-sha256=$(printf hello | sha256sum | cut -d' ' -f1);" \
          timeout -k 5 60 "$NODE" "$JS/viewer-trailers.js" 2>&1)
    node_tap "$out"
else
    skip "the viewer shows trailers" "node, tests/js/node_modules or chromium missing"
fi

# ---- HAR ----------------------------------------------------------------------------------
stop_httpeek
"$HTTPEEK" export --session "$SESSION" --har "$T/out.har" 2>"$T/export.err"
is "$?" 0 "httpeek export writes the HAR"
is "$("$PYTHON" -c '
import json, sys
es = json.load(open(sys.argv[1]))["log"]["entries"]
e = [x for x in es if x["request"]["url"].endswith("/trailers?raw")][0]
plain = [x for x in es if x["request"]["url"].endswith("/trailers?h2")][0]
print(e["request"]["_trailers"], [t["name"] for t in e["response"]["_trailers"]], "_trailers" in plain["request"])
' "$T/out.har")" "[{'name': 'x-checksum', 'value': 'abc'}, {'name': 'grpc-timeout', 'value': '1S'}] ['grpc-status', 'grpc-message', 'x-body-sha256'] False" \
    "HAR: _trailers in request and response (only where there were trailers)"
if [ -n "$NODE" ] && [ -f "$REPO_ROOT/tests/js/node_modules/har-validator/package.json" ]; then
    out=$("$NODE" "$REPO_ROOT/tests/js/validate-har.js" "$T/out.har" 2>&1)
    like "$out" "^valid " "har-validator accepts the HAR with _trailers ($out)"
else
    skip "har-validator accepts the HAR with _trailers" "node or tests/js/node_modules missing"
fi

done_testing
