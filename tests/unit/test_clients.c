/* test_clients.c — devices and apps named from real User-Agents (useragent.c), the clients table
 * keeping the most specific device name, apps listed under their device, the checklist history
 * surviving, and the terminal hints naming a real URL and the app. */
#include "../../src/clients.c"
#include "tap.h"

struct ua_case {
    const char *ua, *device, *app;
};

static const struct ua_case cases[] = {
    {"MyApp/1.2.3 CFNetwork/1494.0.7 Darwin/23.4.0", "iOS 17.4", "MyApp/1.2.3"},
    {"Shop%20Demo/5 CFNetwork/1410.0.3 Darwin/22.6.0", "iOS 16.6", "Shop Demo/5"},
    {"MyMacApp/1 CFNetwork/1494.0.7 Darwin/23.4.0 (arm64)", "Mac, macOS 14.4", "MyMacApp/1"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "iPhone, iOS 17.4", "Safari 17"},
    {"Mozilla/5.0 (iPad; CPU OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148", "iPad, iOS 16.1", "in-app web view"},
    {"Demo/2.0 (iPhone; iOS 17.2; Scale/3.00)", "iPhone, iOS 17.2", "Demo/2.0"},
    {"Demo/2.0 (com.example.demo; build:7; iOS 17.4.1) Alamofire/5.8.0", "iOS 17.4", "Demo/2.0"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) FxiOS/124.0 Mobile/15E148 Safari/605.1.15", "iPhone, iOS 17.4", "Firefox 124"},
    {"okhttp/4.12.0", "Android", "okhttp/4.12.0"},
    {"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240205.004)", "Pixel 8, Android 14",
     "Dalvik/2.1.0"},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36", "Android 10", "Chrome 120"},
    {"Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/119.0.0.0 Mobile Safari/537.36",
     "SM-S911B, Android 13", "in-app web view"},
    {"Dart/3.2 (dart:io)", "", "Dart/3.2 (Flutter or Dart app)"},
    {"curl/8.4.0", "", "curl/8.4.0"},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36", "Linux", "Chrome 120"},
};

static int notified;
static void on_change(void *arg)
{
    (void)arg;
    notified++;
}

/* clients_plain_request (a plain request, once per request on a worker) counts what
 * clients_request (not via TLS) and clients_note (CLIENT_PROXIED) counted, and notifies */
