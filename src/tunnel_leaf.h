/* tunnel_leaf.h — what the client of an intercepted tunnel is shown: the leaf minted for its
 * name, or, when the server's certificate failed verification (t->mirror_untrusted), a mirror of
 * its defect (mirror.h); and what the client refusing it means (the clients table, automatic
 * passthrough for that device). Reads the tunnel's facts, never calls its owner. On the
 * tunnel's worker thread. */
#ifndef HTTPEEK_TUNNEL_LEAF_H
#define HTTPEEK_TUNNEL_LEAF_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "attrib.h"
#include "flow.h"
#include "tunnel.h"

/* The server-side SSL for t's client leg with the leaf for name (its facts attached to
 * t->client->tls: which leaf and why), or NULL with a reason in err. */
SSL *tunnel_leaf_ssl(struct tunnel *t, const char *name, char *err, size_t errlen)
    HP_NONNULL(1, 2, 3);

/* The client refused httpeek's certificate for host on tunnel flow f: tell the clients table and
 * the rules (automatic passthrough for this device), and note both in f. */
void tunnel_leaf_refused(struct tunnel *t, struct flow *f, const char *host) HP_NONNULL(1, 2, 3);

#endif
