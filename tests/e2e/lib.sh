# shellcheck shell=bash
# tests/e2e/lib.sh — sourced by every e2e test script.
#
# The e2e tier runs the real httpeek binary between real clients (curl,
# openssl s_client, python sockets) and real loopback upstreams (upstream.py,
# openssl s_server), all on ports chosen at run time on 127.0.0.1.  This file
# gives the scripts:
#   - TAP output: pass/fail/ok/is/like/unlike/skip/diag, done_testing prints
#     the plan and exits nonzero when anything failed;
#   - a per-test temp dir $T under $TMPDIR, removed at exit (KEEP_TMP=1 keeps it);
#   - spawn: every background process runs under `timeout` and is killed by the
#     EXIT trap; a watchdog bounds the whole script (E2E_TIMEOUT, default 100 s);
#   - make_pki: a throw-away test PKI made with the openssl CLI;
#   - start_dns / start_upstream / start_s_server / start_httpeek.
# Nothing here ever sends traffic outside 127.0.0.0/8, and httpeek is always
# started with --dns pointing at our dns.py so no lookup reaches the real
# resolver.

set -u -o pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
: "${HTTPEEK:=$REPO_ROOT/build/httpeek}"
: "${E2E_TIMEOUT:=100}"
PYTHON=${PYTHON:-python3}
export LC_ALL=C

# no proxy settings or curlrc from the environment may leak into a test
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
export CURL_HOME=/nonexistent
# a ThreadSanitizer build (meson -Db_sanitize=thread) judges httpeek's own accesses (tsan.supp)
export TSAN_OPTIONS="suppressions=$E2E_DIR/tsan.supp ${TSAN_OPTIONS:-}"

