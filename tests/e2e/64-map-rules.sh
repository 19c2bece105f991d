#!/usr/bin/env bash
# 64-map-rules.sh — rules that decide where a request goes (docs/RULES.md), with curl and real
# servers: map local (a file, a directory with a file missing, a raw .http response; the server
# never gets the request), map remote (to a server with another certificate, verified for the new
# host, Host and SNI of the new target), block at each stage (the error curl gets and the flow's
# diagnosis), _rules in the flow and HAR, GET/PUT /api/rules with ETag / If-Match, and an invalid
# rules.json refused at start with its line named.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 wrong.test=127.0.0.1 local.test=127.0.0.1 blk.test=127.0.0.1
start_upstream --tls server; ORIGIN=$UPSTREAM_PORT; ORIGIN_LOG=$T/upstream1.out
start_upstream --tls wronghost; STAGING=$UPSTREAM_PORT
start_upstream; PLAIN=$UPSTREAM_PORT; PLAIN_LOG=$T/upstream3.out

# a server that closes a kept-alive connection when the next request arrives on it (the
# keep-alive race of RFC 9112 §9.3.1: the proxy retries such a request on a fresh connection)
IDLE_PF=$T/idle.port
spawn idle 120 "$PYTHON" -c '
import socket, sys, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
def serve(c):
    data, answered = b"", 0
    while True:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d: return
            data += d
        head, data = data.split(b"\r\n\r\n", 1)
        if answered:  # a second request on a kept-alive connection: closed unanswered
            c.close(); return
        lines = head.decode().split("\r\n")
        host = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("host:")]
        with open(sys.argv[2], "a") as f: f.write("%s HOST %s\n" % (lines[0], host[0] if host else "-"))
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        answered = 1
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$IDLE_PF" "$T/idle.log"
wait_file "$IDLE_PF" 10
IDLE=$(cat "$IDLE_PF")
WWW=$T/www
mkdir -p "$WWW/api"
printf '{"plan": "pro"}\n' > "$WWW/api/user.json"
printf 'HTTP/1.1 418 I am a teapot\nX-From-File: yes\nContent-Length: 999\n\nshort and stout\n' > "$WWW/teapot.http"
WEBAPI() { echo "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/$1"; }

start_httpeek --upstream-ca "$PKI/ca.pem" \
    --map-local "https://upstream.test:$ORIGIN/files/*=$WWW" \
    --map-local "http://local.test/teapot=$WWW/teapot.http" \
    --map-remote "https://upstream.test:$ORIGIN/v1/*=https://wrong.test:$STAGING/headers?from=" \
    --map-remote "https://upstream.test:$ORIGIN/badcert/*=https://upstream.test:$STAGING/" \
    --block "http://blk.test/status=503" --block "http://blk.test/dns=dns" \
    --block "http://blk.test/refused=refused" --block "http://blk.test/tls=tls" \
    --block "http://blk.test/reset" --block "http://blk.test/body=reset-body" \
    --block "http://blk.test/slow=timeout:1" \
    --map-remote "http://keep.test/k/*=http://127.0.0.1:$IDLE/mapped/"
O="https://upstream.test:$ORIGIN"

# detail JSON of the newest flow whose URL ends with $1
flow_for() {
    # $1 is a literal URL suffix (may hold ? or .): escaped for wait_grep's ERE
    wait_grep "$(sed 's/[][\\.*^$?+(){}|]/\\&/g' <<<"$1")" "$HTTPEEK_LOG" 10 >/dev/null 2>&1
    sleep 0.3
    "$PYTHON" - "$(WEBAPI "")" "$1" <<'PY'
import json, sys, urllib.request
base, suffix = sys.argv[1], sys.argv[2]
flows = [f for f in json.load(urllib.request.urlopen(base + "flows", timeout=10)) if f["url"].endswith(suffix)]
print(json.dumps(json.load(urllib.request.urlopen("%sflows/%d" % (base, max(f["id"] for f in flows)), timeout=10)) if flows else {}))
PY
}
jget() { jq_py "$1"; }

