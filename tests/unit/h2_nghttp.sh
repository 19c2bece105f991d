#!/usr/bin/env bash
# h2_nghttp.sh SERVER — Debian's nghttp (a real HTTP/2 client) against h2_server on loopback
# (h2_echo_server, prior knowledge): multiplexed downloads, a 10 MiB download through flow
# control, an upload, trailers; curl too. TAP. Skips when nghttp is not installed.
set -u
server=$1
if ! command -v nghttp >/dev/null; then
    echo "1..0 # SKIP nghttp (nghttp2-client) not installed"
    exit 0
fi
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$server" >"$tmp/port" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
base="http://127.0.0.1:$port"
n=0 failed=0
check() { # check NAME CONDITION...
    local name=$1; shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; failed=1; fi
}

# 20 downloads on one connection (nghttp multiplexes the URIs of one origin)
urls=()
for i in $(seq 20); do urls+=("$base/size/$((100000 + i))"); done
nghttp -n -s -t 30 "${urls[@]}" >"$tmp/multi" 2>&1
rc=$?
check "nghttp: 20 multiplexed downloads exit 0" test $rc -eq 0
check "nghttp: 20 responses with status 200" \
    test "$(grep -cE ' 200 ' "$tmp/multi")" -eq 20
ids=$(grep -cE '^ +[0-9]+ +\+' "$tmp/multi")
check "nghttp: 20 streams in the statistics of one connection" test "$ids" -eq 20

# 10 MiB through flow control (nghttp's 64 KiB stream window)
nghttp -t 60 "$base/size/10485760" >"$tmp/big" 2>"$tmp/big.err"
check "nghttp: 10 MiB download complete" test "$(stat -c %s "$tmp/big")" -eq 10485760
check "nghttp: every byte as produced" \
    bash -c "head -c 16384 '$tmp/big' | tr -d a | wc -c | grep -qx 0 && \
             tail -c 16384 '$tmp/big' | tr -d $(printf "\\x$(printf %x $((97 + 10485759 / 16384 % 26)))") | wc -c | grep -qx 0"

# upload
head -c 3000000 /dev/zero >"$tmp/up"
nghttp -t 30 -d "$tmp/up" "$base/echo" >"$tmp/echo" 2>&1
check "nghttp: 3 MB upload received whole" grep -qx "got 3000000 bytes" "$tmp/echo"

# trailers
nghttp -v -t 30 "$base/trailers" >"$tmp/trailers" 2>&1
check "nghttp: response trailers (grpc-status) received" grep -q "grpc-status: 0" "$tmp/trailers"
check "nghttp: no Connection field sent over HTTP/2" bash -c "! grep -qi '^ *connection:' '$tmp/trailers'"

# curl (libcurl with nghttp2), one stream per transfer: curl 7.88's -Z over h2c prior
# knowledge fails its second transfer with "Error in the HTTP2 framing layer" against nginx too
if command -v curl >/dev/null; then
    out=$(curl -sS --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code} %{size_download}' \
        "$base/size/1000000" 2>&1)
    check "curl --http2-prior-knowledge: 1 MB download over HTTP/2 ($out)" test "$out" = "2 200 1000000"
    out=$(curl -sS --http2-prior-knowledge --data-binary @"$tmp/up" "$base/echo" 2>&1)
    check "curl --http2-prior-knowledge: 3 MB upload ($out)" test "$out" = "got 3000000 bytes"
fi

check "server: no connection error" bash -c "! grep -q 'connection error' '$tmp/server.log'"
echo "1..$n"
exit $failed
