#!/usr/bin/env bash
# 50-store-har.sh — the session store and HAR export, end to end: real curl traffic through
# httpeek (plain http, https through CONNECT, a gzip body, a binary POST, a refused port) lands
# in the --session file; `httpeek export` turns it into HAR that har-validator accepts and that
# parses back to the same bodies; --redact hides secrets; ids continue when the session is
# reopened; and a `kill -9` under load loses nothing committed (integrity_check ok).
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
start_upstream --tls server --quiet; TLSUP=$UPSTREAM_PORT
REFUSED=$(free_port)   # nothing listens there
NODE=$(command -v node || command -v nodejs || true)
VALIDATE=$REPO_ROOT/tests/js/validate-har.js

SESSION=$T/session.sqlite
start_httpeek --upstream-ca "$PKI/ca.pem" --session "$SESSION" --passthrough localhost
like "$(grep '^Session: ' "$HTTPEEK_LOG")" "^Session: $SESSION\$" "start-up prints the session file"

# ---- traffic -----------------------------------------------------------------------------------
pcurl -o "$T/plain.json" "http://upstream.test:$UP/headers?x=1"
pcurl -o /dev/null "http://upstream.test:$UP/status/200?x=1&token=s3cr3t" \
    -H 'Cookie: sid=abc; theme=dark' -H 'Authorization: Bearer tok123'
# an opaque tunnel (--passthrough): recorded as a CONNECT flow
pcurl --cacert "$PKI/ca.pem" -o /dev/null "https://localhost:$TLSUP/bytes/10"
pcurl_tls -o "$T/tls.json" "https://upstream.test:$TLSUP/headers"
pcurl -o "$T/gzip.raw" "http://upstream.test:$UP/gzip/20000"
"$PYTHON" -c 'import os,sys; sys.stdout.buffer.write(os.urandom(5000) + bytes(range(256)))' >"$T/post.bin"
pcurl -o "$T/post.out" --data-binary "@$T/post.bin" -H 'Content-Type: application/octet-stream' \
    "http://upstream.test:$UP/echo"
pcurl -o /dev/null --data '{"a":"caf\u00e9","n":1}' -H 'Content-Type: application/json' \
    "http://upstream.test:$UP/echo"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://upstream.test:$REFUSED/nothing")
is "$code" 502 "a request to a refused port gets 502"
cmp -s "$T/post.bin" "$T/post.out"; is $? 0 "the binary POST went through unchanged"
wait_grep "upstream\.test:$REFUSED" "$HTTPEEK_LOG" 5
# an exchange still in progress at SIGTERM: it finishes in the grace period and must be stored
CURL_MAX_TIME=10 pcurl -o /dev/null -w '%{http_code}' "http://upstream.test:$UP/slow/1" >"$T/slow.code" 2>/dev/null &
slow_pid=$!
sleep 0.3
hp=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
kill -TERM "$hp"
wait "$HTTPEEK_PID"
is $? 0 "httpeek stopped with SIGTERM exits 0"
wait "$slow_pid"
is "$(cat "$T/slow.code")" 200 "the exchange in progress at SIGTERM got its answer"

# ---- export ------------------------------------------------------------------------------------
t0=$(date +%s%N)
"$HTTPEEK" export --session "$SESSION" --har "$T/out.har" 2>"$T/export.err"
rc=$?
t1=$(date +%s%N)
is "$rc" 0 "httpeek export exits 0 ($(( (t1 - t0) / 1000000 )) ms)"
if [ -n "$NODE" ] && [ -f "$REPO_ROOT/tests/js/node_modules/har-validator/package.json" ]; then
    out=$("$NODE" "$VALIDATE" "$T/out.har" 2>&1)
    like "$out" "^valid " "har-validator accepts the HAR ($out)"
else
    skip "har-validator accepts the HAR" "node or tests/js/node_modules missing (run deps.sh)"
fi

