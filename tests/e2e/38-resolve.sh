#!/usr/bin/env bash
# 38-resolve.sh — without --dns, names resolve the way the system resolves them (getaddrinfo:
# /etc/hosts, nsswitch.conf), off the event loop, --hosts first; .invalid fails at once; a name
# no DNS server can be asked about fails fast as -1003 "no DNS server answered", and -1001 only
# when a server was reachable and silent. All of it in a private network and mount namespace
# (only lo, private /etc/hosts, nsswitch.conf, resolv.conf): no lookup reaches the real resolver.
source "$(dirname "$0")/lib.sh"

if ! enter_private_net "127.0.0.1 localhost
::1 localhost
127.0.0.1 etc.test
127.0.0.3 override.test" "hosts: files dns" "nameserver 127.0.0.1
options timeout:1 attempts:1"; then
    skip "system resolver tests" "$PRIVATE_NET_SKIP"
    done_testing
fi

is "$(ip -o link show | wc -l)" 1 "inside a private network namespace: only lo"
like "$(cat /etc/hosts)" "etc.test" "the private /etc/hosts is in place"

start_upstream
printf '127.0.0.1 override.test hosts-only.test\n' >"$T/hosts"
start_httpeek --hosts "$T/hosts" --upstream-timeout 10
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
unlike "$(tr '\0' ' ' <"/proc/$(pgrep -P "$HTTPEEK_PID" | head -n 1)/cmdline")" "--dns" "httpeek runs without --dns: the system resolver"

# flow_of HOST: "code name timeout dns_error | reason | detail" of the newest flow for HOST
flow_of() {
    newest_flow_detail "$W" "$1" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
if not d:
    print("no flow"); sys.exit()
g, x = d.get("diagnosis") or {}, d.get("failure") or {}
print(g.get("code", 0), g.get("name", ""), "timeout=%s" % x.get("timeout"), "dns_error=%s" % x.get("dns_error"),
      "|", x.get("reason", ""), "|", g.get("detail", ""))'
}

code=$(pcurl -o /dev/null -w '%{http_code}' "http://etc.test:$UPSTREAM_PORT/bytes/10")
is "$code" 200 "a name only in the (private) /etc/hosts resolves through the system resolver"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://hosts-only.test:$UPSTREAM_PORT/bytes/10")
is "$code" 200 "a name only in --hosts resolves"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://override.test:$UPSTREAM_PORT/bytes/10")
is "$code" 200 "--hosts wins over /etc/hosts (which points override.test at a closed address)"

t0=$(date +%s%N)
code=$(pcurl -o /dev/null -w '%{http_code}' "http://nosuch.invalid:$UPSTREAM_PORT/bytes/10")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code" 502 "nosuch.invalid: 502 from httpeek"
cmp_num "$ms" -lt 1000 "nosuch.invalid fails at once (${ms} ms), asking nobody"
out=$(flow_of nosuch.invalid)
like "$out" "^-1003 NSURLErrorCannotFindHost timeout=False" "nosuch.invalid: -1003 CannotFindHost, not a timeout"
like "$out" "special-use name \(RFC 6761 .invalid\)" "nosuch.invalid: the reason names the special-use name"

t0=$(date +%s%N)
code=$(pcurl -o /dev/null -w '%{http_code}' "http://absent.test:$UPSTREAM_PORT/bytes/10")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code" 502 "a name no DNS server can be asked about: 502"
cmp_num "$ms" -lt 2000 "it fails fast (${ms} ms), not after the upstream timeout"
out=$(flow_of absent.test)
like "$out" "^-1003 NSURLErrorCannotFindHost timeout=False" "no reachable DNS server: -1003, not -1001"
like "$out" "no DNS server answered" "no reachable DNS server: the reason says no DNS server answered"
is "$(api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows" | jq_py "[f['reason_short'] for f in d if f['host'] == 'absent.test'][-1]")" \
    "no DNS server answered" "no reachable DNS server: the list's short reason says so, not 'no such host'"

# a DNS server that is reachable and never answers: a UDP socket that reads and drops, first on
# port 53 (the private resolv.conf's server: the system path), then for --dns
cat >"$T/silent.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[2])))
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    s.recvfrom(4096)
PY
spawn silent53 120 "$PYTHON" "$T/silent.py" "$T/silent53.port" 53
wait_file "$T/silent53.port" 10 || { echo "Bail out! silent DNS on 53: $(cat "$T/silent53.err")"; exit 1; }
code=$(pcurl -o /dev/null -w '%{http_code}' "http://slow.test:$UPSTREAM_PORT/bytes/10")
out=$(flow_of slow.test)
like "$out" "^-1001 NSURLErrorTimedOut timeout=True" "system resolver, its DNS server reachable and silent: -1001 TimedOut"
like "$out" "did not answer in time" "... and the reason says the DNS server did not answer in time"
# the client gives up while getaddrinfo still waits on the silent server: the result that comes
# later must not touch the connection that went away (ASan builds catch a use after free)
pcurl --max-time 0.3 -o /dev/null "http://gone.test:$UPSTREAM_PORT/bytes/10" 2>/dev/null
pcurl --max-time 0.3 -o /dev/null "http://gone2.test:$UPSTREAM_PORT/bytes/10" 2>/dev/null
sleep 2.5
code=$(pcurl -o /dev/null -w '%{http_code}' "http://etc.test:$UPSTREAM_PORT/bytes/10")
is "$code" 200 "lookups whose client went away finish harmlessly: httpeek still serves"

spawn silent 120 "$PYTHON" "$T/silent.py" "$T/silent.port" 0
wait_file "$T/silent.port" 10 || { echo "Bail out! silent DNS"; exit 1; }
start_httpeek --dns "127.0.0.1:$(cat "$T/silent.port")" --upstream-timeout 2
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://silent.test:$UPSTREAM_PORT/bytes/10")
is "$code" 504 "a silent DNS server: 504 (a timeout)"
out=$(flow_of silent.test)
like "$out" "^-1001 NSURLErrorTimedOut timeout=True" "a reachable DNS server that never answers: -1001 TimedOut"
like "$out" "DNS" "... and the reason says it was the DNS lookup"
done_testing
