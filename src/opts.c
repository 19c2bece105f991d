/* opts.c — command line parsing (getopt_long); see opts.h for the contract. */
#include "opts.h"
#include "ruleset.h"

#include "acl.h"
#include "budget.h"
#include "client_cert.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: httpeek [options]\n"
    "       httpeek export --session FILE --har OUT [--redact]   (session → HAR 1.2)\n"
    "       httpeek view FILE.har [options]   (a HAR's requests in the viewer, repeatable)\n"
    "\n"
    "An HTTPS intercepting debug proxy: point a phone, simulator, browser or curl at it,\n"
    "trust its CA, and watch every exchange.\n"
    "\n"
    "  --listen HOST:PORT        proxy address (default " OPTS_DEFAULT_LISTEN "; repeatable)\n"
    "  --web HOST:PORT           viewer address (default " OPTS_DEFAULT_WEB ")\n"
    "  --confdir DIR             CA and session home (default ~/" OPTS_DEFAULT_CONFDIR_NAME ")\n"
    "  --upstream-ca FILE        extra trust anchors (PEM) for upstream servers\n"
    "  --insecure                do NOT verify upstream certificates\n"
    "  --upstream-timeout SECS   connect, TLS handshake and first response byte (default 30)\n"
    "  --header-timeout SECS     time for a client to send a request head (default 30)\n"
    "  --idle-timeout SECS       silent keep-alive connections and tunnels (default 120)\n"
    "  --leaf-key ec|rsa         key of the certificates httpeek shows clients: ECDSA P-256\n"
    "                            (default, fast) or RSA-2048 (for old clients without ECDSA)\n"
    "  --upstream-idle SECS      keep a finished tunnel's upstream TLS connection this long for\n"
    "                            the next tunnel to the same server (default 30; 0 = never, so\n"
    "                            every tunnel shows its own connect and TLS timings)\n"
    "  --session FILE            session file (SQLite) to create or continue (default: a new\n"
    "                            CONFDIR/sessions/YYYYmmdd-HHMMSS.sqlite per run)\n"
    "  --max-body BYTES          bytes of each body captured in a flow (default 16777216)\n"
    "  --max-request-line BYTES  longest request-target; longer gets 414 (default 16384)\n"
    "  --max-header-line BYTES   longest request header line; longer gets 431 (default 16384)\n"
    "  --max-header-bytes BYTES  largest request head; larger gets 431 (default 65536)\n"
    "  --max-headers N           most request header fields; more gets 431 (default 200)\n"
    "  --max-connections N       client connections open at once; more get 503 (default 4096)\n"
    "  --max-client-connections N  of those, from one client address; more get 503\n"
    "                            (default 512)\n"
    "  --memory-budget BYTES     memory for bodies and buffers of exchanges, shared fairly by the\n"
    "                            connections; bodies beyond a connection's share go to disk\n"
    "                            (default 256M; suffixes K, M, G)\n"
    "  --hosts FILE              hosts file consulted before any resolver (like curl --resolve)\n"
    "  --dns HOST[:PORT]         the only nameserver after --hosts (default: the system resolver)\n"
    "  --workers N               worker threads (default: number of cores)\n"
    "  --intercept GLOB          intercept only matching CONNECT hosts (repeatable; *.example.com[:port])\n"
    "  --passthrough GLOB        relay matching CONNECT hosts untouched (repeatable)\n"
    "  --auto-passthrough N      pass a host through for one device after it refused httpeek's\n"
    "                            certificate N times (default 3; 0 = never)\n"
    "  --auto-passthrough-ttl SECS  how long such an entry lasts (default 1800)\n"
    "  --no-default-passthrough  intercept the built-in list too (Apple push/iCloud/App Store,\n"
    "                            Google Play services: they pin their certificates)\n"
    "  --allow-client CIDR       who may use the proxy (repeatable; default loopback + private ranges)\n"
    "  --no-qr                   do not print the setup URL as a QR code\n"
    "  --record-own              record requests for httpeek's own pages (setup page, CA, PAC)\n"
    "                            as flows too, marked own (default: they only count for the device)\n"
    "  --log FILE                append output (flow lines and log) to FILE; SIGHUP reopens it\n"
    "                            (log rotation)\n"
    "  --strip-alt-svc[=yes|no]  remove Alt-Svc from responses so apps stay off HTTP/3 (QUIC),\n"
    "                            which would bypass the proxy (default yes)\n"
    "  --rules FILE              rules that map or block requests (default CONFDIR/rules.json;\n"
    "                            docs/RULES.md); PUT /api/rules saves to it\n"
    "  --map-local 'PATTERN=PATH'    answer matching requests from a file or directory\n"
    "  --map-remote 'PATTERN=URL'    send matching requests to another server\n"
    "  --block 'PATTERN[=ACTION]'    fail matching requests: a status code, dns, refused,\n"
    "                            reset (default), reset-body, tls, timeout[:SECS]\n"
    "  --rewrite 'PATTERN=EDIT'  change matching requests / responses: req-header: or\n"
    "                            resp-header: add:N:V | set:N:V | remove:N, status:CODE,\n"
    "                            url:RE=>REPL, query:set:N=V, resp-body:RE=>REPL,\n"
    "                            resp-json:$.a.b=JSON, req-body:..., req-json:...\n"
    "                            (docs/RULES.md)\n"
    "                            (PATTERN: scheme://host[:port]/path with * globs, or a host glob)\n"
    "  --throttle 'PRESET[@PATTERN]' network conditions for matching requests (all without\n"
    "                            @PATTERN): 3g, lte, edge, dsl, very-bad, loss100, dns-slow,\n"
    "                            custom:down=780k,up=330k,latency=100ms,dns=0ms,loss=0%\n"
    "  --keylog FILE             append the TLS secrets of both legs to FILE (NSS key log\n"
    "                            format, created 0600), so Wireshark decrypts a capture of the\n"
    "                            same traffic; default: $SSLKEYLOGFILE when set\n"
    "  --client-cert HOSTGLOB=CERT.pem[,KEY.pem]  present this client certificate to upstream\n"
    "                            servers matching HOSTGLOB that ask for one (mutual TLS); PEM with\n"
    "                            the key in it or in KEY.pem, or a .p12/.pfx (repeatable; the first\n"
    "                            matching glob wins)\n"
    "  --client-cert-password-file FILE  password of encrypted --client-cert files (first line);\n"
    "                            without it httpeek asks on the terminal\n"
    "  --http2=yes|no            HTTP/2 on both legs of intercepted tunnels (default yes): ALPN h2\n"
    "                            offered to clients and to servers; each stream is one flow; no:\n"
    "                            HTTP/1.1 only, on both legs\n"
    "  --upstream-errors=MODE    mirror (default): a bad upstream certificate fails the client's\n"
    "                            handshake too, as without httpeek; page: a 502 page explaining it\n"
    "  -v, --verbose             debug logging on stderr\n"
    "  -h, --help                this text\n"
    "  -V, --version             print the version\n";

