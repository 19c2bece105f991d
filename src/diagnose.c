/* diagnose.c — see diagnose.h. The catalogue is data; diagnose_flow is a decision list over the
 * flow's raw facts, most specific first. Codes follow Foundation's NSURLError.h; the mapping of
 * TLS facts follows what URLSession reports for the same server behaviour. */
#include "diagnose.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/x509_vfy.h>
#include <event2/util.h>
#include "http1.h"
#include "useragent.h"
#include "warnings.h"

static const struct diagnose_entry catalogue[] = {
    {NSURL_CANCELLED, "NSURLErrorCancelled", "The app cancelled the request",
     "If the app gave up on purpose (navigation, a new search), nothing is wrong. If it closed "
     "right after a TLS handshake with httpeek, it is rejecting httpeek's certificate: install and "
     "fully trust the httpeek CA (iOS: Settings > General > About > Certificate Trust Settings), "
     "or, for certificate pinning (URLSession delegate, AFSecurityPolicy, TrustKit, Alamofire "
     "ServerTrustManager), disable pinning in debug builds or add httpeek to --passthrough.",
     "OkHttp: java.io.IOException: Canceled; pinning: javax.net.ssl.SSLPeerUnverifiedException: "
     "Certificate pinning failure (CertificatePinner)"},
    {NSURL_BAD_URL, "NSURLErrorBadURL", "The URL is malformed",
     "Build the URL with URLComponents (percent-encode the path and query) instead of string "
     "concatenation.", "java.lang.IllegalArgumentException: unexpected url"},
    {NSURL_TIMED_OUT, "NSURLErrorTimedOut", "The request timed out",
     "The server (or the DNS server) did not answer in time. Check it responds at all (curl -v), "
     "raise URLRequest.timeoutInterval / URLSessionConfiguration.timeoutIntervalForRequest for "
     "slow endpoints, or fix the server's slowness shown in the timings.",
     "java.net.SocketTimeoutException (OkHttp connectTimeout/readTimeout)"},
    {NSURL_UNSUPPORTED_URL, "NSURLErrorUnsupportedURL", "The URL scheme or target is not supported",
     "Use an http:// or https:// URL with a host; custom schemes are handled by the app, not the "
     "network stack.", "java.net.MalformedURLException / UnknownServiceException"},
    {NSURL_CANNOT_FIND_HOST, "NSURLErrorCannotFindHost", "The host name could not be resolved",
     "Check the host name for typos and that it exists in public DNS (dig NAME); a host that only "
     "resolves on a VPN or office network needs that network.",
     "java.net.UnknownHostException"},
    {NSURL_CANNOT_CONNECT_TO_HOST, "NSURLErrorCannotConnectToHost",
     "The server refused or could not be reached",
     "Nothing accepts connections on that address and port: check the port, that the server is "
     "running, and firewalls.", "java.net.ConnectException: Failed to connect"},
    {NSURL_NETWORK_CONNECTION_LOST, "NSURLErrorNetworkConnectionLost",
     "The connection was lost before the response was complete",
     "The server closed or reset the connection mid-exchange: look at the server's logs for a "
     "crash or a proxy/load-balancer idle timeout; retry idempotent requests.",
     "java.io.IOException: unexpected end of stream / java.net.SocketException: Connection reset"},
    {NSURL_BAD_SERVER_RESPONSE, "NSURLErrorBadServerResponse", "The server sent a malformed response",
     "The response breaks HTTP framing (wrong Content-Length, bad chunking). Fix the server or "
     "the proxy in front of it.", "java.net.ProtocolException"},
    {NSURL_CANNOT_PARSE_RESPONSE, "NSURLErrorCannotParseResponse", "The response could not be parsed",
     "The server did not answer with valid HTTP (a TLS port spoken to in clear, or a broken "
     "status line). Check the scheme and port.", "java.net.ProtocolException: Unexpected status line"},
    {NSURL_ATS_REQUIRES_SECURE, "NSURLErrorAppTransportSecurityRequiresSecureConnection",
     "App Transport Security blocks cleartext HTTP",
     "Use https://. If this cleartext load is intended, it only works with an ATS exception in "
     "Info.plist: NSAppTransportSecurity > NSExceptionDomains > <domain> > "
     "NSExceptionAllowsInsecureHTTPLoads = YES (scope it to that domain, with "
     "NSIncludesSubdomains if needed), not NSAllowsArbitraryLoads, which App Review questions.",
     "Android 9+: CLEARTEXT communication not permitted by network security policy "
     "(network_security_config cleartextTrafficPermitted)"},
    {NSURL_DATA_LENGTH_EXCEEDS_MAXIMUM, "NSURLErrorDataLengthExceedsMaximum",
     "The resource is larger than allowed", "Stream large downloads with a download task.", ""},
    {NSURL_SECURE_CONNECTION_FAILED, "NSURLErrorSecureConnectionFailed",
     "The TLS connection could not be established",
     "The server and client share no TLS version or cipher suite, or the server aborted the "
     "handshake. iOS requires TLS 1.2+ with forward-secret ciphers (ATS): enable TLS 1.2/1.3 "
     "with ECDHE suites on the server.", "javax.net.ssl.SSLHandshakeException"},
    {NSURL_CERT_BAD_DATE, "NSURLErrorServerCertificateHasBadDate",
     "The server's certificate has expired",
     "Renew the server certificate (and check the device clock).",
     "javax.net.ssl.SSLHandshakeException: CertificateExpiredException"},
    {NSURL_CERT_UNTRUSTED, "NSURLErrorServerCertificateUntrusted",
     "The server's certificate is not trusted",
     "The certificate is self-signed or does not name this host. Use a certificate from a public "
     "CA that lists the host in its subjectAltName; for a private staging CA, run httpeek with "
     "--upstream-ca and install that CA on the device.",
     "javax.net.ssl.SSLPeerUnverifiedException: Hostname not verified / "
     "SSLHandshakeException: trust anchor for certification path not found"},
    {NSURL_CERT_UNKNOWN_ROOT, "NSURLErrorServerCertificateHasUnknownRoot",
     "The server's certificate chains to an unknown root",
     "Serve the full chain (leaf + intermediates) and use a CA the device trusts; a private CA "
     "must be installed on the device (and given to httpeek with --upstream-ca).",
     "javax.net.ssl.SSLHandshakeException: Trust anchor for certification path not found"},
    {NSURL_CERT_NOT_YET_VALID, "NSURLErrorServerCertificateNotYetValid",
     "The server's certificate is not valid yet",
     "The certificate's notBefore is in the future: check the server's and the device's clocks.",
     "javax.net.ssl.SSLHandshakeException: CertificateNotYetValidException"},
    {NSURL_CLIENT_CERT_REJECTED, "NSURLErrorClientCertificateRejected",
     "The server rejected the client certificate",
     "The server wants a different client certificate (mutual TLS); check which CA it expects.",
     "javax.net.ssl.SSLHandshakeException: bad_certificate"},
    {NSURL_CLIENT_CERT_REQUIRED, "NSURLErrorClientCertificateRequired",
     "The server requires a client certificate",
     "This endpoint uses mutual TLS: the app must answer the "
     "NSURLAuthenticationMethodClientCertificate challenge with an identity. httpeek cannot "
     "present the app's certificate: add the host to --passthrough to see it work untouched.",
     "javax.net.ssl.SSLHandshakeException: certificate_required"},
};

