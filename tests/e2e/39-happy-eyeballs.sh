#!/usr/bin/env bash
# 39-happy-eyeballs.sh — httpeek connects as apps do (RFC 8305): IPv6 first, IPv4 250 ms later
# when IPv6 has not connected, first to connect wins. A dual-stack name (--hosts) whose IPv6
# address is a black hole (a listener on ::1 whose accept queue is full: the kernel drops every
# further SYN, as a broken IPv6 path does) still works in well under a second; the flow lists
# both attempts with their outcomes and warns that IPv6 to this host fails.
source "$(dirname "$0")/lib.sh"

if ! "$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
    skip "Happy Eyeballs" "no IPv6 on loopback (::1) here"
    done_testing
fi

# blackhole6.py PORT PORTFILE: listen on [::1]:PORT (0: any) with a full accept queue
cat >"$T/blackhole6.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::1", int(sys.argv[1]))); s.listen(0)
port = s.getsockname()[1]
filler = socket.create_connection(("::1", port))  # fills the queue: later SYNs are dropped
open(sys.argv[2], "w").write(str(port))
time.sleep(600)
PY
blackhole6() { # blackhole6 NAME PORT: sets BH_PORT
    spawn "bh-$1" 120 "$PYTHON" "$T/blackhole6.py" "$2" "$T/bh-$1.port"
    wait_file "$T/bh-$1.port" 10 || { echo "Bail out! blackhole $1: $(cat "$T/bh-$1.err")"; exit 1; }
    BH_PORT=$(cat "$T/bh-$1.port")
}

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns
start_upstream; UP=$UPSTREAM_PORT
start_upstream; UP2=$UPSTREAM_PORT
start_upstream --tls server; TLSUP=$UPSTREAM_PORT
blackhole6 same "$UP"
blackhole6 tls "$TLSUP"
blackhole6 dead 0; DEAD=$BH_PORT
printf '::1 he.test refused6.test dead.test upstream.test\n127.0.0.1 he.test refused6.test dead.test upstream.test\n' >"$T/hosts"
start_httpeek --hosts "$T/hosts" --upstream-timeout 2 --upstream-ca "$PKI/ca.pem"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# flow_of HOST: attempts, warnings and diagnosis of the newest flow for HOST, one per line
flow_of() {
    newest_flow_detail "$W" "$1" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
if not d:
    print("no flow"); sys.exit()
print("attempts:", " ".join("%s/%d/%s" % (a["addr"], a["family"], a["outcome"]) for a in d.get("connect_attempts", [])))
for w in d.get("warnings", []):
    print("warning:", w["code"], w["stage"], w["detail"])
g = d.get("diagnosis") or {}
print("diagnosis:", g.get("code", 0), g.get("detail", ""))'
}

t0=$(date +%s%N)
code=$(pcurl -o /dev/null -w '%{http_code}' "http://he.test:$UP/bytes/10")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code" 200 "dual-stack name whose IPv6 address is black-holed: 200 over IPv4"
cmp_num "$ms" -lt 1000 "... within a second (${ms} ms), not after the upstream timeout"
cmp_num "$ms" -ge 240 "... after the 250 ms head start given to IPv6 (${ms} ms)"
out=$(flow_of he.test)
like "$out" "attempts: ::1/6/cancelled 127.0.0.1/4/connected" "the flow lists both attempts: IPv6 first (cancelled), IPv4 connected"
like "$out" "warning: -1004 connect IPv6 to this host fails; the app would have used IPv4 after 250 ms" \
    "the flow warns that IPv6 to this host fails and the app would use IPv4 after 250 ms"
like "$out" "diagnosis: 0 " "... and it is not a failure"

code=$(pcurl_tls -o /dev/null -w '%{http_code}' "https://upstream.test:$TLSUP/bytes/10")
is "$code" 200 "HTTPS (intercepted) to a dual-stack name with a black-holed IPv6: 200"
out=$(flow_of upstream.test)
like "$out" "attempts: ::1/6/cancelled 127.0.0.1/4/connected" "the intercepted request lists the tunnel's connect attempts"
like "$out" "IPv6 to this host fails; the app would have used IPv4 after 250 ms" "... and carries the family warning"

code=$(pcurl -o /dev/null -w '%{http_code}' "http://refused6.test:$UP2/bytes/10")
is "$code" 200 "IPv6 refused: 200 over IPv4"
out=$(flow_of refused6.test)
like "$out" "attempts: ::1/6/refused 127.0.0.1/4/connected" "IPv6 refused, IPv4 connected"
like "$out" "IPv6 to this host fails; the app would have used IPv4 at once" "a refused IPv6 falls back at once"

code=$(pcurl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UP/bytes/10")
out=$(flow_of 127.0.0.1)
like "$out" "attempts: 127.0.0.1/4/connected" "an IP literal: one attempt, connected"
unlike "$out" "IPv6 to this host" "... and no family warning"

code=$(pcurl -o /dev/null -w '%{http_code}' "http://dead.test:$DEAD/bytes/10")
is "$code" 504 "IPv6 black-holed and IPv4 refused: 504 after --upstream-timeout"
out=$(flow_of dead.test)
like "$out" "attempts: ::1/6/timeout 127.0.0.1/4/refused" "both attempts listed: IPv6 timed out, IPv4 refused"
like "$out" "diagnosis: -1001 .*Addresses tried: \[::1\] \(IPv6\) timeout after [0-9]+ ms, 127.0.0.1 \(IPv4\) refused" \
    "the failure's detail names each address tried and its outcome"
done_testing
