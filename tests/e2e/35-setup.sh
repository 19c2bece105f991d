#!/usr/bin/env bash
# 35-setup.sh — the phone set-up site on the proxy port: the page (direct, through the proxy as
# http://httpeek.test/, and over intercepted https), CA downloads with the right types, the iOS
# profile (a valid plist carrying exactly the CA, stable across fetches), and the PAC file.
source "$(dirname "$0")/lib.sh"

start_dns
start_httpeek
P=http://127.0.0.1:$HTTPEEK_PORT

page=$(curl -s --max-time 10 "$P/")
like "$page" "reached httpeek directly" "direct request to the proxy port: setup page, says the proxy is not set yet"
like "$page" "href=\"http://127\.0\.0\.1:$HTTPEEK_PORT/httpeek\.mobileconfig\"" "links are absolute http:// URLs on the proxy address"
like "$page" "Certificate Trust Settings" "iOS steps include enabling full trust"
like "$page" "network_security_config" "Android steps include the network security config"
like "$(curl -s --max-time 10 -x "$P" http://httpeek.test/)" "This device uses the proxy\." "http://httpeek.test/ through the proxy: recognised as proxied"
like "$(curl -s --max-time 10 --cacert "$HTTPEEK_CA" -x "$P" https://httpeek.test/)" "trusts httpeek's CA" \
    "https://httpeek.test/ is intercepted with its own leaf and says TLS works"

ct=$(curl -s --max-time 10 -o "$T/ca.cer" -w '%{content_type}' "$P/ca-cert.cer")
is "$ct" "application/x-x509-ca-cert" "ca-cert.cer content type"
is "$(openssl x509 -inform der -in "$T/ca.cer" -noout -fingerprint -sha256)" \
   "$(openssl x509 -in "$HTTPEEK_CA" -noout -fingerprint -sha256)" "ca-cert.cer is the CA in DER"
ct=$(curl -s --max-time 10 -o "$T/ca.pem" -w '%{content_type}' "$P/ca-cert.pem")
is "$ct" "application/x-pem-file" "ca-cert.pem content type"
cmp -s "$T/ca.pem" "$HTTPEEK_CA"; is "$?" 0 "ca-cert.pem is the CA file"

ct=$(curl -s --max-time 10 -o "$T/p1.mobileconfig" -w '%{content_type}' "$P/httpeek.mobileconfig")
is "$ct" "application/x-apple-aspen-config" "profile content type"
curl -s --max-time 10 -o "$T/p2.mobileconfig" "$P/httpeek.mobileconfig"
out=$("$PYTHON" - "$T/p1.mobileconfig" "$T/p2.mobileconfig" "$T/ca.cer" <<'PY'
import plistlib, sys
a = plistlib.load(open(sys.argv[1], 'rb')); b = plistlib.load(open(sys.argv[2], 'rb'))
der = open(sys.argv[3], 'rb').read()
p = a['PayloadContent'][0]
assert a['PayloadType'] == 'Configuration', a['PayloadType']
assert p['PayloadType'] == 'com.apple.security.root', p['PayloadType']
assert p['PayloadContent'] == der, 'payload is not the CA'
assert a['PayloadUUID'] == b['PayloadUUID'] and p['PayloadUUID'] == b['PayloadContent'][0]['PayloadUUID'], 'UUIDs not stable'
assert a['PayloadUUID'] != p['PayloadUUID']
print('ok')
PY
)
is "$out" ok "profile: valid plist, com.apple.security.root with the CA's DER, stable UUIDs"

pac=$(curl -s --max-time 10 -D "$T/pac.h" "$P/proxy.pac")
like "$pac" "PROXY 127\.0\.0\.1:$HTTPEEK_PORT" "PAC points at this proxy"
like "$(cat "$T/pac.h")" "application/x-ns-proxy-autoconfig" "PAC content type"
is "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$P/ca-key.pem")" 404 "the CA key is never served"
unlike "$(cat "$HTTPEEK_LOG")" "httpeek\.test" "httpeek's own pages are not recorded as app traffic"
# ---- per-client state: what the page and the terminal say about this device --------------
stop_httpeek
PKI=$T/pki; make_pki "$PKI" >/dev/null || { echo "Bail out! make_pki"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet; UP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem"
P=http://127.0.0.1:$HTTPEEK_PORT
curl -s --max-time 10 -o /dev/null "$P/ca-cert.cer"
CURL_MAX_TIME=10 pcurl -o /dev/null -A "MyApp/1.2 CFNetwork/1494.0.7 Darwin/23.0.0" --cacert "$PKI/ca.pem" \
    "https://upstream.test:$UP/bytes/1" 2>/dev/null
like "$(curl -s --max-time 10 "$P/")" "refused httpeek's certificate" "setup page: this device refused httpeek's certificate"
wait_grep "^hint: " "$HTTPEEK_LOG" 5
like "$(grep '^hint: ' "$HTTPEEK_LOG")" "hint: client 127\.0\.0\.1 .*refuses httpeek's certificate although it downloaded the CA.*Certificate Trust Settings" \
    "terminal hint: CA downloaded but not trusted, with the iOS switch to flip"
CURL_MAX_TIME=10 pcurl_tls -o /dev/null "https://upstream.test:$UP/bytes/1"
like "$(curl -s --max-time 10 "$P/")" "trusts httpeek's CA" "after a trusted TLS exchange the page says so"

done_testing
