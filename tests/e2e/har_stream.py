#!/usr/bin/env python3
"""har_stream.py — clients of httpeek's viewer API for 62-har-stream.sh (stdlib only).

  grow SESSION N        copy the flows of a (stopped) session file, made by real traffic, into
                        ids up to N (each copy's stored JSON gets its own id), so that a big
                        session is built in seconds; the per-client counts are dropped for
                        httpeek to rebuild at its next start
  load PORT LAST        while a HAR export of the whole session runs (read slowly at first, so
                        that it is still in progress) beside a second one (every 20th flow, by
                        POST), time the viewer's list requests; read both to the end, then the
                        second again alone. Prints one JSON object: latencies (ms), whether the
                        export was still running after the timings, each export's bytes, sha256,
                        seconds, status
  hold PORT N           open N exports, read a little of each, try one more (its status), then
                        close them all mid-export. Prints JSON {statuses, extra_status}
"""
import hashlib
import http.client
import json
import sqlite3
import statistics
import sys
import threading
import time


def grow(path, n):
    d = sqlite3.connect(path)
    cols = [c[1] for c in d.execute("pragma table_info(flows)") if c[1] not in ("id", "summary", "detail", "seq")]
    ids = [r[0] for r in d.execute("select id from flows order by id")]
    k = len(ids)
    if ids != list(range(1, k + 1)):
        sys.exit("grow: expected flows 1..%d, got %r" % (k, ids[:10]))
    cl = ", ".join(cols)
    tc = ", ".join("t." + c for c in cols)
    # the stored summary starts with {"id":ID, — the copy's id replaces it; so does a whole
    # detail's (a detail stored without the summary's members has no id: copied as it is)
    d.execute(
        f"""WITH RECURSIVE seq(i) AS (SELECT {k + 1} UNION ALL SELECT i + 1 FROM seq WHERE i < {n})
        INSERT INTO flows(id, summary, detail, {cl})
        SELECT i, '{{"id":' || i || substr(t.summary, length('{{"id":' || t.id) + 1),
                  CASE WHEN substr(t.detail, 1, 6) = '{{"id":'
                       THEN '{{"id":' || i || substr(t.detail, length('{{"id":' || t.id) + 1)
                       ELSE t.detail END, {tc}
        FROM seq JOIN flows t ON t.id = ((i - 1) % {k}) + 1""")
    d.execute("DROP TABLE IF EXISTS client_stats")
    d.commit()
    print(d.execute("select count(*) from flows").fetchone()[0])


def export(port, state, slow_secs, body=None):
    """Read GET /api/har (POST with body) into state: bytes, sha256, seconds, status."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    if body is None:
        c.request("GET", "/api/har")
    else:
        c.request("POST", "/api/har", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    state["status"] = r.status
    h = hashlib.sha256()
    t0 = time.monotonic()
    slow_until = t0 + slow_secs
    while True:
        b = r.read(65536)
        if not b:
            break
        h.update(b)
        state["bytes"] = state.get("bytes", 0) + len(b)
        if time.monotonic() < slow_until:
            time.sleep(0.02)  # about 3 MB/s: the export stays in progress while we time the API
    state["secs"] = time.monotonic() - t0
    state["sha256"] = h.hexdigest()
    state["done"] = True


def timed_get(port, path):
    """Milliseconds GET path took (30000 when it got no answer in 30 s)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
    except TimeoutError:
        return 30000.0
    ms = (time.perf_counter() - t) * 1000
    c.close()
    if r.status != 200 or not body.startswith(b"["):
        raise SystemExit("GET %s: %d" % (path, r.status))
    return ms


def load(port, last):
    subset = json.dumps({"ids": list(range(1, last + 1, 20))})
    slow, fast, alone = {"bytes": 0}, {"bytes": 0}, {"bytes": 0}
    ts = [threading.Thread(target=export, args=(port, slow, 4.0)),
          threading.Thread(target=export, args=(port, fast, 0.0, subset))]
    for t in ts:
        t.start()
    time.sleep(0.5)  # both exports under way
    paths = {"first_page": "/api/flows?after=0&limit=2000",     # the viewer's first screen
             "page": "/api/flows?after=50000&limit=10000",      # one of its background pages
             "tail": "/api/flows?after=%d" % (last - 100)}      # what a live viewer asks
    ms = {k: [] for k in paths}
    for _ in range(10):
        for k, p in paths.items():
            ms[k].append(timed_get(port, p))
    running = not slow.get("done") and slow["bytes"] > 0
    for t in ts:
        t.join()
    export(port, alone, 0.0, subset)
    out = {"median_ms": {k: round(statistics.median(v), 2) for k, v in ms.items()},
           "max_ms": {k: round(max(v), 2) for k, v in ms.items()},
           "running_during_timings": running, "exports": [slow, fast, alone]}
    print(json.dumps(out))


def hold(port, n):
    conns, statuses = [], []
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/api/har")
        r = c.getresponse()
        statuses.append(r.status)
        r.read(100000)  # mid-export from here on
        conns.append((c, r))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/api/har")
    r = c.getresponse()
    extra = r.status
    if extra == 200:
        r.read(1000)
    conns.append((c, r))
    for c, r in conns:
        c.sock.close() if c.sock else None
        r.close()
        c.close()
    print(json.dumps({"statuses": statuses, "extra_status": extra}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "grow":
        grow(sys.argv[2], int(sys.argv[3]))
    elif cmd == "load":
        load(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "hold":
        hold(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
