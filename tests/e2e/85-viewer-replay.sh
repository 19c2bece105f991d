#!/usr/bin/env bash
# 85-viewer-replay.sh — Repeat, Repeat…, Edit and resend and New request in the viewer
# (web/compose.js), in headless Chromium (tests/js/viewer-repeat.js, viewer-compose.js) with curl
# flows through httpeek and a real upstream; the upstream's log confirms what it received.
# Screenshots go to build/meson-logs (85-*.png).
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1 tun.test=127.0.0.1
start_upstream; P=$UPSTREAM_PORT; UPLOG=$T/upstream$_UP_N.err
start_upstream --mode echo --quiet; ECHOP=$UPSTREAM_PORT
start_httpeek --passthrough tun.test
NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "Repeat and compose in the viewer" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
    done_testing
    exit 0
fi
ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
mkdir -p "$ART" 2>/dev/null || ART=$T
W="http://127.0.0.1:$HTTPEEK_WEB_PORT"

pcurl -o /dev/null "http://upstream.test:$P/bytes/10?r=view"
pcurl -o /dev/null "http://upstream.test:$P/headers?from=curl" -H 'X-Token: old'
# an opaque tunnel (passthrough): no request to repeat
printf 'ping\n' | pcurl -s --max-time 2 -p -o /dev/null "telnet://tun.test:$ECHOP" 2>/dev/null
wait_flows "$W" 3

out=$(VIEWER="$W/" ART=$ART HOME=$T timeout -k 5 90 "$NODE" "$JS/viewer-repeat.js" 2>&1)
node_tap "$out"
is "$(grep -c 'GET /bytes/10?r=view' "$UPLOG")" 22 "the upstream received the request 22 times (curl, Repeat, Repeat… x20)"

out=$(VIEWER="$W/" ECHO="http://upstream.test:$P/echo" HEADERS="http://upstream.test:$P/headers" ART=$ART HOME=$T \
      timeout -k 5 90 "$NODE" "$JS/viewer-compose.js" 2>&1)
node_tap "$out"
is "$(grep -c 'POST /echo' "$UPLOG")" 1 "the upstream received the composed POST once"
done_testing
