#!/usr/bin/env bash
# 53-websocket.sh — WebSocket messages (issue 18): real peers from node's `ws` (tests/js/ws-peers.js)
# through httpeek: ws:// as an absolute-form proxy request and wss:// through an intercepted
# CONNECT; text, binary, a fragmented text with a ping between its fragments, ping/pong, JSON,
# a big text past --max-body; permessage-deflate both ways with and without context takeover;
# close codes and reasons; a server that masks a frame (tests/e2e/ws_raw.py). The API's messages are matched byte for byte against what each peer
# sent, the flow's "ws" facts and end checked (a 1011 close and a lost connection diagnosed), the
# HAR carries _webSocketMessages and still validates, and the viewer's Messages tab shows the
# messages of a socket that is still open, a late one arriving live.
source "$(dirname "$0")/lib.sh"

NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
PEERS=$JS/ws-peers.js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/ws/package.json" ]; then
    skip "WebSocket peers" "node or tests/js/node_modules/ws missing (./scripts/deps.sh --test)"
    done_testing
fi
PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1

spawn ws-takeover 100 "$NODE" "$PEERS" server "$T/p-takeover" --deflate takeover
spawn ws-tls 100 "$NODE" "$PEERS" server "$T/p-tls" --tls "$PKI/server.pem" "$PKI/server.key" --deflate no-takeover
spawn ws-plain 100 "$NODE" "$PEERS" server "$T/p-plain" --deflate none
for s in takeover tls plain; do
    wait_file "$T/p-$s" 10 || { echo "Bail out! ws server $s did not start: $(cat "$T/ws-$s.err")"; exit 1; }
done
MAXB=100000 # the big text (108,000 bytes) is stored cut, the rest whole
start_httpeek --upstream-ca "$PKI/ca.pem" --session "$T/session.sqlite" --max-body $MAXB
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"

client() { timeout -k 2 30 "$NODE" "$PEERS" client "$@" 2>"$T/client.err"; }

# ---- traffic ---------------------------------------------------------------------------------
client "ws://upstream.test:$(cat "$T/p-takeover")/a" "$HTTPEEK_PORT" --deflate on --end client >"$T/a.json"
client "wss://upstream.test:$(cat "$T/p-tls")/b" "$HTTPEEK_PORT" --ca "$HTTPEEK_CA" --deflate on \
    --end server-1011 >"$T/b.json"
client "ws://upstream.test:$(cat "$T/p-plain")/c" "$HTTPEEK_PORT" --end drop >"$T/c.json"
is "$(jq_py 'd["extensions"]' <"$T/a.json")" "permessage-deflate" \
    "ws:// through the proxy: the client negotiated permessage-deflate ($(head -c 200 "$T/client.err"))"
like "$(cat "$T/b.json")" '"close":\{"code":1011,"reason":"boom"\}' "wss:// through CONNECT: the server's 1011 close reached the client"
like "$(cat "$T/c.json")" '"close":\{"code":1006' "the dropped connection reached the client as 1006"

# a socket held open while the API and the viewer look at it; its last message comes late
timeout -k 2 90 "$NODE" "$PEERS" client "ws://upstream.test:$(cat "$T/p-takeover")/live" "$HTTPEEK_PORT" \
    --deflate on --late-file "$T/late" --end client >"$T/d.json" 2>"$T/d.err" &
HOLD_PID=$!
_PIDS+=("$HOLD_PID")

