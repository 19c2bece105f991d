/* web_reply.c — see web_reply.h. */
#include "web_reply.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* Headers of every answer; frame_self: the viewer may show it in a (sandboxed) iframe. */
void web__answer_headers(struct evhttp_request *req, const char *content_type, int frame_self)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", frame_self ? "SAMEORIGIN" : "DENY");
}

void web__common_headers(struct evhttp_request *req, const char *content_type)
{
    web__answer_headers(req, content_type, 0);
}

static void free_text(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

/* Send v (stolen) as the JSON body of a code response. */
void web__send_json(struct evhttp_request *req, int code, json_t *v)
{
    struct evbuffer *b = evbuffer_new();
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!b || !text) {
        free(text);
        if (b)
            evbuffer_free(b);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add_reference(b, text, strlen(text), free_text, NULL);
    web__common_headers(req, "application/json; charset=utf-8");
    evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", b);
    evbuffer_free(b);
}

void web__send_error(struct evhttp_request *req, int code, const char *reason)
{
    web__send_json(req, code, json_pack("{s:s}", "error", reason));
}
