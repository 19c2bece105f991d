/* attrib.h — compiler attribute macros used on prototypes (after sslsplit's attrib.h). */
#ifndef HTTPEEK_ATTRIB_H
#define HTTPEEK_ATTRIB_H

#define HP_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define HP_WUNRES __attribute__((warn_unused_result))
#define HP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define HP_UNUSED __attribute__((unused))

#endif
