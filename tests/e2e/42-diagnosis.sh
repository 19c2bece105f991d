#!/usr/bin/env bash
# 42-diagnosis.sh — the diagnosis matrix: misbehaving local servers and clients, each driven by
# curl through the real proxy, and the NSURLErrorDomain code (and stage) its flow must carry.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }

# raw.py MODE PORTFILE: a TCP server that answers every connection with a fixed misbehaviour
cat >"$T/raw.py" <<'PY'
import socket, sys, threading
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(portfile, "w").write(str(s.getsockname()[1]))
def serve(c):
    try:
        c.recv(65536)
        if mode == "garbage":
            c.sendall(b"HELLO THIS IS NOT HTTP\r\n\r\n")
        elif mode == "midbody":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
raw_server() { # raw_server MODE: sets RAW_PORT
    spawn "raw-$1" 120 "$PYTHON" "$T/raw.py" "$1" "$T/raw-$1.port"
    wait_file "$T/raw-$1.port" 10 || { echo "Bail out! raw server $1"; exit 1; }
    RAW_PORT=$(cat "$T/raw-$1.port")
}

start_dns upstream.test=127.0.0.1
start_s_server expired;    EXPIRED=$SSERVER_PORT
start_s_server future;     FUTURE=$SSERVER_PORT
start_s_server wronghost;  WRONG=$SSERVER_PORT
start_s_server selfsigned; SELF=$SSERVER_PORT
start_s_server unknown;    UNKNOWN=$SSERVER_PORT
start_s_server server -Verify 1; CLIENTCERT=$SSERVER_PORT
# TLS 1.2 servers asking for a client certificate, ending the handshake each their own way when
# none comes: s_server's handshake_failure alert, and python ssl servers that close barely or
# after a bad_certificate alert
start_s_server server -tls1_2 -Verify 1; CLIENTCERT12=$SSERVER_PORT
cat >"$T/mtls12.py" <<'PY'
# A TLS 1.2 server that asks for a client certificate (CertificateRequest) and, when the client's
# flight comes without one, ends the handshake as MODE says: "close" drops the socket with no
# alert; "bad_certificate" / "certificate_required" send that alert instead of OpenSSL's own.
import socket, ssl, sys, threading
mode, cert, key, ca, portfile = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
ALERT = {"bad_certificate": 42, "certificate_required": 116}
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(portfile, "w").write(str(s.getsockname()[1]))
def serve(c):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(inc, out, server_side=True)
    c.settimeout(5)
    try:
        while True:
            data = c.recv(65536)
            if not data:
                return
            inc.write(data)
            try:
                t.do_handshake()
                return  # a client with a certificate: not what this server is for
            except ssl.SSLWantReadError:
                c.sendall(out.read())  # ServerHello ... CertificateRequest, ServerHelloDone
            except ssl.SSLError:
                out.read()  # OpenSSL's own alert: never sent
                if mode in ALERT:
                    c.sendall(bytes([21, 3, 3, 0, 2, 2, ALERT[mode]]))
                return
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
mtls12() { # mtls12 MODE: sets MTLS_PORT
    spawn "mtls12-$1" 120 "$PYTHON" "$T/mtls12.py" "$1" "$PKI/server.pem" "$PKI/server.key" "$PKI/ca.pem" "$T/mtls12-$1.port"
    wait_file "$T/mtls12-$1.port" 10 || { echo "Bail out! mtls12 server $1"; exit 1; }
    MTLS_PORT=$(cat "$T/mtls12-$1.port")
}
mtls12 close; MTLS_CLOSE=$MTLS_PORT
mtls12 bad_certificate; MTLS_BADCERT=$MTLS_PORT
mtls12 certificate_required; MTLS_CERTREQ=$MTLS_PORT
start_upstream --quiet; PLAIN=$UPSTREAM_PORT
start_upstream --tls server --quiet; GOOD=$UPSTREAM_PORT
start_upstream --mode blackhole --quiet; SILENT=$UPSTREAM_PORT
raw_server garbage; GARBAGE=$RAW_PORT
raw_server midbody; MIDBODY=$RAW_PORT
REFUSED=$(free_port)
start_httpeek --upstream-ca "$PKI/ca.pem" --upstream-timeout 1 --auto-passthrough 0

# expect WHAT URL-ERE CODE NAME [STAGE]: the flow's line carries [CODE NAME] (and the stage)
expect() {
    local what=$1 url=$2 code=$3 name=$4 stage=${5:-} line
    wait_grep "$url" "$HTTPEEK_LOG" 8
    line=$(grep -E "$url" "$HTTPEEK_LOG" | tail -n 1)
    like "$line" "\[$code $name\]" "$what: $code $name"
    [ -n "$stage" ] && like "$line" "FAILED $stage:" "$what: stage $stage"
}
c() { CURL_MAX_TIME=${MT:-10} pcurl_tls -o /dev/null "$@" 2>/dev/null; }

