/* web_export.c — GET/POST /api/har, streamed. The HAR is written by a thread of its own (one per
 * export, with its own read-only view of the session through its own store_reader) into one end
 * of a socketpair; the web thread reads the other end only when the client has taken the last
 * chunk, so the viewer and the API stay live during a long export, memory stays bounded (a few
 * hundred KiB per export, whatever the session's size), and a slow client slows the writer
 * instead of piling HAR up in memory. A client that goes away closes our end: the writer's next
 * send fails with EPIPE, har_write stops, the thread ends and is joined. */
#include "web_internal.h"
#include "web_reply.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "har.h"
#include "log.h"
#include "store.h"

/* Exports running at once; more get 503 (each holds a thread and a SQLite connection). */
#define EXPORT_MAX 8
/* Bytes the writer gathers before one send (fewer syscalls than one per entry). */
#define EXPORT_WBUF (64u << 10)
/* Most bytes the web thread takes from the socketpair for one chunk to the client. */
#define EXPORT_CHUNK (256u << 10)
/* The writer's nice value: on a busy machine the API's answers come before the export's bytes. */
#define EXPORT_NICE 10

struct web_export {
    struct web *web;
    struct web_export *next;    /* w->exports */
    /* web thread's */
    struct evhttp_request *req; /* NULL once the reply ended or the client went away */
    int fd;                     /* our end of the socketpair; -1 once closed */
    struct event *readable;
    struct evbuffer *chunk;
    int started;                /* the 200 and its headers are sent */
    /* the writer thread's (until done) */
    pthread_t thread;
    int wfd;
    struct store_reader *reader;
    struct har_options o;
    uint64_t *ids;
    char wbuf[EXPORT_WBUF];
    size_t wlen;
    atomic_int failed;          /* har_write failed (store or write error) */
    atomic_int done;            /* the thread has finished: join it without waiting */
};

/* ------------------------------------------------------------------------------------------ */
/* The writer thread */

static int send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* EPIPE: the web side closed (client gone, or shutting down) */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int export_write(const char *data, size_t len, void *arg)
{
    struct web_export *ex = arg;
    if (ex->wlen + len > sizeof ex->wbuf) {
        if (send_all(ex->wfd, ex->wbuf, ex->wlen) < 0)
            return -1;
        ex->wlen = 0;
        if (len > sizeof ex->wbuf)
            return send_all(ex->wfd, data, len);
    }
    memcpy(ex->wbuf + ex->wlen, data, len);
    ex->wlen += len;
    return 0;
}

static void *export_thread(void *arg)
{
    struct web_export *ex = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), EXPORT_NICE); /* best effort */
    int rc = har_write(ex->reader, &ex->o, export_write, ex);
    if (rc == 0 && ex->wlen && send_all(ex->wfd, ex->wbuf, ex->wlen) < 0)
        rc = -1;
    store_reader_close(ex->reader);
    ex->reader = NULL;
    free(ex->ids);
    ex->ids = NULL;
    atomic_store(&ex->failed, rc < 0);
    close(ex->wfd); /* the web thread reads EOF: the HAR is complete (or failed) */
    ex->wfd = -1;
    atomic_store(&ex->done, 1);
    event_active(ex->web->exports_reap, 0, 0);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The web thread's side */

/* Free every export whose thread has finished and whose reply is over. */
static void reap(struct web *w)
{
    for (struct web_export **p = &w->exports; *p;) {
        struct web_export *ex = *p;
        if (ex->req || ex->fd >= 0 || !atomic_load(&ex->done)) {
            p = &ex->next;
            continue;
        }
        *p = ex->next;
        pthread_join(ex->thread, NULL);
        event_free(ex->readable);
        evbuffer_free(ex->chunk);
        free(ex);
    }
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reap(arg);
}

/* Our side is over: stop reading (the writer, if still running, gets EPIPE and ends). */
static void web_side_done(struct web_export *ex)
{
    if (ex->req) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(ex->req);
        if (evcon)
            evhttp_connection_set_closecb(evcon, NULL, NULL); /* the connection may live on */
        ex->req = NULL;
    }
    event_del(ex->readable);
    if (ex->fd >= 0)
        close(ex->fd);
    ex->fd = -1;
}

/* The client went away mid-export (or the server is shutting down). */
static void export_client_gone(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct web_export *ex = arg;
    struct evhttp_request *req = ex->req;
    ex->req = NULL; /* its connection is being freed: do not touch its callbacks */
    /* a request the peer's close detached from its connection is ours to free (see sse_closed) */
    if (req && !evhttp_request_get_connection(req))
        evhttp_send_reply_end(req);
    web_side_done(ex);
    reap(ex->web);
}

