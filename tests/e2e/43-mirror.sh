#!/usr/bin/env bash
# 43-mirror.sh — exact mirroring of a bad server certificate: for each defect (expired, not yet
# valid, wrong name, expired and wrong name, self-signed, unknown root) curl run straight at the
# server and curl run through httpeek (trusting both httpeek's CA and the test root, as a device
# trusts both) fail with the same exit code and the same error; the flow says which leaf the
# client was shown and why, and the server certificate's names. A mirror never pollutes the leaf
# cache: the same name served by a good server afterwards gets httpeek's usual leaf. And the short
# reasons of /api/flows tell the failures apart (reason_short, failed_before_tls).
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
( cd "$PKI" &&
  # expired and for another name
  openssl req -new -key wronghost.key -subj "/CN=wrong.test" -out expwrong.csr &&
  sed 's/^subjectAltName=.*/subjectAltName=DNS:wrong.test,DNS:www.wrong.test/' ca.cnf >expwrong.cnf &&
  openssl ca -batch -config expwrong.cnf -extensions ext -in expwrong.csr -out expwrong.pem \
      -startdate 20230101000000Z -enddate 20240401000000Z -notext && cp wronghost.key expwrong.key &&
  # self-signed and expired: the chain problem is what clients report
  openssl req -new -key selfsigned.key -subj "/CN=upstream.test" -out expself.csr &&
  openssl ca -batch -config ca.cnf -selfsign -keyfile selfsigned.key -extensions ext -in expself.csr \
      -out expself.pem -startdate 20200101000000Z -enddate 20200201000000Z -notext &&
  cp selfsigned.key expself.key ) >"$T/pki-extra.log" 2>&1 ||
    { echo "Bail out! extra certificates: $(tail -3 "$T/pki-extra.log")"; exit 1; }

start_dns upstream.test=127.0.0.1
start_s_server expired;    EXPIRED=$SSERVER_PORT
start_s_server future;     FUTURE=$SSERVER_PORT
start_s_server wronghost;  WRONG=$SSERVER_PORT
start_s_server expwrong;   EXPWRONG=$SSERVER_PORT
start_s_server selfsigned; SELF=$SSERVER_PORT
start_s_server unknown;    UNKNOWN=$SSERVER_PORT
start_s_server expself;    EXPSELF=$SSERVER_PORT
start_upstream --tls server --quiet; GOOD=$UPSTREAM_PORT
start_upstream --quiet; PLAIN=$UPSTREAM_PORT
REFUSED=$(free_port)
start_httpeek --upstream-ca "$PKI/ca.pem" --auto-passthrough 0
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
cat "$HTTPEEK_CA" "$PKI/ca.pem" >"$T/both.pem" # a device that trusts httpeek and the server's root

# curl's own words for a certificate problem: "SSL certificate problem: <this>" or, for a name,
# "SSL: no alternative certificate subject name matches target host name"
curl_error() { sed -n 's/^curl: ([0-9]*) //p' "$1" | sed 's/^SSL certificate problem: //' | head -n 1; }

# same PORT WHAT PHRASE: direct and through httpeek, the same exit code and error phrase
same() {
    local port=$1 what=$2 phrase=$3 rc_d rc_p
    curl -q -sS -o /dev/null --max-time 10 --cacert "$PKI/ca.pem" \
        --resolve "upstream.test:$port:127.0.0.1" "https://upstream.test:$port/" 2>"$T/direct.err"
    rc_d=$?
    pcurl --cacert "$T/both.pem" -o /dev/null "https://upstream.test:$port/" 2>"$T/proxied.err"
    rc_p=$?
    is "$rc_p" "$rc_d" "$what: curl's exit code through httpeek is the one it gets from the server ($rc_d)"
    like "$(curl_error "$T/direct.err")" "$phrase" "$what: straight to the server, curl says '$phrase'"
    like "$(curl_error "$T/proxied.err")" "$phrase" "$what: through httpeek, curl says the same ($(curl_error "$T/proxied.err"))"
}

same "$EXPIRED"  "expired"             "certificate has expired"
same "$FUTURE"   "not yet valid"       "certificate is not yet valid"
same "$WRONG"    "wrong name"          "no alternative certificate subject name matches"
same "$EXPWRONG" "expired, wrong name" "certificate has expired"
same "$SELF"     "self-signed"         "self-signed certificate"
same "$UNKNOWN"  "unknown root"        "unable to get local issuer certificate"
same "$EXPSELF"  "self-signed, expired" "self-signed certificate"

