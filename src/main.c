/* main.c — start-up and shutdown: options, CA, TLS contexts, workers, signals. The only place
 * with process-wide state (struct proxy lives on this stack frame for the whole run). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>
#include "banner.h"
#include "budget.h"
#include "ca.h"
#include "client_cert.h"
#include "export.h"
#include "keylog.h"
#include "leafcache.h"
#include "log.h"
#include "opts.h"
#include "proxy.h"
#include "rule_apply.h"
#include "rule_tunnel.h"
#include "ruleset_file.h"
#include "breakpoint.h"
#include "breakpoint_apply.h"
#include "setup.h"
#include "store.h"
#include "store_messages.h"
#include "har_import.h"
#include "replay_marks.h"
#include "tls_client.h"
#include "tls_server.h"
#include "web.h"
#include "worker.h"

#define MAX_WORKERS 256

/* Point stdout and stderr at path (appending). dup2 swaps the descriptors in place, so threads
 * writing concurrently go on to the new file without a lock. Returns 0, -1 with errno. */
/* Raise the open-file limit to what the system allows: each proxied connection holds two
 * descriptors (three with a spilled capture), and Debian's default soft limit of 1,024 would
 * refuse connections far below --max-connections. Says so when even the hard limit is short. */
static void raise_fd_limit(int max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    rlim_t need = (rlim_t)max_connections * 2 + 256;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        log_msg(LOG_WARN, "the open-file limit (%llu) allows about %llu connections, fewer than "
                "--max-connections %d: raise it (ulimit -n) or lower --max-connections",
                (unsigned long long)rl.rlim_cur, (unsigned long long)(rl.rlim_cur - 256) / 2,
                max_connections);
}

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    int rc = dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
    close(fd);
    return rc;
}

/* What SIGHUP reloads. */
struct hup_ctx {
    const char *log;              /* --log FILE, or NULL */
    struct ruleset_file *rules;   /* the rules file */
};

/* SIGHUP: read the rules file again (a hand edit; an invalid file is refused and the rules in
 * use stay) and reopen the --log file (after logrotate moved it away). */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    const struct hup_ctx *c = arg;
    const char *path = c->log;
    char err[600];
    if (c->rules && ruleset_file_reload(c->rules, err, sizeof err) < 0)
        log_msg(LOG_WARN, "SIGHUP: rules refused, the rules in use stay: %s", err);
    else if (c->rules)
        log_msg(LOG_INFO, "SIGHUP: rules read from %s", c->rules->path);
    if (!path) {
        log_msg(LOG_INFO, "SIGHUP: no --log file to reopen");
        return;
    }
    if (open_log(path) < 0)
        log_msg(LOG_WARN, "SIGHUP: cannot reopen %s: %s (still writing the old file)", path,
                strerror(errno));
    else
        log_msg(LOG_INFO, "SIGHUP: reopened %s", path);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct event_base *base = arg;
    log_msg(LOG_INFO, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(base, NULL);
}

/* The session file: --session, or a new confdir/sessions/YYYYmmdd-HHMMSS[-N].sqlite (the
 * directory is created 0700: sessions hold cookies and tokens). Returns 0, -1 with err. */
static int session_path(const struct opts *o, char *path, size_t len, char *err, size_t errlen)
{
    if (o->session) {
        snprintf(path, len, "%s", o->session);
        return 0;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sessions", o->confdir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    for (int i = 1; i < 100; i++) {
        if (i == 1)
            snprintf(path, len, "%s/%s.sqlite", dir, stamp);
        else
            snprintf(path, len, "%s/%s-%d.sqlite", dir, stamp, i);
        if (access(path, F_OK) < 0)
            return 0;
    }
    snprintf(err, errlen, "%s: too many sessions started this second", dir);
    return -1;
}

