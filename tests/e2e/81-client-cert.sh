#!/usr/bin/env bash
# 81-client-cert.sh — upstream mutual TLS (--client-cert HOSTGLOB=CERT[,KEY]): openssl s_server
# requiring a client certificate from a test client CA (TLS 1.3 and TLS 1.2). Without
# --client-cert the flow is -1206 as before; with it curl gets 200 through httpeek and the flow
# names the certificate sent. PEM (one file, two files), PKCS#12 with a password file; a wrong
# key, an unreadable file, a wrong or missing password are one-line errors at start; a glob that
# does not match sends nothing; a certificate the server refuses is -1205 naming it; a session
# made with one identity is never resumed for another.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
# the client side of the PKI: a client CA the servers trust, a client certificate from it, one
# from a CA the servers do not know, and a key that belongs to neither
(
    set -e
    cd "$PKI"
    openssl ecparam -name prime256v1 -genkey -noout -out client-ca.key
    openssl req -x509 -new -key client-ca.key -sha256 -days 30 -subj "/CN=e2e client CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out client-ca.pem
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
    for who in client rogue other; do openssl ecparam -name prime256v1 -genkey -noout -out "$who.key"; done
    openssl req -new -key client.key -subj "/CN=app user/O=e2e" -out client.csr
    openssl x509 -req -in client.csr -CA client-ca.pem -CAkey client-ca.key -CAcreateserial -days 30 \
        -sha256 -extfile client.ext -out client.pem
    openssl req -x509 -new -key rogue.key -sha256 -days 30 -subj "/CN=rogue user" \
        -addext "extendedKeyUsage=clientAuth" -out rogue.pem
    cat client.pem client.key >client-combined.pem
    printf 's3cret\n' >p12.pass
    printf 'wrong\n' >p12.wrong
    openssl pkcs12 -export -in client.pem -inkey client.key -passout pass:s3cret -out client.p12
    openssl pkcs12 -export -in client.pem -inkey client.key -passout pass: -out client-nopass.p12
    openssl pkcs8 -topk8 -in client.key -passout pass:s3cret -v2 aes-256-cbc -out client-enc.key
) >"$T/client-pki.log" 2>&1 || { cat "$T/client-pki.log"; echo "Bail out! client PKI failed"; exit 1; }

start_dns upstream.test=127.0.0.1 a.alias.test=127.0.0.1 b.alias.test=127.0.0.1
# servers that require a client certificate from client-ca (and refuse others)
mtls_args=(-Verify 1 -verify_return_error -CAfile "$PKI/client-ca.pem")
start_s_server server "${mtls_args[@]}"; M13=$SSERVER_PORT
start_s_server server -tls1_2 "${mtls_args[@]}"; M12=$SSERVER_PORT
start_s_server server "${mtls_args[@]}"; MRES=$SSERVER_PORT # for the resumption check
SUBJ="O=e2e,CN=app user"

c() { CURL_MAX_TIME=10 pcurl_tls -sS -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }
# flow_tls PATH: "code|client_cert|cert_requested|reason_short|detail|error_text" of the newest flow whose URL has PATH
flow_tls() {
    local i out
    for i in $(seq 40); do
        out=$("$PYTHON" - "http://127.0.0.1:$HTTPEEK_WEB_PORT" "$1" <<'PY'
import json, sys, urllib.request
base, want = sys.argv[1], sys.argv[2]
fl = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if want in f["url"]]
if fl:
    f = max(fl, key=lambda f: f["id"])
    d = json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, f["id"]), timeout=10))
    t = (d.get("tls") or {}).get("upstream") or {}
    g = d.get("diagnosis") or {}
    print("%s|%s|%s|%s|%s|%s" % (g.get("code", 0), t.get("client_cert"), t.get("cert_requested"),
                                 f.get("reason_short", ""), g.get("detail", ""), t.get("error_text", "")))
PY
)
        [ -n "$out" ] && { echo "$out"; return; }
        sleep 0.1
    done
}
# start_fails ARGS...: run httpeek expecting a start-up error; sets START_RC, START_ERR
start_fails() {
    START_ERR=$(timeout 10 "$HTTPEEK" --confdir "$T/c-fail" --listen "127.0.0.1:$(free_port)" \
        --web "127.0.0.1:$(free_port)" --dns "127.0.0.1:$DNS_PORT" "$@" </dev/null 2>&1 >/dev/null)
    START_RC=$?
}

# ---- without --client-cert: -1206, as before ------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem"
c "https://upstream.test:$M13/?case=none" >/dev/null
f=$(flow_tls "case=none")
like "$f" "^-1206\|\|True\|client certificate required\|" "no --client-cert: -1206 ClientCertificateRequired, nothing sent"
stop_httpeek

# ---- PEM, certificate and key in two files (and a --keylog for the viewer check) ------------
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/client.pem,$PKI/client.key" \
    --keylog "$T/keys.log" --upstream-idle 0
