#!/usr/bin/env bash
# 67-throttle.sh — network conditions (--throttle, docs/RULES.md), measured with curl and real
# servers on loopback: a 1 MiB download at 3g takes ~10.8 s, a custom profile's bandwidth down
# and up, latency added once per round trip on keep-alive requests, loss within its rate over
# 200 requests, 100 % loss, a throttle matched to one host leaves another at full speed, the
# HTTPS (TLS) client leg shaped too, _rules/_throttle in the flow and HAR, the throttle rules in
# GET /api/session, and a throttle set live through PUT /api/rules.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 3g.test=127.0.0.1 bw.test=127.0.0.1 lat.test=127.0.0.1 \
    loss.test=127.0.0.1 dead.test=127.0.0.1 fast.test=127.0.0.1 live.test=127.0.0.1
start_upstream; P=$UPSTREAM_PORT
start_upstream --tls server; TLSPORT=$UPSTREAM_PORT
WEBAPI() { echo "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/$1"; }
# secs CURL-ARGS...: time_total of the last transfer
secs() { pcurl -o /dev/null -w '%{time_total}\n' "$@" | tail -n 1; }
# within VALUE LOW HIGH: 1 when LOW <= VALUE <= HIGH
within() { "$PYTHON" -c 'import sys; v,l,h=map(float,sys.argv[1:]); print(1 if l <= v <= h else 0)' "$@"; }

start_httpeek --upstream-ca "$PKI/ca.pem" \
    --throttle "3g@3g.test" \
    --throttle "custom:down=780k,up=330k,latency=0ms@bw.test" \
    --throttle "custom:latency=300ms@lat.test" \
    --throttle "custom:loss=10%@loss.test" \
    --throttle "loss100@dead.test" \
    --throttle "custom:down=780k,latency=0ms@upstream.test"

# the issue's figure, in the background while the rest runs (each connection has its own bucket)
( CURL_MAX_TIME=40 secs "http://3g.test:$P/bytes/1048576" >"$T/3g.secs" 2>&1 ) &
BG=$!

# ---- bandwidth ----------------------------------------------------------------------------------
t=$(secs "http://bw.test:$P/bytes/262144")
is "$(within "$t" 2.29 3.09)" 1 "256 KiB down at 780 kbps: ~2.69 s ± 15 % (took $t s)"
head -c 98304 /dev/urandom >"$T/up.bin"
t=$(secs --data-binary @"$T/up.bin" "http://bw.test:$P/status/204")
is "$(within "$t" 2.02 2.74)" 1 "96 KiB up at 330 kbps: ~2.38 s ± 15 % (took $t s)"
t=$(secs "http://fast.test:$P/bytes/1048576")
is "$(within "$t" 0 0.8)" 1 "a host no throttle matches: 1 MiB at full speed (took $t s)"
# libevent's TLS bufferevent meters the leg's TLS bytes in its own way: ~10 % off the plaintext rate
t=$(secs --cacert "$HTTPEEK_CA" "https://upstream.test:$TLSPORT/bytes/262144")
is "$(within "$t" 2.15 3.1)" 1 "HTTPS: the TLS client leg shaped too, 256 KiB at 780 kbps ~2.69 s -20/+15 % (took $t s)"

# ---- latency: once per round trip ---------------------------------------------------------------
# five keep-alive requests on one connection: each waits the latency once (not twice, not never)
five() { local h=$1 i args=(); for i in 1 2 3 4 5; do args+=(-o /dev/null "http://$h:$P/bytes/10?$i"); done
         pcurl -w '%{time_total} %{num_connects}\n' "${args[@]}"; }
fast=$(five fast.test | awk '{print $1}' | sort -n | tail -n 1)
slow=$(five lat.test)
is "$(awk '{c += $2} END {print c}' <<<"$slow")" "1" "the 5 requests shared one connection"
lo=$(awk '{print $1}' <<<"$slow" | sort -n | head -n 1); hi=$(awk '{print $1}' <<<"$slow" | sort -n | tail -n 1)
is "$(within "$lo" 0.29 9)" 1 "each keep-alive request at +300 ms waits the latency (fastest $lo s; unthrottled slowest $fast s)"
is "$(within "$hi" 0 0.58)" 1 "... once per round trip, not twice (slowest $hi s)"
d=$(newest_flow_detail "$(WEBAPI "" | sed 's|/api/$||')" lat.test)
is "$(jq_py 'd["_rules"][0]["action"]' <<<"$d")" "throttle" "the flow's _rules names the throttle"
like "$(jq_py 'd["_rules"][0]["detail"]' <<<"$d")" "custom: unlimited down, unlimited up, \+300 ms per round trip" "... with its profile"
is "$(jq_py 'd["_throttle"]["delay_ms"]' <<<"$d")" "300" "_throttle.delay_ms: the delay it added"
is "$(jq_py 'd["_throttle"]["profile"], d["_rules"][0]["id"] != "custom"' <<<"$d")" "custom True" \
    "_throttle.profile: the profile it ran (custom), not its rule's id"
