/* heap_trim.h — lets any code on a worker thread say that a connection's memory was freed, so
 * that the worker gives the heap back to the kernel (malloc_trim) once a burst of such frees is
 * over, as it does after a burst of new connections (worker.c). Idle tunnels whose upstream legs
 * the servers close hold the rest scattered between what stays: glibc keeps those pages. The
 * worker registers its hook on its own thread; on any other thread the note does nothing.
 * Thread-local state only: no lock. */
#ifndef HTTPEEK_HEAP_TRIM_H
#define HTTPEEK_HEAP_TRIM_H

/* Frees noted before the hook is called once (one call per this many). */
#define HEAP_TRIM_FREED_BURST 64

/* On the calling thread, call hook(arg) at every HEAP_TRIM_FREED_BURST-th note from now on;
 * hook NULL: no more calls (before the hook's owner goes away). */
void heap_trim_register(void (*hook)(void *arg), void *arg);

/* A connection or one of its legs (TLS objects, buffers, an HTTP/2 session) was freed. */
void heap_trim_note_freed(void);

#endif
