/* setup.c — see setup.h. The full phone set-up page (iOS profile, PAC, QR) grows here; for now
 * the page explains the two steps (proxy, trust the CA) and serves the CA as PEM and DER. */
#include "setup.h"

#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "http1.h"

static const char page[] =
    "<!doctype html><html><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<title>httpeek setup</title></head><body style=\"font-family:system-ui,sans-serif;"
    "max-width:40em;margin:2em auto;padding:0 1em\">"
    "<h1>httpeek</h1><p>This device reaches the httpeek proxy. To see HTTPS traffic, install "
    "and trust httpeek's certificate authority:</p><ul>"
    "<li><a href=\"/ca-cert.pem\">ca-cert.pem</a> (PEM: curl, Node, Python, macOS)</li>"
    "<li><a href=\"/ca-cert.cer\">ca-cert.cer</a> (DER: iOS, Android)</li></ul>"
    "<p>curl: <code>curl --cacert ca-cert.pem -x http://PROXY:PORT https://example.com/</code></p>"
    "</body></html>\n";

static int respond(struct evbuffer *out, int status, const char *type, const char *disposition,
                   const void *body, size_t len, int head_only, int close)
{
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n%s%s%s%s\r\n",
                        status, http1_reason(status), type, len,
                        disposition ? "Content-Disposition: attachment; filename=\"" : "",
                        disposition ? disposition : "", disposition ? "\"\r\n" : "",
                        close ? "Connection: close\r\n" : "");
    if (!head_only && len)
        evbuffer_add(out, body, len);
    return status;
}

int setup_respond(struct evbuffer *out, const char *path, int head_only, struct ca *ca, int close)
{
    size_t plen = strcspn(path, "?#");
    if ((plen == 1 && path[0] == '/') || (plen == 6 && !strncmp(path, "/setup", 6)))
        return respond(out, 200, "text/html; charset=utf-8", NULL, page, sizeof page - 1,
                       head_only, close);
    if (plen == 12 && !strncmp(path, "/ca-cert.pem", 12)) {
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
    if (plen == 12 && !strncmp(path, "/ca-cert.cer", 12)) {
        unsigned char *der = NULL;
        int len = i2d_X509(ca_cert(ca), &der);
        int st = len > 0 ? respond(out, 200, "application/pkix-cert", "httpeek-ca-cert.cer", der,
                                   (size_t)len, head_only, close)
                         : respond(out, 500, "text/plain", NULL, "cannot encode CA\n", 17, 0, close);
        OPENSSL_free(der);
        return st;
    }
    static const char nf[] = "httpeek: no such page (this is the proxy's own setup site)\n";
    return respond(out, 404, "text/plain; charset=utf-8", NULL, nf, sizeof nf - 1, head_only, close);
}
