/* test_har_import.c — a failed entry of a HAR httpeek exported, opened again, is diagnosed as it
 * was: its timeouts stay -1001 whatever stage they happened in (the reason's words name none). */
#include "../../src/har_import.c"

#include "diagnose.h"
#include "tap.h"

/* the code diagnose_flow gives the imported entry: response status 0, _error, _diagnosis */
static int code_of(const char *stage, int code, const char *error)
{
    json_t *e = json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:[]}, s:{s:i, s:s}, s:{s:i, s:i, s:i},"
                          " s:{s:i, s:s}}",
                          "startedDateTime", "2026-01-01T00:00:00Z", "time", 1, "request", "method",
                          "GET", "url", "http://a.test/x", "httpVersion", "HTTP/1.1", "headers",
                          "response", "status", 0, "_error", error, "timings", "send", 0, "wait", 0,
                          "receive", 0, "_diagnosis", "code", code, "stage", stage);
    struct flow *f = e ? har_import_entry(e, 1024, NULL) : NULL;
    struct diagnosis d = {0};
    int got = f && diagnose_flow(f, &d) && d.entry ? d.entry->code : 0;
    if (f)
        flow_free(f);
    json_decref(e);
    return got;
}

int main(void)
{
    /* the reasons httpeek writes (upstream.c on_deadline, exchange.c exchange_timed_out) */
    is_int(code_of("connect", -1001, "no answer from 127.0.0.1 within 1s"), -1001,
           "httpeek's HAR: a connect timeout comes back -1001, not -1004 (cannot connect)");
    is_int(code_of("dns", -1001, "no DNS answer for a.test within 1s"), -1001,
           "httpeek's HAR: a DNS timeout comes back -1001, not -1003 (host not found)");
    is_int(code_of("wait", -1001, "a.test:80 sent no response within 1s"), -1001,
           "httpeek's HAR: no response in time comes back -1001, not -1005 (connection lost)");
    is_int(code_of("connect", -1004, "connect to 127.0.0.1:9: Connection refused"), -1004,
           "httpeek's HAR: a refused connect stays -1004");
    return done();
}