/* The 200's headers of a HAR download. */
static void har_headers(struct evhttp_request *req)
{
    char disp[96], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(disp, sizeof disp, "attachment; filename=\"httpeek-%s.har\"", stamp);
    web__common_headers(req, "application/json; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition", disp);
}

static void start_reply(struct web_export *ex)
{
    har_headers(ex->req);
    evhttp_send_reply_start(ex->req, 200, "OK");
    ex->started = 1;
}

static int add_to_evbuffer(const char *data, size_t len, void *buf)
{
    return evbuffer_add(buf, data, len);
}

/* The session file was deleted under httpeek (store_health: "deleted"): a new connection would
 * open (or create) whatever is at its path now, not the session, so only the viewer's own open
 * connection still reads it. The HAR is then written here, on the web thread, in one piece: the
 * API waits meanwhile, a price paid only in that state, so that the flows can still be kept. */
static void har_from_open_session(struct web *w, struct evhttp_request *req,
                                  const struct har_options *o)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf || har_write(w->reader, o, add_to_evbuffer, buf) < 0) {
        if (buf)
            evbuffer_free(buf);
        web__send_error(req, 500, "the HAR export failed (see the log)");
        return;
    }
    har_headers(req);
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}

static void on_flushed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct web_export *ex = arg;
    if (ex->req && ex->fd >= 0)
        event_add(ex->readable, NULL);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct web_export *ex = arg;
    if (!ex->req)
        return;
    /* evbuffer_read takes at most 4 KiB a call: gather a chunk worth one trip to the client */
    int n;
    while ((n = evbuffer_read(ex->chunk, fd, (int)(EXPORT_CHUNK - evbuffer_get_length(ex->chunk)))) > 0)
        if (evbuffer_get_length(ex->chunk) >= EXPORT_CHUNK)
            break;
    int again = n < 0 && (errno == EAGAIN || errno == EINTR);
    if (evbuffer_get_length(ex->chunk) > 0) {
        if (!ex->started)
            start_reply(ex);
        /* on_flushed asks for more once the client has taken this chunk: back-pressure (a
         * pending EOF or error is seen then, at the next read) */
        evhttp_send_reply_chunk_with_cb(ex->req, ex->chunk, on_flushed, ex);
        return;
    }
    if (again) {
        event_add(ex->readable, NULL);
        return;
    }
    /* EOF (the writer closed its end after its last byte) or a read error */
    struct evhttp_request *req = ex->req;
    int failed = n < 0 || atomic_load(&ex->failed);
    if (failed)
        log_msg(LOG_WARN, "web: HAR export failed (store or write error; see above)");
    web_side_done(ex);
    if (!failed) {
        if (!ex->started)
            start_reply(ex);
        evhttp_send_reply_end(req);
    } else if (!ex->started) {
        web__send_error(req, 500, "the HAR could not be written (see the log)");
    } else {
        /* half a HAR must not look whole: close without the last chunk */
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        if (evcon)
            evhttp_connection_free(evcon);
    }
    reap(ex->web);
}

/* ------------------------------------------------------------------------------------------ */
/* The request */

