/* test_flow_words.c — the plain words for a flow's facts, row by row: OpenSSL's error strings
 * (made by OpenSSL itself from the packed codes, as tls_facts_take_error stores them) worded for
 * each leg; the short reason of every kind of failure; failed_before_tls. And the mirror plan
 * (mirror.c) for each verify result: which leaf, which dates and names it copies, its sentence. */
#include "../../src/flow_words.c"
#include "../../src/mirror.c"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include "tap.h"

/* OpenSSL's own string for an SSL library reason, as stored in flow_tls.error. */
static const char *ssl_error(int reason)
{
    static char buf[256];
    ERR_error_string_n(ERR_PACK(ERR_LIB_SSL, 0, reason), buf, sizeof buf);
    return buf;
}

static void words(const char *error, const char *verify_error, int client_leg, const char *want,
                  const char *name)
{
    struct flow_tls t;
    memset(&t, 0, sizeof t);
    snprintf(t.error, sizeof t.error, "%s", error);
    snprintf(t.verify_error, sizeof t.verify_error, "%s", verify_error);
    char out[300];
    flow_words_tls_error(&t, client_leg, out, sizeof out);
    is_str(out, want, name);
}

static void test_tls_error(void)
{
    struct flow_tls ct;
    memset(&ct, 0, sizeof ct);
    snprintf(ct.error, sizeof ct.error, "%s", ssl_error(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE));
    snprintf(ct.alert_received, sizeof ct.alert_received, "handshake failure");
    ct.cert_requested = 1;
    char cto[300];
    flow_words_tls_error(&ct, 0, cto, sizeof cto);
    is_str(cto, "the server asked for a client certificate (CertificateRequest), no "
                "--client-cert names this host, and it ended the handshake (handshake failure)",
           "TLS 1.2 server asked for a client certificate, then handshake_failure: said so");
    snprintf(ct.client_cert, sizeof ct.client_cert, "CN=app user");
    flow_words_tls_error(&ct, 0, cto, sizeof cto);
    is_str(cto, "the server refused the client certificate httpeek sent (CN=app user) and ended "
                "the connection (handshake failure)",
           "a --client-cert certificate sent, then handshake_failure: refused, named");
    ct.client_cert[0] = '\0';
    words(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), "", 1,
          "the client refused the certificate: unknown CA (alert 48)", "alert unknown ca (client leg)");
    is_str(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), "error:0A000418:SSL routines::tlsv1 alert unknown ca",
           "the string wording starts from is OpenSSL's own");
    words(ssl_error(SSL_R_SSLV3_ALERT_BAD_CERTIFICATE), "", 1,
          "the client refused the certificate: bad certificate (alert 42)", "alert bad certificate");
    words(ssl_error(SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN), "", 1,
          "the client refused the certificate: certificate unknown (alert 46)", "alert certificate unknown");
    words(ssl_error(SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED), "", 1,
          "the client refused the certificate: certificate expired (alert 45)", "alert certificate expired");
    words(ssl_error(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE), "", 0,
          "the server ended the handshake: no TLS settings in common (handshake failure, alert 40)",
          "alert handshake failure (server leg)");
    words(ssl_error(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION), "", 0,
          "the server refused the TLS version offered (protocol version, alert 70)", "alert protocol version");
    words(ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), "", 0,
          "the server requires a client certificate (certificate required, alert 116)",
          "alert certificate required (TLS 1.3)");
    words("error:0A000460:SSL routines::reason(1120)", "", 0,
          "the server shares no application protocol (no application protocol, alert 120)",
          "an alert OpenSSL 3.0 has no text for, by its number");
    words("error:0A0004B3:SSL routines::reason(1203)", "", 1, "the client ended the handshake with TLS alert 203",
          "an alert nobody named: its number");
    words(ssl_error(SSL_R_WRONG_VERSION_NUMBER), "", 0,
          "the server did not speak TLS (wrong version number: plain HTTP on a TLS port?)", "wrong version number");
    words(ssl_error(SSL_R_UNEXPECTED_EOF_WHILE_READING), "", 1,
          "the client closed the connection in the middle of the handshake", "unexpected eof");
    words(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), "certificate has expired", 0,
          "httpeek refused the server's certificate: certificate has expired", "certificate verify failed");
    words(ssl_error(SSL_R_NO_SHARED_CIPHER), "", 1, "no cipher suite in common with the client (no shared cipher)",
          "no shared cipher");
    words(ssl_error(SSL_R_UNSUPPORTED_PROTOCOL), "", 0, "no TLS version in common with the server (unsupported protocol)",
          "unsupported protocol");
    words(ssl_error(SSL_R_HTTP_REQUEST), "", 1, "the client sent plain HTTP where TLS was expected", "http request");
    words(ssl_error(SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED), "", 0,
          "the server does not support secure renegotiation (RFC 5746), which OpenSSL 3 requires",
          "unsafe legacy renegotiation");
    words(ssl_error(SSL_R_BAD_KEY_SHARE), "", 0, "TLS failed: bad key share", "anything else: OpenSSL's reason text");
    words("error:00000005:lib(0)::reason(5)", "", 1,
          "the client closed the connection during the handshake, without a TLS alert",
          "libevent's SSL_ERROR_SYSCALL (the socket ended under the handshake)");
    words("", "", 0, "", "no error: no words");
    words("not an OpenSSL error", "", 0, "TLS failed: not an OpenSSL error", "not OpenSSL's shape: said as it is");
}

