/* web.c — see web.h. One thread, one event_base, one evhttp; the thread owns the session reader,
 * so every API call reads SQLite on this thread and never on a proxy worker (HAR exports have
 * threads and readers of their own: web_export.c). The store's writer
 * thread and the workers only touch the small locked "pending" state and wake us with
 * event_active. */
#include "web.h"
#include "links.h"
#include "web_internal.h"
#include "web_reply.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "clients.h"
#include "log.h"
#include "opts.h"
#include "rules.h"
#include "store_messages.h"
#include "web_assets.h"

/* Largest request body the API accepts (a POST /api/har id list for 100k flows is ~700 KiB). */
#define WEB_MAX_BODY (8u << 20)
/* Largest request head the API accepts. */
#define WEB_MAX_HEADERS (64u << 10)
/* Seconds a quiet API connection may stay open. */
#define WEB_TIMEOUT_S 60

/* ------------------------------------------------------------------------------------------ */
/* Small helpers */


/* The value of query parameter name, or NULL (borrowed from q). */
static const char *param(struct evkeyvalq *q, const char *name)
{
    return evhttp_find_header(q, name);
}



/* ------------------------------------------------------------------------------------------ */
/* Access control */

static int host_is_loopback(const char *host)
{
    if (!strcasecmp(host, "localhost") || !strcasecmp(host, "::1"))
        return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return 0;
}

/* The token of a "name=value; ..." Cookie header (into out), 0 when absent. */
static int cookie_token(const char *cookies, char *out, size_t outlen)
{
    const char *p = cookies;
    while (p && *p) {
        p += strspn(p, " ;");
        if (!strncmp(p, "httpeek_token=", 14)) {
            p += 14;
            size_t n = strcspn(p, ";");
            snprintf(out, outlen, "%.*s", (int)n, p);
            return 1;
        }
        p = strchr(p, ';');
    }
    return 0;
}

static int token_equal(const char *given, const char *token)
{
    size_t n = strlen(token);
    return given && strlen(given) == n && CRYPTO_memcmp(given, token, n) == 0;
}

/* 1 when req may use the viewer; else the reply is sent and 0 returned. */
static int allowed(struct web *w, struct evhttp_request *req, struct evkeyvalq *query)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    if (w->token) {
        const char *auth = evhttp_find_header(in, "Authorization");
        char cookie[128];
        if (token_equal(param(query, "token"), w->token) ||
            (auth && !strncasecmp(auth, "Bearer ", 7) && token_equal(auth + 7, w->token)) ||
            (cookie_token(evhttp_find_header(in, "Cookie"), cookie, sizeof cookie) &&
             token_equal(cookie, w->token)))
            return 1;
        web__send_error(req, 401, "this viewer needs its token: open the viewer URL printed at start-up");
        return 0;
    }
    /* A web page elsewhere could point a DNS name at 127.0.0.1 and read flows through the
     * victim's browser (DNS rebinding); its requests carry that name in Host. */
    const char *host = evhttp_find_header(in, "Host");
    char name[256];
    int port;
    if (host && opts_split_hostport(host, name, sizeof name, &port, 80) == 0 && host_is_loopback(name))
        return 1;
    web__send_error(req, 403, "the viewer answers only to a loopback Host (127.0.0.1 or localhost); "
                         "use --web HOST:PORT with a token to reach it from elsewhere");
    return 0;
}

/* 1 unless req carries an Origin other than the address it was sent to: a page on another site
 * may make a browser send simple POSTs here, and they carry its Origin (scripts and curl send
 * none, and are held by the Host and token checks). */
static int same_origin(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *origin = evhttp_find_header(in, "Origin");
    const char *host = evhttp_find_header(in, "Host");
    if (!origin)
        return 1;
    size_t n = strlen("http://");
    return host && !strncasecmp(origin, "http://", n) && !strcasecmp(origin + n, host);
}

/* ------------------------------------------------------------------------------------------ */
/* Assets */