static int run(const struct opts *o)
{
    char err[512];
    int rc = 1;
    struct ca *ca = NULL;
    struct leafcache *leaves = NULL;
    SSL_CTX *server_ctx = NULL, *client_ctx = NULL;
    struct ca *untrusted_ca = NULL;
    struct clients *clients = clients_new(stdout);
    struct leafcache *untrusted = NULL;
    struct rules_config rcfg = {.intercept = o->intercept, .nintercept = (size_t)o->nintercept,
                              .passthrough = o->passthrough, .npassthrough = (size_t)o->npassthrough,
                              .builtin = !o->no_default_passthrough,
                              .auto_after = o->auto_passthrough, .auto_ttl = o->auto_passthrough_ttl};
    struct rules *rules = rules_new(&rcfg);
    struct worker *workers[MAX_WORKERS] = {0};
    struct web *web = NULL;
    /* One worker per core. On 2 cores one worker costs 6-11 % less CPU per keep-alive request,
     * but S1's p99 and req/s were no better and S4's p99 worse on a shared machine:
     * docs/BENCHMARKS.md, "Issue 21, fourth round". */
    int nworkers = o->workers ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nworkers < 1)
        nworkers = 1;
    if (nworkers > MAX_WORKERS)
        nworkers = MAX_WORKERS;
    struct event_base *base = NULL;
    struct event *sigint = NULL, *sigterm = NULL, *sighup = NULL;
    struct store *store = NULL;
    struct client_slots *client_slots = NULL;
    struct keylog *keylog = NULL;
    struct client_certs *identities = NULL;
    char session[4096];
    static struct ruleset_file route_rules; /* static: the workers and the web thread use it */
    int route_rules_ready = 0;

    if (!rules || !clients) {
        fprintf(stderr, "httpeek: out of memory\n");
        goto out;
    }
    {
        char rules_path[4096];
        snprintf(rules_path, sizeof rules_path, "%s/rules.json", o->confdir);
        int bad = ruleset_file_init(&route_rules, o->rules_file ? o->rules_file : rules_path,
                                    o->rule_kind, o->rule_spec, (size_t)o->nrule_spec, err,
                                    sizeof err) < 0;
        route_rules_ready = 1;
        if (bad) { /* a file that is not valid: refused whole, saying where */
            fprintf(stderr, "httpeek: rules refused: %s\n", err);
            rc = 2;
            goto out;
        }
    }
    if (!(ca = ca_load_or_create(o->confdir, err, sizeof err)) ||
        !(leaves = leafcache_new(ca, LEAFCACHE_DEFAULT_CAPACITY)) ||
        !(untrusted_ca = ca_new_untrusted("httpeek UNTRUSTED - mirrors an upstream certificate error",
                                          err, sizeof err)) ||
        (o->leaf_rsa && (ca_use_rsa_leaves(ca, err, sizeof err) < 0 ||
                         ca_use_rsa_leaves(untrusted_ca, err, sizeof err) < 0)) ||
        !(untrusted = leafcache_new(untrusted_ca, 256)) ||
        !(server_ctx = tls_server_ctx_new(err, sizeof err)) ||
        !(client_ctx = tls_client_ctx_new(o->upstream_ca, o->insecure, err, sizeof err))) {
        if (!leaves && ca)
            snprintf(err, sizeof err, "out of memory");
        fprintf(stderr, "httpeek: %s\n", err);
        goto out;
    }
    /* TLS key log and client identities: checked before anything is created on disk, so a
     * mistake costs a one-line error and no empty session */
    const char *keylog_file = keylog_choose(o->keylog, getenv("SSLKEYLOGFILE"));
    if (keylog_file && (!(keylog = keylog_open(keylog_file, err, sizeof err)) ||
                        keylog_attach(server_ctx, keylog) < 0 ||
                        keylog_attach(client_ctx, keylog) < 0)) {
        if (keylog)
            snprintf(err, sizeof err, "out of memory");
        goto fail_err;
    }
    if (o->nclient_cert &&
        !(identities = client_certs_load(o->client_cert, (size_t)o->nclient_cert,
                                         o->client_cert_password_file, isatty(STDIN_FILENO), err,
                                         sizeof err)))
        goto fail_err;
    tls_client_use_identities(client_ctx, identities);
    if (o->http2)
        tls_server_offer_h2(server_ctx);
    /* the store exists before any worker, so every flow has somewhere to go */
    if (session_path(o, session, sizeof session, err, sizeof err) < 0 ||
        !(store = store_open(session, err, sizeof err))) {
        fprintf(stderr, "httpeek: %s\n", err);
        goto out;
    }
    printf("Session: %s\n", session);
    if (keylog)
        printf("Key log: %s (TLS secrets of both legs%s: with it, anyone can decrypt what was "
               "captured of this traffic)\n", keylog_path(keylog),
               o->keylog ? "" : ", from SSLKEYLOGFILE");
    if (keylog && keylog_readable_by_others(keylog))
        log_msg(LOG_WARN, "key log %s is readable by other users", keylog_path(keylog));
    for (size_t i = 0; identities && i < identities->n; i++)
        printf("Client certificate for %s: %s (%s)\n", identities->id[i].glob,
               identities->id[i].subject, identities->id[i].file);
    raise_fd_limit(o->max_connections);
    /* one memory budget for every exchange; bodies past a connection's share spill into
     * unnamed files beside the session (capture.h) */
    static struct budget budget; /* static: shared by every thread for the whole run */
    budget_init(&budget, o->memory_budget);
    char spill_dir[sizeof session];
    snprintf(spill_dir, sizeof spill_dir, "%s", session);
    char *slash = strrchr(spill_dir, '/');
    if (slash)
        *(slash == spill_dir ? slash + 1 : slash) = '\0';
    else
        snprintf(spill_dir, sizeof spill_dir, ".");
    budget_set_spill_dir(&budget, spill_dir);
    if (!(client_slots = client_slots_new(o->max_client_connections))) {
        fprintf(stderr, "httpeek: out of memory\n");
        goto out;
    }
    static struct proxy proxy; /* static: a few KiB of ACL, alive for the whole run */
    proxy = (struct proxy){
        .opts = o, .ca = ca, .leaves = leaves, .rules = rules, .untrusted = untrusted,
        .untrusted_ca = untrusted_ca, .clients = clients,
        .tls_server = server_ctx,
        .tls_client = client_ctx,
        .out = NULL, .sink = NULL, .sink_arg = NULL}; /* lines: printed by the store */
    proxy.client_slots = client_slots;
    proxy.route_rules = &route_rules.holder;
    static struct exchange_policy policy; /* the rules' hooks, and the breakpoints' */
    static struct breakpoints breakpoints; /* static: the workers and the web thread use it */
    policy = rule_policy;
    if (breakpoints_init(&breakpoints) == 0) {
        breakpoint_policy_fill(&policy);
        proxy.breakpoints = &breakpoints;
    }
    proxy.policy = &policy; /* the exchange reaches the rules only through it */
    proxy.tunnel_policy = &rule_tunnel_policy; /* and a passthrough tunnel */
    proxy.budget = &budget;
    proxy.sink = store_sink;
    proxy.sink_arg = store;
    proxy.sink_busy = store_backlogged;
    proxy.sink_pace_us = store_pace_us;
    proxy.ws_messages = store_messages_of(store);
    proxy.replay_marks = replay_marks_new(); /* Repeat / compose (replay.h); NULL: none */
    store_messages_use_budget(proxy.ws_messages, &budget);
    store_set_lines(store, stdout);
    atomic_store(&proxy.next_flow_id, store_last_id(store)); /* ids continue in the file */
    if (acl_add(&proxy.allowed, o->nallow_client ? "" : ACL_DEFAULT, err, sizeof err) < 0)
        goto fail_err;
    for (int i = 0; i < o->nallow_client; i++)
        if (acl_add(&proxy.allowed, o->allow_client[i], err, sizeof err) < 0)
            goto fail_err;
    for (int i = 0; i < nworkers; i++) {
        if (!(workers[i] = worker_new(&proxy, i, err, sizeof err))) {
            fprintf(stderr, "httpeek: %s\n", err);
            goto out;
        }
    }
    base = event_base_new();
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    static struct hup_ctx hup;
    hup = (struct hup_ctx){o->log, &route_rules};
    sighup = evsignal_new(base, SIGHUP, on_hup, &hup);
    if (!base || !sigint || !sigterm || !sighup || event_add(sigint, NULL) ||
        event_add(sigterm, NULL) || event_add(sighup, NULL)) {
        fprintf(stderr, "httpeek: cannot set up signal handling\n");
        goto out;
    }

    char addrs[512];
    worker_describe(workers[0], addrs, sizeof addrs);
    /* the viewer reads the same file on its own thread and hears of every commit */
    /* who can reach the proxy: the banner warns when no phone can; the setup pages and the
     * viewer too */
    struct setup_reach reach;
    banner_reach(addrs, &reach);
    proxy.reach = reach; /* before worker_start: the workers only read it */
    char phone_proxy[INET6_ADDRSTRLEN + 16] = "";
    if (!reach.loopback_only && reach.nlan)
        snprintf(phone_proxy, sizeof phone_proxy, "%s:%d", reach.lan[0].host, reach.lan[0].port);
    char token[33];
    char webhost[256];
    int webport;
    struct web_config wc = {
        .addr = o->web, .session_path = session, .clients = clients, .rules = rules,
        .route_rules = &route_rules, .breakpoints = proxy.breakpoints, .recorder = &proxy,
        .keylog = keylog ? keylog_path(keylog) : NULL,
        .proxy = addrs, .setup_url = "http://" SETUP_HOST "/", .phone_proxy = phone_proxy,
        .loopback_only = reach.loopback_only,
        .replay_marks = proxy.replay_marks, .ca_cert = ca_cert(ca),
        .intercept = (const char *const *)o->intercept, .nintercept = (size_t)o->nintercept,
        .passthrough = (const char *const *)o->passthrough, .npassthrough = (size_t)o->npassthrough};
    if (opts_split_hostport(o->web, webhost, sizeof webhost, &webport, 8081) == 0 &&
        strcmp(webhost, "localhost") && strncmp(webhost, "127.", 4) && strcmp(webhost, "::1")) {
        web_new_token(token); /* reachable from other machines: only with this token */
        wc.token = token;
    }
    if (!(web = web_start(&wc, err, sizeof err))) {
        fprintf(stderr, "httpeek: %s\n", err);
        goto out;
    }
    store_set_notify(store, web_notify, web); /* before worker_start: no flow yet */
    web_set_store(web, store);
    banner_print(stdout, addrs, &reach, ca, o->insecure, !o->no_qr && isatty(STDOUT_FILENO));
    printf("Viewer: %s%s\n", web_url(web),
           wc.token ? "  (reachable from other machines: keep this token private)" : "");
    fflush(stdout);

    for (int i = 0; i < nworkers; i++) {
        if (worker_start(workers[i], err, sizeof err) < 0) {
            fprintf(stderr, "httpeek: %s\n", err);
            goto out;
        }
    }
    event_base_dispatch(base);
    rc = 0;
    goto out;
