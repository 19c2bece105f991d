/* exchange_route.c — see exchange_route.h. */
#include "exchange_route.h"

#include <stdio.h>
#include <string.h>
#include "opts.h"
#include "own.h"
#include "setup.h"
#include "str.h"

int exchange_parse_absolute(const char *target, char *scheme, size_t slen, char *host, size_t hlen,
                            int *port, const char **path)
{
    const char *sep = strstr(target, "://");
    if (!sep || (size_t)(sep - target) >= slen || sep == target)
        return -1;
    memcpy(scheme, target, (size_t)(sep - target));
    scheme[sep - target] = '\0';
    for (char *s = scheme; *s; s++)
        *s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    *path = auth[alen] ? auth + alen : "/";
    if (alen == 0 || memchr(auth, '@', alen)) /* no userinfo through a proxy */
        return -1;
    char authority[300];
    if (alen >= sizeof authority)
        return -1;
    memcpy(authority, auth, alen);
    authority[alen] = '\0';
    int def = !strcmp(scheme, "https") ? 443 : 80;
    return opts_split_hostport(authority, host, hlen, port, def);
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

void exchange_format_authority(char *out, size_t len, const char *host, int port, int tls)
{
    int v6 = strchr(host, ':') != NULL;
    size_t n = 0;
    out[0] = '\0';
    str_append(out, len, &n, v6 ? "[" : "");
    str_append(out, len, &n, host);
    str_append(out, len, &n, v6 ? "]" : "");
    if (port != (tls ? 443 : 80)) {
        str_append(out, len, &n, ":");
        str_append_uint(out, len, &n, (uint64_t)(unsigned)port);
    }
}

/* The request-target is "*" of OPTIONS or origin-form: no absolute URL in it. */
static int origin_form(const struct http1_head *req)
{
    return req->target[0] == '/' || (req->method == HTTP_OPTIONS && !strcmp(req->target, "*"));
}

/* A malformed or unsupported target (the flow failed with its words): refused as how. */
static enum exchange_route_result refused(enum flow_refusal *why, enum flow_refusal how)
{
    *why = how;
    return EXCHANGE_ROUTE_REFUSED;
}

enum exchange_route_result exchange_route(struct exchange *ex, struct exchange_route *r,
                                          enum flow_refusal *why, char *reason, size_t reasonlen)
{
    struct flow *f = ex->flow;
    const struct http1_head *req = f->req;
    const struct tunnel *tun = ex->tun;
    const char *target = req->target;
    str_copy(r->scheme, sizeof r->scheme, "http");
    r->host[0] = '\0';
    r->port = 80;
    r->path = target;
    r->host_field = NULL;

    if (tun->intercepted) {
        if (!strcmp(tun->host, SETUP_HOST))
            return EXCHANGE_ROUTE_OWN; /* https://httpeek.test/: the setup site over TLS */
        str_copy(r->scheme, sizeof r->scheme, "https");
        str_copy(r->host, sizeof r->host,
                 ex->route_host && ex->route_host[0] ? ex->route_host
                 : tun->sni[0]                      ? tun->sni
                                                    : tun->host);
        r->port = tun->port;
        if (!origin_form(req)) {
            char s2[16], h2[256];
            int p2;
            if (exchange_parse_absolute(target, s2, sizeof s2, h2, sizeof h2, &p2, &r->path) < 0) {
                flow_set_url(f, target);
                flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "malformed request-target '%.100s'", target);
                str_copy(reason, reasonlen, "malformed request target in the tunnel");
                return refused(why, FLOW_REFUSED_BAD_TARGET);
            }
        }
        exchange_format_authority(r->authority, sizeof r->authority, r->host, r->port, 1);
        if (!http1_head_get(req, "host"))
            r->host_field = r->authority;
    } else if (origin_form(req)) {
        /* Not a proxy request: someone opened http://PROXY:PORT/ (the phone set-up path), or a
         * client with no proxy set was sent here for another server. */
        if (!own_not_for_a_proxy(f, ex->client_fd, reason, reasonlen))
            return EXCHANGE_ROUTE_OWN;
        return refused(why, FLOW_REFUSED_NOT_PROXY);
    } else {
        if (exchange_parse_absolute(target, r->scheme, sizeof r->scheme, r->host, sizeof r->host,
                                    &r->port, &r->path) < 0) {
            flow_set_url(f, target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "malformed request-target '%.100s'", target);
            str_copy(reason, reasonlen,
                     "malformed request target: a proxy request needs an absolute http:// or "
                     "https:// URL with a host");
            return refused(why, FLOW_REFUSED_BAD_TARGET);
        }
        if (strcmp(r->scheme, "http") && strcmp(r->scheme, "https")) {
            flow_set_url(f, target);
            flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "unsupported URL scheme '%s'", r->scheme);
            snprintf(reason, reasonlen, "unsupported URL scheme '%.20s' (only http and https)",
                     r->scheme);
            return refused(why, FLOW_REFUSED_UNSUPPORTED);
        }
        lowercase(r->host);
        if (!strcmp(r->host, SETUP_HOST))
            return EXCHANGE_ROUTE_OWN;
        exchange_format_authority(r->authority, sizeof r->authority, r->host, r->port,
                                  !strcmp(r->scheme, "https"));
        r->host_field = r->authority;
    }
    lowercase(r->host);
    str_copy(f->scheme, sizeof f->scheme, r->scheme);
    str_copy(f->host, sizeof f->host, r->host);
    f->port = r->port;
    char url[8192];
    size_t url_len = 0;
    url[0] = '\0';
    str_append(url, sizeof url, &url_len, r->scheme);
    str_append(url, sizeof url, &url_len, "://");
    str_append(url, sizeof url, &url_len, r->authority);
    str_append(url, sizeof url, &url_len, r->path[0] == '*' ? "" : r->path);
    flow_set_url(f, url);
    return EXCHANGE_ROUTE_UPSTREAM;
}

int exchange_route_again(const struct exchange *ex, const char **path, char *host_field,
                         size_t len)
{
    const struct uplink *u = ex->up;
    const struct http1_head *req = ex->flow->req;
    exchange_format_authority(host_field, len, u->host, u->port, u->tls);
    const char *mapped = ex->flow->rules ? ex->flow->rules->sent_path : NULL; /* map remote's */
    if (http1_head_get(req, "host") && ex->tun->intercepted && !mapped)
        host_field[0] = '\0';
    *path = req->target;
    if (mapped) {
        *path = mapped;
    } else if ((*path)[0] != '/') {
        char s[16], h[256];
        int p;
        if (exchange_parse_absolute(req->target, s, sizeof s, h, sizeof h, &p, path) < 0)
            return -1;
    }
    return 0;
}

unsigned exchange_alt_svc_flags(const struct exchange *ex, struct flow *f,
                                const struct http1_head *resp)
{
    if (ex->proxy->opts->keep_alt_svc || !http1_head_get(resp, "alt-svc"))
        return 0;
    /* QUIC goes around the proxy: an app that learns of h3 stops showing up here */
    if (!f->note[0])
        snprintf(f->note, sizeof f->note,
                 "Alt-Svc removed so the app stays on this proxy instead of HTTP/3 "
                 "(--strip-alt-svc=no keeps it)");
    return EXCHANGE_STRIP_ALT_SVC;
}