# ---- map local ----------------------------------------------------------------------------------
body=$(pcurl_tls -sS "$O/files/api/user.json" -D "$T/h1")
is "$body" '{"plan": "pro"}' "map local of a directory: the file under the rest of the path"
like "$(header content-type "$T/h1")" "application/json" "its type from the extension"
d=$(flow_for "/files/api/user.json")
is "$(jget 'd["_rules"][0]["action"]' <<<"$d")" "map_local" "the flow carries _rules with the action"
like "$(jget 'd["_rules"][0]["detail"]' <<<"$d")" "www/api/user.json" "... and the file in its detail"
is "$(jget 'd["rules"]' <<<"$d")" "1" "the summary counts the rules that touched it"
code=$(pcurl_tls -sS -o "$T/miss" -w '%{http_code}' "$O/files/api/missing.json")
is "$code" "404" "a directory without the file: 404"
like "$(cat "$T/miss")" "rule 'cli-1'.*www/api/missing.json" "the 404 names the rule and the path"
d=$(flow_for "/files/api/missing.json")
like "$(jget 'd["_rules"][0]["detail"]' <<<"$d")" "missing.json.*404" "the flow says which file was missing"
unlike "$(cat "$ORIGIN_LOG" 2>/dev/null)" "/files/" "the server never got a mapped request"
pcurl -sS -D "$T/h2" -o "$T/tea" "http://local.test/teapot"
is "$(status_of "$T/h2")" "418" "a .http file: its status"
is "$(header x-from-file "$T/h2")" "yes" "... its headers"
is "$(cat "$T/tea")" "short and stout" "... and its body, framed by its real length (not the file's Content-Length)"

# ---- map remote ---------------------------------------------------------------------------------
out=$(pcurl_tls -sS "$O/v1/users?id=7")
is "$(jget 'd["target"]' <<<"$out")" "/headers?from=users?id=7" "map remote: the pattern's * carried to the end of the URL"
is "$(jget 'dict(d["headers"]).get("Host")' <<<"$out")" "wrong.test:$STAGING" "the new target's Host"
is "$(jget 'd["sni"]' <<<"$out")" "wrong.test" "the new target's SNI; its certificate (wrong.test only) verified for it"
d=$(flow_for "/v1/users?id=7")
is "$(jget 'd["url"]' <<<"$d")" "$O/v1/users?id=7" "the flow keeps the URL the app asked for"
like "$(jget 'd["_rules"][0]["detail"]' <<<"$d")" "sent to https://wrong.test:$STAGING/headers" "... and says where it went"
code=$(pcurl_tls -sS -o /dev/null -w '%{http_code}' "$O/badcert/x")
is "$code" "502" "map remote to a server whose certificate does not name the new host: refused"
d=$(flow_for "/badcert/x")
like "$(jget 'd["failure"]["reason"]' <<<"$d")" "certificate" "... the flow says the certificate was refused"

# map remote and the keep-alive race: the mapped server closes the reused connection unanswered,
# the request is retried on a fresh one, still to the mapped path and Host
KEEP=$(timeout 20 "$PYTHON" - "$HTTPEEK_PORT" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
out = []
for path in ("/k/one", "/k/two"):
    c.request("GET", "http://keep.test" + path)
    r = c.getresponse(); out.append("%d %s" % (r.status, r.read().decode()))
    time.sleep(0.3)
print(" / ".join(out))
PY
)
is "$KEEP" "200 ok / 200 ok" "map remote on a kept-alive connection the server closed: the request is retried"
is "$(grep -c "GET /mapped/two HTTP/1.1 HOST 127.0.0.1:$IDLE" "$T/idle.log")" "1" "... on a fresh connection, to the mapped path and Host"

