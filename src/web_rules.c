/* web_rules.c — GET /api/rules and PUT /api/rules: the rules file (ruleset_file.h) as rules.json
 * (docs/RULES.md), with the command line's rules added read-only as "command_line". An ETag
 * names the version read; a PUT with If-Match of another version is refused (412), so two
 * editors never overwrite each other; an invalid body is refused whole (400, line and field). */
#include "web_internal.h"
#include "web_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "ruleset_file.h"

/* Most bytes a PUT body may have. */
#define WEB_RULES_MAX (1u << 20)

static void api_rules_get(struct web *w, struct evhttp_request *req)
{
    char *text, *cli, etag[32];
    if (ruleset_file_get(w->route_rules, &text, &cli, etag, sizeof etag) < 0) {
        web__send_error(req, 500, "out of memory");
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr), *cl = json_loads(cli, 0, &jerr);
    free(text);
    free(cli);
    if (!json_is_object(doc)) { /* a hand edit broke it after start: the set in use stays */
        json_decref(doc);
        doc = json_pack("{s:i, s:[]}", "version", 1, "rules");
    }
    json_object_set(doc, "command_line", json_object_get(cl, "rules"));
    json_decref(cl);
    evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", etag);
    web__send_json(req, 200, doc);
}

static void api_rules_put(struct web *w, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > WEB_RULES_MAX) {
        web__send_error(req, 413, "a rules file is at most 1 MiB");
        return;
    }
    const char *text = len ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *if_match = evhttp_find_header(evhttp_request_get_input_headers(req), "If-Match");
    char etag[32], err[512];
    switch (ruleset_file_put(w->route_rules, text, len, if_match, etag, sizeof etag, err,
                             sizeof err)) {
    case RULESET_PUT_OK:
        evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", etag);
        web__send_json(req, 200, json_pack("{s:b, s:s}", "saved", 1, "etag", etag));
        return;
    case RULESET_PUT_CONFLICT:
        evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", etag);
        web__send_error(req, 412, err);
        return;
    case RULESET_PUT_INVALID:
        web__send_error(req, 400, err);
        return;
    case RULESET_PUT_IO:
        web__send_error(req, 500, err);
        return;
    }
}

int web__rules_route(struct web *w, struct evhttp_request *req, const char *path,
                     enum evhttp_cmd_type cmd)
{
    if (strcmp(path, "/api/rules"))
        return 0;
    if (!w->route_rules)
        web__send_error(req, 404, "no rules here");
    else if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
        api_rules_get(w, req);
    else if (cmd == EVHTTP_REQ_PUT)
        api_rules_put(w, req);
    else
        web__send_error(req, 405, "use GET, or PUT with the rules.json text");
    return 1;
}