/* The app refused httpeek's own certificate: the same -1202 the app reports for an untrusted
 * server, but the fix is on the device (or in the app), never on the server. */
static const struct diagnose_entry refused_entry = {
    NSURL_CERT_UNTRUSTED, "NSURLErrorServerCertificateUntrusted",
    "The app refused httpeek's certificate",
    "Install and trust httpeek's CA on the device: open http://httpeek.test/ on it (through the "
    "proxy), install the profile (iOS: Settings > General > VPN & Device Management), then turn "
    "on full trust: Settings > General > About > Certificate Trust Settings > httpeek CA. "
    "Android 7+ apps trust a user-installed CA only when their network_security_config says so "
    "(<debug-overrides> or <certificates src=\"user\"/> in a debug build). If other traffic from "
    "this device is intercepted fine, the app pins its certificate or uses its own trust store "
    "(Flutter/Dart's bundled roots, some SDKs): turn pinning off in debug builds, or leave the "
    "host on passthrough.",
    "javax.net.ssl.SSLHandshakeException: Trust anchor for certification path not found (user CA "
    "not trusted by the app) / SSLPeerUnverifiedException: Certificate pinning failure"};

size_t diagnose_count(void) { return sizeof catalogue / sizeof *catalogue + 1; }

const struct diagnose_entry *diagnose_entry_at(size_t i)
{
    size_t n = sizeof catalogue / sizeof *catalogue;
    return i < n ? &catalogue[i] : i == n ? &refused_entry : NULL;
}

