#!/usr/bin/env bash
# 87-viewer-breakpoints.sh — the viewer's Breakpoints panel (web/breakpoints.js) in headless
# Chromium (tests/js/viewer-breakpoints.js) with curl as the app: pause, edit and execute a
# request; abort a response as -1005; a pause left until curl gives up (-1001). Screenshots go to
# build/meson-logs (87-breakpoint-*.png).
source "$(dirname "$0")/lib.sh"

start_dns upstream.test=127.0.0.1
start_upstream; UP=$UPSTREAM_PORT
start_httpeek
NODE=$(command -v node || true)
JS=$REPO_ROOT/tests/js
if [ -z "$NODE" ] || [ ! -f "$JS/node_modules/playwright-core/package.json" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    skip "the Breakpoints panel" "node, tests/js/node_modules or chromium missing (./scripts/deps.sh --test)"
    done_testing
    exit 0
fi
ART=${VIEWER_ARTIFACTS:-$(dirname "$HTTPEEK")/meson-logs}
mkdir -p "$ART" 2>/dev/null || ART=$T
out=$(VIEWER="http://127.0.0.1:$HTTPEEK_WEB_PORT/" PROXY="127.0.0.1:$HTTPEEK_PORT" \
      BASE="http://upstream.test:$UP" ART=$ART HOME=$T timeout -k 5 90 "$NODE" "$JS/viewer-breakpoints.js" 2>&1)
node_tap "$out"
done_testing
