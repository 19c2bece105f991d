#!/usr/bin/env bash
# 61-http2-streams.sh — HTTP/2 streams as flow facts and what travels on them (--http2=yes),
# against Node's own http2 server (h2_echo.js: answers with what it received — stream id, body
# length and hash, trailers — and can refuse a stream):
#   - the client's stream id and the upstream stream id in the flow (API `http2`, HAR `_streamId`
#     / `_upstreamStreamId`): three requests on one curl h2 connection are streams 1, 3, 5; the
#     upstream ids are the server's own view;
#   - REFUSED_STREAM: the request goes out once more over HTTP/2 on the same shared connection,
#     with its body; after a GOAWAY on a new connection; a body over the 64 KiB kept for a
#     retry is not sent again and the diagnosis says why;
#   - request trailers (an h2 client's, a chunked HTTP/1.1 client's) reach an h2 server as a
#     trailing HEADERS frame.
source "$(dirname "$0")/lib.sh"

NODE=$(command -v node || true)
[ -n "$NODE" ] || { echo "1..0 # SKIP node is not installed"; exit 0; }

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream
H1PORT=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --workers 1
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# start_echo MODE: h2_echo.js on a new port (EPORT, a new origin: a new upstream connection), its
# log in $EOUT
start_echo() {
    EPORT=$(free_port)
    spawn "echo-$1-$EPORT" 120 "$NODE" "$E2E_DIR/h2_echo.js" --port "$EPORT" --mode "$1" \
        --cert "$PKI/server.pem" --key "$PKI/server.key"
    EOUT=$T/echo-$1-$EPORT.out
    wait_port "$EPORT" 10 || { echo "Bail out! h2_echo.js did not start: $(cat "$T/echo-$1-$EPORT.err")"; exit 1; }
}
flow_by_url() {
    "$PYTHON" - "$WEB" "$1" <<'PY'
import json, re, sys, urllib.request
base, pat = sys.argv[1], sys.argv[2]
fl = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if re.search(pat, f["url"])]
print(json.dumps(json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, max(f["id"] for f in fl)),
                                                  timeout=10)) if fl else {}))
PY
}
# "client-id upstream-id" of the newest flow of a URL (null: that leg spoke HTTP/1; http2 null: -)
ids_of() { flow_by_url "$1" | jq_py '"%s %s" % ((d["http2"] or {}).get("stream_id"), (d["http2"] or {}).get("upstream_stream_id")) if d.get("http2") else "-"'; }
# a field of a JSON answer in file $1
field() { jq_py "d['$2']" <"$1"; }

# ---- stream ids ---------------------------------------------------------------------------------
start_echo echo
BASE="https://upstream.test:$EPORT"
pcurl_tls --http2 -o "$T/s1" "$BASE/sid/a" -o "$T/s2" "$BASE/sid/b" -o "$T/s3" "$BASE/sid/c"
sleep 0.3
is "$(ids_of '/sid/a$' | cut -d' ' -f1) $(ids_of '/sid/b$' | cut -d' ' -f1) $(ids_of '/sid/c$' | cut -d' ' -f1)" "1 3 5" \
    "API: three requests on one h2 connection: http2.stream_id 1, 3, 5 as curl sent them"
