#!/usr/bin/env bash
# 46-allow-client.sh — httpeek is never an open proxy: a client outside --allow-client gets a 403
# with a reason and a log line; inside it, requests work; bad CIDR blocks are command-line errors.
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
# a TLS upstream httpeek trusts: a CONNECT let through would end in a 200, so only a refusal fails it
PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_upstream --tls server --quiet; TLSUP=$UPSTREAM_PORT

start_httpeek --allow-client 10.0.0.0/8 --allow-client fc00::/7 --upstream-ca "$PKI/ca.pem"
code=$(CURL_MAX_TIME=10 pcurl -o "$T/body" -w '%{http_code}' "http://upstream.test:$UP/bytes/10")
is "$code" 403 "a client outside --allow-client gets 403"
like "$(cat "$T/body")" "may not use the proxy.*--allow-client" "the 403 says why"
wait_grep "refused client 127\.0\.0\.1" "$HTTPEEK_ERR" 5
like "$(cat "$HTTPEEK_ERR")" "refused client 127\.0\.0\.1" "a log line names the refused client"
code=$(CURL_MAX_TIME=10 pcurl_tls -o /dev/null -w '%{http_connect} %{http_code}' "https://upstream.test:$TLSUP/bytes/10")
is "$code" "403 000" "CONNECT is refused as well (403 to the CONNECT itself)"
stop_httpeek

start_httpeek --allow-client 127.0.0.0/8 --upstream-ca "$PKI/ca.pem"
code=$(CURL_MAX_TIME=10 pcurl -o /dev/null -w '%{http_code}' "http://upstream.test:$UP/bytes/10")
is "$code" 200 "a client inside --allow-client is served"
code=$(CURL_MAX_TIME=10 pcurl_tls -o /dev/null -w '%{http_connect} %{http_code}' "https://upstream.test:$TLSUP/bytes/10")
is "$code" "200 200" "and its CONNECT to the same TLS server goes through"
stop_httpeek

start_httpeek
code=$(CURL_MAX_TIME=10 pcurl -o /dev/null -w '%{http_code}' "http://upstream.test:$UP/bytes/10")
is "$code" 200 "default: loopback is allowed"
stop_httpeek

out=$(timeout 10 "$HTTPEEK" --allow-client 300.1.1.1/8 2>&1); rc=$?
is "$rc" 2 "a bad CIDR block is a command-line error (exit 2)"
is "$(printf '%s\n' "$out" | wc -l)" 1 "one line of error"
like "$out" "300\.1\.1\.1" "the error names the bad block"

done_testing
