#!/usr/bin/env bash
# 57-http2-upstream.sh — HTTP/2 towards servers (--http2=yes): nginx with `http2` on loopback
# behind intercepted CONNECT tunnels. h2 client ↔ h2 server (many streams of one client
# connection on one upstream connection, counted in nginx's access log by $connection), HTTP/1.1
# clients ↔ h2 server (two client connections of one client sharing one upstream connection),
# the flow facts (response HTTP/2.0, reused upstream, upstream ALPN h2), back-pressure on a
# 10 MiB download, and faults from a raw h2 server (h2_faulty.py): GOAWAY mid-load, RST_STREAM,
# REFUSED_STREAM retried once (over HTTP/2 again: tests/e2e/61-http2-streams.sh), PROTOCOL_ERROR.
source "$(dirname "$0")/lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "1..0 # SKIP nginx is not installed"; exit 0; }

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1

# ---- nginx: TLS with http2, access log naming each request's connection and protocol ----------
NG=$T/nginx
mkdir -p "$NG/www"
head -c 1000 /dev/urandom >"$NG/www/small"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$NG/www/big"
NGPORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 1024; }
http {
    log_format conns '\$connection \$server_protocol \$request_uri';
    access_log $NG/access.log conns;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$NGPORT ssl http2;
        server_name _;
        root $NG/www;
        location /up/ { client_max_body_size 10m; dav_methods PUT; create_full_put_path on; }
    }
}
EOF
spawn nginx 120 "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log"
wait_port "$NGPORT" 10 || { echo "Bail out! nginx did not start: $(cat "$NG/error.log" "$T/nginx.err")"; exit 1; }
BASE="https://upstream.test:$NGPORT"
# one worker: an upstream h2 connection is shared by the connections one worker thread serves
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --workers 1 -v
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
diag "httpeek on $HTTPEEK_PORT (--http2=yes), nginx (h2) on $NGPORT"

# access-log lines of requests whose URI matches: "connection protocol uri"
log_of() { grep -E " $1\$" "$NG/access.log" 2>/dev/null; }
# newest flow detail whose URL matches a regex
flow_by_url() {
    "$PYTHON" - "$WEB" "$1" <<'PY'
import json, re, sys, time, urllib.request
base, pat = sys.argv[1], sys.argv[2]
# a flow is listed once the store has committed it: under load (ASan, a busy CI machine) that can
# be later than the script's pause, so wait for it (up to 10 s) rather than answer "no flow"
for _ in range(100):
    fl = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if re.search(pat, f["url"])]
    if fl:
        break
    time.sleep(0.1)
print(json.dumps(json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, max(f["id"] for f in fl)),
                                                  timeout=10)) if fl else {}))
PY
}

# ---- h2 client ↔ h2 server ----------------------------------------------------------------------
pcurl_tls --http2 -o "$T/small" -w '%{http_version}' "$BASE/small?one" >"$T/ver"
is "$(cat "$T/ver")/$(file_sha "$T/small")" "2/$(file_sha "$NG/www/small")" "h2 client → h2 server: body identical"
like "$(log_of '/small\?one')" "HTTP/2.0" "nginx got the request over HTTP/2"
sleep 0.3
d=$(flow_by_url "/small\\?one$")
is "$(jq_py 'd["response"]["http_version"]' <<<"$d")" "HTTP/2.0" "API: the response came over HTTP/2.0"
is "$(jq_py 'd["tls"]["upstream"]["alpn"]' <<<"$d")" "h2" "API: upstream ALPN h2 in the TLS facts"
is "$(jq_py 'str(d["reused_upstream"]).lower()' <<<"$d")" "false" \
    "API: the first exchange on a new upstream h2 connection is not 'reused'"

urls=()
for i in $(seq 1 30); do urls+=(-o /dev/null "$BASE/small?par=$i"); done
pcurl_tls --http2 --parallel --parallel-max 30 -w '%{http_version} %{response_code}\n' "${urls[@]}" >"$T/par" 2>/dev/null
is "$(sort "$T/par" | uniq -c | awk '{print $1, $2, $3}')" "30 2 200" "30 parallel streams through httpeek: all 200 over h2"
is "$(log_of '/small\?par=[0-9]+' | wc -l)" "30" "nginx got the 30 requests"
is "$(log_of '/small\?par=[0-9]+' | awk '{print $1}' | sort -u | wc -l)" "1" \
    "the 30 streams of one client connection went out on one upstream h2 connection"
