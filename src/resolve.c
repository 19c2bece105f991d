/* resolve.c — see resolve.h.
 *
 * The system path: getaddrinfo blocks (for seconds when a server is slow), so it runs on
 * RESOLVE_THREADS pool threads shared by all workers. A request lives in one of three states
 * under pool_lock: QUEUED, RUNNING, DONE. A pool thread moves it to DONE and posts its message to
 * the worker's mailbox (mailbox.h; the worker's base has no locks), unless the worker cancelled
 * it first (orphaned): then the thread frees it and never touches the mailbox. A worker that
 * cancels a DONE request takes its message back. So a result can never reach a connection that
 * went away.
 *
 * The --dns path: evdns on the worker's loop, as before (what S6 measures). A cancelled lookup
 * still owes us evdns's EVUTIL_EAI_CANCEL callback, so the request stays allocated, detached,
 * until it arrives. */
#include "resolve.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/dns.h>
#include <event2/util.h>
#include "flow.h"
#include "mailbox.h"
#include "opts.h"

#define RESOLVE_THREADS 3          /* getaddrinfo calls in flight for the whole process */
#define RESOLVE_QUEUE_MAX 512      /* waiting lookups beyond which a new one fails at once */
#define RESOLVE_CACHE_SLOTS 64
#define RESOLVE_CACHE_OK_US 5000000      /* a found name is reused for 5 s */
#define RESOLVE_CACHE_NONAME_US 2000000  /* a missing one for 2 s */
/* A failure slower than this waited for a server that did not answer: a timeout. Servers that
 * cannot be reached fail in microseconds (ICMP refused, no route); evdns's own timeout is 3 s. */
#define RESOLVE_SLOW_US 500000

#define RESOLVE_HOSTS_ADDRS 4     /* addresses kept per name from the --hosts file */

/* One name of the --hosts file: compact, as such files can list 100,000 names. */
struct hosts_entry {
    char *name;                  /* lower case (owned) */
    size_t order;                /* position in the file, while loading */
    int naddrs;
    struct { int family; unsigned char a[16]; } addrs[RESOLVE_HOSTS_ADDRS];
};

struct resolver {
    struct event_base *base;
    struct mailbox *mailbox;     /* the worker's, for the pool threads; NULL: base is thread-safe */
    struct evdns_base *dns;      /* the --dns server, or NULL: the system resolver */
    char dns_name[64];           /* "127.0.0.1:5353" for the words */
    struct hosts_entry *hosts;   /* the --hosts file's names, sorted by name */
    size_t nhosts;
};

enum req_state { REQ_QUEUED, REQ_RUNNING, REQ_DONE };

struct resolve_req {
    struct resolver *rv;
    struct event *done_ev;       /* on rv->base: delivers res (from the worker's own thread) */
    struct mailbox_msg done_msg; /* delivers res when a pool thread found it (rv->mailbox) */
    resolve_cb cb;               /* NULL once cancelled */
    void *arg;
    /* evdns path */
    struct evdns_getaddrinfo_request *lookup;
    int evdns_pending;           /* evdns still owes us a callback */
    int in_cancel;
    /* pool path (state, orphaned, next: under pool_lock) */
    enum req_state state;
    int orphaned;
    struct resolve_req *next;
    int cacheable;
    uint64_t start_us;
    char host[256];
    struct resolve_result res;
};

/* ---------------------------------------------------------------- names ---- */

static void lower_copy(char *dst, size_t dstlen, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < dstlen; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
    if (i > 1 && dst[i - 1] == '.') /* "example.com." is "example.com" */
        dst[i - 1] = '\0';
}

static int has_label_suffix(const char *name, const char *label)
{
    size_t n = strlen(name), l = strlen(label);
    return !strcmp(name, label) || (n > l && name[n - l - 1] == '.' && !strcmp(name + n - l, label));
}

int resolve_is_invalid_name(const char *host)
{
    char name[256];
    lower_copy(name, sizeof name, host);
    return has_label_suffix(name, "invalid");
}

