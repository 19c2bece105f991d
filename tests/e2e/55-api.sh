#!/usr/bin/env bash
# 55-api.sh — the viewer's JSON API as another tool sees it (curl only; the page itself is
# 60-viewer.sh): flow list and detail, decoded and raw bodies served sandboxed, live events,
# HAR by id list and redaction, clear, client names and checklist, passthrough list, the
# loopback Host check and the token a non-loopback viewer requires. Also --strip-alt-svc.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 pinned.test=127.0.0.1 a.alias.test=127.0.0.1 notcovered.test=127.0.0.1 \
    b.alias.test=127.0.0.1 c.alias.test=127.0.0.1
start_upstream --quiet; PLAIN=$UPSTREAM_PORT
start_upstream --tls server --quiet; TLSUP=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --passthrough 'skip.test' --intercept '*'
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# live events: listen before the flows exist
api -N --max-time 8 "$W/api/events" >"$T/events" 2>/dev/null &
EVPID=$!
sleep 0.5

pcurl -o /dev/null -A 'MyApp/2.1 (7) CFNetwork/1494.0.7 Darwin/23.0.0' "http://upstream.test:$PLAIN/gzip/5000"
pcurl -o /dev/null "http://upstream.test:$PLAIN/headers?access_token=s3cr3t&x=1" -H 'Authorization: Bearer abc' -H 'Cookie: sid=42'
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/bytes/100"
pcurl -o /dev/null "http://nohost.test/"
wait_grep "nohost.test" "$HTTPEEK_LOG" 5

# flows are committed within a batch; wait until the list has all four
for i in $(seq 50); do
    n=$(api "$W/api/flows" | jq_py 'len(d)' 2>/dev/null)
    [ "${n:-0}" -ge 4 ] && break
    sleep 0.1
done
list=$(api "$W/api/flows")
is "$(echo "$list" | jq_py 'len(d)')" 4 "GET /api/flows lists the four flows"
is "$(echo "$list" | jq_py '[f["host"] for f in d]')" "['upstream.test', 'upstream.test', 'upstream.test', 'nohost.test']" "in id order, with host"
is "$(echo "$list" | jq_py 'd[3]["failed"], d[3]["status"]')" "True 0" "the failed flow: failed true, status 0"
is "$(echo "$list" | jq_py 'd[0]["client_name"]')" "iOS 17" "client_name: the device from a CFNetwork User-Agent's Darwin version"
is "$(echo "$list" | jq_py 'd[0]["app"], d[1]["app"]')" "MyApp/2.1 curl/$(curl -V | awk 'NR==1{print $2}')" "each summary names its app (User-Agent product)"
is "$(echo "$list" | jq_py 'd[0]["warn_code"], d[2]["warn_code"]')" "-1022 0" "summaries carry warn_code: -1022 on cleartext, 0 on HTTPS"
IDS=($(echo "$list" | jq_py '" ".join(str(f["id"]) for f in d)'))
is "$(api "$W/api/flows?after=${IDS[1]}&limit=1" | jq_py '[f["id"] for f in d]')" "[${IDS[2]}]" "after= and limit= page the list"

detail=$(api "$W/api/flows/${IDS[3]}")
is "$(echo "$detail" | jq_py 'd["diagnosis"]["code"], d["diagnosis"]["name"]')" "-1003 NSURLErrorCannotFindHost" "detail of the failed flow carries its diagnosis"
is "$(api "$W/api/flows/${IDS[2]}" | jq_py 'd["tls"]["upstream"] is not None and d["tls"]["client"] is not None')" "True" "detail of an HTTPS flow carries the TLS facts of both legs"
is "$(api -o /dev/null -w '%{http_code}' "$W/api/flows/999")" 404 "an unknown flow is a 404"

