#!/usr/bin/env bash
# 71-rewrite-request.sh — request body rewrites (docs/RULES.md "Rewrite": req-body, req-json) with
# curl and an upstream that echoes what it received: a JSON body edited by path reaches the
# server with a Content-Length that fits it, a chunked upload is edited by regex and reaches the
# server with a Content-Length (not chunked), a gzip request body is edited and re-encoded
# (the server gets valid gzip with the new field), a literal edit, a body over the 16 MiB limit
# left alone with the flow saying so, the same edit over the HTTP/2 front, and _rules with
# before / after in the API.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_upstream --tls server; TLSUP=$UPSTREAM_PORT
start_upstream; PLAIN=$UPSTREAM_PORT
start_dns rq.test=127.0.0.1 upstream.test=127.0.0.1

# an HTTP/2 server that stores PUT bodies (nginx DAV), when nginx is here: the uplink an h2 stream
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NGPORT=0
if [ -x "$NGINX" ]; then
    NG=$T/nginx
    mkdir -p "$NG/www/up"
    NGPORT=$(free_port)
    cat >"$NG/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 64; }
http {
    log_format conns '\$server_protocol \$request_method \$request_uri \$request_length';
    access_log $NG/access.log conns;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    server {
        listen 127.0.0.1:$NGPORT ssl http2;
        root $NG/www;
        location /up/ { dav_methods PUT; }
    }
}
EOF
    spawn nginx 120 "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log"
    wait_port "$NGPORT" 10 || NGPORT=0
fi

P="http://rq.test:$PLAIN"
start_httpeek --upstream-ca "$PKI/ca.pem" --http2=yes \
    --rewrite "$P/echo/json=req-json:\$.user.plan=\"pro\"" \
    --rewrite "$P/echo/json=req-json:remove:\$.user.debug" \
    --rewrite "$P/echo/chunked=req-body:(hel+o) world=>\\1 there" \
    --rewrite "$P/echo/gz=req-json:\$.n=2" \
    --rewrite "$P/echo/lit=req-body-literal:a.b=>[x]" \
    --rewrite "$P/echo/big=req-body-literal:a=>b" \
    --rewrite "$P/echo/nomatch=req-body:zzz=>y" \
    --rewrite "https://upstream.test:$TLSUP/echo/h2=req-json:\$.via=\"h2\"" \
    --rewrite "https://upstream.test:$NGPORT/up/*=req-json:\$.via=\"h2-upstream\""
V="http://127.0.0.1:$HTTPEEK_WEB_PORT"
rules_of() { newest_flow_detail "$V" rq.test | jq_py "json.dumps(d['_rules'])"; }

# ---- a JSON body by path ----------------------------------------------------------------------
pcurl -sS "$P/echo/json" -H 'Content-Type: application/json' \
    --data-binary '{"user": {"plan": "free", "debug": true, "name": "ann"}}' -D "$T/h1" -o "$T/b1"
is "$(jq_py 'd["user"]["plan"] + "," + d["user"]["name"] + "," + str("debug" in d["user"])' < "$T/b1")" \
    "pro,ann,False" "req-json: the server got plan pro, debug removed, the rest kept"
is "$(header x-body-length "$T/h1")" "$(wc -c < "$T/b1" | tr -d ' ')" \
    "the server's Content-Length read exactly the edited body"
is "$(header x-request-chunked "$T/h1")" "0" "... sent with a Content-Length"
d=$(newest_flow_detail "$V" rq.test)
r=$(printf '%s' "$d" | jq_py "json.dumps(d['_rules'])")
like "$r" '"before": "\\"free\\"", "after": "\\"pro\\""' "_rules: before \"free\", after \"pro\""
like "$r" '"after": "\(removed\)"' "_rules: the removed member's after is (removed)"
like "$r" 'set in the request body' "_rules: the detail names the request body"
id=$(printf '%s' "$d" | jq_py 'd["id"]')
is "$(printf '%s' "$d" | jq_py '[h["value"] for h in d["request"]["headers"] if h["name"].lower() == "content-length"][0] == str(d["request"]["body_size"])')" \
    "True" "the flow's request head has the edited body's Content-Length"
is "$(api "$V/api/flows/$id/request/body" | jq_py 'd["user"]["plan"]')" "pro" \
    "the flow's request body is the one the server got"

# ---- a chunked upload, by regex ---------------------------------------------------------------------
pcurl -sS "$P/echo/chunked" -H 'Transfer-Encoding: chunked' --data-binary 'hello world, hello world' \
    -D "$T/h2" -o "$T/b2"
