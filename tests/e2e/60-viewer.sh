#!/usr/bin/env bash
# 60-viewer.sh — the built-in web viewer end to end: real flows through httpeek (plain JSON with
# cookies and duplicate headers, a gzip JSON body, an image, a binary body, a POST, an HTTPS flow
# through CONNECT, a 404, an unknown host -1003 and a refused port -1004), then the viewer in
# headless Chromium (tests/js/viewer.js, playwright-core): the list and its columns, a flow made
# after the page loaded arriving live over SSE, filters, the detail pane (headers exactly as
# received, query, cookies, decoded and pretty-printed bodies, image, hex, TLS of both legs,
# timings), the diagnosis panel of the failed flow, the client checklist and renaming, copy as
# curl (replayed by bash), HAR export of the filtered flows (validated), clear, and no request
# to any other host. The API side checks run with curl: DNS-rebinding Host headers are refused
# and captured bodies are served under a sandbox CSP. A screenshot is kept as an artifact
# (meson-logs/60-viewer.png next to the binary, or $VIEWER_ARTIFACTS). A second pass
# (tests/js/viewer-layout.js) checks the facts of a first HTTPS flow, the timing waterfall's
# geometry, failure rows told apart, body and header search, the raw view, the no-match state and
# the layout at 1400, 800 and 600 px, and keeps viewer-1400/800/600.png (copied to docs/).
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet; TLSUP=$UPSTREAM_PORT
start_upstream --tls expired --quiet; EXPUP=$UPSTREAM_PORT   # a certificate failing verification (TLS tab)
REFUSED=$(free_port)   # nothing listens there

