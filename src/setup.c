/* setup.c — see setup.h. Every link on the page is an absolute http:// URL on the proxy's own
 * address, because iOS Safari may upgrade a typed link to https and a phone without the CA
 * cannot open https://httpeek.test yet. */
#include "setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "http1.h"
#include "mobileconfig.h"

static int respond(struct evbuffer *out, int status, const char *type, const char *filename,
                   const void *body, size_t len, int head_only, int close)
{
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s%s%s%s\r\n",
                        status, http1_reason(status), type, len,
                        filename ? "Content-Disposition: attachment; filename=\"" : "",
                        filename ? filename : "", filename ? "\"\r\n" : "",
                        close ? "Connection: close\r\n" : "");
    if (!head_only && len)
        evbuffer_add(out, body, len);
    return status;
}


int setup_is_loopback(const char *hostport)
{
    return !strncmp(hostport, "127.", 4) || !strncmp(hostport, "[::1]", 5) ||
           !strncmp(hostport, "localhost", 9);
}

/* "192.168.1.20 port 8080, or 10.0.0.5 port 8080" into b: where a phone finds the proxy (port:
 * for the addresses a restart with --listen 0.0.0.0:PORT would serve). */
static void add_lan_list(struct evbuffer *b, const struct setup_reach *r, const char *port)
{
    for (int i = 0; i < r->nlan; i++) {
        char p[16];
        snprintf(p, sizeof p, "%d", r->lan[i].port);
        evbuffer_add_printf(b, "%s<b><code>%s</code></b> port <b><code>%s</code></b>", i ? ", or " : "",
                            r->lan[i].host, r->lan[i].port ? p : port);
    }
}

/* The paragraph about who can reach the proxy at all, for a page opened on this machine: a
 * loopback-only listener is the classic "the phone is told 127.0.0.1" trap. */
static void add_reach_notice(struct evbuffer *b, const struct setup_reach *r, const char *port)
{
    if (r->loopback_only) {
        evbuffer_add_printf(b,
            "<div class=alert><p><b>Phones and other devices cannot reach this proxy.</b> httpeek "
            "listens on a loopback address only, which only this machine can use (curl, a simulator, "
            "or an Android device through <code>adb reverse tcp:%s tcp:%s</code>).</p><p>To capture a "
            "phone, restart httpeek with <code>--listen 0.0.0.0:%s</code>, then set the phone's proxy to ",
            port, port, port);
        if (r->nlan)
            add_lan_list(b, r, port);
        else
            evbuffer_add_printf(b, "this machine's Wi-Fi address (none was up when httpeek started), "
                                   "port <b><code>%s</code></b>", port);
        evbuffer_add_printf(b, ".</p></div>");
        return;
    }
    evbuffer_add_printf(b, "<p class=note>You opened this page on the machine running httpeek. On a phone, set "
                           "the Wi-Fi proxy to ");
    if (r->nlan) {
        add_lan_list(b, r, port);
        evbuffer_add_printf(b, " and open <code>http://%s:%d/</code> there.</p>", r->lan[0].host,
                            r->lan[0].port);
    } else {
        evbuffer_add_printf(b, "this machine's Wi-Fi address (no network address other than loopback "
                               "was up when httpeek started).</p>");
    }
}