got=""; want=""
for x in a b c; do
    n=$((${#got} ? 1 : 0))
    got+="$(ids_of "/sid/$x\$" | cut -d' ' -f2) "
    want+="$(field "$T/s$([ $x = a ] && echo 1 || { [ $x = b ] && echo 2 || echo 3; })" stream_id) "
done
is "$got" "$want" "API: http2.upstream_stream_id is the stream id the server saw ($want)"
pcurl_tls --http1.1 -o "$T/s4" "$BASE/sid/h1client"
sleep 0.3
is "$(ids_of '/sid/h1client$')" "None $(field "$T/s4" stream_id)" \
    "HTTP/1.1 client → h2 server: stream_id null, upstream_stream_id the server's"
pcurl -o /dev/null "http://upstream.test:$H1PORT/plain"
sleep 0.3
is "$(ids_of '/plain$')" "-" "HTTP/1.1 both ways: http2 is null"
api "$WEB/api/har" >"$T/har.json"
is "$(jq_py '" ".join("%s/%s" % (e.get("_streamId"), e.get("_upstreamStreamId")) for e in d["log"]["entries"] if "/sid/" in e["request"]["url"] or e["request"]["url"].endswith("/plain"))' <"$T/har.json")" \
    "1/$(field "$T/s1" stream_id) 3/$(field "$T/s2" stream_id) 5/$(field "$T/s3" stream_id) None/$(field "$T/s4" stream_id) None/None" \
    "HAR: _streamId and _upstreamStreamId per entry, absent for HTTP/1"

# the viewer's Overview: "Stream" next to the connection facts
NODE_JS=$REPO_ROOT/tests/js
if [ ! -f "$NODE_JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "the Overview's Stream row" "tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
else
    fid=$(flow_by_url '/sid/b$' | jq_py 'd["id"]')
    pid=$(flow_by_url '/plain$' | jq_py 'd["id"]')
    out=$(VIEWER="$WEB/" FLOW=$fid CLIENT_SID=3 UPSTREAM_SID="$(field "$T/s2" stream_id)" PLAIN=$pid HOME=$T \
          timeout -k 5 60 "$NODE" "$NODE_JS/viewer-stream.js" 2>&1)
    node_tap "$out"
fi

# ---- REFUSED_STREAM: once more over HTTP/2 ------------------------------------------------------
head -c 10000 /dev/urandom >"$T/body10k"
start_echo refuse
BASE="https://upstream.test:$EPORT"
pcurl_tls --http2 -o "$T/r1" -w '%{response_code}' --data-binary @"$T/body10k" "$BASE/refused/post" >"$T/code"
is "$(cat "$T/code") $(field "$T/r1" proto) $(field "$T/r1" body_len) $(field "$T/r1" body_sha256)" \
    "200 h2 10000 $(file_sha "$T/body10k")" \
    "REFUSED_STREAM on a POST: sent again over HTTP/2 with its whole body"
like "$(tr '\n' ' ' <"$EOUT")" "conn 1 stream 1 POST /refused/post refused conn 1 stream 3 POST /refused/post body 10000" \
    "... on the same connection, as the next stream (the server saw stream 1 refused, then stream 3)"
sleep 0.3
d=$(flow_by_url '/refused/post$')
is "$(jq_py '"%s %s %s" % (d["response"]["status"], d["failure"], d["http2"]["upstream_stream_id"])' <<<"$d")" "200 None 3" \
    "API: the retried flow succeeded; upstream_stream_id is the retried stream's"
like "$(jq_py 'd["note"]' <<<"$d")" "sent once more: the server did not process it \(RST_STREAM REFUSED_STREAM" \
    "API: the flow's note says it was sent once more, and why"

start_echo refuse
BASE="https://upstream.test:$EPORT"
pcurl_tls --http1.1 -o "$T/r2" -w '%{response_code}' "$BASE/refused/get" >"$T/code"
is "$(cat "$T/code") $(field "$T/r2" proto) $(field "$T/r2" refused_before)" "200 h2 1" \
    "REFUSED_STREAM on an HTTP/1.1 client's GET: sent again over HTTP/2 on the same connection (was: HTTP/1.1)"


head -c 100000 /dev/urandom >"$T/body100k"
start_echo refuse
BASE="https://upstream.test:$EPORT"
pcurl_tls --http2 -o "$T/r3" -w '%{response_code}' --data-binary @"$T/body100k" "$BASE/refused/big" >"$T/code" 2>/dev/null
sleep 0.3
is "$(cat "$T/code")" "502" "REFUSED_STREAM on a 100 KB POST: not sent again (502)"
like "$(flow_by_url '/refused/big$' | jq_py 'd["failure"]["reason"]')" \
    "RST_STREAM REFUSED_STREAM from the server; not sent again: its body is larger than the 64 KiB kept for a retry" \
    "API: the failure says the body was too large to be kept for a retry"
is "$(grep -c 'POST /refused/big' "$EOUT")" "1" "... and the server saw it once"

start_echo refuse-goaway
BASE="https://upstream.test:$EPORT"
pcurl_tls --http2 -o "$T/r4" -w '%{response_code}' "$BASE/goaway/get" >"$T/code"
is "$(cat "$T/code") $(field "$T/r4" proto) $(field "$T/r4" conn)" "200 h2 2" \
    "GOAWAY, then REFUSED_STREAM: sent again over HTTP/2 on a new connection"
pcurl_tls --http2 -o "$T/r5" -w '%{response_code}' --data-binary @"$T/body10k" "$BASE/goaway/post" >"$T/code"
is "$(cat "$T/code") $(field "$T/r5" body_len) $(field "$T/r5" body_sha256)" "200 10000 $(file_sha "$T/body10k")" \
    "... a POST too, with its whole body, on a new connection"

# ---- request trailers to an h2 server -----------------------------------------------------------
start_echo echo
out=$(PY_TIMEOUT=20 py "
import sys, json
sys.path.insert(0, '$E2E_DIR'); import h2raw
c = h2raw.Conn(h2raw.tunnel($HTTPEEK_PORT, 'upstream.test', $EPORT, '$HTTPEEK_CA'))
c.send(h2raw.headers(1, h2raw.request_fields('POST', 'upstream.test:$EPORT', '/tr/h2', [('te', 'trailers')])),
       h2raw.frame(h2raw.DATA, 0, 1, b'hello'),
       h2raw.headers(1, [('grpc-status', '0'), ('x-checksum', 'abc123')], end_stream=True))
c.run_until(lambda c: 1 in c.ended or 1 in c.resets)
print(c.data.get(1, b'').decode())
")
is "$(jq_py '"%s %s" % (d["body_len"], ",".join("%s=%s" % kv for kv in sorted(d["trailers"].items())))' <<<"$out")" \
    "5 grpc-status=0,x-checksum=abc123" "h2 client's request trailers reach the h2 server as trailing HEADERS"
out=$(PY_TIMEOUT=20 py "
import socket, ssl
s = socket.create_connection(('127.0.0.1', $HTTPEEK_PORT), timeout=10)
s.sendall(b'CONNECT upstream.test:$EPORT HTTP/1.1\r\nHost: upstream.test:$EPORT\r\n\r\n')
h = b''
while b'\r\n\r\n' not in h: h += s.recv(1)
ctx = ssl.create_default_context(cafile='$HTTPEEK_CA'); ctx.set_alpn_protocols(['http/1.1'])
t = ctx.wrap_socket(s, server_hostname='upstream.test')
t.sendall(b'POST /tr/h1 HTTP/1.1\r\nHost: upstream.test:$EPORT\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc123\r\n\r\n')
r = b''
while True:
    c = t.recv(65536)
    if not c: break
    r += c
print(r.split(b'\r\n\r\n', 1)[1].decode())
")
is "$(jq_py '"%s %s" % (d["body_len"], ",".join("%s=%s" % kv for kv in sorted(d["trailers"].items())))' <<<"$out")" \
    "5 x-checksum=abc123" "chunked HTTP/1.1 client's request trailers reach the h2 server as trailing HEADERS"
sleep 0.3
is "$(flow_by_url '/tr/h1$' | jq_py '" ".join("%s=%s" % (t["name"], t["value"]) for t in d["request"]["trailers"])')" \
    "x-checksum=abc123" "API: the request's trailers are recorded with the flow"

done_testing