like "$(cat "$HTTPEEK_LOG")" "Client certificate for upstream.test: $SUBJ \($PKI/client.pem\)" "start-up names the client certificate and its host glob"
is "$(c "https://upstream.test:$M13/?case=pem2")" 200 "PEM cert + key files: TLS 1.3 server requiring a client certificate answers 200"
like "$(flow_tls "case=pem2")" "^0\|$SUBJ\|True\|" "PEM cert + key files: the flow names the client certificate sent (tls.upstream.client_cert)"
is "$(c "https://upstream.test:$M12/?case=pem2-12")" 200 "PEM cert + key files: TLS 1.2 server too"
like "$(flow_tls "case=pem2-12")" "^0\|$SUBJ\|True\|" "TLS 1.2: the flow names the client certificate sent"
# a new upstream connection resumes that session (no CertificateRequest, no Certificate): the
# identity it authenticated is still the one named
is "$(c "https://upstream.test:$M13/?case=resumed")" 200 "a resumed session with the server: 200"
like "$(flow_tls "case=resumed")" "^0\|$SUBJ\|False\|" "a resumed session: the flow still names the certificate of the handshake it resumed"
VIEWER_FLOW=case=pem2
# the TLS tab in headless Chromium: the certificate sent, and the key log sentence
NODE=$(command -v node || command -v nodejs || true)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
JS=$REPO_ROOT/tests/js
if [ -n "$NODE" ] && [ -f "$JS/node_modules/playwright-core/package.json" ] && [ -x "$CHROMIUM" ]; then
    out=$(VIEWER_URL="http://127.0.0.1:$HTTPEEK_WEB_PORT" FLOW_URL_PART=$VIEWER_FLOW EXPECT_CLIENT_CERT=$SUBJ \
          EXPECT_KEYLOG=$T/keys.log CHROMIUM=$CHROMIUM HOME=$T timeout -k 5 60 "$NODE" "$JS/viewer-tls-facts.js" 2>&1)
    node_tap "$out"
else
    skip "the TLS tab in headless Chromium" "node, tests/js/node_modules or chromium missing"
fi
stop_httpeek

# ---- PEM, one file with certificate and key ---------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/client-combined.pem"
is "$(c "https://upstream.test:$M13/?case=pem1")" 200 "PEM with the key in the same file: 200"
like "$(flow_tls "case=pem1")" "^0\|$SUBJ\|" "PEM one file: the flow names the certificate"
stop_httpeek

# ---- PKCS#12 with a password file; an encrypted PEM key with the same file ---------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/client.p12" \
    --client-cert-password-file "$PKI/p12.pass"
is "$(c "https://upstream.test:$M13/?case=p12")" 200 "PKCS#12 with --client-cert-password-file: 200"
like "$(flow_tls "case=p12")" "^0\|$SUBJ\|" "PKCS#12: the flow names the certificate"
stop_httpeek
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/client.pem,$PKI/client-enc.key" \
    --client-cert-password-file "$PKI/p12.pass"
is "$(c "https://upstream.test:$M13/?case=enckey")" 200 "encrypted PEM key with --client-cert-password-file: 200"
stop_httpeek
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/client-nopass.p12"
is "$(c "https://upstream.test:$M13/?case=p12nopass")" 200 "PKCS#12 without a password: loads without asking, 200"
stop_httpeek

