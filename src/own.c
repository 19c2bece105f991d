/* own.c — see own.h. */
#include "own.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "http1.h"
#include "log.h"
#include "record.h"
#include "setup.h"
#include "str.h"

int own_host_is_self(const char *host_header, int local_port)
{
    if (!host_header || !host_header[0])
        return 1; /* HTTP/1.0 without Host: nothing says it was meant for anyone else */
    char host[256];
    int port;
    if (opts_split_hostport(host_header, host, sizeof host, &port, 80) < 0)
        return 0;
    if (port == local_port)
        return 1; /* someone typed httpeek's port: it is httpeek they want */
    for (char *s = host; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
    size_t n = strlen(host);
    if (!strcmp(host, SETUP_HOST) || !strcmp(host, "localhost") ||
        (n > 10 && !strcmp(host + n - 10, ".localhost")))
        return 1;
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
        return 1; /* an address typed on the phone: the setup path */
    if (n > 6 && !strcmp(host + n - 6, ".local"))
        host[n - 6] = '\0';
    char me[256];
    if (gethostname(me, sizeof me) != 0)
        return 0;
    me[sizeof me - 1] = '\0';
    if (!strcasecmp(host, me))
        return 1;
    char *dot = strchr(me, '.');
    if (dot)
        *dot = '\0';
    return !strcasecmp(host, me);
}

int own_path_is_automatic(const char *path)
{
    size_t n = strcspn(path, "?#");
    return (n == 12 && !strncmp(path, "/favicon.ico", 12)) ||
           (n == 11 && !strncmp(path, "/robots.txt", 11)) ||
           (n > 17 && !strncmp(path, "/apple-touch-icon", 17) && !strncmp(path + n - 4, ".png", 4));
}

static void sockaddr_words(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(in6->sin6_port);
        if (!strncmp(ip, "::ffff:", 7)) /* v4-mapped: show the IPv4 address */
            memmove(ip, ip + 7, strlen(ip + 7) + 1);
    }
}

void own_client_address(const struct sockaddr *addr, char *out, size_t outlen, int *port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                      : addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : 0);
    sockaddr_words(&ss, out, outlen, port);
}

void own_local_address(int fd, char *out, size_t outlen, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "";
    int p = 0;
    out[0] = '\0';
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_words(&ss, ip, sizeof ip, &p);
    if (port)
        *port = p;
    if (ip[0])
        snprintf(out, outlen, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, p);
}

/* ------------------------------------------------------------------------------------------ */
/* httpeek's own pages as flows (--record-own) */

static int cap_head(void *arg, struct http1_head *head)
{
    struct flow *f = arg;
    if (!f->resp)
        f->resp = http1_head_take(head);
    return 0;
}

static int cap_head_only(void *arg, struct http1_head *head)
{
    cap_head(arg, head);
    return 1; /* the answer to a HEAD: no body follows */
}

static int cap_body(void *arg, const char *data, size_t len)
{
    flow_capture_add(&((struct flow *)arg)->resp_body, data, len);
    return 0;
}

static int cap_done(void *arg)
{
    (void)arg;
    return 1;
}

