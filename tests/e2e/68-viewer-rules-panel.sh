#!/usr/bin/env bash
# 68-viewer-rules-panel.sh — the viewer's Rules panel (web/rules.js) in headless Chromium
# (tests/js/viewer-rules-panel.js) while curl traffic flows through httpeek: rules added,
# disabled and deleted from the panel take effect on the next request; the empty state, the
# throttle indicator and the throttled flow's "throttle" waterfall bar, a 412 from a concurrent
# edit, rewrite rules added and edited through the form (then seen applied by curl), an
# iPhone-size layout. Screenshots go to build/meson-logs (68-rules-*.png).
source "$(dirname "$0")/lib.sh"
header_of() { grep -i "^$1:" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

start_dns blk.test=127.0.0.1 slow.test=127.0.0.1 other.test=127.0.0.1 rw.test=127.0.0.1
start_upstream; P=$UPSTREAM_PORT
start_httpeek
NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "the Rules panel" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
    done_testing
    exit 0
fi
ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
mkdir -p "$ART" 2>/dev/null || ART=$T

# traffic all along: a request to blk.test every 0.1 s, its status noted in order
( while :; do pcurl -s -o /dev/null -w '%{http_code}\n' "http://blk.test:$P/bytes/10?loop" >>"$T/loop.codes"; sleep 0.1; done ) &
LOOP=$!
_PIDS+=("$LOOP")

out=$(VIEWER="http://127.0.0.1:$HTTPEEK_WEB_PORT/" PROXY="127.0.0.1:$HTTPEEK_PORT" \
      TARGET="http://blk.test:$P/bytes/10" ART=$ART HOME=$T timeout -k 5 90 "$NODE" "$JS/viewer-rules-panel.js" 2>&1)
node_tap "$out"
kill "$LOOP" 2>/dev/null; wait "$LOOP" 2>/dev/null
seq=$(uniq <"$T/loop.codes" | tr '\n' ' ')
like "$seq" "^200 .*403 .*200" "the curl loop saw its requests pass, blocked by the panel's rule, then pass again ($seq)"
# the rewrite rules the form made, applied to curl's requests too
is "$(pcurl -sS -D - -o /dev/null "http://rw.test:$P/bytes/10" | header_of x-panel)" "edited" \
    "curl: the response header the panel's rewrite rule set (as edited)"
is "$(pcurl -sS "http://rw.test:$P/echo/curl" --data-binary '{"plan": "free", "n": 1}' | jq_py 'd["plan"]')" "pro" \
    "curl: the server got the JSON field the panel's rewrite rule set"
done_testing
