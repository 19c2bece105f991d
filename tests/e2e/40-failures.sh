#!/usr/bin/env bash
# 40-failures.sh — what the client and the log show when the upstream side
# fails: bad upstream certificates (refused unless --insecure), refused ports,
# unknown names, an upstream that hangs up or never answers, and a bad
# command line.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_s_server selfsigned; SS=$SSERVER_PORT
start_s_server wronghost;  WH=$SSERVER_PORT
start_s_server expired;    EX=$SSERVER_PORT
start_upstream --quiet; PLAIN=$UPSTREAM_PORT
start_upstream --mode blackhole --quiet; BH=$UPSTREAM_PORT
REFUSED=$(free_port)   # nothing listens there

# use_httpeek PREFIX: switch pcurl & co. to a saved instance
save_httpeek() { eval "${1}_PORT=$HTTPEEK_PORT ${1}_LOG=$HTTPEEK_LOG ${1}_CA=$HTTPEEK_CA"; }
use_httpeek() { eval "HTTPEEK_PORT=\$${1}_PORT HTTPEEK_LOG=\$${1}_LOG HTTPEEK_CA=\$${1}_CA"; }

start_httpeek --upstream-ca "$PKI/ca.pem" --upstream-timeout 1
save_httpeek SECURE
start_httpeek --upstream-ca "$PKI/ca.pem" --insecure
save_httpeek INSECURE

# ---- bad upstream certificates ---------------------------------------------
# The client either gets a 502 inside the intercepted tunnel or a failed
# handshake; either way it must not get the page, and the proxy's line for it
# must say FAILED at a TLS stage with the verification reason.
check_bad_cert() { # check_bad_cert PORT WHAT REASON-ERE
    local port=$1 what=$2 reason=$3 code rc line
    use_httpeek SECURE
    code=$(CURL_MAX_TIME=10 pcurl_tls -o "$T/body" -w "%{http_code}" "https://upstream.test:$port/" 2>"$T/err")
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$code" = 502 ]; then
        pass "$what upstream: client gets 502"
    elif [ "$rc" -ne 0 ] && [ "$code" != 200 ]; then
        pass "$what upstream: client's handshake fails (curl $rc: $(head -c 120 "$T/err"))"
    else
        fail "$what upstream: refused" "curl exit $rc, status '$code'" "$(head -c 300 "$T/body" 2>/dev/null)"
    fi
    wait_grep "upstream\.test:$port.*FAILED" "$HTTPEEK_LOG" 5
    line=$(grep -E "upstream\.test:$port" "$HTTPEEK_LOG" | grep FAILED | tail -n 1)
    like "$line" "FAILED [A-Za-z_ -]*[Tt][Ll][Ss][A-Za-z_ -]*: " "$what upstream: log line says FAILED at a tls stage"
    if grep -Eiq -- "$reason" <<<"$line"; then
        pass "$what upstream: log line gives the verify reason"
    else
        fail "$what upstream: log line gives the verify reason" "line:    '$line'" "pattern: /$reason/i"
    fi
    use_httpeek INSECURE
    code=$(CURL_MAX_TIME=10 pcurl_tls -o "$T/body" -w "%{http_code}" "https://upstream.test:$port/" 2>"$T/err")
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$code" = 200 ] && grep -q "s_server" "$T/body"; then
        pass "$what upstream: accepted with --insecure"
    else
        fail "$what upstream: accepted with --insecure" "curl exit $rc ($(head -c 200 "$T/err")), status '$code'" \
            "$(head -c 300 "$T/body" 2>/dev/null)"
    fi
}
check_bad_cert "$SS" "self-signed" "self[- ]signed"
check_bad_cert "$WH" "wrong-host" "host ?name mismatch|mismatch|does not match"
check_bad_cert "$EX" "expired" "expired"

# ---- refused port, unknown name: 502 quickly --------------------------------
use_httpeek SECURE
tunnel() { # tunnel HOST PORT -> "STATUS SECONDS BODY..."
    py '
import sys, time
sys.path.insert(0, sys.argv[1]); import httpc
t0 = time.monotonic()
s, st, head = httpc.connect_tunnel(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), timeout=10)
body = b""
cl = None
for l in head.split(b"\r\n"):
    if l.lower().startswith(b"content-length:"):
        cl = int(l.split(b":")[1])
try:
    while cl is None or len(body) < cl:
        b = s.recv(4096)
        if not b:
            break
        body += b
except OSError:
    pass
print("%d %.1f %s" % (st, time.monotonic() - t0, body.decode("latin-1").strip().replace("\n", " ")))
' "$E2E_DIR" "$HTTPEEK_PORT" "$1" "$2" 2>&1
}
out=$(tunnel upstream.test "$REFUSED")
like "$out" "^502 " "CONNECT to a refused port: 502"
like "$out" "^[0-9]+ [0-4]\.[0-9] " "CONNECT to a refused port: answered in under 5 s"
like "$out" "^[0-9]+ [0-9.]+ .*[Rr]efused" "CONNECT to a refused port: body says refused ($out)"
wait_grep "CONNECT upstream\.test:$REFUSED .*FAILED" "$HTTPEEK_LOG" 5
like "$(grep "upstream.test:$REFUSED" "$HTTPEEK_LOG")" "CONNECT upstream\.test:$REFUSED 502 .*FAILED connect: .*[Rr]efused" "log: CONNECT ... 502 ... FAILED connect: Connection refused"

