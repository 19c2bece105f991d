/* web_search.c — GET /api/search?q=...&after=ID&limit=N: the ids of flows whose bodies or headers
 * match q (search.h), a bounded page of work per request. Runs on the web thread. */
#include "web_internal.h"
#include "web_reply.h"

#include <stdlib.h>
#include <event2/keyvalq_struct.h>
#include "search.h"

/* Bytes of headers and decoded bodies one request examines before answering with where it
 * stopped: tens of milliseconds of the web thread, so live events and other tabs keep flowing. */
#define SEARCH_BUDGET (16u * 1024 * 1024)
/* Most ids one answer carries (and the default). */
#define SEARCH_LIMIT_MAX 10000

static uint64_t number(const char *s)
{
    if (!s)
        return 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return end == s || *end ? 0 : (uint64_t)v;
}

void web__search(struct web *w, struct evhttp_request *req, struct evkeyvalq *query)
{
    const char *q = evhttp_find_header(query, "q");
    if (!q || !*q) {
        web__send_error(req, 400, "q is required (body:TEXT, header:NAME[=VALUE], ~b TEXT, ~h TEXT)");
        return;
    }
    char err[160];
    struct search_query *sq = search_parse(q, err, sizeof err);
    if (!sq) {
        web__send_error(req, 400, err);
        return;
    }
    uint64_t after = number(evhttp_find_header(query, "after"));
    uint64_t limit = number(evhttp_find_header(query, "limit"));
    if (!limit || limit > SEARCH_LIMIT_MAX)
        limit = SEARCH_LIMIT_MAX;
    json_t *ids = json_array();
    struct search_page page;
    if (!ids || search_run(w->reader, sq, after, (size_t)limit, SEARCH_BUDGET, ids, &page) < 0) {
        json_decref(ids);
        web__send_error(req, 500, "the session file could not be read (see the log)");
    } else {
        web__send_json(req, 200, json_pack("{s:o, s:I, s:b}", "ids", ids, "next_after",
                                            (json_int_t)page.next_after, "done", page.done));
    }
    search_free(sq);
}
