/* test_tls_facts.c — flows take a leg's TLS facts as shared snapshots (tls_facts_to_flow): the
 * flows of a connection share one while nothing changed, and any change (an alert, a flag, the
 * packed strings) gives the next flow a new one while earlier flows keep what they saw. */
#include <stdlib.h>
#include <string.h>
#include "../../src/flow.h"
#include "../../src/tls_facts.h"
#include "tap.h"

int main(void)
{
    struct tls_facts facts;
    memset(&facts, 0, sizeof facts);
    facts.present = 1;
    struct flow *f[6];
    for (int i = 0; i < 6; i++)
        f[i] = flow_new((uint64_t)i + 1, 1, 64);
    ok(f[0]->tls_client == &flow_tls_none && f[0]->tls_upstream == &flow_tls_none &&
       !f[0]->tls_upstream->present, "a new flow's legs point at the empty facts");

    tls_facts_to_flow(&facts, f[0], 0);
    tls_facts_to_flow(&facts, f[1], 0);
    ok(f[0]->tls_client == f[1]->tls_client && f[0]->tls_client->present &&
       f[0]->tls_upstream == &flow_tls_none,
       "two flows of unchanged facts share one snapshot (no copy)");

    strcpy(facts.alert_received, "handshake failure");
    tls_facts_to_flow(&facts, f[2], 0);
    ok(f[2]->tls_client != f[1]->tls_client &&
       !strcmp(f[2]->tls_client->alert_received, "handshake failure") &&
       !f[1]->tls_client->alert_received[0],
       "an alert received since: a new snapshot; the earlier flows keep theirs");

    facts.handshake_done = 1;
    tls_facts_to_flow(&facts, f[3], 1);
    ok(f[3]->tls_upstream != f[2]->tls_client && f[3]->tls_upstream->handshake_done &&
       !f[2]->tls_client->handshake_done, "a flag set in place since: a new snapshot");

    tls_facts_set_leaf(&facts, "minted", "httpeek's CA signed it");
    tls_facts_to_flow(&facts, f[4], 0);
    ok(f[4]->tls_client != f[3]->tls_upstream && !strcmp(f[4]->tls_client->leaf, "minted") &&
       !strcmp(f[4]->tls_client->leaf_reason, "httpeek's CA signed it") &&
       !f[3]->tls_upstream->leaf[0], "strings packed again since: a new snapshot");

    tls_facts_to_flow(&facts, f[5], 0);
    ok(f[5]->tls_client == f[4]->tls_client, "and it is shared again while nothing changes");

    struct flow_tls *mine = flow_tls_edit(f[5], 0);
    ok(mine && mine != f[4]->tls_client && f[5]->tls_client == mine && !strcmp(mine->leaf, "minted"),
       "flow_tls_edit gives a flow a copy of its own to write, the others untouched");
    strcpy(mine->leaf, "other");
    ok(!strcmp(f[4]->tls_client->leaf, "minted"), "writing it changes no other flow");

    /* idle: the snapshot is given back, and made again under the same serial while nothing
     * changed (the store then still writes the facts once); any change: a new serial */
    struct flow *g[4];
    for (int i = 0; i < 4; i++)
        g[i] = flow_new((uint64_t)i + 10, 1, 64);
    uint64_t before = facts.snap->serial; /* f[4]'s (f[5] has a copy of its own now) */
    tls_facts_release_snapshot(&facts);
    ok(facts.snap == NULL && !strcmp(f[4]->tls_client->leaf, "minted"),
       "released while idle: the facts hold no snapshot, the flows keep theirs");
    tls_facts_to_flow(&facts, g[0], 0);
    ok(g[0]->tls_ref[0] && g[0]->tls_ref[0]->serial == before &&
       !strcmp(g[0]->tls_client->leaf, "minted") &&
       !strcmp(g[0]->tls_client->leaf_reason, "httpeek's CA signed it") &&
       !strcmp(g[0]->tls_client->alert_received, "handshake failure") &&
       g[0]->tls_client->handshake_done && facts.memo == NULL,
       "the next flow's snapshot: made again, the same facts under the same serial");
    tls_facts_to_flow(&facts, g[1], 0);
    ok(g[1]->tls_client == g[0]->tls_client, "and shared by the flows after it");
    tls_facts_release_snapshot(&facts);
    tls_facts_release_snapshot(&facts); /* twice: nothing more to give back */
    strcpy(facts.alert_sent, "close notify");
    tls_facts_to_flow(&facts, g[2], 0);
    ok(g[2]->tls_ref[0]->serial != before && !strcmp(g[2]->tls_client->alert_sent, "close notify"),
       "an alert since the release: a new serial");
    uint64_t third = g[2]->tls_ref[0]->serial;
    tls_facts_release_snapshot(&facts);
    tls_facts_set_leaf(&facts, "mirror_dates", "other");
    tls_facts_to_flow(&facts, g[3], 0);
    ok(g[3]->tls_ref[0]->serial != third && g[3]->tls_ref[0]->serial != before &&
       !strcmp(g[3]->tls_client->leaf, "mirror_dates"),
       "strings packed again since the release: a new serial");
    tls_facts_release_snapshot(&facts); /* a memo left for tls_facts_clear (ASan: no leak) */
    for (int i = 0; i < 4; i++)
        flow_free(g[i]);

    /* the facts' snapshot outlives the flows, the flows outlive the facts (ASan: no leak or
     * double free whichever goes first) */
    for (int i = 0; i < 3; i++)
        flow_free(f[i]);
    tls_facts_clear(&facts);
    for (int i = 3; i < 6; i++)
        flow_free(f[i]);
    return done();
}