T=$(mktemp -d "${TMPDIR:-/tmp}/httpeek-e2e.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }

# ---------------------------------------------------------------- TAP ----
_TAP_N=0
_TAP_FAILED=0
_TAP_DONE=0

diag() { local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
# a description must stay on its TAP line: newlines become spaces
_tap_desc() { printf '%s' "$1" | tr '\r\n' '  '; }
pass() { _TAP_N=$((_TAP_N + 1)); echo "ok $_TAP_N - $(_tap_desc "$1")"; }
fail() {
    _TAP_N=$((_TAP_N + 1)); _TAP_FAILED=$((_TAP_FAILED + 1))
    echo "not ok $_TAP_N - $(_tap_desc "$1")"
    shift
    [ $# -gt 0 ] && diag "$@"
    return 0
}
skip() { _TAP_N=$((_TAP_N + 1)); echo "ok $_TAP_N - $(_tap_desc "$1") # SKIP $(_tap_desc "${2:-}")"; }
# ok DESC CMD...   passes when CMD exits 0
ok() {
    local desc=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -eq 0 ]; then pass "$desc"
    else fail "$desc" "command failed (status $rc): $*" "$(printf %.600s "$out")"; fi
}
# is GOT EXPECTED DESC
is() {
    if [ "$1" == "$2" ]; then pass "$3"
    else fail "$3" "got:      '$(printf %.300s "$1")'" "expected: '$(printf %.300s "$2")'"; fi
}
# isnt GOT UNEXPECTED DESC
isnt() {
    if [ "$1" != "$2" ]; then pass "$3"
    else fail "$3" "got '$(printf %.300s "$1")', expected anything else"; fi
}
# sanitized: true when $HTTPEEK is an ASan/UBSan or TSan build (RSS and timing bounds mean nothing there).
# ldd's output is read whole: with pipefail, `ldd | grep -q` fails when grep leaves at the first
# match and ldd gets SIGPIPE, which made the check miss an ASan build now and then.
sanitized() {
    local libs
    libs=$(ldd "$HTTPEEK" 2>/dev/null) || true
    [[ $libs == *libasan* || $libs == *libubsan* || $libs == *libtsan* ]]
}
# like GOT ERE DESC (a here-string, not a pipe: with pipefail, grep -q leaving early would make
# the writer's SIGPIPE fail a match)
like() {
    if grep -Eq -- "$2" <<<"$1"; then pass "$3"
    else fail "$3" "got:     '$(printf %.600s "$1")'" "pattern: /$2/"; fi
}
unlike() {
    if ! grep -Eq -- "$2" <<<"$1"; then pass "$3"
    else fail "$3" "got:     '$(printf %.600s "$1")'" "must not match: /$2/"; fi
}
# cmp_num GOT OP EXPECTED DESC   (OP: -lt -le -eq -ge -gt -ne)
cmp_num() {
    if [[ "$1" =~ ^-?[0-9]+$ ]] && [ "$1" "$2" "$3" ]; then pass "$4"
    else fail "$4" "got '$1', expected $2 $3"; fi
}

# done_testing: stop every httpeek (so LeakSanitizer runs at its exit), fail on any sanitizer
# report in their stderr, print the plan; exit status 1 when any test failed
done_testing() {
    local pid f
    for pid in "${_HP_PIDS[@]}"; do kill_pid "$pid"; done
    for f in "$T"/httpeek*.err; do
        [ -f "$f" ] || continue
        if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer' "$f"; then
            fail "$(basename "$f" .err): no sanitizer reports" "$(grep -E -m1 -A12 'ERROR: |runtime error:|WARNING: ThreadSanitizer' "$f")"
        fi
    done
    _TAP_DONE=1
    echo "1..$_TAP_N"
    if [ "$_TAP_FAILED" -gt 0 ]; then
        diag "$_TAP_FAILED of $_TAP_N failed"
        exit 1
    fi
    exit 0
}

# ------------------------------------------------------ process guard ----
_PIDS=()
_WATCHDOG=

# spawn NAME SECS CMD...  run CMD in the background under `timeout SECS`,
# stdout to $T/NAME.out, stderr to $T/NAME.err; sets SPAWN_PID.
spawn() {
    local name=$1 secs=$2; shift 2
    timeout -k 2 "$secs" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
    SPAWN_PID=$!
    _PIDS+=("$SPAWN_PID")
}

# kill_pid PID: TERM, wait up to 3 s, then KILL.  Every PID we record is a
# `timeout` process, which leads its own process group (it calls setpgid), so
# the group signal also reaches whatever it runs.
kill_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

_cleanup() {
    local st=$? pid
    trap - EXIT
    _stop_watchdog
    for pid in "${_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.2
    for pid in "${_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && sleep 1
        kill -KILL -- "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ "$_TAP_DONE" = 0 ]; then
        echo "not ok $((_TAP_N + 1)) - script ended before done_testing (status $st)"
        echo "1..$((_TAP_N + 1))"
        _TAP_FAILED=$((_TAP_FAILED + 1))
        st=1
    fi
    if [ "$_TAP_FAILED" -gt 0 ]; then
        local f
        for f in "$T"/httpeek*.log "$T"/httpeek*.err; do
            [ -s "$f" ] || continue
            diag "---- last lines of $(basename "$f") ----"
            diag "$(tail -n 40 "$f")"
        done
        [ "$st" = 0 ] && st=1
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then diag "temp dir kept: $T"; else rm -rf "$T"; fi
    exit "$st"
}
trap _cleanup EXIT
trap 'echo "# terminated (watchdog or signal)"; exit 1' TERM INT HUP

# the whole script is bounded: after E2E_TIMEOUT seconds it is terminated
# It is its own process (setsid: its own group, with its sleep) and is stopped with KILL: a
# fork of this shell carries its traps until it execs, and a TERM landing in that moment (a
# script re-exec'ing itself into a namespace stops the watchdog at once) ran this script's EXIT
# trap in the copy — a stray "not ok 1 - script ended before done_testing" in the TAP stream.
setsid bash -c 'sleep "$1"; kill -TERM "$2"' e2e-watchdog "$E2E_TIMEOUT" $$ \
    </dev/null >/dev/null 2>&1 &
_WATCHDOG=$!
disown "$_WATCHDOG" # bash would report its KILL ("Killed ...") on stderr
_stop_watchdog() {
    [ -n "$_WATCHDOG" ] || return 0
    kill -KILL -- "-$_WATCHDOG" 2>/dev/null || kill -KILL "$_WATCHDOG" 2>/dev/null
    _WATCHDOG=
}

# -------------------------------------------------------------- ports ----
# free_port: print a TCP port on 127.0.0.1 free right now
# free_port: a port nothing listens on, for a server the test starts next. Chosen at random below
# the kernel's ephemeral range: a port bind(0) hands out comes from that range, where any
# outgoing connection (curl, another test running in parallel) may take it before the server
# binds it ("Address already in use" in CI).
free_port() {
    "$PYTHON" - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(10000, lo) if lo > 11000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(s.getsockname()[1])
    break
PY
}

# wait_port PORT [SECS]: wait until 127.0.0.1:PORT accepts TCP connections
wait_port() {
    local port=$1 secs=${2:-10} i
    for i in $(seq $((secs * 20))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_file FILE [SECS]: wait until FILE exists and is not empty
wait_file() {
    local f=$1 secs=${2:-10} i
    for i in $(seq $((secs * 20))); do
        [ -s "$f" ] && return 0
        sleep 0.05
    done
    return 1
}

# wait_grep ERE FILE [SECS]: wait until FILE has a line matching ERE
wait_grep() {
    local re=$1 f=$2 secs=${3:-10} i
    for i in $(seq $((secs * 20))); do
        grep -Eq -- "$re" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------- PKI ----
# make_pki DIR: test root CA and leaf certificates, all with the openssl CLI:
#   ca.pem/ca.key                 root CA (EC P-256)
#   server.pem/server.key         upstream.test, localhost, IP 127.0.0.1 (by ca)
#   wronghost.pem/.key            wrong.test only (by ca)
#   expired.pem/.key              upstream.test etc., expired in 2020 (by ca)
#   selfsigned.pem/.key           upstream.test etc., self-signed
make_pki() {
    local d=$1
    mkdir -p "$d" || return 1
    (
        set -e
        cd "$d"
        local san="subjectAltName=DNS:upstream.test,DNS:*.alias.test,DNS:localhost,IP:127.0.0.1"
        openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
        openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=httpeek e2e test root" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" -out ca.pem
        cat > leaf.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
        local name
        for name in server wronghost expired selfsigned; do
            openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
        done
        # server: the good one
        openssl req -new -key server.key -subj "/CN=upstream.test" -out server.csr
        { cat leaf.ext; echo "$san"; } > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 30 -sha256 -extfile server.ext -out server.pem 2>/dev/null
        # wronghost: valid chain, wrong name
        openssl req -new -key wronghost.key -subj "/CN=wrong.test" -out wronghost.csr
        { cat leaf.ext; echo "subjectAltName=DNS:wrong.test"; } > wronghost.ext
        openssl x509 -req -in wronghost.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 30 -sha256 -extfile wronghost.ext -out wronghost.pem 2>/dev/null
        # selfsigned: right name, no chain
        openssl req -x509 -new -key selfsigned.key -sha256 -days 30 -subj "/CN=upstream.test" \
            -addext "$san" -addext "extendedKeyUsage=serverAuth" -out selfsigned.pem
        # expired: right name and chain, validity in the past (needs `openssl ca`)
        mkdir -p cadb
        : > cadb/index.txt
        echo 1000 > cadb/serial
        cat > ca.cnf <<EOF
[ca]
default_ca = test
[test]
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
[anything]
commonName = supplied
[ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
$san
EOF
        openssl req -new -key expired.key -subj "/CN=upstream.test" -out expired.csr
        openssl ca -batch -config ca.cnf -extensions ext -in expired.csr -out expired.pem \
            -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
        # future: right name and chain, validity in the future (not yet valid)
        openssl ca -batch -config ca.cnf -extensions ext -in expired.csr -out future.pem \
            -startdate 20400101000000Z -enddate 20410101000000Z -notext 2>/dev/null
        cp expired.key future.key
        # unknown: a chain to a CA nobody was told about (the server sends its leaf only)
        openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key 2>/dev/null
        openssl req -x509 -new -key other-ca.key -sha256 -days 30 -subj "/CN=some private CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
            -out other-ca.pem
        openssl ecparam -name prime256v1 -genkey -noout -out unknown.key 2>/dev/null
        openssl req -new -key unknown.key -subj "/CN=upstream.test" -out unknown.csr
        printf 'subjectAltName=DNS:upstream.test\nextendedKeyUsage=serverAuth\n' > unknown.ext
        openssl x509 -req -in unknown.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial \
            -days 30 -sha256 -extfile unknown.ext -out unknown.pem 2>/dev/null
    ) >"$d/make_pki.log" 2>&1 || { cat "$d/make_pki.log" >&2; return 1; }
}

# ------------------------------------------------------------ servers ----
# start_dns NAME=IP ...: dns.py on an ephemeral UDP port; sets DNS_PORT
start_dns() {
    local pf="$T/dns.port"
    rm -f "$pf"
    spawn dns 300 "$PYTHON" "$E2E_DIR/dns.py" --port 0 --port-file "$pf" "$@"
    wait_file "$pf" 10 || { echo "Bail out! dns.py did not start: $(cat "$T/dns.err")"; exit 1; }
    DNS_PORT=$(cat "$pf")
}

_UP_N=0
# start_upstream [--tls CERTBASE] [upstream.py args...]: sets UPSTREAM_PORT.
#   --tls server  serves $PKI/server.pem with $PKI/server.key
start_upstream() {
    local extra=() pf
    _UP_N=$((_UP_N + 1))
    pf="$T/upstream$_UP_N.port"
    if [ "${1:-}" = --tls ]; then
        extra=(--cert "$PKI/$2.pem" --key "$PKI/$2.key")
        shift 2
    fi
    spawn "upstream$_UP_N" 300 "$PYTHON" "$E2E_DIR/upstream.py" --port 0 --port-file "$pf" \
        --label "up$_UP_N" "${extra[@]}" "$@"
    wait_file "$pf" 10 || {
        echo "Bail out! upstream.py did not start: $(cat "$T/upstream$_UP_N.err")"; exit 1; }
    UPSTREAM_PORT=$(cat "$pf")
}

# start_s_server CERTBASE [s_server args...]: openssl s_server -www; sets SSERVER_PORT
start_s_server() {
    local base=$1; shift
    local port
    _UP_N=$((_UP_N + 1))
    port=$(free_port)
    spawn "s_server$_UP_N" 300 openssl s_server -accept "127.0.0.1:$port" \
        -cert "$PKI/$base.pem" -key "$PKI/$base.key" -www -quiet "$@"
    wait_port "$port" 10 || {
        echo "Bail out! openssl s_server did not start: $(cat "$T/s_server$_UP_N.err")"; exit 1; }
    SSERVER_PORT=$port
}

_HP_N=0
_HP_PIDS=()
_HP_HAS_WEB=
# start_httpeek ARGS...: start the real binary with a fresh --confdir (unless
# ARGS has one), --dns 127.0.0.1:$DNS_PORT (unless ARGS has --dns) and
# --listen 127.0.0.1:<free port>.  Sets HTTPEEK_PORT, HTTPEEK_PID,
# HTTPEEK_LOG (its stdout), HTTPEEK_ERR, HTTPEEK_CONFDIR, HTTPEEK_CA, and HTTPEEK_WEB_PORT
# (the viewer, on a free port unless ARGS has --web).
start_httpeek() {
    local args=("$@") a has_confdir= has_dns= has_web= port i
    if [ ! -x "$HTTPEEK" ]; then
        echo "Bail out! no httpeek binary at $HTTPEEK (build it, or set HTTPEEK)"
        exit 1
    fi
    for a in "${args[@]}"; do
        case $a in
            --confdir|--confdir=*) has_confdir=1 ;;
            --dns|--dns=*) has_dns=1 ;;
            --web|--web=*) has_web=1 ;;
        esac
    done
    _HP_N=$((_HP_N + 1))
    if [ -z "$has_confdir" ]; then
        HTTPEEK_CONFDIR="$T/confdir$_HP_N"
        args+=(--confdir "$HTTPEEK_CONFDIR")
    else
        HTTPEEK_CONFDIR=$(_arg_value --confdir "${args[@]}")
    fi
    if [ -z "$has_dns" ] && [ -z "${HTTPEEK_SYSTEM_RESOLVER:-}" ]; then
        [ -n "${DNS_PORT:-}" ] || { echo "Bail out! start_dns before start_httpeek"; exit 1; }
        args+=(--dns "127.0.0.1:$DNS_PORT")
    fi
    # the viewer must not take a fixed port (two instances, parallel runs)
    if [ -z "$_HP_HAS_WEB" ]; then
        if grep -q -- '--web' <<<"$(timeout 5 "$HTTPEEK" --help 2>&1)"; then _HP_HAS_WEB=yes; else _HP_HAS_WEB=no; fi
    fi
    HTTPEEK_LOG="$T/httpeek$_HP_N.log"
    HTTPEEK_ERR="$T/httpeek$_HP_N.err"
    local base=("${args[@]}") try
    for try in 1 2 3; do
        # ports picked here can be taken in between by another process: a start that fails
        # with "Address already in use" is tried again on other ports
        args=("${base[@]}")
        if [ "$_HP_HAS_WEB" = yes ] && [ -z "$has_web" ]; then
            HTTPEEK_WEB_PORT=$(free_port)
            args+=(--web "127.0.0.1:$HTTPEEK_WEB_PORT")
        fi
        port=$(free_port)
        args+=(--listen "127.0.0.1:$port")
        echo "# starting: $HTTPEEK ${args[*]}"
        timeout -k 2 "${HTTPEEK_RUN_SECS:-300}" "$HTTPEEK" "${args[@]}" \
            >"$HTTPEEK_LOG" 2>"$HTTPEEK_ERR" </dev/null &
        HTTPEEK_PID=$!
        _PIDS+=("$HTTPEEK_PID")
        _HP_PIDS+=("$HTTPEEK_PID")
        HTTPEEK_PORT=$port
        HTTPEEK_CA="$HTTPEEK_CONFDIR/ca-cert.pem"
        # ready when it says so on stdout; fall back to probing the port
        for i in $(seq 200); do
            grep -q "listening on" "$HTTPEEK_LOG" 2>/dev/null && \
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
            if ! kill -0 "$HTTPEEK_PID" 2>/dev/null; then
                if [ "$try" -lt 3 ] && grep -q "Address already in use" "$HTTPEEK_ERR" 2>/dev/null; then
                    diag "httpeek could not listen (a port was taken meanwhile): starting it again"
                    continue 2
                fi
                echo "Bail out! httpeek exited at start: $(tail -n 5 "$HTTPEEK_ERR" "$HTTPEEK_LOG")"
                exit 1
            fi
            [ "$i" -gt 40 ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && {
                diag "httpeek accepts on $port but printed no 'listening on' line (stdout buffered?)"
                return 0
            }
            sleep 0.05
        done
        echo "Bail out! httpeek did not listen on 127.0.0.1:$port within 10 s"
        exit 1
    done
}

# stop_httpeek [PID]: stop an instance (default: the last one started)
stop_httpeek() { kill_pid "${1:-$HTTPEEK_PID}"; }

_arg_value() {
    local want=$1; shift
    while [ $# -gt 0 ]; do
        case $1 in
            "$want") echo "$2"; return ;;
            "$want"=*) echo "${1#*=}"; return ;;
        esac
        shift
    done
}

# ------------------------------------------------------------ clients ----
# pcurl ARGS...: curl through the current httpeek (plain proxy or CONNECT)
pcurl() {
    curl -q -sS --connect-timeout 5 --max-time "${CURL_MAX_TIME:-30}" \
        -x "http://127.0.0.1:$HTTPEEK_PORT" "$@"
}
# pcurl_tls ARGS...: pcurl trusting httpeek's CA for the intercepted leg
pcurl_tls() { pcurl --cacert "$HTTPEEK_CA" "$@"; }

# gen_sha N: sha256 of /bytes/N
gen_sha() { "$PYTHON" "$E2E_DIR/upstream.py" --gen "$1" | sha256sum | cut -d' ' -f1; }
# gzip_sha N: sha256 of /gzip/N on the wire (compressed)
gzip_sha() {
    "$PYTHON" -c 'import sys,gzip,random,hashlib; n=int(sys.argv[1]); print(hashlib.sha256(gzip.compress(random.Random(n).randbytes(n), compresslevel=6, mtime=0)).hexdigest())' "$1"
}
file_sha() { sha256sum "$1" | cut -d' ' -f1; }
# header NAME FILE: value of the last NAME header in a curl -D dump
header() {
    grep -i "^$1:" "$2" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}
# status_of FILE: last status code in a curl -D dump
status_of() { grep -E '^HTTP/' "$1" | tail -n 1 | awk '{print $2}'; }

# log_lines ERE: exchange lines of the current httpeek log matching ERE
log_lines() { grep -E -- "$1" "$HTTPEEK_LOG" 2>/dev/null; }

# py SCRIPT ARGS...: run an inline python3 client with a hard time limit
py() { timeout -k 2 "${PY_TIMEOUT:-30}" "$PYTHON" -c "$@"; }

# ------------------------------------------------------------ viewer API ----
# api CURL-ARGS...: curl the viewer's API
api() { curl -sS --max-time 10 "$@"; }
# jq_py EXPR [ARGS]: print a python expression of the JSON on stdin (as d; ARGS as sys.argv[1:])
jq_py() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)" "${@:2}"; }
# wait_flows VIEWER-URL N: until the flow list holds N flows (committed in batches), at most 5 s;
# when it gives up, a "# " line in the TAP output says so (a wrong N would otherwise only cost 5 s
# silently: the check after it decides) and it returns 1
wait_flows() {
    local i n
    for i in $(seq 50); do
        n=$(api "$1/api/flows" | jq_py 'len(d)' 2>/dev/null)
        [ "$n" = "$2" ] && return 0
        sleep 0.1
    done
    diag "wait_flows: $2 flows expected, ${n:-no answer} listed after 5 s"
    return 1
}

# flow_id_of VIEWER-URL SUBSTRING: the id of the first listed flow whose URL holds SUBSTRING, once
# it is listed (flows are committed in batches: a client's exit does not mean it is in yet), at
# most 5 s; empty when none
flow_id_of() {
    local i id
    for i in $(seq 50); do
        id=$(api "$1/api/flows" | jq_py '[f["id"] for f in d if sys.argv[1] in f["url"]][:1]' "$2" \
            2>/dev/null | tr -d '[]')
        [ -n "$id" ] && { echo "$id"; return 0; }
        sleep 0.1
    done
    diag "flow_id_of: no flow with '$2' listed after 5 s" >&2
}

# node_tap OUTPUT: turn a node test's "ok - " / "not ok - " / "# " lines into TAP checks here.
# Output without any check is itself a failed check: a checker that crashed (a Python syntax
# error, a node exception) before its first line would otherwise drop all its checks silently.
node_tap() {
    local l
    grep -qE '^(not )?ok - ' <<<"$1" || fail "the checker printed no check (it failed to run?)" "${1:0:600}"
    while IFS= read -r l; do
        case $l in
            "ok - "*) pass "${l#ok - }" ;;
            "not ok - "*) fail "${l#not ok - }" ;;
            "# "*) diag "${l#\# }" ;;
            "") ;;
            *) diag "$l" ;;
        esac
    done <<<"$1"
}