static int add_addr(struct resolve_result *r, int family, const void *a)
{
    if (r->naddrs >= RESOLVE_MAX_ADDRS)
        return -1;
    for (int i = 0; i < r->naddrs; i++) { /* getaddrinfo repeats an address per socktype */
        const struct sockaddr_storage *s = &r->addrs[i];
        if (s->ss_family == family &&
            !memcmp(family == AF_INET ? (const void *)&((const struct sockaddr_in *)s)->sin_addr
                                      : (const void *)&((const struct sockaddr_in6 *)s)->sin6_addr,
                    a, family == AF_INET ? 4 : 16))
            return 0;
    }
    struct sockaddr_storage *s = &r->addrs[r->naddrs++];
    memset(s, 0, sizeof *s);
    s->ss_family = (sa_family_t)family;
    if (family == AF_INET)
        memcpy(&((struct sockaddr_in *)s)->sin_addr, a, 4);
    else
        memcpy(&((struct sockaddr_in6 *)s)->sin6_addr, a, 16);
    return 0;
}

static void add_addrinfo(struct resolve_result *r, const struct addrinfo *ai)
{
    for (; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            add_addr(r, AF_INET, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr);
        else if (ai->ai_family == AF_INET6)
            add_addr(r, AF_INET6, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
    }
}

static void set_fail(struct resolve_result *r, enum resolve_status st, int eai, const char *fmt,
                     const char *a, const char *b)
{
    r->status = st;
    r->eai = eai;
    r->naddrs = 0;
    snprintf(r->why, sizeof r->why, fmt, a, b);
}

static int hosts_cmp(const void *a, const void *b)
{
    return strcmp(((const struct hosts_entry *)a)->name, ((const struct hosts_entry *)b)->name);
}

/* Answers that need nobody: the --hosts file, then the special-use names. 1 when answered. */
static int answer_locally(const struct resolver *rv, const char *name, struct resolve_result *r)
{
    struct hosts_entry key = {.name = (char *)name};
    const struct hosts_entry *h = rv->nhosts ? bsearch(&key, rv->hosts, rv->nhosts, sizeof key, hosts_cmp) : NULL;
    if (h) {
        r->status = RESOLVE_OK;
        for (int i = 0; i < h->naddrs; i++)
            add_addr(r, h->addrs[i].family, h->addrs[i].a);
        return 1;
    }
    if (has_label_suffix(name, "invalid")) {
        set_fail(r, RESOLVE_NO_SUCH_HOST, EVUTIL_EAI_NONAME,
                 "%s is a special-use name (RFC 6761 .invalid): it never resolves%s", name, "");
        return 1;
    }
    if (has_label_suffix(name, "localhost")) {
        static const unsigned char v6[16] = {[15] = 1}, v4[4] = {127, 0, 0, 1};
        r->status = RESOLVE_OK;
        add_addr(r, AF_INET6, v6);
        add_addr(r, AF_INET, v4);
        return 1;
    }
    return 0;
}

/* Read a hosts file ("ADDRESS NAME..." lines, # comments) into rv->hosts, sorted, one entry
 * per name (its addresses in file order). */
static int load_hosts(struct resolver *rv, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    size_t cap = 0;
    int rc = 0;
    char line[4096];
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL, *ip = strtok_r(line, " \t\r\n", &save);
        unsigned char a[16];
        int family = !ip ? 0 : inet_pton(AF_INET, ip, a) == 1 ? AF_INET
                             : inet_pton(AF_INET6, ip, a) == 1 ? AF_INET6 : 0;
        for (char *n; family && (n = strtok_r(NULL, " \t\r\n", &save));) {
            if (rv->nhosts == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct hosts_entry *g = realloc(rv->hosts, ncap * sizeof *g);
                if (!g) {
                    rc = -1;
                    break;
                }
                rv->hosts = g;
                cap = ncap;
            }
            char name[256];
            lower_copy(name, sizeof name, n);
            struct hosts_entry *h = &rv->hosts[rv->nhosts];
            memset(h, 0, sizeof *h);
            if (!(h->name = strdup(name))) {
                rc = -1;
                break;
            }
            h->order = rv->nhosts;
            h->naddrs = 1;
            h->addrs[0].family = family;
            memcpy(h->addrs[0].a, a, 16);
            rv->nhosts++;
        }
    }
    fclose(fp);
    if (rc < 0 || !rv->nhosts)
        return rc;
    /* one entry per name: merge the lines that name it again, keeping file order */
    qsort(rv->hosts, rv->nhosts, sizeof *rv->hosts, hosts_cmp);
    size_t out = 0;
    for (size_t i = 0; i < rv->nhosts;) {
        size_t j = i + 1;
        while (j < rv->nhosts && !strcmp(rv->hosts[j].name, rv->hosts[i].name))
            j++;
        /* the group i..j-1: order by file position, then collect addresses */
        for (size_t x = i + 1; x < j; x++)
            for (size_t y = x; y > i && rv->hosts[y].order < rv->hosts[y - 1].order; y--) {
                struct hosts_entry t = rv->hosts[y];
                rv->hosts[y] = rv->hosts[y - 1];
                rv->hosts[y - 1] = t;
            }
        struct hosts_entry merged = {.name = rv->hosts[i].name};
        for (size_t x = i; x < j; x++) {
            if (x > i)
                free(rv->hosts[x].name);
            if (merged.naddrs < RESOLVE_HOSTS_ADDRS) {
                merged.addrs[merged.naddrs].family = rv->hosts[x].addrs[0].family;
                memcpy(merged.addrs[merged.naddrs].a, rv->hosts[x].addrs[0].a, 16);
                merged.naddrs++;
            }
        }
        rv->hosts[out++] = merged;
        i = j;
    }
    rv->nhosts = out;
    return 0;
}