# ---- block --------------------------------------------------------------------------------------
code=$(pcurl -sS -o "$T/b" -w '%{http_code}' http://blk.test/status)
is "$code" "503" "block with a status: the status"
like "$(cat "$T/b")" "cli-5" "... and a body naming the rule"
# stage, NSURLError code, the rule (the command line's rules are cli-1, cli-2, ... in order)
for c in "dns -1003 cli-6" "refused -1004 cli-7" "tls -1200 cli-8" "slow -1001 cli-11"; do
    set -- $c
    pcurl -sS -o "$T/b" -w '%{http_code}' "http://blk.test/$1" >"$T/code"; rc=$?
    d=$(flow_for "blk.test/$1")
    is "$(jget 'd["diagnosis"]["code"]' <<<"$d")" "$2" "block $1: the flow's diagnosis is $2"
    like "$(cat "$T/code") $rc" "^50[24] 0$" "block $1: the client gets httpeek's 502/504 (curl exit 0)"
    is "$(jget 'd["_rules"][0]["id"]' <<<"$d")" "$3" "block $1: _rules names its own rule ($3), not another one"
done
pcurl -sS -o /dev/null http://blk.test/reset 2>"$T/err"; rc=$?
is "$rc" "52" "block reset: curl sees an empty reply (exit 52)"
d=$(flow_for "blk.test/reset")
is "$(jget 'd["diagnosis"]["code"]' <<<"$d")" "-1005" "... diagnosed -1005 (connection lost)"
pcurl -sS -o /dev/null http://blk.test/body 2>"$T/err"; rc=$?
is "$rc" "18" "block reset-body: curl sees the body cut short (exit 18)"
d=$(flow_for "blk.test/body")
is "$(jget 'd["diagnosis"]["code"]' <<<"$d")" "-1005" "... diagnosed -1005"

# ---- the viewer: the list's mark and the Overview's line ---------------------------------------
NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
ID_RULED=$(flow_for "/files/api/user.json" | jget 'd["id"]')
pcurl_tls -sS -o /dev/null "$O/bytes/10"
ID_PLAIN=$(flow_for "/bytes/10" | jget 'd["id"]')
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "the viewer's rule mark" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
else
    ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
    mkdir -p "$ART" 2>/dev/null || ART=$T
    out=$(VIEWER="$(WEBAPI "" | sed 's|api/$||')" FLOW=$ID_RULED PLAIN=$ID_PLAIN SCREENSHOT=$ART/64-map-rules.png \
          HOME=$T timeout -k 5 60 "$NODE" "$JS/viewer-rules.js" 2>&1)
    node_tap "$out"
fi

# ---- HAR ----------------------------------------------------------------------------------------
api "$(WEBAPI har)" >"$T/har.json"
n=$("$PYTHON" -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1]))["log"]["entries"] if e.get("_rules")))' "$T/har.json")
cmp_num "$n" -ge 12 "HAR entries carry _rules ($n)"

# ---- API: GET / PUT / ETag / If-Match -----------------------------------------------------------
RULES='{"version": 1, "rules": [{"id": "api-block", "match": {"url": "http://local.test/api/*"}, "action": {"type": "block", "status": 451}}]}'
api -D "$T/g" "$(WEBAPI rules)" >"$T/g.json"
etag=$(header etag "$T/g")
like "$etag" '^"r-' "GET /api/rules gives an ETag"
is "$(jget 'len(d["command_line"])' <"$T/g.json")" "12" "... and the command line's rules, read-only"
code=$(api -o "$T/p" -w '%{http_code}' -X PUT -H "If-Match: $etag" --data-binary "$RULES" "$(WEBAPI rules)")
is "$code" "200" "PUT with the current ETag: saved"
is "$(pcurl -sS -o /dev/null -w '%{http_code}' http://local.test/api/x)" "451" "the new rule applies at once"
like "$(cat "$HTTPEEK_CONFDIR/rules.json")" "api-block" "... and is saved in the rules file"
code=$(api -o "$T/p" -w '%{http_code}' -X PUT -H "If-Match: $etag" --data-binary "$RULES" "$(WEBAPI rules)")
is "$code" "412" "PUT with a stale ETag: 412, nothing overwritten"
etag=$(api -D - -o /dev/null "$(WEBAPI rules)" >"$T/g2"; header etag "$T/g2")
code=$(api -o "$T/p" -w '%{http_code}' -X PUT -H "If-Match: $etag" \
    --data-binary $'{"version": 1,\n "rules": [\n  {"match": {"host": "a.test"}, "action": {"type": "redirect"}}]}' "$(WEBAPI rules)")
is "$code" "400" "an invalid PUT: 400"
like "$(cat "$T/p")" "line 3: rules\\[0\\]\\.action\\.type" "... naming the line and the field"
is "$(pcurl -sS -o /dev/null -w '%{http_code}' http://local.test/api/x)" "451" "... and the rules in use stay"
code=$(api -o /dev/null -w '%{http_code}' -X PUT -H "Origin: http://evil.test" --data-binary "$RULES" "$(WEBAPI rules)")
is "$code" "403" "a PUT from another origin is refused"