void own_capture_response(struct flow *f, struct evbuffer *out, size_t from, int head_only)
{
    static const struct http1_handlers with_body = {cap_head, cap_body, cap_done, NULL};
    static const struct http1_handlers no_body = {cap_head_only, cap_body, cap_done, NULL};
    /* a copy, by peeking: a bufferevent's output has its start frozen (no copyout), and the
     * client's output must stay as it is (own pages are a few kB) */
    struct evbuffer_ptr pos;
    if (evbuffer_get_length(out) <= from || evbuffer_ptr_set(out, &pos, from, EVBUFFER_PTR_SET) < 0)
        return;
    int nv = evbuffer_peek(out, -1, &pos, NULL, 0);
    struct evbuffer_iovec *v = nv > 0 ? calloc((size_t)nv, sizeof *v) : NULL;
    struct evbuffer *copy = evbuffer_new();
    if (v && copy && evbuffer_peek(out, -1, &pos, v, nv) == nv) {
        int ok = 1;
        for (int i = 0; i < nv && ok; i++)
            ok = evbuffer_add(copy, v[i].iov_base, v[i].iov_len) == 0;
        struct http1_parser p;
        http1_parser_init(&p, 0, head_only ? &no_body : &with_body, f);
        if (ok)
            http1_feed(&p, copy);
        http1_parser_free(&p);
    }
    free(v);
    if (copy)
        evbuffer_free(copy);
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

int own_not_for_a_proxy(struct flow *f, int fd, char *why, size_t whylen)
{
    const char *hh = http1_head_get(f->req, "host");
    char self[72];
    int local_port = 0;
    own_local_address(fd, self, sizeof self, &local_port);
    if (own_host_is_self(hh, local_port))
        return 0;
    char url[8192];
    snprintf(url, sizeof url, "http://%.255s%.7900s", hh, f->req->target);
    flow_set_url(f, url);
    str_copy(f->scheme, sizeof f->scheme, "http");
    if (opts_split_hostport(hh, f->host, sizeof f->host, &f->port, 80) < 0)
        str_copy(f->host, sizeof f->host, "");
    lowercase(f->host);
    str_copy(f->proxy_addr, sizeof f->proxy_addr, self);
    f->fail.refusal = FLOW_REFUSED_NOT_PROXY;
    flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0,
              "not a proxy request: %.100s for host %.100s came to the proxy port with no proxy set",
              f->req->target, hh);
    snprintf(why, whylen,
             "this is an HTTP proxy, not %.100s: set the proxy to %s (or the PAC "
             "http://%s/proxy.pac). Traffic redirected to this port with no proxy set "
             "(transparent mode) is not supported.", hh, self, self);
    return 1;
}

int own_page_flow(struct flow *f, int record_own, int fd, int via_tls, const char *path,
                  int status, struct evbuffer *out, size_t before, int head_only)
{
    char url[8192];
    const char *hh = f->req ? http1_head_get(f->req, "host") : NULL;
    const char *target = f->req ? f->req->target : path;
    char self[72];
    own_local_address(fd, self, sizeof self, NULL);
    if (target[0] != '/' && target[0] != '*') /* http://httpeek.test/... through the proxy */
        snprintf(url, sizeof url, "%s", target);
    else if (via_tls)
        snprintf(url, sizeof url, "https://%s%.7900s", SETUP_HOST, target);
    else
        snprintf(url, sizeof url, "http://%.255s%.7900s", hh ? hh : self, target);
    flow_set_url(f, url);
    str_copy(f->scheme, sizeof f->scheme, via_tls ? "https" : "http");
    if (via_tls || target[0] != '/' || !hh ||
        opts_split_hostport(hh, f->host, sizeof f->host, &f->port, 80) < 0) {
        str_copy(f->host, sizeof f->host, SETUP_HOST);
        f->port = via_tls ? 443 : 80;
    }
    lowercase(f->host);
    if (status == 404 && !own_path_is_automatic(path)) {
        f->fail.status_sent = 404;
        f->fail.refusal = FLOW_REFUSED_NO_PAGE;
        str_copy(f->proxy_addr, sizeof f->proxy_addr, self);
        flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "httpeek's own site has no page %.200s", path);
        return 1;
    }
    if (!record_own)
        return 0;
    f->own = 1;
    own_capture_response(f, out, before, head_only);
    snprintf(f->note, sizeof f->note, "httpeek's own page (recorded: --record-own)");
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Connections refused at accept */

/* 1 when this refusal is recorded; *left_out gets the refusals of the same kind not recorded
 * before it. */
