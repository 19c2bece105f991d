/* web_devices.c — the viewer's device side: GET /api/clients (each client's checklist and
 * advice), PUT /api/clients/{addr} (rename), GET /api/passthrough (rules and automatic entries)
 * and DELETE /api/passthrough/... (resume interception). Runs on the web thread. */
#include "web_internal.h"
#include "web_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include "clients.h"
#include "rules.h"
#include "store.h"

/* Longest client name a user may set. */
#define WEB_MAX_NAME 64
/* Most automatic passthrough entries listed. */
#define WEB_MAX_AUTO 1024

/* ------------------------------------------------------------------------------------------ */
/* Clients and rules */

static json_t *find_by_addr(json_t *a, const char *addr)
{
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o) {
        const char *v = json_string_value(json_object_get(o, "addr"));
        if (v && !strcmp(v, addr))
            return o;
    }
    return NULL;
}

/* One line of advice from the checklist: the first step this client has not reached. */
static const char *client_advice(int proxied, int ca, int trusted, int app, unsigned refusing)
{
    if (!proxied)
        return "Not using the proxy yet: set this device's Wi-Fi HTTP proxy to this machine "
               "(Manual, the address and port shown at start-up) or use the PAC URL.";
    if (!trusted && refusing)
        return ca ? "Downloaded the CA but refuses httpeek's certificate: on iOS turn on full trust "
                    "(Settings > General > About > Certificate Trust Settings); on Android the app "
                    "must trust user CAs (network_security_config, debug builds)."
                  : "Refuses httpeek's certificate: open the setup page (http://httpeek.test/ "
                    "through the proxy) and install and trust the CA.";
    if (trusted && refusing)
        return "Trusts httpeek's CA, but some apps refuse it for some hosts: those apps pin their "
               "certificates or use their own trust store (Flutter/Dart, some SDKs). After "
               "repeated refusals a host is passed through for this device only, so the app "
               "keeps working; the passthrough panel resumes interception.";
    if (!trusted && !ca)
        return "Only plain HTTP or untouched tunnels so far: install httpeek's CA from the setup "
               "page to see HTTPS.";
    if (!trusted)
        return "Downloaded the CA, but no HTTPS has gone through httpeek yet: install it and turn "
               "on full trust (iOS: Settings > General > VPN & Device Management, then General > "
               "About > Certificate Trust Settings), then open an https:// page.";
    if (!app)
        return "Set up; no app traffic yet. An app that ignores the system proxy (Flutter/Dart, "
               "some React Native builds, QUIC) sends nothing here.";
    return "Set up: HTTPS through httpeek works for this device.";
}

/* The apps seen on a client, most recent first; an app refusing httpeek's certificate while
 * the device trusts it says which claim that supports (pinning or its own trust store). */
static json_t *apps_json(const struct client_info *ci)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && ci && i < ci->napps; i++) {
        const struct client_app *p = &ci->apps[i];
        json_t *hosts = json_array();
        for (unsigned k = 0; k < p->nrefused_hosts; k++)
            json_array_append_new(hosts, json_string(p->refused_hosts[k]));
        const char *why = !p->nrefused_hosts ? ""
                          : ci->s.tls_trusted ? "pins, or uses its own trust store"
                                              : "the device does not trust httpeek's CA yet";
        json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:o, s:s, s:I}",
                                           "name", p->name, "ua", p->ua, "flows",
                                           (json_int_t)p->requests, "trusted_requests",
                                           (json_int_t)p->trusted, "refused",
                                           (json_int_t)p->refused, "trusted", p->trusted > 0,
                                           "refused_hosts", hosts, "refusal", why, "last_seen",
                                           (json_int_t)p->last_seen));
    }
    return a;
}

