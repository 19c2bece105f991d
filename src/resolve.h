/* resolve.h — turn a host name into addresses the way this machine does. One resolver per
 * worker, used from that worker's event-loop thread only. Order: the --hosts file, then RFC 6761
 * special-use names (".invalid" fails at once, "localhost" is loopback), then either the one
 * nameserver given with --dns (evdns on the worker's loop: tests, benchmarks, CI) or the system
 * resolver (getaddrinfo: /etc/hosts, nsswitch.conf, mDNS, a VPN's split DNS) run on a small
 * process-wide thread pool with a short shared cache. Results always arrive on the worker's
 * loop, never from inside resolve_start. */
#ifndef HTTPEEK_RESOLVE_H
#define HTTPEEK_RESOLVE_H

#include <stddef.h>
#include <sys/socket.h>
#include <event2/event.h>
#include "attrib.h"

#define RESOLVE_MAX_ADDRS 8

enum resolve_status {
    RESOLVE_OK,
    RESOLVE_NO_SUCH_HOST, /* the name does not exist (NXDOMAIN, no address, special-use) */
    RESOLVE_NO_SERVER,    /* no DNS server could be reached: nothing to wait for */
    RESOLVE_TIMEOUT,      /* a server was reachable and did not answer in time */
    RESOLVE_FAILED,       /* the server failed (SERVFAIL, refused) or we ran out of memory */
};

struct resolve_result {
    enum resolve_status status;
    int eai;                  /* EVUTIL_EAI_* for the flow's failure facts, 0 when OK */
    int naddrs;
    struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS]; /* port 0: the caller sets it */
    char why[160];            /* on failure, what happened in words ("no DNS server answered ...") */
};

typedef void (*resolve_cb)(const struct resolve_result *r, void *arg);

struct resolver;
struct resolve_req;

struct mailbox;

/* New resolver on base. The pool threads hand results over through mailbox (the worker's,
 * mailbox.h; borrowed, must outlive the resolver; NULL: by event_active, base must then be
 * thread-safe). hosts_file (NULL: none) is read now; dns_server "HOST[:PORT]" (NULL: the system
 * resolver). On error returns NULL with a sentence in err. */
struct resolver *resolver_new(struct event_base *base, struct mailbox *mailbox, const char *hosts_file,
                              const char *dns_server, char *err, size_t errlen)
    HP_NONNULL(1, 5) HP_WUNRES;

/* Free; every request must have reported or been cancelled. NULL allowed. */
void resolver_free(struct resolver *rv);

/* Start resolving host. cb runs once, from the loop; NULL on OOM (cb never runs). The handle is
 * valid until cb runs or resolve_cancel. */
struct resolve_req *resolve_start(struct resolver *rv, const char *host, resolve_cb cb, void *arg)
    HP_NONNULL(1, 2, 3) HP_WUNRES;

/* Abandon a request: cb will not run, and nothing touches arg afterwards (a getaddrinfo still
 * running in the pool finishes on its own and frees its memory there). */
void resolve_cancel(struct resolve_req *req) HP_NONNULL(1);

/* Special-use names (RFC 6761) that never resolve: "invalid" and "*.invalid". */
int resolve_is_invalid_name(const char *host) HP_NONNULL(1);

#endif