# bodies: raw gzip bytes, decoded bytes, sandboxed
"$PYTHON" "$(dirname "$0")/upstream.py" --gen 5000 >"$T/want"
api -D "$T/h1" -o "$T/dec" "$W/api/flows/${IDS[0]}/response/body?decode=1"
cmp -s "$T/dec" "$T/want" && pass "?decode=1 gives the identity bytes of a gzip body" || fail "?decode=1 gives the identity bytes of a gzip body"
api -o "$T/raw" "$W/api/flows/${IDS[0]}/response/body"
is "$(head -c 2 "$T/raw" | od -An -tx1 | tr -d ' ')" "1f8b" "without decode: the gzip bytes as captured"
like "$(tr -d '\r' <"$T/h1")" "Content-Security-Policy: sandbox" "bodies are served under a sandbox CSP"
like "$(api -D - -o /dev/null "$W/api/flows/${IDS[0]}/response/body?download=1" | tr -d '\r')" 'Content-Disposition: attachment; filename="5000"' "?download=1 names the file after the URL"

# HAR: by ids (GET and POST), redacted by default
har=$(api "$W/api/har?ids=${IDS[1]}&redact=1")
is "$(echo "$har" | jq_py 'len(d["log"]["entries"])')" 1 "GET /api/har?ids=N exports one entry"
like "$(echo "$har" | jq_py 'd["log"]["entries"][0]["request"]["headers"]')" "redacted" "?redact=1 hides secrets"
unlike "$(echo "$har" | jq_py 'd["log"]["entries"][0]["request"]["headers"]')" "abc|sid=42" "?redact=1: no Authorization or Cookie value left"
like "$(api "$W/api/har?ids=${IDS[1]}" | jq_py 'd["log"]["entries"][0]["request"]["headers"]')" "Bearer abc" "the plain /api/har keeps everything"
har=$(api -X POST -d "{\"ids\":[${IDS[0]},${IDS[3]}],\"redact\":false}" "$W/api/har")
is "$(echo "$har" | jq_py 'len(d["log"]["entries"]), d["log"]["entries"][1]["response"]["status"]')" "2 0" "POST /api/har with an id list; the failed flow has status 0"
is "$(api -o /dev/null -w '%{http_code}' -X POST -d 'nonsense' "$W/api/har")" 400 "a malformed HAR request is a 400"
is "$(api -o /dev/null -w '%{http_code}' "$W/api/har?ids=1,x")" 400 "a malformed id list is a 400"