# an IP address the certificate does not name
curl -q -sS -o /dev/null --max-time 10 --cacert "$PKI/ca.pem" "https://127.0.0.1:$WRONG/" 2>"$T/direct.err"
rc_d=$?
pcurl --cacert "$T/both.pem" -o /dev/null "https://127.0.0.1:$WRONG/" 2>"$T/proxied.err"
rc_p=$?
is "$rc_p/$(curl_error "$T/proxied.err")" "$rc_d/$(curl_error "$T/direct.err")" \
    "an IP address the certificate does not name: the same exit code and error through httpeek ($rc_d)"

# after the expired mirror for upstream.test, a good server for the same name: the usual leaf
pcurl --cacert "$HTTPEEK_CA" -o "$T/good" "https://upstream.test:$GOOD/bytes/10" 2>"$T/good.err"
is "$?/$(file_sha "$T/good")" "0/$(gen_sha 10)" "a good server for the same name afterwards: intercepted with the usual leaf (no mirror cached)"
# and the other way round: the usual leaf cached for the name is not what a bad server's client sees
same "$EXPIRED"  "expired, after a good one for the name" "certificate has expired"
# a session resumed from the good handshake must not skip the mirror
rm -f "$T/sess"
printf 'GET /bytes/1 HTTP/1.1\r\nHost: upstream.test\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" -connect "upstream.test:$GOOD" \
        -servername upstream.test -CAfile "$HTTPEEK_CA" -sess_out "$T/sess" -ign_eof >"$T/s1" 2>&1
timeout 10 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" -connect "upstream.test:$EXPIRED" \
    -servername upstream.test -CAfile "$HTTPEEK_CA" -sess_in "$T/sess" </dev/null >"$T/s2" 2>&1
if [ ! -s "$T/sess" ]; then
    fail "a client resuming a good session still gets the expired mirror" "no session saved: $(tail -3 "$T/s1")"
elif grep -q "verify error:num=10:certificate has expired" "$T/s2" && ! grep -q "^Reused" "$T/s2"; then
    pass "a client offering a session from a good handshake still gets the expired mirror (full handshake)"
else
    fail "a client offering a session from a good handshake still gets the expired mirror" \
        "$(grep -E '^(Reused|New)|verify error' "$T/s2")"
fi

# the flows say which leaf was shown and why, and the server certificate's names
sleep 0.3 # one store batch
curl -sS --max-time 10 "$W/api/flows" -o "$T/flows.json"
facts() { # facts PORT: leaf | reason | peer_names | reason_short | failed_before_tls of its first flow
    "$PYTHON" - "$T/flows.json" "$W" "$1" <<'PY'
import json, sys, urllib.request
flows, base, port = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for f in flows:
    if f["url"].endswith(":" + port) or (":%s/" % port) in f["url"]:
        d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
        c = (d.get("tls") or {}).get("client") or {}
        u = (d.get("tls") or {}).get("upstream") or {}
        print("%s | %s | %s | %s | %s" % (c.get("leaf"), c.get("leaf_reason"), u.get("peer_names"),
                                          f.get("reason_short"), f.get("failed_before_tls")))
        break
PY
}
out=$(facts "$EXPIRED")
like "$out" "^mirror_dates \| The server's certificate expired on 2020-02-01, so the app was shown a certificate from httpeek's CA with the same dates" "expired: leaf mirror_dates, and the reason names the date ($out)"
like "$out" "\| upstream.test, \*.alias.test, localhost, 127.0.0.1 \| expired 2020-02-01 \| False$" "expired: peer_names, reason_short 'expired 2020-02-01', not failed before TLS"
out=$(facts "$FUTURE")
like "$out" "^mirror_dates \| The server's certificate is not valid until 2040-01-01" "not yet valid: leaf mirror_dates ($out)"
like "$out" "\| not valid until 2040-01-01 \| " "not yet valid: reason_short"
out=$(facts "$WRONG")
like "$out" "^mirror_names \| The server's certificate is for wrong.test, not upstream.test, so the app was shown a certificate from httpeek's CA with the same names:" "wrong name: leaf mirror_names ($out)"
like "$out" "\| wrong.test \| name mismatch \| False$" "wrong name: peer_names 'wrong.test', reason_short 'name mismatch'"
out=$(facts "$EXPWRONG")
like "$out" "^mirror_names \| .*wrong.test, www.wrong.test, not upstream.test, and expired on 2024-04-01, .*same names and dates" "expired and wrong name: names and dates copied ($out)"
out=$(facts "$SELF")
like "$out" "^mirror_untrusted \| The server's certificate was refused \(self-signed certificate\), so the app was shown a certificate from a CA nobody trusts" "self-signed: leaf mirror_untrusted ($out)"
like "$out" "\| self-signed \| False$" "self-signed: reason_short 'self-signed'"
out=$(facts "$EXPSELF")
like "$out" "^mirror_untrusted \| .*\(self-signed certificate\).* \| self-signed \| False$" "self-signed and expired: the untrusted CA, as the chain problem comes first ($out)"
out=$(facts "$UNKNOWN")
like "$out" "^mirror_untrusted \| .*whose issuer it cannot find either" "unknown root: leaf from the untrusted CA, sent without its issuer ($out)"
like "$out" "\| unknown CA \| " "unknown root: reason_short 'unknown CA'"
out=$(facts "$GOOD")
like "$out" "^minted \| The app was shown a certificate for upstream.test from httpeek's CA\. \| upstream.test, " "good server: leaf minted ($out)"
like "$out" "\|  \| False$" "good server: reason_short empty, failed_before_tls false"

