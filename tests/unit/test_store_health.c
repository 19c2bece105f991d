/* test_store_health.c — the recording state (store_health.c): a failure is said at once, then at
 * most once a minute whatever the number of failed batches, again at once when its reason
 * changes, and once when recording resumes; the counts and the JSON the API serves; and how a
 * failed write is classified (disk full, read-only, I/O, a flow's own error, a deleted file).
 * And the flows that wait meanwhile (store_hold.c): bounded in count and bytes, given back
 * oldest first, the newest dropped when the returned space is too small for all. */
#include "../../src/store_health.c"
#include "../../src/store_hold.c"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void test_said_once_a_minute(void)
{
    struct store_health h;
    store_health_init(&h);
    char line[512];
    time_t t0 = 1700000000;
    uint64_t c0 = store_health_changes(&h);
    is_int(store_health_recorded(&h, t0, "/s", line, sizeof line), 0,
           "a batch recorded while recording says nothing");
    line[0] = '\0';
    is_int(store_health_failed(&h, STORE_FAULT_FULL, "database or disk is full", 3, 0, t0, "/s", line,
                               sizeof line), 1, "the first failure is said at once");
    ok(strstr(line, "session disk full: 3 flows not recorded since") != NULL &&
           strstr(line, "database or disk is full") != NULL && strstr(line, "/s") != NULL,
       "the line names the count, the reason, the error and the file (%s)", line);
    int said = 0;
    for (int i = 1; i <= 100; i++) /* 100 more failed batches within the minute */
        said += store_health_failed(&h, STORE_FAULT_FULL, "database or disk is full", 1, 0,
                                    t0 + i * (STORE_HEALTH_SAY_S - 1) / 100, "/s", line, sizeof line);
    is_int(said, 0, "100 more failures within the minute are not said");
    is_int(store_health_failed(&h, STORE_FAULT_FULL, NULL, 1, 0, t0 + STORE_HEALTH_SAY_S, "/s", line,
                               sizeof line), 1, "a minute later it is said again");
    ok(strstr(line, "104 flows not recorded") != NULL, "with the count so far (%s)", line);
    ok(store_health_changes(&h) != c0, "the change counter moved");

    json_t *o = store_health_json(&h);
    is_str(json_string_value(json_object_get(o, "state")), "failing", "json: state failing");
    is_str(json_string_value(json_object_get(o, "reason")), "disk_full", "json: reason disk_full");
    is_int(json_integer_value(json_object_get(o, "not_recorded")), 104, "json: not_recorded 104");
    is_str(json_string_value(json_object_get(o, "since")), "2023-11-14T22:13:20Z",
           "json: since is when it began (UTC)");
    is_str(json_string_value(json_object_get(o, "last_error")), "database or disk is full",
           "json: last_error");
    json_decref(o);

    is_int(store_health_failed(&h, STORE_FAULT_DELETED, "deleted", 1, 0, t0 + STORE_HEALTH_SAY_S + 1,
                               "/s", line, sizeof line), 1, "a new reason is said at once");
    ok(strstr(line, "session file deleted") != NULL, "and named (%s)", line);

    uint64_t c1 = store_health_changes(&h);
    is_int(store_health_recorded(&h, t0 + 200, "/s", line, sizeof line), 1,
           "recording again is said once");
    ok(strstr(line, "resumed") && strstr(line, ", 105 flows were not recorded"),
       "with how many were lost (%s)", line);
    is_int(store_health_recorded(&h, t0 + 201, "/s", line, sizeof line), 0,
           "and not again for the next batch");
    ok(store_health_changes(&h) != c1, "the change counter moved on resuming");
    o = store_health_json(&h);
    is_str(json_string_value(json_object_get(o, "state")), "ok", "json: state ok again");
    is_int(json_integer_value(json_object_get(o, "not_recorded")), 0, "json: not_recorded 0");
    is_int(json_integer_value(json_object_get(o, "not_recorded_total")), 105,
           "json: not_recorded_total keeps the 105");
    json_decref(o);

    is_int(store_health_failed(&h, STORE_FAULT_FULL, "full", 0, 2, t0 + 202, "/s", line, sizeof line),
           1, "a new failure after resuming is said at once");
    ok(strstr(line, ": 2 flows not recorded") != NULL && strstr(line, "2 of them waiting in memory"),
       "counted from zero, the held flows said as waiting (%s)", line);
    o = store_health_json(&h);
    is_int(json_integer_value(json_object_get(o, "not_recorded")), 2, "json: the waiting flows are not recorded yet");
    is_int(json_integer_value(json_object_get(o, "waiting")), 2, "json: waiting 2");
    is_int(json_integer_value(json_object_get(o, "not_recorded_total")), 105,
           "json: not_recorded_total counts only flows lost for good");
    json_decref(o);
    is_int(store_health_recorded(&h, t0 + 203, "/s", line, sizeof line), 1, "resumed again");
    ok(strstr(line, "2 flows that waited are recorded, 0 flows were not recorded") != NULL,
       "the waiting flows are said recorded (%s)", line);
    store_health_destroy(&h);
}

static void test_side_file(void)
{
    struct store_health h;
    store_health_init(&h);
    int said = 0;
    for (int i = 0; i < 50; i++)
        said += store_health_side_failed(&h, 1000 + i);
    is_int(said, 1, "50 body file failures within a minute are said once");
    is_int(store_health_side_failed(&h, 1000 + STORE_HEALTH_SAY_S), 1, "and again after a minute");
    store_health_destroy(&h);
}

