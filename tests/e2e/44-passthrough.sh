#!/usr/bin/env bash
# 44-passthrough.sh — automatic passthrough is per device: three clients on 127.0.0.1/.2/.3 use
# one httpeek; the one without httpeek's CA refuses api.alias.test three times and from then on
# only its own tunnels to that host are relayed untouched, while the two that trust the CA are
# still intercepted (and their flows never blame them). The entry names the device, is listed by
# GET /api/passthrough, ends with DELETE /api/passthrough/{client}/{host} ("Resume interception"),
# expires (--auto-passthrough-ttl), and ends when that device starts trusting the CA. The built-in
# list passes Apple's and Google's pinned services through unless --no-default-passthrough.
source "$(dirname "$0")/lib.sh"

PKI=$T/pki
make_pki "$PKI" || { echo "Bail out! make_pki failed"; exit 1; }
start_dns api.alias.test=127.0.0.1 other.alias.test=127.0.0.1 upstream.test=127.0.0.1 \
    gateway.push.apple.com=127.0.0.1
start_upstream --tls server --quiet; UP=$UPSTREAM_PORT
# as CLIENT: curl through httpeek from source address CLIENT
as() { local who=$1; shift; CURL_MAX_TIME=10 pcurl --interface "$who" "$@"; }
# refuse CLIENT HOST: a client without httpeek's CA (it trusts only the server's own CA)
refuse() { as "$1" --cacert "$PKI/ca.pem" -o /dev/null "https://$2:$UP/bytes/10" 2>/dev/null; }
# trusted CLIENT HOST: a client that trusts httpeek's CA; prints the status
trusted() { as "$1" --cacert "$HTTPEEK_CA" -o /dev/null -w '%{http_code}' "https://$2:$UP/bytes/10" 2>/dev/null; }
# flows_of CLIENT: the API's flows of one client as "kind:status:failed" words
flows_of() {
    api "$W/api/flows" | jq_py "' '.join('%s:%s:%s' % (f['kind'], f['status'], f['failed']) for f in d if f['client'] == '$1')"
}

start_httpeek --upstream-ca "$PKI/ca.pem" --auto-passthrough 3
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
is "$(trusted 127.0.0.2 api.alias.test)" 200 "device .2 (trusts the CA) is intercepted and works"
for i in 1 2 3; do
    refuse 127.0.0.1 api.alias.test
    isnt "$?" 0 "device .1 without the CA refuses httpeek's certificate ($i)"
done
wait_grep "now passed through" "$HTTPEEK_LOG" 5
like "$(grep 'now passed through' "$HTTPEEK_LOG")" "for this device only \(127\.0\.0\.1" \
    "the switch names the device that triggered it"
refuse 127.0.0.1 api.alias.test
is "$?" 0 "device .1 now reaches api.alias.test untouched (its own trust works)"
is "$(trusted 127.0.0.2 api.alias.test)" 200 "device .2 is still intercepted for api.alias.test"
is "$(trusted 127.0.0.3 api.alias.test)" 200 "device .3 is still intercepted for api.alias.test"
refuse 127.0.0.2 api.alias.test
isnt "$?" 0 "device .2 still gets httpeek's certificate (not the server's) for api.alias.test"
wait_flows "$W" 8
is "$(flows_of 127.0.0.3)" "http:200:False" "device .3's flow: an intercepted exchange, not a blamed tunnel"
like "$(flows_of 127.0.0.2)" "^http:200:False http:200:False tunnel:0:True$" \
    "device .2's flows: two intercepted exchanges, then its own refusal"
is "$(flows_of 127.0.0.1)" "tunnel:0:True tunnel:0:True tunnel:0:True tunnel:0:False" \
    "device .1's flows: three refusals, then one untouched tunnel"
# the refusals' diagnosis: its own catalogue entry, the app named, the inference from the device
diag_of() { # CLIENT N: the diagnosis of that client's Nth flow as "code|title|detail|fix"
    local id
    id=$(api "$W/api/flows" | jq_py "[f['id'] for f in d if f['client'] == '$1'][$2]")
    api "$W/api/flows/$id" | jq_py "'|'.join(str(d['diagnosis'][k]) for k in ('code', 'title', 'detail', 'fix'))"
}
CURLV="curl/$(curl -V | awk 'NR==1{print $2}')"
d1=$(diag_of 127.0.0.1 0)
like "$d1" "^-1202\|The app refused httpeek's certificate\|" "a refusal has its own title (not the bad-server one)"
like "$d1" "Certificate Trust Settings.*network_security_config" "its fix: full trust on iOS, user CAs on Android"
unlike "$d1" "upstream-ca|public CA" "its fix is not the one for a bad server certificate"
like "$d1" "^[^|]*\|[^|]*\|$CURLV refused httpeek's certificate .* nothing from this device has been intercepted yet" \
    "a device with no intercepted traffic: the app is named and the CA is the likely cause"