check=$("$PYTHON" - "$T" "$UP" "$TLSUP" "$REFUSED" <<'EOF'
import base64, gzip, json, random, sys
T, up, tlsup, refused = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
har = json.load(open(T + "/out.har"))
log = har["log"]
out = []
def check(cond, desc):
    out.append(("ok" if cond else "FAIL") + " " + desc)
def body(content):
    if content.get("encoding") == "base64":
        return base64.b64decode(content["text"])
    return content.get("text", "").encode()
E = log["entries"]
http = [e for e in E if e["request"]["method"] != "CONNECT"]
by = lambda frag: [e for e in http if frag in e["request"]["url"]]
check(len(log["pages"]) == 1 and all(e["pageref"] == log["pages"][0]["id"] for e in E), "one page, every entry refers to it")
check(len(http) == 8, "eight HTTP entries (got %d)" % len(http))
slow = by("/slow/1")
check(len(slow) == 1 and slow[0]["response"]["status"] == 200 and body(slow[0]["response"]["content"]) == b"slow\n",
      "the exchange that finished after SIGTERM is in the session, with its response")
tun = [e for e in E if e["request"]["method"] == "CONNECT"]
check(len(tun) == 1 and tun[0]["request"]["url"] == "https://localhost:%s/" % tlsup and tun[0]["response"]["status"] == 200,
      "the opaque CONNECT tunnel is an entry too (%s)" % [t["request"]["url"] for t in tun])
plain = by("/headers?x=1")[0]
sec = by("/status/200?x=1")[0]
check(body(plain["response"]["content"]) == open(T + "/plain.json", "rb").read(), "plain http: body text equal to what curl got")
check(plain["response"]["content"].get("encoding") is None, "plain http: JSON body is text, not base64")
check({"name": "token", "value": "s3cr3t"} in sec["request"]["queryString"], "queryString parsed")
check({"name": "sid", "value": "abc"} in sec["request"]["cookies"], "request cookies parsed")
check(plain.get("serverIPAddress") == "127.0.0.1" and plain.get("connection", "").isdigit(), "serverIPAddress and connection")
check(plain["request"]["headersSize"] > 0 and plain["response"]["bodySize"] > 0, "headersSize / bodySize")
tls = by("https://upstream.test:%s/headers" % tlsup)[0]
check(body(tls["response"]["content"]) == open(T + "/tls.json", "rb").read(), "https via CONNECT: body equal")
check(tls["timings"]["ssl"] >= 0 or tls["timings"]["connect"] >= 0, "https: connect/ssl timings present")
gz = by("/gzip/20000")[0]
c = gz["response"]["content"]
check(body(c) == random.Random(20000).randbytes(20000), "gzip body decoded (content = identity bytes)")
check(c["size"] == 20000 and gz["response"]["bodySize"] == len(open(T + "/gzip.raw", "rb").read()), "content.size decoded, bodySize as on the wire")
check(c.get("compression") == c["size"] - gz["response"]["bodySize"], "content.compression = size - bodySize")
post = [e for e in by("/echo") if e["request"]["postData"]["mimeType"] == "application/octet-stream"][0]
pd = post["request"]["postData"]
check(pd.get("_encoding") == "base64" and base64.b64decode(pd["text"]) == open(T + "/post.bin", "rb").read(), "binary POST body kept, base64 in postData.text")
check(body(post["response"]["content"]) == open(T + "/post.bin", "rb").read(), "binary response body kept (base64)")
jp = [e for e in by("/echo") if e["request"]["postData"]["mimeType"] == "application/json"][0]
check(jp["request"]["postData"]["text"] == '{"a":"caf\\u00e9","n":1}' and "_encoding" not in jp["request"]["postData"], "text POST body as text")
bad = by(":%s/nothing" % refused)[0]
check(bad["response"]["status"] == 0, "refused port: response.status 0")
check(isinstance(bad["response"].get("_error"), str) and len(bad["response"]["_error"]) > 3, "refused port: response._error = %r" % bad["response"].get("_error"))
check(bad.get("_diagnosis", {}).get("code") == -1004, "refused port: _diagnosis code -1004")
for e in E:
    t = e["timings"]
    if not all(t[k] >= 0 for k in ("send", "wait", "receive")) or not all(t[k] >= -1 for k in ("blocked", "dns", "connect", "ssl")):
        check(False, "timings in range for %s" % e["request"]["url"])
        break
else:
    check(True, "timings: send/wait/receive >= 0, others >= -1")
PHASES = ("blocked", "dns", "connect", "send", "wait", "receive")  # ssl: already inside connect
off = [(e["request"]["url"], e["time"], e["timings"]) for e in E
       if abs(e["time"] - sum(max(0, e["timings"][k]) for k in PHASES)) > 0.001]
check(not off and any(e["timings"]["ssl"] > 0 for e in E),
      "entry time: the sum of its phases, ssl counted once (inside connect) %s" % off[:1])
def nonull(x, path="log"):
    if x is None:
        return path
    if isinstance(x, dict):
        for k, v in x.items():
            r = nonull(v, path + "." + k)
            if r: return r
    if isinstance(x, list):
        for i, v in enumerate(x):
            r = nonull(v, "%s[%d]" % (path, i))
            if r: return r
    return None
n = nonull(log)
check(n is None, "no nulls anywhere (%s)" % n)
print("\n".join(out))
EOF
)
while IFS= read -r l; do
    case $l in
        "ok "*) pass "${l#ok }" ;;
        *) fail "${l#FAIL }" ;;
    esac
