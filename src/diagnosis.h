/* diagnosis.h — what a diagnosis or a warning is: the NSURLErrorDomain codes, a catalogue entry
 * (static strings) and one flow's diagnosis. Types only: diagnose.c (transport failures and ATS)
 * and warnings.c (app-level warnings) both fill them, and neither depends on the other for it. */
#ifndef HTTPEEK_DIAGNOSIS_H
#define HTTPEEK_DIAGNOSIS_H

/* NSURLErrorDomain codes httpeek can explain (Foundation's NSURLError.h values). */
enum nsurl_code {
    NSURL_CANCELLED = -999,
    NSURL_BAD_URL = -1000,
    NSURL_TIMED_OUT = -1001,
    NSURL_UNSUPPORTED_URL = -1002,
    NSURL_CANNOT_FIND_HOST = -1003,
    NSURL_CANNOT_CONNECT_TO_HOST = -1004,
    NSURL_NETWORK_CONNECTION_LOST = -1005,
    NSURL_BAD_SERVER_RESPONSE = -1011,
    NSURL_CANNOT_PARSE_RESPONSE = -1017,
    NSURL_ATS_REQUIRES_SECURE = -1022,
    NSURL_DATA_LENGTH_EXCEEDS_MAXIMUM = -1103,
    NSURL_SECURE_CONNECTION_FAILED = -1200,
    NSURL_CERT_BAD_DATE = -1201,
    NSURL_CERT_UNTRUSTED = -1202,
    NSURL_CERT_UNKNOWN_ROOT = -1203,
    NSURL_CERT_NOT_YET_VALID = -1204,
    NSURL_CLIENT_CERT_REJECTED = -1205,
    NSURL_CLIENT_CERT_REQUIRED = -1206,
};

/* One catalogue entry: static strings. */
struct diagnose_entry {
    int code;              /* NSURLErrorDomain integer, e.g. -1202 */
    const char *name;      /* "NSURLErrorServerCertificateUntrusted" */
    const char *title;     /* one line a developer reads first */
    const char *fix;       /* what to change, concretely */
    const char *android;   /* javax.net.ssl / OkHttp equivalent, or "" */
    const char *domain;    /* NULL: code is in NSURLErrorDomain. "HTTP": no NSURLError at all, the
                            * app received code as an HTTP status that httpeek answered itself
                            * (403, 404, 408, 414, 431, 503, a malformed request's 400) */
    const char *key;       /* warnings only: a stable name ("cache", "json", ...) stored in the
                            * session instead of the texts above, which readers put back
                            * (diagnose_keyed_entry); NULL: the warning is stored whole */
};

/* A diagnosis of one flow: entry plus a detail line built from the flow's facts. */
struct diagnosis {
    const struct diagnose_entry *entry; /* borrowed from the static catalogue */
    const char *stage;                  /* flow_stage_name of where it failed */
    char detail[512];                   /* the facts: "verify error 'self-signed certificate' ..." */
    const char *kind;                   /* warnings only: "ats", "local-network", "status",
                                         * "content-type", "decode", "hls", "cache" (static) */
    const char *domain;                 /* error domain when not NSURLErrorDomain, else NULL */
};

#endif