/* What the device's other traffic says about why the app refused our certificate for host. */
static void refusal_detail(const struct flow *f, const char *how, char *out, size_t outlen)
{
    char app[64] = "";
    const char *ua = f->req ? http1_head_get(f->req, "user-agent") : NULL;
    if (ua)
        ua_app(ua, app, sizeof app);
    const char *who = app[0] ? app : "The app";
    if (f->app_trusted)
        snprintf(out, outlen,
                 "%s %s for %s, yet it had sent %u requests through httpeek's certificates: it "
                 "pins this host's certificate, or uses its own trust store for it.",
                 who, how, f->host, f->app_trusted);
    else if (f->device_trusted)
        snprintf(out, outlen,
                 "%s %s for %s. Other apps' traffic from this device (%u requests) is intercepted "
                 "fine, so the device trusts httpeek's CA: %s pins its certificate, or uses its "
                 "own trust store.",
                 who, how, f->host, f->device_trusted, app[0] ? app : "this app");
    else
        snprintf(out, outlen,
                 "%s %s for %s, and nothing from this device has been intercepted yet: most "
                 "likely the device does not trust httpeek's CA (not installed, or full trust not "
                 "turned on).",
                 who, how, f->host);
}

const struct diagnose_entry *diagnose_lookup(int code)
{
    for (size_t i = 0; i < diagnose_count(); i++)
        if (catalogue[i].code == code)
            return &catalogue[i];
    return NULL;
}

static int contains(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

/* Map the upstream leg's TLS facts to a code. */
static int upstream_tls_code(const struct flow_tls *t, int timeout)
{
    if (timeout)
        return NSURL_TIMED_OUT;
    switch (t->verify_result) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_HAS_EXPIRED: return NSURL_CERT_BAD_DATE;
    case X509_V_ERR_CERT_NOT_YET_VALID: return NSURL_CERT_NOT_YET_VALID;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return NSURL_CERT_UNKNOWN_ROOT;
    default: return NSURL_CERT_UNTRUSTED; /* self-signed, wrong host, bad chain, ... */
    }
    if (contains(t->alert_received, "certificate required"))
        return NSURL_CLIENT_CERT_REQUIRED;
    if (contains(t->alert_received, "bad certificate") || contains(t->alert_received, "unknown ca") ||
        contains(t->alert_received, "certificate unknown"))
        return NSURL_CLIENT_CERT_REJECTED;
    return NSURL_SECURE_CONNECTION_FAILED;
}

/* What the app got for a refused server certificate, by the leaf it was shown (mirror.h). */
static const char *mirror_words(const char *leaf)
{
    if (!strcmp(leaf, "mirror_dates"))
        return "httpeek showed the app a certificate with the same dates, so the app gets this same "
               "error, as it would without httpeek.";
    if (!strcmp(leaf, "mirror_names"))
        return "httpeek showed the app a certificate with the same names, so the app gets this same "
               "error, as it would without httpeek.";
    if (!strcmp(leaf, "mirror_untrusted"))
        return "httpeek showed the app a certificate it cannot trust either, so the app fails its "
               "trust check as it would without httpeek.";
    if (!strcmp(leaf, "minted"))
        return "The app was shown httpeek's own certificate, so instead of this error it gets "
               "httpeek's 502 page naming it (--upstream-errors=page) or a closed connection.";
    return "The app would see the same error without httpeek.";
}

