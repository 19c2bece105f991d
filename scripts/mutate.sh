#!/usr/bin/env bash
# scripts/mutate.sh — does the suite catch the breakages it claims to? Each mutation below breaks
# one behaviour on purpose in a scratch copy of the tree (never this working tree), rebuilds it
# and runs the suites that promise that behaviour: a mutation is "caught" when one of them fails.
# Before any mutation, the same suites run unmutated and must pass (a red baseline would make
# every mutation look caught).
#
#   ./scripts/mutate.sh             every mutation
#   ./scripts/mutate.sh NAME...     only these (./scripts/mutate.sh --list names them)
#
# Prints one line per mutation and a summary; exits 1 when any mutation survived (or did not
# apply: an anchor that no longer matches the source is reported, never skipped silently).
# Slow (a build and several e2e tests per mutation): not part of .ci/run or scripts/test.sh.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# ---- the mutations -----------------------------------------------------------------------------
# Each is: NAME | TESTS (meson test names) | what it breaks; its edits are in mutate_NAME below,
# made with subst FILE OLD NEW, which fails unless OLD occurs exactly once.
MUTATIONS=(
    "store-skip-in-big-batch|store|the store silently skips 2 % of the flows, only in batches of 128 or more"
    "shutdown-no-store|48-shutdown 50-store-har|flows that finish after SIGTERM are printed but not stored"
    "verify-none|55-api 40-failures 20-connect-tls|any upstream certificate is accepted (SSL_VERIFY_NONE)"
    "verify-callback-ok|55-api 40-failures|a verify callback accepts every certificate (verify_result still says why it is bad)"
    "no-backpressure|76-upstream-faults|a full output buffer no longer stops reading from the other side"
    "drop-content-length|http1 10-http-proxy|forwarded heads lose Content-Length (the body is framed by nothing)"
    "wbuf-keeps-buffer|tls_wbuf|an idle TLS connection keeps its 64 KiB write buffer (tls_wbuf_release does nothing)"
    "acl-off|46-allow-client|clients outside --allow-client are served, CONNECT included (an open proxy)"
    "capture-ignores-budget|78-memory|body captures grow in memory whatever the memory budget says (they never spill)"
    "two-session-tickets|55-api|the client-facing TLS context sends two TLS 1.3 session tickets per handshake, not one"
    "idle-parser-keeps-scratch|http1_head session_size|an idle connection's HTTP/1 parser keeps its head scratch (http1_parser_release_scratch does nothing)"
    "cert-facts-per-process|peer_cert_facts 56-facts|a certificate without facts of its own reads the last ones kept (any certificate's), not its own"
    "store-int-not-rebound|store|an integer column kept from the row before is not bound again when its value changes"
    "ats-texts-not-put-back|flow_texts_golden 47-ats|the stored ats-cleartext warning is read back without its catalogue texts"
    "h2-mem-calloc-dirty|h2_mem|nghttp2's calloc hands out a small block without zeroing it (a reused block keeps its old bytes)"
    "h2-rx-not-reset|h2_client 57-http2-upstream|the h2 upstream's response-head buffer is not reset when a header block begins"
    # the facts the viewer and the HAR show per flow (docs/TESTING.md "facts shown")
    "reused-never|56-facts 57-http2-upstream|an HTTP/1 upstream connection that served earlier requests is shown as new"
    "h2-reused-always|57-http2-upstream|the first stream on a new HTTP/2 upstream connection is shown as reused"
    "client-leg-shows-upstream|56-facts 92-tls-suites|the client leg's TLS facts (version, cipher, ...) are the upstream leg's"
    "fs-no-ecdhe|56-facts 92-tls-suites|a TLS 1.2 ECDHE key exchange is shown without forward secrecy"
    "fs-rsa-kx|56-facts 92-tls-suites|a TLS 1.2 RSA key exchange is shown with forward secrecy"
    "resumed-client-never|55-api|the client leg's resumed session is shown as a full handshake"
    "cert-issuer-is-subject|peer_cert_facts 56-facts|the certificate issuer shown is the certificate's own subject"
    "cert-dates-swapped|peer_cert_facts 56-facts|the certificate's valid-from and valid-until are swapped"
    "cert-names-cn-only|peer_cert_facts 56-facts|the certificate names shown are its CN, never its subjectAltNames"
    "dns-connect-swapped|56-facts 50-store-har|timings: the DNS time is shown as connect and connect as DNS"
    "connect-without-ssl|55-api 56-facts|timings: connect no longer includes the TLS handshake (HAR: connect includes ssl)"
    "receive-includes-wait|56-facts 50-store-har|timings: receive counts from the request sent, not from the first byte (wait counted twice)"
    "har-time-counts-ssl|50-store-har|HAR entry time adds ssl on top of connect (that already includes it)"
    "har-content-size-wire|50-store-har|HAR content.size is the compressed size on the wire, not the decoded size"
    "expired-as-untrusted|diagnose 42-diagnosis 40-failures|an expired server certificate is diagnosed -1202 (untrusted), not -1201 (bad date)"
    "app-refusal-cancelled|diagnose 42-diagnosis|an app that refused httpeek's certificate with an alert is diagnosed -999 (cancelled), not -1202"
    "rule-id-of-previous|64-map-rules 45-rules 66-rewrite|a rule hit names the rule that the previous hit named, not its own"
    "ws-direction-swapped|53-websocket|HAR WebSocket messages: what the client sent is marked received and vice versa"
    # more facts shown per flow (round 2)
    "h2-upstream-sid-is-client-sid|61-http2-streams 57-http2-upstream|a flow's upstream HTTP/2 stream id is shown as the client's stream id"
    "h2-client-sid-always-1|61-http2-streams 54-http2|every HTTP/2 request is shown as the client's stream 1"
    "server-ip-reused-empty|55-api 56-facts 50-store-har|a request on a reused HTTP/1 upstream connection shows no server address"
    "har-no-server-ip|50-store-har|HAR entries lose serverIPAddress"
    "bytes-down-heads-only|56-facts 50-store-har|bytes_down counts the response head only, not its body"
    "bytes-up-heads-only|56-facts 50-store-har|bytes_up counts the request head only, not its body"
    "throttle-profile-is-rule-id|67-throttle throttle|a throttled flow names its rule's id as the profile, not the profile"
    "ws-closed-by-swapped|53-websocket|a WebSocket closed by the client is shown closed by the server and vice versa"
    "connect-timeout-cannot-connect|diagnose har_import 42-diagnosis 39-happy-eyeballs|a connect that httpeek timed out is diagnosed -1004 (cannot connect), not -1001 (timed out)"
    "dns-timeout-not-found|diagnose 42-diagnosis 38-resolve|a DNS lookup that timed out is diagnosed -1003 (host not found), not -1001"
    "bp-edit-not-marked|breakpoint 86-breakpoints|a request edited at a breakpoint is recorded as sent unedited"
    "bp-edited-url-not-recorded|breakpoint 86-breakpoints|a request whose URL was edited at a breakpoint shows the original URL, not the one sent"
    "resp-version-is-request|57-http2-upstream 54-http2|the response's HTTP version is the client leg's (h2 client, h1 upstream: shown HTTP/2)"
    "keylog-no-client-leg|80-keylog|the key log has no lines for the client-facing TLS sessions"
    "clients-one-app|clients 55-api|the clients panel counts every app of a device as its first app"
)