is "$(cat "$T/b2")" "hello there, hello there" "req-body: a chunked upload edited with a regex group"
is "$(header x-request-chunked "$T/h2")" "0" "... reached the server with a Content-Length, not chunked"
is "$(header x-body-length "$T/h2")" "24" "... of the edited length"
like "$(rules_of)" 'request body: 2 replacements' "_rules: the count of replacements"

# ---- a gzip request body -------------------------------------------------------------------------------
py 'import gzip, sys; open(sys.argv[1], "wb").write(gzip.compress(b"{\"n\": 1, \"k\": \"v\"}", mtime=0))' "$T/gz"
pcurl -sS "$P/echo/gz" -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' \
    --data-binary "@$T/gz" -D "$T/h3" -o "$T/b3"
is "$(py 'import gzip, json, sys; d = json.loads(gzip.decompress(open(sys.argv[1], "rb").read())); print(d["n"], d["k"])' "$T/b3")" \
    "2 v" "gzip: the server got valid gzip holding the new field (python gzip)"
is "$(header x-body-length "$T/h3")" "$(wc -c < "$T/b3" | tr -d ' ')" "... with the new gzip's length"

# ---- literal; no match ---------------------------------------------------------------------------------
is "$(pcurl -sS "$P/echo/lit" --data-binary 'a.b axb a.b')" "[x] axb [x]" \
    "req-body-literal: the dot is literal text, every match replaced"
is "$(pcurl -sS "$P/echo/nomatch" --data-binary 'abc' -D "$T/h4")" "abc" "no match: the body as it came"
like "$(rules_of)" 'no match in the request body' "_rules: no match said"

# ---- over the limit ---------------------------------------------------------------------------------------
head -c $((17 << 20)) /dev/zero | tr '\0' 'a' > "$T/big"
CURL_MAX_TIME=60 pcurl -sS "$P/echo/big" -H 'Expect:' --data-binary "@$T/big" -D "$T/h5" -o "$T/b5"
is "$(header x-body-sha256 "$T/h5")" "$(file_sha "$T/big")" "a 17 MiB upload reaches the server untouched"
like "$(rules_of)" 'request body \(17825792 bytes\) is over the 16 MiB limit: left alone' \
    "the flow says the request body was over the limit"
head -c $((17 << 20)) /dev/zero | tr '\0' 'a' | CURL_MAX_TIME=60 pcurl -sS "$P/echo/big" -H 'Expect:' \
    -H 'Transfer-Encoding: chunked' --data-binary @- -D "$T/h6" -o "$T/b6"
is "$(header x-body-sha256 "$T/h6")" "$(file_sha "$T/big")" "a 17 MiB chunked upload (no length known) reaches the server untouched"
like "$(rules_of)" 'request body is over the 16 MiB limit: left alone' "... and the flow says so"

# ---- the HTTP/2 front -------------------------------------------------------------------------------------
pcurl_tls -sS --http2 "https://upstream.test:$TLSUP/echo/h2" --data-binary '{"via": "h1"}' -D "$T/h7" -o "$T/b7"
like "$(grep '^HTTP/' "$T/h7" | tail -1)" "HTTP/2" "curl spoke HTTP/2 to httpeek"
is "$(jq_py 'd["via"]' < "$T/b7")" "h2" "h2 front: the server got the edited JSON body"
is "$(header x-body-length "$T/h7")" "$(wc -c < "$T/b7" | tr -d ' ')" "h2 front: with its length"

# ---- an HTTP/2 upstream (nginx): the held request goes out as an h2 stream ---------------------------------
if [ "$NGPORT" != 0 ]; then
    code=$(pcurl_tls -sS -o /dev/null -w '%{http_code}' -X PUT "https://upstream.test:$NGPORT/up/a.json" \
        --data-binary '{"via": "h1", "n": 1}')
    like "$code" '^20[14]$' "h2 upstream: the PUT was stored ($code)"
    is "$(jq_py 'd["via"] + "," + str(d["n"])' < "$NG/www/up/a.json")" "h2-upstream,1" \
        "h2 upstream: nginx stored the edited JSON body"
    like "$(grep ' PUT /up/a.json' "$NG/access.log")" '^HTTP/2.0 PUT' "... received over HTTP/2"
else
    skip "h2 upstream: the PUT was stored" "nginx is not installed"
    skip "h2 upstream: nginx stored the edited JSON body" "nginx is not installed"
    skip "... received over HTTP/2" "nginx is not installed"
fi

done_testing
