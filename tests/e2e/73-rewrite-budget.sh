#!/usr/bin/env bash
# 73-rewrite-budget.sh — bodies held whole for a rewrite count against the memory budget
# (--memory-budget): with a 4 MiB budget, a 12 MiB response (under the 16 MiB rewrite limit)
# and a 12 MiB upload are not held past the budget: the rule is skipped for that flow, the body
# is streamed on untouched, the flow says why, httpeek's peak memory stays far under the body's
# size, and once the budget is given back a small body is edited again.
source "$(dirname "$0")/lib.sh"

start_upstream; PLAIN=$UPSTREAM_PORT
N=$((12 << 20))
BPF=$T/bodies.port
spawn bodies 120 "$PYTHON" -c '
import http.server, os, sys
N = int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        body = b"a" * (N if self.path == "/big" else 16)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(0, len(body), 65536): self.wfile.write(body[i:i + 65536])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
' "$BPF" "$N"
wait_file "$BPF" 10
start_dns mb.test=127.0.0.1
B="http://mb.test:$(cat "$BPF")"
P="http://mb.test:$PLAIN"
start_httpeek --memory-budget 4M --max-body 65536 \
    --rewrite "$B/*=resp-body-literal:a=>b" \
    --rewrite "$P/echo/*=req-body-literal:a=>b"
V="http://127.0.0.1:$HTTPEEK_WEB_PORT"
rules_of() { newest_flow_detail "$V" mb.test | jq_py "json.dumps(d['_rules'])"; }
HP=$(pgrep -P "$HTTPEEK_PID" -x httpeek || echo "$HTTPEEK_PID") # under `timeout`
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$HP/status"; }

is "$(pcurl -sS "$B/small")" "bbbbbbbbbbbbbbbb" "a small response body is edited under the budget"
base=$(hwm_kb)

# ---- a response body over the budget -----------------------------------------------------------------
CURL_MAX_TIME=60 pcurl -sS "$B/big" -o "$T/big"
is "$(wc -c < "$T/big" | tr -d ' ')" "$N" "a 12 MiB response over the 4 MiB budget arrives whole"
is "$(py 'import sys; d = open(sys.argv[1], "rb").read(); print(d.count(b"a") == len(d))' "$T/big")" \
    "True" "... untouched (the rule skipped for this flow)"
like "$(rules_of)" 'memory budget \(--memory-budget 4 MiB\) is taken: the body was streamed on' \
    "the flow says the memory budget stopped the rewrite"

# ---- an upload over the budget ------------------------------------------------------------------------
head -c "$N" /dev/zero | tr '\0' 'a' > "$T/up"
CURL_MAX_TIME=60 pcurl -sS "$P/echo/x" -H 'Expect:' --data-binary "@$T/up" -D "$T/h2" -o /dev/null
is "$(header x-body-sha256 "$T/h2")" "$(file_sha "$T/up")" "a 12 MiB upload over the budget reaches the server untouched"
like "$(rules_of)" 'memory budget \(--memory-budget 4 MiB\) is taken: the request body was streamed on' \
    "the flow says so"

grown=$(( $(hwm_kb) - base ))
diag "peak memory grew by $grown KiB over the two 12 MiB bodies"
if sanitized; then
    skip "httpeek's peak memory grew by far less than a 12 MiB body" "an ASan build: RSS means nothing"
else
    cmp_num "$grown" -lt 8192 "httpeek's peak memory grew by far less than a 12 MiB body (held bytes bounded by the budget)"
fi

# ---- the budget was given back ----------------------------------------------------------------------------
is "$(pcurl -sS "$P/echo/y" --data-binary 'aaa')" "bbb" "after them, a small upload is edited again (budget given back)"
is "$(pcurl -sS "$B/small")" "bbbbbbbbbbbbbbbb" "... and a small response"
ok "httpeek is still running" kill -0 "$HTTPEEK_PID"

done_testing
