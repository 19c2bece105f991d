#!/usr/bin/env bash
# 92-tls-suites.sh — the TLS 1.3 cipher suite both legs negotiate by default: AES-128-GCM with
# SHA-256 (tls_server.h TLS13_SUITES_FAST_FIRST: its key schedule has CPU instructions, SHA-384's
# does not; a new host's two handshakes are on its first request's path, bench S6). httpeek picks
# it for a client offering OpenSSL's default order (AES-256 first), offers it first to servers
# (which mostly follow the client's order), and still agrees on whatever else either side insists on.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_s_server server -tls1_3; FOLLOWS=$SSERVER_PORT
start_s_server server -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384; ONLY256=$SSERVER_PORT
# a TLS 1.2-only server with an RSA key that offers only a static RSA key exchange (no ECDHE):
# its leg has no forward secrecy, and its version differs from the client leg's TLS 1.3
(cd "$PKI" && openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj "/CN=upstream.test" -out rsa.csr &&
    openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
        -extfile server.ext -out rsa.pem) >"$T/rsa.log" 2>&1 || { echo "Bail out! RSA leaf: $(cat "$T/rsa.log")"; exit 1; }
start_s_server rsa -tls1_2 -cipher AES128-GCM-SHA256; RSAKX=$SSERVER_PORT
start_httpeek --upstream-ca "$PKI/ca.pem"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
tls_of() { # URL-PORT LEG [FIELD]: that flow's cipher (or FIELD) on that leg
    api "$W/api/flows" | jq_py "[f['id'] for f in d if ':$1/' in f['url']][-1]" >"$T/id" &&
        api "$W/api/flows/$(cat "$T/id")" | jq_py "d['tls']['$2']['${3:-cipher}']"
}

# a client with OpenSSL's default order (AES-256-GCM-SHA384 first), as curl here
pcurl_tls -v -o /dev/null "https://upstream.test:$FOLLOWS/" 2>"$T/v"
like "$(cat "$T/v")" "SSL connection using TLSv1\.3 / TLS_AES_128_GCM_SHA256" \
    "client leg: httpeek chooses TLS_AES_128_GCM_SHA256 over the client's AES-256 first"
wait_flows "$W" 1
is "$(tls_of "$FOLLOWS" client)" TLS_AES_128_GCM_SHA256 "the flow's client leg says so"
is "$(tls_of "$FOLLOWS" upstream)" TLS_AES_128_GCM_SHA256 \
    "upstream leg: a server following the client's order gets AES-128-GCM-SHA256 offered first"

# either side insisting on AES-256 still gets it
pcurl_tls -v --tls13-ciphers TLS_AES_256_GCM_SHA384 -o /dev/null "https://upstream.test:$FOLLOWS/" 2>"$T/v"
like "$(cat "$T/v")" "SSL connection using TLSv1\.3 / TLS_AES_256_GCM_SHA384" \
    "a client offering only AES-256-GCM-SHA384 gets it"
code=$(pcurl_tls -o /dev/null -w '%{http_code}' "https://upstream.test:$ONLY256/")
is "$code" 200 "a server that accepts only AES-256-GCM-SHA384 is reached"
wait_flows "$W" 3
is "$(tls_of "$ONLY256" upstream)" TLS_AES_256_GCM_SHA384 "and that leg's flow says AES-256-GCM-SHA384"

# forward secrecy comes from each leg's own key exchange, and each leg shows its own version
pcurl_tls --tlsv1.3 -o /dev/null "https://upstream.test:$RSAKX/"
wait_flows "$W" 4
is "$(tls_of "$RSAKX" upstream version) $(tls_of "$RSAKX" upstream cipher) $(tls_of "$RSAKX" upstream forward_secret)" \
    "TLSv1.2 AES128-GCM-SHA256 False" "a TLS 1.2 upstream leg with a static RSA key exchange: no forward secrecy"
is "$(tls_of "$RSAKX" client version) $(tls_of "$RSAKX" client forward_secret)" "TLSv1.3 True" \
    "its client leg (TLS 1.3) shows its own version and forward secrecy, not the upstream leg's"
pcurl_tls --tls-max 1.2 -o /dev/null "https://upstream.test:$FOLLOWS/"
wait_flows "$W" 5
is "$(tls_of "$FOLLOWS" client version) $(tls_of "$FOLLOWS" client cipher | cut -d- -f1) $(tls_of "$FOLLOWS" client forward_secret)" \
    "TLSv1.2 ECDHE True" "a TLS 1.2 client leg with an ECDHE key exchange: forward secrecy"
is "$(tls_of "$FOLLOWS" upstream version)" TLSv1.3 "while its upstream leg shows TLS 1.3"

done_testing
