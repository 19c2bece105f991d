/* export.h — `httpeek export --session FILE --har OUT [--redact]`: a session file to HAR 1.2
 * without starting the proxy (the file may belong to a running httpeek, or one that was killed). */
#ifndef HTTPEEK_EXPORT_H
#define HTTPEEK_EXPORT_H

/* Run the export subcommand; argv[0] is "export". Returns the process exit code: 0 written,
 * 1 the session could not be read or OUT not written (one line on stderr), 2 bad usage. */
int export_main(int argc, char **argv);

#endif
