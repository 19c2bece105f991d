/* tls_facts.c — see tls_facts.h. The info callback runs inside SSL_read/SSL_write/handshake
 * calls on the leg's worker thread; it only writes into the facts it was given. */
#include "tls_facts.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include "peer_cert_facts.h"
#include "tls_client.h"

static int facts_index = -1;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;

static void init_index(void) { facts_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (where & SSL_CB_LOOP) {
        /* A client that just read a CertificateRequest: the server wants mutual TLS. Whatever it
         * does when we send no certificate (TLS 1.2: handshake_failure, bad_certificate,
         * certificate_required or a bare close; TLS 1.3: certificate_required after our
         * Finished), this is the fact that explains it. */
        if (SSL_get_state(ssl) == TLS_ST_CR_CERT_REQ) {
            struct tls_facts *facts = SSL_get_ex_data(ssl, facts_index);
            if (facts)
                facts->cert_requested = 1;
        }
        return;
    }
    if (!(where & SSL_CB_ALERT))
        return;
    struct tls_facts *facts = SSL_get_ex_data(ssl, facts_index);
    if (!facts)
        return;
    char *dst = (where & SSL_CB_READ) ? facts->alert_received : facts->alert_sent;
    size_t len = (where & SSL_CB_READ) ? sizeof facts->alert_received : sizeof facts->alert_sent;
    const char *name = SSL_alert_desc_string_long(ret);
    if (!strcmp(name, "unknown")) {
        /* OpenSSL 3.0 has no long names for the TLS 1.3 alerts (RFC 8446 §6) */
        switch (ret & 0xff) {
        case 109: name = "missing extension"; break;
        case 115: name = "unknown PSK identity"; break;
        case 116: name = "certificate required"; break;
        case 120: name = "no application protocol"; break;
        }
    }
    snprintf(dst, len, "%s", name);
}

void tls_facts_attach(SSL *ssl, struct tls_facts *facts)
{
    pthread_once(&facts_once, init_index);
    SSL_set_ex_data(ssl, facts_index, facts);
    if (facts) {
        facts->present = 1;
        SSL_set_info_callback(ssl, info_cb);
    } else {
        SSL_set_info_callback(ssl, NULL);
    }
}

/* The string fields of struct flow_tls that tls_facts packs, in packing order. */
enum packed {
    P_VERSION, P_CIPHER, P_ALPN, P_SNI, P_VERIFY_ERROR, P_ERROR, P_PEER_SUBJECT, P_PEER_ISSUER,
    P_PEER_NOT_BEFORE, P_PEER_NOT_AFTER, P_PEER_KEY_TYPE, P_PEER_SIG, P_PEER_NAMES, P_LEAF,
    P_LEAF_REASON, P_CLIENT_CERT, NPACKED
};
#define FIELD(name) {offsetof(struct flow_tls, name), sizeof ((struct flow_tls *)0)->name}
static const struct {
    size_t off, size;
} packed_fields[NPACKED] = {
    [P_VERSION] = FIELD(version),           [P_CIPHER] = FIELD(cipher),
    [P_ALPN] = FIELD(alpn),                 [P_SNI] = FIELD(sni),
    [P_VERIFY_ERROR] = FIELD(verify_error), [P_ERROR] = FIELD(error),
    [P_PEER_SUBJECT] = FIELD(peer_subject), [P_PEER_ISSUER] = FIELD(peer_issuer),
    [P_PEER_NOT_BEFORE] = FIELD(peer_not_before), [P_PEER_NOT_AFTER] = FIELD(peer_not_after),
    [P_PEER_KEY_TYPE] = FIELD(peer_key_type), [P_PEER_SIG] = FIELD(peer_sig),
    [P_PEER_NAMES] = FIELD(peer_names),     [P_LEAF] = FIELD(leaf),
    [P_LEAF_REASON] = FIELD(leaf_reason), [P_CLIENT_CERT] = FIELD(client_cert),
};
/* The flags and numbers both structs hold under the same names. */
#define SCALARS(X) X(present) X(handshake_done) X(forward_secret) X(resumed) X(peer_key_bits) \
    X(verify_result) X(cert_requested)