is "$(jq_py 'd["timings"]["throttle"] == 300' <<<"$d")" "True" "timings.throttle: the added delay shown as such in the flow's timings"
d=$(newest_flow_detail "$(WEBAPI "" | sed 's|/api/$||')" fast.test)
is "$(jq_py '"throttle" in d["timings"]' <<<"$d")" "False" "an unthrottled flow's timings have no throttle"

# ---- loss ---------------------------------------------------------------------------------------
lost=$(PY_TIMEOUT=60 py '
import http.client, sys
port, up = int(sys.argv[1]), sys.argv[2]
lost = 0
for i in range(200):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "http://loss.test:%s/bytes/10?%d" % (up, i))
        r = c.getresponse(); r.read()
        if r.status != 200: lost += 1
    except (ConnectionError, http.client.HTTPException):
        lost += 1
    c.close()
print(lost)' "$HTTPEEK_PORT" "$P")
is "$(within "$lost" 8 34)" 1 "10 % loss: $lost of 200 requests lost (8..34, 3 sigma)"
out=$(pcurl -sS "http://dead.test:$P/bytes/10" 2>&1); rc=$?
is "$rc" 52 "loss100: curl gets no reply (52)"
d=$(newest_flow_detail "$(WEBAPI "" | sed 's|/api/$||')" dead.test)
like "$(jq_py 'd["_rules"][0]["detail"]' <<<"$d")" "request lost" "the lost request's flow says the throttle lost it"
is "$(jq_py 'd["failed"]' <<<"$d")" "True" "... and is failed"

# ---- session, HAR, live rules -------------------------------------------------------------------
s=$(api "$(WEBAPI session)")
is "$(jq_py 'len(d["throttle"])' <<<"$s")" "6" "GET /api/session lists the throttles in use"
is "$(jq_py 'd["throttle"][0]["profile"]' <<<"$s")" "3g" "... with their profile"
api "$(WEBAPI har)" >"$T/har.json"
n=$("$PYTHON" -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1]))["log"]["entries"] if e.get("_throttle", {}).get("delay_ms") == 300))' "$T/har.json")
is "$n" "5" "HAR entries carry _throttle (the 5 latency requests)"
n=$("$PYTHON" -c 'import json,sys; e = json.load(open(sys.argv[1]))["log"]["entries"]; print(sum(1 for x in e if x["timings"].get("_throttle") == 300), sum(1 for x in e if "fast.test" in x["request"]["url"] and "_throttle" in x["timings"]))' "$T/har.json")
is "$n" "5 0" "HAR timings._throttle: 300 ms on the 5 latency requests, none on unthrottled ones"

t=$(secs "http://live.test:$P/bytes/65536")
is "$(within "$t" 0 0.5)" 1 "live.test before the rule: full speed ($t s)"
etag=$(api -D - -o /dev/null "$(WEBAPI rules)" | header etag /dev/stdin)
code=$(api -o "$T/put.out" -w '%{http_code}' -X PUT -H "If-Match: $etag" --data-binary \
  '{"version": 1, "rules": [{"id": "slow-live", "match": {"host": "live.test"}, "action": {"type": "throttle", "down": "520k", "latency": "0ms"}}]}' \
  "$(WEBAPI rules)")
is "$code" "200" "PUT /api/rules with a throttle rule: saved ($(cat "$T/put.out" | head -c 200))"
t=$(secs "http://live.test:$P/bytes/65536")
is "$(within "$t" 0.85 1.15)" 1 "live.test after the rule: 64 KiB at 520 kbps ~1.0 s ($t s)"
is "$(api "$(WEBAPI session)" | jq_py 'd["throttle"][-1]["id"]')" "slow-live" "the session lists the new throttle"

# ---- the issue's figure -------------------------------------------------------------------------
wait "$BG"
t=$(tail -n 1 "$T/3g.secs")
is "$(within "$t" 9.18 12.42)" 1 "1 MiB download at 3g: ~10.8 s ± 15 % (took $t s)"
d=$(newest_flow_detail "$(WEBAPI "" | sed 's|/api/$||')" 3g.test)
is "$(jq_py 'd["timings"].get("throttle", 0) > 0 and d["timings"]["throttle"] == d["_throttle"]["delay_ms"]' <<<"$d")" "True" \
    "the 3g flow's timings.throttle is its added delay (> 0)"
done_testing