static void serve_asset(struct web *w, struct evhttp_request *req, const char *path,
                        struct evkeyvalq *query)
{
    if (!strcmp(path, "/"))
        path = "/index.html";
    /* the page opened with ?token= hands the token to its own API calls as a cookie */
    const char *t = param(query, "token");
    if (!strcmp(path, "/index.html") && w->token && token_equal(t, w->token)) {
        char cookie[160];
        snprintf(cookie, sizeof cookie, "httpeek_token=%s; Path=/; HttpOnly; SameSite=Strict",
                 w->token);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
    }
    for (const struct web_asset *a = web_assets; a->path; a++) {
        if (strcmp(a->path, path))
            continue;
        struct evbuffer *b = evbuffer_new();
        if (!b) {
            evhttp_send_error(req, 500, "out of memory");
            return;
        }
        evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
        web__common_headers(req, a->content_type);
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        if (!strcmp(path, "/index.html")) {
            /* the viewer loads nothing from elsewhere; captured bodies never run as our page */
            evhttp_add_header(h, "Content-Security-Policy",
                              "default-src 'self'; img-src 'self' data: blob:; "
                              "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                              "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; "
                              "base-uri 'none'; form-action 'none'");
        }
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        return;
    }
    if (!strcmp(path, "/index.html")) {
        web__send_error(req, 500, "this build has no viewer files (web/ was empty when it was built)");
        return;
    }
    web__send_error(req, 404, "no such page");
}

/* ------------------------------------------------------------------------------------------ */
/* Flows */


static void api_flows(struct web *w, struct evhttp_request *req, struct evkeyvalq *query)
{
    const char *after = param(query, "after"), *limit = param(query, "limit");
    uint64_t after_id = after ? web__parse_id(after, NULL) : 0;
    uint64_t lim = limit ? web__parse_id(limit, NULL) : 0;
    struct web_list l = {.web = w, .out = evbuffer_new(), .names = store_reader_client_names(w->reader),
                         .shown = json_object()};
    if (!l.out || !l.shown ||
        store_reader_list_text(w->reader, after_id, (size_t)lim, web__list_add, &l) < 0) {
        web__send_error(req, 500, "the session file could not be read (see the log)");
    } else {
        evbuffer_add(l.out, l.n ? "]" : "[]", l.n ? 1 : 2);
        web__common_headers(req, "application/json; charset=utf-8");
        evhttp_send_reply(req, 200, "OK", l.out);
    }
    if (l.out)
        evbuffer_free(l.out);
    json_decref(l.names);
    json_decref(l.shown);
}

/* GET /api/flows/{id}/messages?after=INDEX&limit=N: a WebSocket's messages (store_messages.h). */
static void api_messages(struct web *w, struct evhttp_request *req, uint64_t id,
                         struct evkeyvalq *query)
{
    const char *after = param(query, "after"), *limit = param(query, "limit");
    char *aend = NULL, *lend = NULL;
    long long a = after ? strtoll(after, &aend, 10) : -1;
    long long n = limit ? strtoll(limit, &lend, 10) : 0;
    if ((after && (!*after || *aend || a < -1)) || (limit && (!*limit || *lend || n < 0))) {
        web__send_error(req, 400, "after and limit must be numbers (after: an index, -1 or more)");
        return;
    }
    json_t *flow = store_reader_get(w->reader, id);
    if (!flow) {
        web__send_error(req, 404, "no such flow");
        return;
    }
    json_decref(flow);
    json_t *list = store_messages_list(w->reader, id, a, (size_t)n);
    if (!list)
        web__send_error(req, 500, "the session file could not be read (see the log)");
    else
        web__send_json(req, 200, list);
}

static void api_flow(struct web *w, struct evhttp_request *req, uint64_t id)
{
    json_t *o = store_reader_get(w->reader, id);
    if (!o) {
        web__send_error(req, 404, "no such flow");
        return;
    }
    json_t *names = store_reader_client_names(w->reader);
    char name[128];
    web__client_name(w, names, json_string_value(json_object_get(o, "client")), name, sizeof name);
    json_object_set_new(o, "client_name", json_string(name));
    json_decref(names);
    links_add(w->reader, o);
    web__send_json(req, 200, o);
}

