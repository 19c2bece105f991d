#!/usr/bin/env bash
# 80-keylog.sh — the TLS key log (--keylog FILE, $SSLKEYLOGFILE): curl through httpeek (CONNECT,
# intercepted) to a TLS upstream on loopback, captured with dumpcap; tshark, given the key log,
# shows the decrypted HTTP requests of both legs (curl <-> httpeek and httpeek <-> server), and
# without it none. The file is 0600, appended, whole lines from several workers; the option wins
# over the environment; with neither there is no file; an unwritable one is a one-line error.
source "$(dirname "$0")/lib.sh"

for tool in tshark dumpcap; do
    command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool not installed (apt-get install tshark)"; exit 0; }
done
if [ "$(id -u)" != 0 ] && ! getcap "$(command -v dumpcap)" 2>/dev/null | grep -q cap_net_raw; then
    echo "1..0 # SKIP capturing on lo needs root (or dumpcap with cap_net_raw: dpkg-reconfigure wireshark-common)"
    exit 0
fi

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
KEYS=$T/keys.log
# --upstream-idle 0: every tunnel makes its own upstream handshake, so both legs are in the capture
start_httpeek --upstream-ca "$PKI/ca.pem" --keylog "$KEYS" --workers 2 --upstream-idle 0
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
P=$HTTPEEK_PORT

like "$(cat "$HTTPEEK_LOG")" "Key log: $KEYS \(TLS secrets of both legs" "start-up says a key log is being written, and where"
is "$(stat -c %a "$KEYS" 2>/dev/null)" 600 "--keylog file created with mode 0600"
is "$(api "$W/api/session" | jq_py 'd.get("keylog")')" "$KEYS" "GET /api/session names the key log (keylog)"

# ---- a capture of both legs, decrypted with the key log ------------------------------------
CAP=$T/cap.pcapng
spawn dumpcap 40 dumpcap -q -i lo -f "tcp port $P or tcp port $UP" -a duration:30 -w "$CAP"
DUMPCAP=$SPAWN_PID
for i in $(seq 100); do [ -s "$CAP" ] && break; sleep 0.05; done
sleep 0.5 # dumpcap writes its file header before the capture is live
for n in 1 2 3; do
    pcurl_tls --http1.1 -sS -o /dev/null "https://upstream.test:$UP/bytes/100?probe=keylog-$n" || diag "curl $n failed"
done
sleep 0.5
kill_pid "$DUMPCAP"
ok "dumpcap captured the loopback traffic" test -s "$CAP"

# tshark: the proxy port speaks HTTP (CONNECT, then TLS inside); the upstream port TLS
decode=(-d "tcp.port==$P,http" -d "tcp.port==$UP,tls")
requests() { # KEYLOG-OPTION...: "dstport uri" of every decrypted HTTP request in the capture
    timeout 60 tshark -r "$CAP" "${decode[@]}" "$@" -Y 'http.request && http.request.method == "GET"' \
        -T fields -e tcp.dstport -e http.request.uri 2>"$T/tshark.err"
}
with=$(requests -o "tls.keylog_file:$KEYS")
without=$(requests -o "tls.keylog_file:")
diag "decrypted with the key log:" "$with"
for n in 1 2 3; do
    like "$with" "(^|$(printf '\n'))$P	/bytes/100\?probe=keylog-$n($(printf '\n')|$)" \
        "client leg (curl -> httpeek:$P) request $n decrypted with the key log"
    like "$with" "(^|$(printf '\n'))$UP	/bytes/100\?probe=keylog-$n($(printf '\n')|$)" \
        "upstream leg (httpeek -> server:$UP) request $n decrypted with the key log"
done
unlike "$without" "probe=keylog" "without the key log tshark sees no request inside TLS (the capture alone is not enough)"

# ---- the file: whole NSS lines, session secrets only ---------------------------------------
bad=$(grep -cvE '^(CLIENT_RANDOM|CLIENT_EARLY_TRAFFIC_SECRET|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EARLY_EXPORTER_SECRET|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]{64,96}$' "$KEYS")
is "$bad" 0 "every key log line is a whole NSS key log line"
unlike "$(cat "$KEYS")" "PRIVATE|BEGIN|KEY-----" "no key material other than session secrets (no PEM, no CA key)"
# the CA's private scalar (EC "priv:") or exponent (RSA), as hex: 16 bytes of it must not appear
ca_key_hex=$(openssl pkey -in "$HTTPEEK_CONFDIR/ca-key.pem" -noout -text 2>/dev/null |
    awk '/^(priv|privateExponent):/ {f = 1; next} /^[A-Za-z]/ {f = 0} f' | tr -d ' :\n' | sed 's/^00//' | head -c 32)
if [ "${#ca_key_hex}" = 32 ]; then
    unlike "$(cat "$KEYS")" "$ca_key_hex" "the CA's private key is not in the key log"
else
    skip "the CA's private key is not in the key log" "no readable ca-key.pem in $HTTPEEK_CONFDIR"
fi

# ---- several workers at once: lines stay whole ---------------------------------------------
before=$(wc -l <"$KEYS")
pids=()
for n in $(seq 40); do
    pcurl_tls -sS -o /dev/null "https://upstream.test:$UP/bytes/10?par=$n" &
    pids+=($!)