/* ---------------------------------------------------------------- cache ---- */

struct cache_slot {
    char name[256];
    uint64_t expires_us;
    struct resolve_result res;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot cache[RESOLVE_CACHE_SLOTS];

static int cache_get(const char *name, struct resolve_result *out)
{
    uint64_t now = flow_now_us();
    int hit = 0;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < RESOLVE_CACHE_SLOTS && !hit; i++)
        if (cache[i].expires_us > now && !strcmp(cache[i].name, name)) {
            *out = cache[i].res;
            hit = 1;
        }
    pthread_mutex_unlock(&cache_lock);
    return hit;
}

static void cache_put(const char *name, const struct resolve_result *r)
{
    uint64_t ttl = r->status == RESOLVE_OK ? RESOLVE_CACHE_OK_US
                   : r->status == RESOLVE_NO_SUCH_HOST ? RESOLVE_CACHE_NONAME_US : 0;
    if (!ttl)
        return; /* a server that did not answer may answer the next time */
    uint64_t now = flow_now_us();
    pthread_mutex_lock(&cache_lock);
    int pick = 0;
    for (int i = 0; i < RESOLVE_CACHE_SLOTS; i++) {
        if (!strcmp(cache[i].name, name) || cache[i].expires_us <= now) {
            pick = i;
            break;
        }
        if (cache[i].expires_us < cache[pick].expires_us)
            pick = i;
    }
    snprintf(cache[pick].name, sizeof cache[pick].name, "%s", name);
    cache[pick].res = *r;
    cache[pick].expires_us = now + ttl;
    pthread_mutex_unlock(&cache_lock);
}

/* ----------------------------------------------------------------- pool ---- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct resolve_req *queue_head, *queue_tail;
static int queue_len;
static int pool_started;

static void system_lookup(struct resolve_req *req)
{
    struct resolve_result *r = &req->res;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: it hides every address on a machine with only loopback, and Happy
     * Eyeballs gets past a family that cannot be reached at once. */
    uint64_t t0 = flow_now_us();
    int e = getaddrinfo(req->host, NULL, &hints, &res);
    uint64_t took = flow_now_us() - t0;
    if (e == 0) {
        r->status = RESOLVE_OK;
        add_addrinfo(r, res);
        freeaddrinfo(res);
        if (!r->naddrs)
            set_fail(r, RESOLVE_NO_SUCH_HOST, EVUTIL_EAI_NONAME, "%s has no IPv4 or IPv6 address%s",
                     req->host, "");
    } else if (e == EAI_NONAME
#ifdef EAI_NODATA
               || e == EAI_NODATA
#endif
#ifdef EAI_ADDRFAMILY
               || e == EAI_ADDRFAMILY
#endif
    )
        set_fail(r, RESOLVE_NO_SUCH_HOST, EVUTIL_EAI_NONAME,
                 "no such host: the system resolver knows no %s (hosts file, DNS, mDNS)%s", req->host, "");
    else if (e == EAI_AGAIN && took < RESOLVE_SLOW_US)
        set_fail(r, RESOLVE_NO_SERVER, EVUTIL_EAI_AGAIN,
                 "no DNS server answered: none of the system's DNS servers could be reached to "
                 "look up %s%s", req->host, "");
    else if (e == EAI_AGAIN)
        set_fail(r, RESOLVE_TIMEOUT, EVUTIL_EAI_AGAIN,
                 "the system's DNS server did not answer in time for %s%s", req->host, "");
    else if (e == EAI_MEMORY)
        set_fail(r, RESOLVE_FAILED, EVUTIL_EAI_MEMORY, "out of memory resolving %s%s", req->host, "");
    else
        set_fail(r, RESOLVE_FAILED, EVUTIL_EAI_FAIL, "cannot resolve %s: %s", req->host, gai_strerror(e));
    cache_put(req->host, r);
}