# ---- rules swapped while requests flow: every request gets one set or the other, never a crash
# (452 is a status llhttp has no name for: the answer still goes out) --------------------------------
swap_rules() {
    local i e
    for i in $(seq 1 30); do
        e=$(api -D - -o /dev/null "$(WEBAPI rules)" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
        api -o /dev/null -X PUT -H "If-Match: $e" --data-binary \
            "{\"version\": 1, \"rules\": [{\"match\": {\"url\": \"http://local.test/api/*\"}, \"action\": {\"type\": \"block\", \"status\": $((i % 2 ? 452 : 451))}}]}" \
            "$(WEBAPI rules)"
    done
}
swap_rules & SWAP=$!
WORKERS=()
for w in 1 2 3 4; do
    (for i in $(seq 1 40); do pcurl -sS -o /dev/null -w '%{http_code}\n' "http://local.test/api/$w-$i"; done) >"$T/swap$w" &
    WORKERS+=($!)
done
wait "$SWAP" "${WORKERS[@]}"
codes=$(cat "$T"/swap? | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')
like "$codes" "^(451 |452 |451 452 )$" "160 requests while the rules were swapped 30 times: each got one set's answer ($codes)"
is "$(cat "$T"/swap? | wc -l)" "160" "... all 160 answered"
ok "httpeek is still running" kill -0 "$HTTPEEK_PID"

# ---- a hand edit, read on SIGHUP -----------------------------------------------------------------
# (to httpeek itself: $HTTPEEK_PID is the timeout(1) wrapping it, which would end it on a HUP)
HP=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
printf '{"version": 1,\n "rules": [\n  {"match": {"url": "http://local.test/api/*"},\n   "action": {"type": "block", "status": 99}}]}\n' > "$HTTPEEK_CONFDIR/rules.json"
kill -HUP "$HP"
wait_grep "rules refused" "$HTTPEEK_ERR" 10 >/dev/null 2>&1
like "$(cat "$HTTPEEK_ERR")" "rules refused, the rules in use stay: .*rules.json line 4: rules\\[0\\]\\.action\\.status" \
    "SIGHUP with an invalid hand edit: refused, naming the line and the field"
is "$(pcurl -sS -o /dev/null -w '%{http_code}' http://local.test/api/x)" "451" "... and the rules in use stay"
printf '{"version": 1, "rules": [{"match": {"url": "http://local.test/api/*"}, "action": {"type": "block", "status": 410}}]}\n' > "$HTTPEEK_CONFDIR/rules.json"
kill -HUP "$HP"
wait_grep "rules read from" "$HTTPEEK_ERR" 10 >/dev/null 2>&1
is "$(pcurl -sS -o /dev/null -w '%{http_code}' http://local.test/api/x)" "410" "SIGHUP with a valid edit: the new rules apply"

# ---- the same exchange code under the HTTP/2 front ----------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes \
    --map-local "https://upstream.test:$ORIGIN/files/*=$WWW" \
    --block "https://upstream.test:$ORIGIN/gone=410" --block "https://upstream.test:$ORIGIN/nxdomain=dns"
body=$(pcurl_tls --http2 -sS -D "$T/h2h" "$O/files/api/user.json")
is "$body" '{"plan": "pro"}' "HTTP/2: map local answers the stream"
like "$(grep '^HTTP/' "$T/h2h" | tail -n 1)" "^HTTP/2 200" "... over HTTP/2"
is "$(pcurl_tls --http2 -sS -o /dev/null -w '%{http_code}' "$O/gone")" "410" "HTTP/2: block with a status"
is "$(pcurl_tls --http2 -sS -o /dev/null -w '%{http_code}' "$O/nxdomain")" "502" "HTTP/2: block dns: httpeek's 502 on the stream"
d=$(flow_for "/nxdomain")
is "$(jget 'd["diagnosis"]["code"]' <<<"$d")" "-1003" "... diagnosed -1003"

# ---- an invalid rules.json at start -------------------------------------------------------------
printf '{"version": 1,\n "rules": [\n  {"match": {"url": "http://x.test/*"},\n   "action": {"type": "map_local"}}\n]}\n' > "$T/bad-rules.json"
timeout 10 "$HTTPEEK" --confdir "$T/c2" --rules "$T/bad-rules.json" --listen "127.0.0.1:$(free_port)" >/dev/null 2>"$T/bad.err"; rc=$?
is "$rc" "2" "an invalid rules file stops httpeek at start (exit 2)"
like "$(cat "$T/bad.err")" "bad-rules.json line 4: rules\\[0\\]\\.action\\.path: missing" "... naming the file, the line and the field"
timeout 10 "$HTTPEEK" --confdir "$T/c2" --block 'x.test=teapot' --listen "127.0.0.1:$(free_port)" >/dev/null 2>"$T/bad.err"; rc=$?
is "$rc" "2" "an unknown --block action: exit 2"
like "$(cat "$T/bad.err")" "unknown block action 'teapot'" "... saying which"

done_testing