c "https://upstream.test:$EXPIRED/";   expect "expired certificate" "upstream.test:$EXPIRED" -1201 NSURLErrorServerCertificateHasBadDate upstream_tls
c "https://upstream.test:$FUTURE/";    expect "not-yet-valid certificate" "upstream.test:$FUTURE" -1204 NSURLErrorServerCertificateNotYetValid upstream_tls
c "https://upstream.test:$WRONG/";     expect "wrong-host certificate" "upstream.test:$WRONG" -1202 NSURLErrorServerCertificateUntrusted upstream_tls
c "https://upstream.test:$SELF/";      expect "self-signed certificate" "upstream.test:$SELF" -1202 NSURLErrorServerCertificateUntrusted upstream_tls
c "https://upstream.test:$UNKNOWN/";   expect "unknown root" "upstream.test:$UNKNOWN" -1203 NSURLErrorServerCertificateHasUnknownRoot upstream_tls
c "https://upstream.test:$CLIENTCERT/"; expect "client certificate required" "upstream.test:$CLIENTCERT" -1206 NSURLErrorClientCertificateRequired upstream_tls
c "https://upstream.test:$CLIENTCERT12/"; expect "TLS 1.2 client certificate required (s_server: handshake_failure)" "upstream.test:$CLIENTCERT12" -1206 NSURLErrorClientCertificateRequired upstream_tls
c "https://upstream.test:$MTLS_CLOSE/"; expect "TLS 1.2 client certificate required (bare close)" "upstream.test:$MTLS_CLOSE" -1206 NSURLErrorClientCertificateRequired upstream_tls
c "https://upstream.test:$MTLS_BADCERT/"; expect "TLS 1.2 client certificate required (bad_certificate)" "upstream.test:$MTLS_BADCERT" -1206 NSURLErrorClientCertificateRequired upstream_tls
c "https://upstream.test:$MTLS_CERTREQ/"; expect "TLS 1.2 client certificate required (certificate_required)" "upstream.test:$MTLS_CERTREQ" -1206 NSURLErrorClientCertificateRequired upstream_tls
c "https://upstream.test:$REFUSED/";   expect "refused port" "upstream.test:$REFUSED" -1004 NSURLErrorCannotConnectToHost connect
c "https://nowhere.invalid/";          expect "unresolvable name" "nowhere\.invalid" -1003 NSURLErrorCannotFindHost dns
c "http://upstream.test:$SILENT/x";    expect "server never answers" "upstream.test:$SILENT/x" -1001 NSURLErrorTimedOut wait
c "http://upstream.test:$GARBAGE/";    expect "malformed response" "upstream.test:$GARBAGE/" -1017 NSURLErrorCannotParseResponse wait
c "http://upstream.test:$MIDBODY/";    expect "close mid-body" "upstream.test:$MIDBODY/" -1005 NSURLErrorNetworkConnectionLost receive
MT=0.4 c "http://upstream.test:$PLAIN/slow/3"; expect "client gives up while waiting" "upstream.test:$PLAIN/slow/3" -999 NSURLErrorCancelled wait
CURL_MAX_TIME=10 pcurl -o /dev/null --cacert "$PKI/ca.pem" "https://upstream.test:$GOOD/bytes/1" 2>/dev/null
expect "client refuses httpeek's certificate" "CONNECT upstream.test:$GOOD" -1202 NSURLErrorServerCertificateUntrusted client_tls
CURL_MAX_TIME=10 pcurl -o /dev/null "ftp://upstream.test:$PLAIN/file" 2>/dev/null
expect "unsupported scheme" "ftp://upstream.test" -1002 NSURLErrorUnsupportedURL client_request
c "http://upstream.test:$PLAIN/bytes/5"
wait_grep "upstream.test:$PLAIN/bytes/5" "$HTTPEEK_LOG" 5
like "$(grep "upstream.test:$PLAIN/bytes/5" "$HTTPEEK_LOG")" " 200 .*\[ATS -1022\]" "cleartext request: -1022 warning on a flow that worked"
c "https://upstream.test:$GOOD/bytes/7"
wait_grep "upstream.test:$GOOD/bytes/7" "$HTTPEEK_LOG" 5
line=$(grep "upstream.test:$GOOD/bytes/7" "$HTTPEEK_LOG")
like "$line" " 200 7B" "healthy control: 200"
unlike "$line" "FAILED|\[-?[0-9]+ " "healthy control: no diagnosis"

