/* mirror.c — see mirror.h. Which verify results are "the leaf's dates" and "the leaf's names"
 * follows OpenSSL's order of checks (x509_vfy.c verify_chain): the chain is built first (unknown
 * issuer, self-signed), then the host name is checked, then each certificate's dates. So a
 * verify result of a chain error says nothing about names or dates, and a host name mismatch
 * hides an expired leaf: the leaf's own dates are looked at again here. */
#include "mirror.h"

#include <stdio.h>
#include <string.h>
#include <openssl/x509_vfy.h>

const char *mirror_leaf_name(enum mirror_leaf leaf)
{
    switch (leaf) {
    case MIRROR_MINTED: return "minted";
    case MIRROR_DATES: return "mirror_dates";
    case MIRROR_NAMES: return "mirror_names";
    case MIRROR_UNTRUSTED: return "mirror_untrusted";
    }
    return "";
}

time_t mirror_parse_time(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return 0;
    return timegm(&tm);
}

/* Split "a, b (+3 more)" (flow_tls peer_names) into out->names, copies in out->buf. */
static void split_names(const char *list, struct mirror_plan *out)
{
    snprintf(out->buf, sizeof out->buf, "%s", list);
    out->spec.nnames = 0;
    for (char *p = out->buf; *p && out->spec.nnames < MINT_MAX_NAMES;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *space = strchr(p, ' '); /* " (+N more)" after the last name shown */
        if (space)
            *space = '\0';
        if (*p)
            out->names[out->spec.nnames++] = p;
        if (!comma)
            break;
        p = comma + 1;
        while (*p == ' ')
            p++;
    }
    out->spec.names = out->names;
}

void mirror_plan(const struct flow_tls *up, const char *host, time_t now, struct mirror_plan *out)
{
    memset(out, 0, sizeof *out);
    time_t nb = mirror_parse_time(up->peer_not_before), na = mirror_parse_time(up->peer_not_after);
    int expired = up->peer_not_after[0] && na < now, early = nb > now;
    char date[16] = "";
    snprintf(date, sizeof date, "%.10s", expired ? up->peer_not_after : up->peer_not_before);
    const char *same = "it fails the same way it would without httpeek.";
    switch (up->verify_result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: {
        out->leaf = MIRROR_NAMES;
        split_names(up->peer_names, out);
        char when[64] = "";
        if (expired || early) {
            out->spec.not_before = nb;
            out->spec.not_after = na;
            snprintf(when, sizeof when, expired ? " and expired on %s," : " and is not valid until %s,",
                     date);
        }
        snprintf(out->reason, sizeof out->reason,
                 "The server's certificate is for %.160s, not %.100s,%s so the app was shown a "
                 "certificate from httpeek's CA with the same names%s: %s",
                 up->peer_names[0] ? up->peer_names : "no name at all", host, when,
                 when[0] ? " and dates" : "", same);
        return;
    }
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        if (expired || early) { /* else a certificate above the server's is out of date */
            out->leaf = MIRROR_DATES;
            out->spec.not_before = nb;
            out->spec.not_after = na;
            snprintf(out->reason, sizeof out->reason,
                     "The server's certificate %s %s, so the app was shown a certificate from "
                     "httpeek's CA with the same dates: %s",
                     expired ? "expired on" : "is not valid until", date, same);
            return;
        }
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        out->leaf = MIRROR_UNTRUSTED;
        out->send_chain = 0; /* the client cannot find our issuer either */
        snprintf(out->reason, sizeof out->reason,
                 "The server's certificate was refused (%s), so the app was shown a certificate "
                 "whose issuer it cannot find either: %s",
                 up->verify_error[0] ? up->verify_error : "unknown issuer", same);
        return;
    default:
        break;
    }
    out->leaf = MIRROR_UNTRUSTED;
    out->send_chain = 1;
    snprintf(out->reason, sizeof out->reason,
             "The server's certificate was refused (%s), so the app was shown a certificate from a "
             "CA nobody trusts: %s",
             up->verify_error[0] ? up->verify_error : "verification failed", same);
}

void mirror_minted_reason(const char *host, int upstream_failed, char *out, size_t outlen)
{
    if (upstream_failed)
        snprintf(out, outlen,
                 "The server's certificate was refused, but with --upstream-errors=page the app "
                 "was shown httpeek's own certificate for %.200s so that its requests get a page "
                 "naming the failure.", host);
    else
        snprintf(out, outlen, "The app was shown a certificate for %.200s from httpeek's CA.", host);
}
