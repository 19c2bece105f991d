/* test_diagnose.c — diagnose_flow maps raw flow facts to the NSURLErrorDomain code an iOS app
 * sees, and every catalogue entry is complete. */
#include "../../src/diagnose.c"

#include <stdlib.h>
#include "tap.h"

static struct flow *failed(enum flow_stage stage, int err, const char *reason)
{
    struct flow *f = flow_new(1, 1, 1024);
    snprintf(f->host, sizeof f->host, "api.example.com");
    flow_fail(f, stage, err, "%s", reason);
    return f;
}

static struct flow *refused(enum flow_refusal why, int status, const char *reason)
{
    struct flow *f = failed(FLOW_STAGE_CLIENT_REQUEST, 0, reason);
    f->fail.refusal = why;
    f->fail.status_sent = status;
    return f;
}

static int code_of(struct flow *f)
{
    struct diagnosis d;
    int r = diagnose_flow(f, &d);
    int code = r && d.entry ? d.entry->code : 0;
    flow_free(f);
    return code;
}

int main(void)
{
    int complete = 1;
    for (size_t i = 0; i < diagnose_count(); i++) {
        const struct diagnose_entry *e = diagnose_entry_at(i);
        /* NSURLErrorDomain entries, or httpeek's own HTTP answers: a status, domain "HTTP" */
        int http = e->domain && !strcmp(e->domain, "HTTP");
        if (!e->name || strncmp(e->name, http ? "HTTP" : "NSURLError", http ? 4 : 10) ||
            (http ? e->code < 400 || e->code > 599 : e->code >= 0) || !e->title[0] ||
            strlen(e->fix) < 30)
            complete = 0;
    }
    ok(complete && diagnose_count() >= 18, "catalogue: %zu entries, each with name, title and a concrete fix",
       diagnose_count());
    const struct diagnose_entry *ats = diagnose_lookup(-1022);
    ok(ats && strstr(ats->fix, "NSExceptionDomains") && strstr(ats->fix, "NSAllowsArbitraryLoads"),
       "-1022 fix names the Info.plist keys and their scope");

    struct flow *f = failed(FLOW_STAGE_DNS, 0, "cannot resolve");
    f->fail.dns_error = EVUTIL_EAI_NONAME;
    is_int(code_of(f), -1003, "NXDOMAIN -> -1003 CannotFindHost");
    is_int(code_of(failed(FLOW_STAGE_CONNECT, ECONNREFUSED, "refused")), -1004, "refused -> -1004");
    f = failed(FLOW_STAGE_CONNECT, ETIMEDOUT, "no answer");
    f->fail.timeout = 1;
    is_int(code_of(f), -1001, "connect timeout -> -1001");

    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->verify_result = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
    is_int(code_of(f), -1202, "self-signed upstream -> -1202");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->verify_result = X509_V_ERR_HOSTNAME_MISMATCH;
    is_int(code_of(f), -1202, "wrong host -> -1202");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->verify_result = X509_V_ERR_CERT_HAS_EXPIRED;
    is_int(code_of(f), -1201, "expired -> -1201");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->verify_result = X509_V_ERR_CERT_NOT_YET_VALID;
    is_int(code_of(f), -1204, "not yet valid -> -1204");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->verify_result = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    is_int(code_of(f), -1203, "unknown root -> -1203");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    strcpy(flow_tls_edit(f, 1)->alert_received, "protocol version");
    is_int(code_of(f), -1200, "protocol version alert -> -1200");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    strcpy(flow_tls_edit(f, 1)->alert_received, "certificate required");
    is_int(code_of(f), -1206, "certificate required alert -> -1206");
    /* TLS 1.2: the server asked (CertificateRequest), then ended the handshake its own way */
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    strcpy(flow_tls_edit(f, 1)->alert_received, "handshake failure");
    is_int(code_of(f), -1206, "TLS 1.2 CertificateRequest then handshake_failure -> -1206");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    strcpy(flow_tls_edit(f, 1)->alert_received, "bad certificate");
    is_int(code_of(f), -1206, "TLS 1.2 CertificateRequest then bad_certificate -> -1206 (we sent none)");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    is_int(code_of(f), -1206, "TLS 1.2 CertificateRequest then a bare close -> -1206");
    /* a --client-cert identity was sent and the server would not have it: rejected, not required */
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    strcpy(flow_tls_edit(f, 1)->client_cert, "CN=app user");
    strcpy(flow_tls_edit(f, 1)->alert_received, "handshake failure");
    is_int(code_of(f), -1205, "client certificate sent, then handshake_failure -> -1205");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    strcpy(flow_tls_edit(f, 1)->client_cert, "CN=app user");
    strcpy(flow_tls_edit(f, 1)->alert_received, "unknown CA");
    {
        struct diagnosis d;
        int r = diagnose_flow(f, &d);
        ok(r && d.entry && d.entry->code == -1205 && strstr(d.detail, "CN=app user") &&
               strstr(d.detail, "--client-cert") && strstr(d.detail, "unknown CA"),
           "TLS 1.3 unknown_ca after our certificate -> -1205, the detail names the certificate sent");
        flow_free(f);
    }
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    strcpy(flow_tls_edit(f, 1)->client_cert, "CN=app user");
    strcpy(flow_tls_edit(f, 1)->alert_received, "certificate required");
    is_int(code_of(f), -1205, "certificate_required although one was sent -> -1205, not 'none configured'");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    strcpy(flow_tls_edit(f, 1)->client_cert, "CN=app user"); /* resumed: the server asked nothing */
    strcpy(flow_tls_edit(f, 1)->alert_received, "handshake failure");
    is_int(code_of(f), -1200, "a resumed session's certificate is not blamed for a handshake_failure");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    strcpy(flow_tls_edit(f, 1)->alert_received, "handshake failure");
    is_int(code_of(f), -1200, "handshake_failure without a CertificateRequest stays -1200");
    f = failed(FLOW_STAGE_UPSTREAM_TLS, 0, "tls");
    flow_tls_edit(f, 1)->cert_requested = 1;
    flow_tls_edit(f, 1)->verify_result = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
    is_int(code_of(f), -1202, "a verify error wins over a CertificateRequest");

    f = failed(FLOW_STAGE_CLIENT_TLS, 0, "refused");
    strcpy(flow_tls_edit(f, 0)->alert_received, "unknown CA");
    is_int(code_of(f), -1202, "client refused our leaf (unknown CA) -> the app saw -1202");
    f = flow_new(1, 1, 16);
    f->no_request_after_tls = 1;
    is_int(code_of(f), -999, "handshake then silence (pinning) -> -999");

    f = failed(FLOW_STAGE_WAIT, 0, "closed");
    strcpy(f->fail.closed_by, "server");
    is_int(code_of(f), -1005, "server closed before the response -> -1005");
    f = failed(FLOW_STAGE_RECEIVE, 0, "closed");
    strcpy(f->fail.closed_by, "client");
    is_int(code_of(f), -999, "client gave up mid-response -> -999");
    f = failed(FLOW_STAGE_WAIT, 0, "bad");
    f->fail.parse_error = "HPE_INVALID_CONSTANT";
    is_int(code_of(f), -1017, "unparseable response head -> -1017");
    /* requests httpeek answered itself */
    struct diagnosis rd;
    f = refused(FLOW_REFUSED_UNSUPPORTED, 400, "unsupported URL scheme 'ftp'");
    ok(diagnose_flow(f, &rd) && rd.entry->code == -1002 && !rd.entry->domain &&
           !strcmp(rd.stage, "client_request") && strstr(rd.detail, "answered 400"),
       "unsupported scheme -> -1002 at client_request, the detail says httpeek answered 400");
    flow_free(f);
    f = refused(FLOW_REFUSED_NOT_PROXY, 400, "not a proxy request");
    strcpy(f->proxy_addr, "192.168.1.20:8080");
    ok(diagnose_flow(f, &rd) && rd.entry->code == -1002 &&
           strstr(rd.detail, "server 192.168.1.20, port 8080") &&
           strstr(rd.entry->fix, "Configure Proxy > Manual") && strstr(rd.entry->fix, "proxy.pac") &&
           strstr(rd.entry->fix, "Transparent mode") && strstr(rd.entry->fix, "not offered"),
       "origin-form request for another host -> -1002; detail names the proxy to set, the fix how "
       "(Manual or PAC) and that transparent mode is not offered");
    flow_free(f);
    is_int(code_of(refused(FLOW_REFUSED_BAD_TARGET, 400, "malformed request-target")), -1000,
           "malformed target -> -1000");
    f = refused(FLOW_REFUSED_HEAD_LIMIT, 431,
                "request refused: more than 200 header fields (--max-headers)");
    ok(diagnose_flow(f, &rd) && rd.entry->code == 431 && !strcmp(rd.entry->domain, "HTTP") &&
           !strcmp(rd.entry->name, "HTTPRequestHeaderFieldsTooLarge") &&
           strstr(rd.detail, "--max-headers") && strstr(rd.detail, "not as an NSURLError"),
       "431: an HTTP-domain diagnosis naming the limit and its option, not an NSURLError");
    flow_free(f);
    static const struct {
        enum flow_refusal why;
        int status;
        const char *option; /* the fix names what changes it */
    } limits[] = {{FLOW_REFUSED_TARGET_LIMIT, 414, "--max-request-line"},
                  {FLOW_REFUSED_HEADER_TIMEOUT, 408, "--header-timeout"},
                  {FLOW_REFUSED_CLIENT, 403, "--allow-client"},
                  {FLOW_REFUSED_BUSY, 503, "--max-connections"},
                  {FLOW_REFUSED_BAD_REQUEST, 400, "RFC 9112"},
                  {FLOW_REFUSED_NO_PAGE, 404, "proxy.pac"}};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        f = refused(limits[i].why, limits[i].status, "refused");
        ok(diagnose_flow(f, &rd) && rd.entry->code == limits[i].status &&
               !strcmp(rd.entry->domain, "HTTP") && strstr(rd.entry->fix, limits[i].option),
           "refusal %d: HTTP %d, the fix names %s", (int)limits[i].why, limits[i].status,
           limits[i].option);
        flow_free(f);
    }

    f = flow_new(1, 1, 16);
    ok(!code_of(f), "a successful flow has no diagnosis");

    struct diagnosis d;
    f = flow_new(1, 1, 16);
    strcpy(f->scheme, "http");
    strcpy(f->host, "api.example.com");
    ok(diagnose_ats_warning(f, &d) && d.entry->code == -1022 && strstr(d.detail, "api.example.com"),
       "cleartext request to a domain gets the -1022 ATS warning naming the domain");
    strcpy(f->host, "192.168.1.20");
    ok(!diagnose_ats_warning(f, &d), "IP literal hosts are exempt from ATS");
    strcpy(f->scheme, "https");
    strcpy(f->host, "api.example.com");
    ok(!diagnose_ats_warning(f, &d), "https gets no ATS warning");
    flow_free(f);
    return done();
}