d2=$(diag_of 127.0.0.2 2)
like "$d2" "^[^|]*\|[^|]*\|$CURLV refused .* yet it had sent 2 requests through httpeek's certificates: it pins|$CURLV refused .* Other apps' traffic from this device" \
    "a device whose traffic is intercepted: the claim is about the app (pins, or its own trust store)"
note=$(api "$W/api/flows" | jq_py "[f['note'] for f in d if f['client'] == '127.0.0.1'][-1]")
like "$note" "passed through.*automatic passthrough: this device refused" \
    "the untouched tunnel's flow says why: this device refused"

pt=$(api "$W/api/passthrough")
is "$(echo "$pt" | jq_py "[(a['client'], a['host'], a['rejections']) for a in d['auto']]")" \
    "[('127.0.0.1', 'api.alias.test', 3)]" "GET /api/passthrough: one entry, for device .1 and api.alias.test"
is "$(echo "$pt" | jq_py "d['auto'][0]['expires'] - d['auto'][0]['since']")" 1800 \
    "the entry expires after 30 minutes by default"
is "$(echo "$pt" | jq_py "d['builtin']['enabled'], '*.apple.com' in d['builtin']['globs']")" "True True" \
    "the built-in list is listed and on"

is "$(api -o /dev/null -w '%{http_code}' -X DELETE -H 'Origin: http://evil.example' \
    "$W/api/passthrough/127.0.0.1/api.alias.test")" 403 "DELETE from another origin is refused"
is "$(api -o /dev/null -w '%{http_code}' -X DELETE "$W/api/passthrough/127.0.0.2/api.alias.test")" 404 \
    "DELETE of an entry another device does not have: 404"
is "$(api -o /dev/null -w '%{http_code}' -X DELETE "$W/api/passthrough/127.0.0.1/api.alias.test")" 204 \
    "DELETE /api/passthrough/{client}/{host}: resume interception"
is "$(api "$W/api/passthrough" | jq_py "len(d['auto'])")" 0 "the entry is gone"
refuse 127.0.0.1 api.alias.test
isnt "$?" 0 "device .1 is intercepted again after Resume interception"
stop_httpeek

# ---- expiry, and the end of an entry once the device trusts the CA ---------------------------
start_httpeek --upstream-ca "$PKI/ca.pem" --auto-passthrough 2 --auto-passthrough-ttl 2
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
refuse 127.0.0.1 api.alias.test; refuse 127.0.0.1 api.alias.test
refuse 127.0.0.1 api.alias.test
is "$?" 0 "ttl 2 s: passed through right after the refusals"
sleep 2.2
refuse 127.0.0.1 api.alias.test
isnt "$?" 0 "after the ttl the host is intercepted again for that device"

refuse 127.0.0.3 api.alias.test; refuse 127.0.0.3 api.alias.test
is "$(api "$W/api/passthrough" | jq_py "[a['client'] for a in d['auto']]")" "['127.0.0.3']" \
    "device .3 (no trusted traffic yet) is on passthrough"
is "$(trusted 127.0.0.3 other.alias.test)" 200 "device .3 then trusts the CA (a request to another host)"
is "$(api "$W/api/passthrough" | jq_py "[a['client'] for a in d['auto']]")" "[]" \
    "its entry ends: the refusals were an untrusted CA, not pinning"
stop_httpeek

# ---- the built-in list ----------------------------------------------------------------------
start_httpeek --upstream-ca "$PKI/ca.pem"
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
CURL_MAX_TIME=10 pcurl -k -o /dev/null "https://gateway.push.apple.com:$UP/bytes/10" 2>/dev/null
wait_grep "CONNECT gateway.push.apple.com" "$HTTPEEK_LOG" 5
like "$(grep 'CONNECT gateway.push.apple.com' "$HTTPEEK_LOG")" "TUNNEL.*built-in passthrough" \
    "Apple push is passed through by the built-in list"
stop_httpeek
start_httpeek --insecure --no-default-passthrough
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"
is "$(api "$W/api/passthrough" | jq_py "d['builtin']['enabled']")" False "--no-default-passthrough: listed as off"
CURL_MAX_TIME=10 pcurl -k -o /dev/null "https://gateway.push.apple.com:$UP/bytes/10" 2>/dev/null
wait_grep "gateway.push.apple.com" "$HTTPEEK_LOG" 5
like "$(grep 'gateway.push.apple.com' "$HTTPEEK_LOG" | head -n 1)" "GET https://gateway.push.apple.com" \
    "--no-default-passthrough intercepts it"
stop_httpeek
done_testing
