#!/usr/bin/env bash
# 56-facts.sh — the facts the viewer shows for ordinary flows are true: the first request of a
# tunnel is on a new upstream connection (not "reused"), the second on the same one is reused; a
# TLS 1.3 client leg has forward secrecy; the server certificate's subject, issuer, names and
# dates are its own; an intercepted exchange's bytes are its heads and
# bodies (never 0); flow numbers have no gaps although CONNECTs and httpeek's own pages are not
# recorded as flows; each timing phase is the one it names (a slow DNS answer is dns, not
# connect; a slow first byte is wait, not receive).
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns upstream.test=127.0.0.1 slowdns.test=127.0.0.1 --delay slowdns.test=0.3
start_upstream --tls server --quiet; UP=$UPSTREAM_PORT
start_upstream --quiet; PLAIN=$UPSTREAM_PORT
start_httpeek --upstream-ca "$PKI/ca.pem" --upstream-idle 0
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
detail() { api "$W/api/flows/$1" | jq_py "$2"; }

# two requests on one tunnel, httpeek's own setup page, one plain request, a new tunnel
pcurl_tls --tlsv1.3 -o /dev/null -o /dev/null "https://upstream.test:$UP/bytes/100" "https://upstream.test:$UP/bytes/200"
pcurl -o /dev/null "http://httpeek.test/"
pcurl -o /dev/null "http://upstream.test:$PLAIN/bytes/50"
pcurl_tls -o /dev/null "https://upstream.test:$UP/bytes/10"
wait_flows "$W" 4
ids=$(api "$W/api/flows" | jq_py "' '.join(str(f['id']) for f in d)")
is "$ids" "1 2 3 4" "flow numbers have no gaps (CONNECTs and own pages are not flows)"
read -r F1 F2 F3 F4 <<<"$ids"
is "$(detail "$F1" "d['reused_upstream']")" False "a tunnel's first request: a new upstream connection, not reused"
is "$(detail "$F1" "d['timings']['connect'] >= 0 and d['timings']['ssl'] >= 0")" True "its connect and TLS times are real"
is "$(detail "$F2" "d['reused_upstream']")" True "the second request on that tunnel: reused"
is "$(detail "$F4" "d['reused_upstream']")" False "a new tunnel (no pool): not reused"
is "$(detail "$F1" "d['tls']['client']['version'], d['tls']['client']['forward_secret']")" "TLSv1.3 True" \
    "a TLS 1.3 client leg has forward secrecy"
is "$(detail "$F1" "d['tls']['upstream']['forward_secret']")" True "so does the upstream leg"
U="d['tls']['upstream']"
is "$(detail "$F1" "'%s | %s | %s' % ($U['peer_subject'], $U['peer_issuer'], $U['peer_names'])")" \
    "CN=upstream.test | CN=httpeek e2e test root | upstream.test, *.alias.test, localhost, 127.0.0.1" \
    "the server certificate's subject, issuer (the test root, not the subject) and subjectAltNames"
NOW="__import__('time').strftime('%Y-%m-%dT%H:%M:%SZ', __import__('time').gmtime())"
is "$(detail "$F1" "$U['peer_not_before'] <= $NOW < $U['peer_not_after']")" True \
    "its valid-from is in the past and its valid-until in the future (a 30-day certificate made now)"
is "$(detail "$F1" "d['bytes_up'] == d['request']['head_size'] + d['request']['body_size'] and d['bytes_up'] > 0")" True \
    "an intercepted exchange's bytes up: its request head and body"
is "$(detail "$F1" "d['bytes_down'] == d['response']['head_size'] + 100")" True \
    "its bytes down: the response head and the 100-byte body"
is "$(detail "$F3" "d['bytes_down'] == d['response']['head_size'] + 50")" True "a plain exchange's bytes down too"
is "$(api "$W/api/info" | jq_py "d['loopback_only'], repr(d['phone_proxy'])")" "True ''" \
    "/api/info on a loopback listener: no address a phone could use, said so"

# a name whose DNS answer takes 0.3 s, on a server that waits 0.3 s before its first byte: the
# time shows up in dns and wait, not in connect and receive (loopback connects and a 5-byte body
# take far less)
pcurl -o /dev/null "http://slowdns.test:$PLAIN/slow/0.3"
wait_flows "$W" 5
F5=$(api "$W/api/flows" | jq_py "[f['id'] for f in d if 'slowdns.test' in f['url']][0]")
DET5=$(api "$W/api/flows/$F5")
echo "# flow $F5 timings: $(jq_py "d['timings']" <<<"$DET5")"
is "$(jq_py "d['timings']['dns'] >= 290, 0 <= d['timings']['connect'] < d['timings']['dns']" <<<"$DET5")" "True True" \
    "a slow DNS answer is timed as dns (>= 0.3 s), the loopback connect after it is not"
is "$(jq_py "d['timings']['wait'] >= 290, 0 <= d['timings']['receive'] < d['timings']['wait']" <<<"$DET5")" "True True" \
    "a slow first byte is timed as wait (>= 0.3 s), receiving the short body after it is not"

# a request with a body (the flows above are GETs): bytes up count it, bytes down the echo
head -c 300 /dev/zero | tr '\0' x >"$T/post300"
pcurl -o /dev/null --data-binary @"$T/post300" "http://upstream.test:$PLAIN/echo?up"
wait_flows "$W" 6
F6=$(api "$W/api/flows" | jq_py "[f['id'] for f in d if f['url'].endswith('/echo?up')][0]")
is "$(detail "$F6" "d['request']['body_size'], d['bytes_up'] == d['request']['head_size'] + 300, d['bytes_down'] == d['response']['head_size'] + 300")" \
    "300 True True" "a 300-byte POST: its bytes up are its head and its 300-byte body, bytes down the echoed 300"
stop_httpeek
done_testing
