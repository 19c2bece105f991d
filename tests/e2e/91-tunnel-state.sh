#!/usr/bin/env bash
# 91-tunnel-state.sh — what an intercepted tunnel keeps while it idles (S5 of issue 21), and that
# the client sees no difference. Names are held at their length (name_str.h): a CONNECT to a
# name longer than the old 255-byte fields is refused as before, naming it. The h2 front
# forgets a stream once it closed (nghttp2's
# no_closed_streams: an idle connection holds none of them, S5 of issue 21), and still answers a
# client that sends HEADERS on one of its last closed streams as when nghttp2 kept them: a
# connection error STREAM_CLOSED (RFC 9113 5.1) named in the connection's record, for a stream
# that ended both ways three streams ago and for one the client reset. (58-http2-conn checks
# HEADERS on the stream that just ended. A DATA frame on a closed stream is now ignored, as
# nghttp2 does for streams it no longer knows; it was a STREAM_CLOSED too.) Raw frames from
# h2raw.py over the intercepted tunnel.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 older.alias.test=127.0.0.1 reset.alias.test=127.0.0.1
L60=$(printf 'a%.0s' $(seq 60))
LONG="$L60.$L60.$L60.$L60.$L60.test" # 309 characters
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# h2case HOST WHAT: what httpeek answers ("GOAWAY CODE LAST", or "none" when no GOAWAY came)
h2case() {
    py "
import struct, sys
sys.path.insert(0, '$E2E_DIR'); import h2raw
host, what = '$1', '$2'
auth = '%s:$UP' % host
c = h2raw.Conn(h2raw.tunnel($HTTPEEK_PORT, host, $UP, '$HTTPEEK_CA'))
def get(sid):
    c.send(h2raw.headers(sid, h2raw.request_fields('GET', auth, '/bytes/10'), end_stream=True))
    c.run_until(lambda c: sid in c.ended)
if what == 'older':     # HEADERS on stream 1 after streams 3, 5, 7 ended too
    for sid in (1, 3, 5, 7):
        get(sid)
    c.send(h2raw.headers(1, h2raw.request_fields('GET', auth, '/bytes/10'), end_stream=True))
elif what == 'reset':   # the client resets an upload, then sends trailers on it
    c.send(h2raw.headers(1, h2raw.request_fields('POST', auth, '/echo')))
    c.send(h2raw.rst_stream(1, 8))
    get(3)
    c.send(h2raw.headers(1, [('x-trailer', 'late')], end_stream=True))
c.run_until(lambda c: c.closed or c.goaway, timeout=2)
if c.goaway:
    print('GOAWAY', h2raw.error_name(c.goaway[1]), c.goaway[0])
else:
    print('none')
"
}
# the failure of the newest flow whose URL matches: "kind|diag_code|reason"
failure_of() {
    sleep 0.3
    "$PYTHON" - "$WEB" "$1" <<'PY'
import json, re, sys, urllib.request
base, pat = sys.argv[1], sys.argv[2]
fl = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if re.search(pat, f["url"])]
d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, max(f["id"] for f in fl)), timeout=10)) if fl else {}
print("%s|%s|%s" % (d.get("kind"), d.get("diag_code"), (d.get("failure") or {}).get("reason")))
PY
}

code=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 20 -x "http://127.0.0.1:$HTTPEEK_PORT" \
    "https://$LONG:$UP/")
is "$code" "400" "CONNECT to a 309-character name: 400"
out=$(failure_of "^aaaa")
diag "${out:0:120}"
like "$out" "^tunnel\|.*\|CONNECT needs host:port, got 'a{60}\.a{39}" \
    "its flow names the first 100 characters of what the client sent"

is "$(h2case older.alias.test older)" "GOAWAY STREAM_CLOSED 7" \
    "HEADERS on stream 1 after three more streams ended: GOAWAY STREAM_CLOSED (last stream 7)"
out=$(failure_of "older\.alias\.test")
diag "$out"
like "$out" "^tunnel\|-1005\|GOAWAY STREAM_CLOSED sent: HEADERS frame on stream 1" \
    "the record names the HEADERS frame on stream 1"

is "$(h2case reset.alias.test reset)" "GOAWAY STREAM_CLOSED 3" \
    "HEADERS on a stream the client reset (another served since): GOAWAY STREAM_CLOSED"

done_testing
