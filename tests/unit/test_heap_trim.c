/* test_heap_trim.c — heap_trim: the hook registered on a thread is called once per
 * HEAP_TRIM_FREED_BURST frees noted on that thread, never for frees on another thread, and no
 * more once unregistered. */
#include <pthread.h>
#include "../../src/heap_trim.h"
#include "tap.h"

static int calls;
static void hook(void *arg)
{
    (void)arg;
    calls++;
}

static void *other_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3 * HEAP_TRIM_FREED_BURST; i++)
        heap_trim_note_freed();
    return NULL;
}

int main(void)
{
    for (int i = 0; i < HEAP_TRIM_FREED_BURST; i++)
        heap_trim_note_freed();
    is_int(calls, 0, "no hook registered: frees noted change nothing");

    heap_trim_register(hook, NULL);
    for (int i = 0; i < HEAP_TRIM_FREED_BURST - 1; i++)
        heap_trim_note_freed();
    is_int(calls, 0, "fewer frees than a burst: no call");
    heap_trim_note_freed();
    is_int(calls, 1, "a burst of frees: one call");
    for (int i = 0; i < 2 * HEAP_TRIM_FREED_BURST; i++)
        heap_trim_note_freed();
    is_int(calls, 3, "one call per burst");

    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    is_int(calls, 3, "frees on another thread do not call this thread's hook");

    heap_trim_register(NULL, NULL);
    for (int i = 0; i < 2 * HEAP_TRIM_FREED_BURST; i++)
        heap_trim_note_freed();
    is_int(calls, 3, "unregistered: no call");
    return done();
}