static void api_clients(struct web *w, struct evhttp_request *req)
{
    json_t *counts = store_reader_clients(w->reader);
    json_t *names = store_reader_client_names(w->reader);
    json_t *out = json_array();
    if (!counts || !names || !out) {
        json_decref(counts);
        json_decref(names);
        json_decref(out);
        web__send_error(req, 500, "the session file could not be read (see the log)");
        return;
    }
    struct client_info *live = calloc(CLIENTS_MAX, sizeof *live);
    size_t nlive = live && w->clients ? clients_list(w->clients, live, CLIENTS_MAX) : 0;
    /* live clients first (most recent first), then those only the session file knows */
    for (size_t i = 0; i <= nlive + json_array_size(counts); i++) {
        const char *addr;
        const struct client_info *ci = NULL;
        json_t *cnt;
        if (i < nlive) {
            ci = &live[i];
            addr = ci->addr;
            cnt = find_by_addr(counts, addr);
        } else if (i - nlive < json_array_size(counts)) {
            cnt = json_array_get(counts, i - nlive);
            addr = json_string_value(json_object_get(cnt, "addr"));
            int seen = 0;
            for (size_t k = 0; k < nlive; k++)
                seen |= !strcmp(live[k].addr, addr);
            if (seen || !addr[0])
                continue;
        } else {
            break;
        }
        json_int_t flows = cnt ? json_integer_value(json_object_get(cnt, "flows")) : 0;
        json_int_t failed = cnt ? json_integer_value(json_object_get(cnt, "failed")) : 0;
        json_int_t https = cnt ? json_integer_value(json_object_get(cnt, "https")) : 0;
        json_int_t app = cnt ? json_integer_value(json_object_get(cnt, "app")) : 0;
        /* the checklist is the device's history (the live table), not what the list shows:
         * clearing the list must not turn "app traffic seen" back to no */
        int proxied = (ci && ci->s.proxied) || flows > 0;
        int ca = ci && ci->s.ca_downloads;
        int trusted = (ci && ci->s.tls_trusted) || https > 0;
        int app_seen = (ci && ci->s.app_requests) || app > 0;
        json_t *refusing = json_array();
        for (unsigned k = 0; ci && k < ci->nrefused_hosts; k++)
            json_array_append_new(refusing, json_string(ci->refused_hosts[k]));
        json_t *custom = json_object_get(names, addr);
        const char *device = ci ? ci->s.device : "";
        const char *name = json_is_string(custom) ? json_string_value(custom)
                           : device[0]            ? device
                                                  : addr;
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:{s:b, s:b, s:b, s:b, s:o},"
                           " s:s, s:I, s:o}",
                           "addr", addr, "name", name, "device", device, "ua_name", device,
                           "custom_name", json_is_string(custom) ? json_string_value(custom) : "",
                           "flows", flows, "failed", failed, "refused",
                           (json_int_t)(ci ? ci->s.tls_refused : 0), "checklist", "proxy_reached",
                           proxied, "ca_downloaded", ca, "trusted_tls", trusted, "app_traffic",
                           app_seen, "refusing_hosts", refusing, "advice",
                           client_advice(proxied, ca, trusted, app_seen,
                                         ci ? ci->s.tls_refused : 0),
                           "last_seen", (json_int_t)(ci ? ci->last_seen : 0), "apps",
                           apps_json(ci)));
    }
    free(live);
    json_decref(counts);
    json_decref(names);
    web__send_json(req, 200, out);
}

