/* keylog.c — see keylog.h.
 *
 * How the workers write without waiting on each other: the file is opened O_APPEND and each line
 * (with its newline, built on the stack first) goes out in one write(). On a local file system
 * Linux performs an O_APPEND write of a regular file under the inode lock, at the end of the file,
 * whole, so lines from several threads never interleave and no lock or writer thread is needed. A
 * handshake costs a worker at most five such writes (one per secret, ~200 bytes each, into the
 * page cache), which is the most a slow disk can hold it up; a queue and a writer thread would
 * cost every handshake a lock and a wakeup instead, and could lose the last secrets at a crash
 * that a capture still needs. A failed or short write (disk full) is said once on the log and the
 * connection goes on. */
#include "keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "log.h"

/* An NSS key log line is a label, 64 hex digits of client random and at most 96 of secret
 * (SHA-384): under 200 bytes. Longer lines are not expected; they are skipped, not cut. */
#define KEYLOG_LINE_MAX 512

struct keylog {
    int fd;                   /* O_APPEND; -1 after close */
    char *path;               /* as given, for the banner and the viewer */
    int others_can_read;      /* the file was there already with group/other read permission */
    atomic_int write_failed;  /* 1 once a failed write has been logged */
};

static int ctx_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void init_index(void) { ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

const char *keylog_choose(const char *option, const char *env)
{
    if (option)
        return option;
    return env && env[0] ? env : NULL;
}

struct keylog *keylog_open(const char *path, char *err, size_t errlen)
{
    struct keylog *kl = calloc(1, sizeof *kl);
    if (kl)
        kl->fd = -1;
    if (!kl || !(kl->path = strdup(path))) {
        free(kl);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    kl->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    struct stat st;
    if (kl->fd < 0 || fstat(kl->fd, &st) < 0) {
        snprintf(err, errlen, "key log %s: %s", path, strerror(errno));
        keylog_close(kl);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
        snprintf(err, errlen, "key log %s: not a file", path);
        keylog_close(kl);
        return NULL;
    }
    kl->others_can_read = S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH));
    return kl;
}

static void write_line(const SSL *ssl, const char *line)
{
    struct keylog *kl = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
    if (!kl || kl->fd < 0)
        return;
    char buf[KEYLOG_LINE_MAX];
    size_t n = strlen(line);
    if (n + 1 > sizeof buf)
        return;
    memcpy(buf, line, n);
    buf[n++] = '\n';
    ssize_t w;
    do
        w = write(kl->fd, buf, n);
    while (w < 0 && errno == EINTR);
    if ((size_t)w != n && !atomic_exchange(&kl->write_failed, 1))
        log_msg(LOG_WARN, "key log %s: %s: TLS secrets from now on may be missing from it",
                kl->path, w < 0 ? strerror(errno) : "short write (disk full?)");
}

int keylog_attach(SSL_CTX *ctx, struct keylog *kl)
{
    pthread_once(&index_once, init_index);
    if (ctx_index < 0 || !SSL_CTX_set_ex_data(ctx, ctx_index, kl))
        return -1;
    SSL_CTX_set_keylog_callback(ctx, write_line);
    return 0;
}

const char *keylog_path(const struct keylog *kl) { return kl->path; }

int keylog_readable_by_others(const struct keylog *kl) { return kl->others_can_read; }

void keylog_close(struct keylog *kl)
{
    if (!kl)
        return;
    if (kl->fd >= 0)
        close(kl->fd);
    free(kl->path);
    free(kl);
}
