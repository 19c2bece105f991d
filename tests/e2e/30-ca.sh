#!/usr/bin/env bash
# 30-ca.sh — the local CA and the leaves it mints, checked the way a user
# would: files in confdir, reuse across runs, a clear refusal of a corrupt CA,
# and the leaf a client sees through CONNECT (openssl s_client -proxy) checked
# with openssl x509 / openssl verify.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
CONF="$T/new/nested/conf"   # parents that do not exist yet: created, as mkdir -p would
start_httpeek --confdir "$CONF" --upstream-ca "$PKI/ca.pem"
FIRST_PID=$HTTPEEK_PID

# ---- confdir files -------------------------------------------------------
for f in ca-cert.pem ca-key.pem ca-cert.cer; do
    ok "confdir has $f" test -s "$CONF/$f"
done
is "$(stat -c %a "$CONF/ca-key.pem" 2>/dev/null)" 600 "ca-key.pem has mode 0600"
is "$(stat -c %a "$CONF" "$T/new" 2>/dev/null | tr '\n' ' ')" "700 700 " "a --confdir whose parents did not exist is created with them, mode 0700"
fp_pem=$(openssl x509 -in "$CONF/ca-cert.pem" -noout -fingerprint -sha256 2>&1)
fp_der=$(openssl x509 -inform DER -in "$CONF/ca-cert.cer" -noout -fingerprint -sha256 2>&1)
like "$fp_pem" "^sha256 Fingerprint=" "ca-cert.pem parses"
is "$fp_der" "$fp_pem" "ca-cert.cer is the same certificate in DER"
ca_text=$(openssl x509 -in "$CONF/ca-cert.pem" -noout -text 2>&1)
like "$ca_text" "ASN1 OID: prime256v1|NIST CURVE: P-256" "CA key is ECDSA P-256"
like "$ca_text" "CA:TRUE" "CA certificate has basicConstraints CA:TRUE"
like "$ca_text" "Certificate Sign" "CA certificate has keyUsage keyCertSign"
is "$(openssl pkey -in "$CONF/ca-key.pem" -pubout 2>&1)" \
   "$(openssl x509 -in "$CONF/ca-cert.pem" -noout -pubkey 2>&1)" "ca-key.pem matches ca-cert.pem"
ok "CA certificate verifies as a self-signed root" \
    openssl verify -CAfile "$CONF/ca-cert.pem" "$CONF/ca-cert.pem"

# ---- the leaf seen through CONNECT ---------------------------------------
# s_client connects to the proxy and sends CONNECT itself: no local lookup
get_leaf() { # get_leaf OUT.pem s_client-args...
    local out=$1; shift
    timeout 15 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" "$@" -showcerts \
        </dev/null >"$T/s_client.out" 2>"$T/s_client.err"
    awk '/-----BEGIN CERTIFICATE-----/{p=1} p{print} /-----END CERTIFICATE-----/{if(p) exit}' \
        "$T/s_client.out" >"$out"
}
get_leaf "$T/leaf.pem" -connect "upstream.test:$UP" -servername upstream.test
if [ -s "$T/leaf.pem" ]; then pass "s_client through CONNECT gets a certificate"
else fail "s_client through CONNECT gets a certificate" "$(tail -n 5 "$T/s_client.err" "$T/s_client.out")"; fi
v=$(openssl verify -CAfile "$CONF/ca-cert.pem" -purpose sslserver -verify_hostname upstream.test \
    "$T/leaf.pem" 2>&1)
like "$v" ": OK$" "leaf verifies: httpeek CA, purpose sslserver, host upstream.test"
leaf_text=$(openssl x509 -in "$T/leaf.pem" -noout -text 2>&1)
like "$leaf_text" "DNS:upstream\.test" "leaf SAN has DNS:upstream.test"
like "$leaf_text" "TLS Web Server Authentication" "leaf EKU has serverAuth"
like "$leaf_text" "Digital Signature" "leaf keyUsage has digitalSignature"
like "$leaf_text" "Signature Algorithm: ecdsa-with-SHA256|Signature Algorithm: sha256With" "leaf signed with SHA-256"
unlike "$leaf_text" "CA:TRUE" "leaf is not a CA"
like "$leaf_text" "X509v3 Authority Key Identifier" "leaf has an Authority Key Identifier"
ca_ski=$(openssl x509 -in "$CONF/ca-cert.pem" -noout -ext subjectKeyIdentifier 2>/dev/null | sed -n 2p | tr -d ' ')
leaf_aki=$(openssl x509 -in "$T/leaf.pem" -noout -ext authorityKeyIdentifier 2>/dev/null | sed -n 2p | tr -d ' ' | sed 's/^keyid://')
if [ -n "$ca_ski" ]; then
    is "$leaf_aki" "$ca_ski" "leaf AKI is the CA's SKI"
else
    skip "leaf AKI is the CA's SKI" "CA has no SKI"
fi
is "$(openssl x509 -in "$T/leaf.pem" -noout -issuer 2>&1 | sed 's/^issuer=//')" \
   "$(openssl x509 -in "$CONF/ca-cert.pem" -noout -subject 2>&1 | sed 's/^subject=//')" "leaf issuer is the CA subject"

dates=$(openssl x509 -in "$T/leaf.pem" -noout -startdate -enddate 2>/dev/null)
nb=$(date -u -d "$(echo "$dates" | sed -n 's/^notBefore=//p')" +%s 2>/dev/null || echo 0)
na=$(date -u -d "$(echo "$dates" | sed -n 's/^notAfter=//p')" +%s 2>/dev/null || echo 0)
now=$(date -u +%s)
days=$(( (na - nb) / 86400 ))
cmp_num "$days" -le 197 "leaf validity is at most 197 days ($(echo $dates))"
cmp_num "$(( na - now ))" -gt 86400 "leaf is valid for at least another day"
back=$(( (now - nb) / 3600 ))
if [ "$back" -ge 24 ] && [ "$back" -le 72 ]; then pass "leaf notBefore is about 2 days back (${back} h)"
else fail "leaf notBefore is about 2 days back" "notBefore is $back hours before now ($dates)"; fi