# ---- PKCS#12 with the password typed on the terminal (a pseudo-terminal here) ---------------------
PTY_OUT=$(PY_TIMEOUT=40 py '
import os, pty, select, sys, time
httpeek, pki, dns, listen, web, confdir = sys.argv[1:7]
pid, fd = pty.fork()
if pid == 0:
    os.execv(httpeek, [httpeek, "--confdir", confdir, "--listen", listen, "--web", web, "--dns", dns, "--no-qr",
                       "--client-cert", "upstream.test=" + pki + "/client.p12"])
seen, answered, deadline = b"", False, time.time() + 30
while time.time() < deadline and b"listening on" not in seen:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if not answered and b"Password for" in seen:
        os.write(fd, b"s3cret\n")
        answered = True
sys.stdout.write(seen.decode("utf-8", "replace").replace("\r", ""))
sys.stdout.flush()
os.kill(pid, 9)  # what it printed is all this check needs
os.waitpid(pid, 0)
' "$HTTPEEK" "$PKI" "127.0.0.1:$DNS_PORT" "127.0.0.1:$(free_port)" "127.0.0.1:$(free_port)" "$T/c-pty")
like "$PTY_OUT" "Password for $PKI/client.p12: " "PKCS#12 on a terminal without a password file: httpeek asks, naming the file"
like "$PTY_OUT" "Client certificate for upstream.test: $SUBJ" "the password typed on the terminal opens it and httpeek starts"

# ---- a glob that does not match: nothing sent, -1206; the first matching glob wins -------------
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "*.other.test=$PKI/client.pem,$PKI/client.key" \
    --client-cert "upstream.test:1=$PKI/client.pem,$PKI/client.key"
c "https://upstream.test:$M13/?case=nomatch" >/dev/null
like "$(flow_tls "case=nomatch")" "^-1206\|\|True\|" "a glob that does not match (other host, other port): nothing sent, -1206"
stop_httpeek
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/client.pem,$PKI/client.key" \
    --client-cert "*=$PKI/rogue.pem,$PKI/rogue.key"
is "$(c "https://upstream.test:$M13/?case=first")" 200 "two matching globs: the first one's certificate is sent (200)"
like "$(flow_tls "case=first")" "^0\|$SUBJ\|" "two matching globs: the flow names the first one's certificate"
stop_httpeek

# ---- a certificate the server refuses: -1205 naming it, not "none configured" ------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --client-cert "upstream.test=$PKI/rogue.pem,$PKI/rogue.key"
isnt "$(c "https://upstream.test:$M13/?case=rogue")" 200 "a certificate from a CA the server does not trust: no 200"
f=$(flow_tls "case=rogue")
like "$f" "^-1205\|CN=rogue user\|True\|client certificate refused\|" "TLS 1.3 refused certificate: -1205 ClientCertificateRejected, the certificate sent named, reason 'client certificate refused'"
like "$f" "httpeek sent the client certificate 'CN=rogue user' \(--client-cert\) and the server refused it" "the diagnosis detail says which certificate was sent and refused"
like "$f" "the server refused the client certificate httpeek sent \(CN=rogue user\)" "the TLS tab's error_text says the server refused the certificate sent"
c "https://upstream.test:$M12/?case=rogue12" >/dev/null
# TLS 1.2 refuses inside the handshake, which httpeek makes at CONNECT time: the flow is the CONNECT
like "$(flow_tls "upstream.test:$M12")" "^-1205\|CN=rogue user\|True\|client certificate refused\|" "TLS 1.2 refused certificate: -1205, named"
stop_httpeek

# ---- a session made with one identity is not resumed for another --------------------------------
# a.alias.test and b.alias.test are one server (one address, one certificate for *.alias.test):
# httpeek would resume a.alias.test's session for b.alias.test, skipping b's certificate
start_httpeek --upstream-ca "$PKI/ca.pem" --upstream-idle 0 \
    --client-cert "a.alias.test=$PKI/client.pem,$PKI/client.key" --client-cert "b.alias.test=$PKI/rogue.pem,$PKI/rogue.key"
is "$(c "https://a.alias.test:$MRES/?case=res-a")" 200 "resumption: a.alias.test with the good certificate: 200"
c "https://a.alias.test:$MRES/?case=res-a2" >/dev/null # a ticket from the first is surely filed by now
isnt "$(c "https://b.alias.test:$MRES/?case=res-b")" 200 "resumption: b.alias.test (same server) with the refused certificate is not let in on a's session"
like "$(flow_tls "case=res-b")" "^-1205\|CN=rogue user\|" "resumption: b.alias.test made its own handshake with its own certificate"
stop_httpeek

# ---- one-line errors at start -------------------------------------------------------------------
start_fails --client-cert "upstream.test=$PKI/client.pem,$PKI/other.key"
isnt "$START_RC" 0 "a key that does not belong to the certificate: httpeek does not start"
is "$(printf '%s\n' "$START_ERR" | wc -l)" 1 "(one line)"
like "$START_ERR" "--client-cert $PKI/other.key: the key does not belong to the certificate in $PKI/client.pem" "wrong key: the line names both files"
start_fails --client-cert "upstream.test=$PKI/missing.pem"
like "$START_ERR" "^httpeek: --client-cert $PKI/missing.pem: No such file or directory$" "unreadable certificate: one line naming the file"
start_fails --client-cert "upstream.test=$PKI/client.pem"
like "$START_ERR" "--client-cert $PKI/client.pem: no private key in it" "certificate without its key: says so, naming the file"
start_fails --client-cert "upstream.test=$PKI/client.p12"
isnt "$START_RC" 0 "PKCS#12 with a password, not interactive, no password file: httpeek does not start"
is "$(printf '%s\n' "$START_ERR" | wc -l)" 1 "(one line)"
like "$START_ERR" "--client-cert $PKI/client.p12: it needs a password and there is no terminal to ask on: give it with --client-cert-password-file" "no password: the line says how to give one"
start_fails --client-cert "upstream.test=$PKI/client.p12" --client-cert-password-file "$PKI/p12.wrong"
like "$START_ERR" "^httpeek: --client-cert $PKI/client.p12: wrong password$" "wrong PKCS#12 password: one line naming the file"
start_fails --client-cert "upstream.test=$PKI/client.pem,$PKI/client-enc.key" --client-cert-password-file "$PKI/p12.wrong"
like "$START_ERR" "--client-cert $PKI/client-enc.key: wrong password for its key" "wrong password for an encrypted PEM key: one line naming the file"
start_fails --client-cert "upstream.test"
like "$START_ERR" "--client-cert: expected HOSTGLOB=CERT.pem\[,KEY.pem\]" "malformed --client-cert: says the expected form"

done_testing
