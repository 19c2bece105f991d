/* web_reply.h — how the viewer's modules answer an API request: the headers every answer carries
 * and JSON bodies. Web thread only; the lowest layer of src/web*.c (it calls none of them). */
#ifndef HTTPEEK_WEB_REPLY_H
#define HTTPEEK_WEB_REPLY_H

#include <event2/http.h>
#include <jansson.h>
#include "attrib.h"

/* The headers of every answer (content_type may be NULL); frame_self: the viewer may show it in a
 * (sandboxed) iframe of its own. */
void web__answer_headers(struct evhttp_request *req, const char *content_type, int frame_self)
    HP_NONNULL(1);

/* web__answer_headers for an answer no frame may show. */
void web__common_headers(struct evhttp_request *req, const char *content_type) HP_NONNULL(1);

/* Send v (stolen) as the JSON body of a code response. */
void web__send_json(struct evhttp_request *req, int code, json_t *v) HP_NONNULL(1);

/* Send {"error": reason} with code. */
void web__send_error(struct evhttp_request *req, int code, const char *reason) HP_NONNULL(1, 3);

#endif