is "$(log_of '/small\?par=[0-9]+' | awk '{print $2}' | sort -u)" "HTTP/2.0" "... all over HTTP/2"

n=$((10 * 1024 * 1024))
pcurl_tls --http2 -o "$T/big" -w '%{http_version}' "$BASE/big?h2" >"$T/ver"
is "$(cat "$T/ver")/$(file_sha "$T/big")" "2/$(file_sha "$NG/www/big")" "10 MiB h2 → h2: body identical"
pcurl_tls --http1.1 -o "$T/big" --limit-rate 4M "$BASE/big?h1slow" -w '%{http_version}' >"$T/ver"
is "$(cat "$T/ver")/$(file_sha "$T/big")" "1.1/$(file_sha "$NG/www/big")" \
    "10 MiB HTTP/1.1 client (reading at 4 MB/s) ← h2 server: body identical"

# ---- HTTP/1.1 clients ↔ h2 server ---------------------------------------------------------------
pcurl_tls --http1.1 -o "$T/small" -w '%{http_version}' "$BASE/small?h1" >"$T/ver"
is "$(cat "$T/ver")/$(file_sha "$T/small")" "1.1/$(file_sha "$NG/www/small")" "HTTP/1.1 client → h2 server: body identical"
like "$(log_of '/small\?h1')" "HTTP/2.0" "... nginx got it over HTTP/2"
sleep 0.3
d=$(flow_by_url "/small\\?h1$")
is "$(jq_py 'd["request"]["http_version"] + " " + d["response"]["http_version"]' <<<"$d")" "HTTP/1.1 HTTP/2.0" \
    "API: request as the client sent it (HTTP/1.1), response as the server sent it (HTTP/2.0)"
api "$WEB/api/har" >"$T/har.json"
is "$(jq_py '[e["response"]["httpVersion"] for e in d["log"]["entries"] if e["request"]["url"].endswith("/small?h1")][0]' <"$T/har.json")" \
    "HTTP/2.0" "HAR: the response's httpVersion is HTTP/2.0"

# an Upgrade request (WebSocket) cannot ride an h2 stream (no RFC 8441): its own HTTP/1.1 connection
pcurl_tls --http1.1 -o /dev/null -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$BASE/small?upgrade"
like "$(log_of '/small\?upgrade')" "HTTP/1.1" "an Upgrade request goes to the h2 server over HTTP/1.1"

# HEAD, and request bodies as DATA frames (nginx stores what it got: PUT, then GET it back)
pcurl_tls --http1.1 -I -o /dev/null -w '%{response_code}' "$BASE/small?head" >"$T/code"
is "$(cat "$T/code")/$(log_of '/small\?head' | awk '{print $2}')" "200/HTTP/2.0" "HEAD from an HTTP/1.1 client over an h2 stream: 200"
head -c 300000 /dev/urandom >"$T/post"
for v in 1.1 2; do
    pcurl_tls --http$v -o /dev/null -w '%{response_code}' -T "$T/post" "$BASE/up/put$v" >"$T/code"
    is "$(cat "$T/code")/$(file_sha "$NG/www/up/put$v" 2>/dev/null)" "201/$(file_sha "$T/post")" \
        "PUT of 300000 bytes from an HTTP/$v client over an h2 stream: the server stored them unchanged"
done
sleep 0.3
is "$(flow_by_url '/up/put1.1$' | jq_py 'd["request"]["body_size"]')" "300000" "API: the request body recorded whole"

# two HTTP/1.1 connections of the same client at the same time: one upstream connection
pcurl_tls --http1.1 --parallel --parallel-max 2 -o /dev/null -o /dev/null \
    "$BASE/big?two=1" "$BASE/big?two=2" -w '%{num_connects}\n' >"$T/two" 2>/dev/null
is "$(log_of '/big\?two=[12]' | wc -l)" "2" "two HTTP/1.1 client connections: nginx got both requests"
is "$(log_of '/big\?two=[12]' | awk '{print $1}' | sort -u | wc -l)" "1" \
    "... on one upstream h2 connection (the same client's connections share it)"
