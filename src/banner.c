/* banner.c — see banner.h. */
#include "banner.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

int banner_qr(FILE *out, const char *text)
{
#ifdef HAVE_QRENCODE
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (!q)
        return -1;
    int w = q->width, quiet = 2;
    /* Two modules per character cell, vertically: upper half block, lower half, full, blank.
     * Printed as dark-on-light so phones scan it on dark terminals too. */
    for (int y = -quiet; y < w + quiet; y += 2) {
        fputs("  \033[30;47m", out);
        for (int x = -quiet; x < w + quiet; x++) {
            int top = y >= 0 && y < w && x >= 0 && x < w && (q->data[y * w + x] & 1);
            int bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w && (q->data[(y + 1) * w + x] & 1);
            fputs(top && bot ? "\xe2\x96\x88" : top ? "\xe2\x96\x80" : bot ? "\xe2\x96\x84" : " ", out);
        }
        fputs("\033[0m\n", out);
    }
    QRcode_free(q);
    return 0;
#else
    (void)out;
    (void)text;
    return -1;
#endif
}

void banner_print(FILE *out, const char *listen_desc, int port, struct ca *ca, int insecure, int qr)
{
    fprintf(out, "httpeek %s proxy listening on %s\n", HTTPEEK_VERSION, listen_desc);
    int wildcard = strstr(listen_desc, "0.0.0.0:") || strstr(listen_desc, "[::]:");
    char first_lan[INET6_ADDRSTRLEN] = "";
    struct ifaddrs *ifs = NULL;
    if (wildcard && getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
                continue;
            char ip[INET6_ADDRSTRLEN];
            if (i->ifa_addr->sa_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof ip);
            else if (i->ifa_addr->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip, sizeof ip);
            else
                continue;
            int v6 = i->ifa_addr->sa_family == AF_INET6;
            fprintf(out, "  on %-10s %s%s%s:%d\n", i->ifa_name, v6 ? "[" : "", ip, v6 ? "]" : "", port);
            if (!first_lan[0] && !v6)
                snprintf(first_lan, sizeof first_lan, "%s", ip);
        }
        freeifaddrs(ifs);
    }
    fprintf(out, "CA certificate: %s%s\n", ca_cert_pem_path(ca), ca_was_created(ca) ? " (new)" : "");
    fprintf(out, "CA fingerprint (SHA-256): %s\n", ca_fingerprint(ca));
    fprintf(out, "curl: curl --cacert %s -x http://127.0.0.1:%d https://example.com/\n",
            ca_cert_pem_path(ca), port);
    if (first_lan[0]) {
        char url[128];
        snprintf(url, sizeof url, "http://%s:%d/", first_lan, port);
        fprintf(out, "Phone set-up: set the Wi-Fi proxy to %s port %d, then open %s\n", first_lan,
                port, url);
        if (qr)
            banner_qr(out, url);
    } else {
        fprintf(out, "Phone set-up: open http://<this machine's address>:%d/ from the phone\n", port);
    }
    if (insecure)
        fprintf(out, "WARNING: --insecure: upstream certificates are NOT verified\n");
    fflush(out);
}
