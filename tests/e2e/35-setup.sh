#!/usr/bin/env bash
# 35-setup.sh — the phone set-up site on the proxy port: the page (direct, through the proxy as
# http://httpeek.test/, and over intercepted https), CA downloads with the right types, the iOS
# profile (a valid plist carrying exactly the CA, stable across fetches), and the PAC file.
# Who can reach the proxy: listening on loopback only, start-up and the page warn that phones
# cannot; on 0.0.0.0 the banner lists the LAN addresses, and the page and the PAC name the
# address the device reached (127.0.0.2 here, standing in for a LAN address) with no DIRECT
# fallback. The page at iPhone size (390 x 844) in headless Chromium (tests/js/setup-page.js):
# no horizontal scrolling, nothing cut, 44 px buttons; a screenshot is kept as an artifact
# (meson-logs/35-setup-iphone.png next to the binary, or $VIEWER_ARTIFACTS).
source "$(dirname "$0")/lib.sh"

start_dns
start_httpeek
LO_PID=$HTTPEEK_PID
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
unlike "$pac" "PROXY [^\"]*;[^\"]*DIRECT" "PAC: no silent DIRECT fallback after the proxy"
like "$(cat "$T/pac.h")" "application/x-ns-proxy-autoconfig" "PAC content type"
is "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$P/ca-key.pem")" 404 "the CA key is never served"
unlike "$(cat "$HTTPEEK_LOG")" "httpeek\.test" "httpeek's own pages are not recorded as app traffic"
# ---- loopback only: nobody but this machine can reach it, and both the terminal and the page say so
LO_PORT=$HTTPEEK_PORT
warn=$(grep '^WARNING: ' "$HTTPEEK_LOG")
like "$warn" "^WARNING: listening on loopback only: phones and other devices cannot reach 127\.0\.0\.1:$HTTPEEK_PORT" \
    "start-up warns that phones cannot reach a loopback-only proxy"
like "$warn" "run with --listen 0\.0\.0\.0:$HTTPEEK_PORT and set its proxy to " "the warning says how to listen for phones"
is "$(grep -c '^WARNING: listening on loopback' "$HTTPEEK_LOG")" 1 "the warning is one line"
unlike "$(cat "$HTTPEEK_LOG")" "Phone set-up: " "no phone set-up line naming an address phones cannot reach"
page=$(curl -s --max-time 10 "$P/")
like "$page" "Phones and other devices cannot reach this proxy" "setup page warns that phones cannot reach a loopback-only proxy"
like "$page" "<code>--listen 0\.0\.0\.0:$HTTPEEK_PORT</code>" "the page says how to listen for phones"
# ---- 0.0.0.0: the page and the PAC name the address the device reached ----------------------
ANY_PORT=$(free_port)
start_httpeek --listen "0.0.0.0:$ANY_PORT"   # (start_httpeek adds a 127.0.0.1 listener too)
unlike "$(cat "$HTTPEEK_LOG")" "WARNING: listening on loopback" "no loopback warning when listening on 0.0.0.0"
banner=$(cat "$HTTPEEK_LOG")
lan=$(ip -o -4 addr show up 2>/dev/null | awk '$2 != "lo" {split($4, a, "/"); print $2, a[1]}')
if ! command -v ip >/dev/null; then
    skip "the banner lists every LAN IPv4 address with the 0.0.0.0 port" "no ip(8) to list them"
elif [ -n "$lan" ]; then
    missing=
    while read -r ifname addr; do
        grep -qE "^  on $ifname +$addr:$ANY_PORT\$" <<<"$banner" || missing+=" $ifname/$addr"
    done <<<"$lan"
    is "${missing:-none}" none "the banner lists every LAN IPv4 address with the 0.0.0.0 port"
    like "$banner" "Phone set-up: set the Wi-Fi proxy to [0-9.]+ port $ANY_PORT, then open http://[0-9.]+:$ANY_PORT/" \
        "the phone set-up line names a LAN address"
else
    like "$banner" "Phone set-up: open http://<this machine's address>:" "no LAN address: the banner says so"
fi
unlike "$(grep '^  on ' "$HTTPEEK_LOG")" "\[" "0.0.0.0 is IPv4 only: the banner lists no IPv6 address"
A2=http://127.0.0.2:$ANY_PORT
page=$(curl -s --max-time 10 "$A2/")
like "$page" "Server <b><code>127\.0\.0\.2</code></b></span><span>Port <b><code>$ANY_PORT</code>" \
    "setup page reached on 127.0.0.2: tells the device to use 127.0.0.2"
