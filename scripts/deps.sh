#!/usr/bin/env bash
# scripts/deps.sh [--test] — install the Debian 12 packages httpeek needs to
# build (and, with --test, to run its tests), but only those that are missing.
# Safe to run again and again: with everything present it changes nothing and
# never touches the network.
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config gcc libssl-dev libevent-dev node-llhttp
    zlib1g-dev libsqlite3-dev libjansson-dev libbrotli-dev libqrencode-dev libnghttp2-dev)
# clang + libclang-rt-14-dev: the libFuzzer targets (tests/fuzz, short runs in test.sh)
# nghttp2-client (nghttp) and nginx: HTTP/2 peers; tshark: decrypting captures with the key log
test_pkgs=(curl openssl ca-certificates nodejs chromium clang libclang-rt-14-dev nghttp2-client
    nginx tshark)

want=("${build_pkgs[@]}")
case "${1:-}" in
    --test) want+=("${test_pkgs[@]}") ;;
    "") ;;
    -h|--help) echo "usage: $0 [--test]"; exit 0 ;;
    *) echo "deps.sh: unknown option '$1' (usage: $0 [--test])" >&2; exit 2 ;;
esac

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${want[@]}"; do
    installed "$p" || missing+=("$p")
done
# any python3 on PATH will do (a pyenv python is fine); else the Debian one
if [ "${1:-}" = --test ] && ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3)
fi

# npm ships inside some nodejs builds (NodeSource); Debian splits it out
if [ "${1:-}" = --test ] && ! command -v npm >/dev/null 2>&1 && ! installed nodejs; then
    missing+=(npm)
elif [ "${1:-}" = --test ] && ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

install_js() {
    # test-only JavaScript tools (har-validator, playwright-core, ws), pinned by the lockfile;
    # installed again when the lockfile is newer than what npm last installed
    local js
    js="$(cd "$(dirname "$0")/.." && pwd)/tests/js"
    if [ "${1:-}" = --test ] && { [ ! -f "$js/node_modules/.package-lock.json" ] ||
            [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; }; then
        (cd "$js" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    fi
}

if [ ${#missing[@]} -eq 0 ]; then
    install_js "${1:-}"
    exit 0
fi

echo "deps.sh: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q </dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
install_js "${1:-}"