static void test_plain_request(void)
{
    struct clients *a = clients_new(NULL), *b = clients_new(NULL);
    clients_set_listener(b, on_change, NULL);
    static const char *const uas[] = {"curl/8.4.0", NULL, "curl/8.4.0", "Shop/1.0 CFNetwork/1494.0.7 "
                                      "Darwin/23.4.0", "curl/8.4.0"};
    for (size_t i = 0; i < sizeof uas / sizeof *uas; i++) {
        clients_request(a, "10.0.0.7", uas[i], 0);
        clients_note(a, "10.0.0.7", CLIENT_PROXIED);
        clients_plain_request(b, "10.0.0.7", uas[i]);
    }
    struct client_summary sa, sb;
    ok(clients_get(a, "10.0.0.7", &sa) == clients_get(b, "10.0.0.7", &sb), "both know the client");
    ok(sa.proxied == 5 && sb.proxied == 5 && sa.app_requests == sb.app_requests &&
           sa.tls_trusted == 0 && sb.tls_trusted == 0 && !strcmp(sa.device, sb.device),
       "a plain request counts as a request and as proxied (%u/%u proxied, %u/%u requests)",
       sa.proxied, sb.proxied, sa.app_requests, sb.app_requests);
    struct client_info la[2], lb[2];
    size_t na = clients_list(a, la, 2), nb = clients_list(b, lb, 2);
    int same = na == 1 && nb == 1 && la[0].napps == lb[0].napps && la[0].napps == 2;
    for (unsigned i = 0; same && i < la[0].napps; i++)
        same = !strcmp(la[0].apps[i].name, lb[0].apps[i].name) &&
               la[0].apps[i].requests == lb[0].apps[i].requests;
    ok(same, "the same apps with the same counts");
    is_int(notified, 5, "every plain request notifies the listener (the viewer's clients)");
    clients_free(a);
    clients_free(b);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dev[96], app[64], name[160];
        ua_device(cases[i].ua, dev, sizeof dev);
        ua_app(cases[i].ua, app, sizeof app);
        snprintf(name, sizeof name, "device of %.60s", cases[i].ua);
        is_str(dev, cases[i].device, name);
        snprintf(name, sizeof name, "app of %.60s", cases[i].ua);
        is_str(app, cases[i].app, name);
    }

    char hints[4096];
    FILE *out = fmemopen(hints, sizeof hints, "w");
    struct clients *t = clients_new(out);
    /* an iPhone: a bare CFNetwork app first, then Safari tells the model */
    clients_note(t, "10.0.0.5", CLIENT_PROXIED);
    clients_request(t, "10.0.0.5", "Shop/1.0 CFNetwork/1494.0.7 Darwin/23.4.0", 1);
    struct client_summary s;
    clients_get(t, "10.0.0.5", &s);
    is_str(s.device, "iOS 17.4", "device named from Darwin under CFNetwork");
    clients_request(t, "10.0.0.5",
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 1);
    clients_get(t, "10.0.0.5", &s);
    is_str(s.device, "iPhone, iOS 17.4", "a more specific User-Agent refines the device");
    clients_request(t, "10.0.0.5", "Shop/1.0 CFNetwork/1494.0.7 Darwin/23.4.0", 1);
    clients_request(t, "10.0.0.5", "curl/8.4.0", 0);
    clients_get(t, "10.0.0.5", &s);
    is_str(s.device, "iPhone, iOS 17.4", "a less specific User-Agent never replaces it");
    is_int(s.app_requests, 4, "app requests counted");
    is_int(s.tls_trusted, 3, "trusted (intercepted) requests counted");

    /* a pinning app on a device that trusts the CA: named in the hint, its trust counts given */
    struct client_trust before;
    clients_tls_refused(t, "10.0.0.5", "pinned.bank.test", "Bank/3.1 CFNetwork/1494.0.7 Darwin/23.4.0",
                        &before);
    is_int(before.device_trusted, 3, "refusal: the device's trusted requests before it");
    is_int(before.app_trusted, 0, "refusal: the refusing app had none");
    clients_tls_refused(t, "10.0.0.5", "api.shop.test", "Shop/1.0 CFNetwork/1494.0.7 Darwin/23.4.0",
                        &before);
    is_int(before.app_trusted, 2, "refusal by an app that trusted us elsewhere: its count");

    struct client_info *list = calloc(CLIENTS_MAX, sizeof *list);
    size_t n = clients_list(t, list, CLIENTS_MAX);
    is_int((long long)n, 1, "one client");
    is_int(list[0].napps, 4, "four apps on the device (Shop, Safari, curl, Bank)");
    const struct client_app *bank = NULL, *shop = NULL;
    for (unsigned i = 0; i < list[0].napps; i++) {
        if (!strcmp(list[0].apps[i].name, "Bank/3.1"))
            bank = &list[0].apps[i];
        if (!strcmp(list[0].apps[i].name, "Shop/1.0"))
            shop = &list[0].apps[i];
    }
    ok(bank && bank->refused == 1 && bank->nrefused_hosts == 1 &&
           !strcmp(bank->refused_hosts[0], "pinned.bank.test"),
       "the refusing app carries its refused host");
    ok(shop && shop->requests == 2 && shop->trusted == 2, "the app's requests and trusted requests");

    /* the same User-Agent again (the per-request fast path) counts for the same app */
    clients_request(t, "10.0.0.5", "curl/8.4.0", 0);
    clients_request(t, "10.0.0.5", "curl/8.4.0", 1);
    n = clients_list(t, list, CLIENTS_MAX);
    const struct client_app *cu = NULL;
    for (unsigned i = 0; i < list[0].napps; i++)
        if (!strcmp(list[0].apps[i].name, "curl/8.4.0"))
            cu = &list[0].apps[i];
    ok(list[0].napps == 4 && cu && cu->requests == 3 && cu->trusted == 1,
       "a repeated User-Agent counts for its app (no new app)");

    /* an untrusting device: the hint names a URL it can open, never a placeholder */
    clients_note(t, "10.0.0.9", CLIENT_PROXIED);
    clients_tls_refused(t, "10.0.0.9", "api.shop.test", "okhttp/4.12.0", &before);
    is_int(before.device_trusted, 0, "untrusting device: no trusted requests");
    fflush(out);
    ok(strstr(hints, "http://httpeek.test/") != NULL, "the hint gives the real setup URL");
    ok(strstr(hints, "PROXY:PORT") == NULL, "no placeholder in the hints");
    ok(strstr(hints, "Bank/3.1 refuses it for pinned.bank.test") != NULL,
       "the pinning hint names the app and host");
    ok(strstr(hints, "own trust store") != NULL, "the pinning hint says pins or own trust store");
    free(list);
    clients_free(t);
    fclose(out);
    test_plain_request();
    return done();
}