/* A failed flow at stage with errno err, started now. */
static struct flow *failed(enum flow_kind kind, enum flow_stage stage, int err)
{
    struct flow *f = flow_new(1, 1, 16);
    f->kind = kind;
    flow_fail(f, stage, err, "whatever the reason line says");
    return f;
}

static void is_short(struct flow *f, const char *want, const char *name)
{
    char out[64];
    flow_words_reason_short(f, out, sizeof out);
    is_str(out, want, name);
    flow_free(f);
}

static struct flow *upstream_cert(long verify, const char *not_before, const char *not_after)
{
    struct flow *f = failed(FLOW_TUNNEL, FLOW_STAGE_UPSTREAM_TLS, 0);
    flow_tls_edit(f, 1)->present = 1;
    flow_tls_edit(f, 1)->verify_result = verify;
    snprintf(flow_tls_edit(f, 1)->peer_not_before, sizeof flow_tls_edit(f, 1)->peer_not_before, "%s", not_before);
    snprintf(flow_tls_edit(f, 1)->peer_not_after, sizeof flow_tls_edit(f, 1)->peer_not_after, "%s", not_after);
    return f;
}

static void test_reason_short(void)
{
    struct flow *f = flow_new(1, 1, 16);
    is_short(f, "", "a flow that worked: no words");
    f = flow_new(1, 1, 16);
    f->no_request_after_tls = 1;
    is_short(f, "no request after TLS", "TLS then nothing (pinning)");

    is_short(upstream_cert(X509_V_ERR_CERT_HAS_EXPIRED, "2024-01-01T00:00:00Z", "2024-04-01T12:00:00Z"),
             "expired 2024-04-01", "expired");
    is_short(upstream_cert(X509_V_ERR_CERT_HAS_EXPIRED, "2024-01-01T00:00:00Z", "2099-04-01T12:00:00Z"),
             "expired CA certificate", "expired, but the leaf is in date: a CA certificate expired");
    is_short(upstream_cert(X509_V_ERR_CERT_NOT_YET_VALID, "2099-01-01T00:00:00Z", "2100-01-01T00:00:00Z"),
             "not valid until 2099-01-01", "not yet valid");
    is_short(upstream_cert(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "", ""), "self-signed", "self-signed");
    is_short(upstream_cert(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "", ""), "unknown CA", "untrusted root sent");
    is_short(upstream_cert(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "", ""), "unknown CA", "unknown issuer");
    is_short(upstream_cert(X509_V_ERR_HOSTNAME_MISMATCH, "", ""), "name mismatch", "name mismatch");
    is_short(upstream_cert(X509_V_ERR_IP_ADDRESS_MISMATCH, "", ""), "name mismatch", "IP address mismatch");
    is_short(upstream_cert(X509_V_ERR_CERT_REVOKED, "", ""), "certificate revoked", "revoked");
    is_short(upstream_cert(X509_V_ERR_CERT_SIGNATURE_FAILURE, "", ""), "bad certificate", "other verify errors");

    f = upstream_cert(0, "", "");
    f->fail.timeout = 1;
    is_short(f, "timed out (TLS)", "TLS handshake timed out");
    f = upstream_cert(0, "", "");
    snprintf(flow_tls_edit(f, 1)->alert_received, sizeof flow_tls_edit(f, 1)->alert_received, "protocol version");
    is_short(f, "TLS version", "server refused the TLS version");
    f = upstream_cert(0, "", "");
    snprintf(flow_tls_edit(f, 1)->alert_received, sizeof flow_tls_edit(f, 1)->alert_received, "certificate required");
    is_short(f, "client certificate required", "mutual TLS");
    f = upstream_cert(0, "", "");
    snprintf(flow_tls_edit(f, 1)->alert_received, sizeof flow_tls_edit(f, 1)->alert_received, "handshake failure");
    is_short(f, "TLS handshake refused", "server sent handshake failure");
    f = upstream_cert(0, "", "");
    snprintf(flow_tls_edit(f, 1)->alert_received, sizeof flow_tls_edit(f, 1)->alert_received, "decode error");
    is_short(f, "TLS alert: decode error", "another alert: named");
    f = upstream_cert(0, "", "");
    snprintf(flow_tls_edit(f, 1)->error, sizeof flow_tls_edit(f, 1)->error, "%s", ssl_error(SSL_R_WRONG_VERSION_NUMBER));
    is_short(f, "not TLS", "server does not speak TLS");
    f = upstream_cert(0, "", "");
    snprintf(flow_tls_edit(f, 1)->error, sizeof flow_tls_edit(f, 1)->error, "%s", ssl_error(SSL_R_UNSUPPORTED_PROTOCOL));
    is_short(f, "TLS version", "no TLS version in common");
    f = upstream_cert(0, "", "");
    f->fail.sys_errno = ECONNRESET;
    is_short(f, "reset by server", "reset during the TLS handshake");
    is_short(upstream_cert(0, "", ""), "server closed early", "closed during the TLS handshake");

    struct flow *dns = failed(FLOW_TUNNEL, FLOW_STAGE_DNS, 0);
    dns->fail.dns_error = EVUTIL_EAI_NONAME;
    is_short(dns, "no such host", "no such host");
    dns = failed(FLOW_TUNNEL, FLOW_STAGE_DNS, 0);
    dns->fail.timeout = 1;
    dns->fail.dns_error = EVUTIL_EAI_AGAIN;
    is_short(dns, "timed out (DNS)", "resolver timed out");
    is_short(failed(FLOW_TUNNEL, FLOW_STAGE_CONNECT, ECONNREFUSED), "connection refused", "refused");
    is_short(failed(FLOW_TUNNEL, FLOW_STAGE_CONNECT, ETIMEDOUT), "timed out (connect)", "connect timed out");
    is_short(failed(FLOW_TUNNEL, FLOW_STAGE_CONNECT, EHOSTUNREACH), "unreachable", "unreachable");
    struct flow *ct = failed(FLOW_TUNNEL, FLOW_STAGE_CONNECT, 0);
    ct->fail.timeout = 1;
    is_short(ct, "timed out (connect)", "connect deadline");

    struct flow *ct2 = failed(FLOW_TUNNEL, FLOW_STAGE_CLIENT_TLS, 0);
    flow_tls_edit(ct2, 0)->present = 1;
    snprintf(flow_tls_edit(ct2, 0)->leaf, sizeof flow_tls_edit(ct2, 0)->leaf, "minted");
    snprintf(flow_tls_edit(ct2, 0)->alert_received, sizeof flow_tls_edit(ct2, 0)->alert_received, "unknown CA");
    is_short(ct2, "client refused certificate", "client refused httpeek's certificate");
    ct2 = failed(FLOW_TUNNEL, FLOW_STAGE_CLIENT_TLS, 0);
    flow_tls_edit(ct2, 0)->present = 1;
    snprintf(flow_tls_edit(ct2, 0)->leaf, sizeof flow_tls_edit(ct2, 0)->leaf, "minted");
    is_short(ct2, "client closed during TLS", "client closed during the handshake");
    ct2 = failed(FLOW_TUNNEL, FLOW_STAGE_CLIENT_TLS, 0);
    ct2->fail.timeout = 1;
    is_short(ct2, "timed out (client TLS)", "client handshake timed out");

    struct flow *w = failed(FLOW_HTTP, FLOW_STAGE_WAIT, 0);
    w->fail.timeout = 1;
    is_short(w, "timed out (response)", "no response in time");
    w = failed(FLOW_HTTP, FLOW_STAGE_WAIT, 0);
    strcpy(w->fail.closed_by, "server");
    is_short(w, "server closed early", "server closed without a response");
    is_short(failed(FLOW_HTTP, FLOW_STAGE_WAIT, ECONNRESET), "reset by server", "server reset");
    w = failed(FLOW_HTTP, FLOW_STAGE_WAIT, 0);
    w->fail.parse_error = "HPE_INVALID_CONSTANT";
    is_short(w, "bad response", "garbage instead of a response");
    w = failed(FLOW_HTTP, FLOW_STAGE_WAIT, 0);
    strcpy(w->fail.closed_by, "client");
    is_short(w, "client gave up", "client went away while waiting");
    is_short(failed(FLOW_HTTP, FLOW_STAGE_RECEIVE, 0), "cut off mid-body", "closed in the middle of the body");
    struct flow *rq = failed(FLOW_HTTP, FLOW_STAGE_CLIENT_REQUEST, 0);
    rq->fail.status_sent = 431;
    is_short(rq, "headers too large", "request head over the limit");
    rq = failed(FLOW_HTTP, FLOW_STAGE_CLIENT_REQUEST, 0);
    rq->fail.parse_error = "HPE_INVALID_METHOD";
    is_short(rq, "bad request", "unparsable request");
    rq = failed(FLOW_HTTP, FLOW_STAGE_CLIENT_REQUEST, 0);
    rq->fail.timeout = 1;
    is_short(rq, "timed out (request)", "request head too slow");
}

