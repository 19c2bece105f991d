/* flow_words.c — see flow_words.h. OpenSSL's error strings are "error:XXXXXXXX:lib:func:reason";
 * the packed code carries the library and the reason number, and a TLS alert the peer sent is
 * reason SSL_AD_REASON_OFFSET + the alert number (RFC 8446 §6), so the wording goes by numbers,
 * not by OpenSSL's text (which changes between versions). */
#include "flow_words.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <event2/util.h>

/* ---- OpenSSL errors ---- */

/* The SSL library reason of an error string ("error:0A000418:..." -> 1048), or 0. */
static int ssl_reason(const char *error)
{
    if (strncmp(error, "error:", 6))
        return 0;
    char *end;
    unsigned long code = strtoul(error + 6, &end, 16);
    if (end == error + 6 || *end != ':' || ERR_GET_LIB(code) != ERR_LIB_SSL)
        return 0;
    return ERR_GET_REASON(code);
}

/* What an alert number means, worded after "<peer> ..." (RFC 8446 §6.2, RFC 5246 §7.2), and the
 * alert's own name when the words do not already say it. */
static const struct {
    int alert;
    const char *words, *name;
} alerts[] = {
    {10, "sent an unexpected message", NULL},
    {20, "could not check a record", "bad record MAC"},
    {40, "ended the handshake: no TLS settings in common", "handshake failure"},
    {42, "refused the certificate: bad certificate", NULL},
    {43, "refused the certificate: unsupported certificate", NULL},
    {44, "refused the certificate: certificate revoked", NULL},
    {45, "refused the certificate: certificate expired", NULL},
    {46, "refused the certificate: certificate unknown", NULL},
    {47, "found a bad value in the handshake", "illegal parameter"},
    {48, "refused the certificate: unknown CA", NULL},
    {49, "refused access", "access denied"},
    {50, "could not decode a handshake message", "decode error"},
    {51, "could not verify a signature or decrypt", "decrypt error"},
    {70, "refused the TLS version offered", "protocol version"},
    {71, "wants stronger ciphers", "insufficient security"},
    {80, "had an internal error", NULL},
    {86, "refused a downgraded retry", "inappropriate fallback"},
    {90, "cancelled the handshake", "user canceled"},
    {109, "is missing a required extension", NULL},
    {110, "got an extension it does not support", NULL},
    {112, "does not serve the name asked for", "unrecognized name"},
    {116, "requires a client certificate", "certificate required"},
    {120, "shares no application protocol", "no application protocol"},
};

static void tls_error_words(const struct flow_tls *t, int client_leg, char *out, size_t outlen);
static int alert_is(const char *alert, const char *name);

void flow_words_tls_error(const struct flow_tls *t, int client_leg, char *out, size_t outlen)
{
    tls_error_words(t, client_leg, out, outlen);
    if (outlen && out[0] && !client_leg && t->client_cert[0] && t->cert_requested &&
        t->verify_result == X509_V_OK &&
        !alert_is(t->alert_received, "protocol version")) /* as diagnose's -1205 */
        snprintf(out, outlen, "the server refused the client certificate httpeek sent (%s) and "
                 "ended the connection (%s)", t->client_cert,
                 t->alert_received[0] ? t->alert_received : "closed, no alert");
    else if (outlen && out[0] && !client_leg && t->cert_requested && !t->handshake_done &&
        t->verify_result == X509_V_OK &&
        !alert_is(t->alert_received, "protocol version")) /* as diagnose's -1206 */
        snprintf(out, outlen, "the server asked for a client certificate (CertificateRequest), "
                 "no --client-cert names this host, and it ended the handshake (%s)",
                 t->alert_received[0] ? t->alert_received : "closed, no alert");
}