like "$page" "href=\"http://127\.0\.0\.2:$ANY_PORT/httpeek\.mobileconfig\"" "its links are on 127.0.0.2"
unlike "$page" "cannot reach this proxy" "no loopback-only warning when listening on 0.0.0.0"
page=$(curl -s --max-time 10 -x "$A2" http://httpeek.test/)
like "$page" "Server <b><code>127\.0\.0\.2</code></b>" \
    "http://httpeek.test/ through 127.0.0.2: the address comes from the socket, not the Host header"
pac=$(curl -s --max-time 10 "$A2/proxy.pac")
like "$pac" "return \"PROXY 127\.0\.0\.2:$ANY_PORT\";" "PAC reached on 127.0.0.2: PROXY 127.0.0.2 and nothing else"
NODE=$(command -v node || command -v nodejs || true)
# pac_eval HOST... < PAC: "HOST RESULT" per host, the PAC run as a browser runs it (node)
pac_eval() {
    timeout -k 2 20 "$NODE" -e '
const isPlainHostName = (h) => !h.includes(".");
const dnsDomainIs = (h, d) => h.toLowerCase().endsWith(d.toLowerCase());
const shExpMatch = (s, p) => new RegExp("^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$").test(s);
eval(require("fs").readFileSync(0, "utf8"));
for (const h of process.argv.slice(1)) console.log(h + " " + FindProxyForURL("http://" + h + "/", h));' "$@"
}
if [ -n "$NODE" ]; then
    is "$(pac_eval api.shop.test intranet 10.0.0.5 localhost 127.0.0.1 <<<"$pac")" \
       "$(printf '%s PROXY 127.0.0.2:%s\n' api.shop.test "$ANY_PORT" intranet "$ANY_PORT" 10.0.0.5 "$ANY_PORT")
localhost DIRECT
127.0.0.1 DIRECT" "PAC run: every host goes only through 127.0.0.2 (plain names too), no DIRECT fallback; only the device itself is DIRECT"
else
    skip "PAC run: every host goes only through 127.0.0.2" "no node"
fi
like "$(curl -s --max-time 10 -x "$A2" http://httpeek.test/proxy.pac)" "return \"PROXY 127\.0\.0\.2:$ANY_PORT\";" \
    "PAC through the proxy as http://httpeek.test/proxy.pac names 127.0.0.2 too"
# ---- the page at iPhone size ---------------------------------------------------------------
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ]; then
    skip "the setup page at iPhone size in headless Chromium" "node or tests/js/node_modules missing (cd tests/js && npm ci)"
elif [ ! -x "$CHROMIUM" ]; then
    skip "the setup page at iPhone size in headless Chromium" "no chromium at $CHROMIUM"
else
    ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
    mkdir -p "$ART" 2>/dev/null || ART=$T
    out=$(SETUP_URLS="http://127.0.0.1:$LO_PORT/ $A2/" EXPECT_TEXT="Phones and other devices cannot reach this proxy" \
          SCREENSHOT=$ART/35-setup-iphone.png CHROMIUM=$CHROMIUM HOME=$T \
          timeout -k 5 60 "$NODE" "$JS/setup-page.js" 2>&1)
    rc=$?
    node_tap "$out"
    is "$rc" 0 "setup-page.js finished (status $rc)"
    [ -s "$ART/35-setup-iphone.png" ] && diag "screenshot: $ART/35-setup-iphone.png"
fi
stop_httpeek
stop_httpeek "$LO_PID"
# ---- per-client state: what the page and the terminal say about this device --------------
PKI=$T/pki; make_pki "$PKI" >/dev/null || { echo "Bail out! make_pki"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet; UP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem"
P=http://127.0.0.1:$HTTPEEK_PORT
curl -s --max-time 10 -o /dev/null "$P/ca-cert.cer"
CURL_MAX_TIME=10 pcurl -o /dev/null -A "MyApp/1.2 CFNetwork/1494.0.7 Darwin/23.0.0" --cacert "$PKI/ca.pem" \
    "https://upstream.test:$UP/bytes/1" 2>/dev/null
# the page as soon as it says PATTERN (up to 5 s), else as it is then: the refusal is noted when a
# worker reads curl's alert, which may come after curl has exited and the next request is served
page_saying() {
    local page i
    for i in $(seq 50); do
        page=$(curl -s --max-time 10 "$P/")
        grep -q -- "$1" <<<"$page" && break
        sleep 0.1
    done
    printf '%s' "$page"
}
like "$(page_saying "refused httpeek's certificate")" "refused httpeek's certificate" "setup page: this device refused httpeek's certificate"
wait_grep "^hint: " "$HTTPEEK_LOG" 5
like "$(grep '^hint: ' "$HTTPEEK_LOG")" "hint: client 127\.0\.0\.1 .*refuses httpeek's certificate although it downloaded the CA.*Certificate Trust Settings" \
    "terminal hint: CA downloaded but not trusted, with the iOS switch to flip"
CURL_MAX_TIME=10 pcurl_tls -o /dev/null "https://upstream.test:$UP/bytes/1"
like "$(page_saying "trusts httpeek's CA")" "trusts httpeek's CA" "after a trusted TLS exchange the page says so"

done_testing
