/* test_rules.c — interception rules: globs, the built-in list, and automatic passthrough per
 * device and host with its expiry, its end when the device starts trusting the CA, and removal. */
#include "../../src/rules.c"
#include "tap.h"

static const char *const no_globs[1];

static struct rules *make(int builtin, const char *const *intercept, size_t ni)
{
    struct rules_config c = {.intercept = intercept ? intercept : no_globs, .nintercept = ni,
                             .passthrough = no_globs, .npassthrough = 0, .builtin = builtin,
                             .auto_after = 3, .auto_ttl = 1800};
    return rules_new(&c);
}

int main(void)
{
    const char *why;
    time_t t0 = 1000000;
    struct rules *r = make(1, NULL, 0);

    /* three refusals by one device switch only that device */
    is_int(rejected_at(r, "127.0.0.1", "api.shop.test", 0, t0), 0, "first refusal: still counting");
    is_int(rejected_at(r, "127.0.0.1", "api.shop.test", 0, t0), 0, "second refusal: still counting");
    is_int(rejected_at(r, "127.0.0.1", "api.shop.test", 0, t0), 1, "third refusal switches");
    is_int(intercept_at(r, "127.0.0.1", "api.shop.test", 443, &why, t0 + 1), 0,
           "the refusing device is passed through");
    ok(why && strstr(why, "automatic passthrough"), "why names automatic passthrough");
    is_int(intercept_at(r, "127.0.0.2", "api.shop.test", 443, &why, t0 + 1), 1,
           "another device is still intercepted for the same host");
    is_int(intercept_at(r, "127.0.0.1", "other.shop.test", 443, &why, t0 + 1), 1,
           "the refusing device is still intercepted for other hosts");
    is_int(intercept_at(r, "127.0.0.1", "API.SHOP.TEST", 443, &why, t0 + 1), 0,
           "host names compare case-insensitively");

    struct rules_auto list[8];
    size_t n = auto_list_at(r, list, 8, t0 + 1);
    is_int((long long)n, 1, "one automatic entry listed");
    is_str(list[0].client, "127.0.0.1", "the entry names the device");
    is_str(list[0].host, "api.shop.test", "the entry names the host");
    is_int(list[0].expires - list[0].since, 1800, "it lasts the ttl");

    /* expiry */
    is_int(intercept_at(r, "127.0.0.1", "api.shop.test", 443, &why, t0 + 1799), 0,
           "still passed through just before it expires");
    is_int(intercept_at(r, "127.0.0.1", "api.shop.test", 443, &why, t0 + 1800), 1,
           "intercepted again once it expired");
    is_int((long long)auto_list_at(r, list, 8, t0 + 1800), 0, "an expired entry is not listed");
    is_int(rejected_at(r, "127.0.0.1", "api.shop.test", 0, t0 + 1801), 0,
           "after expiry counting starts over");

    /* made while the device did not trust the CA: ends once it trusts it (another host works) */
    rejected_at(r, "10.0.0.5", "a.test", 0, t0);
    rejected_at(r, "10.0.0.5", "a.test", 0, t0);
    rejected_at(r, "10.0.0.5", "a.test", 0, t0);
    is_int(intercept_at(r, "10.0.0.5", "a.test", 443, &why, t0), 0, "untrusted device: passed through");
    accepted_at(r, "10.0.0.5", "b.test", t0 + 5);
    is_int(intercept_at(r, "10.0.0.5", "a.test", 443, &why, t0 + 6), 1,
           "a trusted request to another host by that device ends the entry");

    /* made while the device trusted the CA (pinning): a trusted request elsewhere keeps it */
    rejected_at(r, "10.0.0.6", "pinned.test", 1, t0);
    rejected_at(r, "10.0.0.6", "pinned.test", 1, t0);
    rejected_at(r, "10.0.0.6", "pinned.test", 1, t0);
    accepted_at(r, "10.0.0.6", "b.test", t0 + 5);
    is_int(intercept_at(r, "10.0.0.6", "pinned.test", 443, &why, t0 + 6), 0,
           "a pinning app's entry survives the device's other trusted traffic");
    /* an accepted request to the same host resets the count before the switch */
    rejected_at(r, "10.0.0.7", "c.test", 1, t0);
    rejected_at(r, "10.0.0.7", "c.test", 1, t0);
    accepted_at(r, "10.0.0.7", "c.test", t0);
    is_int(rejected_at(r, "10.0.0.7", "c.test", 1, t0), 0, "accepted resets the count");

    /* removal: "Resume interception" */
    is_int(rules_auto_remove(r, "10.0.0.6", "other.test"), -1, "removing a missing entry fails");
    is_int(rules_auto_remove(r, "10.0.0.7", "pinned.test"), -1, "another device's entry is not removed");
    rejected_at(r, "10.0.0.8", "now.test", 1, time(NULL));
    rejected_at(r, "10.0.0.8", "now.test", 1, time(NULL));
    rejected_at(r, "10.0.0.8", "now.test", 1, time(NULL));
    is_int(rules_intercept(r, "10.0.0.8", "now.test", 443, &why), 0, "live entry passes through");
    is_int(rules_auto_remove(r, "10.0.0.8", "now.test"), 0, "removing the entry succeeds");
    is_int(rules_intercept(r, "10.0.0.8", "now.test", 443, &why), 1, "intercepted after removal");

    /* built-in list */
    is_int(intercept_at(r, "1.2.3.4", "gateway.push.apple.com", 443, &why, t0), 0,
           "built-in: Apple push passed through");
    ok(why && strstr(why, "built-in"), "why names the built-in list");
    is_int(intercept_at(r, "1.2.3.4", "apple.com", 443, &why, t0), 0, "built-in: apple.com itself");
    is_int(intercept_at(r, "1.2.3.4", "is1-ssl.mzstatic.com", 443, &why, t0), 0, "built-in: mzstatic");
    is_int(intercept_at(r, "1.2.3.4", "play.googleapis.com", 443, &why, t0), 0, "built-in: Play services");
    is_int(intercept_at(r, "1.2.3.4", "firebase.googleapis.com", 443, &why, t0), 1,
           "not built in: Firebase stays intercepted");
    is_int(intercept_at(r, "1.2.3.4", "notapple.com", 443, &why, t0), 1, "not built in: notapple.com");
    rules_free(r);
    r = make(0, NULL, 0);
    is_int(intercept_at(r, "1.2.3.4", "gateway.push.apple.com", 443, &why, t0), 1,
           "--no-default-passthrough intercepts the built-in list");
    rules_free(r);
    const char *mine[] = {"*.icloud.com"};
    r = make(1, mine, 1);
    is_int(intercept_at(r, "1.2.3.4", "api.icloud.com", 443, &why, t0), 1,
           "an --intercept glob naming a built-in host wins");
    is_int(intercept_at(r, "1.2.3.4", "api.example.com", 443, &why, t0), 0,
           "--intercept still limits what is intercepted");
    rules_free(r);

    /* the table never grows past its bound; expired entries make room */
    r = make(1, NULL, 0);
    char host[64];
    for (int i = 0; i < RULES_MAX_TRACKED; i++) {
        snprintf(host, sizeof host, "h%d.test", i);
        for (int k = 0; k < 3; k++)
            rejected_at(r, "10.1.1.1", host, 0, t0);
    }
    is_int((long long)r->npairs, RULES_MAX_TRACKED, "table full");
    is_int(rejected_at(r, "10.1.1.2", "late.test", 0, t0 + 10), 0, "full table: a new pair is not tracked");
    is_int((long long)r->npairs, RULES_MAX_TRACKED, "still bounded");
    rejected_at(r, "10.1.1.2", "late.test", 0, t0 + 1900);
    rejected_at(r, "10.1.1.2", "late.test", 0, t0 + 1900);
    is_int(rejected_at(r, "10.1.1.2", "late.test", 0, t0 + 1900), 1,
           "once entries expired they make room");
    rules_free(r);
    /* rules_glob_match: a glob with a port and one without (the common case, matched without a
     * copy) say the same things as before */
    ok(rules_glob_match("*.example.com", "a.example.com", 443) &&
           rules_glob_match("*.example.com", "example.com", 443) &&
           rules_glob_match("*.Example.COM", "A.example.com", 80) &&
           !rules_glob_match("*.example.com", "example.org", 443),
       "glob without a port: any port, '*.x' covers x, case folded");
    ok(rules_glob_match("*.example.com:8443", "a.example.com", 8443) &&
           rules_glob_match("*.example.com:8443", "example.com", 8443) &&
           !rules_glob_match("*.example.com:8443", "a.example.com", 443),
       "glob with a port: that port only");
    ok(rules_glob_match("[::1]:443", "[::1]", 443) == !fnmatch("[::1]:443", "[::1]", FNM_CASEFOLD) &&
           rules_glob_match("::1", "::1", 443) && !rules_glob_match("::1", "::2", 443),
       "IPv6: brackets or more than one colon are not a port suffix");
    char longglob[400];
    memset(longglob, 'a', sizeof longglob - 1);
    longglob[sizeof longglob - 1] = '\0';
    longglob[0] = '*';
    char host299[300];
    memset(host299, 'a', sizeof host299 - 1);
    host299[sizeof host299 - 1] = '\0';
    ok(rules_glob_match(longglob, host299, 443) && !rules_glob_match(longglob, "b", 443),
       "a glob longer than 299 characters is cut there, as it always was");

    return done();
}