static int page(struct evbuffer *out, const struct setup_client *cl, int head_only, int close)
{
    const char *hp = cl->proxy_hostport;
    char host[256];
    snprintf(host, sizeof host, "%s", hp);
    char *colon = strrchr(host, ':');
    const char *port = colon ? colon + 1 : "8080";
    if (colon)
        *colon = '\0';
    const char *server = host; /* the proxy settings' Server field: an IPv6 address without brackets */
    if (host[0] == '[') {
        server = host + 1;
        host[strcspn(host, "]")] = '\0';
    }
    const char *status = cl->via_tls || cl->tls_trusted
        ? "<p class=ok>&#10004; This device uses the proxy and trusts httpeek's CA: its HTTPS "
          "traffic is visible.</p>"
        : cl->tls_refused
        ? "<p class=warn>This device uses the proxy but refused httpeek's certificate: install the "
          "CA and enable full trust (step 3). If only some apps refuse it, those apps pin their "
          "certificates or use their own trust store.</p>"
        : cl->via_proxy || cl->proxied
        ? "<p class=ok>&#10004; This device uses the proxy. Next: install and trust the CA below, "
          "then open <a href=\"https://" SETUP_HOST "/\">https://" SETUP_HOST "/</a> to check.</p>"
        : "<p class=warn>This device reached httpeek directly, but is not using it as its proxy "
          "yet: set the proxy first (step 1).</p>";
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return respond(out, 500, "text/plain", NULL, "out of memory\n", 14, head_only, close);
    /* Sized for a phone first (390 px): long commands wrap anywhere instead of widening the
     * page, and every button is at least 44 px high (Apple's minimum tap target). */
    evbuffer_add_printf(b,
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
        "<title>httpeek setup</title><style>"
        "body{font:16px/1.5 system-ui,-apple-system,sans-serif;max-width:44em;margin:1em auto;padding:0 1em;color:#222}"
        "h1{font-size:1.6em;margin:.4em 0}h2{font-size:1.25em;margin-top:1.5em}ul{padding-left:1.2em}li{margin:.4em 0}"
        "code{background:#f2f2f2;padding:.1em .3em;border-radius:3px;overflow-wrap:anywhere}"
        ".ok{color:#176c2c}.warn{color:#9a5b00}.note{background:#eef4fb;padding:.6em .8em;border-radius:6px}"
        ".alert{background:#fff3e0;border:2px solid #c77700;border-radius:6px;padding:0 .8em}"
        ".proxy{display:flex;flex-wrap:wrap;gap:.3em 1.5em;font-size:1.15em;margin:.6em 0}"
        ".proxy b{font-size:1.2em}"
        ".btns{display:flex;flex-wrap:wrap;gap:.5em}"
        "a.btn{display:inline-flex;align-items:center;min-height:44px;box-sizing:border-box;padding:.4em 1em;"
        "border:1px solid #888;border-radius:8px;text-decoration:none}"
        "@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}code{background:#222}"
        ".ok{color:#6c6}.warn{color:#eb5}a{color:#8bf}.note{background:#1c2733}.alert{background:#2b2010}}"
        "</style></head><body><h1>httpeek setup</h1>");
    if (setup_is_loopback(hp) && cl->reach)
        add_reach_notice(b, cl->reach, port);
    evbuffer_add_printf(b, "%s"
        "<h2>1. Point the device at the proxy</h2>"
        "<div class=proxy><span>Server <b><code>%s</code></b></span><span>Port <b><code>%s</code></b></span></div>"
        "<ul><li><b>iOS</b>: Settings &gt; Wi-Fi &gt; (i) &gt; Configure Proxy &gt; Manual; or Automatic with "
        "URL <code>http://%s/proxy.pac</code>.</li>"
        "<li><b>Android</b>: long-press the Wi-Fi network &gt; Modify &gt; Advanced &gt; Proxy: Manual.</li></ul>"
        "<h2>2. Install the CA</h2>"
        "<p class=btns><a class=btn href=\"http://%s/httpeek.mobileconfig\">iOS profile</a>"
        "<a class=btn href=\"http://%s/ca-cert.cer\">ca-cert.cer (DER)</a>"
        "<a class=btn href=\"http://%s/ca-cert.pem\">ca-cert.pem</a></p>"
        "<h2>3. Trust it</h2><ul>"
        "<li><b>iOS</b>: Settings &gt; General &gt; VPN &amp; Device Management &gt; httpeek CA &gt; Install; then "
        "<b>Settings &gt; General &gt; About &gt; Certificate Trust Settings</b> &gt; enable full trust for httpeek CA.</li>"
        "<li><b>Android 7+</b>: Settings &gt; Security &gt; Encryption &amp; credentials &gt; Install a certificate &gt; "
        "CA certificate (ca-cert.cer). Apps trust user CAs only if their "
        "<code>network_security_config</code> says so, e.g. for debug builds: "
        "<code>&lt;debug-overrides&gt;&lt;trust-anchors&gt;&lt;certificates src=\"user\"/&gt;&lt;/trust-anchors&gt;&lt;/debug-overrides&gt;</code>.</li>"
        "<li><b>macOS / iOS Simulator</b>: <code>security add-trusted-cert -d -r trustRoot -k "
        "/Library/Keychains/System.keychain ca-cert.pem</code>; Simulator: drag ca-cert.pem onto it "
        "or <code>xcrun simctl keychain booted add-root-cert ca-cert.pem</code>.</li>"
        "<li><b>Firefox</b> (own store): Settings &gt; Privacy &amp; Security &gt; Certificates &gt; Import (ca-cert.pem).</li>"
        "<li><b>curl</b>: <code>curl --cacert ca-cert.pem -x http://%s ...</code> or <code>SSL_CERT_FILE=ca-cert.pem</code>.</li>"
        "<li><b>Node</b>: <code>NODE_EXTRA_CA_CERTS=ca-cert.pem</code>. <b>Python requests</b>: "
        "<code>REQUESTS_CA_BUNDLE=ca-cert.pem</code>.</li></ul>"
        "<p>Remove the CA when you are done debugging.</p></body></html>\n",
        status, server, port, hp, hp, hp, hp, hp);
    size_t len = evbuffer_get_length(b);
    respond(out, 200, "text/html; charset=utf-8", NULL, NULL, len, 1, close);
    if (!head_only)
        evbuffer_add_buffer(out, b);
    evbuffer_free(b);
    return 200;
}