enum { O_LISTEN = 256, O_WEB, O_CONFDIR, O_UPSTREAM_CA, O_INSECURE, O_UPSTREAM_TIMEOUT,
       O_HEADER_TIMEOUT, O_IDLE_TIMEOUT, O_MAX_BODY, O_HOSTS, O_DNS, O_WORKERS, O_INTERCEPT,
       O_PASSTHROUGH, O_AUTO_PASSTHROUGH, O_ALLOW_CLIENT, O_NO_QR, O_STRIP_ALT_SVC, O_LOG, O_UPSTREAM_ERRORS,
       O_SESSION, O_MAX_REQUEST_LINE, O_MAX_HEADER_LINE, O_MAX_HEADER_BYTES, O_MAX_HEADERS,
       O_MAX_CONNECTIONS, O_UPSTREAM_IDLE, O_LEAF_KEY,
       O_AUTO_PASSTHROUGH_TTL, O_NO_DEFAULT_PASSTHROUGH,
       O_RECORD_OWN, O_MAX_CLIENT_CONNECTIONS, O_MEMORY_BUDGET, O_KEYLOG, O_CLIENT_CERT,
       O_RULES, O_MAP_LOCAL, O_MAP_REMOTE, O_BLOCK, O_REWRITE, O_THROTTLE,
       O_CLIENT_CERT_PASSWORD_FILE, O_HTTP2 };