# ---- the API, byte for byte ------------------------------------------------------------------
sleep 1
out=$(PY_TIMEOUT=60 py '
import base64, json, sys, time, urllib.request
web, tdir, maxb = sys.argv[1], sys.argv[2], int(sys.argv[3])
get = lambda p: json.load(urllib.request.urlopen(web + p, timeout=10))
def check(c, d, *diag):
    print(("ok - " if c else "not ok - ") + d)
    if not c:
        for x in diag: print("# " + str(x)[:600])
def flow(path, pred=lambda f: True, wait=10):
    t0 = time.time()
    while time.time() - t0 < wait:
        fs = [f for f in get("/api/flows") if f["path"] == path and "ws" in f and pred(f)]
        if fs: return fs[-1]
        time.sleep(0.1)
    return None
def raw(m):
    return m["data"].encode() if m["encoding"] == "utf8" else base64.b64decode(m["data"])
def messages(fid):
    out, after = [], -1
    while True: # paged: 5 a page
        page = get("/api/flows/%d/messages?after=%d&limit=5" % (fid, after))
        if not page: return out
        out += page
        after = page[-1]["index"]
def lines(p): return [json.loads(l) for l in open(p) if l.strip()]
def match(name, msgs, sent, frm):
    got = [m for m in msgs if m["from"] == frm and m["opcode"] in (1, 2)]
    ok = len(got) == len(sent)
    bad = []
    for m, s in zip(got, sent):
        b = base64.b64decode(s["b64"])
        want_op = 2 if s["binary"] else 1
        whole = len(b) <= maxb
        if m["opcode"] != want_op or m["size"] != len(b) or m["cut"] == whole or \
           raw(m) != (b if whole else b[:maxb]):
            bad.append((m["index"], m["opcode"], m["size"], len(b), m["cut"]))
    check(ok and not bad, "%s: the %s messages stored are byte for byte what the %s sent (%d; past --max-body: cut, exact size)"
          % (name, frm, frm, len(sent)), "got %d want %d" % (len(got), len(sent)), bad)
    return got
A = json.load(open(tdir + "/a.json")); B = json.load(open(tdir + "/b.json")); C = json.load(open(tdir + "/c.json"))
fa = flow("/a", lambda f: not f["ws"]["open"]); fb = flow("/b", lambda f: not f["ws"]["open"]); fc = flow("/c", lambda f: not f["ws"]["open"])
check(fa and fb and fc, "three WebSocket flows, each with its ws facts, ended", fa, fb, fc)
if not (fa and fb and fc): sys.exit(0)
ma, mb, mc = messages(fa["id"]), messages(fb["id"]), messages(fc["id"])
check(fa["status"] == 101 and fa["url"].startswith("http://") and fb["url"].startswith("https://"),
      "ws:// is recorded as an http:// 101, wss:// through CONNECT as https://", fa["url"], fb["url"])
da = match("ws:// (context takeover)", ma, A["sent"], "client")
sa = match("ws:// (context takeover)", ma, lines(tdir + "/p-takeover.sent")[:len(A["received"])], "server")
check([m for m in sa] and [base64.b64encode(raw(m)).decode() for m in sa if not m["cut"]] ==
      [r["b64"] for r, m in zip(A["received"], sa) if not m["cut"]], "what the server sent is what the client received")
db = match("wss:// (no context takeover)", mb, B["sent"], "client")
match("wss:// (no context takeover)", mb, lines(tdir + "/p-tls.sent"), "server")
dc = match("ws:// (no deflate)", mc, C["sent"], "client")
check(all(m["compressed"] for m in da) and all(m["compressed"] for m in db) and
      not any(m["compressed"] for m in mc), "deflated messages are flagged compressed (both ways), plain ones not")
ext = fb["ws"]["extensions"]
check("client_no_context_takeover" in ext and "server_no_context_takeover" in ext and "server_max_window_bits=10" in ext,
      "the wss:// flow keeps the negotiated extension: " + ext)
big = [m for m in ma if m["size"] == 108000]
check(len(big) == 2 and all(m["cut"] and m["wire_size"] < 5000 for m in big) and fa["ws"]["cut"] == 2,
      "the 108,000-byte text (a few hundred bytes deflated) is stored cut at --max-body both ways, counted in ws.cut",
      [(m["size"], m["wire_size"], m["cut"]) for m in big], fa["ws"])
frag = [m for m in ma if m["from"] == "client" and m["opcode"] == 1 and raw(m) == b"frag-one frag-two frag-three"]
pings = [base64.b64encode(raw(m)).decode() for m in ma if m["from"] == "client" and m["opcode"] == 9]
pongs = [base64.b64encode(raw(m)).decode() for m in ma if m["from"] == "server" and m["opcode"] == 10]
check(len(frag) == 1, "three fragments (a ping between them) are stored as one message")
check(pings == A["pings"] and pongs == A["pings"], "pings stored as the client sent them, pongs as the server answered",
      pings, pongs, A["pings"])
cm = [m for m in ma if m["from"] == "client"]
at = [i for i, m in enumerate(cm) if m in frag]
check(at and at[0] > 0 and cm[at[0] - 1]["opcode"] == 9 and raw(cm[at[0] - 1]) == b"between",
      "the ping sent between the fragments is stored before the message they make")
ca = [m for m in ma if m["opcode"] == 8]
check([(m["from"], m["close_code"], m["data"]) for m in ca] == [("client", 1000, "done"), ("server", 1000, "done")] and
      fa["ws"]["close_code"] == 1000 and fa["ws"]["closed_by"] == "client" and not fa["failed"],
      "a normal close: 1000 done from the client, echoed; the flow did not fail", [(m["from"], m.get("close_code"), m["data"]) for m in ca], fa["ws"])
ts = [m["time"] for m in ma]
check(ts == sorted(ts) and abs(ts[0] - time.time()) < 120, "message times are epoch seconds, in order")
db_ = get("/api/flows/%d" % fb["id"])
d = db_.get("diagnosis") or {}
check(fb["failed"] and fb["ws"]["close_code"] == 1011 and fb["ws"]["close_reason"] == "boom" and
      fb["ws"]["closed_by"] == "server" and d.get("code") == 1011 and
      d.get("name") == "URLSessionWebSocketTask.CloseCode.internalServerError" and fb["reason_short"] == "closed 1011",
      "a 1011 close from the server fails the flow, diagnosed as URLSessionWebSocketTask.CloseCode.internalServerError",
      fb, d)
dc_ = get("/api/flows/%d" % fc["id"])
d = dc_.get("diagnosis") or {}
check(fc["failed"] and fc["diag_code"] == -1005 and d.get("code") == -1005 and "without a close frame" in fc["error"] and
      fc["ws"]["close_code"] is None and dc_["failure"]["closed_by"] == "server",
      "a connection lost without a close frame: -1005, the server named", fc["error"], d, dc_.get("failure"))
check(fa["duration_ms"] > 0 and db_["duration_ms"] == fb["duration_ms"],
      "the end gives the flow its duration (summary and detail)")
# the socket still open
fd = flow("/live")
md = messages(fd["id"]) if fd else []
check(fd and fd["ws"]["open"] and len([m for m in md if m["opcode"] in (1, 2)]) >= 12,
      "a socket still open: its flow is listed as open with the messages so far", fd and fd["ws"], len(md))
codes = []
for q in ("after=x", "after=x&limit=5", "after=2&limit=5z", "after=-2"):
    try:
        urllib.request.urlopen(web + "/api/flows/%d/messages?%s" % (fa["id"], q), timeout=5); codes.append(200)
    except urllib.error.HTTPError as e: codes.append(e.code)
code = 400 if codes == [400] * 4 else codes
try:
    urllib.request.urlopen(web + "/api/flows/999999/messages", timeout=5); code2 = 200
except urllib.error.HTTPError as e: code2 = e.code
check(code == 400 and code2 == 404, "a bad after or limit gets 400, an unknown flow 404", code, code2)
print("IDS %d %d %d %d" % (fa["id"], fb["id"], fc["id"], fd["id"] if fd else 0))
' "$WEB" "$T" "$MAXB")
node_tap "$(grep -v '^IDS ' <<<"$out")"
read -r _ IDA IDB IDC IDD <<<"$(grep '^IDS ' <<<"$out")"

# ---- the viewer: the Messages tab of the open socket, the late message arriving live --------
if [ -z "$IDD" ] || [ "$IDD" = 0 ]; then
    skip "the Messages tab" "no open socket flow"
elif [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "the Messages tab" "tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
else
    ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
    mkdir -p "$ART" 2>/dev/null || ART=$T
    out=$(VIEWER="$WEB/" FLOW=$IDD LATE_FILE=$T/late SCREENSHOT=$ART/53-websocket.png HOME=$T \
          timeout -k 5 60 "$NODE" "$JS/viewer-messages.js" 2>&1)
    node_tap "$out"
fi
touch "$T/late" # (the viewer test did, unless it was skipped)
wait "$HOLD_PID"
is "$?" 0 "the held socket's client ended well"
like "$(cat "$T/d.json")" '"close":\{"code":1000' "the held socket closed normally after its late message"

# ---- a malformed frame: recorded as such, the relay carries on --------------------------------
spawn ws-raw 30 "$PYTHON" "$E2E_DIR/ws_raw.py" server "$T/p-raw"
wait_file "$T/p-raw" 10 || { echo "Bail out! ws_raw.py did not start: $(cat "$T/ws-raw.err")"; exit 1; }
raw=$(timeout -k 2 20 "$PYTHON" "$E2E_DIR/ws_raw.py" client "http://upstream.test:$(cat "$T/p-raw")/raw" "$HTTPEEK_PORT")
is "$(sed -n 2p <<<"$raw")" "$(cat "$T/p-raw.sent")" \
    "a server that masks a frame: every byte after the 101 reaches the client unchanged"
out=$(py '
import json, sys, time, urllib.request
web = sys.argv[1]
get = lambda p: json.load(urllib.request.urlopen(web + p, timeout=10))
for _ in range(50):
    fs = [f for f in get("/api/flows") if f["path"] == "/raw" and "ws" in f and not f["ws"]["open"]]
    if fs: break
    time.sleep(0.1)
f = fs[-1] if fs else {"ws": {}, "id": 0}
ms = get("/api/flows/%d/messages" % f["id"]) if fs else []
good = [m["data"] for m in ms] == ["ok1"] and "server frame: masked" in f["ws"].get("malformed", "") and \
    f.get("diag_code") == -1005
print(("ok - " if good else "not ok - ") +
      "the message before it is stored, parsing stops there and says why; no close frame: -1005")
if not good: print("# %s %s" % ([m["data"] for m in ms], f))
cl = [c for c in get("/api/clients") if c["addr"] == "127.0.0.1"]
print(("ok - " if cl and cl[0]["failed"] == 3 and cl[0]["flows"] == 5 else "not ok - ") +
      "the client panel counts the sockets that failed when they ended (3 of 5)")
if not (cl and cl[0]["failed"] == 3): print("# %s" % cl)
' "$WEB")
node_tap "$out"

# ---- HAR -------------------------------------------------------------------------------------
api "$WEB/api/har" >"$T/all.har"
out=$(py '
import base64, json, sys
har, a, ida, idb = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
def check(c, d, *diag):
    print(("ok - " if c else "not ok - ") + d)
    if not c:
        for x in diag: print("# " + str(x)[:600])
es = {e["_id"]: e for e in har["log"]["entries"]}
e = es.get(ida, {})
wm = e.get("_webSocketMessages") or []
check(e.get("_resourceType") == "websocket" and wm, "the WebSocket entry has _resourceType websocket and _webSocketMessages")
sends = [m for m in wm if m["type"] == "send"]
want = []
for s in a["sent"]:
    b = base64.b64decode(s["b64"])[:100000]
    want.append((2 if s["binary"] else 1, s["b64"] if s["binary"] else b.decode()))
got = [(m["opcode"], m["data"]) for m in sends]
check(got == [(o, d if o == 1 else base64.b64encode(base64.b64decode(d)[:100000]).decode()) for o, d in want],
      "its send messages: opcode, the text as sent, binary as base64", got[:3], want[:3])
check(all(isinstance(m["time"], float) and m["time"] > 1e9 for m in wm) and
      {m["type"] for m in wm} == {"send", "receive"} and all(m["opcode"] in (1, 2) for m in wm),
      "times are epoch seconds, types send and receive, data messages only (as Chrome)")
# the echo server answers each message with the same bytes, so only the order tells the directions
# apart: the client speaks first, and every echo received follows the message sent
types = [m["type"] for m in wm]
ahead = [types[:i + 1].count("send") - types[:i + 1].count("receive") for i in range(len(types))]
check(types and types[0] == "send" and min(ahead) >= 0,
      "direction: what the client sent is send, the server echoes are receive (each after its send)", types[:8])
check(len(es) == 5 and all("_resourceType" in x for x in es.values()),
      "every WebSocket flow is a websocket entry", sorted(es))
b = es.get(idb, {})
check(b.get("_diagnosis", {}).get("code") == 1011, "the 1011 close is the _diagnosis of its HAR entry", b.get("_diagnosis"))
' "$T/all.har" "$T/a.json" "$IDA" "$IDB")
node_tap "$out"
# ---- a socket's bound: 16 x --max-body of message data, the rest counted as dropped ------------
start_httpeek --upstream-ca "$PKI/ca.pem" --max-body 1000
client "ws://upstream.test:$(cat "$T/p-plain")/burst" "$HTTPEEK_PORT" --burst 40 --end client >"$T/e.json"
like "$(cat "$T/e.json")" '"close":\{"code":1000' "a socket of 98 messages through an httpeek with --max-body 1000 works"
out=$(py '
import json, sys, time, urllib.request
web = sys.argv[1]
get = lambda p: json.load(urllib.request.urlopen(web + p, timeout=10))
for _ in range(50):
    fs = [f for f in get("/api/flows") if f["path"] == "/burst" and "ws" in f and not f["ws"]["open"]]
    if fs: break
    time.sleep(0.1)
f = fs[-1] if fs else {"ws": {}, "id": 0}
ms = get("/api/flows/%d/messages" % f["id"]) if fs else []
import base64
size = lambda m: len(m["data"].encode()) if m["encoding"] == "utf8" else len(base64.b64decode(m["data"]))
stored = sum(size(m) for m in ms)
ws = f["ws"]
good = ms and stored <= 16 * 1000 and ws.get("dropped", 0) > 0 and len(ms) + ws["dropped"] == 2 * (46 + 2 + 1) and \
    all(size(m) <= 1000 for m in ms) and ws.get("cut", 0) == len([m for m in ms if m["cut"]]) > 0
print(("ok - " if good else "not ok - ") +
      "past 16 x --max-body of data a socket stores no more: the rest counted in ws.dropped, cut ones in ws.cut")
if not good: print("# stored %d bytes in %d messages, %s" % (stored, len(ms), ws))
' "http://127.0.0.1:$HTTPEEK_WEB_PORT")
node_tap "$out"
VALIDATE=$JS/validate-har.js
if [ -f "$JS/node_modules/har-validator/package.json" ]; then
    out=$("$NODE" "$VALIDATE" "$T/all.har" 2>&1)
    like "$out" "^valid " "har-validator accepts the HAR with WebSocket messages ($out)"
else
    skip "har-validator accepts the HAR" "tests/js/node_modules missing"
fi
done_testing