mutate_store-skip-in-big-batch() {
    subst src/store.c '        int rc = fault ? -1 : write_flow(s, f);' \
        '        int rc = fault ? -1 : n >= 128 && i % 50 == 7 ? 0 : write_flow(s, f); /* MUTANT */'
}
mutate_shutdown-no-store() {
    # the worker's stop event marks the shutdown; from then on the store writes nothing but still
    # prints the flows' terminal lines
    subst src/worker.c '    w->stopping = 1; /* no trim any more */' '    w->stopping = 1;
    extern int mutant_stopping;
    mutant_stopping = 1;' &&
    subst src/store.c 'static void write_batch(struct store *s, struct flow **fl, size_t n, size_t nold, int try)
{' 'int mutant_stopping;
static void write_batch(struct store *s, struct flow **fl, size_t n, size_t nold, int try)
{' &&
    subst src/store.c '        int rc = fault ? -1 : write_flow(s, f);' \
        '        int rc = fault || mutant_stopping ? -1 : write_flow(s, f);'
}
mutate_verify-none() {
    subst src/tls_client.c 'SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);' \
        'SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); (void)insecure;'
}
mutate_verify-callback-ok() {
    subst src/tls_client.c 'SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);' \
        'SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, mutant_accept_all);' &&
    subst src/tls_client.c 'SSL_CTX *tls_client_ctx_new(' \
        'static int mutant_accept_all(int ok, X509_STORE_CTX *x) { (void)ok; (void)x; return 1; }
SSL_CTX *tls_client_ctx_new('
}
mutate_no-backpressure() {
    subst src/leg.c '    if (evbuffer_get_length(bufferevent_get_output(dst->bev)) >= limit) {' \
        '    if (0) {'
}
mutate_drop-content-length() {
    subst src/http1.c '            if (!same_framing || framing == HTTP1_CHUNKED)
                continue;' '            continue;' &&
    subst src/http1.c '    } else if (framing == HTTP1_LENGTH && !same_framing) {' '    } else if (0) {'
}
mutate_wbuf-keeps-buffer() {
    subst src/tls_wbuf.c '    if (w && !w->len && w->buf) {' '    if (0) {'
}
mutate_acl-off() {
    subst src/worker.c '    if (!acl_allows(&w->proxy->allowed, addr)) {' '    if (0) {'
}
mutate_capture-ignores-budget() {
    subst src/capture.c '        if (ncap <= mem_max + (aligned ? CAPTURE_ALIGN : 0)) {
            took = !b || budget_take(b, ncap - cap->cap);' '        if (1) {
            took = 1;'
}
mutate_two-session-tickets() {
    subst src/tls_server.c '    SSL_CTX_set_num_tickets(ctx, 1);' '    SSL_CTX_set_num_tickets(ctx, 2);'
}
mutate_idle-parser-keeps-scratch() {
    subst src/http1_head.c '    if (p->in_body || h->buf_len || h->nspans || h->nfields)
        return;
    scratch_free(h);' '    if (p)
        return;
    scratch_free(h);'
}
mutate_cert-facts-per-process() {
    # the facts kept once per process instead of per X509 object: another certificate (a copy,
    # another upstream's) reads the last certificate's facts
    subst src/peer_cert_facts.c '    const struct kept *k = kept_index >= 0 ? X509_get_ex_data(cert, kept_index) : NULL;' \
        '    static const struct kept *mutant_last;
    const struct kept *k = kept_index >= 0 ? X509_get_ex_data(cert, kept_index) : NULL;
    if (!k)
        k = mutant_last;' &&
    subst src/peer_cert_facts.c '            made = NULL; /* kept: freed with the certificate */' \
        '            mutant_last = made, made = NULL;'
}
mutate_store-int-not-rebound() {
    subst src/store_row.c '    if ((s->kept_params & bit) && s->kept_int[i] == v)' '    if ((s->kept_params & bit))'
}
mutate_ats-texts-not-put-back() {
    subst src/flow_json.c '        if (!key)
            continue;
        json_object_del(w, "entry");' '        if (!key || !strcmp(key, "ats-cleartext"))
            continue;
        json_object_del(w, "entry");'
}
mutate_h2-mem-calloc-dirty() {
    subst src/h2_mem.c '    void *p = block_alloc(nmemb * size);
    if (p)
        memset(p, 0, nmemb * size);' '    void *p = block_alloc(nmemb * size);'
}
mutate_h2-rx-not-reset() {
    subst src/h2_client.c '    c->rx_st = st;
    message_head_reset(&c->rx);' '    c->rx_st = st;'
}

# ---- the facts shown per flow ----
mutate_reused-never() {
    subst src/exchange_request.c '        f->reused_upstream = u->exchanges > 0;' '        f->reused_upstream = 0;'
}
mutate_h2-reused-always() {
    subst src/exchange_request.c '        f->reused_upstream = uplink_h2_carried(u) > 0;' '        f->reused_upstream = 1;'
}
mutate_client-leg-shows-upstream() {
    # the facts of the other leg when it has any: what the viewer's "Client ↔ httpeek" shows
    subst src/flow_detail.c '    w_tls(w, "client", LP(w, f->tls_client), 1, LIVE(w) ? refs[0] : 0);' \
        '    w_tls(w, "client", LP(w, f->tls_upstream && f->tls_upstream->present ? f->tls_upstream : f->tls_client), 1, LIVE(w) ? refs[0] : 0);'
}
mutate_fs-no-ecdhe() {
    subst src/tls_facts.c '        facts->forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any ||' \
        '        facts->forward_secret = kx == NID_kx_dhe || kx == NID_kx_any ||'
}
mutate_fs-rsa-kx() {
    subst src/tls_facts.c '        facts->forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any ||' \
        '        facts->forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_rsa || kx == NID_kx_dhe || kx == NID_kx_any ||'
}
mutate_resumed-client-never() {
    subst src/tls_facts.c '    facts->resumed = SSL_session_reused(ssl);' \
        '    facts->resumed = !SSL_is_server(ssl) && SSL_session_reused(ssl);'
}
mutate_cert-issuer-is-subject() {
    subst src/peer_cert_facts.c '    name_oneline(X509_get_issuer_name(peer), facts->peer_issuer, sizeof facts->peer_issuer);' \
        '    name_oneline(X509_get_subject_name(peer), facts->peer_issuer, sizeof facts->peer_issuer);'
}
mutate_cert-dates-swapped() {
    subst src/peer_cert_facts.c '    if (ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm))' '    if (ASN1_TIME_to_tm(X509_get0_notBefore(peer), &tm))' &&
    subst src/peer_cert_facts.c '    if (ASN1_TIME_to_tm(X509_get0_notBefore(peer), &tm))
        strftime(facts->peer_not_before' '    if (ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm))
        strftime(facts->peer_not_before'
}
mutate_cert-names-cn-only() {
    subst src/peer_cert_facts.c '    if (!named) {' '    if (1) {'
}
mutate_dns-connect-swapped() {
    subst src/flow.c '    t->dns = span_ms(m->dns_start, m->dns_end);
    t->connect = span_ms(m->connect_start, m->connect_end);' '    t->connect = span_ms(m->dns_start, m->dns_end);
    t->dns = span_ms(m->connect_start, m->connect_end);'
}
mutate_connect-without-ssl() {
    subst src/flow.c '        t->connect += t->ssl;' '        (void)0;'
}
mutate_receive-includes-wait() {
    subst src/flow.c '    t->receive = span_ms(m->first_byte, end);' \
        '    t->receive = span_ms(m->send_end ? m->send_end : m->send_start, end);'
}
mutate_har-time-counts-ssl() {
    subst src/har.c '        if (v > 0 && i != 3) /* connect already includes ssl */' '        if (v > 0)'
}
mutate_har-content-size-wire() {
    subst src/har.c '    put(ct, "size", json_integer((json_int_t)len));' '    put(ct, "size", json_integer(wire));'
}
mutate_expired-as-untrusted() {
    subst src/diagnose.c '    case X509_V_ERR_CERT_HAS_EXPIRED: return NSURL_CERT_BAD_DATE;' \
        '    case X509_V_ERR_CERT_HAS_EXPIRED: return NSURL_CERT_UNTRUSTED;'
}
mutate_app-refusal-cancelled() {
    subst src/diagnose.c '               : f->tls_client->alert_received[0] ? NSURL_CERT_UNTRUSTED : NSURL_CANCELLED;' \
        '               : f->tls_client->alert_received[0] ? NSURL_CANCELLED : NSURL_CERT_UNTRUSTED;'
}
mutate_rule-id-of-previous() {
    # a "last rule" kept once per process instead of the hit's own: each hit names the one before
    subst src/flow.c '    snprintf(h->id, sizeof h->id, "%s", id);' '    static char mutant_last[sizeof h->id];
    snprintf(h->id, sizeof h->id, "%s", mutant_last[0] ? mutant_last : id);
    snprintf(mutant_last, sizeof mutant_last, "%s", id);'
}
mutate_ws-direction-swapped() {
    subst src/har_ws.c '    json_object_set_new(m, "type", json_string(from_client ? "send" : "receive"));' \
        '    json_object_set_new(m, "type", json_string(from_client ? "receive" : "send"));'
}

# ---- more facts shown per flow (round 2) ----
mutate_h2-upstream-sid-is-client-sid() {
    subst src/exchange_request.c '        f->h2_upstream_stream_id = u->sid;' '        f->h2_upstream_stream_id = f->h2_stream_id;'
}
mutate_h2-client-sid-always-1() {
    subst src/front_h2.c '    f->h2_stream_id = sid; /* a flow fact: the client'"'"'s stream */' '    f->h2_stream_id = 1;'
}
mutate_server-ip-reused-empty() {
    subst src/exchange_request.c '        f->reused_upstream = u->exchanges > 0;
        str_copy(f->server_ip, sizeof f->server_ip, u->server_ip);' '        f->reused_upstream = u->exchanges > 0;
        if (!f->reused_upstream) str_copy(f->server_ip, sizeof f->server_ip, u->server_ip);'
}
mutate_har-no-server-ip() {
    subst src/har.c '    if (*sget(d, "server_ip"))' '    if (0)'
}
mutate_bytes-down-heads-only() {
    subst src/flow.c '        f->bytes_down = (f->resp ? f->resp->wire_size : 0) + f->resp_body.total;' \
        '        f->bytes_down = (f->resp ? f->resp->wire_size : 0);'
}
mutate_bytes-up-heads-only() {
    subst src/flow.c '        f->bytes_up = (f->req ? f->req->wire_size : 0) + f->req_body.total;' \
        '        f->bytes_up = (f->req ? f->req->wire_size : 0);'
}
mutate_throttle-profile-is-rule-id() {
    subst src/throttle_apply.c '        str_copy(f->rules->throttle, sizeof f->rules->throttle, p->name);
        f->rules->throttled_ms = delay;' '        str_copy(f->rules->throttle, sizeof f->rules->throttle, r->id);
        f->rules->throttled_ms = delay;'
}
mutate_ws-closed-by-swapped() {
    subst src/ws_tap.c '        t->end.closed_by = m->from_client ? "client" : "server";' \
        '        t->end.closed_by = m->from_client ? "server" : "client";'
}
mutate_connect-timeout-cannot-connect() {
    subst src/diagnose.c '        code = x->timeout || x->sys_errno == ETIMEDOUT ? NSURL_TIMED_OUT : NSURL_CANNOT_CONNECT_TO_HOST;' \
        '        code = x->sys_errno == ETIMEDOUT ? NSURL_TIMED_OUT : NSURL_CANNOT_CONNECT_TO_HOST;'
}
mutate_dns-timeout-not-found() {
    subst src/diagnose.c '        code = x->timeout && x->dns_error != EVUTIL_EAI_NONAME ? NSURL_TIMED_OUT : NSURL_CANNOT_FIND_HOST;' \
        '        code = NSURL_CANNOT_FIND_HOST;'
}
mutate_bp-edit-not-marked() {
    subst src/breakpoint_apply.c '    record_pause(f, h, "execute", json_pack("{s:b, s:O}", "edited", 1, "original", h->original));' \
        '    record_pause(f, h, "execute", json_pack("{s:b, s:O}", "edited", 0, "original", h->original));'
}
mutate_bp-edited-url-not-recorded() {
    subst src/breakpoint_apply.c '            flow_set_url(f, url);' '            (void)0;'
}
mutate_resp-version-is-request() {
    subst src/flow_detail.c '        W_VERSION(w, "http_version", f->resp);' '        W_VERSION(w, "http_version", f->req ? f->req : f->resp);'
}
mutate_keylog-no-client-leg() {
    subst src/keylog.c '    if (!kl || kl->fd < 0)
        return;
    char buf[KEYLOG_LINE_MAX];' '    if (!kl || kl->fd < 0 || SSL_is_server(ssl))
        return;
    char buf[KEYLOG_LINE_MAX];'
}
mutate_clients-one-app() {
    subst src/clients.c '        if (!strcmp(c->apps[i].name, name))' '        if (1)'
}

# ---- machinery ---------------------------------------------------------------------------------
# subst FILE OLD NEW: replace the one occurrence of OLD in the scratch copy of FILE
subst() {
    python3 - "$SCRATCH/$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:4]
s = open(path).read()
n = s.count(old)
if n != 1:
    sys.exit("%s: the anchor occurs %d times (expected once): %r" % (path, n, old[:80]))
open(path, "w").write(s.replace(old, new))
PY
}

names=()
for m in "${MUTATIONS[@]}"; do names+=("${m%%|*}"); done
if [ "${1:-}" = --list ]; then
    for m in "${MUTATIONS[@]}"; do IFS='|' read -r n t d <<<"$m"; printf '%-24s %-40s %s\n' "$n" "$t" "$d"; done
    exit 0
fi
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${names[@]}")
for w in "${want[@]}"; do
    [[ " ${names[*]} " == *" $w "* ]] || { echo "mutate.sh: no mutation named $w (--list)" >&2; exit 2; }
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/httpeek-mutate.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
LOG=$SCRATCH/log
# the tree as it is now (uncommitted edits included), tracked files only; node_modules linked
(cd "$ROOT" && git ls-files -z | xargs -0 cp --parents -t "$SCRATCH") || exit 2
[ -d "$ROOT/tests/js/node_modules" ] && ln -s "$ROOT/tests/js/node_modules" "$SCRATCH/tests/js/node_modules"
mkdir -p "$SCRATCH/.orig"
(cd "$SCRATCH" && cp --parents -t .orig src/*.c src/*.h)

echo "# scratch copy in $SCRATCH; building"
if ! (cd "$SCRATCH" && meson setup build >"$LOG" 2>&1 && ninja -C build >>"$LOG" 2>&1); then
    tail -n 30 "$LOG"; echo "mutate.sh: the unmutated scratch copy does not build" >&2; exit 2
fi

# restore: every mutated source back as it was (copied, so ninja rebuilds just those)
restore() {
    local f
    for f in "$SCRATCH"/.orig/src/*; do
        cmp -s "$f" "$SCRATCH/src/${f##*/}" || cp "$f" "$SCRATCH/src/${f##*/}"
    done
}
tests_of() { local m; for m in "${MUTATIONS[@]}"; do [ "${m%%|*}" = "$1" ] && { IFS='|' read -r _ t _ <<<"$m"; echo "$t"; }; done; }
run_tests() { # run_tests TEST...: 0 when every one passes
    (cd "$SCRATCH" && meson test -C build --no-rebuild "$@" >"$LOG" 2>&1)
}

# failed_checks: each failed test of the last run, with how many of its checks failed and the first
# three of them (the evidence that a check names the behaviour the mutation broke)
failed_checks() {
    python3 - "$SCRATCH/build/meson-logs/testlog.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] in ("OK", "SKIP", "EXPECTEDFAIL"):
        continue
    bad = [l for l in t.get("stdout", "").splitlines() if l.startswith("not ok")]
    print("    %s: %s, %d failed check%s" % (t["name"].split(" / ")[-1], t["result"], len(bad), "" if len(bad) == 1 else "s"))
    for l in bad[:3]:
        print("        " + l[:150])
PY
}

all=()
for w in "${want[@]}"; do for t in $(tests_of "$w"); do [[ " ${all[*]} " == *" $t "* ]] || all+=("$t"); done; done
echo "# baseline (unmutated): ${all[*]}"
if ! run_tests "${all[@]}"; then
    failed_checks
    echo "mutate.sh: the suites fail without any mutation: fix that first" >&2
    exit 2
fi

caught=0 survived=0 broken=0
for w in "${want[@]}"; do
    restore
    read -r -a tests <<<"$(tests_of "$w")"
    if ! err=$("mutate_$w" 2>&1); then
        echo "NOT APPLIED  $w: $err"; broken=$((broken + 1)); continue
    fi
    if ! ninja -C "$SCRATCH/build" >"$LOG" 2>&1; then
        echo "NOT BUILT    $w: $(grep -m1 'error:' "$LOG")"; broken=$((broken + 1)); continue
    fi
    t0=$(date +%s)
    if run_tests "${tests[@]}"; then
        echo "SURVIVED     $w (${tests[*]} all passed, $(( $(date +%s) - t0 )) s)"
        survived=$((survived + 1))
    else
        echo "caught       $w ($(( $(date +%s) - t0 )) s) by:"
        failed_checks
        caught=$((caught + 1))
    fi
done
restore

echo "mutations: ${#want[@]}, caught $caught, survived $survived, not applied $broken"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ]
