/* tunnel_leaf.c — see tunnel_leaf.h. */
#include "tunnel_leaf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include "ca.h"
#include "clients.h"
#include "http1.h"
#include "leafcache.h"
#include "mint.h"
#include "mirror.h"
#include "rules.h"
#include "tls_facts.h"
#include "tls_server.h"

void tunnel_leaf_refused(struct proxy *p, const char *client_addr, struct flow *f, const char *host)
{
    const char *ua = f->req ? http1_head_get(f->req, "user-agent") : NULL;
    struct client_trust before;
    clients_tls_refused(p->clients, client_addr, host, ua, &before);
    f->device_trusted = before.device_trusted;
    f->app_trusted = before.app_trusted;
    if (!rules_client_rejected(p->rules, client_addr, host, before.device_trusted > 0))
        return;
    struct client_summary s;
    clients_get(p->clients, client_addr, &s);
    snprintf(f->note, sizeof f->note,
             "%s is now passed through untouched for this device only (%s%s%s): it refused "
             "httpeek's certificate %d times. Other devices are still intercepted; \"Resume "
             "interception\" in the viewer's passthrough panel undoes it.",
             host, client_addr, s.device[0] ? ", " : "", s.device, p->opts->auto_passthrough);
}

/* Whether httpeek can make a certificate for name at all (mint.h): a mirror of names must not
 * give a name it could never certify a handshake the usual leaf would not get. */
static int certifiable(const char *name)
{
    char san[256];
    unsigned char addr[16];
    return name[0] == '[' || inet_pton(AF_INET, name, addr) == 1 ||
           inet_pton(AF_INET6, name, addr) == 1 || mint_san_name(name, san, sizeof san) == 0;
}

/* Mirrors of dates and names are minted each time, never cached: a later good server for the
 * same name must get the usual leaf. */
SSL *tunnel_leaf_ssl(struct proxy *p, const char *name, const struct tls_facts *untrusted_upstream,
                     int upstream_failed, struct tls_facts *client_tls, char *err, size_t errlen)
{
    struct ca *ca = p->ca;
    X509 *leaf;
    int send_chain = 1;
    enum mirror_leaf kind = MIRROR_MINTED;
    char minted_reason[300];
    const char *reason = minted_reason;
    struct mirror_plan plan;
    if (untrusted_upstream) {
        struct flow_tls up;
        tls_facts_get(untrusted_upstream, &up);
        mirror_plan(&up, name, time(NULL), &plan);
        kind = plan.leaf;
        reason = plan.reason;
    } else {
        mirror_minted_reason(name, upstream_failed, minted_reason, sizeof minted_reason);
    }
    if (kind == MIRROR_NAMES && !certifiable(name))
        kind = MIRROR_UNTRUSTED; /* no leaf at all for it: closed, as for any leaf */
    if (kind == MIRROR_UNTRUSTED) {
        ca = p->untrusted_ca;
        send_chain = plan.send_chain;
        leaf = leafcache_get(p->untrusted, name, NULL, err, errlen);
    } else if (kind != MIRROR_MINTED) {
        leaf = ca_mint_leaf_spec(ca, name, &plan.spec, err, errlen);
    } else {
        leaf = leafcache_get(p->leaves, name, NULL, err, errlen);
    }
    SSL *ssl = leaf ? tls_server_ssl_new(p->tls_server, leaf, ca_leaf_key(ca),
                                         send_chain ? ca_cert(ca) : NULL) : NULL;
    if (leaf)
        X509_free(leaf);
    if (ssl) {
        tls_facts_attach(ssl, client_tls);
        tls_facts_set_leaf(client_tls, mirror_leaf_name(kind), reason);
        if (kind != MIRROR_MINTED)
            tls_server_no_resumption(ssl);
    }
    return ssl;
}
