/* web_devices.c — the viewer's device side: GET /api/clients (each client's checklist and
 * advice), PUT /api/clients/{addr} (rename), GET /api/passthrough (rules and automatic entries)
 * and DELETE /api/passthrough/... (resume interception). Runs on the web thread. */
#include "web_internal.h"

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
        return "Trusts httpeek's CA, but some hosts refuse it: those apps pin their certificates "
               "(the hosts are passed through after repeated refusals so the app keeps working).";
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
        int proxied = (ci && ci->s.proxied) || flows > 0;
        int ca = ci && ci->s.ca_downloads;
        int trusted = (ci && ci->s.tls_trusted) || https > 0;
        json_t *refusing = json_array();
        for (unsigned k = 0; ci && k < ci->nrefused_hosts; k++)
            json_array_append_new(refusing, json_string(ci->refused_hosts[k]));
        json_t *custom = json_object_get(names, addr);
        const char *ua_name = ci ? ci->s.device : "";
        const char *name = json_is_string(custom) ? json_string_value(custom)
                           : ua_name[0]           ? ua_name
                                                  : addr;
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:{s:b, s:b, s:b, s:b, s:o},"
                           " s:s, s:I}",
                           "addr", addr, "name", name, "ua_name", ua_name, "custom_name",
                           json_is_string(custom) ? json_string_value(custom) : "", "flows", flows,
                           "failed", failed, "refused", (json_int_t)(ci ? ci->s.tls_refused : 0),
                           "checklist", "proxy_reached", proxied, "ca_downloaded", ca,
                           "trusted_tls", trusted, "app_traffic", app > 0, "refusing_hosts",
                           refusing, "advice",
                           client_advice(proxied, ca, trusted, app > 0,
                                         ci ? ci->s.tls_refused : 0),
                           "last_seen", (json_int_t)(ci ? ci->last_seen : 0)));
    }
    free(live);
    json_decref(counts);
    json_decref(names);
    web__send_json(req, 200, out);
}

static void api_rename_client(struct web *w, struct evhttp_request *req, const char *enc_addr)
{
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
        web__send_clients_event(w);
    }
    json_decref(body);
    free(addr);
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void api_passthrough(struct web *w, struct evhttp_request *req)
{
    json_t *autos = json_array();
    if (w->rules) {
        char buf[16384];
        rules_auto_list(w->rules, buf, sizeof buf);
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            json_array_append_new(autos, json_string(line));
    }
    web__send_json(req, 200,
              json_pack("{s:{s:o, s:o}, s:o}", "rules", "intercept",
                        string_array(w->intercept, w->nintercept), "passthrough",
                        string_array(w->passthrough, w->npassthrough), "auto", autos));
}

int web__devices_route(struct web *w, struct evhttp_request *req, const char *path,
                       enum evhttp_cmd_type cmd)
{
    int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (!strcmp(path, "/api/clients")) {
        if (get)
            api_clients(w, req);
        else
            web__send_error(req, 405, "use GET");
    } else if (!strncmp(path, "/api/clients/", 13)) {
        if (cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_POST)
            api_rename_client(w, req, path + 13);
        else
            web__send_error(req, 405, "use PUT with {\"name\": ...}");
    } else if (!strcmp(path, "/api/passthrough")) {
        if (get)
            api_passthrough(w, req);
        else
            web__send_error(req, 405, "use GET");
    } else {
        return 0;
    }
    return 1;
}
