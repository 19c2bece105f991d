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
#include "str.h"
#include "useragent.h"
#include "warnings.h"

/* The cleartext -1022's texts: the catalogue's entry (a failure) and the warning's. */
#define ATS_CLEARTEXT_NAME "NSURLErrorAppTransportSecurityRequiresSecureConnection"
#define ATS_CLEARTEXT_TITLE "App Transport Security blocks cleartext HTTP"
#define ATS_CLEARTEXT_FIX                                                                          \
    "Use https://. If this cleartext load is intended, it only works with an ATS exception in "   \
    "Info.plist: NSAppTransportSecurity > NSExceptionDomains > <domain> > "                        \
    "NSExceptionAllowsInsecureHTTPLoads = YES (scope it to that domain, with "                     \
    "NSIncludesSubdomains if needed), not NSAllowsArbitraryLoads, which App Review questions."
#define ATS_CLEARTEXT_ANDROID                                                                      \
    "Android 9+: CLEARTEXT communication not permitted by network security policy "               \
    "(network_security_config cleartextTrafficPermitted)"

/* The cleartext warning (every plain-HTTP flow has it): stored by its key, without these ~600
 * bytes of static texts, which were the most of what made a plain-HTTP row larger than an HTTPS
 * one (1,457 against 636 bytes of detail record for bench's S4 and S1 flows). Rows written
 * before hold the texts; readers put them back in the order those rows have them
 * (diagnose_whole_order),
 * so both read the same. */
static const struct diagnose_entry ats_cleartext_entry = {
    NSURL_ATS_REQUIRES_SECURE, ATS_CLEARTEXT_NAME, ATS_CLEARTEXT_TITLE, ATS_CLEARTEXT_FIX,
    ATS_CLEARTEXT_ANDROID, NULL, "ats-cleartext"};

