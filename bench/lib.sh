# bench/lib.sh — set-up shared by bench/run.sh, tail.sh, syscalls.sh and callgrind.sh (sourced, never run):
# helpers, httpeek's release build, the test PKI, nginx as the local upstream and the loopback
# DNS server. The caller provides $W (its work directory, mode 755), the PIDS array (the EXIT
# trap kills what is in it), $BENCH_DIR (bench/) and, for the nginx and DNS steps, $ROOT (the
# checkout).

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# bench_workdir NAME: $W (/tmp/httpeek-NAME.XXXXXX, mode 755: nginx's workers read it), the PIDS
# array, and the EXIT trap that stops what PIDS holds (TERM, then KILL) and removes $W unless
# KEEP=1. For the scripts whose clean-up is only that (bench/callgrind.sh has its own).
bench_workdir() {
    W=$(mktemp -d "/tmp/httpeek-$1.XXXXXX") || exit 1
    chmod 755 "$W"
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
bench_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}

# free_port: a free port below the kernel's ephemeral range (as tests/e2e/lib.sh picks them): a
# bind(0) port can be taken by any outgoing connection (the load generator's) before the server
# binds it.
free_port() {
    python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(10000, lo) if lo > 11000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(s.getsockname()[1])
    break
PY
}
wait_port() {   # wait_port PORT [SECONDS]
    local i
    for ((i = 0; i < ${2:-10} * 20; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
kv() {  # kv KEY LINE: the value of KEY=... in a loadgen output line
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

# build_httpeek BUILD_DIR SOURCE_DIR: httpeek, release buildtype (meson set-up once per directory)
build_httpeek() {
    if [ ! -f "$1/build.ninja" ]; then
        meson setup "$1" "$2" -Dbuildtype=release >"$W/meson.log" 2>&1 ||
            die "meson setup failed: $W/meson.log"
    fi
    timeout 900 ninja -C "$1" httpeek >"$W/ninja.log" 2>&1 || die "httpeek does not build: $(tail -5 "$W/ninja.log")"
}

# build_loadgen OUT: bench/loadgen.c and its --h2 mode (bench/loadgen_h2.c, libnghttp2)
build_loadgen() {
    [ -f /usr/include/nghttp2/nghttp2.h ] || die "libnghttp2-dev is needed (apt-get install libnghttp2-dev)"
    cc -O2 -Wall -Wextra -o "$1" "$BENCH_DIR/loadgen.c" "$BENCH_DIR/loadgen_h2.c" \
        -lssl -lcrypto -lnghttp2 -lpthread || die "loadgen does not build"
}

# bench_pki: a test CA and a leaf for bench.test, *.bench.test and 127.0.0.1 in $W
bench_pki() {
    (
        set -e
        cd "$W"
        openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
        openssl req -x509 -new -key ca.key -sha256 -days 7 -subj "/CN=httpeek bench root" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" -out ca.pem 2>/dev/null
        openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
        openssl req -new -key server.key -subj "/CN=bench.test" -out server.csr 2>/dev/null
        cat >server.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=DNS:bench.test,DNS:*.bench.test,IP:127.0.0.1
EOF
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 -sha256 \
            -extfile server.ext -out server.pem 2>/dev/null
    )
}

# bench_nginx: Debian's nginx with its own config on 127.0.0.1 (root $W/www: 1k and 10m): sets
# TLS_PORT (HTTP/1.1 and h2 by ALPN: loadgen's HTTP/1.1 mode offers http/1.1 only, so it gets
# HTTP/1.1 as before; keepalive_requests bounds h2 connections too, so none ends mid-run),
# PLAIN_PORT and SHORT_PORT (TLS, idle keep-alive connections closed after 2 s)
bench_nginx() {
    NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
    [ -x "$NGINX" ] || die "nginx is needed (apt-get install nginx)"
    mkdir -p "$W/www" "$W/nginx"
    head -c 1024 /dev/urandom >"$W/www/1k"
    head -c $((10 * 1024 * 1024)) /dev/urandom >"$W/www/10m"
    chmod -R a+rX "$W/www"
    TLS_PORT=$(free_port)
    PLAIN_PORT=$(free_port)
    SHORT_PORT=$(free_port)   # TLS, closes idle keep-alive connections after 2 s (bench/scale.sh)
    cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile 65536;
user root root;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 32768; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    types { application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $W/server.pem;
    ssl_certificate_key $W/server.key;
    server {
        listen 127.0.0.1:$TLS_PORT ssl http2;
        listen 127.0.0.1:$PLAIN_PORT;
        server_name _;
        root $W/www;
    }
    server {
        listen 127.0.0.1:$SHORT_PORT ssl;
        server_name _;
        root $W/www;
        keepalive_timeout 2s;
    }
}
EOF
    log "nginx on 127.0.0.1:$TLS_PORT (TLS), :$PLAIN_PORT (plain), :$SHORT_PORT (TLS, 2 s keep-alive)"
    "$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" >"$W/nginx/out.log" 2>&1 &
    PIDS+=($!)
    wait_port "$TLS_PORT" 10 && wait_port "$PLAIN_PORT" 10 && wait_port "$SHORT_PORT" 10 || die "nginx did not start: $(cat "$W/nginx/error.log" "$W/nginx/out.log")"
}

# bench_dns NAME=IP...: $W/hosts (for httpeek's --hosts) and tests/e2e/dns.py on loopback with
# the same names (for --dns: a name missing from the hosts file still never leaves the
# machine); sets DNS_PORT
bench_dns() {
    local n i
    for n in "$@"; do echo "${n#*=} ${n%%=*}"; done >"$W/hosts"
    python3 "$ROOT/tests/e2e/dns.py" --port 0 --port-file "$W/dns.port" "$@" >"$W/dns.log" 2>&1 &
    PIDS+=($!)
    for ((i = 0; i < 100; i++)); do [ -s "$W/dns.port" ] && break; sleep 0.05; done
    DNS_PORT=$(cat "$W/dns.port" 2>/dev/null) || die "dns.py did not start"
}