void tls_facts_get(const struct tls_facts *facts, struct flow_tls *out)
{
    memset(out, 0, sizeof *out);
#define COPY_OUT(name) out->name = facts->name;
    SCALARS(COPY_OUT)
    memcpy(out->alert_sent, facts->alert_sent, sizeof out->alert_sent);
    memcpy(out->alert_received, facts->alert_received, sizeof out->alert_received);
    const char *p = facts->strings;
    for (size_t i = 0; p && i < NPACKED; i++) {
        size_t n = strlen(p); /* packed from fields of these sizes: always fits */
        memcpy((char *)out + packed_fields[i].off, p, n + 1);
        p += n + 1;
    }
}

/* Whether snap still shows facts: its strings are of the same generation and the facts written
 * in place since (flags, alerts: by the info callback and the legs) are the same. */
static int snap_current(const struct tls_facts *facts)
{
    const struct flow_tls *t = &facts->snap->t;
    if (facts->snap_gen != facts->strings_gen)
        return 0;
#define SAME(name) && t->name == facts->name
    return 1 SCALARS(SAME) && !strcmp(t->alert_sent, facts->alert_sent) &&
           !strcmp(t->alert_received, facts->alert_received);
#undef SAME
}

/* What a snapshot given back showed: the serial it had and everything snap_current compares. */
struct tls_snap_memo {
    uint64_t serial;
    unsigned gen;
#define MEMO_FIELD(name) __typeof__(((struct tls_facts *)0)->name) name;
    SCALARS(MEMO_FIELD)
    char alert_sent[sizeof ((struct tls_facts *)0)->alert_sent];
    char alert_received[sizeof ((struct tls_facts *)0)->alert_received];
};

static int memo_current(const struct tls_facts *facts)
{
    const struct tls_snap_memo *m = facts->memo;
    if (m->gen != facts->strings_gen)
        return 0;
#define SAME_AS_MEMO(name) && m->name == facts->name
    return 1 SCALARS(SAME_AS_MEMO) && !strcmp(m->alert_sent, facts->alert_sent) &&
           !strcmp(m->alert_received, facts->alert_received);
#undef SAME_AS_MEMO
}

void tls_facts_release_snapshot(struct tls_facts *facts)
{
    struct flow_tls_shared *snap = facts->snap;
    if (!snap)
        return; /* (a flow still holding it frees it when it is recorded) */
    if (snap_current(facts)) {
        struct tls_snap_memo *m = facts->memo ? facts->memo : malloc(sizeof *m);
        if (m) { /* else the next flow's facts get a new serial: one more inline copy */
            m->serial = snap->serial;
            m->gen = facts->snap_gen;
#define TO_MEMO(name) m->name = facts->name;
            SCALARS(TO_MEMO)
#undef TO_MEMO
            memcpy(m->alert_sent, facts->alert_sent, sizeof m->alert_sent);
            memcpy(m->alert_received, facts->alert_received, sizeof m->alert_received);
            facts->memo = m;
        }
    }
    flow_tls_shared_unref(snap);
    facts->snap = NULL;
}

void tls_facts_to_flow(struct tls_facts *facts, struct flow *f, int upstream)
{
    if (!facts->snap || !snap_current(facts)) {
        struct flow_tls_shared *snap = flow_tls_shared_new();
        if (!snap)
            return;
        tls_facts_get(facts, &snap->t);
        if (facts->memo) { /* the snapshot given back while idle, made again: the same facts */
            if (!facts->snap && memo_current(facts))
                snap->serial = facts->memo->serial;
            free(facts->memo);
            facts->memo = NULL;
        }
        flow_tls_shared_unref(facts->snap);
        facts->snap = snap;
        facts->snap_gen = facts->strings_gen;
    }
    flow_set_tls(f, upstream, facts->snap);
}

