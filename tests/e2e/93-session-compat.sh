#!/usr/bin/env bash
# 93-session-compat.sh — a session file written before flow records (schema 1: every detail a
# JSON text; tests/e2e/data/session-v1/, recorded by httpeek 66164be) still opens, lists, shows
# and exports exactly as that build served it: the viewer API's list, every flow's detail and
# bodies, and `httpeek export`'s HAR are compared byte for byte with what 66164be answered for
# the same file (its .out files). Opened for recording, the file is raised to schema 2 and new
# flows are written as flow records next to the old rows, which read as before.
#
# The data was made with this script: E2E_MAKE_COMPAT=DIR HTTPEEK=<a 66164be build> writes the
# session and the answers into DIR instead of comparing.
source "$(dirname "$0")/lib.sh"

DATA=$REPO_ROOT/tests/e2e/data/session-v1
MAKE=${E2E_MAKE_COMPAT:-}
PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1
start_upstream --quiet; UP=$UPSTREAM_PORT
start_upstream --tls server --quiet; TLSUP=$UPSTREAM_PORT

# sq FILE SQL: the first column of the first row (python's sqlite3: no sqlite3 program needed)
sq() {
    "$PYTHON" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); r = c.execute(sys.argv[2]).fetchone(); c.commit()
print("" if r is None else r[0])' "$1" "$2"
}

# The answers that must not change, for the flows of the file at $1 (viewer at $HTTPEEK_WEB_PORT),
# into directory $2.
answers() {
    local dir=$2 id ids
    mkdir -p "$dir"
    api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows?limit=1000" >"$dir/list.out"
    ids=$(jq_py '" ".join(str(f["id"]) for f in d)' <"$dir/list.out")
    for id in $ids; do
        api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows/$id" >"$dir/flow-$id.out"
        api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows/$id/response/body?decode=1" >"$dir/body-$id.out"
    done
    api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/search?q=header%3AUser-Agent" >"$dir/search.out"
    "$HTTPEEK" export --session "$1" --har "$dir/export.har.out" 2>/dev/null
}

if [ -n "$MAKE" ]; then
    # ---- recording the data with the old build -------------------------------------------------
    mkdir -p "$MAKE"
    rm -f "$MAKE"/*
    S=$T/session.sqlite
    start_httpeek --upstream-ca "$PKI/ca.pem" --session "$S" --passthrough localhost
    pcurl -o /dev/null "http://upstream.test:$UP/headers?x=1" -H 'Cookie: sid=abc; theme=dark'
    pcurl -o /dev/null "http://upstream.test:$UP/gzip/3000"
    pcurl -o /dev/null --data '{"a":"caf\u00e9","n":1}' -H 'Content-Type: application/json' \
        "http://upstream.test:$UP/echo"
    # two requests on one TLS connection: the second refers to the first's TLS facts
    pcurl_tls -o /dev/null -o /dev/null "https://upstream.test:$TLSUP/headers" \
        "https://upstream.test:$TLSUP/bytes/100"
    pcurl --cacert "$PKI/ca.pem" -o /dev/null "https://localhost:$TLSUP/bytes/10"
    pcurl -o /dev/null "http://upstream.test:$(free_port)/refused"
    pcurl -o /dev/null "http://upstream.test:$UP/status/404"
    wait_flows "http://127.0.0.1:$HTTPEEK_WEB_PORT" 8
    stop_httpeek
    # the file as a user keeps it: checkpointed, without -wal/-shm
    sq "$S" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    cp "$S" "$MAKE/session.sqlite"
    [ -s "$S-bodies" ] && cp "$S-bodies" "$MAKE/session.sqlite-bodies"
    start_httpeek --session "$MAKE/session.sqlite"
    answers "$MAKE/session.sqlite" "$MAKE"
    stop_httpeek
    sq "$MAKE/session.sqlite" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    rm -f "$MAKE/session.sqlite-wal" "$MAKE/session.sqlite-shm"
    pass "data recorded in $MAKE ($(ls "$MAKE" | wc -l) files)"
    done_testing
fi

[ -f "$DATA/session.sqlite" ] || { echo "Bail out! no $DATA/session.sqlite"; exit 1; }
S=$T/v1.sqlite
cp "$DATA/session.sqlite" "$S"
is "$(sq "$S" "SELECT value FROM meta WHERE key='schema'")" 1 "the file is a schema 1 session"
nold=$(sq "$S" "SELECT count(*) FROM flows")
cmp_num "$nold" -ge 7 "it holds the old build's flows ($nold)"

# export alone reads the file as it is (no writer: nothing migrated)
"$HTTPEEK" export --session "$S" --har "$T/export-first.har" 2>"$T/export.err"
is $? 0 "httpeek export reads the schema 1 file"
cmp -s "$T/export-first.har" "$DATA/export.har.out"
is $? 0 "its HAR is byte for byte the old build's"

# opened for recording: the viewer's answers are the old build's, byte for byte
start_httpeek --upstream-ca "$PKI/ca.pem" --session "$S"
is "$(sq "$S" "SELECT value FROM meta WHERE key='schema'")" 2 "opened for recording, the file is raised to schema 2"
answers "$S" "$T/now"
for f in "$DATA"/*.out; do
    b=$(basename "$f")
    if cmp -s "$f" "$T/now/$b"; then
        pass "$b: the same bytes as the old build's answer"
    else
        fail "$b: the same bytes as the old build's answer"
        diff <(head -c 3000 "$f") <(head -c 3000 "$T/now/$b") | head -n 8 | sed 's/^/# /'
    fi
done

# new flows next to the old rows: written as flow records, read as JSON
pcurl -o /dev/null "http://upstream.test:$UP/headers?new=1"
pcurl_tls -o /dev/null "https://upstream.test:$TLSUP/headers"
wait_flows "http://127.0.0.1:$HTTPEEK_WEB_PORT" $((nold + 2))
is "$(sq "$S" "SELECT count(*) FROM flows WHERE typeof(detail) = 'blob'")" 2 \
    "the new flows' details are flow records"
is "$(sq "$S" "SELECT count(*) FROM flows WHERE typeof(detail) = 'text'")" "$nold" \
    "the old rows stay as they were"
new=$(sq "$S" "SELECT max(id) FROM flows")
d=$(flow_detail "$new")
like "$(jq_py 'd["response"]["status"], d["tls"]["upstream"]["version"], len(d["request"]["headers"]) > 2' <<<"$d")" \
    "^200 TLSv1\.[23] True$" "a new flow's detail reads back (status, TLS facts, headers)"
for f in "$DATA"/flow-*.out; do
    b=$(basename "$f")
    api "http://127.0.0.1:$HTTPEEK_WEB_PORT/api/flows/${b//[^0-9]/}" | cmp -s "$f" -
    is $? 0 "$b: unchanged with new rows in the file"
done
stop_httpeek
"$HTTPEEK" export --session "$S" --har "$T/mixed.har" 2>/dev/null
is $? 0 "a file with both kinds of rows exports"
is "$(jq_py 'len(d["log"]["entries"])' <"$T/mixed.har")" $((nold + 2)) "every flow, old and new, is in its HAR"
done_testing