# ------------------------------------------------------ private network ----
# Tests of the system resolver (httpeek without --dns) must never ask this machine's real one.
# enter_private_net HOSTS NSSWITCH RESOLV: re-run the calling script in its own network and
# mount namespace (unshare -n -m) with only lo up and the given contents bind-mounted over
# /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf; inside, it sets
# HTTPEEK_SYSTEM_RESOLVER=1 (start_httpeek passes no --dns) and returns 0. Returns 1, with
# the reason in PRIVATE_NET_SKIP, when namespaces are not permitted here. Call it first,
# before starting anything: the outer run is replaced.
enter_private_net() {
    if [ -n "${_E2E_PRIVNET:-}" ]; then
        rm -rf "$_E2E_PRIVNET" # the bind mounts keep the files
        export HTTPEEK_SYSTEM_RESOLVER=1
        return 0
    fi
    if ! unshare -n -m true 2>/dev/null; then
        PRIVATE_NET_SKIP="unshare -n -m is not permitted here (needs root or user namespaces)"
        return 1
    fi
    local d="$T/privnet"
    mkdir -p "$d"
    printf '%s\n' "$1" >"$d/hosts"
    printf '%s\n' "$2" >"$d/nsswitch.conf"
    printf '%s\n' "$3" >"$d/resolv.conf"
    mv "$d" "$T.privnet"
    _stop_watchdog
    trap - EXIT
    rm -rf "$T"
    export _E2E_PRIVNET="$T.privnet"
    exec unshare -n -m -- bash -c 'ip link set lo up && mount --bind "$1/hosts" /etc/hosts &&
        mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf && mount --bind "$1/resolv.conf" /etc/resolv.conf &&
        exec bash "$2"' enter_private_net "$_E2E_PRIVNET" "$0"
}

# flow_detail ID: the flow's detail JSON from the API
flow_detail() { api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows/$1"; }

# newest_flow_detail VIEWER-URL HOST: the detail JSON of the newest flow for HOST once its line
# is in the log ({} when there is none)
newest_flow_detail() {
    wait_grep "$2" "$HTTPEEK_LOG" 10 >/dev/null 2>&1
    sleep 0.3
    "$PYTHON" - "$1" "$2" <<'PY'
import json, sys, urllib.request
base, host = sys.argv[1], sys.argv[2]
flows = [f for f in json.load(urllib.request.urlopen(base + "/api/flows", timeout=10)) if f["host"] == host]
print(json.dumps(json.load(urllib.request.urlopen("%s/api/flows/%d" % (base, max(f["id"] for f in flows)),
                                                  timeout=10)) if flows else {}))
PY
}
