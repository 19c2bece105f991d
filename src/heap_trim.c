/* heap_trim.c — see heap_trim.h. */
#include "heap_trim.h"

#include <stddef.h>

static __thread void (*trim_hook)(void *arg);
static __thread void *trim_arg;
static __thread unsigned trim_freed;

void heap_trim_register(void (*hook)(void *arg), void *arg)
{
    trim_hook = hook;
    trim_arg = arg;
    trim_freed = 0;
}

void heap_trim_note_freed(void)
{
    if (trim_hook && ++trim_freed % HEAP_TRIM_FREED_BURST == 0)
        trim_hook(trim_arg);
}
