/* store_health.c — see store_health.h. */
#include "store_health.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

void store_health_init(struct store_health *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
}

void store_health_destroy(struct store_health *h)
{
    pthread_mutex_destroy(&h->mu);
}

int store_health_file_present(int fd, const char *path)
{
    struct stat a, b;
    if (fd < 0 || fstat(fd, &a) < 0)
        return 1;
    if (a.st_nlink == 0)
        return 0;
    /* renamed over or removed and made again: the path no longer names what we write */
    return stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

enum store_fault store_health_classify(int sqlite_rc, int err_no, int fd, const char *path)
{
    if (!store_health_file_present(fd, path))
        return STORE_FAULT_DELETED;
    if (sqlite_rc == SQLITE_FULL || err_no == ENOSPC || err_no == EDQUOT)
        return STORE_FAULT_FULL;
    if (sqlite_rc == SQLITE_READONLY || err_no == EROFS || err_no == EACCES || err_no == EPERM)
        return STORE_FAULT_READONLY;
    switch (sqlite_rc) {
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_BUSY: /* another process holds the file: nothing is written either */
    case SQLITE_LOCKED:
        return STORE_FAULT_IO;
    default:
        return err_no ? STORE_FAULT_IO : STORE_FAULT_NONE;
    }
}

const char *store_fault_code(enum store_fault f)
{
    switch (f) {
    case STORE_FAULT_FULL: return "disk_full";
    case STORE_FAULT_READONLY: return "read_only";
    case STORE_FAULT_DELETED: return "deleted";
    case STORE_FAULT_IO: return "io_error";
    default: return "";
    }
}

const char *store_fault_words(enum store_fault f)
{
    switch (f) {
    case STORE_FAULT_FULL: return "disk full";
    case STORE_FAULT_READONLY: return "read-only";
    case STORE_FAULT_DELETED: return "deleted";
    case STORE_FAULT_IO: return "I/O error";
    default: return "ok";
    }
}

static void clock_text(time_t t, char *out, size_t outlen)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, outlen, "%H:%M:%S", &tm);
}

/* The terminal line for the failure in h (locked). */
static void failing_line(const struct store_health *h, const char *path, char *line, size_t len)
{
    char since[16];
    clock_text(h->since, since, sizeof since);
    unsigned long long n = (unsigned long long)(h->lost + h->waiting);
    char waiting[96] = "";
    if (h->waiting)
        snprintf(waiting, sizeof waiting, ", %llu of them waiting in memory to be written",
                 (unsigned long long)h->waiting);
    switch (h->fault) {
    case STORE_FAULT_DELETED:
        /* the open file still takes the flows (and the viewer still reads them), but nothing
         * is left of it once httpeek exits */
        snprintf(line, len, "session file deleted: %llu flows since %s are not saved to any "
                 "file (%s is gone; the viewer shows them until httpeek exits: export a HAR "
                 "to keep them, restart httpeek for a new session)", n, since, path);
        break;
    case STORE_FAULT_FULL:
        snprintf(line, len, "session disk full: %llu flows not recorded since %s%s (%s: %s); "
                 "proxying goes on, recording resumes when space is freed", n, since, waiting,
                 path, h->error);
        break;
    default:
        snprintf(line, len, "session %s: %llu flows not recorded since %s%s (%s: %s); "
                 "proxying goes on, recording resumes when the file can be written",
                 store_fault_words(h->fault), n, since, waiting, path, h->error);
        break;
    }
}

int store_health_failed(struct store_health *h, enum store_fault fault, const char *error,
                        uint64_t nlost, uint64_t waiting, time_t now, const char *path, char *line,
                        size_t linelen)
{
    pthread_mutex_lock(&h->mu);
    int changed = h->fault != fault;
    if (h->fault == STORE_FAULT_NONE) {
        h->since = now;
        h->lost = 0;
    }
    h->fault = fault;
    h->lost += nlost;
    h->waiting = waiting;
    h->lost_total += nlost;
    if (error)
        snprintf(h->error, sizeof h->error, "%s", error);
    h->changes++;
    int say = changed || now - h->said >= STORE_HEALTH_SAY_S || now < h->said;
    if (say) {
        h->said = now;
        failing_line(h, path, line, linelen);
    }
    pthread_mutex_unlock(&h->mu);
    return say;
}

int store_health_recorded(struct store_health *h, time_t now, const char *path, char *line,
                          size_t linelen)
{
    pthread_mutex_lock(&h->mu);
    int was = h->fault != STORE_FAULT_NONE;
    if (was) {
        char since[16], until[16];
        clock_text(h->since, since, sizeof since);
        clock_text(now, until, sizeof until);
        snprintf(line, linelen, "session recording resumed (%s): %llu flows that waited are "
                 "recorded, %llu flows were not recorded between %s and %s (%s)", path,
                 (unsigned long long)h->waiting, (unsigned long long)h->lost, since, until,
                 store_fault_words(h->fault));
        h->fault = STORE_FAULT_NONE;
        h->waiting = 0;
        h->said = 0;
        h->changes++;
    }
    pthread_mutex_unlock(&h->mu);
    return was;
}

int store_health_side_failed(struct store_health *h, time_t now)
{
    pthread_mutex_lock(&h->mu);
    int say = !h->side_said || now - h->side_said >= STORE_HEALTH_SAY_S || now < h->side_said;
    if (say)
        h->side_said = now;
    pthread_mutex_unlock(&h->mu);
    return say;
}

json_t *store_health_json(struct store_health *h)
{
    pthread_mutex_lock(&h->mu);
    char since[32] = "";
    if (h->fault != STORE_FAULT_NONE) {
        struct tm tm;
        gmtime_r(&h->since, &tm);
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
                          "state", h->fault == STORE_FAULT_NONE ? "ok" : "failing",
                          "reason", store_fault_code(h->fault),
                          "reason_text", store_fault_words(h->fault), "since", since,
                          "not_recorded",
                          (json_int_t)(h->fault == STORE_FAULT_NONE ? 0 : h->lost + h->waiting),
                          "waiting", (json_int_t)(h->fault == STORE_FAULT_NONE ? 0 : h->waiting),
                          "not_recorded_total", (json_int_t)h->lost_total,
                          "last_error", h->error);
    pthread_mutex_unlock(&h->mu);
    return o;
}

uint64_t store_health_changes(struct store_health *h)
{
    pthread_mutex_lock(&h->mu);
    uint64_t n = h->changes;
    pthread_mutex_unlock(&h->mu);
    return n;
}
