#!/usr/bin/env bash
# 51-links.sh — flows linked to each other when a detail is read (issue 16, src/links.c): a 304
# to the response it revalidates (ETag and Last-Modified, same device only) and back; a playlist
# to the listed variants and segments that then failed (with an "hls" warning), and a segment to
# the playlist that listed it. Silent where nothing links: a playlist whose URIs all loaded, a
# failed segment no playlist lists, a 304 from a device that never fetched the full response.
source "$(dirname "$0")/lib.sh"

pf="$T/appsrv.port"
spawn appsrv 300 "$PYTHON" "$E2E_DIR/appsrv.py" --port-file "$pf"
wait_file "$pf" 10 || { echo "Bail out! appsrv.py did not start: $(cat "$T/appsrv.err")"; exit 1; }
P=$(cat "$pf")
start_dns
start_httpeek
WEB="http://127.0.0.1:$HTTPEEK_WEB_PORT"
U="http://127.0.0.1:$P"

get() { pcurl -o /dev/null "$@"; }
get "$U/live/master.m3u8"                 # 1
get "$U/live/v1/index.m3u8"               # 2
get "$U/live/v2/index.m3u8"               # 3: 404, a variant of 1
get "$U/keys/k.key"                       # 4: the key of 2
get "$U/live/v1/s0.ts"                    # 5
get "$U/live/v1/s1.ts?sig=abc"            # 6: 404, a segment of 2
get "$U/live/v1/orphan.ts"                # 7: 404, listed nowhere
get "$U/live/good.m3u8"                   # 8: its one URI (5) loaded
get "$U/api/etag"                         # 9
get -H 'If-None-Match: "v1"' "$U/api/etag"   # 10: 304 of 9
get -H 'If-None-Match: "v1"' "$U/api/etag"   # 11: 304 of 9 again
get --interface 127.0.0.2 -H 'If-None-Match: "v1"' "$U/api/etag" # 12: another device
get "$U/api/lm"                           # 13
get -H 'If-Modified-Since: Tue, 01 Dec 2026 10:00:00 GMT' "$U/api/lm" # 14: 304 of 13
get -H 'If-Modified-Since: Mon, 30 Nov 2026 10:00:00 GMT' "$U/api/lm" # 15: 200, the date differs
wait_flows "$WEB" 15
for id in $(seq 1 15); do api "$WEB/api/flows/$id"; echo; done >"$T/details.jsonl"

out=$(py '
import json, sys
for line in filter(str.strip, open(sys.argv[1])):
    d = json.loads(line)
    links = " ".join("%s:%s:%s" % (l["rel"], l["flow"], l["status"]) for l in d.get("links", []))
    hls = [w for w in d.get("warnings", []) if w["kind"] == "hls"]
    w = " || ".join("%s|%s|%s|%s|%s" % (x["code"], x["name"], x.get("domain", "-"), x.get("flow"), x["detail"]) for x in hls)
    print("%d\t%s\t%s\t%s" % (d["id"], d.get("status"), links, w))
' "$T/details.jsonl")
diag "$out"
row() { awk -F'\t' -v id="$1" '$1 == id' <<<"$out"; }
links() { row "$1" | cut -f3; }
hlsw() { row "$1" | cut -f4; }

is "$(row 1 | cut -f2) $(row 3 | cut -f2) $(row 6 | cut -f2) $(row 10 | cut -f2) $(row 14 | cut -f2) $(row 15 | cut -f2)" \
    "200 404 404 304 304 200" "the server answered as planned"
is "$(links 1)" "hls-failed:3:404" "master playlist: linked to its variant that failed (404), not to the one that loaded"
like "$(hlsw 1)" "^-12938\|HTTP 404: File Not Found\|CoreMediaErrorDomain\|3\|1 of the playlist's 2 URIs failed.*$U/live/v2/index.m3u8, in flow #3 \(HTTP 404\)" \
    "master playlist: an hls warning names the failed variant, its flow, and the player's error (CoreMedia -12938 for a 404)"
is "$(links 2)" "hls-failed:6:404 hls-playlist:1:200" "media playlist: its failed segment (query kept) and the master that listed it"
like "$(hlsw 2)" "1 of the playlist's 3 URIs failed.*s1.ts\?sig=abc, in flow #6" "media playlist: the warning counts the key URI too"
is "$(links 3)" "hls-playlist:1:200" "failed variant: linked to the master playlist that listed it"
is "$(links 4)" "hls-playlist:2:200" "key: linked to the playlist whose EXT-X-KEY URI names it (../../ resolved)"
is "$(links 5)" "hls-playlist:2:200" "segment: linked to the nearest playlist that lists it, not the later one"
is "$(links 6)" "hls-playlist:2:200" "failed segment: linked to its playlist"
is "$(links 7)" "" "a failed segment no playlist lists: no link"
is "$(links 8)$(hlsw 8)" "" "a playlist whose URIs all loaded: no link, no hls warning"
is "$(links 9)" "revalidated-by:10:304 revalidated-by:11:304" "ETag response: linked to the two 304s of this device that revalidated it"
is "$(links 10)" "revalidates:9:200" "304 (If-None-Match): linked to the response it revalidates"
is "$(links 11)" "revalidates:9:200" "a second 304: the same response"
is "$(links 12)" "revalidates:None:0" "304 from a device that never fetched the response: not in this session"
is "$(links 13)" "revalidated-by:14:304" "Last-Modified response: linked to its 304"
is "$(links 14)" "revalidates:13:200" "304 (If-Modified-Since): linked to the response it revalidates"
is "$(links 15)" "" "a conditional request answered 200 links nothing"

# ---- the viewer: Related flows in the detail pane, a link opens the other flow ----------------
NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "Related flows in the viewer" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
else
    ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
    mkdir -p "$ART" 2>/dev/null || ART=$T
    out=$(VIEWER="$WEB/" PLAYLIST=2 SEGMENT=6 SCREENSHOT=$ART/51-links.png HOME=$T \
          timeout -k 5 60 "$NODE" "$JS/viewer-links.js" 2>&1)
    node_tap "$out"
fi
done_testing