static void test_classify(void)
{
    char dir[] = "/tmp/test_store_health.XXXXXX", path[64];
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/s.sqlite", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    is_int(store_health_classify(SQLITE_FULL, 0, fd, path), STORE_FAULT_FULL, "SQLITE_FULL: disk full");
    is_int(store_health_classify(SQLITE_IOERR, ENOSPC, fd, path), STORE_FAULT_FULL, "ENOSPC: disk full");
    is_int(store_health_classify(SQLITE_READONLY, 0, fd, path), STORE_FAULT_READONLY, "SQLITE_READONLY: read-only");
    is_int(store_health_classify(SQLITE_IOERR, EROFS, fd, path), STORE_FAULT_READONLY, "EROFS: read-only");
    is_int(store_health_classify(SQLITE_IOERR, EIO, fd, path), STORE_FAULT_IO, "EIO: I/O error");
    is_int(store_health_classify(SQLITE_TOOBIG, 0, fd, path), STORE_FAULT_NONE,
           "a flow too big for a row is the flow's fault, not the file's");
    is_int(store_health_classify(SQLITE_CONSTRAINT, 0, fd, path), STORE_FAULT_NONE,
           "a constraint is the flow's fault");
    is_int(store_health_file_present(fd, path), 1, "the open file is present");
    unlink(path);
    is_int(store_health_file_present(fd, path), 0, "deleted: not present");
    is_int(store_health_classify(SQLITE_FULL, 0, fd, path), STORE_FAULT_DELETED,
           "a deleted file is said as deleted whatever the error");
    int fd2 = open(path, O_RDWR | O_CREAT, 0600); /* another file at the same name */
    is_int(store_health_file_present(fd, path), 0, "replaced by another file: not present");
    close(fd2);
    unlink(path);
    close(fd);
    rmdir(dir);
    is_str(store_fault_code(STORE_FAULT_READONLY), "read_only", "codes: read_only");
    is_str(store_fault_code(STORE_FAULT_IO), "io_error", "codes: io_error");
    is_str(store_fault_code(STORE_FAULT_NONE), "", "codes: none is empty");
}

static struct flow *flow_of(uint64_t id, size_t body)
{
    struct flow *f = flow_new(id, 1, body + 1);
    char *b = calloc(1, body + 1);
    if (f && b)
        flow_capture_add(&f->resp_body, b, body);
    free(b);
    return f;
}

static void test_hold(void)
{
    struct store_hold h;
    if (store_hold_init(&h) < 0) {
        ok(0, "store_hold_init");
        return;
    }
    struct flow *fl[STORE_HOLD_FLOWS + 10];
    for (size_t i = 0; i < STORE_HOLD_FLOWS + 10; i++)
        fl[i] = flow_of(i + 1, 10);
    is_int((long long)store_hold_take(&h, fl, STORE_HOLD_FLOWS + 10), STORE_HOLD_FLOWS,
           "the hold takes at most STORE_HOLD_FLOWS flows");
    ok(fl[0] == NULL && fl[STORE_HOLD_FLOWS - 1] == NULL && fl[STORE_HOLD_FLOWS] != NULL,
       "the oldest are taken, the rest stay the caller's");
    for (size_t i = STORE_HOLD_FLOWS; i < STORE_HOLD_FLOWS + 10; i++)
        flow_free(fl[i]);
    struct flow *out[STORE_HOLD_FLOWS];
    is_int((long long)store_hold_release(&h, out), STORE_HOLD_FLOWS, "release gives them all back");
    ok(out[0]->id == 1 && out[STORE_HOLD_FLOWS - 1]->id == STORE_HOLD_FLOWS, "oldest first");
    is_int((long long)h.n, 0, "and the hold is empty");
    for (size_t i = 0; i < STORE_HOLD_FLOWS; i++)
        flow_free(out[i]);

    /* bytes: 4 MiB bodies, at most STORE_HOLD_BYTES in all */
    struct flow *big[5];
    for (int i = 0; i < 5; i++)
        big[i] = flow_of(100 + i, 4u << 20);
    size_t took = store_hold_take(&h, big, 5);
    is_int((long long)took, 3, "three 4 MiB flows fit in 16 MiB, the fourth and fifth do not");
    ok(h.bytes <= STORE_HOLD_BYTES, "the bytes held stay under the bound (%zu)", h.bytes);
    flow_free(big[3]);
    flow_free(big[4]);

    size_t freed;
    is_int((long long)store_hold_fit(&h, UINT64_MAX, &freed), 0, "with room for all, nothing is dropped");
    is_int((long long)store_hold_fit(&h, (9u << 20) + STORE_HOLD_MARGIN, &freed), 1,
           "with room for two of three, one is dropped");
    ok(h.n == 2 && h.flows[1]->id == 101 && freed >= (4u << 20), "the newest one (%zu left)", h.n);
    is_int((long long)store_hold_destroy(&h), 2, "destroy frees the two left");
    ok(store_hold_space("/") != UINT64_MAX, "the free space of / can be told");
    is_int(store_hold_space("/nonexistent/dir/x") == UINT64_MAX, 1, "an unknown path says UINT64_MAX");
}

int main(void)
{
    test_hold();
    test_said_once_a_minute();
    test_side_file();
    test_classify();
    return done();
}