# the viewer's upstream: JSON with cookies and repeated headers, gzip JSON, a PNG, binary, POST
cat >"$T/vup.py" <<'PYEOF'
import gzip, http.server, json, socketserver, struct, sys, zlib
def png(w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
ITEMS = {"items": [{"id": 1, "name": "widget", "tags": ["red", "small"], "price": 9.5},
                   {"id": 2, "name": "gadget", "tags": [], "price": None, "ok": True}],
         "total": 2, "next": None}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, body, ctype, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in extra: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_GET(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        p = self.path.split("?")[0]
        if p == "/api/items":
            self.send(200, json.dumps(ITEMS).encode(), "application/json; charset=utf-8",
                      [("Set-Cookie", "session=xyz123; Path=/; HttpOnly"), ("Set-Cookie", "theme=dark; Max-Age=3600"),
                       ("X-Dup", "one"), ("X-Dup", "two"), ("x-lower-Case", "kept")])
        elif p == "/gz.json":
            doc = json.dumps({"compressed": True, "greeting": "hello from gzip", "list": list(range(20))}).encode()
            self.send(200, gzip.compress(doc, mtime=0), "application/json", [("Content-Encoding", "gzip")])
        elif p == "/logo.png":
            self.send(200, png(24, 16, (220, 40, 40)), "image/png")
        elif p == "/bin":
            self.send(200, bytes(range(256)) * 2, "application/octet-stream")
        elif p == "/page.html":
            self.send(200, b"<!doctype html><script>parent.document.title='pwned'</script><p>hi</p>", "text/html")
        elif p == "/submit":
            self.send(201, json.dumps({"received": json.loads(body or b"null")}).encode(), "application/json")
        elif p == "/missing":
            self.send(404, b"not here\n", "text/plain")
        else:
            self.send(200, json.dumps({"path": self.path}).encode(), "application/json")
    do_POST = do_PUT = do_HEAD = do_GET
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PYEOF
spawn vup 300 "$PYTHON" "$T/vup.py" "$T/vup.port"
wait_file "$T/vup.port" 10 || { echo "Bail out! the viewer upstream did not start: $(cat "$T/vup.err")"; exit 1; }
VUP=$(cat "$T/vup.port")

start_httpeek --upstream-ca "$PKI/ca.pem" --passthrough '*.pinned.test'
if [ -z "${HTTPEEK_WEB_PORT:-}" ]; then
    echo "Bail out! this httpeek has no --web option"
    exit 1
fi
WEB=http://127.0.0.1:$HTTPEEK_WEB_PORT
wait_port "$HTTPEEK_WEB_PORT" 5 || { echo "Bail out! the viewer does not listen on $WEB"; exit 1; }

# ---- traffic -----------------------------------------------------------------------------------
N=0
flow() { pcurl -o /dev/null "$@" && N=$((N + 1)); }
flow "http://upstream.test:$VUP/api/items?page=1&q=a%20b" -H 'Cookie: sid=abc; theme=dark'
flow "http://upstream.test:$VUP/gz.json" -H 'Accept-Encoding: gzip'
flow "http://upstream.test:$VUP/logo.png"
flow "http://upstream.test:$VUP/bin"
flow "http://upstream.test:$VUP/page.html"
flow "http://upstream.test:$VUP/submit" -H 'Content-Type: application/json' --data "{\"name\":\"it's\",\"n\":1}"
flow "http://upstream.test:$VUP/missing"
# markup in a path and a header: the viewer must show it as text
flow "http://upstream.test:$VUP/x/%3Cb%3E/<i>y</i>" -H 'X-Evil: <img src=x onerror="document.title=1">'
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/headers" && N=$((N + 1))
pcurl -o /dev/null "http://nothere.invalid/x"; N=$((N + 1))            # -1003
pcurl -o /dev/null "http://upstream.test:$REFUSED/x"; N=$((N + 1))     # -1004
pcurl -o /dev/null "http://httpeek.test/ca-cert.pem"                   # the setup host: CA downloaded
count=0
for _ in $(seq 100); do
    count=$(curl -s "$WEB/api/flows" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
    [ "${count:-0}" -ge "$N" ] && break
    sleep 0.05
done
is "$count" "$N" "the API lists the $N flows made"

# ---- the API itself ----------------------------------------------------------------------------
code=$(curl -s -o "$T/rebind.out" -w '%{http_code}' -H 'Host: evil.example' "$WEB/api/flows")
like "$code" '^4[0-9][0-9]$' "a foreign Host header (DNS rebinding) is refused ($code)"
unlike "$(cat "$T/rebind.out")" 'upstream\.test' "and the refusal carries no flow data"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example:'"$HTTPEEK_WEB_PORT" "$WEB/")
like "$code" '^4[0-9][0-9]$' "the viewer page too refuses a foreign Host ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: localhost:$HTTPEEK_WEB_PORT" "$WEB/api/flows")
is "$code" 200 "Host: localhost is accepted"
curl -s -D "$T/index.h" -o "$T/index.html" "$WEB/"
like "$(header Content-Security-Policy "$T/index.h")" "default-src 'self'" "the viewer page is served with a same-origin CSP"
like "$(cat "$T/index.html")" '<script type="module" src="/app.js"' "the viewer page loads its own script, an ES module"
unlike "$(cat "$T/index.html")" 'https?://' "the viewer page names no other host"
pid=$(curl -s "$WEB/api/flows" | "$PYTHON" -c 'import json,sys; print([f["id"] for f in json.load(sys.stdin) if f["path"] == "/page.html"][0])')
curl -s -D "$T/page.h" -o /dev/null "$WEB/api/flows/$pid/response/body"
like "$(header Content-Security-Policy "$T/page.h")" '^sandbox' "a captured HTML body is served under a sandbox CSP"

# ---- the browser -------------------------------------------------------------------------------
NODE=$(command -v node || command -v nodejs || true)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || \
   [ ! -f "$JS/node_modules/har-validator/package.json" ]; then
    skip "the viewer in headless Chromium" "node or tests/js/node_modules missing (cd tests/js && npm ci)"
    done_testing
fi
if [ ! -x "$CHROMIUM" ]; then
    skip "the viewer in headless Chromium" "no chromium at $CHROMIUM"
    done_testing
fi
ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
mkdir -p "$ART" 2>/dev/null || ART=$T
out=$(VIEWER_URL=$WEB PROXY_PORT=$HTTPEEK_PORT VUP_PORT=$VUP TLS_PORT=$TLSUP EXPIRED_PORT=$EXPUP EXPECT_FLOWS=$N \
      HAR_OUT=$T/viewer.har SCREENSHOT=$ART/60-viewer.png CHROMIUM=$CHROMIUM HOME=$T \
      timeout -k 5 75 "$NODE" "$JS/viewer.js" 2>&1)
rc=$?
plan= ran=0
while IFS= read -r l; do
    case $l in
        "ok - "*) pass "${l#ok - }"; ran=$((ran + 1)) ;;
        "not ok - "*) fail "${l#not ok - }"; ran=$((ran + 1)) ;;
        "# "*) diag "${l#\# }" ;;
        1..[0-9]*) plan=${l#1..} ;;
        "") ;;
        *) diag "$l" ;;
    esac
done <<<"$out"
is "$rc" 0 "viewer.js finished (status $rc)"
is "$ran" "${plan:-no plan}" "viewer.js ran every check of its plan (${plan:-no plan line})"
if [ -s "$T/viewer.har" ]; then
    v=$("$NODE" "$JS/validate-har.js" "$T/viewer.har" 2>&1)
    like "$v" '^valid ' "validate-har.js accepts the viewer's HAR ($v)"