fail_err:
    fprintf(stderr, "httpeek: %s\n", err);
out:
    for (int i = 0; i < nworkers; i++) /* all at once, so the grace periods overlap */
        if (workers[i])
            worker_request_stop(workers[i]);
    for (int i = 0; i < nworkers; i++)
        if (workers[i])
            worker_stop(workers[i]);
    for (int i = 0; i < nworkers; i++)
        worker_free(workers[i]);
    if (web)
        web_set_store(web, NULL); /* the viewer stops asking the store it is about to lose */
    store_close(store); /* after the workers: their last flows are written too */
    client_slots_free(client_slots); /* after the workers: each closed connection gives back */
    web_stop(web);      /* after the store: its last commit still notifies the viewer */
    replay_marks_free(proxy.replay_marks); /* after the workers and the viewer's repeats */
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (sighup)
        event_free(sighup);
    if (base)
        event_base_free(base);
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
    keylog_close(keylog);         /* after the contexts that write to it */
    client_certs_free(identities); /* after the context that presents them */
    if (leaves)
        leafcache_free(leaves);
    rules_free(rules);
    if (route_rules_ready)
        ruleset_file_free(&route_rules);
    clients_free(clients);
    if (untrusted)
        leafcache_free(untrusted);
    ca_free(untrusted_ca);
    ca_free(ca);
    return rc;
}

