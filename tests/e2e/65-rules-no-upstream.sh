#!/usr/bin/env bash
# 65-rules-no-upstream.sh — when the rules answer every request to a CONNECT's host (a host-wide
# map local or block), the tunnel mints the leaf without contacting the server: map local and
# block work for an https host that does not resolve at all, and a server that records every TCP
# connection it accepts sees none. A narrower rule still connects; a tunnel whose rules are taken
# away before its request connects lazily from the exchange.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_upstream --tls server; ORIGIN=$UPSTREAM_PORT

# a server that records each connection it accepts (one line each) and answers nothing
CPF=$T/count.port
CLOG=$T/count.log
: > "$CLOG"
spawn counter 120 "$PYTHON" -c '
import socket, sys, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, a = s.accept()
    with open(sys.argv[2], "a") as f: f.write("connection from %s:%d\n" % a)
    c.close()
' "$CPF" "$CLOG"
wait_file "$CPF" 10
COUNT=$(cat "$CPF")
start_dns counted.test=127.0.0.1 counted-block.test=127.0.0.1 counted-dns.test=127.0.0.1 \
    narrow.test=127.0.0.1 lazy.alias.test=127.0.0.1

WWW=$T/www
mkdir -p "$WWW/api"
printf '{"plan": "pro"}\n' > "$WWW/api/user.json"
printf 'offline answer\n' > "$WWW/offline.txt"

printf '{"version": 1, "rules": [{"id": "lazy", "match": {"host": "lazy.alias.test"},
  "action": {"type": "block", "status": 451}}]}\n' > "$T/rules.json"
start_httpeek --upstream-ca "$PKI/ca.pem" \
    --map-local "nowhere.test=$WWW/offline.txt" \
    --block "https://nowhere-blocked.test=503" \
    --map-local "https://counted.test:$COUNT/*=$WWW" \
    --block "counted-block.test=403" \
    --block "counted-dns.test=dns" \
    --map-local "https://narrow.test:$COUNT/only-this=$WWW/offline.txt" \
    --rules "$T/rules.json"

# ---- a host that does not resolve ---------------------------------------------------------------
body=$(pcurl_tls -sS "https://nowhere.test/any/path?q=1" -D "$T/h1")
is "$body" "offline answer" "map local for an https host that does not resolve: answered"
is "$(status_of "$T/h1")" "200" "with 200 (the CONNECT did not fail on DNS)"
code=$(pcurl_tls -s -o /dev/null -w '%{http_code}' "https://nowhere-blocked.test/x")
is "$code" "503" "block with a status for an https host that does not resolve: answered"
V="http://127.0.0.1:$HTTPEEK_WEB_PORT"
d=$(newest_flow_detail "$V" nowhere-blocked.test)
is "$(jq_py 'd["_rules"][0]["action"]' <<<"$d")" "block" "its flow names the block rule"

# ---- a server that records connections ----------------------------------------------------------
body=$(pcurl_tls -sS "https://counted.test:$COUNT/api/user.json")
is "$body" '{"plan": "pro"}' "map local of a directory on a recording server's host: answered"
code=$(pcurl_tls -s -o /dev/null -w '%{http_code}' "https://counted-block.test:$COUNT/")
is "$code" "403" "block with a status on the recording server's host: 403"
code=$(pcurl_tls -s -o "$T/dnsbody" -w '%{http_code}' "https://counted-dns.test:$COUNT/")
is "$code" "502" "block 'dns' on the recording server's host: 502 from inside the tunnel"
d=$(newest_flow_detail "$V" counted-dns.test)
is "$(jq_py 'd["diagnosis"]["code"]' <<<"$d")" "-1003" \
    "its diagnosis is the DNS failure (-1003)"
sleep 0.3
is "$(wc -l < "$CLOG" | tr -d ' ')" "0" "the recording server saw zero connections"

# a rule for one path only: the CONNECT still reaches the server (the other paths need it)
pcurl_tls -s -o /dev/null "https://narrow.test:$COUNT/only-this" || true
sleep 0.3
cmp_num "$(wc -l < "$CLOG" | tr -d ' ')" -ge 1 "a path-only rule: the CONNECT contacts the server"

# ---- a request the rules no longer answer connects lazily ---------------------------------------
# CONNECT while a host-wide block answers lazy.alias.test, then the rules are emptied, then the
# request goes in the same tunnel: it must reach the real server.
out=$(PY_TIMEOUT=30 py '
import socket, ssl, sys, subprocess, json
proxy, host, port, ca, api = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = socket.create_connection(("127.0.0.1", proxy), timeout=10)
s.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port, host, port)).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
ctx = ssl.create_default_context(cafile=ca)
t = ctx.wrap_socket(s, server_hostname=host)
cur = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null", api], capture_output=True, text=True).stdout
etag = [l.split(":", 1)[1].strip() for l in cur.splitlines() if l.lower().startswith("etag:")][0]
put = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "If-Match: " + etag,
                      "--data-binary", "{\"version\": 1, \"rules\": []}", api], capture_output=True, text=True).stdout
t.sendall(("GET /headers HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (host, port)).encode())
resp = b""
while True:
    d = t.recv(65536)
    if not d: break
    resp += d
print(head.split(b"\r\n")[0].decode(), "|", put, "|", resp.split(b"\r\n")[0].decode(), "|", "sni" in resp.decode(errors="replace"))
' "$HTTPEEK_PORT" lazy.alias.test "$ORIGIN" "$HTTPEEK_CA" "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/rules" 2>&1)
like "$out" "^HTTP/1.1 200" "CONNECT answered while the rules answered the host"
like "$out" "\| 200 \| HTTP/1.1 200 OK \| True" \
    "rules emptied before the request: it connects lazily and reaches the real server"

done_testing
