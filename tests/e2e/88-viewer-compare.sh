#!/usr/bin/env bash
# 88-viewer-compare.sh — the viewer's Compare, Copy as and keyboard (web/compare.js, copyas.js,
# keys.js) in headless Chromium after real curl traffic through httpeek:
# tests/js/viewer-compare.js picks two flows of the same endpoint (ctrl-click) and checks that
# Compare shows the changed request header, response header and the JSON fields changed, added
# and removed; then copies a POST with awkward headers and body as curl, HTTPie, Swift, OkHttp
# and fetch — the curl command is run by bash and the fetch snippet by node, both straight at
# the upstream, which must receive the same method, headers and body as the original.
# tests/js/viewer-keys.js drives the viewer with the keyboard only: the ? overlay, moving through
# the list, tabs, copy as curl, the filter, errors only, sorting, marking two flows and comparing;
# Repeat, Repeat…, Edit and resend, New request, the Breakpoints panel and a paused exchange's
# Execute (with an edit) / Continue / Abort, with curl requests through httpeek paused there.
# Screenshots: meson-logs/88-compare.png, 88-keys.png.
source "$(dirname "$0")/lib.sh"

NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "Compare, Copy as and keys in the viewer" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
    done_testing
    exit 0
fi

# the upstream: /user?v=N answers a JSON user that differs by version; /echo answers what it got
cat >"$T/cup.py" <<'PYEOF'
import http.server, json, socketserver, sys
USERS = {"1": {"user": {"name": "Ann", "plan": "free", "tags": ["a", "b"]}, "n": 1},
         "2": {"user": {"name": "Ann", "plan": "pro", "tags": ["a"], "since": 2020}, "n": 1}}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/user"):
            v = self.path.split("v=")[-1]
            out = json.dumps(USERS.get(v, {})).encode()
            extra = [("X-Version", v), ("Cache-Control", "no-store")]
            if v == "1": extra.append(("X-Only-One", "yes"))
        else:
            out = json.dumps({"method": self.command, "path": self.path,
                              "headers": [[k, v] for k, v in self.headers.items()],
                              "body": body.decode("latin-1")}).encode()
            extra = []
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Type", "application/json")
        for k, val in extra: self.send_header(k, val)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_POST = do_PUT = do_GET
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PYEOF
spawn cup 300 "$PYTHON" "$T/cup.py" "$T/cup.port"
wait_file "$T/cup.port" 10 || { echo "Bail out! the upstream did not start: $(cat "$T/cup.err")"; exit 1; }
CUP=$(cat "$T/cup.port")
start_dns cmp.test=127.0.0.1
start_httpeek
WEB=http://127.0.0.1:$HTTPEEK_WEB_PORT/

pcurl -o /dev/null "http://cmp.test:$CUP/user?v=1" -H 'X-Req: one' -H 'Accept: application/json'
pcurl -o /dev/null "http://cmp.test:$CUP/user?v=2" -H 'X-Req: two' -H 'Accept: application/json'
# the request Copy as must reproduce: quotes of every kind, "$", a backslash, a newline in the body
AWK_H=$'it\'s "q" $HOME `id` \\(x)'
pcurl -o /dev/null "http://127.0.0.1:$CUP/echo?a=1&b='2'" -H "X-Awk: $AWK_H" -H 'Content-Type: application/json' \
    --data-binary $'{"name":"it\'s \\"x\\"","note":"$a\\n","line":"1\n2"}'
pcurl -o /dev/null "http://cmp.test:$CUP/missing" -X PUT --data-binary 'x'
count=0
for _ in $(seq 100); do
    count=$(curl -s "${WEB}api/flows" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
    [ "${count:-0}" -ge 4 ] && break
    sleep 0.05
done
is "$count" 4 "the four flows are in the session"

ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
mkdir -p "$ART" 2>/dev/null || ART=$T
out=$(VIEWER=$WEB UPSTREAM_PORT=$CUP AWK_H=$AWK_H ART=$ART HOME=$T timeout -k 5 60 "$NODE" "$JS/viewer-compare.js" 2>&1)
rc=$?
node_tap "$out"
is "$rc" 0 "viewer-compare.js finished (status $rc)"
out=$(VIEWER=$WEB PROXY="127.0.0.1:$HTTPEEK_PORT" BASE="http://cmp.test:$CUP" ART=$ART HOME=$T timeout -k 5 90 "$NODE" "$JS/viewer-keys.js" 2>&1)
rc=$?
node_tap "$out"
is "$rc" 0 "viewer-keys.js finished (status $rc)"
done_testing
