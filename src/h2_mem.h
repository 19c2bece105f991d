/* h2_mem.h — nghttp2's allocator for one session, so an idle HTTP/2 connection holds less: the
 * frame buffer every nghttp2 session keeps for its whole life (16 KiB, 1/3 of an idle
 * intercepted h2 tunnel) lives in pages of its own, resident only where a frame touched them and
 * given back while the connection is idle (h2_mem_release_idle); so does the stream map's table
 * (4 KiB made zeroed with the session, all zero again once no stream is in it). Blocks of up to
 * 512 bytes (header rcbufs, streams: several per request) come from per-thread lists by size
 * class, kept when freed (at most 32 a class and thread, freed when the thread exits); the rest
 * is malloc's, each block behind a 16-byte header.
 * One h2_mem per session, used on the session's thread only; it must outlive the session. */
#ifndef HTTPEEK_H2_MEM_H
#define HTTPEEK_H2_MEM_H

#include <stddef.h>
#include <nghttp2/nghttp2.h>

struct h2_mem {
    int creating;        /* inside nghttp2_session_*_new3: the frame buffer is made then */
    void *framebuf;      /* the mapped frame buffer, or NULL (then all is malloc's) */
    size_t framebuf_len; /* its mapping's length (whole pages) */
    void *table;         /* the mapped stream map table (the first calloc of a page or more made
                          * with the session), or NULL */
    size_t table_len;    /* its mapping's length (whole pages) */
};

/* Fill out (the allocator nghttp2_session_*_new3 takes) for m. Set m->creating around the
 * session's creation call. */
void h2_mem_init(struct h2_mem *m, nghttp2_mem *out);

/* The connection has nothing to send and no stream: the frame buffer's pages go back to the
 * kernel (zero-filled when the next frame is written). Only when nghttp2 holds no frame in it:
 * the caller checks !nghttp2_session_want_write and no stream open. The stream map's table goes
 * back too when every byte of it is zero (no stream in the map: what the kernel's zero-filled
 * pages give back is the same table). */
void h2_mem_release_idle(struct h2_mem *m);

#endif