# The same diagnoses reach the viewer's API and the HAR (_diagnosis, _warnings), not only the
# terminal: every failed flow's HAR entry carries the code its terminal line showed.
sleep 0.3 # one store batch
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
curl -sS --max-time 20 "$W/api/har?redact=0" -o "$T/all.har"
curl -sS --max-time 10 "$W/api/flows" -o "$T/flows.json"
grep -oE '\[-[0-9]+ NSURLError[A-Za-z]+\]' "$HTTPEEK_LOG" | sort | uniq -c | awk '{print $2, $1}' | tr -d '[' >"$T/term-codes"
out=$("$PYTHON" - "$T/all.har" "$T/flows.json" "$T/term-codes" <<'PY'
import json, sys, collections
har = json.load(open(sys.argv[1]))["log"]["entries"]
flows = json.load(open(sys.argv[2]))
term = {}
for line in open(sys.argv[3]):
    code, n = line.split()
    term[int(code)] = int(n)
har_codes = collections.Counter(e["_diagnosis"]["code"] for e in har if "_diagnosis" in e)
api_codes = collections.Counter(f["diag_code"] for f in flows if f.get("diag_code"))
shape_ok = all(set(e["_diagnosis"]) >= {"code", "name", "stage", "title", "detail", "fix"}
               for e in har if "_diagnosis" in e)
failed_without = [e["request"]["url"] for e in har
                  if e["response"]["status"] == 0 and "_diagnosis" not in e]
warn = [w["code"] for e in har for w in e.get("_warnings", [])]
print("har=%s" % (dict(har_codes) == term), "api=%s" % (dict(api_codes) == term),
      "shape=%s" % shape_ok, "undiagnosed=%d" % len(failed_without),
      "ats=%s" % (-1022 in warn))
print("# term", sorted(term.items()), "har", sorted(har_codes.items()), "api", sorted(api_codes.items()),
      failed_without)
PY
)
diag "$(echo "$out" | sed -n 2p)"
out=$(echo "$out" | head -n 1)
like "$out" "har=True" "HAR: every diagnosed flow has _diagnosis with the terminal's code"
like "$out" "api=True" "API: /api/flows carries the same codes"
like "$out" "shape=True" "HAR _diagnosis has code, name, stage, title, detail, fix"
like "$out" "undiagnosed=0" "HAR: no failed entry without a diagnosis"
like "$out" "ats=True" "HAR: the cleartext flow carries the -1022 warning in _warnings"
# the certificate that failed verification is described, not blank
cert=$("$PYTHON" - "$T/flows.json" "$W" "$SELF" "$EXPIRED" <<'PY'
import json, sys, urllib.request
flows, base = json.load(open(sys.argv[1])), sys.argv[2]
for f in flows:
    for port in sys.argv[3:]:
        if f["url"].endswith(":" + port) or (":%s/" % port) in f["url"]:
            d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
            t = (d.get("tls") or {}).get("upstream") or {}
            print(port, t.get("peer_subject", ""), "|", t.get("peer_issuer", ""), "|", t.get("peer_not_after", ""))
PY
)
like "$(echo "$cert" | grep "^$SELF ")" "CN=upstream.test \| CN=upstream.test" "a self-signed certificate that failed verification still has its subject and issuer"
like "$(echo "$cert" | grep "^$EXPIRED ")" "\| 2020-" "an expired certificate's notAfter is recorded"
# the fact behind -1206: the server's CertificateRequest, in the upstream leg's TLS facts
mtls=$("$PYTHON" - "$T/flows.json" "$W" "$CLIENTCERT" "$CLIENTCERT12" "$MTLS_CLOSE" "$MTLS_BADCERT" "$GOOD" <<'PY'
import json, sys, urllib.request
flows, base = json.load(open(sys.argv[1])), sys.argv[2]
for port in sys.argv[3:]:
    for f in flows:
        if f["url"].endswith(":" + port) or (":%s/" % port) in f["url"]:
            d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
            t = (d.get("tls") or {}).get("upstream") or {}
            print(port, t.get("version"), t.get("cert_requested"), (d.get("diagnosis") or {}).get("code"), f["reason_short"], "|", t.get("error_text"))
            break
PY
)
diag "$mtls"
like "$(echo "$mtls" | grep "^$CLIENTCERT ")" "True -1206 client certificate required" "TLS 1.3: cert_requested true in the upstream TLS facts, -1206"
like "$(echo "$mtls" | grep "^$CLIENTCERT12 ")" "TLSv1.2 True -1206 client certificate required" "TLS 1.2 (handshake_failure): cert_requested true, -1206, reason_short"
like "$(echo "$mtls" | grep "^$CLIENTCERT12 ")" "\| the server asked for a client certificate \(CertificateRequest\), no --client-cert names this host, and it ended the handshake \(handshake failure\)" "TLS 1.2: the TLS tab's error_text says the server asked for a client certificate"
like "$(echo "$mtls" | grep "^$MTLS_CLOSE ")" "True -1206 client certificate required" "TLS 1.2 (bare close): cert_requested true, -1206"
like "$(echo "$mtls" | grep "^$MTLS_BADCERT ")" "True -1206 client certificate required" "TLS 1.2 (bad_certificate): cert_requested true, -1206"
done_testing
