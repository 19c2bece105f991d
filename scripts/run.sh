#!/usr/bin/env bash
# scripts/run.sh [httpeek options] — install missing build dependencies,
# configure and build into build/, then run the proxy with the given options.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build
exec build/httpeek "$@"