sleep 0.3
a=$(flow_by_url "/big\\?two=1$")
b=$(flow_by_url "/big\\?two=2$")
is "$(jq_py 'str(d["reused_upstream"]).lower()' <<<"$a") $(jq_py 'str(d["reused_upstream"]).lower()' <<<"$b")" "true true" \
    "API: both flows say reused upstream connection (it carried earlier exchanges)"
# another client (127.0.0.2) while this one's connection is busy: never on it
pcurl_tls --http1.1 --limit-rate 4M -o /dev/null "$BASE/big?holder" &
holder=$!
sleep 0.5
pcurl_tls --http1.1 --interface 127.0.0.2 -o /dev/null "$BASE/small?other"
pcurl_tls --http1.1 -o /dev/null "$BASE/small?same"
wait "$holder"
conn_of() { log_of "$1" | awk '{print $1}'; }
is "$(conn_of '/small\?same')" "$(conn_of '/big\?holder')" "the same client's next connection shares the busy upstream connection"
isnt "$(conn_of '/small\?other')" "$(conn_of '/big\?holder')" "another client (127.0.0.2) never gets this client's upstream connection"
pcurl_tls --http1.1 -o /dev/null "$BASE/small?seq1" -o /dev/null "$BASE/small?seq2"
sleep 0.3
is "$(jq_py 'str(d["reused_upstream"]).lower()' <<<"$(flow_by_url '/small\?seq2$')")" "true" \
    "API: the second request of one HTTP/1.1 connection: reused"

# a known host on new client connections: this client's shared h2 connection serves them, and the
# tunnels make no upstream connection of their own (nginx numbers every connection it accepts in
# $connection: the next client's new connection must be the very next number)
pcurl_tls --http1.1 --interface 127.0.0.3 -o /dev/null "$BASE/small?known1"
pcurl_tls --http1.1 --interface 127.0.0.3 -o /dev/null "$BASE/small?known2"
pcurl_tls --http1.1 --interface 127.0.0.3 -o /dev/null "$BASE/small?known3"
pcurl_tls --http1.1 --interface 127.0.0.4 -o /dev/null "$BASE/small?known4"
k1=$(conn_of '/small\?known1'); k4=$(conn_of '/small\?known4')
is "$(conn_of '/small\?known2') $(conn_of '/small\?known3')" "$k1 $k1" \
    "a known host: the client's 2nd and 3rd connections go out on its shared h2 connection"
is "$((k4 - k1))" "1" "... and their tunnels made no upstream connection (nginx accepted none in between)"
sleep 0.3
for k in 2 3; do
    is "$(flow_by_url "/small\\?known$k\$" | jq_py '"%s %s %s %s %s" % (str(d["reused_upstream"]).lower(), d["response"]["http_version"], d["tls"]["upstream"]["alpn"], d["tls"]["upstream"]["handshake_done"], bool(d["tls"]["upstream"]["version"] and d["tls"]["upstream"]["peer_subject"]))')" \
        "true HTTP/2.0 h2 True True" "API: connection $k: reused upstream, HTTP/2.0, upstream TLS facts (ALPN h2, version, peer)"
done

# ---- the shared connection's TLS record buffers (uplink_h2.c): kept while streams come, given
# back 100 ms after the last one (-v says so on stderr) --------------------------------------------
released() { grep -c 'TLS buffers given back' "$HTTPEEK_ERR"; }
sleep 0.3
n0=$(released)
pcurl_tls --http1.1 -o /dev/null -o /dev/null -o /dev/null "$BASE/small?buf1" "$BASE/small?buf2" \
    "$BASE/small?buf3"
sleep 0.5
cmp_num "$(( $(released) - n0 ))" -ge 1 \
    "the h2 upstream connection gives its TLS buffers back 100 ms after a burst of streams"