static const struct diagnose_entry catalogue[] = {
    {NSURL_CANCELLED, "NSURLErrorCancelled", "The app cancelled the request",
     "If the app gave up on purpose (navigation, a new search), nothing is wrong. If it closed "
     "right after a TLS handshake with httpeek, it is rejecting httpeek's certificate: install and "
     "fully trust the httpeek CA (iOS: Settings > General > About > Certificate Trust Settings), "
     "or, for certificate pinning (URLSession delegate, AFSecurityPolicy, TrustKit, Alamofire "
     "ServerTrustManager), disable pinning in debug builds or add httpeek to --passthrough.",
     "OkHttp: java.io.IOException: Canceled; pinning: javax.net.ssl.SSLPeerUnverifiedException: "
     "Certificate pinning failure (CertificatePinner)", NULL, NULL},
    {NSURL_BAD_URL, "NSURLErrorBadURL", "The URL is malformed",
     "Build the URL with URLComponents (percent-encode the path and query) instead of string "
     "concatenation.", "java.lang.IllegalArgumentException: unexpected url", NULL, NULL},
    {NSURL_TIMED_OUT, "NSURLErrorTimedOut", "The request timed out",
     "The server (or the DNS server) did not answer in time. Check it responds at all (curl -v), "
     "raise URLRequest.timeoutInterval / URLSessionConfiguration.timeoutIntervalForRequest for "
     "slow endpoints, or fix the server's slowness shown in the timings.",
     "java.net.SocketTimeoutException (OkHttp connectTimeout/readTimeout)", NULL, NULL},
    {NSURL_UNSUPPORTED_URL, "NSURLErrorUnsupportedURL", "The URL scheme or target is not supported",
     "Use an http:// or https:// URL with a host; custom schemes are handled by the app, not the "
     "network stack.", "java.net.MalformedURLException / UnknownServiceException", NULL, NULL},
    {NSURL_CANNOT_FIND_HOST, "NSURLErrorCannotFindHost", "The host name could not be resolved",
     "Check the host name for typos and that it exists in public DNS (dig NAME); a host that only "
     "resolves on a VPN or office network needs that network.",
     "java.net.UnknownHostException", NULL, NULL},
    {NSURL_CANNOT_CONNECT_TO_HOST, "NSURLErrorCannotConnectToHost",
     "The server refused or could not be reached",
     "Nothing accepts connections on that address and port: check the port, that the server is "
     "running, and firewalls.", "java.net.ConnectException: Failed to connect", NULL, NULL},
    {NSURL_NETWORK_CONNECTION_LOST, "NSURLErrorNetworkConnectionLost",
     "The connection was lost before the response was complete",
     "The server closed or reset the connection mid-exchange: look at the server's logs for a "
     "crash or a proxy/load-balancer idle timeout; retry idempotent requests.",
     "java.io.IOException: unexpected end of stream / java.net.SocketException: Connection reset", NULL, NULL},
    {NSURL_BAD_SERVER_RESPONSE, "NSURLErrorBadServerResponse", "The server sent a malformed response",
     "The response breaks HTTP framing (wrong Content-Length, bad chunking). Fix the server or "
     "the proxy in front of it.", "java.net.ProtocolException", NULL, NULL},
    {NSURL_CANNOT_PARSE_RESPONSE, "NSURLErrorCannotParseResponse", "The response could not be parsed",
     "The server did not answer with valid HTTP (a TLS port spoken to in clear, or a broken "
     "status line). Check the scheme and port.", "java.net.ProtocolException: Unexpected status line", NULL, NULL},
    {NSURL_ATS_REQUIRES_SECURE, ATS_CLEARTEXT_NAME, ATS_CLEARTEXT_TITLE, ATS_CLEARTEXT_FIX,
     ATS_CLEARTEXT_ANDROID, NULL, NULL},
    {NSURL_DATA_LENGTH_EXCEEDS_MAXIMUM, "NSURLErrorDataLengthExceedsMaximum",
     "The resource is larger than allowed", "Stream large downloads with a download task.", "", NULL, NULL},
    {NSURL_SECURE_CONNECTION_FAILED, "NSURLErrorSecureConnectionFailed",
     "The TLS connection could not be established",
     "The server and client share no TLS version or cipher suite, or the server aborted the "
     "handshake. iOS requires TLS 1.2+ with forward-secret ciphers (ATS): enable TLS 1.2/1.3 "
     "with ECDHE suites on the server.", "javax.net.ssl.SSLHandshakeException", NULL, NULL},
    {NSURL_CERT_BAD_DATE, "NSURLErrorServerCertificateHasBadDate",
     "The server's certificate has expired",
     "Renew the server certificate (and check the device clock).",
     "javax.net.ssl.SSLHandshakeException: CertificateExpiredException", NULL, NULL},
    {NSURL_CERT_UNTRUSTED, "NSURLErrorServerCertificateUntrusted",
     "The server's certificate is not trusted",
     "The certificate is self-signed or does not name this host. Use a certificate from a public "
     "CA that lists the host in its subjectAltName; for a private staging CA, run httpeek with "
     "--upstream-ca and install that CA on the device.",
     "javax.net.ssl.SSLPeerUnverifiedException: Hostname not verified / "
     "SSLHandshakeException: trust anchor for certification path not found", NULL, NULL},
    {NSURL_CERT_UNKNOWN_ROOT, "NSURLErrorServerCertificateHasUnknownRoot",
     "The server's certificate chains to an unknown root",
     "Serve the full chain (leaf + intermediates) and use a CA the device trusts; a private CA "
     "must be installed on the device (and given to httpeek with --upstream-ca).",
     "javax.net.ssl.SSLHandshakeException: Trust anchor for certification path not found", NULL, NULL},
    {NSURL_CERT_NOT_YET_VALID, "NSURLErrorServerCertificateNotYetValid",
     "The server's certificate is not valid yet",
     "The certificate's notBefore is in the future: check the server's and the device's clocks.",
     "javax.net.ssl.SSLHandshakeException: CertificateNotYetValidException", NULL, NULL},
    {NSURL_CLIENT_CERT_REJECTED, "NSURLErrorClientCertificateRejected",
     "The server rejected the client certificate",
     "The server wants a different client certificate (mutual TLS); check which CA it expects.",
     "javax.net.ssl.SSLHandshakeException: bad_certificate", NULL, NULL},
    {NSURL_CLIENT_CERT_REQUIRED, "NSURLErrorClientCertificateRequired",
     "The server requires a client certificate",
     "This endpoint uses mutual TLS: the app must answer the "
     "NSURLAuthenticationMethodClientCertificate challenge with an identity. Give httpeek that "
     "identity with --client-cert HOST=CERT.pem[,KEY.pem] (or a .p12), or add the host to "
     "--passthrough to see it work untouched.",
     "javax.net.ssl.SSLHandshakeException: certificate_required", NULL, NULL},
    /* httpeek's own answers: the app receives these statuses as HTTP responses, not as errors
     * (domain "HTTP"; AFNetworking/Alamofire validation then reports the status, -1011) */
    {400, "HTTPBadRequest", "httpeek refused a malformed request",
     "The request breaks HTTP/1.1 syntax or framing (RFC 9112): Content-Length together with "
     "Transfer-Encoding, a bad chunk, a control character in a header, an unknown HTTP version. "
     "httpeek refuses it rather than guess where it ends (request smuggling), as servers should. "
     "Fix the code that writes the request by hand; URLSession and OkHttp never send these.",
     "", "HTTP", NULL},
    {403, "HTTPForbidden", "This client may not use the proxy",
     "httpeek serves loopback and private networks only, unless told otherwise, so it never "
     "becomes an open proxy. If this device should use it (a VPN or carrier-grade NAT address), "
     "start httpeek with --allow-client CIDR naming its network (repeat for each range; it "
     "replaces the default ranges).", "", "HTTP", NULL},
    {404, "HTTPNotFound", "httpeek's own site has no such page",
     "httpeek's own site serves /, /ca-cert.pem, /ca-cert.cer, /httpeek.mobileconfig and "
     "/proxy.pac. If this was the app's own request, the app was given httpeek's address as its "
     "server: give it its real server's URL and set the device's proxy instead (Wi-Fi > "
     "Configure Proxy > Manual: this machine's address and httpeek's port, or Automatic with "
     "the PAC URL).", "", "HTTP", NULL},
    {408, "HTTPRequestTimeout", "The request head did not arrive in time",
     "The client began a request and did not finish its head within --header-timeout (default "
     "30 s): a stalled client, or one that opened the connection and never used it. Raise "
     "--header-timeout SECONDS for a very slow link.", "", "HTTP", NULL},
    {414, "HTTPURITooLong", "The URL is longer than httpeek accepts",
     "Shorten the URL (send large query data in a POST body), or raise the limit with "
     "--max-request-line BYTES (default 16384).", "", "HTTP", NULL},
    {421, "HTTPMisdirectedRequest", "The connection was reused for a name it is not for",
     "The client reused an HTTP/2 connection whose certificate httpeek minted for one name for a "
     "request to another name (connection coalescing). httpeek answered 421 Misdirected Request "
     "(RFC 9110 15.5.20): URLSession, OkHttp and browsers retry such a request on a new "
     "connection for its own name by themselves. Nothing to fix unless the retry is missing.",
     "", "HTTP", NULL},
    {431, "HTTPRequestHeaderFieldsTooLarge", "The request headers are larger than httpeek accepts",
     "Send smaller headers (an oversized cookie or token is the usual cause), or raise the limit "
     "the detail names: --max-header-line BYTES, --max-header-bytes BYTES or --max-headers N.",
     "", "HTTP", NULL},
    {503, "HTTPServiceUnavailable", "httpeek is at its connection limit",
     "httpeek had --max-connections client connections open (default 4096) and refused new ones "
     "until some closed. Raise --max-connections N, or find the client that opens connections "
     "and keeps them (the flow list shows who).", "", "HTTP", NULL},
};

