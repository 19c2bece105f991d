/* export.c — see export.h. Reads the session with a store_reader and streams har_write into
 * OUT.tmp, renamed over OUT once complete, so a failed export never leaves half a HAR behind
 * (OUT "-", a device or a FIFO is written in place). */
#include "export.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "har.h"
#include "store.h"

static const char export_usage[] =
    "usage: httpeek export --session FILE --har OUT [--redact]\n"
    "\n"
    "Write the flows of a session file as HAR 1.2 (OUT '-' = standard output).\n"
    "  --session FILE   the SQLite session file (see `httpeek --help`)\n"
    "  --har OUT        where the HAR goes\n"
    "  --redact         replace Authorization, Proxy-Authorization, Cookie, Set-Cookie values and\n"
    "                   token-like query and form parameters with \"[redacted]\"\n";

static int write_file(const char *data, size_t len, void *arg)
{
    return fwrite(data, 1, len, arg) == len ? 0 : -1;
}

int export_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"session", required_argument, NULL, 's'},
        {"har", required_argument, NULL, 'o'},
        {"redact", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *session = NULL, *har = NULL;
    struct har_options ho = {0};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': session = optarg; break;
        case 'o': har = optarg; break;
        case 'r': ho.redact = 1; break;
        case 'h': fputs(export_usage, stdout); return 0;
        case ':':
            fprintf(stderr, "httpeek export: %s needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "httpeek export: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc || !session || !har) {
        fprintf(stderr, "httpeek export: %s\n", optind < argc ? "unexpected argument"
                                                               : "--session FILE and --har OUT are required");
        fputs(export_usage, stderr);
        return 2;
    }
    char err[512];
    struct store_reader *r = store_reader_open(session, err, sizeof err);
    if (!r) {
        fprintf(stderr, "httpeek export: %s\n", err);
        return 1;
    }
    /* OUT that exists and is not a regular file (/dev/null, a FIFO, a terminal) is written in
     * place: renaming a temporary file over it would replace the device or pipe with a file */
    struct stat st;
    int in_place = !strcmp(har, "-") || (stat(har, &st) == 0 && !S_ISREG(st.st_mode));
    int to_stdout = !strcmp(har, "-");
    char *tmp = NULL;
    FILE *f = stdout;
    if (!to_stdout && in_place && !(f = fopen(har, "w"))) {
        fprintf(stderr, "httpeek export: %s: %s\n", har, strerror(errno));
        store_reader_close(r);
        return 1;
    }
    if (!in_place) {
        size_t n = strlen(har) + 32;
        tmp = malloc(n);
        if (!tmp) {
            store_reader_close(r);
            fprintf(stderr, "httpeek export: out of memory\n");
            return 1;
        }
        snprintf(tmp, n, "%s.tmp%ld", har, (long)getpid());
        if (!(f = fopen(tmp, "w"))) {
            fprintf(stderr, "httpeek export: %s: %s\n", har, strerror(errno));
            store_reader_close(r);
            free(tmp);
            return 1;
        }
    }
    int rc = har_write(r, &ho, write_file, f);
    int werr = rc < 0 || ferror(f);
    if (!to_stdout && in_place) {
        if (fclose(f) != 0)
            werr = 1;
    } else if (!in_place) {
        if (fclose(f) != 0)
            werr = 1;
        if (!werr && rename(tmp, har) != 0)
            werr = 1;
        if (werr)
            unlink(tmp);
    } else if (fflush(stdout) != 0)
        werr = 1;
    store_reader_close(r);
    free(tmp);
    if (werr) {
        fprintf(stderr, "httpeek export: %s: %s\n", har,
                rc < 0 ? "the session could not be read completely" : strerror(errno));
        return 1;
    }
    return 0;
}