# ---- --http2=no: HTTP/1.1 on both legs ----------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=no --workers 1
pcurl_tls --http2 -o /dev/null -w '%{http_version}' "$BASE/small?no" >"$T/ver"
is "$(cat "$T/ver")" "1.1" "--http2=no: the client gets HTTP/1.1"
like "$(log_of '/small\?no')" "HTTP/1.1" "--http2=no: nginx got the request over HTTP/1.1"
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
sleep 0.3
is "$(jq_py 'd["response"]["http_version"] + " " + d["tls"]["upstream"]["alpn"]' <<<"$(flow_by_url '/small\?no$')")" \
    "HTTP/1.1 http/1.1" "--http2=no: API says HTTP/1.1 and ALPN http/1.1 upstream"
start_httpeek --upstream-ca "$PKI/ca.pem" --workers 1
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
# an absolute-form https:// request as this httpeek's first request (a new
# upstream connection made for it, not a tunnel's)
curl -sS --max-time 10 -o "$T/abs" "http://127.0.0.1:$HTTPEEK_PORT" --request-target "$BASE/small?abs"
is "$(file_sha "$T/abs")" "$(file_sha "$NG/www/small")" "absolute-form https:// request → h2 server: body identical"
like "$(log_of '/small\?abs')" "HTTP/2.0" "... the new upstream connection offered h2 and the request went out as a stream"
pcurl_tls --http1.1 -o /dev/null "$BASE/small?default"
like "$(log_of '/small\?default')" "HTTP/2.0" "without --http2 (default yes): nginx gets HTTP/2"
# ---- faults from a raw h2 server ------------------------------------------------------------------
# start_faulty MODE [ARGS]: h2_faulty.py on a new port (FPORT), its log in $FOUT
start_faulty() {
    local mode=$1; shift
    FPORT=$(free_port)
    spawn "faulty-$mode-$FPORT" 120 "$PYTHON" "$E2E_DIR/h2_faulty.py" --port "$FPORT" --mode "$mode" \
        --cert "$PKI/server.pem" --key "$PKI/server.key" "$@"
    FOUT=$T/faulty-$mode-$FPORT.out
    wait_port "$FPORT" 10 || { echo "Bail out! h2_faulty.py did not start: $(cat "$T/faulty-$mode-$FPORT.err")"; exit 1; }
}
# newest flow of a URL: "status code-of-diagnosis reason"
flow_fail_of() {
    flow_by_url "$1" | jq_py '"%s %s %s" % (d["response"]["status"] if d.get("response") else 0, (d.get("diagnosis") or {}).get("code", 0), (d.get("failure") or {}).get("reason", ""))'
}

start_faulty refuse
pcurl_tls --http2 -o "$T/r" -w '%{response_code}' "https://upstream.test:$FPORT/refused" >"$T/code"
is "$(cat "$T/code")/$(cat "$T/r")" "200/ok 2" "REFUSED_STREAM: the request went out once more and was answered"
like "$(tr '\n' ' ' <"$FOUT")" "alpn h2 conn ([0-9]+) stream 1 req 1 conn \\1 stream 3 req 2" \
    "... as the next stream of the same h2 connection, after the h2 stream was refused"
sleep 0.3
like "$(flow_fail_of '/refused$')" "^200 0 \$" "API: the retried flow succeeded, no failure"

start_faulty rst
pcurl_tls --http2 -o /dev/null -w '%{response_code}' "https://upstream.test:$FPORT/reset" >"$T/code" 2>/dev/null
sleep 0.3
like "$(flow_fail_of '/reset$')" "^200 -1005 .*RST_STREAM INTERNAL_ERROR from the server" \
    "RST_STREAM from the server mid-body: -1005, the reason names the frame"

# back-pressure: a client reading 100 KB/s for 3 s lets the server send only what the windows
# and the buffers on the way hold, never the whole 64 MiB (the window goes back as the client takes)
for v in 1.1 2; do
    start_faulty big   # a server per run: the counts are per connection
    pcurl_tls --http$v --limit-rate 100K --max-time 3 -o /dev/null "https://upstream.test:$FPORT/big$v" 2>/dev/null
    sleep 0.6
    sent=$(grep -a "stream .* req 1\|sent " "$FOUT" | tail -1 | awk '$3 == "sent" {print $4}')
    diag "HTTP/$v client at 100 KB/s: the h2 server sent ${sent:-?} bytes in 3 s"
    # (curl gives an h2 stream a 32 MiB window: that much may pass to it, not the rest)
    limit=$((24 << 20)); [ "$v" = 2 ] && limit=$((48 << 20))
    if [ "${sent:-0}" -gt 0 ] && [ "$sent" -lt "$limit" ]; then
        pass "back-pressure: a slow HTTP/$v client holds the h2 server back"
    else
        fail "back-pressure: a slow HTTP/$v client holds the h2 server back" "sent ${sent:-none}"
    fi
