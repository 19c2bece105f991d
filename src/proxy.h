/* proxy.h — what every worker shares: options, CA, leaf cache, TLS contexts, id counters and
 * where finished flows go. Built by main before the workers start and read-only afterwards
 * (the counters are atomic). */
#ifndef HTTPEEK_PROXY_H
#define HTTPEEK_PROXY_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <openssl/ssl.h>
#include "acl.h"
#include "budget.h"
#include "clients.h"
#include "client_slots.h"
#include "ca.h"
#include "flow.h"
#include "leafcache.h"
#include "opts.h"
#include "rules.h"
#include "ruleset.h"
#include "setup.h"

struct store_messages;

struct exchange_policy;
struct tunnel_policy;
struct replay_marks;
struct breakpoints;

struct proxy {
    const struct opts *opts;         /* borrowed from main */
    struct ca *ca;                   /* borrowed from main */
    struct leafcache *leaves;        /* borrowed from main, shared by workers */
    struct rules *rules;             /* interception rules (borrowed from main, thread-safe) */
    struct ruleset_holder *route_rules; /* map local / map remote / block rules in use
                                           (ruleset.h; borrowed from main; lock-free reads) */
    const struct exchange_policy *policy; /* what the rules do to an exchange (exchange.h; main
                                           sets rule_policy; NULL: no rules, nothing called) */
    const struct tunnel_policy *tunnel_policy; /* ... to a passthrough tunnel (tunnel.h; main sets
                                           rule_tunnel_policy; NULL: nothing called) */
    struct breakpoints *breakpoints; /* breakpoints set from the viewer (breakpoint.h; borrowed
                                        from main; NULL: none) */
    struct leafcache *untrusted;     /* leaves of a never-trusted CA: mirror upstream cert errors */
    struct ca *untrusted_ca;         /* that CA (in memory only) */
    struct acl allowed;              /* clients that may use the proxy */
    struct clients *clients;         /* what is known per client address (thread-safe) */
    struct setup_reach reach;        /* how devices reach the proxy (for the setup pages) */
    SSL_CTX *tls_server;             /* client-facing context (borrowed) */
    SSL_CTX *tls_client;             /* upstream-facing context (borrowed) */
    atomic_uint_fast64_t next_flow_id;
    atomic_uint_fast64_t next_conn_id;
    atomic_int live_conns;           /* client connections open now */
    struct budget *budget;           /* --memory-budget (borrowed from main; NULL: none) */
    struct client_slots *client_slots; /* connections open per client address (borrowed from main;
                                        NULL: no --max-client-connections check) */
    FILE *out;                       /* where the one-line-per-exchange log goes */
    flow_sink_fn sink;               /* takes finished flows; NULL frees them */
    void *sink_arg;
    int (*sink_busy)(void *sink_arg); /* 1: take no new request now (store behind); may be NULL */
    unsigned (*sink_pace_us)(void *sink_arg); /* µs each new request should wait (store falling
                                               * behind: store_pace_us), 0: none; may be NULL */
    struct replay_marks *replay_marks; /* httpeek's own repeats' connections (replay_marks.h;
                                        borrowed from main; NULL: none) */
    struct store_messages *ws_messages; /* where WebSocket messages go (store_messages.h; borrowed
                                           from the store; NULL: not recorded) */
};

#endif