# the diagnosis says what the app gets now: the server's own error
diag_of() { # diag_of PORT: "code | detail" of its first flow
    "$PYTHON" - "$T/flows.json" "$W" "$1" <<'PY'
import json, sys, urllib.request
flows, base, port = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for f in flows:
    if f["url"].endswith(":" + port):
        d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
        print("%s | %s" % (d["diagnosis"]["code"], d["diagnosis"]["detail"]))
        break
PY
}
like "$(diag_of "$EXPIRED")" "^-1201 \| .*a certificate with the same dates, so the app gets this same error" "expired: the diagnosis (-1201) says the app gets that same error through the mirror"
like "$(diag_of "$WRONG")" "^-1202 \| .*a certificate with the same names, so the app gets this same error" "wrong name: the diagnosis (-1202) says the app gets that same error"
like "$(diag_of "$SELF")" "^-1202 \| .*a certificate it cannot trust either" "self-signed: the diagnosis says the app fails its trust check"

# failures before any TLS with the client: short reasons and failed_before_tls
pcurl --cacert "$HTTPEEK_CA" -o /dev/null "https://upstream.test:$REFUSED/" 2>/dev/null
pcurl --cacert "$HTTPEEK_CA" -o /dev/null "https://nosuch.test/" 2>/dev/null
pcurl --cacert "$HTTPEEK_CA" -o /dev/null "https://upstream.test:$PLAIN/" 2>/dev/null
wait_grep "upstream.test:$PLAIN.*FAILED" "$HTTPEEK_LOG" 5
# the terminal line comes before its batch's commit (store.c): wait until the last one is listed
for _ in $(seq 50); do
    curl -sS --max-time 10 "$W/api/flows" -o "$T/flows.json"
    grep -q "upstream\.test:$PLAIN" "$T/flows.json" && break
    sleep 0.1
done
out=$(facts "$REFUSED")
like "$out" "\| connection refused \| True$" "refused port: reason_short 'connection refused', failed_before_tls true ($out)"
out=$("$PYTHON" -c 'import json,sys
for f in json.load(open(sys.argv[1])):
    if f["host"] == "nosuch.test": print(f["reason_short"], f["failed_before_tls"])' "$T/flows.json")
is "$out" "no such host True" "unknown host: reason_short 'no such host', failed_before_tls true"
out=$(facts "$PLAIN")
like "$out" "\| not TLS \| True$" "plain HTTP server behind https: reason_short 'not TLS', failed_before_tls true ($out)"
detail=$("$PYTHON" - "$T/flows.json" "$W" "$PLAIN" <<'PY'
import json, sys, urllib.request
flows, base, port = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for f in flows:
    if f["url"].endswith(":" + port):
        d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
        print(d["tls"]["upstream"]["error"], "|", d["tls"]["upstream"]["error_text"])
PY
)
like "$detail" "wrong version number \| the server did not speak TLS" "the upstream's OpenSSL error is worded in error_text ($detail)"
done_testing