static int parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v <= 0 || v > 86400)
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

int opts_split_hostport(const char *s, char *host, size_t hostlen, int *port, int default_port)
{
    const char *h = s, *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon)
            return -1;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon)  /* bare IPv6 literal without a port */
            colon = NULL;
        hl = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!colon) {
        if (default_port <= 0)
            return -1;
        *port = default_port;
        return 0;
    }
    /* the port as strtol read it (spaces and a sign before the digits), without strtol: every
     * absolute-form request through the proxy comes here (~180 instructions of strtol a request) */
    const char *d = colon + 1;
    while (*d == ' ' || (*d >= '\t' && *d <= '\r'))
        d++;
    int negative = *d == '-';
    if (*d == '+' || *d == '-')
        d++;
    const char *digits = d;
    unsigned long p = 0;
    for (; *d >= '0' && *d <= '9'; d++)
        if (p <= 65535)
            p = p * 10 + (unsigned long)(*d - '0');
    if (d == digits || *d || negative || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static int check_hostport(const char *opt, const char *v, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (opts_split_hostport(v, host, sizeof host, &port, 0) < 0) {
        snprintf(err, errlen, "%s: expected HOST:PORT, got '%s'", opt, v);
        return -1;
    }
    return 0;
}

int opts_parse(struct opts *o, int argc, char **argv, char *err, size_t errlen)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"web", required_argument, NULL, O_WEB},
        {"confdir", required_argument, NULL, O_CONFDIR},
        {"upstream-ca", required_argument, NULL, O_UPSTREAM_CA},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"upstream-timeout", required_argument, NULL, O_UPSTREAM_TIMEOUT},
        {"header-timeout", required_argument, NULL, O_HEADER_TIMEOUT},
        {"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
        {"upstream-idle", required_argument, NULL, O_UPSTREAM_IDLE},
        {"leaf-key", required_argument, NULL, O_LEAF_KEY},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"hosts", required_argument, NULL, O_HOSTS},
        {"dns", required_argument, NULL, O_DNS},
        {"workers", required_argument, NULL, O_WORKERS},
        {"intercept", required_argument, NULL, O_INTERCEPT},
        {"passthrough", required_argument, NULL, O_PASSTHROUGH},
        {"auto-passthrough", required_argument, NULL, O_AUTO_PASSTHROUGH},
        {"auto-passthrough-ttl", required_argument, NULL, O_AUTO_PASSTHROUGH_TTL},
        {"no-default-passthrough", no_argument, NULL, O_NO_DEFAULT_PASSTHROUGH},
        {"allow-client", required_argument, NULL, O_ALLOW_CLIENT},
        {"no-qr", no_argument, NULL, O_NO_QR},
        {"record-own", no_argument, NULL, O_RECORD_OWN},
        {"strip-alt-svc", optional_argument, NULL, O_STRIP_ALT_SVC},
        {"http2", required_argument, NULL, O_HTTP2},
        {"log", required_argument, NULL, O_LOG},
        {"upstream-errors", required_argument, NULL, O_UPSTREAM_ERRORS},
        {"session", required_argument, NULL, O_SESSION},
        {"max-request-line", required_argument, NULL, O_MAX_REQUEST_LINE},
        {"max-header-line", required_argument, NULL, O_MAX_HEADER_LINE},
        {"max-header-bytes", required_argument, NULL, O_MAX_HEADER_BYTES},
        {"max-headers", required_argument, NULL, O_MAX_HEADERS},
        {"max-connections", required_argument, NULL, O_MAX_CONNECTIONS},
        {"max-client-connections", required_argument, NULL, O_MAX_CLIENT_CONNECTIONS},
        {"memory-budget", required_argument, NULL, O_MEMORY_BUDGET},
        {"keylog", required_argument, NULL, O_KEYLOG},
        {"rules", required_argument, NULL, O_RULES},
        {"map-local", required_argument, NULL, O_MAP_LOCAL},
        {"map-remote", required_argument, NULL, O_MAP_REMOTE},
        {"block", required_argument, NULL, O_BLOCK},
        {"rewrite", required_argument, NULL, O_REWRITE},
        {"throttle", required_argument, NULL, O_THROTTLE},
        {"client-cert", required_argument, NULL, O_CLIENT_CERT},
        {"client-cert-password-file", required_argument, NULL, O_CLIENT_CERT_PASSWORD_FILE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};

    memset(o, 0, sizeof *o);
    o->web = OPTS_DEFAULT_WEB;
    o->upstream_timeout = OPTS_DEFAULT_UPSTREAM_TIMEOUT;
    o->header_timeout = OPTS_DEFAULT_HEADER_TIMEOUT;
    o->idle_timeout = OPTS_DEFAULT_IDLE_TIMEOUT;
    o->upstream_idle = OPTS_DEFAULT_UPSTREAM_IDLE;
    o->max_body = OPTS_DEFAULT_MAX_BODY;
    o->auto_passthrough = 3;
    o->auto_passthrough_ttl = 30 * 60;
    o->max_request_line = OPTS_DEFAULT_MAX_REQUEST_LINE;
    o->max_header_line = OPTS_DEFAULT_MAX_HEADER_LINE;
    o->max_header_bytes = OPTS_DEFAULT_MAX_HEADER_BYTES;
    o->max_headers = OPTS_DEFAULT_MAX_HEADERS;
    o->max_connections = OPTS_DEFAULT_MAX_CONNECTIONS;
    o->max_client_connections = OPTS_DEFAULT_MAX_CLIENT_CONNECTIONS;
    o->memory_budget = BUDGET_DEFAULT;
    o->http2 = 1;

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":vhV", longopts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            if (check_hostport("--listen", optarg, err, errlen) < 0)
                return -1;
            if (o->nlisten == OPTS_MAX_LISTEN) {
                snprintf(err, errlen, "--listen: at most %d addresses", OPTS_MAX_LISTEN);
                return -1;
            }
            o->listen[o->nlisten++] = optarg;
            break;
        case O_WEB:
            if (check_hostport("--web", optarg, err, errlen) < 0)
                return -1;
            o->web = optarg;
            break;
        case O_CONFDIR:
            free(o->confdir);
            o->confdir = strdup(optarg);
            break;
        case O_UPSTREAM_CA: o->upstream_ca = optarg; break;
        case O_INSECURE: o->insecure = 1; break;
        case O_UPSTREAM_TIMEOUT:
        case O_HEADER_TIMEOUT:
        case O_IDLE_TIMEOUT: {
            double *dst = c == O_UPSTREAM_TIMEOUT ? &o->upstream_timeout
                          : c == O_HEADER_TIMEOUT ? &o->header_timeout : &o->idle_timeout;
            if (parse_seconds(optarg, dst) < 0) {
                snprintf(err, errlen, "%s: expected seconds (0 < s <= 86400), got '%s'",
                         argv[optind - 1], optarg);
                return -1;
            }
            break;
        }
        case O_LEAF_KEY:
            if (strcmp(optarg, "ec") && strcmp(optarg, "rsa")) {
                snprintf(err, errlen, "--leaf-key: expected ec or rsa, got '%s'", optarg);
                return -1;
            }
            o->leaf_rsa = !strcmp(optarg, "rsa");
            break;
        case O_UPSTREAM_IDLE:
            if (strcmp(optarg, "0") && parse_seconds(optarg, &o->upstream_idle) < 0) {
                snprintf(err, errlen, "--upstream-idle: expected seconds (0 <= s <= 86400), got '%s'",
                         optarg);
                return -1;
            }
            if (!strcmp(optarg, "0"))
                o->upstream_idle = 0;
            break;
        case O_MAX_BODY:
            if (parse_size(optarg, &o->max_body) < 0) {
                snprintf(err, errlen, "--max-body: expected a byte count, got '%s'", optarg);
                return -1;
            }
            break;
        case O_MAX_REQUEST_LINE:
        case O_MAX_HEADER_LINE:
        case O_MAX_HEADER_BYTES:
        case O_MAX_HEADERS: {
            size_t *dst = c == O_MAX_REQUEST_LINE ? &o->max_request_line
                          : c == O_MAX_HEADER_LINE ? &o->max_header_line
                          : c == O_MAX_HEADER_BYTES ? &o->max_header_bytes : &o->max_headers;
            const char *name = c == O_MAX_REQUEST_LINE ? "--max-request-line"
                               : c == O_MAX_HEADER_LINE ? "--max-header-line"
                               : c == O_MAX_HEADER_BYTES ? "--max-header-bytes" : "--max-headers";
            size_t lo = c == O_MAX_HEADERS ? 1 : 64, hi = c == O_MAX_HEADERS ? 10000 : 16u << 20;
            if (parse_size(optarg, dst) < 0 || *dst < lo || *dst > hi) {
                snprintf(err, errlen, "%s: expected %zu..%zu, got '%s'", name, lo, hi, optarg);
                return -1;
            }
            break;
        }
        case O_MAX_CONNECTIONS:
        case O_MAX_CLIENT_CONNECTIONS: {
            const char *name = c == O_MAX_CONNECTIONS ? "--max-connections"
                                                      : "--max-client-connections";
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > 1000000) {
                snprintf(err, errlen, "%s: expected 1..1000000, got '%s'", name, optarg);
                return -1;
            }
            *(c == O_MAX_CONNECTIONS ? &o->max_connections : &o->max_client_connections) = (int)n;
            break;
        }
        case O_MEMORY_BUDGET:
            if (budget_parse_size(optarg, &o->memory_budget) < 0 ||
                o->memory_budget < BUDGET_MIN) {
                snprintf(err, errlen, "--memory-budget: expected a byte count of at least 4M "
                         "(suffixes K, M, G), got '%s'", optarg);
                return -1;
            }
            break;
        case O_HOSTS: o->hosts_file = optarg; break;
        case O_DNS: {
            char host[256];
            int port;
            if (opts_split_hostport(optarg, host, sizeof host, &port, 53) < 0) {
                snprintf(err, errlen, "--dns: expected HOST[:PORT], got '%s'", optarg);
                return -1;
            }
            o->dns = optarg;
            break;
        }
        case O_WORKERS: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > 256) {
                snprintf(err, errlen, "--workers: expected 1..256, got '%s'", optarg);
                return -1;
            }
            o->workers = (int)n;
            break;
        }
        case O_INTERCEPT:
        case O_PASSTHROUGH: {
            const char **list = c == O_INTERCEPT ? o->intercept : o->passthrough;
            int *n = c == O_INTERCEPT ? &o->nintercept : &o->npassthrough;
            if (!*optarg || strlen(optarg) > 255 || strchr(optarg, '/')) {
                snprintf(err, errlen, "%s: expected a host glob like *.example.com, got '%s'",
                         c == O_INTERCEPT ? "--intercept" : "--passthrough", optarg);
                return -1;
            }
            if (*n == OPTS_MAX_RULES) {
                snprintf(err, errlen, "at most %d --intercept / --passthrough rules each", OPTS_MAX_RULES);
                return -1;
            }
            list[(*n)++] = optarg;
            break;
        }
        case O_ALLOW_CLIENT: {
            struct acl check = {.n = 0};
            if (acl_add(&check, optarg, err, errlen) < 0)
                return -1;
            if (o->nallow_client == OPTS_MAX_RULES) {
                snprintf(err, errlen, "at most %d --allow-client blocks", OPTS_MAX_RULES);
                return -1;
            }
            o->allow_client[o->nallow_client++] = optarg;
            break;
        }
        case O_AUTO_PASSTHROUGH: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 0 || n > 1000) {
                snprintf(err, errlen, "--auto-passthrough: expected 0..1000, got '%s'", optarg);
                return -1;
            }
            o->auto_passthrough = (int)n;
            break;
        }
        case O_AUTO_PASSTHROUGH_TTL: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > 7 * 24 * 3600) {
                snprintf(err, errlen, "--auto-passthrough-ttl: expected 1..604800 seconds, got '%s'",
                         optarg);
                return -1;
            }
            o->auto_passthrough_ttl = (int)n;
            break;
        }
        case O_NO_DEFAULT_PASSTHROUGH: o->no_default_passthrough = 1; break;
        case O_NO_QR: o->no_qr = 1; break;
        case O_RECORD_OWN: o->record_own = 1; break;
        case O_LOG: o->log = optarg; break;
        case O_HTTP2:
            if (!strcmp(optarg, "yes") || !strcmp(optarg, "no")) {
                o->http2 = !strcmp(optarg, "yes");
            } else {
                snprintf(err, errlen, "--http2: expected yes or no, got '%s'", optarg);
                return -1;
            }
            break;
        case O_STRIP_ALT_SVC:
            if (!optarg || !strcmp(optarg, "yes")) {
                o->keep_alt_svc = 0;
            } else if (!strcmp(optarg, "no")) {
                o->keep_alt_svc = 1;
            } else {
                snprintf(err, errlen, "--strip-alt-svc: expected yes or no, got '%s'", optarg);
                return -1;
            }
            break;
        case O_SESSION:
            if (!*optarg) {
                snprintf(err, errlen, "--session: expected a file name");
                return -1;
            }
            o->session = optarg;
            break;
        case O_RULES:
            if (!*optarg) {
                snprintf(err, errlen, "--rules: expected a file name");
                return -1;
            }
            o->rules_file = optarg;
            break;
        case O_MAP_LOCAL:
        case O_MAP_REMOTE:
        case O_BLOCK:
        case O_REWRITE:
        case O_THROTTLE: {
            /* syntax checked here, so a typo stops httpeek before it starts */
            enum rule_action a = c == O_MAP_LOCAL ? RULE_MAP_LOCAL
                                 : c == O_MAP_REMOTE ? RULE_MAP_REMOTE
                                 : c == O_REWRITE ? RULE_REWRITE
                                 : c == O_THROTTLE ? RULE_THROTTLE : RULE_BLOCK;
            struct ruleset *check = ruleset_new();
            int bad = !check || ruleset_add_short(check, a, optarg, err, errlen) < 0;
            ruleset_release(check);
            if (bad)
                return -1;
            if (o->nrule_spec == OPTS_MAX_RULES) {
                snprintf(err, errlen, "at most %d --map-local / --map-remote / --block / --rewrite / --throttle rules",
                         OPTS_MAX_RULES);
                return -1;
            }
            o->rule_kind[o->nrule_spec] = (unsigned char)a;
            o->rule_spec[o->nrule_spec++] = optarg;
            break;
        }
        case O_KEYLOG:
            if (!*optarg) {
                snprintf(err, errlen, "--keylog: expected a file name");
                return -1;
            }
            o->keylog = optarg;
            break;
        case O_CLIENT_CERT: {
            struct client_cert_spec spec;
            if (client_cert_parse_spec(optarg, &spec, err, errlen) < 0)
                return -1;
            if (o->nclient_cert >= OPTS_MAX_RULES) {
                snprintf(err, errlen, "--client-cert: at most %d", OPTS_MAX_RULES);
                return -1;
            }
            o->client_cert[o->nclient_cert++] = optarg;
            break;
        }
        case O_CLIENT_CERT_PASSWORD_FILE:
            if (!*optarg) {
                snprintf(err, errlen, "--client-cert-password-file: expected a file name");
                return -1;
            }
            o->client_cert_password_file = optarg;
            break;
        case O_UPSTREAM_ERRORS:
            if (!strcmp(optarg, "page") || !strcmp(optarg, "mirror")) {
                o->upstream_errors_page = !strcmp(optarg, "page");
                break;
            }
            snprintf(err, errlen, "--upstream-errors: expected mirror or page, got '%s'", optarg);
            return -1;
        case 'v': o->verbose = 1; break;
        case 'h': fputs(usage, stdout); return 1;
        case 'V': printf("httpeek %s\n", HTTPEEK_VERSION); return 1;
        case ':':
            snprintf(err, errlen, "%s needs a value (see --help)", argv[optind - 1]);
            return -1;
        default:
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    if (!o->confdir) {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            snprintf(err, errlen, "HOME is not set: pass --confdir DIR");
            return -1;
        }
        size_t n = strlen(home) + sizeof(OPTS_DEFAULT_CONFDIR_NAME) + 2;
        o->confdir = malloc(n);
        if (!o->confdir) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        snprintf(o->confdir, n, "%s/%s", home, OPTS_DEFAULT_CONFDIR_NAME);
    }
    return 0;
}

void opts_free(struct opts *o)
{
    free(o->confdir);
    o->confdir = NULL;
}
