#!/usr/bin/env bash
# 47-ats.sh — flows that work through httpeek but that iOS App Transport Security would block are
# flagged on their line: cleartext http:// to a domain (-1022), and an upstream TLS session below
# ATS's bar (TLS 1.0, no forward secrecy, SHA-1, small keys: -1200). A modern HTTPS server and IP hosts get no flag.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
# an RSA leaf, for a TLS 1.2 server whose only cipher has RSA key exchange (no forward secrecy)
( cd "$PKI" && openssl genrsa -out rsa.key 2048 &&
  openssl req -new -key rsa.key -subj "/CN=upstream.test" -out rsa.csr &&
  openssl ca -batch -config ca.cnf -extensions ext -in rsa.csr -out rsa.pem -days 30 -notext ) \
    >"$T/rsa.log" 2>&1 || { echo "Bail out! RSA leaf: $(tail -3 "$T/rsa.log")"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --quiet; PLAIN=$UPSTREAM_PORT
start_upstream --tls server --quiet; MODERN=$UPSTREAM_PORT
start_s_server server -tls1 -cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0'; OLD=$SSERVER_PORT
start_s_server rsa -tls1_2 -cipher 'AES128-GCM-SHA256'; NOFS=$SSERVER_PORT
start_httpeek --upstream-ca "$PKI/ca.pem"

CURL_MAX_TIME=10 pcurl -o /dev/null "http://upstream.test:$PLAIN/bytes/1"
CURL_MAX_TIME=10 pcurl -o /dev/null "http://127.0.0.1:$PLAIN/bytes/1"
CURL_MAX_TIME=10 pcurl_tls -o /dev/null "https://upstream.test:$MODERN/bytes/1"
code=$(CURL_MAX_TIME=10 pcurl_tls -o /dev/null -w '%{http_code}' "https://upstream.test:$OLD/")
is "$code" 200 "a TLS 1.0-only server is still reached through httpeek"
wait_grep "upstream\.test:$OLD/ 200" "$HTTPEEK_LOG" 5
like "$(grep "http://upstream.test:$PLAIN/" "$HTTPEEK_LOG")" "200 .*\[ATS -1022\]" "cleartext request to a domain: -1022 warning"
unlike "$(grep "http://127.0.0.1:$PLAIN/" "$HTTPEEK_LOG")" "ATS" "cleartext to an IP literal: no ATS warning (ATS exempts IPs)"
unlike "$(grep "https://upstream.test:$MODERN/" "$HTTPEEK_LOG")" "ATS" "modern TLS 1.3 server: no warning"
like "$(grep "https://upstream.test:$OLD/" "$HTTPEEK_LOG")" "200 .*\[ATS -1200\]" "TLS 1.0 session: -1200 warning"
code=$(CURL_MAX_TIME=10 pcurl_tls -o /dev/null -w '%{http_code}' "https://upstream.test:$NOFS/")
is "$code" 200 "a server without forward secrecy is still reached through httpeek"
wait_grep "upstream\.test:$NOFS/ 200" "$HTTPEEK_LOG" 5
like "$(grep "https://upstream.test:$NOFS/" "$HTTPEEK_LOG")" "200 .*\[ATS -1200\]" "RSA key exchange (no forward secrecy): -1200 warning"
sleep 0.3
w=$(curl -sS --max-time 10 "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/har" | "$PYTHON" -c '
import json, sys
for e in json.load(sys.stdin)["log"]["entries"]:
    if ":'"$NOFS"'/" in e["request"]["url"]:
        print(" | ".join("%d %s" % (w["code"], w["detail"]) for w in e.get("_warnings", [])))')
like "$w" "-1200 .*forward secrecy.*NSExceptionRequiresForwardSecrecy" "HAR _warnings names the missing forward secrecy and the exception key"
# the -1022 warning is stored by its key (docs/CONTRACTS.md): the API and HAR give it whole, its
# members in the order a whole warning has them
id=$(api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows" | py 'import json, sys
print([f["id"] for f in json.load(sys.stdin) if f["url"] == "http://upstream.test:'"$PLAIN"'/bytes/1"][0])')
w=$(api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows/$id")
ats=$(py 'import json, sys
for w in json.load(sys.stdin)["warnings"]:
    if w["code"] == -1022:
        print(",".join(w), "|", w["name"], "|", w["title"], "|", w["fix"], "|", w["android"], "|", w["detail"])' <<<"$w")
like "$ats" "^code,name,stage,title,detail,fix,android,kind [|] NSURLErrorAppTransportSecurityRequiresSecureConnection [|] App Transport Security blocks cleartext HTTP [|] Use https://.*NSExceptionAllowsInsecureHTTPLoads = YES.*App Review questions[.] [|] Android 9[+]: CLEARTEXT.*cleartextTrafficPermitted[)] [|] This cleartext request to upstream.test worked" \
    "API: the cleartext -1022 warning read back whole, in its members' order"
w=$(curl -sS --max-time 10 "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/har" | py 'import json, sys
for e in json.load(sys.stdin)["log"]["entries"]:
    if e["request"]["url"] == "http://upstream.test:'"$PLAIN"'/bytes/1":
        print(" | ".join("%d %s %s" % (w["code"], w["name"], w["fix"]) for w in e.get("_warnings", [])))')
like "$w" "-1022 NSURLErrorAppTransportSecurityRequiresSecureConnection Use https://" "HAR _warnings: the -1022 warning with its texts"
done_testing