/* A plain (origin-form) request for another host reached the proxy port: -1002 with the fix that
 * fits it, how to set the proxy. */
static const struct diagnose_entry not_proxy_entry = {
    NSURL_UNSUPPORTED_URL, "NSURLErrorUnsupportedURL", "The request was not meant for a proxy",
    "httpeek is an HTTP proxy: the device (or the app) must be set to use it, not sent to it as if "
    "it were the server. iOS: Settings > Wi-Fi > (i) > Configure Proxy > Manual, Server = this "
    "machine's address, Port = httpeek's port (the detail names both), or Automatic with "
    "http://ADDRESS:PORT/proxy.pac; the iOS Simulator uses the Mac's proxy settings. Transparent "
    "mode (traffic redirected to httpeek's port by a firewall or router rule, with no proxy set) "
    "is not offered: httpeek needs the absolute URL or CONNECT a proxy client sends.",
    "Android: long-press the Wi-Fi network > Modify > Advanced > Proxy: Manual; emulator: proxy "
    "10.0.2.2 and httpeek's port", NULL, NULL};

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
    "not trusted by the app) / SSLPeerUnverifiedException: Certificate pinning failure", NULL, NULL};

#define NCATALOGUE (sizeof catalogue / sizeof *catalogue)

size_t diagnose_count(void) { return NCATALOGUE + 2; }