static void test_failed_before_tls(void)
{
    struct flow *f = failed(FLOW_TUNNEL, FLOW_STAGE_CONNECT, ECONNREFUSED);
    ok(flow_words_failed_before_tls(f), "CONNECT refused: failed before TLS");
    flow_free(f);
    f = failed(FLOW_TUNNEL, FLOW_STAGE_DNS, 0);
    ok(flow_words_failed_before_tls(f), "CONNECT to an unknown name: failed before TLS");
    flow_free(f);
    f = upstream_cert(0, "", "");
    ok(flow_words_failed_before_tls(f), "upstream TLS failed, the client closed unshaken: failed before TLS");
    flow_tls_edit(f, 0)->present = 1;
    ok(!flow_words_failed_before_tls(f), "upstream certificate mirrored to the client: not before TLS");
    flow_free(f);
    f = failed(FLOW_HTTP, FLOW_STAGE_CONNECT, ECONNREFUSED);
    ok(!flow_words_failed_before_tls(f), "a plain HTTP request (no CONNECT): never");
    flow_free(f);
    f = failed(FLOW_TUNNEL, FLOW_STAGE_CLIENT_TLS, 0);
    ok(!flow_words_failed_before_tls(f), "client TLS failed: not before TLS");
    flow_free(f);
    f = flow_new(1, 1, 16);
    f->kind = FLOW_TUNNEL;
    ok(!flow_words_failed_before_tls(f), "a tunnel that worked: no");
    flow_free(f);
}