else
    fail "validate-har.js accepts the viewer's HAR" "the viewer's HAR download did not reach $T/viewer.har"
fi
[ -s "$ART/60-viewer.png" ] && diag "screenshot: $ART/60-viewer.png"

# ---- second pass (viewer-layout.js): facts of a first HTTPS flow, waterfall geometry, failure
# rows, body/header search, the raw view, the no-match state and the layout at 1400/800/600 px
start_upstream --tls server --quiet; FRESH=$UPSTREAM_PORT      # nobody has connected to it yet
start_upstream --tls selfsigned --quiet; SELF=$UPSTREAM_PORT
start_upstream --tls wronghost --quiet; WRONG=$UPSTREAM_PORT
pcurl_tls -o /dev/null "https://upstream.test:$FRESH/headers" -H 'X-Request-Id: req-7781'
pcurl -o /dev/null "http://upstream.test:$VUP/submit" -H 'Content-Type: application/json' --data '{"sku":"SKU-1002","qty":1}'
pcurl -o /dev/null "http://upstream.test:$VUP/submit" -H 'Content-Type: application/json' --data '{"sku":"SKU-2001","qty":2}'
pcurl -o /dev/null "http://upstream.test:$VUP/api/items?second=1"
pcurl_tls -o /dev/null "https://upstream.test:$SELF/self"        # -1202, self-signed
pcurl_tls -o /dev/null "https://upstream.test:$WRONG/wrong"      # -1202, name mismatch
pcurl_tls -o /dev/null "https://nothere.invalid/x"               # CONNECT that fails before TLS
# the search API itself: matches, paging by after=next_after, a query without a search term
for _ in $(seq 100); do
    curl -s "$WEB/api/flows" | grep -q nothere.invalid && break
    sleep 0.05
done
search() { curl -s "$WEB/api/search?$1" | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("ids"), d.get("done"), d.get("next_after"), d.get("error", ""))'; }
sku1=$(curl -s "$WEB/api/flows" | "$PYTHON" -c 'import json,sys; print([f["id"] for f in json.load(sys.stdin) if f["method"] == "POST"][-2])')
sku2=$(curl -s "$WEB/api/flows" | "$PYTHON" -c 'import json,sys; print([f["id"] for f in json.load(sys.stdin) if f["method"] == "POST"][-1])')
like "$(search 'q=body:SKU-1002')" "^\[$sku1\] True " "GET /api/search?q=body:SKU-1002 finds the one flow whose body holds it"
like "$(search 'q=reqbody:sku-2001')" "^\[$sku2\] True " "reqbody: the request body, case-insensitive"
like "$(search 'q=respbody:SKU-2001')" "^\[$sku2\] True " "respbody: the response body (the upstream echoes it)"
like "$(search 'q=header:x-request-id%3Dreq-7781')" "^\[[0-9]+\] True " "header:NAME=VALUE finds the flow that sent it"
first=$(search 'q=body:sku-&limit=1')
like "$first" "^\[$sku1\] False $sku1 " "limit=1: the first match, not done, next_after = it ($first)"
like "$(search "q=body:sku-&limit=1&after=$sku1")" "^\[$sku2\] " "after=next_after: the next match"
like "$(search 'q=hello')" "^None None None no body or header term" "a query without a body or header term is refused with a reason"
code=$(curl -s -o /dev/null -w '%{http_code}' "$WEB/api/search?q=body:")
is "$code" 400 "body: without text is a 400"

out=$(VIEWER_URL=$WEB PROXY_PORT=$HTTPEEK_PORT VUP_PORT=$VUP FRESH_PORT=$FRESH SELF_PORT=$SELF WRONG_PORT=$WRONG \
      SERVER_CA=$PKI/ca.pem SHOT_DIR=$ART CHROMIUM=$CHROMIUM HOME=$T timeout -k 5 90 "$NODE" "$JS/viewer-layout.js" 2>&1)
rc=$?
while IFS= read -r l; do
    case $l in
        "ok - "*) pass "${l#ok - }" ;;
        "not ok - "*) fail "${l#not ok - }" ;;
        "# "*) diag "${l#\# }" ;;
        "") ;;
        *) diag "$l" ;;
    esac
done <<<"$out"
is "$rc" 0 "viewer-layout.js finished (status $rc)"
for w in 1400 800 600; do [ -s "$ART/viewer-$w.png" ] && diag "screenshot: $ART/viewer-$w.png"; done

done_testing