# live events carried the flows as they were committed
sleep 0.3
kill "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null
ev_ids=$(grep '^data: \[' "$T/events" | sed 's/^data: //' | "$PYTHON" -c '
import json, sys
ids = sorted({f["id"] for line in sys.stdin for f in json.loads(line)})
print(ids)')
is "$ev_ids" "[${IDS[0]}, ${IDS[1]}, ${IDS[2]}, ${IDS[3]}]" "/api/events delivered every new flow as it was committed"

# clients: checklist and renaming
cl=$(api "$W/api/clients")
is "$(echo "$cl" | jq_py 'd[0]["addr"], d[0]["checklist"]["proxy_reached"], d[0]["checklist"]["trusted_tls"]')" "127.0.0.1 True True" "client checklist: proxy reached, trusted TLS"
is "$(api -X PUT -d '{"name":"iPhone 15"}' "$W/api/clients/127.0.0.1" | jq_py 'd["name"]')" "iPhone 15" "PUT /api/clients/{addr} renames"
is "$(api "$W/api/flows?limit=1" | jq_py 'd[0]["client_name"]')" "iPhone 15" "the new name shows in the flow list"
is "$(api -o /dev/null -w '%{http_code}' -X PUT -d '{}' "$W/api/clients/127.0.0.1")" 400 "renaming without a name is a 400"

info=$(api "$W/api/info")
is "$(echo "$info" | jq_py 'd["proxy"].endswith(":'"$HTTPEEK_PORT"'"), d["session"].endswith(".sqlite"), d["token_required"], d["setup_url"]')" "True True False http://httpeek.test/" "GET /api/info: proxy address, session, setup URL"
pt=$(api "$W/api/passthrough")
is "$(echo "$pt" | jq_py 'd["rules"]["passthrough"], d["rules"]["intercept"], d["auto"]')" "['skip.test'] ['*'] []" "GET /api/passthrough shows the rules"

# DNS rebinding: a foreign Host is refused
is "$(api -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "$W/api/flows")" 403 "a request naming another Host is refused (DNS rebinding)"
is "$(api -o /dev/null -w '%{http_code}' -H "Host: localhost:$HTTPEEK_WEB_PORT" "$W/api/flows")" 200 "Host: localhost is fine"

# clear
is "$(api -o /dev/null -w '%{http_code}' -X DELETE "$W/api/flows")" 204 "DELETE /api/flows"
is "$(api "$W/api/flows" | jq_py 'len(d)')" 0 "the list is empty after clearing"
is "$(api "$W/api/clients" | jq_py 'd[0]["flows"], d[0]["failed"]')" "0 0" "client counts restart after clearing"
is "$(api -o /dev/null -w '%{http_code}' -X PUT "$W/api/flows")" 405 "another method is a 405"

# Alt-Svc is stripped by default (and the flow says so), kept with --strip-alt-svc=no
h=$(pcurl -D - -o /dev/null "http://upstream.test:$PLAIN/altsvc" | tr -d '\r')
unlike "$h" "Alt-Svc" "Alt-Svc is removed from the response by default"
like "$h" "X-After: kept" "the other headers stay"
wait_flows "$W" 1 # the one flow since clearing, once committed
like "$(api "$W/api/flows" | jq_py 'd[-1]["note"]')" "Alt-Svc removed" "the flow notes the removal"
is "$(api "$W/api/clients" | jq_py 'd[0]["flows"]')" 1 "a flow after clearing counts again"
stop_httpeek

start_httpeek --strip-alt-svc=no
like "$(pcurl -D - -o /dev/null "http://upstream.test:$PLAIN/altsvc" | tr -d '\r')" "Alt-Svc: h3" "--strip-alt-svc=no forwards it"
stop_httpeek

# upstream TLS resumption: with the pool off, a second client connection to the same server
# resumes the session the first one verified (the TLS facts say so)
start_httpeek --upstream-ca "$PKI/ca.pem" --upstream-idle 0
W2="http://127.0.0.1:$HTTPEEK_WEB_PORT"
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/bytes/10"
sleep 0.3
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/bytes/20"
wait_flows "$W2" 2
RIDS=($(api "$W2/api/flows" | jq_py '" ".join(str(f["id"]) for f in d)'))
is "$(api "$W2/api/flows/${RIDS[0]}" | jq_py 'd["tls"]["upstream"]["resumed"]')" False "first connection to a server: full handshake"
is "$(api "$W2/api/flows/${RIDS[1]}" | jq_py 'd["tls"]["upstream"]["resumed"], d["tls"]["upstream"]["verify_result"], d["tls"]["upstream"]["peer_subject"] != "", d["timings"]["ssl"] >= 0')" "True 0 True True" "second connection (--upstream-idle 0): the verified session resumed in a new handshake, certificate facts still there"
# the client leg resumes too (TLS 1.3 tickets from httpeek): no new signature for a returning app
req=$'GET /bytes/10 HTTP/1.1\r\nHost: upstream.test\r\nConnection: close\r\n\r\n'
sc() { timeout 10 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" -connect "upstream.test:$TLSUP" \
    -servername upstream.test -CAfile "$HTTPEEK_CA" "$@" 2>&1; }
printf "%s" "$req" | sc -msg -ign_eof -sess_out "$T/sess" >"$T/sc_full"
is "$(grep -c 'NewSessionTicket' "$T/sc_full")" 1 "a full handshake with httpeek's client leg: one TLS 1.3 session ticket (not OpenSSL's default two)"
like "$(printf "%s" "$req" | sc -ign_eof -sess_in "$T/sess" | grep -E '^(Reused|New),')" "^Reused, TLSv1.3" "a client presenting its session ticket resumes with httpeek"
wait_flows "$W2" 4
is "$(api "$W2/api/flows/$(api "$W2/api/flows" | jq_py 'd[3]["id"]')" | jq_py 'd["tls"]["client"]["resumed"]')" True "and its flow says the client leg resumed"
# a new name on the same server address resumes that server's session when the certificate it
# verified covers the name (RFC 8446 4.6.1; one certificate for many names, as on a CDN), and never
# when it does not: that name gets a full handshake and its own verification (which fails here)
flow_of() { api "$W2/api/flows/$(api "$W2/api/flows" | jq_py "[f['id'] for f in d if f['host'] == '$1'][0]")"; }
pcurl_tls -o /dev/null "https://a.alias.test:$TLSUP/bytes/10"
nc_code=$(pcurl_tls -o /dev/null -w '%{http_code}' "https://notcovered.test:$TLSUP/bytes/10" 2>/dev/null)
wait_flows "$W2" 6
is "$(flow_of a.alias.test | jq_py 'd["status"], d["tls"]["upstream"]["resumed"], d["tls"]["upstream"]["verify_result"], d["tls"]["upstream"]["sni"]')" "200 True 0 a.alias.test" "a new name covered by the server's certificate (*.alias.test): resumed, verified, its own SNI"
# the client's handshake went ahead of that resumed upstream handshake: the flow still has the
# upstream's handshake (done, timed) and the client's
is "$(flow_of a.alias.test | jq_py 'd["tls"]["upstream"]["handshake_done"], d["tls"]["upstream"]["version"], d["timings"]["ssl"] >= 0, d["timings"]["connect"] >= d["timings"]["ssl"], d["tls"]["client"]["handshake_done"]')" "True TLSv1.3 True True True" "... its upstream handshake done and timed, the client's too"
# failed verification means a failed handshake: no answer from that server, a -1202 flow
is "$(flow_of notcovered.test | jq_py 'd["tls"]["upstream"]["resumed"], d["tls"]["upstream"]["verify_result"] != 0, d["status"], d.get("diagnosis", {}).get("code")')" "False True 0 -1202" "a name the certificate does not cover: no resumption, a full handshake that fails verification (no response, -1202)"
like "$nc_code" "^(000|5[0-9][0-9])$" "... and the client gets no answer from that server: a failed handshake or httpeek's error ($nc_code)"
# the upstream handshake starts at CONNECT time with the CONNECT host's name; a client whose hello
# names another server gets a new upstream connection for that name (the early one is dropped)
printf 'GET /bytes/7 HTTP/1.1\r\nHost: a.alias.test\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" -connect "upstream.test:$TLSUP" \
        -servername a.alias.test -CAfile "$HTTPEEK_CA" -quiet >"$T/othersni" 2>/dev/null
wait_flows "$W2" 7
is "$(api "$W2/api/flows/$(api "$W2/api/flows" | jq_py 'd[6]["id"]')" | jq_py 'd["status"], d["tls"]["upstream"]["sni"], d["tls"]["client"]["sni"], d["tls"]["upstream"]["verify_result"]')" "200 a.alias.test a.alias.test 0" "CONNECT upstream.test with a hello for a.alias.test: upstream TLS with the client's name, verified"
# a resumed upstream handshake that fails after the client's handshake went ahead of it: a server
# that serves its first connection (full handshake, certificate for *.alias.test), then takes each
# later ClientHello and hangs up 300 ms on. The client gets an answer (502), never a hang, and the
# flow says what failed.
TLS_SERVER_PY='
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1] + "/server.pem", sys.argv[1] + "/server.key")
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(16)
open(sys.argv[2] + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
slow = sys.argv[3] == "slow"
n = 0
while True:
    c, _ = ls.accept(); n += 1
    c.settimeout(10)
    try:
        if n > 1 and not slow:
            c.recv(4096); time.sleep(0.3); c.close(); continue
        if n > 1:
            time.sleep(0.3)  # the ClientHello waits in the socket: the handshake ends 300 ms late
        t = ctx.wrap_socket(c, server_side=True)
        while b"\r\n\r\n" not in t.recv(4096): pass
        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        time.sleep(0.2)
        t.close()
    except Exception:
        c.close()
'
spawn flaky 60 "$PYTHON" -c "$TLS_SERVER_PY" "$PKI" "$T/flaky.port" flaky
wait_file "$T/flaky.port" 10
FLAKY=$(cat "$T/flaky.port")
is "$(pcurl_tls -sS -o - "https://a.alias.test:$FLAKY/" 2>&1)" "ok" "a flaky server's first connection serves a.alias.test (its session is cached)"
t0=$(date +%s%N)
code=$(CURL_MAX_TIME=20 pcurl_tls -o /dev/null -w '%{http_code}' "https://b.alias.test:$FLAKY/" 2>/dev/null)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$code" "^(502|000)$" "its next connection, resuming for b.alias.test, hangs up mid-handshake: the client gets a 502 or a failed handshake ($code), not a hang"
cmp_num "$ms" -lt 10000 "... within the server's own delays (${ms} ms)"
wait_flows "$W2" 9
like "$(flow_of b.alias.test | jq_py 'd["failed"], d["error"]')" "^True .*b\.alias\.test:$FLAKY" "the flow for b.alias.test failed, naming the server"
is "$(pcurl_tls -sS -o /dev/null -w '%{http_code}' "https://upstream.test:$TLSUP/bytes/10")" "200" "httpeek serves the next request"
# a resumed upstream handshake that ends 300 ms late, after the client's handshake and before its
# request: the request still goes through, and its flow times the upstream handshake
spawn slowtls 60 "$PYTHON" -c "$TLS_SERVER_PY" "$PKI" "$T/slowtls.port" slow
wait_file "$T/slowtls.port" 10
SLOW=$(cat "$T/slowtls.port")
pcurl_tls -sS -o /dev/null "https://a.alias.test:$SLOW/"
out=$( (sleep 0.8; printf 'GET / HTTP/1.1\r\nHost: c.alias.test\r\nConnection: close\r\n\r\n'; sleep 1) |
    timeout 10 openssl s_client -proxy "127.0.0.1:$HTTPEEK_PORT" -connect "c.alias.test:$SLOW" \
        -servername c.alias.test -CAfile "$HTTPEEK_CA" -quiet 2>/dev/null)
like "$out" "^HTTP/1.1 200" "a client whose request comes after the late upstream handshake gets its answer"
wait_flows "$W2" 12
is "$(flow_of c.alias.test | jq_py 'd["status"], d["tls"]["upstream"]["resumed"], d["tls"]["upstream"]["handshake_done"], d["timings"]["ssl"] >= 250')" "200 True True True" "its flow: upstream resumed, handshake done, timed (>= 250 ms)"
stop_httpeek

# the upstream pool (default): a tunnel that ended leaves its verified upstream connection idle,
# and the next tunnel to the same server uses it (no connect, no handshake: those phases are -1).
# 'Connection: close' to the proxy ends each tunnel after its response, so curl opens a new one
# for the next URL only after the first is over. One worker: each worker has its own pool.
start_httpeek --upstream-ca "$PKI/ca.pem" --workers 1
W2="http://127.0.0.1:$HTTPEEK_WEB_PORT"
pcurl_tls -H 'Connection: close' -o /dev/null "https://upstream.test:$TLSUP/bytes/10" \
    -o "$T/pooled" "https://upstream.test:$TLSUP/bytes/30"
is "$(file_sha "$T/pooled")" "$(gen_sha 30)" "a tunnel on a pooled upstream connection: body intact"
wait_flows "$W2" 2
RIDS=($(api "$W2/api/flows" | jq_py '" ".join(str(f["id"]) for f in d)'))
is "$(api "$W2/api/flows/${RIDS[0]}" | jq_py 'd["timings"]["connect"] >= 0, d["timings"]["ssl"] >= 0')" "True True" "first tunnel: connect and TLS timings"
is "$(api "$W2/api/flows/${RIDS[1]}" | jq_py 'd["reused_upstream"], d["timings"]["connect"], d["timings"]["ssl"], d["tls"]["upstream"]["verify_result"], d["server_ip"]')" "True -1 -1 0 127.0.0.1" "second tunnel: on the pooled connection (connect and ssl -1), verified, server_ip kept"
# never shared between two clients (connection-bound state such as NTLM must not cross devices)
pcurl_tls --interface 127.0.0.2 -o /dev/null "https://upstream.test:$TLSUP/bytes/5"
wait_flows "$W2" 3
is "$(api "$W2/api/flows/$(api "$W2/api/flows" | jq_py 'd[2]["id"]')" | jq_py 'd["client"], d["timings"]["connect"] >= 0')" "127.0.0.2 True" "another client's tunnel does not get the first client's pooled connection"
# a connection the server ends (Connection: close from the server) is not pooled: the next tunnel
# connects anew
pcurl_tls -H 'Connection: close' -o /dev/null "https://upstream.test:$TLSUP/close" \
    -o "$T/pooled" "https://upstream.test:$TLSUP/bytes/40"
is "$(file_sha "$T/pooled")" "$(gen_sha 40)" "after the server ended the pooled connection: the next tunnel connects anew"
wait_flows "$W2" 5
is "$(api "$W2/api/flows" | jq_py 'd[4]["status"]')" 200 "and its flow is recorded"
is "$(api "$W2/api/flows/$(api "$W2/api/flows" | jq_py 'd[4]["id"]')" | jq_py 'd["timings"]["connect"] >= 0')" True "with its own connect timing"
stop_httpeek

# big bodies (256 KiB and more) go to the session's body file, written once instead of twice
# (WAL, then checkpoint): served back exactly, HAR included; the file is 0600 like the session
start_httpeek --upstream-ca "$PKI/ca.pem"
W2="http://127.0.0.1:$HTTPEEK_WEB_PORT"
pcurl_tls -o "$T/big" "https://upstream.test:$TLSUP/bytes/1048576"
yes '{"k": [1, 2, 3], "name": "value"}' | head -c 600000 >"$T/bigpost"
pcurl -o "$T/bigecho" --data-binary @"$T/bigpost" -H 'Content-Type: application/json' "http://upstream.test:$PLAIN/echo"
wait_flows "$W2" 2
BIDS=($(api "$W2/api/flows" | jq_py '" ".join(str(f["id"]) for f in d if f["kind"] == "http")'))
api -o "$T/big.api" "$W2/api/flows/${BIDS[0]}/response/body"
is "$(file_sha "$T/big.api")" "$(gen_sha 1048576)" "a 1 MiB download: its body from the API equals what was sent"
api -o "$T/bigpost.api" "$W2/api/flows/${BIDS[1]}/request/body"
is "$(file_sha "$T/bigpost.api")" "$(file_sha "$T/bigpost")" "a 600 KB JSON upload: its request body from the API equals what was sent"
sess=$(ls "$HTTPEEK_CONFDIR"/sessions/*.sqlite)
is "$(stat -c %a "$sess-bodies" 2>&1)" 600 "the body file sits next to the session, mode 0600"
sz=$(stat -c %s "$sess-bodies")
[ "$sz" -ge 1048576 ] && [ "$sz" -lt 1300000 ] && pass "the body file holds the download once, raw, and the JSON compressed ($sz bytes)" || fail "the body file holds the download once, raw, and the JSON compressed ($sz bytes)"
api -o "$T/big.har" "$W2/api/har"
is "$("$PYTHON" -c '
import json, sys, base64, hashlib
e = json.load(open(sys.argv[1]))["log"]["entries"]
big = [x for x in e if x["request"]["url"].endswith("/bytes/1048576")][0]["response"]["content"]
post = [x for x in e if x["request"]["url"].endswith("/echo")][0]["request"]["postData"]
print(hashlib.sha256(base64.b64decode(big["text"])).hexdigest(), len(post["text"]))' "$T/big.har")" "$(gen_sha 1048576) 600000" "HAR: both big bodies from the body file"
stop_httpeek

# a viewer reachable from other machines needs the token it prints
WP=$(free_port)
start_httpeek --web "0.0.0.0:$WP"
wait_grep "^Viewer: .*token=" "$HTTPEEK_LOG" 5
url=$(grep "^Viewer:" "$HTTPEEK_LOG" | awk '{print $2}')
tok=${url##*token=}
like "$tok" "^[0-9a-f]{32}$" "a non-loopback --web prints a URL with a 128-bit token"
is "$(api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WP/api/flows")" 401 "without the token: 401"
is "$(api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WP/api/flows?token=nottheone")" 401 "a wrong token: 401"
is "$(api -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "http://127.0.0.1:$WP/api/flows")" 200 "Authorization: Bearer works"
ck=$(api -D - -o /dev/null "http://127.0.0.1:$WP/?token=$tok" | tr -d '\r' | grep -i '^Set-Cookie:')
like "$ck" "httpeek_token=$tok; Path=/; HttpOnly; SameSite=Strict" "opening the page with the token sets an HttpOnly cookie"
is "$(api -o /dev/null -w '%{http_code}' -H "Cookie: httpeek_token=$tok" "http://127.0.0.1:$WP/api/flows")" 200 "the cookie works for the API"
stop_httpeek
done_testing
