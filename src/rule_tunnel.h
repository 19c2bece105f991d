/* rule_tunnel.h — what the rules in use (ruleset.h, proxy->route_rules) do to a CONNECT tunnel
 * httpeek passes through untouched (not intercepted: --passthrough, the built-in list, a device
 * that refused httpeek's CA), for tunnel.c through struct tunnel_policy (proxy->tunnel_policy,
 * installed by main): the first route rule matching https://HOST:PORT/ that is a block refuses
 * the CONNECT (a status: that answer; refused / dns: httpeek's 502 with the facts of -1004 /
 * -1003) or resets it (reset, and tls / timeout / reset_body, which need a TLS session or a
 * request to act on: the connection closed without an answer); the first matching throttle
 * shapes the relayed bytes (down / up token buckets on the client connection, throttle.h) and
 * drops the tunnel at its loss rate. Each is noted in the tunnel's flow (_rules). Runs on the
 * tunnel's worker. */
#ifndef HTTPEEK_RULE_TUNNEL_H
#define HTTPEEK_RULE_TUNNEL_H

#include "tunnel.h"

/* The rules' hooks for passthrough tunnels (tunnel.h), installed by main. */
extern const struct tunnel_policy rule_tunnel_policy;

#endif
