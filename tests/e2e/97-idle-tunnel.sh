#!/usr/bin/env bash
# 97-idle-tunnel.sh — an intercepted tunnel that idles between its requests gives back what it
# holds for its flows (each leg's TLS facts snapshot, leg.h's leg_release_buffers) and makes it
# again for the next request under the same serial: every flow of the connection shows the same
# TLS facts, and the session file still holds each leg's facts once (store_tls.h), not inline
# in every flow as it would if each idle period made them new.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --tls server --quiet
UP=$UPSTREAM_PORT
SESSION=$T/session.sqlite
start_httpeek --upstream-ca "$PKI/ca.pem" --session "$SESSION" --http2=no
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"

# three requests on one intercepted connection, each after the connection idled 0.5 s (its
# buffers and snapshots are given back after 0.1 s)
out=$(py '
import socket, ssl, sys, time
port, up, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("CONNECT upstream.test:%d HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (up, up)).encode())
head = b""
while not head.endswith(b"\r\n\r\n"):
    head += s.recv(1)
t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="upstream.test")
f = t.makefile("rb")
got = []
for i in range(3):
    if i:
        time.sleep(0.5)
    t.sendall(("GET /bytes/%d HTTP/1.1\r\nHost: upstream.test:%d\r\n\r\n" % (100 + i, up)).encode())
    status = f.readline().split()[1].decode()
    n = 0
    while True:
        line = f.readline().strip()
        if not line:
            break
        k, _, v = line.partition(b":")
        if k.lower() == b"content-length":
            n = int(v)
    got.append("%s/%d" % (status, len(f.read(n))))
print(" ".join(got))
' "$HTTPEEK_PORT" "$UP" "$HTTPEEK_CA" 2>&1)
is "$out" "200/100 200/101 200/102" "three requests on one tunnel, 0.5 s idle between them"

wait_flows "$WEB" 3
ids=$(api "$WEB/api/flows" | jq_py '" ".join(str(f["id"]) for f in sorted(d, key=lambda f: f["id"]))')
tls=$(for id in $ids; do flow_detail "$id" | jq_py 'json.dumps(d.get("tls"), sort_keys=True)'; done)
is "$(printf '%s\n' "$tls" | sort -u | wc -l)/$(printf '%s\n' "$tls" | wc -l)" "1/3" \
    "the three flows show the same TLS facts of both legs"
like "$(printf '%s\n' "$tls" | head -1)" '"client": \{.*"leaf": "minted".*"upstream": \{.*"handshake_done": true' \
    "and those are the facts (the client leg's leaf, the upstream's handshake)"

# the session file: written on the store's next batch
for i in $(seq 50); do
    rows=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from flows").fetchone()[0])' "$SESSION" 2>/dev/null)
    [ "$rows" = 3 ] && break
    sleep 0.1
done
# a detail is a flow record (flow_detail.h, session schema 2), not JSON text: the leg's facts
# inline in the first flow's record make it larger than the others', which hold references
facts=$("$PYTHON" - "$SESSION" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select count(*) from tls").fetchone()[0]
lens = [r[0] for r in db.execute("select length(detail) from flows order by id")]
print(rows, "inline,ref,ref" if len(lens) == 3 and lens[0] > max(lens[1:]) + 200 and
      abs(lens[1] - lens[2]) < 100 else "sizes %s" % lens)
PY
)
is "$facts" "2 inline,ref,ref" \
    "session file: each leg's facts written once (the first flow inline, the others refer to them)"

done_testing
