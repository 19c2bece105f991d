/* test_throttle.c — network conditions: the presets and the custom form (throttle.h), their
 * bad forms refused with a reason, the rules.json "throttle" action and --throttle short form
 * (ruleset.h: its own kind, a global throttle without a match), the token bucket configs
 * (interned, bounded), and the seeded loss roll's rate. */
#include <stdlib.h>
#include <string.h>
#include <event2/bufferevent.h>
#include "ruleset.h"
#include "throttle.h"
#include "tap.h"

static struct rule_request req(const char *host, const char *path)
{
    struct rule_request q = {.scheme = "https", .host = host, .port = 443, .path = path,
                             .method = "GET", .client = "127.0.0.1"};
    return q;
}

/* 1 when text parses (the set is released). */
static int parse_check(const char *text, char *err, size_t errlen)
{
    struct ruleset *s = ruleset_parse(text, strlen(text), NULL, err, errlen);
    ruleset_release(s);
    return s != NULL;
}

int main(void)
{
    char err[400];
    struct throttle_profile p;
    ok(throttle_parse("3g", &p, err, sizeof err) == 0 && p.down_bps == 780000 &&
       p.up_bps == 330000 && p.latency_ms == 100 && p.loss == 0, "3g: 780/330 kbps, 100 ms");
    ok(throttle_parse("lte", &p, err, sizeof err) == 0 && p.down_bps == 50000000 &&
       p.up_bps == 10000000 && p.latency_ms == 65, "lte: 50/10 Mbps, 65 ms (NLC's larger delay)");
    ok(throttle_parse("edge", &p, err, sizeof err) == 0 && p.down_bps == 240000 &&
       p.up_bps == 200000 && p.latency_ms == 440, "edge: 240/200 kbps, 440 ms");
    ok(throttle_parse("dsl", &p, err, sizeof err) == 0 && p.down_bps == 2000000 &&
       p.up_bps == 256000 && p.latency_ms == 5, "dsl: 2 Mbps/256 kbps, 5 ms");
    ok(throttle_parse("very-bad", &p, err, sizeof err) == 0 && p.down_bps == 1000000 &&
       p.latency_ms == 500 && p.loss > 0.099 && p.loss < 0.101, "very-bad: 1 Mbps, 500 ms, 10%% loss");
    ok(throttle_parse("loss100", &p, err, sizeof err) == 0 && p.loss == 1 && throttle_lost(&p),
       "loss100: 100%% loss");
    ok(throttle_parse("dns-slow", &p, err, sizeof err) == 0 && p.dns_ms == 3000 && !p.down_bps,
       "dns-slow: 3 s DNS delay, bandwidth not limited");
    ok(throttle_parse("custom:down=780k,up=330k,latency=100ms,loss=0%", &p, err, sizeof err) == 0 &&
       p.down_bps == 780000 && p.up_bps == 330000 && p.latency_ms == 100 && !p.loss &&
       !strcmp(p.name, "custom"), "custom: the issue's example");
    ok(throttle_parse("custom:down=1.5M,latency=0.25s,dns=20,loss=2.5%", &p, err, sizeof err) == 0 &&
       p.down_bps == 1500000 && !p.up_bps && p.latency_ms == 250 && p.dns_ms == 20 &&
       p.loss > 0.0249 && p.loss < 0.0251, "custom: M suffix, seconds, bare ms, fractional %%");
    ok(throttle_parse("4g", &p, err, sizeof err) < 0 && strstr(err, "unknown throttle '4g'"),
       "unknown preset refused: %s", err);
    ok(throttle_parse("custom:down=fast", &p, err, sizeof err) < 0 && strstr(err, "down=fast"),
       "bad custom value named: %s", err);
    ok(throttle_parse("custom:jitter=5ms", &p, err, sizeof err) < 0 && strstr(err, "jitter"),
       "unknown custom field named");
    ok(throttle_parse("custom:loss=101%", &p, err, sizeof err) < 0, "loss over 100%% refused");
    ok(throttle_parse("custom:", &p, err, sizeof err) < 0, "empty custom refused");
    char d[200];
    throttle_parse("3g", &p, err, sizeof err);
    throttle_describe(&p, d, sizeof d);
    is_str(d, "3g: 780 kbps down, 330 kbps up, +100 ms per round trip, 0% loss", "describe 3g");
    throttle_spec(&p, d, sizeof d);
    is_str(d, "3g", "an unchanged preset is written as its name");

    /* token bucket configs: interned, bounded */
    const struct ev_token_bucket_cfg *a = throttle_bucket_cfg(&p), *b = throttle_bucket_cfg(&p);
    ok(a && a == b, "the same rates share one bucket config");
    struct throttle_profile q = p;
    q.down_bps = 1000;
    ok(throttle_bucket_cfg(&q) && throttle_bucket_cfg(&q) != a, "other rates: another config");
    int made = 0;
    for (int i = 0; i < THROTTLE_MAX_CFGS + 10; i++) {
        q.down_bps = 2000 + (uint64_t)i * 8000;
        made += throttle_bucket_cfg(&q) != NULL;
    }
    ok(made < THROTTLE_MAX_CFGS + 10, "distinct configs are bounded (%d made)", made);
    ok(throttle_down_bytes_per_sec(&p) == 97500, "3g down: 97500 bytes/s");

    /* loss: seeded, within its rate */
    throttle_parse("very-bad", &p, err, sizeof err);
    throttle_seed(7);
    int lost = 0;
    for (int i = 0; i < 10000; i++)
        lost += throttle_lost(&p);
    ok(lost > 900 && lost < 1100, "10%% loss: %d of 10000 lost", lost);
    throttle_seed(7);
    int again = 0;
    for (int i = 0; i < 10000; i++)
        again += throttle_lost(&p);
    ok(again == lost, "the same seed gives the same losses");
    throttle_parse("3g", &p, err, sizeof err);
    ok(!throttle_lost(&p), "no loss: never lost");
    throttle_parse("loss100", &p, err, sizeof err);
    ok(throttle_lost(&p), "100%% loss: lost");

    /* rules: its own kind; global without a match */
    struct ruleset *s = ruleset_new();
    ok(ruleset_add_short(s, RULE_BLOCK, "*.blocked.test", err, sizeof err) == 0 &&
       ruleset_add_short(s, RULE_THROTTLE, "3g@api.test", err, sizeof err) == 0 &&
       ruleset_add_short(s, RULE_THROTTLE, "edge", err, sizeof err) == 0, "short forms added");
    struct rule_request r1 = req("api.test", "/x"), r2 = req("other.test", "/"),
                        r3 = req("a.blocked.test", "/");
    const struct rule *t1 = ruleset_match_throttle(s, &r1), *t2 = ruleset_match_throttle(s, &r2);
    ok(t1 && !strcmp(t1->throttle.name, "3g") && !strcmp(t1->id, "cli-2"),
       "3g@api.test matches api.test");
    ok(t2 && !strcmp(t2->throttle.name, "edge"), "a throttle without a pattern matches every host");
    ok(!ruleset_match(s, &r1, NULL), "route matching skips throttle rules");
    const struct rule *t3 = ruleset_match(s, &r3, NULL);
    ok(t3 && t3->action == RULE_BLOCK, "route rules still match");
    ok(ruleset_has_throttle(s), "the set says a throttle is on");
    ok(ruleset_add_short(s, RULE_THROTTLE, "5g@x.test", err, sizeof err) < 0 &&
       strstr(err, "--throttle '5g@x.test'"), "bad --throttle refused: %s", err);
    ok(ruleset_add_short(s, RULE_THROTTLE, "3g@", err, sizeof err) < 0, "nothing after '@' refused");
    ok(s->n == 3, "failed short forms leave no rule");

    /* rules.json round trip */
    char *json = ruleset_to_json(s, 0);
    struct ruleset *back = json ? ruleset_parse(json, strlen(json), NULL, err, sizeof err) : NULL;
    ok(back && back->n == 3 && back->rules[2].action == RULE_THROTTLE &&
       !strcmp(back->rules[2].throttle.name, "edge") && !back->rules[2].host,
       "to_json and back: the global edge throttle");
    free(json);
    ruleset_release(back);
    ruleset_release(s);
    const char *custom =
        "{\"version\": 1, \"rules\": [\n"
        "  {\"id\": \"slow\", \"match\": {\"host\": \"*.cdn.test\"},\n"
        "   \"action\": {\"type\": \"throttle\", \"down\": \"256k\", \"up\": 64000, \"latency\": \"300ms\", \"loss\": 5}}\n"
        "]}";
    s = ruleset_parse(custom, strlen(custom), NULL, err, sizeof err);
    ok(s && s->rules[0].throttle.down_bps == 256000 && s->rules[0].throttle.up_bps == 64000 &&
       s->rules[0].throttle.latency_ms == 300 && s->rules[0].throttle.loss > 0.049,
       "rules.json custom throttle fields (strings and numbers)");
    json = s ? ruleset_to_json(s, 0) : NULL;
    struct ruleset *s2 = json ? ruleset_parse(json, strlen(json), NULL, err, sizeof err) : NULL;
    ok(s2 && s2->rules[0].throttle.down_bps == 256000 && s2->rules[0].throttle.latency_ms == 300,
       "a custom throttle round-trips through to_json");
    free(json);
    ruleset_release(s2);
    ruleset_release(s);
    const char *bad =
        "{\"version\": 1, \"rules\": [\n"
        "  {\"action\": {\"type\": \"throttle\",\n"
        "               \"preset\": \"5g\"}}\n"
        "]}";
    ok(!parse_check(bad, err, sizeof err) && strstr(err, "line 3") &&
       strstr(err, "rules[0].action.preset"), "bad preset: line and field named: %s", err);
    const char *bad2 =
        "{\"version\": 1, \"rules\": [\n"
        "  {\"action\": {\"type\": \"throttle\",\n"
        "      \"down\": \"fast\"}}\n"
        "]}";
    ok(!parse_check(bad2, err, sizeof err) && strstr(err, "line 3") &&
       strstr(err, "rules[0].action.down"), "bad custom field: line and field named: %s", err);
    const char *bad3 = "{\"version\": 1, \"rules\": [{\"action\": {\"type\": \"throttle\"}}]}";
    ok(!parse_check(bad3, err, sizeof err) && strstr(err, "preset"), "a throttle with nothing refused: %s", err);
    const char *bad4 = "{\"version\": 1, \"rules\": [{\"action\": {\"type\": \"block\"}}]}";
    ok(!parse_check(bad4, err, sizeof err) && strstr(err, "match"),
       "other actions still need a match: %s", err);
    return done();
}