serial=$(openssl x509 -in "$T/leaf.pem" -noout -serial 2>/dev/null | sed 's/^serial=//')
bits=$("$PYTHON" -c 'import sys; print(int(sys.argv[1], 16).bit_length())' "${serial:-0}" 2>/dev/null)
if [ -n "$bits" ] && [ "$bits" -gt 100 ] && [ "$bits" -le 128 ]; then
    pass "leaf serial is a random 128-bit number ($bits bits)"
else
    fail "leaf serial is a random 128-bit number" "serial=$serial ($bits bits)"
fi
# a second leaf for the same host has another serial only if re-minted; a new
# host must get a new serial
get_leaf "$T/leaf2.pem" -connect "127.0.0.1:$UP" -noservername
serial2=$(openssl x509 -in "$T/leaf2.pem" -noout -serial 2>/dev/null | sed 's/^serial=//')
like "$serial2" "^[0-9A-F]{20,}$" "a leaf for another host was fetched, with a serial"
isnt "$serial2" "$serial" "a leaf for another host has another serial"

# ---- IP literal target without SNI -> IP SAN ------------------------------
leaf2_text=$(openssl x509 -in "$T/leaf2.pem" -noout -text 2>&1)
like "$leaf2_text" "IP Address:127\.0\.0\.1" "CONNECT 127.0.0.1:PORT without SNI: leaf has IP SAN 127.0.0.1"
v=$(openssl verify -CAfile "$CONF/ca-cert.pem" -purpose sslserver -verify_ip 127.0.0.1 "$T/leaf2.pem" 2>&1)
like "$v" ": OK$" "IP leaf verifies for 127.0.0.1"

# ---- a second run reuses the CA --------------------------------------------
key_sha=$(file_sha "$CONF/ca-key.pem")
stop_httpeek "$FIRST_PID"
start_httpeek --confdir "$CONF" --upstream-ca "$PKI/ca.pem"
is "$(openssl x509 -in "$CONF/ca-cert.pem" -noout -fingerprint -sha256 2>&1)" "$fp_pem" "second run keeps the same CA certificate"
is "$(file_sha "$CONF/ca-key.pem")" "$key_sha" "second run keeps the same CA key"
get_leaf "$T/leaf3.pem" -connect "upstream.test:$UP" -servername upstream.test
v=$(openssl verify -CAfile "$CONF/ca-cert.pem" -purpose sslserver -verify_hostname upstream.test \
    "$T/leaf3.pem" 2>&1)
like "$v" ": OK$" "second run mints leaves from the same CA"
stop_httpeek

# ---- --leaf-key rsa: RSA-2048 leaves for old clients, from the same CA --------
start_httpeek --confdir "$CONF" --upstream-ca "$PKI/ca.pem" --leaf-key rsa
get_leaf "$T/leaf4.pem" -connect "upstream.test:$UP" -servername upstream.test
leaf_text=$(openssl x509 -in "$T/leaf4.pem" -noout -text 2>&1)
like "$leaf_text" "Public Key Algorithm: rsaEncryption" "--leaf-key rsa: the leaf key is RSA"
like "$leaf_text" "Public-Key: \(2048 bit\)" "--leaf-key rsa: 2048 bits"
like "$leaf_text" "Digital Signature, Key Encipherment" "--leaf-key rsa: keyUsage for RSA key exchange too"
v=$(openssl verify -CAfile "$CONF/ca-cert.pem" -purpose sslserver -verify_hostname upstream.test \
    "$T/leaf4.pem" 2>&1)
like "$v" ": OK$" "--leaf-key rsa: the leaf verifies with the same CA"
stop_httpeek
like "$(timeout 5 "$HTTPEEK" --leaf-key dsa 2>&1)" "--leaf-key: expected ec or rsa, got 'dsa'" "--leaf-key with another value: a one-line error"

# ---- a corrupt ca-cert.pem is refused, and left as it is ------------------
BAD="$T/badconf"
mkdir -p "$BAD"
cp -p "$CONF/ca-key.pem" "$BAD/ca-key.pem"
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' >"$BAD/ca-cert.pem"
bad_sha=$(file_sha "$BAD/ca-cert.pem")
badkey_sha=$(file_sha "$BAD/ca-key.pem")
port=$(free_port)
timeout -k 2 10 "$HTTPEEK" --confdir "$BAD" --listen "127.0.0.1:$port" --dns "127.0.0.1:$DNS_PORT" \
    </dev/null >"$T/bad.out" 2>"$T/bad.err"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
    pass "corrupt ca-cert.pem: httpeek exits nonzero (status $rc)"
else
    fail "corrupt ca-cert.pem: httpeek exits nonzero" "status $rc (124 = still running after 10 s)"
fi
errlines=$(grep -c . "$T/bad.err")
is "$errlines" 1 "corrupt ca-cert.pem: exactly one line on stderr"
like "$(cat "$T/bad.err")" "ca-cert\.pem" "corrupt ca-cert.pem: the error names the file"
is "$(file_sha "$BAD/ca-cert.pem")" "$bad_sha" "corrupt ca-cert.pem is left as it is"
is "$(file_sha "$BAD/ca-key.pem")" "$badkey_sha" "ca-key.pem next to it is left as it is"

done_testing