static void *pool_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        while (!queue_head)
            pthread_cond_wait(&pool_cond, &pool_lock);
        struct resolve_req *req = queue_head;
        queue_head = req->next;
        if (!queue_head)
            queue_tail = NULL;
        queue_len--;
        if (req->orphaned) {
            free(req);
            continue;
        }
        req->state = REQ_RUNNING;
        pthread_mutex_unlock(&pool_lock);
        system_lookup(req);
        pthread_mutex_lock(&pool_lock);
        if (req->orphaned)
            free(req);
        else {
            req->state = REQ_DONE;
            if (req->rv->mailbox)
                (void)mailbox_post(req->rv->mailbox, &req->done_msg); /* open: req is not orphaned */
            else
                event_active(req->done_ev, EV_TIMEOUT, 0); /* thread-safe: evthread_use_pthreads */
        }
    }
    return NULL;
}

/* Start the pool once; 0 when at least one thread runs. Called with pool_lock held. */
static int pool_start_locked(void)
{
    for (; pool_started < RESOLVE_THREADS; pool_started++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        int e = pthread_create(&t, &attr, pool_main, NULL);
        pthread_attr_destroy(&attr);
        if (e != 0)
            break;
    }
    return pool_started ? 0 : -1;
}

/* ------------------------------------------------------------- requests ---- */

static void req_free(struct resolve_req *req)
{
    if (req->done_ev)
        event_free(req->done_ev);
    free(req);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct resolve_req *req = arg;
    resolve_cb cb = req->cb;
    req->cb = NULL;
    if (cb)
        cb(&req->res, req->arg);
    if (!req->evdns_pending)
        req_free(req);
}

static void on_pool_done(void *arg)
{
    on_done(-1, 0, arg);
}

static void on_evdns(int result, struct evutil_addrinfo *res, void *arg)
{
    struct resolve_req *req = arg;
    req->evdns_pending = 0;
    req->lookup = NULL;
    if (!req->cb) { /* cancelled: this was evdns's last word to us */
        if (res)
            evutil_freeaddrinfo(res);
        if (!req->in_cancel)
            req_free(req);
        return;
    }
    struct resolve_result *r = &req->res;
    uint64_t took = flow_now_us() - req->start_us;
    if (result == 0 && res) {
        r->status = RESOLVE_OK;
        add_addrinfo(r, res);
    } else if (result == EVUTIL_EAI_NONAME)
        set_fail(r, RESOLVE_NO_SUCH_HOST, EVUTIL_EAI_NONAME, "no such host: %s answered that %s does not exist",
                 req->rv->dns_name, req->host);
    else if (result == EVUTIL_EAI_MEMORY)
        set_fail(r, RESOLVE_FAILED, EVUTIL_EAI_MEMORY, "out of memory resolving %s%s", req->host, "");
    else if (took >= RESOLVE_SLOW_US) /* evdns says EAI_FAIL for a timeout too */
        set_fail(r, RESOLVE_TIMEOUT, EVUTIL_EAI_AGAIN, "the DNS server %s did not answer in time for %s",
                 req->rv->dns_name, req->host);
    else
        set_fail(r, RESOLVE_FAILED, result ? result : EVUTIL_EAI_FAIL,
                 "the DNS server %s failed to resolve %s (SERVFAIL or refused)", req->rv->dns_name, req->host);
    if (res)
        evutil_freeaddrinfo(res);
    event_active(req->done_ev, EV_TIMEOUT, 0); /* maybe inside evdns_getaddrinfo: report later */
}