done
wait "${pids[@]}"
sleep 0.3
after=$(wc -l <"$KEYS")
bad=$(grep -cvE '^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,96}$' "$KEYS")
is "$bad" 0 "40 concurrent tunnels on 2 workers: still only whole lines"
# TLS 1.3: 5 secrets per handshake, 2 handshakes (client leg, upstream leg) per tunnel
cmp_num "$((after - before))" -ge 400 "40 concurrent tunnels: the secrets of both legs of each (>= 400 lines, got $((after - before)))"
stop_httpeek

# ---- appended, not truncated ---------------------------------------------------------------
lines=$(wc -l <"$KEYS")
first_run=$(sha256sum <"$KEYS")
start_httpeek --upstream-ca "$PKI/ca.pem" --keylog "$KEYS"
pcurl_tls -sS -o /dev/null "https://upstream.test:$UP/bytes/1"
sleep 0.3
cmp_num "$(wc -l <"$KEYS")" -gt "$lines" "a second run appends to the key log"
is "$(head -n "$lines" "$KEYS" | sha256sum)" "$first_run" "a second run keeps the first run's lines as they were"
stop_httpeek

# ---- SSLKEYLOGFILE, and --keylog winning over it --------------------------------------------
# only httpeek gets the variable: curl reads SSLKEYLOGFILE too and would write the file itself
ENVKEYS=$T/env-keys.log
REAL_HTTPEEK=$HTTPEEK
printf '#!/bin/sh\nSSLKEYLOGFILE=%s exec %s "$@"\n' "$ENVKEYS" "$REAL_HTTPEEK" >"$T/httpeek-env"
chmod +x "$T/httpeek-env"
HTTPEEK=$T/httpeek-env
start_httpeek --upstream-ca "$PKI/ca.pem"
pcurl_tls -sS -o /dev/null "https://upstream.test:$UP/bytes/1"
sleep 0.3
like "$(cat "$HTTPEEK_LOG")" "Key log: $ENVKEYS .*from SSLKEYLOGFILE" "SSLKEYLOGFILE: start-up names the file and where it came from"
is "$(stat -c %a "$ENVKEYS" 2>/dev/null)" 600 "SSLKEYLOGFILE: file created with mode 0600"
cmp_num "$(grep -c '^CLIENT_TRAFFIC_SECRET_0 ' "$ENVKEYS" 2>/dev/null || echo 0)" -ge 2 "SSLKEYLOGFILE: both legs' secrets written"
stop_httpeek
OPTKEYS=$T/opt-keys.log
rm -f "$ENVKEYS"
start_httpeek --upstream-ca "$PKI/ca.pem" --keylog "$OPTKEYS"
pcurl_tls -sS -o /dev/null "https://upstream.test:$UP/bytes/1"
sleep 0.3
cmp_num "$(grep -c '^CLIENT_TRAFFIC_SECRET_0 ' "$OPTKEYS" 2>/dev/null || echo 0)" -ge 2 "--keylog and SSLKEYLOGFILE both set: --keylog is written"
ok "--keylog and SSLKEYLOGFILE both set: SSLKEYLOGFILE's file is not created" test ! -e "$ENVKEYS"
stop_httpeek
HTTPEEK=$REAL_HTTPEEK

# ---- neither: no key log --------------------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
pcurl_tls -sS -o /dev/null "https://upstream.test:$UP/bytes/1"
unlike "$(cat "$HTTPEEK_LOG")" "Key log" "neither --keylog nor SSLKEYLOGFILE: start-up says nothing of a key log"
is "$(api "$W/api/session" | jq_py 'd.get("keylog")')" None "neither: GET /api/session keylog is null"
ok "neither: no key log file appears" test ! -e "$ENVKEYS"
ok "neither: no file in the confdir either" test -z "$(find "$HTTPEEK_CONFDIR" -iname '*key*log*')"
stop_httpeek

# ---- an unwritable key log: one line, at start ----------------------------------------------
BADP=$(free_port)
out=$(timeout 10 "$HTTPEEK" --confdir "$T/c-bad" --listen "127.0.0.1:$BADP" --web "127.0.0.1:$(free_port)" \
      --dns "127.0.0.1:$DNS_PORT" --keylog "$T/no/such/dir/keys.log" </dev/null 2>&1 >/dev/null); rc=$?
isnt "$rc" 0 "unwritable --keylog: httpeek does not start"
is "$(printf '%s\n' "$out" | wc -l)" 1 "unwritable --keylog: one line on stderr"
like "$out" "key log $T/no/such/dir/keys.log: No such file or directory" "unwritable --keylog: the line names the file and why"
out=$(SSLKEYLOGFILE=$T/no/such/dir/env.log timeout 10 "$HTTPEEK" --confdir "$T/c-bad" --listen "127.0.0.1:$BADP" \
      --web "127.0.0.1:$(free_port)" --dns "127.0.0.1:$DNS_PORT" </dev/null 2>&1 >/dev/null); rc=$?
isnt "$rc" 0 "unwritable SSLKEYLOGFILE: httpeek does not start"
like "$out" "key log $T/no/such/dir/env.log" "unwritable SSLKEYLOGFILE: the line names the file"

done_testing
