#!/usr/bin/env bash
# 58-http2-conn.sh — the h2 front's connection (--http2=yes, HTTP/1.1 upstream): GOAWAY NO_ERROR
# from httpeek on the idle timeout and on shutdown (streams in flight finish, new ones are not
# taken); a client that breaks the protocol (bad preface, HEADERS on a closed stream, a bad
# SETTINGS value, a CONTINUATION flood, DATA past the stream's window) gets the right GOAWAY or
# RST_STREAM code, and the flow or connection record names what it did wrong; slow readers on
# some streams (no WINDOW_UPDATE) never stall the other streams of the connection, and httpeek
# does not buffer their bodies (peak RSS). Raw frames from h2raw.py over the intercepted tunnel.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 preface.alias.test=127.0.0.1 closed.alias.test=127.0.0.1 \
    settings.alias.test=127.0.0.1 cont.alias.test=127.0.0.1 window.alias.test=127.0.0.1 \
    inflight.alias.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
BASE="https://upstream.test:$UP"

# ---- GOAWAY on the idle timeout ------------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --idle-timeout 1
out=$(py "
import sys, time
sys.path.insert(0, '$E2E_DIR'); import h2raw
c = h2raw.Conn(h2raw.tunnel($HTTPEEK_PORT, 'upstream.test', $UP, '$HTTPEEK_CA'))
c.send(h2raw.headers(1, h2raw.request_fields('GET', 'upstream.test:$UP', '/bytes/10'), end_stream=True))
c.run_until(lambda c: 1 in c.ended)
t0 = time.monotonic()
c.run_until(lambda c: c.goaway is not None)
t1 = time.monotonic()
c.run_until(lambda c: c.closed, timeout=5)
g = c.goaway or (None, None, '')
print('%s %s %s %s %.1f' % (len(c.data.get(1, b'')), g[0], h2raw.error_name(g[1]) if g[1] is not None else None,
                            c.closed, t1 - t0))
")
diag "idle: $out"
is "$(cut -d' ' -f1-4 <<<"$out")" "10 1 NO_ERROR True" \
    "idle for --idle-timeout: GOAWAY NO_ERROR naming the last stream (1), then the connection closes"
cmp_num "$(cut -d' ' -f5 <<<"$out" | tr -d .)" -ge 7 "the GOAWAY came after about 1 s idle, not at once"

# ---- GOAWAY on shutdown: the stream in flight finishes, no new one is taken -----------------
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
out=$(py "
import os, signal, sys, time
sys.path.insert(0, '$E2E_DIR'); import h2raw
c = h2raw.Conn(h2raw.tunnel($HTTPEEK_PORT, 'upstream.test', $UP, '$HTTPEEK_CA'))
c.send(h2raw.headers(1, h2raw.request_fields('GET', 'upstream.test:$UP', '/slow/1'), end_stream=True))
c.run_until(lambda c: False, timeout=0.3)
os.kill($pid, signal.SIGTERM)
order = []
def seen(c, f):
    t, flags, sid, _ = f
    if t == h2raw.GOAWAY:
        order.append('goaway')
        c.send(h2raw.headers(3, h2raw.request_fields('GET', 'upstream.test:$UP', '/bytes/5'), end_stream=True))
    if sid == 1 and 1 in c.ended and 'end1' not in order:
        order.append('end1')
c.run_until(lambda c: c.closed, timeout=8, on_frame=seen)
g = c.goaway or (None, None, '')
print(' '.join(order), g[0], h2raw.error_name(g[1]) if g[1] is not None else None, c.data.get(1, b'')[:5],
      3 in c.headers or 3 in c.data, c.closed)
")
diag "shutdown: $out"
like "$out" "^goaway end1 1 NO_ERROR " "SIGTERM: GOAWAY NO_ERROR (last stream 1) first, then stream 1's response ends"
like "$out" " False True$" "a stream opened after the GOAWAY gets no response; the connection closes when stream 1 is done"
for i in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
ok "httpeek exited after the drain" bash -c "! kill -0 $pid 2>/dev/null"

# curl: a download in progress over h2 completes across SIGTERM
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
CURL_MAX_TIME=10 pcurl_tls --http2 -o "$T/slow" -w '%{http_version} %{http_code}' "$BASE/slow/1" >"$T/slow.code" 2>"$T/slow.err" &
curl_pid=$!
sleep 0.4
kill -TERM "$pid"
wait "$curl_pid"
is "$(cat "$T/slow.code")" "2 200" "curl --http2: the exchange in progress at SIGTERM finishes (200 over HTTP/2)"

# ---- a client that breaks the protocol ------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
# run SCENARIO on a fresh connection to HOST; prints the GOAWAY (or RST_STREAM 1) code and text
h2bad() {
    py "
import struct, sys
sys.path.insert(0, '$E2E_DIR'); import h2raw
host, what = '$1', '$2'
auth = '%s:$UP' % host
t = h2raw.tunnel($HTTPEEK_PORT, host, $UP, '$HTTPEEK_CA')
get1 = h2raw.headers(1, h2raw.request_fields('GET', auth, '/bytes/10'), end_stream=True)
if what == 'preface':
    t.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    c = h2raw.Conn(t, preface=False)
elif what == 'closed':
    c = h2raw.Conn(t)
    c.send(get1)
    c.run_until(lambda c: 1 in c.ended)
    c.send(get1)
elif what == 'settings':
    c = h2raw.Conn(t, [(h2raw.SETTINGS_ENABLE_PUSH, 2)])
elif what == 'continuation':
    c = h2raw.Conn(t)
    blk = h2raw.block(h2raw.request_fields('GET', auth, '/bytes/10'))
    c.send(h2raw.frame(h2raw.HEADERS, h2raw.END_STREAM, 1, blk[:20]),
           *[h2raw.frame(h2raw.CONTINUATION, 0, 1, b'') for _ in range(20)])
elif what == 'inflight':
    c = h2raw.Conn(t)
    c.send(h2raw.headers(1, h2raw.request_fields('GET', auth, '/slow/2'), end_stream=True))
    c.run_until(lambda c: False, timeout=0.3)
    c.send(h2raw.frame(h2raw.DATA, 0, 0, b'x'))
elif what == 'window':
    c = h2raw.Conn(t)
    c.send(h2raw.headers(1, h2raw.request_fields('POST', auth, '/noread/3')))
    chunk = h2raw.frame(h2raw.DATA, 0, 1, b'x' * 16384)
    for i in range(512):
        c.send(chunk)
        if 1 in c.resets:
            break
        c.run_until(lambda c: 1 in c.resets, timeout=0.001)
c.run_until(lambda c: c.closed or c.goaway or 1 in c.resets, timeout=10)
if c.goaway:
    print('GOAWAY', h2raw.error_name(c.goaway[1]), c.goaway[0])
elif 1 in c.resets:
    print('RST_STREAM', h2raw.error_name(c.resets[1]), 1)
else:
    print('none closed=%s' % c.closed)
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

is "$(h2bad preface.alias.test preface)" "GOAWAY PROTOCOL_ERROR 0" "bad connection preface: GOAWAY PROTOCOL_ERROR"
out=$(failure_of "preface\.alias\.test")
diag "$out"
like "$out" "^tunnel\|-1005\|.*not an HTTP/2 connection preface" \
    "recorded on the connection's flow, naming the bad preface (-1005, not a refusal of httpeek's certificate)"

is "$(h2bad closed.alias.test closed)" "GOAWAY STREAM_CLOSED 1" "HEADERS on a closed stream: GOAWAY STREAM_CLOSED"
out=$(failure_of "closed\.alias\.test")
diag "$out"
like "$out" "^tunnel\|-1005\|GOAWAY STREAM_CLOSED sent: HEADERS frame on stream 1" \
    "after its streams ended, a connection record names the frame (HEADERS on stream 1)"

is "$(h2bad settings.alias.test settings)" "GOAWAY PROTOCOL_ERROR 0" "SETTINGS_ENABLE_PUSH 2: GOAWAY PROTOCOL_ERROR"
out=$(failure_of "settings\.alias\.test")
diag "$out"
like "$out" "^tunnel\|-1005\|GOAWAY PROTOCOL_ERROR sent: SETTINGS frame: SETTINGS_ENABLE_PUSH 2 \(must be 0 or 1\)" \
    "the record names the SETTINGS frame and the bad value"

like "$(h2bad cont.alias.test continuation)" "^GOAWAY ENHANCE_YOUR_CALM " "CONTINUATION flood: GOAWAY ENHANCE_YOUR_CALM"
out=$(failure_of "cont\.alias\.test")
diag "$out"
like "$out" "^tunnel\|-1005\|.*CONTINUATION flood" "the record names the CONTINUATION flood"

is "$(h2bad window.alias.test window)" "RST_STREAM FLOW_CONTROL_ERROR 1" \
    "DATA past the stream's window (the server does not read): RST_STREAM FLOW_CONTROL_ERROR"
out=$(failure_of "window\.alias\.test.*/noread")
diag "$out"
like "$out" "^http\|-1005\|RST_STREAM FLOW_CONTROL_ERROR sent: DATA frames on stream 1: more than its flow-control window" \
    "the stream's flow names the DATA frames past its window"

is "$(h2bad inflight.alias.test inflight)" "GOAWAY PROTOCOL_ERROR 1" "DATA on stream 0: GOAWAY PROTOCOL_ERROR"
out=$(failure_of "inflight\\.alias\\.test.*/slow")
diag "$out"
like "$out" "^http\|-1005\|GOAWAY PROTOCOL_ERROR sent: DATA: stream_id == 0" \
    "the stream in flight fails as a lost connection (-1005) whose reason names the frame"

# ---- slow readers: four streams never give window back, twenty others complete ---------------
SANITIZED=
if sanitized; then SANITIZED=1; fi
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes
pid=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
SLOW_SIZE=33554432
out=$(PY_TIMEOUT=60 py "
import sys, time
sys.path.insert(0, '$E2E_DIR'); import h2raw
def vm(key):
    for line in open('/proc/$pid/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) // 1024
auth = 'upstream.test:$UP'
c = h2raw.Conn(h2raw.tunnel($HTTPEEK_PORT, 'upstream.test', $UP, '$HTTPEEK_CA'),
               [(h2raw.SETTINGS_INITIAL_WINDOW_SIZE, 65535)])
c.send(h2raw.window_update(0, 2**31 - 1 - 65535))
c.run_until(lambda c: False, timeout=0.3)
base = vm('VmRSS')
slow, fast = [1, 3, 5, 7], list(range(9, 49, 2))
for sid in slow:
    c.send(h2raw.headers(sid, h2raw.request_fields('GET', auth, '/bytes/$SLOW_SIZE'), end_stream=True))
for sid in fast:
    c.send(h2raw.headers(sid, h2raw.request_fields('GET', auth, '/bytes/%d' % (100000 + sid)), end_stream=True))
def give_back(c, f):
    t, flags, sid, payload = f
    if t == h2raw.DATA and sid in fast and payload:
        c.send(h2raw.window_update(sid, len(payload)))
t0 = time.monotonic()
c.run_until(lambda c: all(s in c.ended for s in fast), timeout=40, on_frame=give_back)
took = time.monotonic() - t0
c.run_until(lambda c: False, timeout=2, on_frame=give_back)  # let httpeek fill what it would
good = sum(1 for s in fast if s in c.ended and len(c.data.get(s, b'')) == 100000 + s)
print(good, ' '.join(str(len(c.data.get(s, b''))) for s in slow), sum(1 for s in slow if s in c.ended),
      '%.1f' % took, vm('VmHWM') - base)
c.send(*[h2raw.rst_stream(s, 8) for s in slow])
")
diag "slow readers: $out (fast streams complete, bytes each slow stream got, slow streams ended, seconds, peak RSS growth MiB)"
read -r good slowgot slowended took grow <<<"$(awk '{print $1, $2"/"$3"/"$4"/"$5, $6, $7, $8}' <<<"$out")"
is "$good" 20 "twenty streams complete with their whole bodies while four streams of the connection read nothing"
is "$slowgot/$slowended" "65535/65535/65535/65535/0" "each slow stream got exactly its window (65535 bytes) and no more"
if [ -n "$SANITIZED" ]; then
    skip "httpeek does not buffer the slow streams' bodies" "an ASan build: RSS means nothing"
else
    cmp_num "${grow:-999}" -lt 32 "httpeek does not buffer the slow streams' 4 x 32 MiB: peak RSS grew ${grow} MiB (< 32)"
fi

done_testing
