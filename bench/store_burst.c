/* store_burst.c — the store writer's cost per flow with a fixed batching (docs/BENCHMARKS.md,
 * "Store writer"): N flows shaped like bench S1's (an HTTPS GET /1k through an intercepted
 * tunnel, nginx's response head, 1 KiB of random bytes, both legs' TLS facts shared by every
 * flow as on a keep-alive connection) handed to the real store in bursts of B, each burst
 * committed before the next, so every commit holds B flows whatever the speed. Run it under
 * callgrind with two N and take the difference:
 *   valgrind --tool=callgrind --separate-threads=yes build/store_burst DIR 1000 64
 *   valgrind --tool=callgrind --separate-threads=yes build/store_burst DIR 2000 64
 * (total(2000) - total(1000)) / 1000 = instructions per flow, store open and close cancelled.
 * Without valgrind it prints the wall time per flow. Usage: store_burst DIR [N [B [KIND [LIST]]]];
 * KIND "s4" makes plain-HTTP flows (S4). The session file is DIR/burst.sqlite (removed first).
 * LIST "list": then list every row by commit sequence as the live stream does
 * (store_reader_list_seq from 0, 500 rows a call), by the file's commits rows; "list-index": the
 * same after making the flows_seq index builds before had (the reader then goes by it). Under
 * callgrind, time_list's inclusive count is the list's cost. Natively it also prints each
 * thread's CPU (user and system, /proc/self/task, 10 ms ticks) per flow before the store closes:
 * the main thread, then the checkpointer and the writer (started in that order); the WAL's
 * checkpoints run mostly in the kernel, which callgrind does not see. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <sqlite3.h>
#include "flow.h"
#include "store.h"

static atomic_ullong committed;

static void on_commit(uint64_t lo, uint64_t hi, void *arg)
{
    (void)arg;
    atomic_fetch_add(&committed, hi - lo + 1);
}

/* A head owning copies of the name/value pairs nv (NULL-terminated). */
static struct http1_head *head(int is_request, const char *const *nv)
{
    struct http1_head *h = calloc(1, sizeof *h);
    size_t n = 0, total = 1;
    while (nv[2 * n]) {
        total += strlen(nv[2 * n]) + strlen(nv[2 * n + 1]) + 2;
        n++;
    }
    h->buf = malloc(total);
    h->fields = calloc(n, sizeof *h->fields);
    char *p = h->buf;
    *p++ = '\0';
    for (size_t i = 0; i < n; i++) {
        h->fields[i].name = p;
        p = stpcpy(p, nv[2 * i]) + 1;
        h->fields[i].value = p;
        p = stpcpy(p, nv[2 * i + 1]) + 1;
    }
    h->nfields = n;
    h->is_request = is_request;
    h->target = h->reason = h->buf;
    h->major = h->minor = 1;
    return h;
}

static struct flow_tls_shared *tls_leg(int upstream)
{
    struct flow_tls_shared *s = flow_tls_shared_new();
    struct flow_tls *t = &s->t;
    t->present = t->handshake_done = 1;
    strcpy(t->version, "TLSv1.3");
    strcpy(t->cipher, "TLS_AES_128_GCM_SHA256");
    strcpy(t->alpn, "http/1.1");
    strcpy(t->sni, "bench.test");
    t->forward_secret = 1;
    if (upstream) {
        strcpy(t->peer_subject, "CN=bench.test");
        strcpy(t->peer_issuer, "CN=httpeek test root");
        strcpy(t->peer_not_before, "2026-01-01T00:00:00Z");
        strcpy(t->peer_not_after, "2027-01-01T00:00:00Z");
        strcpy(t->peer_key_type, "EC");
        t->peer_key_bits = 256;
        strcpy(t->peer_sig, "ecdsa-with-SHA256");
        strcpy(t->peer_names, "bench.test, 127.0.0.1");
        t->resumed = 1;
    } else {
        strcpy(t->leaf, "minted");
        strcpy(t->leaf_reason, "httpeek's CA signed a certificate for the name the app asked for.");
    }
    return s;
}

static struct flow *mkflow(uint64_t id, int tls, struct flow_tls_shared *legs[2],
                           const unsigned char *body)
{
    struct flow *f = flow_new(id, 1 + id / 100, 1 << 20);
    f->kind = FLOW_HTTP;
    strcpy(f->client_addr, "127.0.0.1");
    f->client_port = 40000 + (int)(id % 1000);
    strcpy(f->scheme, tls ? "https" : "http");
    strcpy(f->host, "bench.test");
    f->port = tls ? 8443 : 8080;
    strcpy(f->server_ip, "127.0.0.1");
    flow_set_url(f, tls ? "https://bench.test:8443/1k" : "http://bench.test:8080/1k");
    f->reused_upstream = 1;
    static const char *const req[] = {"Host", "bench.test:8443", "User-Agent", "httpeek-loadgen",
                                      NULL};
    f->req = head(1, req);
    f->req->method = HTTP_GET;
    f->req->target = "/1k"; /* not freed with the head: static */
    static const char *const resp[] = {
        "Server", "nginx/1.22.1", "Date", "Mon, 07 Dec 2026 17:20:01 GMT",
        "Content-Type", "application/octet-stream", "Content-Length", "1024",
        "Last-Modified", "Mon, 07 Dec 2026 17:14:51 GMT", "Connection", "keep-alive",
        "ETag", "\"6935ba2b-400\"", "Accept-Ranges", "bytes", NULL};
    f->resp = head(0, resp);
    f->resp->status = 200;
    f->resp->reason = "OK";
    flow_capture_add(&f->resp_body, (const char *)body, 1024);
    if (tls) {
        flow_set_tls(f, 0, legs[0]);
        flow_set_tls(f, 1, legs[1]);
    }
    uint64_t t = f->marks.start;
    f->marks.send_start = t + 20;
    f->marks.send_end = t + 25;
    f->marks.first_byte = t + 180;
    f->marks.end = t + 200;
    f->bytes_up = 80;
    f->bytes_down = 1300;
    return f;
}