out=$(tunnel nosuch.test 443)
like "$out" "^502 " "CONNECT to an unknown name (NXDOMAIN): 502"
like "$out" "^[0-9]+ [0-4]\.[0-9] " "CONNECT to an unknown name: answered in under 5 s"
wait_grep "nosuch\.test.*FAILED" "$HTTPEEK_LOG" 5
like "$(grep "nosuch.test" "$HTTPEEK_LOG")" "FAILED [a-z_ -]*(dns|resol)[a-z_ -]*: " "log: unknown name FAILED at the dns stage"

code=$(pcurl -o "$T/body" -D "$T/h" -w '%{http_code}' "http://upstream.test:$REFUSED/x")
is "$code" 502 "plain HTTP to a refused port: 502"
like "$(cat "$T/body")" "[Rr]efused" "plain HTTP to a refused port: the body gives the reason"
like "$(header Content-Type "$T/h")" "^text/plain" "plain HTTP to a refused port: the reason is text/plain"

code=$(pcurl -o "$T/body" -w '%{http_code}' "http://nosuch.test/x")
is "$code" 502 "plain HTTP to an unknown name: 502"

# ---- upstream hangs up / never answers -------------------------------------
code=$(pcurl -o "$T/body" -w '%{http_code}' "http://upstream.test:$PLAIN/hangup")
is "$code" 502 "upstream closes without a response: 502"

t0=$(date +%s%N)
code=$(CURL_MAX_TIME=15 pcurl -o "$T/body" -w '%{http_code}' "http://upstream.test:$BH/x")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code" 504 "never-answering upstream with --upstream-timeout 1: 504"
cmp_num "$ms" -lt 5000 "never-answering upstream: 504 comes after the 1 s timeout, not much later (${ms} ms)"

code=$(CURL_MAX_TIME=15 pcurl -o "$T/body" -w '%{http_code}' "http://upstream.test:$PLAIN/slow/4")
is "$code" 504 "upstream slower than --upstream-timeout 1 to its first byte: 504"

code=$(CURL_MAX_TIME=15 pcurl_tls -o "$T/body" -w '%{http_code}' "https://upstream.test:$BH/x" 2>"$T/err")
rc=$?
if [ "$rc" -eq 0 ] && [ "$code" = 504 ]; then
    pass "TLS upstream that never handshakes: client gets 504"
elif [ "$rc" -ne 0 ] && [ "$code" != 200 ]; then
    pass "TLS upstream that never handshakes: client's handshake fails (curl $rc)"
else
    fail "TLS upstream that never handshakes: 504 or failed handshake" "curl exit $rc, status '$code'"
fi
wait_grep "upstream\.test:$BH.*FAILED" "$HTTPEEK_LOG" 5
like "$(grep "upstream.test:$BH" "$HTTPEEK_LOG" | tail -n 2)" "FAILED .*[Tt]ime" "log: never-answering upstream FAILED with a timeout"

# the proxy is still fine after all that
use_httpeek INSECURE
code=$(pcurl -o "$T/body" -w '%{http_code}' "http://upstream.test:$PLAIN/bytes/100")
is "$code/$(file_sha "$T/body")" "200/$(gen_sha 100)" "proxy still serves after the failures"

# ---- bad command line ------------------------------------------------------
timeout 5 "$HTTPEEK" --no-such-option >"$T/o" 2>"$T/e"; rc=$?
is "$rc" 2 "unknown option: exit status 2"
is "$(grep -c . "$T/e")" 1 "unknown option: one line on stderr"
like "$(cat "$T/e")" "no-such-option" "unknown option: the line names the option"
timeout 5 "$HTTPEEK" --listen >"$T/o" 2>"$T/e"; rc=$?
is "$rc" 2 "option missing its value: exit status 2"
timeout 5 "$HTTPEEK" --upstream-timeout abc --listen 127.0.0.1:1 >"$T/o" 2>"$T/e"; rc=$?
is "$rc/$(grep -c . "$T/e")" "2/1" "bad option value: exit 2 with one line"
timeout 5 "$HTTPEEK" --help >"$T/o" 2>"$T/e"; rc=$?
is "$rc" 0 "--help exits 0"
like "$(cat "$T/o")" "--listen" "--help lists --listen"
timeout 5 "$HTTPEEK" --version >"$T/o" 2>"$T/e"; rc=$?
is "$rc" 0 "--version exits 0"
like "$(cat "$T/o")" "[0-9]+\.[0-9]+\.[0-9]+" "--version prints a version number"

# ---- --upstream-errors=page: a readable 502 instead of a mirrored failure -----------------
start_httpeek --upstream-ca "$PKI/ca.pem" --upstream-errors=page
code=$(CURL_MAX_TIME=10 pcurl_tls -o "$T/body" -w "%{http_code}" "https://upstream.test:$SS/" 2>/dev/null)
is "$code" 502 "--upstream-errors=page: the client completes TLS and gets a 502"
like "$(cat "$T/body")" "self-signed" "--upstream-errors=page: the 502 names the verify error"
out=$(timeout 10 "$HTTPEEK" --upstream-errors=maybe 2>&1); rc=$?
is "$rc" 2 "--upstream-errors with a bad value is a command-line error"

done_testing