done <<<"$check"

# ---- redaction ---------------------------------------------------------------------------------
"$HTTPEEK" export --session "$SESSION" --har "$T/red.har" --redact
red=$(cat "$T/red.har")
unlike "$red" "s3cr3t|tok123|sid=abc|\"abc\"" "--redact: no token, Authorization or cookie value left"
like "$red" '"name":"Authorization","value":"\[redacted\]"' "--redact: Authorization value replaced"
like "$red" 'token=%5Bredacted%5D' "--redact: token query parameter replaced in the URL"
like "$(cat "$T/out.har")" 'Bearer tok123' "without --redact everything is kept"

# ---- errors ------------------------------------------------------------------------------------
err=$("$HTTPEEK" export --session "$T/missing.sqlite" --har "$T/x.har" 2>&1); rc=$?
is "$rc" 1 "export of a missing session exits 1"
is "$(printf '%s\n' "$err" | wc -l)" 1 "with a one-line error ($err)"
head -c 4096 /dev/urandom >"$T/garbage.sqlite"
err=$("$HTTPEEK" export --session "$T/garbage.sqlite" --har "$T/x.har" 2>&1); rc=$?
is "$rc" 1 "export of a corrupt session exits 1 ($err)"
ok "and leaves no HAR behind" test ! -e "$T/x.har"

# ---- reopen: ids continue ----------------------------------------------------------------------
before=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select max(id), count(*) from flows").fetchone())' "$SESSION")
start_httpeek --upstream-ca "$PKI/ca.pem" --session "$SESSION"
pcurl -o /dev/null "http://upstream.test:$UP/bytes/10"
wait_grep "/bytes/10 200" "$HTTPEEK_LOG" 5
stop_httpeek
after=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select max(id), count(*) from flows").fetchone())' "$SESSION")
"$PYTHON" -c 'import sys; b=eval(sys.argv[1]); a=eval(sys.argv[2]); sys.exit(0 if a[0] == b[0] + 1 and a[1] == b[1] + 1 else 1)' "$before" "$after"
is $? 0 "reopening the session continues its ids (before $before, after $after)"

