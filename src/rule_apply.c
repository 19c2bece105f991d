/* rule_apply.c — see rule_apply.h.
 *
 * An answer from a rule (a mapped file, a block's status, a response cut mid-body) is written as
 * HTTP/1.1 bytes into one end of a bufferevent pair whose other end becomes the uplink's leg: the
 * uplink reads it on the next loop turn as if a server had sent it, so the response parser, the
 * front's writer (HTTP/1.1 or HTTP/2), the flow's capture and its completion are the same code as
 * for a real server, and nothing here runs under the front's parser callbacks. */
#include "rule_apply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <llhttp.h>
#include "exchange.h"
#include "record.h"
#include "rule_rewrite.h"
#include "ruleset.h"
#include "str.h"
#include "uplink_h2.h"
#include "throttle_apply.h"
#include "tls_facts.h"
#include "upstream.h"

/* Largest file a map local rule answers with (it is read whole). */
#define RULE_FILE_MAX (64u << 20)

/* ------------------------------------------------------------------------------------------ */
/* Answering through the uplink */

/* Make a socketless connection the uplink's, carrying resp (then EOF when eof). Returns 0 or -1
 * out of memory. */
static int answer(struct exchange *ex, const struct rule_target *t, struct evbuffer *resp, int eof)
{
    struct uplink *u = ex->up;
    struct bufferevent *pair[2];
    if (bufferevent_pair_new(ex->base, BEV_OPT_DEFER_CALLBACKS, pair) < 0)
        return -1;
    if (u->connecting) {
        upstream_cancel(u->connecting);
        u->connecting = NULL;
    }
    uplink_h2_detach(u); /* a shared HTTP/2 connection the last exchange used stays for others */
    leg_close(&u->leg); /* a kept-alive connection to the origin: not for this answer */
    if (u->pending)
        evbuffer_drain(u->pending, evbuffer_get_length(u->pending));
    tls_facts_clear(&u->leg.tls);
    name_str_set(&u->host, t->host);
    u->port = t->port;
    u->tls = 0;
    u->exchanges = 0;
    u->reusable = 0;
    u->server_ip[0] = '\0';
    leg_attach(&u->leg, pair[0], NULL, NULL, NULL, NULL);
    uplink_adopt(u);
    ex->rule_local = 1;
    bufferevent_write_buffer(pair[1], resp);
    /* all of it crosses now, whatever the read watermark: the writing end goes away */
    bufferevent_flush(pair[1], EV_WRITE, eof ? BEV_FINISHED : BEV_FLUSH);
    bufferevent_free(pair[1]);
    ex->phase = EXCHANGE_FORWARDING;
    ex->front->phase(ex, EXCHANGE_FORWARDING, "answered by a rule");
    return 0;
}

/* A response head (status, reason, content type, body length) into out. */
static void head(struct evbuffer *out, int status, const char *reason, const char *ctype,
                 size_t len, const char *rule_id)
{
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "X-Httpeek-Rule: %s\r\n\r\n", status, reason, ctype, len, rule_id);
}