static void tls_error_words(const struct flow_tls *t, int client_leg, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    if (!t->error[0])
        return;
    const char *peer = client_leg ? "the client" : "the server";
    if (!strcmp(t->error, "error:00000005:lib(0)::reason(5)")) {
        /* not an OpenSSL error: libevent records SSL_ERROR_SYSCALL (5) when the socket ended
         * under the handshake without one */
        snprintf(out, outlen, "%s closed the connection during the handshake, without a TLS alert", peer);
        return;
    }
    int reason = ssl_reason(t->error);
    if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
        int alert = reason - SSL_AD_REASON_OFFSET;
        for (size_t i = 0; i < sizeof alerts / sizeof *alerts; i++)
            if (alerts[i].alert == alert) {
                snprintf(out, outlen, "%s %s (%s%salert %d)", peer, alerts[i].words,
                         alerts[i].name ? alerts[i].name : "", alerts[i].name ? ", " : "", alert);
                return;
            }
        snprintf(out, outlen, "%s ended the handshake with TLS alert %d", peer, alert);
        return;
    }
    switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        if (client_leg)
            snprintf(out, outlen, "httpeek refused the client's certificate");
        else if (t->verify_error[0])
            snprintf(out, outlen, "httpeek refused the server's certificate: %s", t->verify_error);
        else
            snprintf(out, outlen, "httpeek refused the server's certificate");
        return;
    case SSL_R_WRONG_VERSION_NUMBER:
        snprintf(out, outlen, "%s did not speak TLS (wrong version number: plain HTTP on a TLS port?)", peer);
        return;
    case SSL_R_HTTP_REQUEST:
        snprintf(out, outlen, "%s sent plain HTTP where TLS was expected", peer);
        return;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        snprintf(out, outlen, "%s closed the connection in the middle of the handshake", peer);
        return;
    case SSL_R_NO_SHARED_CIPHER:
        snprintf(out, outlen, "no cipher suite in common with %s (no shared cipher)", peer);
        return;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_LOW:
        snprintf(out, outlen, "no TLS version in common with %s (unsupported protocol)", peer);
        return;
    case SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED:
        snprintf(out, outlen, "%s does not support secure renegotiation (RFC 5746), which OpenSSL 3 "
                 "requires", peer);
        return;
    case SSL_R_DH_KEY_TOO_SMALL:
        snprintf(out, outlen, "%s's Diffie-Hellman key is too small", peer);
        return;
    case SSL_R_PACKET_LENGTH_TOO_LONG:
        snprintf(out, outlen, "%s sent something that is not a TLS record", peer);
        return;
    }
    /* anything else: OpenSSL's own reason text, without the code and library */
    const char *why = strrchr(t->error, ':');
    snprintf(out, outlen, "TLS failed: %s", why && why[1] ? why + 1 : t->error);
}

/* ---- short reasons ---- */

static int alert_is(const char *alert, const char *name) { return !strcasecmp(alert, name); }

/* The leaf's own dates against the flow's start (not now: the words must not change later). */
static void bad_date(const struct flow *f, char *out, size_t outlen)
{
    const struct flow_tls *t = f->tls_upstream;
    struct tm tm;
    char day[16];
    memset(&tm, 0, sizeof tm);
    time_t na = 0;
    if (t->peer_not_after[0] && strptime(t->peer_not_after, "%Y-%m-%dT%H:%M:%SZ", &tm))
        na = timegm(&tm);
    if (t->verify_result == X509_V_ERR_CERT_HAS_EXPIRED) {
        snprintf(day, sizeof day, "%.10s", t->peer_not_after);
        if (na && na < f->started.tv_sec)
            snprintf(out, outlen, "expired %s", day);
        else
            snprintf(out, outlen, "expired CA certificate");
    } else {
        snprintf(day, sizeof day, "%.10s", t->peer_not_before);
        memset(&tm, 0, sizeof tm);
        if (t->peer_not_before[0] && strptime(t->peer_not_before, "%Y-%m-%dT%H:%M:%SZ", &tm) &&
            timegm(&tm) > f->started.tv_sec)
            snprintf(out, outlen, "not valid until %s", day);
        else
            snprintf(out, outlen, "CA certificate not yet valid");
    }
}

static void upstream_tls(const struct flow *f, char *out, size_t outlen)
{
    const struct flow_tls *t = f->tls_upstream;
    const char *w = NULL;
    switch (t->verify_result) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        bad_date(f, out, outlen);
        return;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: w = "self-signed"; break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: w = "unknown CA"; break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: w = "name mismatch"; break;
    case X509_V_ERR_CERT_REVOKED: w = "certificate revoked"; break;
    case X509_V_ERR_INVALID_PURPOSE: w = "not a server certificate"; break;
    default: w = "bad certificate"; break;
    }
    if (!w && f->fail.timeout)
        w = "timed out (TLS)";
    if (!w && t->client_cert[0] && t->cert_requested &&
        !alert_is(t->alert_received, "protocol version"))
        w = "client certificate refused"; /* one was sent (--client-cert): not that one */
    if (!w && t->cert_requested && !alert_is(t->alert_received, "protocol version"))
        w = "client certificate required"; /* TLS 1.2: the CertificateRequest says it */
    if (!w && t->alert_received[0]) {
        const char *a = t->alert_received;
        w = alert_is(a, "certificate required") ? "client certificate required"
            : alert_is(a, "protocol version") ? "TLS version"
            : alert_is(a, "unrecognized name") ? "unknown server name"
            : alert_is(a, "handshake failure") || alert_is(a, "insufficient security")
                ? "TLS handshake refused"
            : alert_is(a, "bad certificate") || alert_is(a, "unknown CA") ||
                    alert_is(a, "certificate unknown")
                ? "client certificate refused"
                : NULL;
        if (!w) {
            snprintf(out, outlen, "TLS alert: %s", a);
            return;
        }
    }
    if (!w) {
        switch (ssl_reason(t->error)) {
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG: w = "not TLS"; break;
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
        case SSL_R_VERSION_TOO_LOW: w = "TLS version"; break;
        case SSL_R_NO_SHARED_CIPHER: w = "no shared cipher"; break;
        case SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED: w = "legacy renegotiation"; break;
        case SSL_R_DH_KEY_TOO_SMALL: w = "weak DH key"; break;
        default:
            w = f->fail.sys_errno == ECONNRESET ? "reset by server" : "server closed early";
        }
    }
    snprintf(out, outlen, "%s", w);
}

