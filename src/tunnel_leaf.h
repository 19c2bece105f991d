/* tunnel_leaf.h — what the client of an intercepted tunnel is shown: the leaf minted for its
 * name, or, when the server's certificate failed verification (t->mirror_untrusted), a mirror of
 * its defect (mirror.h); and what the client refusing it means (the clients table, automatic
 * passthrough for that device). Given the tunnel's facts one by one (it never sees struct tunnel,
 * so it never depends on its caller). On the tunnel's worker thread. */
#ifndef HTTPEEK_TUNNEL_LEAF_H
#define HTTPEEK_TUNNEL_LEAF_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "attrib.h"
#include "flow.h"
#include "proxy.h"
#include "tls_facts.h"

/* The server-side SSL for a client leg with the leaf for name (its facts attached to client_tls:
 * which leaf and why), or NULL with a reason in err. untrusted_upstream: the server's TLS facts
 * when its certificate failed verification and the client is to see a mirror of its defect,
 * else NULL; upstream_failed: the upstream connection failed otherwise (said in the leaf's
 * reason). */
SSL *tunnel_leaf_ssl(struct proxy *p, const char *name, const struct tls_facts *untrusted_upstream,
                     int upstream_failed, struct tls_facts *client_tls, char *err, size_t errlen)
    HP_NONNULL(1, 2, 5, 6);

/* The client at client_addr refused httpeek's certificate for host on tunnel flow f: tell the
 * clients table and the rules (automatic passthrough for this device), and note both in f. */
void tunnel_leaf_refused(struct proxy *p, const char *client_addr, struct flow *f, const char *host)
    HP_NONNULL(1, 2, 3, 4);

#endif