# ---- kill -9 under load ------------------------------------------------------------------------
KSESSION=$T/kill.sqlite
start_httpeek --session "$KSESSION"
hp=$(pgrep -P "$HTTPEEK_PID" | head -n 1)
PY_TIMEOUT=60 py '
import http.client, json, os, signal, sys, threading, time
port, up, pid, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
N, THREADS, KILL_AT = 2000, 16, 1000
lock = threading.Lock()
done = {}          # i -> completion time (wall clock)
state = {"next": 0, "kill_time": None}
def worker():
    conn = None
    while True:
        with lock:
            i = state["next"]
            if i >= N:
                return
            state["next"] += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "http://upstream.test:%d/bytes/64?i=%d" % (up, i))
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                t = time.time()
                with lock:
                    done[i] = t
                    if len(done) == KILL_AT and state["kill_time"] is None:
                        os.kill(pid, signal.SIGKILL)
                        state["kill_time"] = time.time()
        except Exception:
            conn = None
            if state["kill_time"] is not None:
                return
threads = [threading.Thread(target=worker) for _ in range(THREADS)]
t0 = time.time()
for t in threads: t.start()
for t in threads: t.join()
json.dump({"kill_time": state["kill_time"], "done": done, "t0": t0}, open(out, "w"))
' "$HTTPEEK_PORT" "$UP" "$hp" "$T/load.json"
is $? 0 "load generator ran"
for i in $(seq 50); do kill -0 "$hp" 2>/dev/null || break; sleep 0.05; done
ok "httpeek was killed with SIGKILL under load" bash -c "! kill -0 $hp 2>/dev/null"
wait "$HTTPEEK_PID" 2>/dev/null
ok "the killed instance left its WAL behind (nothing was checkpointed on exit)" test -e "$KSESSION-wal"
start_httpeek --session "$KSESSION"
like "$(grep '^Session: ' "$HTTPEEK_LOG")" "kill.sqlite" "httpeek restarts on the same session after kill -9"
viewer_n=$(curl -sS --max-time 20 "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows" |
    "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
viewer_page=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTPEEK_WEB_PORT/")
stop_httpeek
res=$("$PYTHON" - "$KSESSION" "$T/load.json" <<'EOF'
import json, re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
urls = [r[0] for r in db.execute("SELECT json_extract(summary, '$.url') FROM flows")]
have = {int(m.group(1)) for u in urls for m in [re.search(r"[?&]i=(\d+)", u or "")] if m}
load = json.load(open(sys.argv[2]))
kt = load["kill_time"]
done = {int(k): v for k, v in load["done"].items()}
old = [i for i, t in done.items() if t <= kt - 1.0]
recent = [i for i, t in done.items() if t <= kt - 0.1]
miss_old = [i for i in old if i not in have]
miss_recent = [i for i in recent if i not in have]
rate = len(done) / max(kt - load["t0"], 1e-6)
print(integrity)
print(len(done), len(have), len(old), len(miss_old), len(recent), len(miss_recent), "%.0f" % rate)
EOF
)
integrity=$(printf '%s\n' "$res" | sed -n 1p)
read -r completed stored old miss_old recent miss_recent rate <<<"$(printf '%s\n' "$res" | sed -n 2p)"
is "$integrity" ok "PRAGMA integrity_check after kill -9 says ok"
cmp_num "${completed:-0}" -ge 1000 "the load completed $completed requests before and around the kill (~$rate req/s)"
cmp_num "${old:-0}" -gt 0 "some requests completed more than 1 s before the kill ($old)"
is "${miss_old:-x}" 0 "every flow completed >= 1 s before the kill is in the session ($stored stored)"
diag "flows completed >= 100 ms before the kill: $recent, missing from the session: $miss_recent"
is "${miss_recent:-x}" 0 "every flow completed >= 100 ms before the kill is in the session"
is "$viewer_page/${viewer_n:-x}" "200/$stored" "the recovered session opens in the viewer with all $stored flows"
t0=$(date +%s%N)
"$HTTPEEK" export --session "$KSESSION" --har "$T/kill.har"
rc=$?
t1=$(date +%s%N)
n=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$T/kill.har" 2>/dev/null)
is "$rc/$n" "0/$stored" "the recovered session exports all $stored flows ($(( (t1 - t0) / 1000000 )) ms)"

done_testing