int diagnose_flow(const struct flow *f, struct diagnosis *out)
{
    const struct flow_failure *x = &f->fail;
    int code;
    memset(out, 0, sizeof *out);
    if (!x->failed) {
        if (!f->no_request_after_tls)
            return 0;
        out->entry = diagnose_lookup(NSURL_CANCELLED);
        out->stage = flow_stage_name(FLOW_STAGE_CLIENT_TLS);
        refusal_detail(f, "completed a TLS handshake with httpeek's certificate and closed "
                          "without sending a request (its trust evaluation cancelled the load)",
                       out->detail, sizeof out->detail);
        return 1;
    }
    /* httpeek's own size limits answer 414/431: the app receives that HTTP status as a
     * response, not an NSURLError; the flow's failure facts say which limit. */
    if (x->stage == FLOW_STAGE_CLIENT_REQUEST && (x->status_sent == 414 || x->status_sent == 431))
        return 0;
    out->stage = flow_stage_name(x->stage);
    switch (x->stage) {
    case FLOW_STAGE_CLIENT_REQUEST:
        if (x->timeout)
            code = NSURL_TIMED_OUT;
        else if (contains(x->reason, "unsupported") || contains(x->reason, "CONNECT needs"))
            code = NSURL_UNSUPPORTED_URL;
        else if (x->parse_error)
            code = NSURL_BAD_URL;
        else
            code = NSURL_CANCELLED; /* the client went away mid-request */
        break;
    case FLOW_STAGE_DNS:
        code = x->timeout && x->dns_error != EVUTIL_EAI_NONAME ? NSURL_TIMED_OUT : NSURL_CANNOT_FIND_HOST;
        break;
    case FLOW_STAGE_CONNECT:
        code = x->timeout || x->sys_errno == ETIMEDOUT ? NSURL_TIMED_OUT : NSURL_CANNOT_CONNECT_TO_HOST;
        break;
    case FLOW_STAGE_UPSTREAM_TLS:
        code = upstream_tls_code(&f->tls_upstream, x->timeout);
        break;
    case FLOW_STAGE_CLIENT_TLS:
        /* The app saw our certificate and refused it: to the app that is -1202 (CA not installed
         * or not trusted); a timeout here is the app giving up. */
        code = x->timeout ? NSURL_TIMED_OUT
               : f->tls_client.alert_received[0] ? NSURL_CERT_UNTRUSTED : NSURL_CANCELLED;
        break;
    case FLOW_STAGE_WAIT:
    case FLOW_STAGE_SEND:
    case FLOW_STAGE_RECEIVE:
    case FLOW_STAGE_TUNNEL:
        if (x->timeout)
            code = NSURL_TIMED_OUT;
        else if (!strcmp(x->closed_by, "client"))
            code = NSURL_CANCELLED;
        else if (x->parse_error)
            code = x->stage == FLOW_STAGE_RECEIVE ? NSURL_BAD_SERVER_RESPONSE : NSURL_CANNOT_PARSE_RESPONSE;
        else
            code = NSURL_NETWORK_CONNECTION_LOST;
        break;
    default:
        code = NSURL_NETWORK_CONNECTION_LOST;
        break;
    }
    out->entry = diagnose_lookup(code);
    if (x->stage == FLOW_STAGE_CLIENT_TLS && code == NSURL_CERT_UNTRUSTED) {
        char how[128];
        snprintf(how, sizeof how, "refused httpeek's certificate (TLS alert '%s')",
                 f->tls_client.alert_received);
        out->entry = &refused_entry;
        refusal_detail(f, how, out->detail, sizeof out->detail);
    } else if (x->stage == FLOW_STAGE_UPSTREAM_TLS && f->tls_upstream.verify_result)
        snprintf(out->detail, sizeof out->detail, "%s. The server presented '%.120s' issued by "
                 "'%.120s'. %s", x->reason, f->tls_upstream.peer_subject,
                 f->tls_upstream.peer_issuer, mirror_words(f->tls_client.leaf));
    else
        snprintf(out->detail, sizeof out->detail, "%s", x->reason);
    return 1;
}