/* Each thread's user and system CPU so far, in µs per flow of n, one line each in thread id order
 * (the main thread first, then the checkpointer and the writer: store_open starts them so). */
static void print_thread_cpu(long n)
{
    DIR *d = opendir("/proc/self/task");
    long tids[16], ntid = 0, hz = sysconf(_SC_CLK_TCK);
    for (struct dirent *e; d && (e = readdir(d)) && ntid < 16;)
        if (e->d_name[0] != '.')
            tids[ntid++] = atol(e->d_name);
    if (d)
        closedir(d);
    for (long i = 1; i < ntid; i++) /* a few: insertion sort */
        for (long j = i; j > 0 && tids[j] < tids[j - 1]; j--) {
            long t = tids[j];
            tids[j] = tids[j - 1];
            tids[j - 1] = t;
        }
    for (long i = 0; i < ntid; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tids[i]);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        char *p = strrchr(buf, ')'); /* after the command name: state is field 3, utime 14 */
        unsigned long ut = 0, st = 0;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        printf("thread %ld: user %.2f us, system %.2f us per flow\n", i + 1,
               (double)ut * 1e6 / (double)hz / (double)n, (double)st * 1e6 / (double)hz / (double)n);
    }
}

static int count_row(const char *summary, size_t len, const char *client, uint64_t seq, void *arg)
{
    (void)summary, (void)len, (void)client;
    *(uint64_t *)arg = seq;
    return 0;
}

/* Microseconds to list every row by commit sequence, 500 at a time; *rows the rows listed. */
__attribute__((noinline)) static double time_list(const char *path, long *rows)
{
    char err[512];
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    if (!r)
        return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t after = 0, last = 0;
    *rows = 0;
    for (;;) {
        last = after;
        if (store_reader_list_seq(r, after, 500, count_row, &last) != 0 || last == after)
            break;
        *rows += (long)(last - after);
        after = last;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    store_reader_close(r);
    return (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_burst DIR [N [BURST [s1|s4]]]\n");
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 1000, burst = argc > 3 ? atol(argv[3]) : 64;
    int tls = !(argc > 4 && !strcmp(argv[4], "s4"));
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/burst.sqlite", argv[1]);
    unlink(path);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        fprintf(stderr, "store_burst: %s\n", err);
        return 1;
    }
    store_set_notify(s, on_commit, NULL);
    unsigned char body[1024];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof body; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        body[i] = (unsigned char)x;
    }
    struct flow_tls_shared *legs[2] = {tls_leg(0), tls_leg(1)};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t id = store_last_id(s);
    for (long done = 0; done < n; done += burst) {
        long k = n - done < burst ? n - done : burst;
        struct flow *fl[4096];
        for (long i = 0; i < k && i < 4096; i++)
            fl[i] = mkflow(++id, tls, legs, body);
        for (long i = 0; i < k && i < 4096; i++)
            store_sink(fl[i], s);
        while (atomic_load(&committed) < (unsigned long long)(done + k))
            usleep(200);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_thread_cpu(n);
    struct store_stats st;
    store_get_stats(s, &st);
    store_close(s);
    flow_tls_shared_unref(legs[0]);
    flow_tls_shared_unref(legs[1]);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    printf("%ld flows, %llu commits (max %llu a commit), %.2f us per flow\n", n,
           (unsigned long long)st.commits, (unsigned long long)st.batch_max, us / (double)n);
    if (argc > 5 && (!strcmp(argv[5], "list") || !strcmp(argv[5], "list-index"))) {
        int by_index = !strcmp(argv[5], "list-index");
        sqlite3 *db = NULL;
        if (by_index && (sqlite3_open(path, &db) != SQLITE_OK ||
                         sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS flows_seq ON flows(seq)",
                                      NULL, NULL, NULL) != SQLITE_OK))
            return 1;
        sqlite3_close(db);
        long rows;
        double t = time_list(path, &rows);
        printf("list by commit sequence (%s): %ld rows in %.0f us\n",
               by_index ? "by the flows_seq index" : "by commits rows", rows, t);
    }
    return 0;
}