/* A file name for a downloaded body: the last path segment of the flow's URL, made safe. */
static void body_filename(struct web *w, uint64_t id, int response, char *out, size_t outlen)
{
    snprintf(out, outlen, "flow-%llu-%s.bin", (unsigned long long)id,
             response ? "response" : "request");
    json_t *o = store_reader_get(w->reader, id);
    const char *path = o ? json_string_value(json_object_get(o, "path")) : NULL;
    if (path) {
        size_t q = strcspn(path, "?#");
        const char *slash = path;
        for (size_t i = 0; i < q; i++)
            if (path[i] == '/')
                slash = path + i + 1;
        size_t n = (size_t)(path + q - slash), k = 0;
        char safe[96];
        for (size_t i = 0; i < n && k + 1 < sizeof safe; i++) {
            char c = slash[i];
            safe[k++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '.' || c == '-' || c == '_'
                            ? c
                            : '_';
        }
        safe[k] = '\0';
        if (k && strcmp(safe, ".") && strcmp(safe, ".."))
            snprintf(out, outlen, "%s", safe);
    }
    json_decref(o);
}

static void api_body(struct web *w, struct evhttp_request *req, uint64_t id, int response,
                     struct evkeyvalq *query)
{
    const char *d = param(query, "decode"), *dl = param(query, "download");
    int decode = d && strcmp(d, "0"), download = dl && strcmp(dl, "0");
    struct evbuffer *b = evbuffer_new();
    char mime[256];
    if (!b) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    int rc = store_reader_body(w->reader, id, response, decode, b, mime, sizeof mime);
    if (rc == -1) {
        evbuffer_free(b);
        web__send_error(req, 404, "no such flow or body");
        return;
    }
    if (rc == -2) {
        evbuffer_free(b);
        web__send_error(req, 422, "the body could not be decoded (corrupt data, or an encoding this "
                             "build cannot decode); fetch it without ?decode=1 for the raw bytes");
        return;
    }
    /* The captured type is served as is so images and text render, but under a sandbox CSP: a
     * captured HTML page runs in an opaque origin and cannot reach the API. */
    web__answer_headers(req, mime[0] && !strchr(mime, '\n') && !strchr(mime, '\r')
                            ? mime
                            : "application/octet-stream", 1);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; "
                                                    "style-src 'unsafe-inline'; "
                                                    "frame-ancestors 'self'");
    if (download) {
        char name[128], disp[200];
        body_filename(w, id, response, name, sizeof name);
        snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
        evhttp_add_header(h, "Content-Disposition", disp);
    }
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ------------------------------------------------------------------------------------------ */
/* Routing */

static void on_request(struct evhttp_request *req, void *arg)
{
    int routed;
    struct web *w = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq query;
    TAILQ_INIT(&query);
    if (!path || !path[0])
        path = "/";
    if (qs && evhttp_parse_query_str(qs, &query) < 0) {
        web__send_error(req, 400, "malformed query string");
        goto out;
    }
    if (!allowed(w, req, &query))
        goto out;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (!get && !same_origin(req)) {
        web__send_error(req, 403, "a write from another origin is refused (Origin must be this "
                                  "viewer's own address)");
        goto out;
    }

    if (strncmp(path, "/api/", 5)) {
        if (get)
            serve_asset(w, req, path, &query);
        else
            web__send_error(req, 405, "only GET is served here");
    } else if (!strcmp(path, "/api/flows")) {
        if (get)
            api_flows(w, req, &query);
        else if (cmd == EVHTTP_REQ_DELETE) {
            if (store_reader_clear(w->reader) < 0) {
                web__send_error(req, 500, "the session file could not be written (see the log)");
            } else {
                static const char ev[] = "event: cleared\ndata: {}\n\n";
                web__events_broadcast(w, ev, sizeof ev - 1);
                web__common_headers(req, NULL);
                evhttp_send_reply(req, 204, "No Content", NULL);
            }
        } else
            web__send_error(req, 405, "use GET or DELETE on /api/flows");
    } else if (web__replay_route(w, req, path, cmd)) { /* .../replay, /api/requests */
    } else if (!strncmp(path, "/api/flows/", 11)) {
        const char *end;
        uint64_t id = web__parse_id(path + 11, &end);
        if (!id)
            web__send_error(req, 404, "no such flow (expected /api/flows/{id})");
        else if (!get)
            web__send_error(req, 405, "use GET");
        else if (!*end)
            api_flow(w, req, id);
        else if (!strcmp(end, "/response/body"))
            api_body(w, req, id, 1, &query);
        else if (!strcmp(end, "/request/body"))
            api_body(w, req, id, 0, &query);
        else if (!strcmp(end, "/messages"))
            api_messages(w, req, id, &query);
        else
            web__send_error(req, 404, "no such flow resource");
    } else if (!strcmp(path, "/api/search")) {
        if (get)
            web__search(w, req, &query);
        else
            web__send_error(req, 405, "use GET");
    } else if (!strcmp(path, "/api/events")) {
        if (get)
            web__events(w, req);
        else
            web__send_error(req, 405, "use GET");
    } else if (web__har_import_route(w, req, path, cmd)) {
    } else if (!strcmp(path, "/api/har")) {
        if (get || cmd == EVHTTP_REQ_POST)
            web__har(w, req, &query);
        else
            web__send_error(req, 405, "use GET or POST");
    } else if (web__session_route(w, req, path, cmd)) {
    } else if (web__rules_route(w, req, path, cmd)) {
    } else if (web__breakpoints_route(w, req, path, cmd)) {
    } else if ((routed = web__devices_route(w, req, path, cmd))) {
        if (routed == WEB_ROUTED_CLIENTS_CHANGED)
            web__events_clients(w); /* the panels refresh on it */
    } else if (!strcmp(path, "/api/info")) {
        if (get)
            web__send_json(req, 200,
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "version",
                                HTTPEEK_VERSION, "session", w->session_path, "proxy",
                                w->proxy ? w->proxy : "", "setup_url",
                                w->setup_url ? w->setup_url : "", "viewer_url", w->url_public,
                                "token_required", w->token != NULL, "phone_proxy",
                                w->phone_proxy ? w->phone_proxy : "", "loopback_only",
                                w->loopback_only));
        else
            web__send_error(req, 405, "use GET");
    } else {
        web__send_error(req, 404, "no such API path");
    }
out:
    evhttp_clear_headers(&query);
}

