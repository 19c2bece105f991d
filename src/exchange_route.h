/* exchange_route.h — where an exchange's request goes, decided from its flow's request head and
 * its tunnel: absolute-form (a proxy request), inside an intercepted tunnel (by the SNI, or the
 * HTTP/2 :authority in ex->route_host), or httpeek's own host; the Host value to send; the
 * flow's scheme, host, port and URL; the target once more for a retry; and the Alt-Svc policy
 * for the response. Decisions only: nothing is sent and no front or uplink op is called (the
 * exchange acts on the answer). On the exchange's worker thread; nothing is kept. */
#ifndef HTTPEEK_EXCHANGE_ROUTE_H
#define HTTPEEK_EXCHANGE_ROUTE_H

#include <stddef.h>
#include "attrib.h"
#include "flow.h"
#include "http1.h"
#include "exchange_state.h"

/* Where the request goes (filled by exchange_route). */
struct exchange_route {
    char scheme[16];        /* "http" or "https" */
    char host[256];         /* lowercase */
    int port;
    const char *path;       /* path and query: into the request's target (borrowed) */
    const char *host_field; /* the Host value to send (= authority), or NULL: the request's own */
    char authority[300];    /* "host[:port]" as the URL shows it */
};

enum exchange_route_result {
    EXCHANGE_ROUTE_UPSTREAM, /* r filled; the flow's scheme, host, port and URL set */
    EXCHANGE_ROUTE_OWN,      /* for httpeek's own pages (the front answers) */
    EXCHANGE_ROUTE_REFUSED,  /* httpeek answers 400: *why and reason say why (the flow failed
                              * and has its URL where the target had one) */
};

/* Decide where ex's request (ex->flow->req) goes. reason (reasonlen bytes) gets the answer's
 * words when refused. */
enum exchange_route_result exchange_route(struct exchange *ex, struct exchange_route *r,
                                          enum flow_refusal *why, char *reason, size_t reasonlen)
    HP_NONNULL(1, 2, 3, 4);

/* Where ex's request goes once more on its uplink (a retry): *path, and the Host value to add
 * in host_field ("" for none). 0, or -1 when the target cannot be parsed. */
int exchange_route_again(const struct exchange *ex, const char **path, char *host_field,
                         size_t len) HP_NONNULL(1, 2, 3);

/* The Alt-Svc policy for ex's final response resp: EXCHANGE_STRIP_ALT_SVC when it is to be left
 * out (the flow's note says so), else 0. */
unsigned exchange_alt_svc_flags(const struct exchange *ex, struct flow *f,
                                const struct http1_head *resp) HP_NONNULL(1, 2, 3);

/* "host" or "[v6]" plus ":port" unless it is the scheme's default (tls: 443, else 80). */
void exchange_format_authority(char *out, size_t len, const char *host, int port, int tls)
    HP_NONNULL(1, 3);

/* Split "scheme://authority/path" into its parts; returns 0 or -1 when malformed. */
int exchange_parse_absolute(const char *target, char *scheme, size_t slen, char *host, size_t hlen,
                            int *port, const char **path) HP_NONNULL(1, 2, 4, 6, 7);

#endif
