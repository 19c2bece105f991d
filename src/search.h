/* search.h — the viewer's search of what the flow summaries do not hold: request and response
 * bodies (decoded) and headers (GET /api/search). Runs on the caller's thread with the caller's
 * store reader (the web thread); one call examines a bounded amount of data, so a big session is
 * searched a page at a time and the web thread is never held for long.
 *
 * Query terms (separated by spaces; "..." groups spaces; a leading "-" negates a term; matching
 * is ASCII case-insensitive; every term must match):
 *   body:TEXT  ~b TEXT       the request or the response body contains TEXT
 *   reqbody:TEXT  ~bq TEXT   the request body contains TEXT
 *   respbody:TEXT  ~bs TEXT  the response body contains TEXT
 *   header:NAME              a request or response header is named NAME
 *   header:NAME=VALUE        such a header's value contains VALUE
 *   ~h TEXT (~hq, ~hs)       a header line "Name: value" (of the request, the response) contains TEXT
 * Other words (URL text, host:, status:, ...) are the viewer's to filter and are ignored here. */
#ifndef HTTPEEK_SEARCH_H
#define HTTPEEK_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "attrib.h"
#include "store.h"

struct search_query;

/* Parse q. NULL with a one-line reason in err when q holds no body or header term, a term has no
 * text, or memory runs out. Free with search_free. */
struct search_query *search_parse(const char *q, char *err, size_t errlen) HP_NONNULL(1, 2);

/* NULL allowed. */
void search_free(struct search_query *sq);

/* Where a search call stopped. */
struct search_page {
    uint64_t next_after; /* the last flow id examined (ask again with after = this) */
    int done;            /* 1 when every visible flow after `after` was examined */
};

/* Append to ids (a JSON array) the ids of visible flows with id > after that match every term of
 * sq, in id order: at most limit ids (0 = no limit), stopping once budget bytes (headers and
 * decoded bodies) were examined (always at least one flow). Returns 0, or -1 on a store error. */
int search_run(struct store_reader *r, const struct search_query *sq, uint64_t after,
               size_t limit, size_t budget, json_t *ids, struct search_page *page)
    HP_NONNULL(1, 2, 6, 7);

#endif