/* `httpeek view FILE.har`: its entries imported into the session before the proxy starts on it
 * (har_import.h). Returns 0, or 1 after saying why. */
static int view_import(struct opts *o, const char *har, char *session, size_t len)
{
    char err[512];
    long n;
    /* the confdir (and its sessions/) as run makes it: created with the CA, parents and all */
    struct ca *ca = o->session ? NULL : ca_load_or_create(o->confdir, err, sizeof err);
    if (!o->session && !ca) {
        fprintf(stderr, "httpeek view: %s\n", err);
        return 1;
    }
    ca_free(ca);
    if (session_path(o, session, len, err, sizeof err) < 0 ||
        (n = har_import(har, session, o->max_body, err, sizeof err)) < 0) {
        fprintf(stderr, "httpeek view: %s\n", err);
        return 1;
    }
    printf("Imported %ld request%s from %s\n", n, n == 1 ? "" : "s", har);
    o->session = session; /* run continues that session */
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    char err[512];
    if (argc > 1 && !strcmp(argv[1], "export"))
        return export_main(argc - 1, argv + 1);
    const char *view_har = NULL;
    if (argc > 2 && !strcmp(argv[1], "view") && argv[2][0] != '-') { /* view FILE.har [options] */
        view_har = argv[2];
        argv[2] = argv[0];
        argc -= 2;
        argv += 2;
    }
    int r = opts_parse(&o, argc, argv, err, sizeof err);
    if (r != 0) {
        if (r < 0)
            fprintf(stderr, "httpeek: %s\n", err);
        opts_free(&o);
        return r < 0 ? 2 : 0;
    }
    if (o.log && open_log(o.log) < 0) {
        fprintf(stderr, "httpeek: --log %s: %s\n", o.log, strerror(errno));
        opts_free(&o);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* one exchange line at a time, even into a pipe */
    signal(SIGPIPE, SIG_IGN);
    log_set_level(o.verbose ? LOG_DEBUG : LOG_INFO);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "httpeek: libevent has no thread support\n");
        return 1;
    }
    static char view_session[4096];
    if (view_har && view_import(&o, view_har, view_session, sizeof view_session) != 0) {
        opts_free(&o);
        return 1;
    }
    int rc = run(&o);
    opts_free(&o);
    return rc;
}