/* ATS does not apply to IP address literals, unqualified names and .local names. */
static int ats_exempt_host(const char *host)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
        return 1;
    if (!strchr(host, '.'))
        return 1;
    size_t n = strlen(host);
    return n > 6 && !strcasecmp(host + n - 6, ".local");
}

/* The ATS warnings: cleartext -1022 and the audit of the upstream TLS session. */
static size_t ats_warnings(const struct flow *f, struct diagnosis *out, size_t max)
{
    size_t n = 0;
    if (max && diagnose_ats_warning(f, &out[n]))
        n++;
    const struct flow_tls *t = &f->tls_upstream;
    if (f->fail.failed || !t->handshake_done || n >= max)
        return n;
    char why[3][160];
    int nwhy = 0;
    if (!strcmp(t->version, "TLSv1") || !strcmp(t->version, "TLSv1.1") || !strncmp(t->version, "SSL", 3))
        snprintf(why[nwhy++], sizeof why[0],
                 "%s (ATS needs TLS 1.2+; exception key NSExceptionMinimumTLSVersion = %s)", t->version,
                 t->version);
    if (!t->forward_secret && strcmp(t->version, "TLSv1.3"))
        snprintf(why[nwhy++], sizeof why[0],
                 "cipher %s has no forward secrecy (exception key NSExceptionRequiresForwardSecrecy = NO)",
                 t->cipher);
    if ((t->peer_sig[0] && strcasestr(t->peer_sig, "sha1")) ||
        (!strcmp(t->peer_key_type, "RSA") && t->peer_key_bits && t->peer_key_bits < 2048) ||
        (!strcmp(t->peer_key_type, "EC") && t->peer_key_bits && t->peer_key_bits < 256))
        snprintf(why[nwhy++], sizeof why[0],
                 "certificate %s %d-bit key signed with %s (ATS needs SHA-2 and RSA 2048+ / EC 256+)",
                 t->peer_key_type, t->peer_key_bits, t->peer_sig);
    if (!nwhy)
        return n;
    struct diagnosis *d = &out[n++];
    memset(d, 0, sizeof *d);
    d->entry = diagnose_lookup(NSURL_SECURE_CONNECTION_FAILED);
    d->stage = flow_stage_name(FLOW_STAGE_UPSTREAM_TLS);
    int w = snprintf(d->detail, sizeof d->detail,
                     "This worked through httpeek, but App Transport Security would refuse %s: ", f->host);
    for (int i = 0; i < nwhy && w > 0 && (size_t)w < sizeof d->detail; i++)
        w += snprintf(d->detail + w, sizeof d->detail - (size_t)w, "%s%s", i ? "; " : "", why[i]);
    return n;
}

size_t diagnose_warnings(const struct flow *f, struct diagnosis *out, size_t max)
{
    size_t n = ats_warnings(f, out, max);
    for (size_t i = 0; i < n; i++)
        out[i].kind = "ats";
    n += warnings_app(f, out + n, max - n); /* app-level: warnings.h */
    warnings_remember(f, out, n);
    return n;
}

int diagnose_ats_warning(const struct flow *f, struct diagnosis *out)
{
    memset(out, 0, sizeof *out);
    if (f->kind != FLOW_HTTP || strcmp(f->scheme, "http") || f->fail.failed || ats_exempt_host(f->host))
        return 0;
    out->entry = diagnose_lookup(NSURL_ATS_REQUIRES_SECURE);
    out->stage = "request";
    snprintf(out->detail, sizeof out->detail,
             "This cleartext request to %s worked only because the app has an App Transport "
             "Security exception (or is not an iOS app): without NSExceptionDomains > %s > "
             "NSExceptionAllowsInsecureHTTPLoads, iOS fails it with -1022 before any byte is sent.",
             f->host, f->host);
    return 1;
}
