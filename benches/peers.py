#!/usr/bin/env python3
"""Ingest speed of trailsight against its peers on one simulated trail, all in one run so the
ratios hold on a noisy machine.

Each contender computes the same thing: unique management events (deduplicated by eventID)
counted per (eventSource, eventName, hour).
  zcat         single-threaded decompression of every file: the floor for reading the bytes
  python       a plain json + gzip loop, one process
  duckdb       read_json over the tree with an explicit schema (only the needed fields)
  trailsight   `trailsight ingest` into a fresh state (full rollups, Parquet commit)
Peak memory (max RSS) comes from getrusage of each child.

Usage: benches/peers.py TRAIL_DIR TRAILSIGHT_BIN [--json OUT]
"""
import collections
import glob
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

PY_LOOP = r"""
import collections, glob, gzip, json, sys
seen = set(); counts = collections.Counter(); n = 0
for f in glob.glob(sys.argv[1] + '/**/*.json.gz', recursive=True):
    with gzip.open(f) as fh:
        recs = json.load(fh)['Records']
    for r in recs:
        n += 1
        cat = r.get('eventCategory')
        if cat is not None and cat != 'Management':
            continue
        if cat is None and r.get('managementEvent') is False:
            continue
        key = (r['eventTime'][:10], r['eventID'])
        if key in seen:
            continue
        seen.add(key)
        counts[(r['eventSource'], r['eventName'], r['eventTime'][:13])] += 1
print(sum(counts.values()))
"""

DUCK = r"""
import duckdb, sys
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute("SET enable_progress_bar = false")
q = f'''
WITH recs AS (
  SELECT unnest(Records) AS r FROM read_json('{sys.argv[1]}/**/*.json.gz',
    columns={{'Records': 'STRUCT(eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR,
              eventCategory VARCHAR, managementEvent BOOLEAN, eventID VARCHAR)[]'}},
    format='unstructured', maximum_object_size=67108864)
), mgmt AS (
  SELECT DISTINCT r.eventID AS id, substr(r.eventTime, 1, 10) AS day, r.eventSource AS src,
         r.eventName AS name, substr(r.eventTime, 1, 13) AS hour
  FROM recs WHERE coalesce(r.eventCategory, 'Management') = 'Management'
)
SELECT sum(c) FROM (SELECT src, name, hour, count(*) AS c FROM mgmt GROUP BY ALL)
'''
print(con.execute(q).fetchone()[0])
"""


def child(cmd, **kw):
    """Runs a child; returns (seconds, max RSS MiB of that child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, **kw).stdout
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of RUSAGE_CHILDREN is the max over all children so far: report it only when it grew.
    return dt, (after / 1024 if after > before else float("nan")), out


def main():
    trail, binary = sys.argv[1], sys.argv[2]
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    files = glob.glob(trail + "/**/*.json.gz", recursive=True)
    comp = sum(os.path.getsize(f) for f in files)
    labels = json.load(open(os.path.join(trail, "labels.json")))
    events = labels["summary"]["management_events"]
    records = labels["summary"]["records_written"]
    rows = []

    # Sizes: uncompressed bytes via zcat | wc -c is itself a zcat run; time it as the floor.
    zc = "find '%s' -name '*.json.gz' -print0 | xargs -0 cat | zcat | wc -c" % trail
    dt, rss, out = child(["bash", "-c", zc])
    raw = int(out.strip())
    rows.append(("zcat (1 thread, floor)", dt, rss, None))

    state = tempfile.mkdtemp(prefix="ts-bench-")
    try:
        dt, rss, out = child([binary, "ingest", "--quiet", "--json", "--state", state,
                              os.path.join(trail, "AWSLogs")])
        got = json.loads(out)["management_events"]
        assert got == events, (got, events)
        rows.append(("trailsight ingest", dt, rss, got))
    finally:
        shutil.rmtree(state, ignore_errors=True)

    dt, rss, out = child([sys.executable, "-c", PY_LOOP, trail])
    assert int(out) == events, (int(out), events)
    rows.append(("python json+gzip loop", dt, rss, int(out)))

    try:
        dt, rss, out = child([sys.executable, "-c", DUCK, trail])
        assert int(out) == events, (int(out), events)
        rows.append(("duckdb read_json", dt, rss, int(out)))
    except subprocess.CalledProcessError as e:
        rows.append(("duckdb read_json (failed)", float("nan"), float("nan"), None))
        print("duckdb failed:", e, file=sys.stderr)

    ts = rows[1][1]
    peers = [r[1] for r in rows[2:] if r[1] == r[1]]
    print(f"trail: {len(files)} files, {comp/2**20:.0f} MiB gzip, {raw/2**30:.2f} GiB raw, "
          f"{records} records, {events} unique management events")
    print(f"{'contender':28} {'seconds':>8} {'events/s':>12} {'MiB/s raw':>10} {'peak MiB':>9} {'vs trailsight':>14}")
    for name, dt, rss, _ in rows:
        eps = events / dt if dt == dt else float("nan")
        print(f"{name:28} {dt:8.2f} {eps:12,.0f} {raw/2**20/dt:10.0f} {rss:9.0f} {dt/ts:13.2f}x")
    if peers:
        print(f"trailsight vs fastest peer: {min(peers)/ts:.1f}x the events/s; vs zcat: {rows[0][1]/ts:.2f}x")
    if out_json:
        json.dump({"files": len(files), "gzip_bytes": comp, "raw_bytes": raw, "events": events,
                   "rows": [{"name": n, "seconds": d, "peak_mib": r} for n, d, r, _ in rows]},
                  open(out_json, "w"), indent=2)


if __name__ == "__main__":
    main()
