#!/usr/bin/env bash
# 45-rules.sh — which CONNECT hosts are intercepted: --passthrough / --intercept globs relay
# TLS untouched (the client sees the server's own certificate), and a host whose client keeps
# refusing httpeek's certificate (a pinning app, a device without the CA) is switched to
# passthrough automatically after --auto-passthrough N rejections, so the app keeps working.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 other.test=127.0.0.1
start_upstream --tls server --quiet; UP=$UPSTREAM_PORT

# issuer of the certificate a client sees through the proxy for host:port
seen_issuer() {
    timeout 10 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" -connect "$1:$2" -servername "$1" \
        </dev/null 2>/dev/null | openssl x509 -noout -issuer 2>/dev/null
}

# httpeek_issuer: the issuer line of a leaf minted by the running httpeek (its CA's subject)
httpeek_issuer() {
    local subj
    subj=$(openssl x509 -noout -subject -in "$HTTPEEK_CA" 2>/dev/null) || return
    [ -n "$subj" ] && echo "issuer=${subj#subject=}"
}

# ---- globs ------------------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --passthrough '*.test:'"$UP" --intercept '*.example'
SERVER_ISSUER=$(openssl x509 -noout -issuer -in "$PKI/server.pem")
iss=$(seen_issuer upstream.test "$UP")
is "$iss" "$SERVER_ISSUER" "--passthrough '*.test:PORT': client sees the server's own certificate"
code=$(CURL_MAX_TIME=10 pcurl --cacert "$PKI/ca.pem" -o /dev/null -w '%{http_code}' "https://upstream.test:$UP/bytes/10")
is "$code" 200 "passed-through tunnel works with the server's CA"
wait_grep "CONNECT upstream\.test:$UP TUNNEL" "$HTTPEEK_LOG" 5
like "$(grep "CONNECT upstream.test:$UP" "$HTTPEEK_LOG" | tail -n 1)" "TUNNEL up=[0-9.]+[kM]?B down=[0-9.]+[kM]?B.*passed through.*--passthrough" \
    "log: tunnel line with bytes and the rule that passed it through"
stop_httpeek

start_httpeek --upstream-ca "$PKI/ca.pem" --intercept 'upstream.test'
iss=$(seen_issuer upstream.test "$UP")
is "$iss" "$(httpeek_issuer)" "--intercept upstream.test: that host is intercepted (a leaf from httpeek's CA)"
isnt "$iss" "$SERVER_ISSUER" "... not the server's own certificate"
iss=$(seen_issuer other.test "$UP")
is "$iss" "$SERVER_ISSUER" "--intercept: hosts it does not match are passed through"
stop_httpeek

# ---- automatic passthrough ----------------------------------------------------
# A client that does not trust httpeek's CA refuses the handshake (alert unknown_ca).
start_httpeek --upstream-ca "$PKI/ca.pem" --auto-passthrough 2
for i in 1 2; do
    CURL_MAX_TIME=10 pcurl --cacert "$PKI/ca.pem" -o /dev/null "https://localhost:$UP/bytes/10" 2>/dev/null
    rc=$?
    is "$rc" 60 "rejection $i: a client that does not trust httpeek refuses the intercepted handshake (curl: certificate problem)"
done
wait_grep "CONNECT localhost:$UP.*FAILED client_tls" "$HTTPEEK_LOG" 5
like "$(grep "CONNECT localhost:$UP" "$HTTPEEK_LOG" | head -n 1)" "FAILED client_tls: client refused httpeek's certificate.*alert" \
    "log: the refusal is a failed flow at client_tls naming the alert"
like "$(grep "CONNECT localhost:$UP" "$HTTPEEK_LOG" | sed -n 2p)" "now passed through" \
    "log: the 2nd rejection switches the host to passthrough"
code=$(CURL_MAX_TIME=10 pcurl --cacert "$PKI/ca.pem" -o /dev/null -w '%{http_code}' "https://localhost:$UP/bytes/10")
is "$code" 200 "after N rejections the app's own trust works: the host is relayed untouched"
iss=$(seen_issuer upstream.test "$UP")
is "$iss" "$(httpeek_issuer)" "other hosts are still intercepted (a leaf from httpeek's CA)"
stop_httpeek

done_testing