static int api_rename_client(struct web *w, struct evhttp_request *req, const char *enc_addr)
{
    int changed = 0;
    char *addr = evhttp_uridecode(enc_addr, 0, NULL);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *text = (const char *)evbuffer_pullup(in, -1);
    json_error_t jerr;
    json_t *body = text ? json_loadb(text, len, 0, &jerr) : NULL;
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!addr || !addr[0] || strlen(addr) > 63) {
        web__send_error(req, 400, "expected /api/clients/{client address}");
    } else if (!name) {
        web__send_error(req, 400, "expected a JSON body {\"name\": \"iPhone 15\"}");
    } else if (strlen(name) > WEB_MAX_NAME) {
        web__send_error(req, 400, "a client name is at most 64 bytes");
    } else if (store_reader_set_client_name(w->reader, addr, name) < 0) {
        web__send_error(req, 500, "the name could not be saved in the session file (see the log)");
    } else {
        web__send_json(req, 200, json_pack("{s:s, s:s}", "addr", addr, "name", name));
        changed = 1;
    }
    json_decref(body);
    free(addr);
    return changed;
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* GET /api/passthrough: the rules, the built-in list and the automatic entries (per device). */
static void api_passthrough(struct web *w, struct evhttp_request *req)
{
    json_t *autos = json_array(), *builtin = json_array();
    for (size_t i = 0; builtin && rules_builtin_at(i); i++)
        json_array_append_new(builtin, json_string(rules_builtin_at(i)));
    struct rules_auto *list = w->rules ? calloc(WEB_MAX_AUTO, sizeof *list) : NULL;
    size_t n = list ? rules_auto_list(w->rules, list, WEB_MAX_AUTO) : 0;
    for (size_t i = 0; autos && i < n; i++) {
        struct client_summary s;
        if (!w->clients || !clients_get(w->clients, list[i].client, &s))
            s.device[0] = '\0';
        json_array_append_new(
            autos, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "host", list[i].host,
                             "client", list[i].client, "device", s.device, "since",
                             (json_int_t)list[i].since, "expires", (json_int_t)list[i].expires,
                             "rejections", (json_int_t)list[i].rejections, "reason",
                             list[i].device_trusted
                                 ? "an app on this device pins, or uses its own trust store: "
                                   "other traffic from the device is intercepted fine"
                                 : "this device refused httpeek's certificate (CA not "
                                   "installed or not trusted); it ends once the device trusts "
                                   "the CA"));
    }
    free(list);
    web__send_json(req, 200,
                   json_pack("{s:{s:o, s:o}, s:{s:b, s:o}, s:o}", "rules", "intercept",
                             string_array(w->intercept, w->nintercept), "passthrough",
                             string_array(w->passthrough, w->npassthrough), "builtin",
                             "enabled", w->rules && rules_builtin_enabled(w->rules), "globs",
                             builtin, "auto", autos));
}

/* DELETE /api/passthrough/{client}/{host}: resume intercepting host for that device. */
static int api_resume(struct web *w, struct evhttp_request *req, const char *rest)
{
    int changed = 0;
    const char *slash = strchr(rest, '/');
    char *enc = slash ? strndup(rest, (size_t)(slash - rest)) : NULL;
    char *client = enc ? evhttp_uridecode(enc, 0, NULL) : NULL;
    char *host = slash ? evhttp_uridecode(slash + 1, 0, NULL) : NULL;
    if (!client || !host || !client[0] || !host[0] || strchr(host, '/'))
        web__send_error(req, 400, "expected DELETE /api/passthrough/{client address}/{host}");
    else if (!w->rules || rules_auto_remove(w->rules, client, host) < 0)
        web__send_error(req, 404, "no automatic passthrough of that host for that client");
    else {
        web__common_headers(req, NULL);
        evhttp_send_reply(req, 204, "No Content", NULL);
        changed = 1;
    }
    free(enc);
    free(client);
    free(host);
    return changed;
}

int web__devices_route(struct web *w, struct evhttp_request *req, const char *path,
                       enum evhttp_cmd_type cmd)
{
    int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    int changed = 0;
    if (!strcmp(path, "/api/clients")) {
        if (get)
            api_clients(w, req);
        else
            web__send_error(req, 405, "use GET");
    } else if (!strncmp(path, "/api/clients/", 13)) {
        if (cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_POST)
            changed = api_rename_client(w, req, path + 13);
        else
            web__send_error(req, 405, "use PUT with {\"name\": ...}");
    } else if (!strcmp(path, "/api/passthrough")) {
        if (get)
            api_passthrough(w, req);
        else
            web__send_error(req, 405, "use GET");
    } else if (!strncmp(path, "/api/passthrough/", 17)) {
        if (cmd == EVHTTP_REQ_DELETE)
            changed = api_resume(w, req, path + 17);
        else
            web__send_error(req, 405, "use DELETE to resume interception");
    } else {
        return WEB_NOT_ROUTED;
    }
    return changed ? WEB_ROUTED_CLIENTS_CHANGED : WEB_ROUTED;
}