/* Pack full's strings and flags into facts (alerts stay as the info callback wrote them). */
static void put(struct tls_facts *facts, const struct flow_tls *full)
{
#define COPY_IN(name) facts->name = full->name;
    SCALARS(COPY_IN)
    size_t total = 0;
    for (size_t i = 0; i < NPACKED; i++)
        total += strnlen((const char *)full + packed_fields[i].off, packed_fields[i].size - 1) + 1;
    char *p = malloc(total);
    if (!p) /* out of memory: the facts lose their strings, the connection goes on */
        return;
    free(facts->strings);
    facts->strings = p;
    facts->strings_gen++;
    for (size_t i = 0; i < NPACKED; i++) {
        const char *f = (const char *)full + packed_fields[i].off;
        size_t n = strnlen(f, packed_fields[i].size - 1);
        memcpy(p, f, n);
        p[n] = '\0';
        p += n + 1;
    }
}

static const char *packed_string(const struct tls_facts *facts, enum packed which)
{
    const char *p = facts->strings;
    if (!p)
        return "";
    for (int i = 0; i < (int)which; i++)
        p += strlen(p) + 1;
    return p;
}

const char *tls_facts_error(const struct tls_facts *facts, const char *otherwise)
{
    const char *e = packed_string(facts, P_ERROR);
    return e[0] ? e : otherwise;
}

const char *tls_facts_verify_error(const struct tls_facts *facts)
{
    return packed_string(facts, P_VERIFY_ERROR);
}

void tls_facts_clear(struct tls_facts *facts)
{
    free(facts->strings);
    free(facts->memo);
    flow_tls_shared_unref(facts->snap);
    memset(facts, 0, sizeof *facts);
}

void tls_facts_move(struct tls_facts *dst, struct tls_facts *src)
{
    if (dst == src)
        return;
    tls_facts_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

void tls_facts_set_leaf(struct tls_facts *facts, const char *leaf, const char *reason)
{
    struct flow_tls full;
    tls_facts_get(facts, &full);
    snprintf(full.leaf, sizeof full.leaf, "%s", leaf);
    snprintf(full.leaf_reason, sizeof full.leaf_reason, "%s", reason);
    put(facts, &full);
}

static void fill_full(SSL *ssl, struct flow_tls *facts)
{
    facts->present = 1;
    snprintf(facts->version, sizeof facts->version, "%s", SSL_get_version(ssl));
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    snprintf(facts->cipher, sizeof facts->cipher, "%s", c ? SSL_CIPHER_get_name(c) : "");
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    snprintf(facts->alpn, sizeof facts->alpn, "%.*s", (int)alpn_len, alpn ? (const char *)alpn : "");
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni)
        snprintf(facts->sni, sizeof facts->sni, "%s", sni);
    facts->resumed = SSL_session_reused(ssl);
    if (!SSL_is_server(ssl)) {
        facts->verify_result = SSL_get_verify_result(ssl);
        if (facts->verify_result != X509_V_OK)
            snprintf(facts->verify_error, sizeof facts->verify_error, "%s",
                     X509_verify_cert_error_string(facts->verify_result));
        X509 *peer = SSL_get0_peer_certificate(ssl);
        if (!peer) {
            /* A certificate that failed verification never becomes "the peer certificate", but
             * the chain it came in is kept: its facts matter most exactly then. */
            STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
            if (chain && sk_X509_num(chain) > 0)
                peer = sk_X509_value(chain, 0);
        }
        if (peer)
            peer_cert_facts(peer, facts);
        const char *sent = tls_client_sent_identity(ssl);
        snprintf(facts->client_cert, sizeof facts->client_cert, "%s", sent ? sent : "");
    }
    /* both legs: the client leg's TLS 1.3 (kx "any", always ephemeral) is forward secret too */
    if (c) {
        int kx = SSL_CIPHER_get_kx_nid(c);
        facts->forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any ||
                                kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk;
    }
}

void tls_facts_fill(SSL *ssl, struct tls_facts *facts)
{
    struct flow_tls full;
    tls_facts_get(facts, &full);
    fill_full(ssl, &full);
    put(facts, &full);
}

void tls_facts_take_error(struct tls_facts *facts, unsigned long err)
{
    if (err && !tls_facts_error(facts, NULL)) {
        struct flow_tls full;
        tls_facts_get(facts, &full);
        ERR_error_string_n(err, full.error, sizeof full.error);
        put(facts, &full);
    }
    ERR_clear_error();
}
