/* flow_json_text.h — the buffer a flow's JSON texts are written into (summary, detail or a flow
 * record), shared by flow_json.c, flow_detail.c and their callers: one per writer, reused from
 * flow to flow (pure data, any thread, each buffer on one). */
#ifndef HTTPEEK_FLOW_JSON_TEXT_H
#define HTTPEEK_FLOW_JSON_TEXT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Most warnings written for one flow (ATS, app-level and cache notes together). */
#define FLOW_JSON_MAX_WARNINGS 10

/* Both texts of one flow, in a buffer reused from flow to flow (start zeroed). */
struct flow_json_text {
    char *buf;                 /* summary text, then detail text (neither NUL-terminated) */
    size_t len, cap;
    size_t summary_len;        /* the summary is buf[0 .. summary_len) */
    const char *detail;        /* the detail: detail[0 .. detail_len), inside buf */
    size_t detail_len;
    int oom;
    int warn_codes[4];         /* the codes of the flow's first warnings (0 for a note), as the
                                  terminal line marks them: warnings are computed here, once */
    int nwarn;
    char mime[128];            /* the summary's mime (flow_json_mime of the response's
                                  Content-Type), for a store that also keeps it as a column */
    int detail_only;           /* input: 1 = the detail leaves out the summary's members (a
                                  store that keeps both texts: flow_json_whole joins them) */
    int detail_record;         /* input: 1 = the detail is the flow record (flow_detail.h:
                                  bytes, not JSON) of the detail_only text, written as that
                                  text when it is read (flow_detail_emit) */
    long long tls_ref[2];      /* input: when > 0, the detail's tls.client ([0]) / tls.upstream
                                  ([1]) is this number, the key of the leg's facts written apart
                                  (store_tls.h), instead of the object; 0: the object */
};

/* Free out's buffer (out is zeroed, reusable). */
static inline void flow_json_text_free(struct flow_json_text *out)
{
    free(out->buf);
    memset(out, 0, sizeof *out);
}

#endif