/* A short text answer (status, body) for a rule, no body for HEAD. */
static int answer_text(struct exchange *ex, const struct rule_target *t, const struct rule *r,
                       int status, const char *reason, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return -1;
    head(b, status, reason, "text/plain; charset=utf-8", strlen(body), r->id);
    if (!ex->head_request)
        evbuffer_add(b, body, strlen(body));
    int rc = answer(ex, t, b, 0);
    evbuffer_free(b);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Map local */

static const char *content_type(const char *file)
{
    static const struct { const char *ext, *type; } types[] = {
        {".json", "application/json"}, {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
        {".js", "text/javascript"}, {".css", "text/css"}, {".xml", "application/xml"},
        {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
        {".gif", "image/gif"}, {".webp", "image/webp"}, {".svg", "image/svg+xml"},
        {".pdf", "application/pdf"}, {".m3u8", "application/vnd.apple.mpegurl"},
        {".mp4", "video/mp4"}, {".ts", "video/mp2t"}, {".plist", "application/x-plist"},
        {".csv", "text/csv"}, {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(file, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            if (!strcasecmp(dot, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}

/* Read file whole into out; -1 (errno) when it cannot be read or is too large. */
static int read_into(struct evbuffer *out, const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    struct stat st;
    if (!f)
        return -1;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > RULE_FILE_MAX) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
        fclose(f);
        errno = e;
        return -1;
    }
    char buf[16384];
    size_t n;
    *len = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && *len <= RULE_FILE_MAX) {
        evbuffer_add(out, buf, n);
        *len += n;
    }
    int bad = ferror(f);
    fclose(f);
    errno = bad ? EIO : 0;
    return bad ? -1 : 0;
}

/* A raw HTTP response file (".http": status line, header lines, blank line, body; LF or CRLF)
 * into out as a well-framed HTTP/1.1 response: CRLF lines, the body's own Content-Length (the
 * file's Content-Length / Transfer-Encoding are replaced). *status gets its status; -1 with why
 * when the file is not a response. */
static int raw_response(struct evbuffer *out, const char *text, size_t len, int head_request,
                        int *status, char *why, size_t whylen)
{
    const char *end = text + len, *p = text;
    const char *eol = memchr(p, '\n', len);
    if (!eol || len < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ' || p[9] < '1' || p[9] > '5') {
        snprintf(why, whylen, "the first line is not an HTTP status line (\"HTTP/1.1 200 OK\")");
        return -1;
    }
    *status = atoi(p + 9);
    if (*status < 200) { /* no peer behind a file: no 101 to relay, no final response after a 1xx */
        snprintf(why, whylen, "status %d: a file can answer 200..599 only", *status);
        return -1;
    }
    size_t sl = (size_t)(eol - p);
    if (sl && p[sl - 1] == '\r')
        sl--;
    evbuffer_add(out, p, sl);
    evbuffer_add(out, "\r\n", 2);
    p = eol + 1;
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
        const char *next = eol ? eol + 1 : end;
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (ll == 0) { /* the blank line: the body follows */
            p = next;
            break;
        }
        const char *colon = memchr(p, ':', ll);
        if (!colon || colon == p) {
            snprintf(why, whylen, "a header line without a name and ':' (\"%.*s\")",
                     (int)(ll > 60 ? 60 : ll), p);
            return -1;
        }
        size_t nl = (size_t)(colon - p);
        if (!((nl == 14 && !strncasecmp(p, "content-length", 14)) ||
              (nl == 17 && !strncasecmp(p, "transfer-encoding", 17)) ||
              (nl == 10 && !strncasecmp(p, "connection", 10)))) {
            evbuffer_add(out, p, ll);
            evbuffer_add(out, "\r\n", 2);
        }
        p = next;
    }
    size_t body = (size_t)(end - p);
    int bodiless = *status == 204 || *status == 304 || *status < 200;
    if (!bodiless)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", body);
    evbuffer_add(out, "\r\n", 2);
    if (!bodiless && !head_request)
        evbuffer_add(out, p, body);
    return 0;
}

/* The file a map local rule names for this request: the target itself, or for a directory the
 * rest of the path inside it (index.html for a directory path). -1 when the path climbs out. */
static int local_file(const struct rule *r, const char *rest, const char *path, char *file,
                      size_t len)
{
    struct stat st;
    if (stat(r->target, &st) < 0 || !S_ISDIR(st.st_mode)) {
        str_copy(file, len, r->target);
        return 0;
    }
    const char *sub = rest ? rest : path;
    size_t sl = strcspn(sub, "?#");
    while (sl && *sub == '/')
        sub++, sl--;
    char rel[4096];
    if (sl >= sizeof rel)
        return -1;
    memcpy(rel, sub, sl);
    rel[sl] = '\0';
    for (char *seg = rel; seg;) { /* no ".." segment: the directory is the whole of it */
        char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return -1;
        seg = slash ? slash + 1 : NULL;
    }
    size_t tl = strlen(r->target);
    int sep = tl && r->target[tl - 1] != '/';
    int index = !sl || rel[sl - 1] == '/';
    if ((size_t)snprintf(file, len, "%s%s%s%s", r->target, sep ? "/" : "", rel,
                         index ? "index.html" : "") >= len)
        return -1;
    return 0;
}

static enum rule_apply_result map_local(struct exchange *ex, struct rule_target *t,
                                        const struct rule *r, const char *rest)
{
    struct flow *f = ex->flow;
    char file[4608], why[300];
    struct evbuffer *b = evbuffer_new(), *raw = evbuffer_new();
    int rc = -1;
    if (!b || !raw)
        goto out;
    if (local_file(r, rest, t->path, file, sizeof file) < 0) {
        flow_rule_hit(f, r->id, "map_local", "path %.300s leaves directory %.150s: 403", t->path,
                      r->target);
        snprintf(why, sizeof why, "httpeek map local (rule '%s'): the path leaves %s\n", r->id,
                 r->target);
        rc = answer_text(ex, t, r, 403, "Forbidden", why);
        goto out;
    }
    size_t len = 0;
    if (read_into(raw, file, &len) < 0) {
        int e = errno;
        flow_rule_hit(f, r->id, "map_local", "file %.400s: %s: 404", file, strerror(e));
        snprintf(why, sizeof why, "httpeek map local (rule '%s'): no file %s (%s)\n", r->id, file,
                 strerror(e));
        rc = answer_text(ex, t, r, 404, "Not Found", why);
        goto out;
    }
    size_t fl = strlen(file);
    int status = 200;
    if (fl > 5 && !strcasecmp(file + fl - 5, ".http")) {
        if (raw_response(b, (const char *)evbuffer_pullup(raw, -1), len, ex->head_request, &status,
                         why, sizeof why) < 0) {
            flow_rule_hit(f, r->id, "map_local", "file %.400s is not an HTTP response: 502", file);
            char body[600];
            snprintf(body, sizeof body, "httpeek map local (rule '%s'): %s: %s\n", r->id, file, why);
            rc = answer_text(ex, t, r, 502, "Bad Gateway", body);
            goto out;
        }
    } else {
        head(b, 200, "OK", content_type(file), len, r->id);
        if (!ex->head_request)
            evbuffer_add_buffer(b, raw);
    }
    flow_rule_hit(f, r->id, "map_local", "file %.400s (%d, %zu bytes)", file, status, len);
    rc = answer(ex, t, b, 0);
out:
    if (b)
        evbuffer_free(b);
    if (raw)
        evbuffer_free(raw);
    if (rc == 0)
        return RULE_APPLY_ANSWERED;
    flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
    ex->flow = NULL;
    ex->front->fail(ex, f, 500, "out of memory");
    return RULE_APPLY_FAILED;
}

/* ------------------------------------------------------------------------------------------ */
/* Map remote */

static enum rule_apply_result map_remote(struct exchange *ex, struct rule_target *t,
                                         const struct rule *r, const char *rest)
{
    char scheme[16], host[256];
    int port;
    const char *path;
    if (exchange_parse_absolute(r->target, scheme, sizeof scheme, host, sizeof host, &port,
                                &path) < 0) {
        flow_rule_hit(ex->flow, r->id, "map_remote", "bad URL %.300s: not applied", r->target);
        return RULE_APPLY_NONE;
    }
    for (char *c = host; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    /* the URL's path, then what the pattern's '*' matched (for "/v1/ *": "users?id=1") */
    /* a match on the host only ("host" in rules.json) carries the whole path */
    const char *tail = rest ? rest : r->path || r->path_re ? "" : t->path;
    int has_path = strchr(r->target + strlen(scheme) + 3, '/') != NULL;
    size_t n = 0;
    t->path_buf[0] = '\0';
    if (has_path)
        str_append(t->path_buf, sizeof t->path_buf, &n, path);
    if (!has_path && *tail != '/' && *tail != '?') /* "https://host" + "users": a '/' between */
        str_append(t->path_buf, sizeof t->path_buf, &n, "/");
    str_append(t->path_buf, sizeof t->path_buf, &n, tail);
    if (!n)
        str_append(t->path_buf, sizeof t->path_buf, &n, "/");
    t->path = t->path_buf;
    str_copy(t->scheme, sizeof t->scheme, scheme);
    str_copy(t->host, sizeof t->host, host);
    t->port = port;
    int tls = !strcmp(scheme, "https"), v6 = strchr(host, ':') != NULL;
    if (port == (tls ? 443 : 80))
        snprintf(t->authority, sizeof t->authority, v6 ? "[%s]" : "%s", host);
    else
        snprintf(t->authority, sizeof t->authority, v6 ? "[%s]:%d" : "%s:%d", host, port);
    t->host_field = t->authority;
    flow_rule_hit(ex->flow, r->id, "map_remote", "sent to %s://%s%.3000s", scheme, t->authority,
                  t->path);
    if (ex->flow->rules && !ex->flow->rules->sent_path) /* for a retry on a fresh connection */
        ex->flow->rules->sent_path = strdup(t->path);
    return RULE_APPLY_REMOTE;
}

/* ------------------------------------------------------------------------------------------ */
/* Block */

/* The reason phrase of a block's status (any 200..599: llhttp_status_name aborts on a code it
 * does not know, so it is not asked). */
static const char *status_reason(int status)
{
    static const struct { int code; const char *reason; } known[] = {
        {200, "OK"}, {204, "No Content"}, {301, "Moved Permanently"}, {302, "Found"},
        {304, "Not Modified"}, {400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"},
        {404, "Not Found"}, {405, "Method Not Allowed"}, {408, "Request Timeout"},
        {409, "Conflict"}, {410, "Gone"}, {413, "Content Too Large"}, {418, "I'm a teapot"},
        {422, "Unprocessable Content"}, {429, "Too Many Requests"},
        {451, "Unavailable For Legal Reasons"}, {500, "Internal Server Error"},
        {501, "Not Implemented"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i].code == status)
            return known[i].reason;
    return "Blocked";
}

/* Fail the exchange with f's failure (set): status answered to the client. */
static enum rule_apply_result fail_with(struct exchange *ex, int status)
{
    struct flow *f = ex->flow;
    ex->flow = NULL;
    ex->front->fail(ex, f, status, f->fail.reason);
    return RULE_APPLY_FAILED;
}

static enum rule_apply_result block(struct exchange *ex, struct rule_target *t,
                                    const struct rule *r)
{
    struct flow *f = ex->flow;
    const char *id = r->id;
    char body[200];
    switch (r->block) {
    case RULE_BLOCK_STATUS: {
        const char *reason = status_reason(r->status);
        flow_rule_hit(f, id, "block", "answered %d", r->status);
        snprintf(body, sizeof body, "Blocked by httpeek rule '%s'\n", id);
        if (answer_text(ex, t, r, r->status, reason, body) == 0)
            return RULE_APPLY_ANSWERED;
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        return fail_with(ex, 500);
    }
    case RULE_BLOCK_DNS:
        flow_rule_hit(f, id, "block", "DNS failure: %s not found", t->host);
        f->fail.dns_error = EVUTIL_EAI_NONAME;
        flow_fail(f, FLOW_STAGE_DNS, 0, "blocked by rule '%s': %s not found (DNS)", id, t->host);
        return fail_with(ex, 502);
    case RULE_BLOCK_REFUSED:
        flow_rule_hit(f, id, "block", "connection to %s:%d refused", t->host, t->port);
        flow_fail(f, FLOW_STAGE_CONNECT, ECONNREFUSED,
                  "blocked by rule '%s': connect to %s:%d refused", id, t->host, t->port);
        return fail_with(ex, 502);
    case RULE_BLOCK_TLS: {
        flow_rule_hit(f, id, "block", "TLS handshake with %s:%d failed", t->host, t->port);
        struct flow_tls *up = flow_tls_edit(f, 1);
        if (up) {
            up->present = 1;
            snprintf(up->alert_received, sizeof up->alert_received, "handshake failure");
        }
        flow_fail(f, FLOW_STAGE_UPSTREAM_TLS, 0,
                  "tls: blocked by rule '%s': TLS handshake with %s:%d failed", id, t->host, t->port);
        return fail_with(ex, 502);
    }
    case RULE_BLOCK_TIMEOUT: {
        double secs = r->secs > 0 ? r->secs : ex->proxy->opts->upstream_timeout;
        flow_rule_hit(f, id, "block", "no response: timed out after %gs", secs);
        if (ex->up->connecting) {
            upstream_cancel(ex->up->connecting);
            ex->up->connecting = NULL;
        }
        leg_close(&ex->up->leg);
        ex->up->reusable = 0;
        ex->rule_local = 1;
        ex->rule_timeout = secs;
        ex->phase = EXCHANGE_FORWARDING;
        ex->front->phase(ex, EXCHANGE_FORWARDING, "held by a block rule");
        return RULE_APPLY_ANSWERED;
    }
    case RULE_BLOCK_RESET_BODY: {
        /* a head promising a body, half of it, then the end of the connection */
        struct evbuffer *b = evbuffer_new();
        static const char half[] = "{\"blocked_by_httpeek\": \"the connection is cut he";
        if (b) {
            evbuffer_add_printf(b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: %zu\r\nX-Httpeek-Rule: %s\r\n\r\n",
                                2 * (sizeof half - 1), id);
            if (!ex->head_request)
                evbuffer_add(b, half, sizeof half - 1);
        }
        flow_rule_hit(f, id, "block", "response cut after %zu of %zu body bytes", sizeof half - 1,
                      2 * (sizeof half - 1));
        int rc = b ? answer(ex, t, b, 1) : -1;
        if (b)
            evbuffer_free(b);
        if (rc == 0)
            return RULE_APPLY_ANSWERED;
        flow_fail(f, FLOW_STAGE_SEND, ENOMEM, "out of memory");
        return fail_with(ex, 500);
    }
    case RULE_BLOCK_RESET:
        break;
    }
    flow_rule_hit(f, id, "block", "connection closed without a response");
    strcpy(f->fail.closed_by, "server");
    flow_fail(f, FLOW_STAGE_WAIT, ECONNRESET,
              "blocked by rule '%s': connection closed without a response", id);
    ex->flow = NULL;
    record_flow(ex->proxy, f);
    ex->front->cut(ex, 0);
    return RULE_APPLY_FAILED;
}

/* ------------------------------------------------------------------------------------------ */

static const char *request_header(const void *arg, const char *name)
{
    return http1_head_get(arg, name);
}

enum rule_apply_result rule_apply_route(struct exchange *ex, struct rule_target *t)
{
    struct ruleset *s = ruleset_holder_get(ex->proxy->route_rules);
    if (!s)
        return RULE_APPLY_NONE; /* no rules: nothing more */
    const struct http1_head *req = ex->flow->req;
    struct rule_request q = {
        .scheme = t->scheme, .host = t->host, .port = t->port, .path = t->path,
        .method = llhttp_method_name((llhttp_method_t)req->method), .client = ex->client_addr,
        .header = request_header, .header_arg = req};
    const char *rest = NULL;
    const struct rule *r = ruleset_match(s, &q, &rest);
    enum rule_apply_result res = RULE_APPLY_NONE;
    if (r && req->method == HTTP_CONNECT && r->action != RULE_MAP_REMOTE)
        r = NULL; /* a CONNECT is the tunnel's (tunnel.c, rule_tunnel.h) */
    /* a WebSocket upgrade is blocked or answered like any request: the client gets that status
     * (or the failure) instead of a 101, and no relay starts */
    if (r && r->action == RULE_MAP_LOCAL)
        res = map_local(ex, t, r, rest);
    else if (r && r->action == RULE_MAP_REMOTE)
        res = map_remote(ex, t, r, rest);
    else if (r)
        res = block(ex, t, r);
    ruleset_release(s);
    return res;
}

void rule_apply_timed_out(struct exchange *ex, double secs)
{
    struct flow *f = ex->flow;
    f->fail.timeout = 1;
    flow_fail(f, FLOW_STAGE_WAIT, ETIMEDOUT, "blocked by rule '%s': no response within %gs",
              f->rules && f->rules->n ? f->rules->hit[0].id : "?", secs);
    fail_with(ex, 504);
}

const struct exchange_policy rule_policy = {
    .throttle = throttle_apply,
    .route = rule_apply_route,
    .rewrite_request = rule_rewrite_request,
    .resp_delay = throttle_response,
    .resp_head = rule_rewrite_head,
    .holding = rule_rewrite_holding,
    .resp_body = rule_rewrite_body,
    .resp_done = rule_rewrite_done,
    .req_holding = rule_rewrite_req_holding,
    .req_body = rule_rewrite_req_body,
    .req_done = rule_rewrite_req_done,
    .timed_out = rule_apply_timed_out,
};