/* Who ended an exchange that had started (send, wait, receive, tunnel). */
static const char *exchange_words(const struct flow_failure *x)
{
    if (!strcmp(x->closed_by, "client"))
        return "client gave up";
    if (x->parse_error)
        return "bad response";
    if (x->sys_errno == ECONNRESET || x->sys_errno == EPIPE)
        return "reset by server";
    return NULL;
}

void flow_words_reason_short(const struct flow *f, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    const struct flow_failure *x = &f->fail;
    const char *w = NULL;
    if (!x->failed) {
        if (f->no_request_after_tls)
            snprintf(out, outlen, "no request after TLS");
        return;
    }
    switch (x->stage) {
    case FLOW_STAGE_CLIENT_REQUEST:
        w = x->refusal == FLOW_REFUSED_NOT_PROXY ? "not a proxy request"
            : x->refusal == FLOW_REFUSED_UNSUPPORTED ? "unsupported request"
            : x->refusal == FLOW_REFUSED_BAD_TARGET ? "malformed URL"
            : x->refusal == FLOW_REFUSED_NO_PAGE ? "no such page"
            : x->refusal == FLOW_REFUSED_BUSY ? "too many connections"
            : x->refusal == FLOW_REFUSED_CLIENT_BUSY ? "too many connections from client"
            : x->timeout || x->sys_errno == ETIMEDOUT ? "timed out (request)"
            : x->refusal == FLOW_REFUSED_MISDIRECTED ? "misdirected request"
            : x->status_sent == 414 ? "URL too long"
            : x->status_sent == 431 ? "headers too large"
            : x->status_sent == 413 ? "body too large"
            : x->status_sent == 403 ? "not allowed"
            : x->parse_error ? "bad request"
            : x->status_sent == 400 || x->status_sent == 501 ? "unsupported request"
            : "client gave up";
        break;
    case FLOW_STAGE_DNS:
        /* a temporary failure that was not a timeout: no DNS server could be asked at all */
        w = x->timeout && x->dns_error != EVUTIL_EAI_NONAME ? "timed out (DNS)"
            : x->dns_error == EVUTIL_EAI_AGAIN              ? "no DNS server answered"
                                                            : "no such host";
        break;
    case FLOW_STAGE_CONNECT:
        w = x->timeout || x->sys_errno == ETIMEDOUT ? "timed out (connect)"
            : x->sys_errno == ECONNREFUSED ? "connection refused"
            : x->sys_errno == ENETUNREACH || x->sys_errno == EHOSTUNREACH ? "unreachable"
            : x->sys_errno == ECONNRESET ? "reset by server"
            : x->sys_errno == ENOMEM ? "out of memory"
            : "connect failed";
        break;
    case FLOW_STAGE_UPSTREAM_TLS:
        if (x->timeout && f->tls_upstream->verify_result == X509_V_OK) {
            w = "timed out (TLS)";
            break;
        }
        upstream_tls(f, out, outlen);
        return;
    case FLOW_STAGE_CLIENT_TLS:
        w = x->timeout ? "timed out (client TLS)"
            : f->tls_client->alert_received[0] ? "client refused certificate"
            : ssl_reason(f->tls_client->error) == SSL_R_WRONG_VERSION_NUMBER ||
                      ssl_reason(f->tls_client->error) == SSL_R_HTTP_REQUEST
                ? "client spoke no TLS"
            : !f->tls_client->leaf[0] ? "no certificate for the name"
            : "client closed during TLS";
        break;
    case FLOW_STAGE_SEND:
        w = x->timeout ? "timed out (send)" : exchange_words(x);
        if (!w)
            w = "server closed early";
        break;
    case FLOW_STAGE_WAIT:
        w = x->timeout ? "timed out (response)" : exchange_words(x);
        if (!w)
            w = "server closed early";
        break;
    case FLOW_STAGE_RECEIVE:
        w = x->timeout ? "timed out (body)" : exchange_words(x);
        if (!w)
            w = "cut off mid-body";
        break;
    case FLOW_STAGE_TUNNEL:
        w = x->timeout ? "timed out (tunnel)"
            : !strcmp(x->closed_by, "client") ? "client closed" : "tunnel reset";
        break;
    default:
        w = x->status_sent == 504 ? "timed out"
            : x->status_sent >= 500 ? "proxy error" : "failed";
        break;
    }
    snprintf(out, outlen, "%s", w);
}

int flow_words_failed_before_tls(const struct flow *f)
{
    return f->kind == FLOW_TUNNEL && f->fail.failed && !f->tls_client->present &&
           (f->fail.stage == FLOW_STAGE_DNS || f->fail.stage == FLOW_STAGE_CONNECT ||
            f->fail.stage == FLOW_STAGE_UPSTREAM_TLS);
}