static void plan(long verify, const char *names, const char *nb, const char *na, struct mirror_plan *p)
{
    struct flow_tls up;
    memset(&up, 0, sizeof up);
    up.verify_result = verify;
    snprintf(up.verify_error, sizeof up.verify_error, "%s", X509_verify_cert_error_string(verify));
    snprintf(up.peer_names, sizeof up.peer_names, "%s", names);
    snprintf(up.peer_not_before, sizeof up.peer_not_before, "%s", nb);
    snprintf(up.peer_not_after, sizeof up.peer_not_after, "%s", na);
    mirror_plan(&up, "api.shop.test", mirror_parse_time("2026-06-01T00:00:00Z"), p);
}

static void test_mirror(void)
{
    struct mirror_plan p;
    is_int(mirror_parse_time("2024-04-01T00:00:00Z"), 1711929600, "ISO dates are read as UTC");
    is_int(mirror_parse_time("2024-04-01"), 0, "anything else is 0");
    plan(X509_V_ERR_CERT_HAS_EXPIRED, "api.shop.test", "2024-01-01T00:00:00Z", "2024-04-01T00:00:00Z", &p);
    ok(p.leaf == MIRROR_DATES && p.spec.not_before == 1704067200 && p.spec.not_after == 1711929600 &&
           !p.spec.names, "expired: httpeek's CA, the server's dates, the usual name");
    is_str(p.reason, "The server's certificate expired on 2024-04-01, so the app was shown a certificate "
           "from httpeek's CA with the same dates: it fails the same way it would without httpeek.",
           "expired: the sentence");
    plan(X509_V_ERR_CERT_NOT_YET_VALID, "api.shop.test", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", &p);
    ok(p.leaf == MIRROR_DATES && strstr(p.reason, "is not valid until 2027-01-01"), "not yet valid: dates");
    plan(X509_V_ERR_CERT_HAS_EXPIRED, "api.shop.test", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", &p);
    ok(p.leaf == MIRROR_UNTRUSTED && p.send_chain, "expired, but not the leaf (a CA certificate): untrusted CA");
    plan(X509_V_ERR_HOSTNAME_MISMATCH, "www.shop.test, *.cdn.test, 10.0.0.1 (+3 more)", "2026-01-01T00:00:00Z",
         "2027-01-01T00:00:00Z", &p);
    ok(p.leaf == MIRROR_NAMES && p.spec.nnames == 3 && !strcmp(p.names[0], "www.shop.test") &&
           !strcmp(p.names[1], "*.cdn.test") && !strcmp(p.names[2], "10.0.0.1") && !p.spec.not_after,
       "name mismatch: the server's names only (%zu), dates the usual", p.spec.nnames);
    is_str(p.reason, "The server's certificate is for www.shop.test, *.cdn.test, 10.0.0.1 (+3 more), not "
           "api.shop.test, so the app was shown a certificate from httpeek's CA with the same names: it "
           "fails the same way it would without httpeek.", "name mismatch: the sentence");
    plan(X509_V_ERR_HOSTNAME_MISMATCH, "www.shop.test", "2024-01-01T00:00:00Z", "2024-04-01T00:00:00Z", &p);
    ok(p.leaf == MIRROR_NAMES && p.spec.nnames == 1 && p.spec.not_after == 1711929600 &&
           strstr(p.reason, "and expired on 2024-04-01, so") && strstr(p.reason, "same names and dates"),
       "name mismatch and expired: both copied");
    plan(X509_V_ERR_HOSTNAME_MISMATCH, "", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", &p);
    ok(p.leaf == MIRROR_NAMES && p.spec.names && p.spec.nnames == 0, "a certificate without names: a leaf without names");
    plan(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "api.shop.test", "", "", &p);
    ok(p.leaf == MIRROR_UNTRUSTED && p.send_chain && strstr(p.reason, "(self-signed certificate)") &&
           strstr(p.reason, "a CA nobody trusts"), "self-signed: the untrusted CA, sent");
    plan(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "api.shop.test", "", "", &p);
    ok(p.leaf == MIRROR_UNTRUSTED && !p.send_chain, "unknown issuer: the untrusted CA's leaf without the CA");
    plan(X509_V_ERR_CERT_REVOKED, "api.shop.test", "", "", &p);
    ok(p.leaf == MIRROR_UNTRUSTED && p.send_chain, "anything else: the untrusted CA");
    is_str(mirror_leaf_name(MIRROR_NAMES), "mirror_names", "kind names as the flow JSON has them");
}

int main(void)
{
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
    test_tls_error();
    test_reason_short();
    test_failed_before_tls();
    test_mirror();
    return done();
}
