#!/usr/bin/env bash
# 66-rewrite.sh — rewrite rules (docs/RULES.md "Rewrite") with curl and real servers: a request
# header set reaches the server, the URL and a query parameter changed on the way, a response
# header removed, the status changed, a gzip JSON body edited by path (the client gets valid
# gzip with the new field: curl --compressed, and the raw bytes gunzipped by python), a chunked
# response edited with a regex, a body over the 16 MiB limit left alone with the flow saying so,
# the same over the HTTP/2 front, and _rules with before / after in the API and HAR.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_upstream --tls server; TLSUP=$UPSTREAM_PORT
start_upstream; PLAIN=$UPSTREAM_PORT

# a server with the bodies upstream.py has not: gzip JSON, chunked text, 17 MiB of text
BPF=$T/bodies.port
spawn bodies 120 "$PYTHON" -c '
import gzip, http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/json.gz":
            body = gzip.compress(b"{\"user\": {\"plan\": \"free\", \"name\": \"ann\"}}", mtime=0)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"wor", b"ld, hello world\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/big":
            n = 17 << 20
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"a" * 65536
            for _ in range(n // 65536): self.wfile.write(chunk)
        else:
            self.send_error(404)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
' "$BPF"
wait_file "$BPF" 10
BODIES=$(cat "$BPF")
start_dns rw.test=127.0.0.1 upstream.test=127.0.0.1

B="http://rw.test:$BODIES"
P="http://rw.test:$PLAIN"
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes \
    --rewrite "$P/headers*=req-header:set:X-Debug:1" \
    --rewrite "$P/headers*=resp-header:remove:Server" \
    --rewrite "$P/secret*=req-header:set:Authorization:Bearer s3cret-token" \
    --rewrite "$P/secret*=url:^/secret=>/headers" \
    --rewrite "$P/old/*=url:^/old/(.*)=>/headers?was=\\1" \
    --rewrite "$P/q*=url:^/q=>/headers" \
    --rewrite "$P/q*=query:set:plan=pro" \
    --rewrite "$P/status/200=status:503" \
    --rewrite "$B/json.gz=resp-json:\$.user.plan=\"pro\"" \
    --rewrite "$B/chunked=resp-body:(hel+o) world=>\\1 there" \
    --rewrite "$B/big=resp-body:a=>b" \
    --rewrite "https://upstream.test:$TLSUP/headers=req-header:add:X-Via-H2:yes" \
    --rewrite "https://upstream.test:$TLSUP/headers=resp-header:set:X-Rewritten:h2" \
    --rewrite "https://upstream.test:$TLSUP/headers=resp-json:\$.sni=\"rewritten\""
V="http://127.0.0.1:$HTTPEEK_WEB_PORT"
rules_of() { newest_flow_detail "$V" rw.test | jq_py "json.dumps(d['_rules'])"; }

# ---- request side -------------------------------------------------------------------------------
pcurl -sS "$P/headers" -D "$T/h1" -o "$T/b1"
is "$(jq_py '[v for k, v in d["headers"] if k.lower() == "x-debug"]' < "$T/b1")" "['1']" \
    "req-header set: the server received X-Debug: 1"
is "$(header server "$T/h1")" "" "resp-header remove: the client gets no Server header"
like "$(grep -i '^server:' "$T/h1" || echo none)" "none" "... not even an empty one"
r=$(rules_of)
like "$r" '"before": "", "after": "1"' "_rules: the request header's before (none) and after"
like "$r" '"after": "\(removed\)"' "_rules: the removed response header's after is (removed)"

is "$(pcurl -sS "$P/old/users?id=7" | jq_py 'd["target"]')" "/headers?was=users?id=7" \
    "url: a regex with a group rewrote the path the server got"
is "$(pcurl -sS "$P/q?plan=free&x=1" | jq_py 'd["target"]')" "/headers?plan=pro&x=1" \
    "query set: the server got plan=pro in place of plan=free"

# ---- status ---------------------------------------------------------------------------------------
code=$(pcurl -s -o "$T/b3" -w '%{http_code}' "$P/status/200")
is "$code" "503" "status: the server's 200 reached the client as 503"
like "$(rules_of)" '"before": "200", "after": "503"' "_rules: status before 200, after 503"

# ---- a gzip JSON body -------------------------------------------------------------------------------
is "$(pcurl -sS --compressed "$B/json.gz" | jq_py 'd["user"]["plan"] + "," + d["user"]["name"]')" \
    "pro,ann" "gzip JSON: curl --compressed reads the new field (and the others kept)"
pcurl -sS "$B/json.gz" -D "$T/h4" -o "$T/raw4"
is "$(header content-encoding "$T/h4")" "gzip" "it is still sent gzip"
is "$(header content-length "$T/h4")" "$(wc -c < "$T/raw4" | tr -d ' ')" \
    "its Content-Length is the new gzip's length"
is "$(py 'import gzip, json, sys; print(json.loads(gzip.decompress(open(sys.argv[1], "rb").read()))["user"]["plan"])' "$T/raw4")" \
    "pro" "the raw bytes are valid gzip holding the new field (python gzip)"
r=$(rules_of)
like "$r" '"before": "\\"free\\"", "after": "\\"pro\\""' "_rules: JSON before \"free\", after \"pro\""

# ---- a chunked response -------------------------------------------------------------------------------
body=$(pcurl -sS "$B/chunked" -D "$T/h5")
is "$body" "hello there, hello there" "chunked: the regex (with its group) rewrote the whole body"
like "$(rules_of)" 'response body: 2 replacements' "_rules: the count of replacements"

# ---- over the limit -------------------------------------------------------------------------------------
CURL_MAX_TIME=60 pcurl -sS "$B/big" -o "$T/big"
is "$(wc -c < "$T/big" | tr -d ' ')" "$((17 << 20))" "a 17 MiB body arrives whole"
is "$(py 'import sys; d = open(sys.argv[1], "rb").read(); print(len(d) == 17 << 20 and d.count(b"a") == len(d))' "$T/big")" \
    "True" "... untouched (17 MiB of a's: the rewrite left it alone)"
like "$(rules_of)" 'over the 16 MiB limit: left alone' "the flow says the body was over the limit"

# ---- the HTTP/2 front -----------------------------------------------------------------------------------
pcurl_tls -sS --http2 "https://upstream.test:$TLSUP/headers" -D "$T/h6" -o "$T/b6"
like "$(grep '^HTTP/' "$T/h6" | tail -1)" "HTTP/2" "curl spoke HTTP/2 to httpeek"
is "$(jq_py '[v for k, v in d["headers"] if k.lower() == "x-via-h2"]' < "$T/b6")" "['yes']" \
    "h2 front: the request header added reached the server"
is "$(header x-rewritten "$T/h6")" "h2" "h2 front: the response header set reached the client"
is "$(jq_py 'd["sni"]' < "$T/b6")" "rewritten" "h2 front: the JSON body edited by path"
is "$(header content-length "$T/h6")" "$(wc -c < "$T/b6" | tr -d ' ')" \
    "h2 front: its content-length is the edited body's length"

# ---- HAR ------------------------------------------------------------------------------------------------
api "$V/api/har" > "$T/har.json"
is "$("$PYTHON" -c '
import json, sys
for e in json.load(open(sys.argv[1]))["log"]["entries"]:
    for r in e.get("_rules", []):
        if r.get("before") == "\"free\"":
            print(r["action"], r["after"])
' "$T/har.json" | sort -u)" 'rewrite "pro"' "HAR: _rules carry before and after"

# ---- "Redact secrets" covers what rules changed --------------------------------------------------------
is "$(pcurl -sS "$P/secret?key=k3y-value&x=1" | jq_py '[v for k, v in d["headers"] if k.lower() == "authorization"]')" \
    "['Bearer s3cret-token']" "a rule set a secret header (and rewrote a URL with a key in its query)"
api "$V/api/har?redact=0" > "$T/har0.json"
api "$V/api/har?redact=1" > "$T/har1.json"
rules_text() { jq_py 'json.dumps([e.get("_rules", []) for e in d["log"]["entries"]])' < "$1"; }
is "$(rules_text "$T/har0.json" | grep -o 's3cret-token\|k3y-value' | sort -u | tr '\n' ' ')" "k3y-value s3cret-token " \
    "the plain HAR's _rules have the secret header value and query key (before / after)"
is "$(rules_text "$T/har1.json" | grep -c 's3cret-token\|k3y-value')" "0" \
    "the redacted HAR's _rules have neither: before / after and details are redacted too"
is "$(jq_py '[r for e in d["log"]["entries"] for r in e.get("_rules", []) if "Authorization" in r["detail"]][0]["after"]' < "$T/har1.json")" \
    "[redacted]" "... the header's after says [redacted]"

done_testing
