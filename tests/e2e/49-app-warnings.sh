#!/usr/bin/env bash
# 49-app-warnings.sh — requests that worked at the network level but that the app's networking
# layer still fails (issue 16): a JSON call answered by an HTML 502, JSON served as text/plain,
# broken JSON (with the byte offset), an empty 200 JSON body, a body labelled gzip that is not,
# an HLS playlist with unsupported and cleartext lines, cleartext to a .local host; and the
# URLCache notes (a max-age response, a no-store one, a 304 revalidation). Each is checked on
# the terminal line, in /api/flows/{id} `warnings` and in HAR `_warnings`; a valid JSON API, a
# real gzip body and a good playlist get nothing.
source "$(dirname "$0")/lib.sh"

start_dns mybox.local=127.0.0.1
pf="$T/appsrv.port"
spawn appsrv 300 "$PYTHON" "$E2E_DIR/appsrv.py" --port-file "$pf"
wait_file "$pf" 10 || { echo "Bail out! appsrv.py did not start: $(cat "$T/appsrv.err")"; exit 1; }
P=$(cat "$pf")
start_httpeek
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
U="http://127.0.0.1:$P"

J=(-H 'Accept: application/json')
for p in down ok broken empty fakegzip gz cached nostore etag; do
    pcurl -o /dev/null "${J[@]}" "$U/api/$p"
done
pcurl -o /dev/null "$U/api/plain" # no Accept: the body alone says it is JSON
pcurl -o /dev/null -H 'If-None-Match: "v1"' "$U/api/etag"
pcurl -o /dev/null "$U/media/playlist.m3u8"
pcurl -o /dev/null "${J[@]}" "http://mybox.local:$P/api/ok"
wait_flows "$WEB" 13
sleep 0.3

line() { grep -F " $1 " "$HTTPEEK_LOG" | head -n "${2:-1}" | tail -n 1; }
like "$(line "$U/api/down")" "502 .*\[-1011 status\] \[-1016 content-type\]" "terminal: HTML 502 to a JSON call marked status and content-type"
unlike "$(line "$U/api/ok")" "\[" "terminal: a valid JSON API has no mark"
like "$(line "$U/api/plain")" "200 .*\[-1016 content-type\]" "terminal: JSON served as text/plain marked content-type"
like "$(line "$U/api/broken")" "200 .*\[3840 decode\]" "terminal: broken JSON marked 3840 decode"
like "$(line "$U/api/empty")" "200 .*\[3840 decode\]" "terminal: empty 200 JSON marked 3840 decode"
like "$(line "$U/api/fakegzip")" "200 .*\[-1015 decode\]" "terminal: gzip label on plain bytes marked -1015 decode"
unlike "$(line "$U/api/gz")" "\[" "terminal: a real gzip JSON body has no mark"
unlike "$(line "$U/api/cached")" "\[" "terminal: cache notes are not marked on the line"
like "$(line "$U/media/playlist.m3u8")" "\[-1002 hls\] \[-1022 hls\]" "terminal: playlist marked -1002 and -1022 hls"
like "$(line "http://mybox.local:$P/api/ok")" "200 .*\[-1022 local-network\]" "terminal: cleartext to a .local host marked local-network"
unlike "$(line "http://mybox.local:$P/api/ok")" "ATS -1022" "terminal: …and not as the arbitrary-loads ATS warning"