/* Parse "1,2,3" into a new array (*ids, *n). Returns 0, -1 on a malformed list. */
static int parse_id_list(const char *s, uint64_t **ids, size_t *n)
{
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof **ids);
    if (!*ids)
        return -1;
    const char *p = s;
    while (*p) {
        const char *end;
        uint64_t id = web__parse_id(p, &end);
        if (!id || (*end && *end != ',')) {
            free(*ids);
            *ids = NULL;
            return -1;
        }
        if (*n == cap) {
            uint64_t *more = realloc(*ids, (cap *= 2) * sizeof **ids);
            if (!more) {
                free(*ids);
                *ids = NULL;
                return -1;
            }
            *ids = more;
        }
        (*ids)[(*n)++] = id;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* The export's options from req (query or POST body) into o and *ids (caller frees). Returns 0,
 * or -1 with the error answer sent. */
static int har_options_of(struct evhttp_request *req, struct evkeyvalq *query,
                          struct har_options *o, uint64_t **ids)
{
    size_t nids = 0;
    *ids = NULL;
    *o = (struct har_options){.redact = 0}; /* plain /api/har keeps everything */
    const char *r = evhttp_find_header(query, "redact");
    if (r)
        o->redact = strcmp(r, "0") != 0 && strcasecmp(r, "false") != 0;
    const char *list = evhttp_find_header(query, "ids");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        const char *text = (const char *)evbuffer_pullup(in, -1);
        json_error_t jerr;
        json_t *body = text ? json_loadb(text, len, 0, &jerr) : NULL;
        if (!json_is_object(body)) {
            json_decref(body);
            web__send_error(req, 400, "expected a JSON body {\"ids\":[...], \"redact\":true}");
            return -1;
        }
        json_t *jr = json_object_get(body, "redact");
        if (jr)
            o->redact = json_is_true(jr);
        json_t *ja = json_object_get(body, "ids");
        if (ja && !json_is_array(ja)) {
            json_decref(body);
            web__send_error(req, 400, "\"ids\" must be an array of flow ids");
            return -1;
        }
        if (ja) {
            nids = json_array_size(ja);
            *ids = malloc((nids ? nids : 1) * sizeof **ids);
            for (size_t i = 0; *ids && i < nids; i++) {
                json_t *v = json_array_get(ja, i);
                if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                    free(*ids);
                    *ids = NULL;
                    json_decref(body);
                    web__send_error(req, 400, "\"ids\" must hold positive integers");
                    return -1;
                }
                (*ids)[i] = (uint64_t)json_integer_value(v);
            }
            if (!*ids) {
                json_decref(body);
                web__send_error(req, 500, "out of memory");
                return -1;
            }
        }
        json_decref(body);
        o->ids = *ids;
        o->nids = nids;
    } else if (list) {
        if (parse_id_list(list, ids, &nids) < 0) {
            web__send_error(req, 400, "ids: expected comma-separated flow ids");
            return -1;
        }
        o->ids = *ids;
        o->nids = nids;
    }
    return 0;
}

void web__har(struct web *w, struct evhttp_request *req, struct evkeyvalq *query)
{
    struct har_options o;
    uint64_t *ids;
    if (har_options_of(req, query, &o, &ids) < 0)
        return;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        free(ids);
        web__common_headers(req, "application/json; charset=utf-8");
        evhttp_send_reply(req, 200, "OK", NULL);
        return;
    }
    if (access(w->session_path, F_OK) != 0) {
        har_from_open_session(w, req, &o);
        free(ids);
        return;
    }
    reap(w);
    size_t running = 0;
    for (struct web_export *e = w->exports; e; e = e->next)
        running++;
    if (running >= EXPORT_MAX) {
        free(ids);
        web__send_error(req, 503, "too many HAR exports at once; try again when one has finished");
        return;
    }
    if (!w->exports_reap && !(w->exports_reap = event_new(w->base, -1, 0, on_reap, w))) {
        free(ids);
        web__send_error(req, 500, "out of memory");
        return;
    }
    struct web_export *ex = calloc(1, sizeof *ex);
    int sv[2] = {-1, -1};
    char err[256] = "";
    if (!ex || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0 ||
        !(ex->chunk = evbuffer_new()) ||
        !(ex->readable = event_new(w->base, sv[0], EV_READ, on_readable, ex)) ||
        !(ex->reader = store_reader_open(w->session_path, err, sizeof err))) {
        if (err[0])
            log_msg(LOG_WARN, "web: HAR export: %s", err);
        goto fail;
    }
    ex->web = w;
    ex->req = req;
    ex->fd = sv[0];
    ex->wfd = sv[1];
    ex->o = o;
    ex->ids = ids;
    if (pthread_create(&ex->thread, NULL, export_thread, ex) != 0) {
        log_msg(LOG_WARN, "web: HAR export: cannot start a thread");
        goto fail;
    }
    ex->next = w->exports;
    w->exports = ex;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), export_client_gone, ex);
    event_add(ex->readable, NULL);
    return;
fail:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (ex) {
        store_reader_close(ex->reader);
        if (ex->readable)
            event_free(ex->readable);
        if (ex->chunk)
            evbuffer_free(ex->chunk);
        free(ex);
    }
    free(ids);
    web__send_error(req, 500, "the HAR export could not start (see the log)");
}

void web__exports_stop(struct web *w)
{
    /* evhttp_free has run: every client is gone and each export's web side is closed, so each
     * writer fails its next send and ends */
    for (struct web_export *ex = w->exports; ex; ex = ex->next)
        web_side_done(ex);
    while (w->exports) {
        struct web_export *ex = w->exports;
        w->exports = ex->next;
        pthread_join(ex->thread, NULL);
        event_free(ex->readable);
        evbuffer_free(ex->chunk);
        free(ex);
    }
    if (w->exports_reap)
        event_free(w->exports_reap);
    w->exports_reap = NULL;
}