int setup_is_ca_download(const char *path)
{
    size_t n = strcspn(path, "?#");
    return (n == 12 && (!strncmp(path, "/ca-cert.pem", 12) || !strncmp(path, "/ca-cert.cer", 12) ||
                        !strncmp(path, "/ca-cert.crt", 12))) ||
           (n == 21 && !strncmp(path, "/httpeek.mobileconfig", 21)) ||
           (n == 7 && (!strncmp(path, "/ca.pem", 7) || !strncmp(path, "/ca.cer", 7)));
}

int setup_respond(struct evbuffer *out, const char *path, int head_only, struct ca *ca,
                  const struct setup_client *client, int close)
{
    size_t plen = strcspn(path, "?#");
#define IS(p) (plen == sizeof(p) - 1 && !strncmp(path, p, plen))
    if (IS("/") || IS("/setup"))
        return page(out, client, head_only, close);
    if (IS("/ca-cert.pem") || IS("/ca.pem")) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long len = 0;
        if (b && PEM_write_bio_X509(b, ca_cert(ca)))
            len = BIO_get_mem_data(b, &data);
        int st = len > 0 ? respond(out, 200, "application/x-pem-file", "httpeek-ca-cert.pem", data,
                                   (size_t)len, head_only, close)
                         : respond(out, 500, "text/plain", NULL, "cannot encode CA\n", 17, 0, close);
        BIO_free(b);
        return st;
    }
    if (IS("/ca-cert.cer") || IS("/ca-cert.crt") || IS("/ca.cer")) {
        unsigned char *der = NULL;
        int len = i2d_X509(ca_cert(ca), &der);
        /* application/x-x509-ca-cert is what Android's installer and iOS Safari act on */
        int st = len > 0 ? respond(out, 200, "application/x-x509-ca-cert", "httpeek-ca-cert.cer", der,
                                   (size_t)len, head_only, close)
                         : respond(out, 500, "text/plain", NULL, "cannot encode CA\n", 17, 0, close);
        OPENSSL_free(der);
        return st;
    }
    if (IS("/httpeek.mobileconfig")) {
        size_t len = 0;
        char *profile = mobileconfig_build(ca_cert(ca), &len);
        int st = profile ? respond(out, 200, MOBILECONFIG_CONTENT_TYPE, "httpeek.mobileconfig",
                                   profile, len, head_only, close)
                         : respond(out, 500, "text/plain", NULL, "cannot build profile\n", 21, 0, close);
        free(profile);
        return st;
    }
    if (IS("/proxy.pac")) {
        /* PROXY with no "; DIRECT" fallback: a device that cannot reach httpeek fails visibly
         * instead of quietly bypassing it (Charles and mitmproxy users expect every request to go
         * through, or fail). hostport is where this device reached the proxy, so it can reach
         * it. Only names that mean the device itself go DIRECT: through the proxy, "localhost"
         * would be this machine, not the phone. Plain host names do go through the proxy (the
         * app's traffic to a LAN server is what one debugs; a name httpeek cannot resolve shows
         * up as a -1003 flow rather than vanishing). */
        char pac[512];
        int n = snprintf(pac, sizeof pac,
                         "function FindProxyForURL(url, host) {\n"
                         "  if (host == \"localhost\" || dnsDomainIs(host, \".localhost\") ||\n"
                         "      shExpMatch(host, \"127.*\") || host == \"::1\" || host == \"[::1]\")\n"
                         "    return \"DIRECT\";\n"
                         "  return \"PROXY %s\";\n"
                         "}\n",
                         client->proxy_hostport);
        return respond(out, 200, "application/x-ns-proxy-autoconfig", NULL, pac, (size_t)n, head_only, close);
    }
#undef IS
    static const char nf[] = "httpeek: no such page (this is the proxy's own setup site)\n";
    return respond(out, 404, "text/plain; charset=utf-8", NULL, nf, sizeof nf - 1, head_only, close);
}
