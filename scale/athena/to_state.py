"""Turns the three Athena UNLOADs of rollups.sql into a trailsight state directory.

    python scale/athena/to_state.py UNLOAD_DIR STATE_DIR

UNLOAD_DIR holds calls/, detail/ and ids/, each Parquet partitioned by day=YYYY-MM-DD (copy
them from S3 first, e.g. `aws s3 sync s3://bucket/trailsight-unload/ UNLOAD_DIR`). The state is
written exactly as trailsight_rollup.py writes it: same column types (unsigned counts,
millisecond timestamps), row order, eventID fingerprint files and manifest.json.
"""

import datetime
import json
import os
import sys
from collections import defaultdict

import pyarrow.dataset as ds

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spark"))
import cloudtrail_records as cr  # noqa: E402
import trailsight_rollup as tr  # noqa: E402

CALLS = ["account", "region", "event_source", "event_name", "read_only", "minute", "calls", "errors"]
DETAIL = ["account", "region", "event_source", "event_name", "read_only", "bucket", "principal",
          "principal_type", "user_agent", "source_ip", "error_code", "calls", "example_event_id",
          "session_arn", "access_key_id"]


def by_day(path, cols):
    t = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    data = [t.column(c).to_pylist() for c in cols]
    days = [str(d) for d in t.column("day").to_pylist()]
    out = defaultdict(list)
    for i, d in enumerate(days):
        out[d].append(tuple(col[i] for col in data))
    return out


def day_number(name):
    return (datetime.date.fromisoformat(name) - datetime.date(1970, 1, 1)).days


def main(unload, state):
    fs, base = tr.out_fs(state)
    if os.path.exists(os.path.join(state, "manifest.json")):
        print("error: %s already holds a trailsight state" % state, file=sys.stderr)
        return 2
    calls = by_day(os.path.join(unload, "calls"), CALLS)
    detail = by_day(os.path.join(unload, "detail"), DETAIL)
    ids = by_day(os.path.join(unload, "ids"), ["event_id"])
    days = {}
    for name in sorted(ids):
        d = day_number(name)
        rows = calls.get(name, [])
        tr.write_table(fs, base + "/" + tr.rel("calls", d, "parquet"), tr.calls_schema(), rows, range(6))
        tr.write_table(fs, base + "/" + tr.rel("detail", d, "parquet"), tr.detail_schema(),
                       detail.get(name, []), range(11))
        tr.write_ids(fs, base + "/" + tr.rel("ids", d, "bin"), [cr.fingerprint(r[0]) for r in ids[name]])
        events = sum(r[6] for r in rows)
        if events != len(ids[name]):
            print("error: %s: calls count %d events but ids %d" % (name, events, len(ids[name])), file=sys.stderr)
            return 1
        days[name] = {"generation": 1, "calls": tr.rel("calls", d, "parquet"),
                      "detail": tr.rel("detail", d, "parquet"), "ids": tr.rel("ids", d, "bin"),
                      "events": events}
    manifest = {
        "format": tr.FORMAT, "schema_version": tr.SCHEMA_VERSION, "tool_version": "athena-sql-1",
        "updated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days": days,
    }
    tr.write_bytes_atomic(fs, base + "/manifest.json", json.dumps(manifest, indent=2).encode())
    print("wrote %s: %d days, %d events" % (state, len(days), sum(d["events"] for d in days.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
