#!/usr/bin/env bash
# 69-h2-resumed-shortcut.sh — the resumed-session shortcut with h2 offered upstream (--http2=yes):
# when a tunnel's upstream handshake resumes a verified session, the client's handshake goes
# ahead of it; the server's ALPN answer (h2 or http/1.1) is not known until that handshake ends.
# An HTTP/1.1 client's first request waits in the exchange for it, then goes out as an h2 stream
# (GET, and a POST with its body) or as HTTP/1.1; an h2 client's tunnel is handed to the h2 front
# only then, so its parallel first streams share one upstream connection. Servers: Node's http2
# (h2_echo.js: answers with what it received) and an HTTP/1.1-only TLS server (upstream.py),
# each behind slow_hello.py (its handshake flight 0.4 s late).
source "$(dirname "$0")/lib.sh"

NODE=$(command -v node || true)
[ -n "$NODE" ] || { echo "1..0 # SKIP node is not installed"; exit 0; }

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
NAMES=(); for i in $(seq 1 24); do NAMES+=("n$i.alias.test=127.0.0.1"); done
start_dns upstream.test=127.0.0.1 "${NAMES[@]}"
start_upstream --tls server --quiet
H1PORT=$UPSTREAM_PORT
EPORT=$(free_port)
spawn echo 120 "$NODE" "$E2E_DIR/h2_echo.js" --port "$EPORT" --mode echo --cert "$PKI/server.pem" --key "$PKI/server.key"
wait_port "$EPORT" 10 || { echo "Bail out! h2_echo.js did not start: $(cat "$T/echo.err")"; exit 1; }
EOUT=$T/echo.out
# slow_hello.py in front of each: the server's handshake flight comes 0.4 s late, so the client's
# handshake (going ahead on a resumed session) ends first and the request has to wait for the ALPN
slow() {
    local p; p=$(free_port)
    spawn "slow-$1" 120 "$PYTHON" "$E2E_DIR/slow_hello.py" --port "$p" --to "$1" --delay 0.4
    wait_port "$p" 10 || { echo "Bail out! slow_hello.py did not start"; exit 1; }
    echo "$p"
}
FASTPORT=$EPORT
EPORT=$(slow "$EPORT")
H1PORT=$(slow "$H1PORT")
# --upstream-idle 0: no pooled connection, so each tunnel makes its own upstream handshake, and
# the second one resumes the first one's session
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes --workers 1 --upstream-idle 0 -v
BASE="https://upstream.test:$EPORT"
field() { jq_py "d['$2']" <"$1"; }
shortcuts() { grep -c "$1" "$HTTPEEK_ERR"; }
# this client's shared h2 connection to the server closes 5 s after its last stream (with
# --upstream-idle 0): a tunnel opened while it is there makes no upstream handshake at all
idle_out() { sleep 5.5; }

# a first tunnel: full upstream handshake, session cached
pcurl_tls --http1.1 -o "$T/first" "$BASE/first"
is "$(field "$T/first" proto)" "h2" "first tunnel (full handshake): the request went out over h2"

# ---- HTTP/1.1 client ----------------------------------------------------------------------------
idle_out
before=$(shortcuts 'protocol not known yet')
pcurl_tls --http1.1 -o "$T/g" -w '%{response_code}' "$BASE/h1/get" >"$T/code"
is "$(cat "$T/code") $(field "$T/g" proto) $(field "$T/g" path)" "200 h2 /h1/get" \
    "resumed upstream session, HTTP/1.1 client: its first request went out as an h2 stream once the ALPN was known"
cmp_num "$(shortcuts 'protocol not known yet')" -gt "$before" \
    "... and it waited for the server's ALPN answer (the shortcut was taken, not turned off)"
head -c 20000 /dev/urandom >"$T/body"
idle_out
before=$(shortcuts 'protocol not known yet')
pcurl_tls --http1.1 -o "$T/p" -w '%{response_code}' --data-binary @"$T/body" "$BASE/h1/post" >"$T/code"
is "$(cat "$T/code") $(field "$T/p" proto) $(field "$T/p" body_len) $(field "$T/p" body_sha256)" \
    "200 h2 20000 $(file_sha "$T/body")" "... a POST as the first request: sent as a stream with its whole body"
cmp_num "$(shortcuts 'protocol not known yet')" -gt "$before" "... after waiting for the ALPN answer (its body kept meanwhile)"
sleep 0.3
like "$(api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows" | jq_py '" ".join(str(f["status"]) for f in d if "/h1/" in f["url"])')" \
    "^200 200$" "API: both flows recorded as answered"

# an HTTP/1.1-only server: the waiting request goes out as HTTP/1.1
pcurl_tls --http1.1 -o /dev/null "https://upstream.test:$H1PORT/bytes/10?first"
before=$(shortcuts 'protocol not known yet')
pcurl_tls --http1.1 -o /dev/null -w '%{response_code} %{http_version}' "https://upstream.test:$H1PORT/bytes/10?second" >"$T/code"
is "$(cat "$T/code")" "200 1.1" "HTTP/1.1-only server, resumed session: the waiting request goes out as HTTP/1.1"
cmp_num "$(shortcuts 'protocol not known yet')" -gt "$before" "... after waiting for the ALPN answer"

# new names the server's certificate covers (*.alias.test) resume its session at once, no relay:
# the upstream handshake often ends between the client's handshake and its request, in any
# order with the deferred events of both legs; every first request must be answered over h2
pcurl_tls --http1.1 -o /dev/null "https://n1.alias.test:$FASTPORT/seed"
good=0
for i in $(seq 2 24); do
    pcurl_tls --http1.1 -o "$T/n$i" "https://n$i.alias.test:$FASTPORT/n$i" 2>/dev/null
    [ "$(field "$T/n$i" proto 2>/dev/null)" = h2 ] && good=$((good + 1))
done
is "$good" "23" "23 new names resuming the server's session, no delay: every first request answered over h2"

# ---- h2 client ----------------------------------------------------------------------------------
idle_out
before=$(shortcuts "upstream TLS handshake (client's done)")
urls=()
for i in 1 2 3 4 5 6; do urls+=(-o "$T/par$i" "$BASE/h2/par$i"); done
pcurl_tls --http2 --parallel --parallel-max 6 "${urls[@]}"
conns=$(for i in 1 2 3 4 5 6; do field "$T/par$i" conn; done | sort -u | wc -l)
is "$(for i in 1 2 3 4 5 6; do field "$T/par$i" proto; done | sort -u | tr '\n' ' ')$conns" "h2 1" \
    "resumed session, h2 client with 6 parallel first streams: all answered over h2, on one upstream connection"
cmp_num "$(shortcuts "upstream TLS handshake (client's done)")" -gt "$before" \
    "... its tunnel was handed to the h2 front once the upstream handshake ended"

done_testing