const struct diagnose_entry *diagnose_entry_at(size_t i)
{
    return i < NCATALOGUE ? &catalogue[i] : i == NCATALOGUE ? &refused_entry
           : i == NCATALOGUE + 1 ? &not_proxy_entry : NULL;
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
    for (size_t i = 0; i < NCATALOGUE; i++)
        if (catalogue[i].code == code)
            return &catalogue[i];
    return NULL;
}

const struct diagnose_entry *diagnose_keyed_entry(const char *key)
{
    return !strcmp(key, ats_cleartext_entry.key) ? &ats_cleartext_entry : warnings_entry(key);
}

int diagnose_whole_order(const struct diagnose_entry *e)
{
    return e == &ats_cleartext_entry;
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
    /* httpeek presented a --client-cert identity and the server ended the handshake over it
     * (TLS 1.3: with an alert right after it): the app presenting that identity gets -1205, not
     * "required" — one was sent, it was not the one the server wants. */
    if (t->client_cert[0] && t->cert_requested &&
        (!t->alert_received[0] ||
         contains(t->alert_received, "certificate required") ||
         contains(t->alert_received, "handshake failure") ||
         contains(t->alert_received, "bad certificate") ||
         contains(t->alert_received, "certificate unknown") ||
         contains(t->alert_received, "unsupported certificate") ||
         contains(t->alert_received, "certificate expired") ||
         contains(t->alert_received, "certificate revoked") ||
         contains(t->alert_received, "unknown ca") || contains(t->alert_received, "access denied") ||
         contains(t->alert_received, "decrypt error")))
        return NSURL_CLIENT_CERT_REJECTED;
    if (contains(t->alert_received, "certificate required"))
        return NSURL_CLIENT_CERT_REQUIRED;
    /* The server asked for a client certificate (CertificateRequest) and httpeek, having none
     * for this host (no --client-cert glob matches it), sent an empty one: whatever ended the handshake then — TLS 1.2's handshake_failure,
     * bad_certificate, certificate_unknown, or a bare close — the app (with no identity for the
     * NSURLAuthenticationMethodClientCertificate challenge) gets -1206. Other alerts (protocol
     * version, decode errors) are not about the certificate. */
    if (t->cert_requested &&
        (!t->alert_received[0] || contains(t->alert_received, "handshake failure") ||
         contains(t->alert_received, "bad certificate") ||
         contains(t->alert_received, "certificate unknown") ||
         contains(t->alert_received, "unknown ca") || contains(t->alert_received, "access denied")))
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

/* "[2001:db8::1] timeout after 250 ms, 192.0.2.1 refused after 1 ms" */
static void attempts_words(const struct flow *f, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < f->connect_attempts.n && i < FLOW_MAX_ATTEMPTS && used < len; i++) {
        const struct flow_attempt *a = &f->connect_attempts.a[i];
        int w = snprintf(buf + used, len - used, a->family == 6 ? "%s[%s] (IPv6) %s after %u ms" : "%s%s (IPv4) %s after %u ms",
                         i ? ", " : "", a->addr, a->outcome, a->ms);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* A flow that connected over one family after an address of the other did not: what a user
 * on a network with only that family (IPv6-only cellular, NAT64) or a slower fallback meets. */
static int broken_family_warning(const struct flow *f, struct diagnosis *d)
{
    const struct flow_attempts *at = &f->connect_attempts;
    const struct flow_attempt *won = NULL, *lost = NULL;
    for (int i = 0; i < at->n && i < FLOW_MAX_ATTEMPTS; i++)
        if (!strcmp(at->a[i].outcome, "connected"))
            won = &at->a[i];
    for (int i = 0; won && i < at->n && i < FLOW_MAX_ATTEMPTS && &at->a[i] != won; i++)
        if (at->a[i].family != won->family && !lost)
            lost = &at->a[i];
    if (f->fail.failed || !won || !lost)
        return 0;
    memset(d, 0, sizeof *d);
    d->entry = diagnose_lookup(NSURL_CANNOT_CONNECT_TO_HOST);
    d->stage = flow_stage_name(FLOW_STAGE_CONNECT);
    int slow = !strcmp(lost->outcome, "cancelled") || !strcmp(lost->outcome, "timeout");
    char tried[400];
    attempts_words(f, tried, sizeof tried);
    snprintf(d->detail, sizeof d->detail,
             "IPv%d to this host fails; the app would have used IPv%d %s, as httpeek did (%s). "
             "Users whose network has only IPv%d (IPv6-only cellular with NAT64) cannot reach it: "
             "fix the server's IPv%d address (%s record, listener, firewall).",
             lost->family, won->family, slow ? "after 250 ms" : "at once", tried, lost->family,
             lost->family, lost->family == 6 ? "AAAA" : "A");
    return 1;
}

/* "host" and "port" of an "ip:port" / "[v6]:port" address into the advice's words. */
static void proxy_words(const char *hostport, char *out, size_t outlen)
{
    const char *colon = strrchr(hostport, ':');
    if (!hostport[0] || !colon) {
        snprintf(out, outlen, "this machine's address and httpeek's port");
        return;
    }
    snprintf(out, outlen, "server %.*s, port %s", (int)(colon - hostport), hostport, colon + 1);
}

/* A request httpeek answered itself: what the client got and what to change. */
static int refusal_diagnosis(const struct flow *f, struct diagnosis *out)
{
    const struct flow_failure *x = &f->fail;
    char proxy[96];
    proxy_words(f->proxy_addr, proxy, sizeof proxy);
    const char *host = f->req ? http1_head_get(f->req, "host") : NULL;
    switch (x->refusal) {
    case FLOW_REFUSED_UNSUPPORTED:
        out->entry = diagnose_lookup(NSURL_UNSUPPORTED_URL);
        snprintf(out->detail, sizeof out->detail,
                 "%s. httpeek answered %d: it proxies http:// and https:// requests and CONNECT "
                 "tunnels only (URLSession fails other schemes itself with -1002).",
                 x->reason, x->status_sent);
        return 1;
    case FLOW_REFUSED_BAD_TARGET:
        out->entry = diagnose_lookup(NSURL_BAD_URL);
        snprintf(out->detail, sizeof out->detail,
                 "%s. httpeek answered %d: a proxy request needs an absolute http:// or https:// "
                 "URL with a host (CONNECT: host:port).", x->reason, x->status_sent);
        return 1;
    case FLOW_REFUSED_NOT_PROXY:
        out->entry = &not_proxy_entry;
        snprintf(out->detail, sizeof out->detail,
                 "%s %.200s for host %.100s reached httpeek (%s) as a plain request, not as a "
                 "proxy request: the client has no proxy set and was given httpeek's address as "
                 "its server, or its traffic was redirected to httpeek's port. httpeek answered "
                 "%d. Set the device's proxy to %s.",
                 f->req ? llhttp_method_name((llhttp_method_t)f->req->method) : "-",
                 f->req ? f->req->target : "-", host ? host : "(none)",
                 f->proxy_addr[0] ? f->proxy_addr : "its port", x->status_sent, proxy);
        return 1;
    case FLOW_REFUSED_NO_PAGE:
        out->entry = diagnose_lookup(404);
        snprintf(out->detail, sizeof out->detail,
                 "httpeek's own site has no page %.200s (asked for as host %.100s); httpeek "
                 "answered 404. If this was the app's request to its server, the app was given "
                 "httpeek's address: give it the real server's URL and set the device's proxy "
                 "to %s.",
                 f->req ? f->req->target : "-", host ? host : "(none)", proxy);
        return 1;
    default:
        break;
    }
    out->entry = diagnose_lookup(x->status_sent);
    if (!out->entry) /* every refusal names a status it has an entry for */
        out->entry = diagnose_lookup(400);
    snprintf(out->detail, sizeof out->detail,
             "%s. httpeek answered %d itself: the app receives it as an HTTP response (status %d), "
             "not as an NSURLError.", x->reason, x->status_sent, x->status_sent);
    return 1;
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
    out->stage = flow_stage_name(x->stage);
    if (x->refusal)
        return refusal_diagnosis(f, out);
    switch (x->stage) {
    case FLOW_STAGE_CLIENT_REQUEST:
        if (x->timeout)
            code = NSURL_TIMED_OUT;
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
        code = upstream_tls_code(f->tls_upstream, x->timeout);
        break;
    case FLOW_STAGE_CLIENT_TLS:
        /* The app saw our certificate and refused it: to the app that is -1202 (CA not installed
         * or not trusted); a timeout here is the app giving up. */
        code = x->timeout ? NSURL_TIMED_OUT
               : f->tls_client->alert_received[0] ? NSURL_CERT_UNTRUSTED : NSURL_CANCELLED;
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
    if (x->stage == FLOW_STAGE_CONNECT && f->connect_attempts.n > 1) {
        int w = snprintf(out->detail, sizeof out->detail, "%s. Addresses tried: ", x->reason);
        attempts_words(f, out->detail + w, w > 0 && (size_t)w < sizeof out->detail ? sizeof out->detail - (size_t)w : 0);
    } else if (x->stage == FLOW_STAGE_CLIENT_TLS && code == NSURL_CERT_UNTRUSTED) {
        char how[128];
        snprintf(how, sizeof how, "refused httpeek's certificate (TLS alert '%s')",
                 f->tls_client->alert_received);
        out->entry = &refused_entry;
        refusal_detail(f, how, out->detail, sizeof out->detail);
    } else if (x->stage == FLOW_STAGE_UPSTREAM_TLS && code == NSURL_CLIENT_CERT_REJECTED &&
               f->tls_upstream->client_cert[0]) {
        snprintf(out->detail, sizeof out->detail, "%s. httpeek sent the client certificate "
                 "'%.120s' (--client-cert) and the server refused it (%s%s%s).", x->reason,
                 f->tls_upstream->client_cert,
                 f->tls_upstream->alert_received[0] ? "TLS alert '" : "closed, no alert",
                 f->tls_upstream->alert_received, f->tls_upstream->alert_received[0] ? "'" : "");
    } else if (x->stage == FLOW_STAGE_UPSTREAM_TLS && f->tls_upstream->verify_result)
        snprintf(out->detail, sizeof out->detail, "%s. The server presented '%.120s' issued by "
                 "'%.120s'. %s", x->reason, f->tls_upstream->peer_subject,
                 f->tls_upstream->peer_issuer, mirror_words(f->tls_client->leaf));
    else
        snprintf(out->detail, sizeof out->detail, "%s", x->reason);
    return 1;
}

/* "sha1" in any case in s (a signature algorithm's name): what strcasestr says, for a fraction
 * of its cost (it ran for every flow's upstream leg on the store thread). */
static int names_sha1(const char *s)
{
    for (; *s; s++)
        if ((s[0] | 0x20) == 's' && (s[1] | 0x20) == 'h' && (s[2] | 0x20) == 'a' && s[3] == '1')
            return 1;
    return 0;
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
    if (n < max && broken_family_warning(f, &out[n]))
        n++;
    const struct flow_tls *t = f->tls_upstream;
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
    if ((t->peer_sig[0] && names_sha1(t->peer_sig)) ||
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
    if (f->kind != FLOW_HTTP || strcmp(f->scheme, "http") || f->fail.failed || f->own ||
        ats_exempt_host(f->host))
        return 0; /* out untouched: most flows (a 512-byte detail zeroed for nothing) */
    memset(out, 0, sizeof *out);
    out->entry = &ats_cleartext_entry;
    out->stage = "request";
    /* put together without snprintf (every cleartext flow has it: ~1k instructions less), cut
     * where snprintf would cut it */
    size_t o = 0;
    str_append(out->detail, sizeof out->detail, &o, "This cleartext request to ");
    str_append(out->detail, sizeof out->detail, &o, f->host);
    str_append(out->detail, sizeof out->detail, &o,
               " worked only because the app has an App Transport Security exception (or is not "
               "an iOS app): without NSExceptionDomains > ");
    str_append(out->detail, sizeof out->detail, &o, f->host);
    str_append(out->detail, sizeof out->detail, &o,
               " > NSExceptionAllowsInsecureHTTPLoads, iOS fails it with -1022 before any byte is "
               "sent.");
    return 1;
}
