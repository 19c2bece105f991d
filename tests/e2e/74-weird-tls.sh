#!/usr/bin/env bash
# 74-weird-tls.sh — odd things after CONNECT: no SNI, an IP, IDN (punycode and raw UTF-8), names
# of 255 / 256 / 1000 bytes, invalid characters, a ClientHello spread over many TLS records or
# TCP segments or never finished, garbage and stray TLS records. Each one ends in bounded time as
# one recorded flow (intercepted, relayed as malformed, or failed with a reason), and the proxy
# keeps serving.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet; UP=$UPSTREAM_PORT
start_upstream --quiet; PLAINUP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --header-timeout 2 --session "$T/s.sqlite"
H="$E2E_DIR/hostile.py"
NT=0  # tunnels opened
# hello DESC EXPECTED-ERE ARGS...: a hand-made ClientHello after CONNECT upstream.test:$UP
hello() {
    local desc=$1 want=$2 out; shift 2
    NT=$((NT + 1))
    out=$(timeout -k 2 20 "$PYTHON" "$H" hello "$HTTPEEK_PORT" "upstream.test:$UP" "$@" 2>&1 | tail -n 1)
    like "$out" "^200 ($want)\$" "$desc: $out"
}
# pytls DESC TARGET SNI EXPECTED-ERE [--split N]: Python's ssl client through the tunnel, GET /
pytls() {
    local desc=$1 target=$2 sni=$3 want=$4 out; shift 4
    NT=$((NT + 1))
    out=$(timeout -k 2 20 "$PYTHON" "$H" tls "$HTTPEEK_PORT" "$target" "$sni" "$HTTPEEK_CA" "$@" 2>&1 | tail -n 1)
    like "$out" "^200 ($want)\$" "$desc: $out"
}

pytls "no SNI: intercepted with a leaf for the CONNECT host" "upstream.test:$UP" - "resp:HTTP/1.1 404 Not Found"
pytls "CONNECT to an IP, no SNI: intercepted (IP SAN)" "127.0.0.1:$UP" - "resp:HTTP/1.1 404 Not Found"
pytls "ClientHello sent one byte per TCP segment" "upstream.test:$UP" upstream.test "resp:HTTP/1.1 404 Not Found" --split 1
pytls "punycode IDN SNI the upstream does not serve: handshake, then a 502 naming it" "upstream.test:$UP" xn--bcher-kva.test "resp:HTTP/1.1 502 Bad Gateway"
like "$(log_lines 'xn--bcher-kva' | head -n 1)" "FAILED upstream_tls: .*xn--bcher-kva\.test.*mismatch" "the IDN flow says the upstream certificate does not match the name"