static int admit(struct proxy *p, struct own_limiter *l, const char *client, int status,
                 unsigned *left_out)
{
    uint64_t now = flow_now_us() / 1000000;
    if (l->second != now) {
        l->second = now;
        l->recorded = 0;
    }
    uint32_t h = 2166136261u ^ (uint32_t)status; /* FNV-1a */
    for (const unsigned char *s = (const unsigned char *)client; *s; s++)
        h = (h ^ *s) * 16777619u;
    struct own_slot *sl = &l->slot[h % OWN_LIMITER_SLOTS];
    if (sl->status != status || strcmp(sl->client, client)) {
        memset(sl, 0, sizeof *sl);
        str_copy(sl->client, sizeof sl->client, client);
        sl->status = status;
    }
    if (sl->second != now) {
        sl->second = now;
        sl->recorded = 0;
    }
    if (sl->recorded >= OWN_REFUSALS_PER_CLIENT || l->recorded >= OWN_REFUSALS_PER_WORKER ||
        (p->sink_busy && p->sink_busy(p->sink_arg))) {
        sl->left_out++;
        return 0;
    }
    sl->recorded++;
    l->recorded++;
    *left_out = sl->left_out;
    sl->left_out = 0;
    return 1;
}

/* --allow-client as given, or what the default is. */
static void allowed_words(const struct opts *o, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < o->nallow_client; i++) {
        str_append(out, outlen, &n, i ? ", " : "");
        str_append(out, outlen, &n, o->allow_client[i]);
    }
    if (!o->nallow_client)
        str_append(out, outlen, &n, "default: loopback and private ranges");
}

void own_refuse_connection(struct proxy *p, struct own_limiter *l, int fd,
                           const struct sockaddr *addr, enum flow_refusal why, int open)
{
    char client[64], local[72], allowed[160], reason[256];
    int port = 0;
    int status = why == FLOW_REFUSED_CLIENT ? 403 : 503;
    own_client_address(addr, client, sizeof client, &port);
    own_local_address(fd, local, sizeof local, NULL);
    const char *body = status == 403
        ? "httpeek: this address may not use the proxy (see --allow-client)\n"
        : why == FLOW_REFUSED_CLIENT_BUSY
        ? "httpeek: too many connections open from this address (see --max-client-connections)\n"
        : "httpeek: too many connections open (see --max-connections)\n";
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                     status, http1_reason(status), strlen(body),
                     status == 503 ? "Retry-After: 1\r\n" : "", body);
    /* a fresh socket's buffer takes these few bytes at once; the request is never read */
    ssize_t sent = send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)sent;
    shutdown(fd, SHUT_WR);
    close(fd);

    unsigned left_out = 0;
    if (!admit(p, l, client, status, &left_out))
        return;
    if (status == 403) {
        allowed_words(p->opts, allowed, sizeof allowed);
        snprintf(reason, sizeof reason,
                 "client %s is not in the ranges allowed to use the proxy (--allow-client: %s)",
                 client, allowed);
        log_msg(LOG_WARN, "refused client %s: not in the allowed ranges (--allow-client)%s", client,
                left_out ? " (and more refusals not recorded)" : "");
    } else if (why == FLOW_REFUSED_CLIENT_BUSY) {
        snprintf(reason, sizeof reason,
                 "client %s had %d connections open, the --max-client-connections %d limit: its "
                 "new ones are refused until some close (other clients are still served)", client,
                 open, p->opts->max_client_connections);
    } else {
        snprintf(reason, sizeof reason,
                 "%d client connections were open, the --max-connections %d limit: new ones are "
                 "refused until some close", open, p->opts->max_connections);
    }
    struct flow *f = flow_new(0, atomic_fetch_add(&p->next_conn_id, 1) + 1, p->opts->max_body);
    if (!f)
        return;
    str_copy(f->client_addr, sizeof f->client_addr, client);
    f->client_port = port;
    str_copy(f->proxy_addr, sizeof f->proxy_addr, local);
    flow_set_url(f, "-");
    f->fail.status_sent = status;
    f->fail.refusal = why;
    flow_fail(f, FLOW_STAGE_CLIENT_REQUEST, 0, "%s", reason);
    if (left_out)
        snprintf(f->note, sizeof f->note,
                 "%u more %d refusals of this client were not recorded (at most %d a second)",
                 left_out, status, OWN_REFUSALS_PER_CLIENT);
    record_flow(p, f);
}