/* ------------------------------------------------------------------------------------------ */
/* Life cycle */

static void on_clients_changed(void *arg)
{
    web_clients_changed(arg);
}

static void *web_thread(void *arg)
{
    struct web *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

void web_new_token(char out[33])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        /* never a predictable token: fall back to the kernel */
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(raw, 1, sizeof raw, f) != sizeof raw)
            abort();
        fclose(f);
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

struct web *web_start(const struct web_config *c, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (!c->addr || opts_split_hostport(c->addr, host, sizeof host, &port, 8081) < 0) {
        snprintf(err, errlen, "--web: expected HOST:PORT, got '%s'", c->addr ? c->addr : "");
        return NULL;
    }
    struct web *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "viewer: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    w->loopback = host_is_loopback(host);
    w->addr = strdup(c->addr);
    w->session_path = strdup(c->session_path);
    w->token = c->token ? strdup(c->token) : NULL;
    w->keylog = c->keylog ? strdup(c->keylog) : NULL;
    w->proxy = c->proxy ? strdup(c->proxy) : NULL;
    w->setup_url = c->setup_url ? strdup(c->setup_url) : NULL;
    w->phone_proxy = strdup(c->phone_proxy ? c->phone_proxy : "");
    w->loopback_only = c->loopback_only;
    w->clients = c->clients;
    w->recorder = c->recorder;
    w->rules = c->rules;
    w->route_rules = c->route_rules;
    w->breakpoints = c->breakpoints;
    w->intercept = c->intercept;
    w->nintercept = c->nintercept;
    w->passthrough = c->passthrough;
    w->npassthrough = c->npassthrough;
    if (!w->addr || !w->session_path || (c->token && !w->token) || (c->keylog && !w->keylog)) {
        snprintf(err, errlen, "viewer: out of memory");
        goto fail;
    }
    if (!w->loopback && !w->token) {
        snprintf(err, errlen, "--web %s: a viewer reachable from other machines needs a token",
                 c->addr);
        goto fail;
    }
    if (!(w->reader = store_reader_open(c->session_path, err, errlen)))
        goto fail;
    if (!(w->base = event_base_new()) || !(w->http = evhttp_new(w->base))) {
        snprintf(err, errlen, "viewer: cannot create its event loop");
        goto fail;
    }
    evhttp_set_max_body_size(w->http, WEB_MAX_BODY);
    evhttp_set_max_headers_size(w->http, WEB_MAX_HEADERS);
    evhttp_set_timeout(w->http, WEB_TIMEOUT_S);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(w->http, on_request, w);
    if (!evhttp_bind_socket_with_handle(w->http, host, (ev_uint16_t)port)) {
        snprintf(err, errlen, "--web %s: cannot listen there: %s", c->addr, strerror(errno));
        goto fail;
    }
    if (web__events_start(w) < 0) {
        snprintf(err, errlen, "viewer: out of memory");
        goto fail;
    }
    if (web__session_start(w) < 0 || web__breakpoints_start(w) < 0) {
        snprintf(err, errlen, "viewer: out of memory");
        goto fail;
    }
    if (web__replay_start(w, c->replay_marks, c->ca_cert, err, errlen) < 0)
        goto fail;
    const char *shown = w->loopback && !strcmp(host, "0.0.0.0") ? "127.0.0.1" : host;
    int v6 = strchr(shown, ':') != NULL;
    snprintf(w->url_public, sizeof w->url_public, "http://%s%s%s:%d/", v6 ? "[" : "", shown,
             v6 ? "]" : "", port);
    snprintf(w->url, sizeof w->url, "%s%s%s", w->url_public, w->token ? "?token=" : "",
             w->token ? w->token : "");
    if (pthread_create(&w->thread, NULL, web_thread, w) != 0) {
        snprintf(err, errlen, "viewer: cannot start its thread");
        goto fail;
    }
    w->thread_started = 1;
    if (w->clients)
        clients_set_listener(w->clients, on_clients_changed, w);
    return w;
fail:
    web_stop(w);
    return NULL;
}