# /api/flows/{id} warnings and summaries, HAR _warnings: the same facts
api "$WEB/api/flows" >"$T/flows.json"
api "$WEB/api/har" >"$T/har.json"
for id in $(seq 1 13); do api "$WEB/api/flows/$id"; echo; done >"$T/details.jsonl"
out=$(py '
import json, sys
T = sys.argv[1]
flows = json.load(open(T + "/flows.json"))
details = {d["id"]: d for d in map(json.loads, open(T + "/details.jsonl"))}
har = json.load(open(T + "/har.json"))["log"]["entries"]
def key(url):
    return url.split("://", 1)[1].split("/", 1)[1] + ("@local" if "mybox.local" in url else "")
byurl = {}
for f in flows:
    byurl.setdefault(key(f["url"]), []).append(f)
harby = {}
for e in har:
    harby.setdefault(key(e["request"]["url"]), []).append(e)
def w(path, n=0, kind=None):
    d = details[byurl[path][n]["id"]]
    ws = d.get("warnings", [])
    return [x for x in ws if kind is None or x["kind"] == kind]
def hw(path, n=0, kind=None):
    return [x for x in harby[path][n].get("_warnings", []) if kind is None or x["kind"] == kind]
def show(label, ws):
    print(label + "\t" + " || ".join("%s|%s|%s|%s|%s|%s|%s" % (x["code"], x["name"], x["kind"], x.get("domain", "-"), x["stage"], x["title"], x["detail"]) for x in ws))
show("down", w("api/down"))
show("down-har", hw("api/down"))
show("ok", w("api/ok"))
show("ok-har", hw("api/ok"))
show("plain", w("api/plain"))
show("broken", w("api/broken"))
show("broken-har", hw("api/broken"))
show("empty", w("api/empty"))
show("fakegzip", w("api/fakegzip"))
show("gz", w("api/gz"))
show("cached", w("api/cached"))
show("nostore", w("api/nostore"))
show("etag1", w("api/etag", 0))
show("etag304", w("api/etag", 1))
show("hls", w("media/playlist.m3u8"))
show("hls-har", hw("media/playlist.m3u8"))
show("local", w("api/ok@local"))
show("local-har", hw("api/ok@local"))
s = byurl["api/down"][0]
print("sum-down\t%s %s %s" % (s["warn_code"], ",".join(s["warn_kinds"]), ",".join(map(str, s["warn_codes"]))))
s = byurl["api/cached"][0]
print("sum-cached\t%s %s [%s]" % (s["warn_code"], ",".join(s["warn_kinds"]), ",".join(map(str, s["warn_codes"]))))
' "$T")
get() { grep -P "^$1\t" <<<"$out" | cut -f2-; }
diag "$out"
like "$(get down)" "^-1011\|NSURLErrorBadServerResponse\|status\|AFURLResponseSerializationErrorDomain\|response\|.*Request failed: bad gateway \(502\)" "API: 502 status warning, AFNetworking's words, its domain, stage response"
like "$(get down)" "-1016\|NSURLErrorCannotDecodeContentData\|content-type\|AFURLResponseSerializationErrorDomain\|response\|.*accepts application/json; the response \(502\) is text/html.*unacceptable content-type: text/html" "API: content-type warning names Accept and the HTML type"
is "$(get down-har)" "$(get down)" "HAR _warnings carry the same entries as the API"
is "$(get ok)" "" "API: a valid JSON API answering JSON has no warnings"
is "$(get ok-har)" "" "HAR: …and no _warnings"
like "$(get plain)" "^-1016\|.*\|content-type\|AFURLResponseSerializationErrorDomain\|.*served as text/plain" "API: JSON as text/plain is a content-type warning"
like "$(get broken)" "^3840\|NSPropertyListReadCorruptError\|decode\|NSCocoaErrorDomain\|response\|.*breaks at byte 14 \(line 1, column 15, at '}'\).*Invalid value around character 14" "API: broken JSON: 3840 in NSCocoaErrorDomain with the byte offset"
is "$(get broken-har)" "$(get broken)" "HAR: the broken JSON warning"
like "$(get empty)" "^3840\|.*\|decode\|NSCocoaErrorDomain\|.*inputDataNilOrZeroLength" "API: empty 200 JSON names Alamofire's inputDataNilOrZeroLength"
like "$(get fakegzip)" "^-1015\|NSURLErrorCannotDecodeRawData\|decode\|-\|receive\|.*Content-Encoding: gzip" "API: gzip label on plain bytes is -1015 in NSURLErrorDomain (no domain)"
is "$(get gz)" "" "API: a real gzip JSON body has no warnings"
like "$(get cached)" "^0\|URLCache\|cache\|-\|response\|.*fresh for 60 min \(max-age\)" "API: a max-age response gets a cache note (code 0): fresh for 60 min"
like "$(get nostore)" "^0\|URLCache\|cache\|.*Not stored \(no-store\)" "API: a no-store response: not stored"
like "$(get etag1)" "^0\|URLCache\|cache\|.*no-cache: URLCache revalidates" "API: ETag + no-cache: revalidated before each use"
like "$(get etag304)" "^0\|URLCache\|cache\|.*Conditional request \(If-None-Match: \"v1\"\).*304 Not Modified" "API: the conditional request and its 304 are marked"
like "$(get hls)" "^-1002\|NSURLErrorUnsupportedURL\|hls\|-\|response\|.*2 of the playlist's 5 URIs.*line 11.*ftp://cdn.example.com/seg3.ts" "API: playlist -1002 counts the bad lines and names the first"
like "$(get hls)" "-1022\|NSURLErrorAppTransportSecurityRequiresSecureConnection\|hls\|.*line 9.*http://cdn.example.com/seg2.ts" "API: playlist -1022 names the cleartext line"
is "$(get hls-har)" "$(get hls)" "HAR: the playlist warnings"
like "$(get local)" "^-1022\|NSURLErrorAppTransportSecurityRequiresSecureConnection\|local-network\|-\|request\|.*mybox.local, a local-network host" "API: cleartext to .local is a local-network -1022"
is "$(get local-har)" "$(get local)" "HAR: the local-network warning"
is "$(get sum-down)" "-1011 status,content-type -1011,-1016" "summary: warn_code, warn_kinds and warn_codes"
is "$(get sum-cached)" "0 cache []" "summary: a cache note alone leaves warn_code 0 and warn_codes empty"
fix=$(py 'import json,sys; print([w["fix"] for w in json.load(sys.stdin)["warnings"] if w["kind"]=="local-network"][0])' \
    < <(api "$WEB/api/flows/$(py 'import json,sys; print([f["id"] for f in json.load(sys.stdin) if "mybox.local" in f["url"]][0])' <"$T/flows.json")"))
like "$fix" "NSAllowsLocalNetworking = YES" "local-network fix: NSAllowsLocalNetworking"
unlike "$fix" "NSAllowsArbitraryLoads = YES" "local-network fix: not the arbitrary-loads exception"
done_testing