done

# a client that gives up mid-download (an h2 client, and an HTTP/1.1 one): the server's stream
# is reset (CANCEL), the flow is -999
for v in 2 1.1; do
    start_faulty big
    pcurl_tls --http$v --limit-rate 100K --max-time 1 -o /dev/null "https://upstream.test:$FPORT/cancel$v" 2>/dev/null
    sleep 0.5
    like "$(grep -a reset "$FOUT")" "stream [0-9]+ reset 8" "HTTP/$v client gives up mid-download: the server's stream is reset (CANCEL)"
    like "$(flow_fail_of "/cancel$v\$")" "^200 -999 " "API: the HTTP/$v client's cancelled download is -999"
done

start_faulty goaway --keep 2
urls=()
for i in 1 2 3 4; do urls+=(-o /dev/null "https://upstream.test:$FPORT/ga/$i"); done
pcurl_tls --http2 --parallel --parallel-max 4 --parallel-immediate -w '%{response_code}\n' "${urls[@]}" >"$T/ga" 2>/dev/null
sleep 0.5
is "$(sort "$T/ga" | tr '\n' ' ')" "200 200 502 502 " \
    "GOAWAY mid-load (last stream = the 2nd request): two answered, two failed"
ga=$(for i in 1 2 3 4; do flow_fail_of "/ga/$i\$"; done | sort)
is "$(grep -c '^200 0 ' <<<"$ga")" "2" "API: the two streams at or below last-stream-id completed"
is "$(grep -c '^0 -1005 .*GOAWAY from the server (last stream [0-9]*): stream [0-9]* not processed' <<<"$ga")" "2" \
    "API: only the streams above last-stream-id failed, as -1005 naming the GOAWAY"

start_faulty protoerr
pcurl_tls --http2 -o /dev/null "https://upstream.test:$FPORT/proto" 2>/dev/null
sleep 0.3
like "$(flow_fail_of '/proto$')" "^0 -1005 .*GOAWAY PROTOCOL_ERROR from the server .*bad frame from client" \
    "GOAWAY PROTOCOL_ERROR from the server: the diagnosis names it, with its debug data"

# ---- trailers (gRPC's grpc-status) ------------------------------------------------------------------
start_faulty trailers
pcurl_tls --http2 -o "$T/tb" -D "$T/th" "https://upstream.test:$FPORT/tr2"
like "$(tr -d '\r' <"$T/th" | tr '\n' ' ')" "grpc-status: 0 grpc-message: fine" "h2 client: the h2 server's trailers arrive as trailers"
pcurl_tls --http1.1 -o "$T/tb1" -D "$T/th1" "https://upstream.test:$FPORT/tr1"
like "$(tr -d '\r' <"$T/th1" | tr '\n' ' ')" "[Tt]ransfer-[Ee]ncoding: chunked .*grpc-status: 0 grpc-message: fine" \
    "HTTP/1.1 client: the h2 server's trailers arrive in the chunked trailer section"
is "$(od -An -tx1 "$T/tb1" | tr -d ' \n')" "00000000026869" "... after the body, unchanged"
sleep 0.3
is "$(flow_by_url '/tr1$' | jq_py '" ".join("%s=%s" % (t["name"], t["value"]) for t in d["response"]["trailers"])')" \
    "grpc-status=0 grpc-message=fine" "API: the response's trailers are recorded with the flow"
api "$WEB/api/har" >"$T/har.json"
is "$(jq_py '[" ".join("%s=%s" % (t["name"], t["value"]) for t in e["response"]["_trailers"]) for e in d["log"]["entries"] if e["request"]["url"].endswith("/tr2")][0]' <"$T/har.json")" \
    "grpc-status=0 grpc-message=fine" "HAR: response _trailers"

done_testing