const char *web_url(struct web *w)
{
    return w->url;
}

void web_stop(struct web *w)
{
    if (!w)
        return;
    if (w->clients)
        clients_set_listener(w->clients, NULL, NULL);
    if (w->thread_started) {
        event_base_loopbreak(w->base);
        pthread_join(w->thread, NULL);
    }
    if (w->http)
        evhttp_free(w->http); /* closes the event streams too (sse_closed frees their state) */
    web__exports_stop(w);
    if (w->base)
        web__replay_stop(w);
    if (w->wake)
        event_free(w->wake);
    if (w->ping)
        event_free(w->ping);
    if (w->clients_timer)
        event_free(w->clients_timer);
    web__session_stop(w);
    web__breakpoints_stop(w);
    if (w->base)
        event_base_free(w->base);
    store_reader_close(w->reader);
    pthread_mutex_destroy(&w->mu);
    free(w->addr);
    free(w->session_path);
    free(w->keylog);
    free(w->token);
    free(w->proxy);
    free(w->setup_url);
    free(w->phone_proxy);
    free(w);
}

/* ------------------------------------------------------------------------------------------ */
/* Called from other threads (web.h): they only mark work and wake the web thread, whose
 * event streams (web_events.c) and recording timer (web_session.c) do it */

void web_notify(uint64_t first_id, uint64_t last_id, void *arg)
{
    (void)first_id;
    struct web *w = arg;
    if (!w || !last_id)
        return;
    pthread_mutex_lock(&w->mu);
    w->pending_flows = 1;
    int wake = w->nstreams && !w->wake_armed;
    if (wake)
        w->wake_armed = 1;
    pthread_mutex_unlock(&w->mu);
    if (wake)
        event_active(w->wake, 0, 0);
}

void web_clients_changed(struct web *w)
{
    pthread_mutex_lock(&w->mu);
    w->pending_clients = 1;
    int wake = w->nstreams && !w->wake_armed; /* once per wake-up: workers call this per request */
    if (wake)
        w->wake_armed = 1;
    pthread_mutex_unlock(&w->mu);
    if (wake)
        event_active(w->wake, 0, 0);
}

void web_set_store(struct web *w, struct store *s)
{
    pthread_mutex_lock(&w->mu);
    w->store = s;
    pthread_mutex_unlock(&w->mu);
}
