/* ruleset_file.h — the rules in use and where they come from: the --map-local / --map-remote /
 * --block short forms (first, in command-line order; read-only) and the rules file (--rules FILE,
 * default confdir/rules.json; hand-editable, replaced by PUT /api/rules). Building the set, putting
 * it in the holder the workers match against, and writing the file atomically. Owned by main;
 * the web thread calls ruleset_file_get / ruleset_file_put (serialised by its own lock). */
#ifndef HTTPEEK_RULESET_FILE_H
#define HTTPEEK_RULESET_FILE_H

#include <pthread.h>
#include <stddef.h>
#include "attrib.h"
#include "ruleset.h"

struct ruleset_file {
    struct ruleset_holder holder;   /* what the workers match against */
    pthread_mutex_t lock;
    char *path;                     /* the rules file */
    char *text;                     /* its text as last loaded or saved ("" when absent) */
    size_t len;
    char etag[24];                  /* "\"r-<hash>\"" of text */
    const unsigned char *kinds;     /* the short forms: enum rule_action of each ... */
    const char *const *specs;       /* ... and its spec ("PATTERN=PATH"), borrowed */
    size_t nshort;
    size_t ncli;                    /* rules in use that come from the command line */
};

/* Set rf up and load: the short forms, then the file (absent: no file rules). Returns 0, or -1
 * with err ("rules.json line 7: rules[1].action.type: ..."). */
int ruleset_file_init(struct ruleset_file *rf, const char *path, const unsigned char *kinds,
                      const char *const *specs, size_t nshort, char *err, size_t errlen)
    HP_NONNULL(1, 2, 6);

/* Read the file again (a hand edit): on error the set in use stays. Returns 0 or -1 with err. */
int ruleset_file_reload(struct ruleset_file *rf, char *err, size_t errlen) HP_NONNULL(1, 2);

/* The file's text and ETag (copies: free *text). The command line's rules go in *cli as a JSON
 * array text (free), "[]" when none. Returns 0, -1 out of memory. */
int ruleset_file_get(struct ruleset_file *rf, char **text, char **cli, char *etag, size_t etaglen)
    HP_NONNULL(1, 2, 3, 4);

/* Results of ruleset_file_put. */
enum ruleset_put {
    RULESET_PUT_OK = 0,
    RULESET_PUT_INVALID = -1,   /* err names line and field (400) */
    RULESET_PUT_CONFLICT = -2,  /* if_match is not the current ETag (412) */
    RULESET_PUT_IO = -3,        /* the file could not be written (500); the set in use stays */
};

/* Replace the file rules with text (validated whole first) when if_match (NULL: unconditional)
 * is the current ETag: the file is written (temp file + rename), then the new set goes in use.
 * etag gets the new ETag. */
enum ruleset_put ruleset_file_put(struct ruleset_file *rf, const char *text, size_t len,
                                  const char *if_match, char *etag, size_t etaglen, char *err,
                                  size_t errlen) HP_NONNULL(1, 2, 5, 7);

/* Free everything (the set in use too). */
void ruleset_file_free(struct ruleset_file *rf);

#endif
