#!/usr/bin/env bash
# 58-http2-conn.sh — the h2 front's connection (--http2=yes, HTTP/1.1 upstream): GOAWAY NO_ERROR
# from httpeek on the idle timeout and on shutdown (streams in flight finish, new ones are not
# taken), raw frames from h2raw.py over the intercepted tunnel.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
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

done_testing