struct resolve_req *resolve_start(struct resolver *rv, const char *host, resolve_cb cb, void *arg)
{
    struct resolve_req *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->rv = rv;
    req->cb = cb;
    req->arg = arg;
    req->start_us = flow_now_us();
    lower_copy(req->host, sizeof req->host, host);
    req->done_ev = event_new(rv->base, -1, 0, on_done, req);
    mailbox_msg_init(&req->done_msg, on_pool_done, req);
    if (!req->done_ev) {
        free(req);
        return NULL;
    }
    if (answer_locally(rv, req->host, &req->res) || (!rv->dns && cache_get(req->host, &req->res))) {
        event_active(req->done_ev, EV_TIMEOUT, 0);
        return req;
    }
    if (rv->dns) {
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
        req->evdns_pending = 1;
        struct evdns_getaddrinfo_request *l = evdns_getaddrinfo(rv->dns, req->host, NULL, &hints, on_evdns, req);
        if (req->evdns_pending)
            req->lookup = l;
        return req;
    }
    pthread_mutex_lock(&pool_lock);
    if (queue_len >= RESOLVE_QUEUE_MAX || pool_start_locked() < 0) {
        pthread_mutex_unlock(&pool_lock);
        set_fail(&req->res, RESOLVE_FAILED, EVUTIL_EAI_AGAIN,
                 "too many lookups waiting for the system resolver (%s%s)", req->host, "");
        event_active(req->done_ev, EV_TIMEOUT, 0);
        return req;
    }
    req->state = REQ_QUEUED;
    req->cacheable = 1;
    if (queue_tail)
        queue_tail->next = req;
    else
        queue_head = req;
    queue_tail = req;
    queue_len++;
    pthread_cond_signal(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
    return req;
}

void resolve_cancel(struct resolve_req *req)
{
    req->cb = NULL;
    if (req->cacheable) { /* went to the pool */
        pthread_mutex_lock(&pool_lock);
        int done = req->state == REQ_DONE;
        struct event *ev = req->done_ev;
        if (!done)
            req->orphaned = 1; /* the pool thread frees it: req is not ours to touch any more */
        pthread_mutex_unlock(&pool_lock);
        event_free(ev); /* never activated again once orphaned */
        if (done) {
            if (req->rv->mailbox)
                mailbox_cancel(req->rv->mailbox, &req->done_msg);
            free(req);
        }
        return;
    }
    if (req->evdns_pending) {
        req->in_cancel = 1;
        evdns_getaddrinfo_cancel(req->lookup);
        req->in_cancel = 0;
        if (req->evdns_pending) { /* its callback comes later and frees req */
            event_del(req->done_ev);
            return;
        }
    }
    req_free(req);
}

/* ------------------------------------------------------------- resolver ---- */

struct resolver *resolver_new(struct event_base *base, struct mailbox *mailbox, const char *hosts_file,
                              const char *dns_server, char *err, size_t errlen)
{
    struct resolver *rv = calloc(1, sizeof *rv);
    if (!rv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rv->base = base;
    rv->mailbox = mailbox;
    if (hosts_file && load_hosts(rv, hosts_file) < 0) {
        snprintf(err, errlen, "--hosts: cannot read '%s'", hosts_file);
        resolver_free(rv);
        return NULL;
    }
    if (!dns_server)
        return rv;
    rv->dns = evdns_base_new(base, 0);
    if (!rv->dns) {
        snprintf(err, errlen, "cannot create the DNS resolver");
        resolver_free(rv);
        return NULL;
    }
    char host[256], spec[300];
    int port;
    opts_split_hostport(dns_server, host, sizeof host, &port, 53);
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    snprintf(rv->dns_name, sizeof rv->dns_name, "%s", spec);
    if (evdns_base_nameserver_ip_add(rv->dns, spec) != 0) {
        snprintf(err, errlen, "--dns: cannot use nameserver '%s' (an IP address is needed)", dns_server);
        resolver_free(rv);
        return NULL;
    }
    /* /etc/hosts still answers first, as it did before --hosts and the system path existed. */
    evdns_base_load_hosts(rv->dns, "/etc/hosts");
    /* 0x20 case randomisation trips some home routers' DNS; timeouts are ours to bound. */
    evdns_base_set_option(rv->dns, "randomize-case:", "0");
    evdns_base_set_option(rv->dns, "timeout:", "3");
    evdns_base_set_option(rv->dns, "attempts:", "2");
    return rv;
}

void resolver_free(struct resolver *rv)
{
    if (!rv)
        return;
    if (rv->dns)
        evdns_base_free(rv->dns, 1);
    for (size_t i = 0; i < rv->nhosts; i++)
        free(rv->hosts[i].name);
    free(rv->hosts);
    free(rv);
}
