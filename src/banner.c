/* banner.c — see banner.h. */
#include "banner.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
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

/* One "host:port" or "[v6]:port" of a listener description into host (brackets kept) and port.
 * Returns the position after it (past ", "), or NULL at the end. */
static const char *next_listener(const char *p, char *host, size_t hostlen, int *port)
{
    while (*p == ' ' || *p == ',')
        p++;
    if (!*p)
        return NULL;
    size_t n = strcspn(p, ",");
    char one[INET6_ADDRSTRLEN + 16];
    snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
    char *colon = strrchr(one, ':');
    *port = colon ? atoi(colon + 1) : 0;
    if (colon)
        *colon = '\0';
    snprintf(host, hostlen, "%s", one);
    return p + n;
}

static int is_loopback_host(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "[::1]");
}

/* 1 for interfaces no phone is on: container and VM bridges, VPN tunnels. */
static int is_virtual_interface(const char *name)
{
    static const char *const prefixes[] = {"docker", "br-", "veth", "virbr", "vmnet", "vboxnet",
                                           "tun", "tap", "utun", "wg", "cni", "flannel"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
            return 1;
    return 0;
}

/* One interface address of family with port into r->lan (the caller checked the room); IPv6
 * link-local is skipped: a phone cannot type a scope id into its proxy settings. */
static void add_address(struct setup_reach *r, const struct ifaddrs *i, int family, int port)
{
    char ip[INET6_ADDRSTRLEN];
    if (family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof ip);
    } else {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
        if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a))
            return;
        inet_ntop(AF_INET6, a, ip, sizeof ip);
    }
    snprintf(r->lan[r->nlan].ifname, sizeof r->lan[r->nlan].ifname, "%s", i->ifa_name);
    snprintf(r->lan[r->nlan].host, sizeof r->lan[r->nlan].host, family == AF_INET6 ? "[%s]" : "%s", ip);
    r->lan[r->nlan].port = port;
    r->nlan++;
}

/* Append this machine's up, non-loopback addresses of family (AF_INET, AF_INET6) with port to
 * r->lan: real interfaces first, so the set-up line and its QR code name the Wi-Fi or Ethernet
 * address rather than a container bridge's. */
static void add_interfaces(struct setup_reach *r, struct ifaddrs *ifs, int family, int port)
{
    for (int pass = 0; pass < 2; pass++)
        for (struct ifaddrs *i = ifs; i && r->nlan < SETUP_MAX_LAN; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != family || (i->ifa_flags & IFF_LOOPBACK) ||
                !(i->ifa_flags & IFF_UP) || is_virtual_interface(i->ifa_name) != pass)
                continue;
            add_address(r, i, family, port);
        }
}

void banner_reach(const char *listen_desc, struct setup_reach *r)
{
    memset(r, 0, sizeof *r);
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        ifs = NULL;
    int nlisteners = 0, nloopback = 0;
    char host[INET6_ADDRSTRLEN + 8];
    int port;
    for (const char *p = listen_desc; (p = next_listener(p, host, sizeof host, &port));) {
        nlisteners++;
        if (is_loopback_host(host))
            nloopback++;
        else if (!strcmp(host, "0.0.0.0"))
            add_interfaces(r, ifs, AF_INET, port); /* IPv4 only: [::] listeners are IPV6_V6ONLY */
        else if (!strcmp(host, "[::]"))
            add_interfaces(r, ifs, AF_INET6, port);
        else if (r->nlan < SETUP_MAX_LAN) { /* one given address: that is where phones go */
            snprintf(r->lan[r->nlan].host, sizeof r->lan[r->nlan].host, "%s", host);
            r->lan[r->nlan].port = port;
            r->nlan++;
        }
    }
    r->loopback_only = nlisteners > 0 && nloopback == nlisteners;
    if (r->loopback_only)
        add_interfaces(r, ifs, AF_INET, 0); /* what --listen 0.0.0.0 would offer phones */
    if (ifs)
        freeifaddrs(ifs);
}

void banner_print(FILE *out, const char *listen_desc, const struct setup_reach *reach, struct ca *ca,
                  int insecure, int qr)
{
    fprintf(out, "httpeek %s proxy listening on %s\n", HTTPEEK_VERSION, listen_desc);
    if (!reach->loopback_only)
        for (int i = 0; i < reach->nlan; i++)
            fprintf(out, "  on %-10s %s:%d\n", reach->lan[i].ifname[0] ? reach->lan[i].ifname : "address",
                    reach->lan[i].host, reach->lan[i].port);
    /* this machine's own clients (curl) use the first listener; a wildcard one through loopback */
    char local[INET6_ADDRSTRLEN + 8] = "127.0.0.1";
    int port = 8080;
    next_listener(listen_desc, local, sizeof local, &port);
    if (!strcmp(local, "0.0.0.0"))
        snprintf(local, sizeof local, "127.0.0.1");
    else if (!strcmp(local, "[::]"))
        snprintf(local, sizeof local, "[::1]");
    fprintf(out, "CA certificate: %s%s\n", ca_cert_pem_path(ca), ca_was_created(ca) ? " (new)" : "");
    fprintf(out, "CA fingerprint (SHA-256): %s\n", ca_fingerprint(ca));
    fprintf(out, "curl: curl --cacert %s -x http://%s:%d https://example.com/\n", ca_cert_pem_path(ca), local,
            port);
    if (reach->loopback_only) {
        /* the trap this line is for: a phone told 127.0.0.1 reaches itself, never httpeek */
        fprintf(out, "WARNING: listening on loopback only: phones and other devices cannot reach %s:%d "
                     "(only this machine can: curl, a simulator, adb reverse). For a phone, run with "
                     "--listen 0.0.0.0:%d and set its proxy to ", local, port, port);
        if (!reach->nlan)
            fprintf(out, "this machine's Wi-Fi address (none is up now)");
        for (int i = 0; i < reach->nlan; i++)
            fprintf(out, "%s%s (%s)", i ? ", " : "", reach->lan[i].host, reach->lan[i].ifname);
        fprintf(out, " port %d.\n", port);
    } else if (reach->nlan) {
        /* the QR code and the one-line hint name the first address: IPv4 first when wildcard */
        int first = 0;
        for (int i = 0; i < reach->nlan; i++)
            if (reach->lan[i].host[0] != '[') {
                first = i;
                break;
            }
        char url[128], server[INET6_ADDRSTRLEN + 2];
        snprintf(url, sizeof url, "http://%s:%d/", reach->lan[first].host, reach->lan[first].port);
        /* a phone's proxy "Server" field takes an IPv6 address without brackets */
        snprintf(server, sizeof server, "%s", reach->lan[first].host + (reach->lan[first].host[0] == '['));
        server[strcspn(server, "]")] = '\0';
        fprintf(out, "Phone set-up: set the Wi-Fi proxy to %s port %d, then open %s\n", server,
                reach->lan[first].port, url);
        if (qr)
            banner_qr(out, url);
    } else {
        fprintf(out, "Phone set-up: open http://<this machine's address>:%d/ from the phone (no network "
                     "address other than loopback is up)\n", port);
    }
    if (insecure)
        fprintf(out, "WARNING: --insecure: upstream certificates are NOT verified\n");
    fflush(out);
}