hello "hand-made hello, no SNI" "tls-handshake" -
hello "SNI is an IP literal" "tls-handshake" 127.0.0.1
hello "SNI punycode" "tls-handshake" xn--bcher-kva.test
hello "SNI empty" "tls-handshake" @
hello "SNI with a trailing dot" "tls-handshake" upstream.test.
hello "SNI with a space" "tls-handshake|closed" "a b.test"
L63=$(printf 'a%.0s' $(seq 63))
hello "SNI of 255 bytes" "tls-handshake" "$L63.$L63.$L63.$(printf 'b%.0s' $(seq 61))"
hello "SNI of 256 bytes: relayed as malformed" "tls-alert|closed" "$L63.$L63.$L63.$(printf 'b%.0s' $(seq 62))"
hello "SNI of 1000 bytes: relayed as malformed" "tls-alert|closed" "$(printf 'c%.0s' $(seq 1000))"
hello "SNI raw UTF-8 (IDN not punycoded): relayed as malformed" "tls-alert|closed" "@$(printf 'b\xc3\xbccher.test' | od -An -tx1 | tr -d ' \n')"
hello "SNI with a NUL byte: relayed as malformed" "tls-alert|closed" @61006263
hello "SNI label of 64 bytes: no leaf, closed" "closed|tls-alert" "$(printf 'd%.0s' $(seq 64)).test"
hello "SNI '..': closed" "closed|tls-alert" ..
hello "SNI '*.test': closed" "closed|tls-alert" "*.test"
hello "SNI 'a/b': closed" "closed|tls-alert" a/b
hello "ClientHello in 3 TLS records" "tls-handshake" upstream.test --records 3
hello "ClientHello in 20 records, 7-byte segments" "tls-handshake" upstream.test --records 20 --split 7
hello "ClientHello in 1-byte segments" "tls-handshake" upstream.test --split 1
t0=$(date +%s%N)
hello "ClientHello cut after 30 bytes: closed at --header-timeout" "closed" upstream.test --cut 30
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
cmp_num "$ms" -lt 5000 "... within the 2 s deadline plus slack (${ms} ms)"
wait_grep "timed out waiting .*ClientHello incomplete: 30 bytes" "$HTTPEEK_LOG" 3
ok "... and its flow says the ClientHello stopped after 30 bytes" grep -q "ClientHello incomplete: 30 bytes" "$HTTPEEK_LOG"
# plain text after CONNECT goes to the server as it was sent: a plain HTTP server behind the
# tunnel echoes the request head it received, field names in their odd case and Connection kept
# (an interception would have rewritten both)
NT=$((NT + 1))
out=$(py 'import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"CONNECT upstream.test:%s HTTP/1.1\r\nHost: upstream.test\r\n\r\n" % sys.argv[2].encode())
data = b""
while b"\r\n\r\n" not in data:
    b = s.recv(1)
    if not b:
        break
    data += b
s.sendall(b"GET /headers HTTP/1.1\r\nhOsT: upstream.test\r\nx-ODD-case: kept\r\nConnection: close\r\n\r\n")
resp = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    resp += b
head, _, body = resp.partition(b"\r\n\r\n")
try:
    info = json.loads(body)
except ValueError:
    print("connect %r answer %r" % (data[:12], resp[:80])); sys.exit()
print(data.split(b"\r\n")[0].decode(), "|", head.split(b"\r\n")[0].decode(), "|", info["request_line"], "|",
      " ".join("%s=%s" % (k, v) for k, v in info["headers"]))' "$HTTPEEK_PORT" "$PLAINUP" 2>&1)
is "$out" "HTTP/1.1 200 Connection established | HTTP/1.1 200 OK | GET /headers HTTP/1.1 | hOsT=upstream.test x-ODD-case=kept Connection=close" \
    "plain text after CONNECT: relayed untouched to the server"
hello "TLS record header then garbage" "tls-alert|closed" - --raw '\x16\x03\x01\x00\x05garbage-after'
hello "TLS record with a 64 kB length" "tls-alert|closed" - --raw '\x16\x03\x01\xff\xff\x01\x00\xff\xfb'
hello "handshake record that is not a ClientHello" "tls-alert|closed" - --raw '\x16\x03\x01\x00\x04\x02\x00\x00\x00'
hello "ClientHello whose length lies" "tls-alert|closed" - --raw '\x16\x03\x01\x00\x08\x01\xff\xff\xff\x03\x03\x00\x00'
hello "an alert record first" "tls-alert|closed" - --raw '\x15\x03\x01\x00\x02\x02\x28'

# many clients trickling their hellos at once do not stop a healthy one
pids=()
for i in $(seq 20); do
    timeout -k 2 20 "$PYTHON" "$H" hello "$HTTPEEK_PORT" "upstream.test:$UP" upstream.test --split 3 >/dev/null 2>&1 &
    pids+=($!)
done
NT=$((NT + 20))
code=$(pcurl_tls -o "$T/body" -w '%{http_code}' "https://upstream.test:$UP/bytes/100")
is "$code/$(file_sha "$T/body")" "200/$(gen_sha 100)" "a healthy client is served during and after all that"
wait "${pids[@]}"
ok "httpeek is still running" kill -0 "$HTTPEEK_PID"
like "$(log_lines 'malformed TLS ClientHello' | wc -l)" "^ *[6-9]$|^ *1[0-9]$" "malformed hellos are recorded as relayed tunnels with a note"

sleep 2.5  # the cut hello and any straggler reach their deadline
stop_httpeek
n=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from flows").fetchone()[0])' "$T/s.sqlite")
is "$n" "$((NT + 1))" "every tunnel ($NT) and the healthy request are one flow each in the session"

done_testing
