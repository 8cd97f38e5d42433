"""Compares `trailsight ingest --json` with the Spark job's spark-summary.json.

    python scale/check_summaries.py RUST.json SPARK.json [key=value ...]

Every count must be equal, and the problems must name the same files and record numbers (the
reason texts differ: serde's and Python's messages). key=value pairs are expected values.
"""

import json
import os
import sys

KEYS = ("files", "records", "management_events", "skipped_non_management", "skipped", "duplicates",
        "bad_files", "bad_records", "first_event", "last_event", "accounts", "regions", "days_updated")


def where(s):
    return sorted((os.path.basename(p["path"]), p["record"] or 0) for p in s["problems"])


def main(a, b, *expect):
    ra, sb = json.load(open(a)), json.load(open(b))
    bad = ["%s: trailsight %r, spark %r" % (k, ra[k], sb[k]) for k in KEYS if ra[k] != sb[k]]
    if where(ra) != where(sb):
        bad.append("problems differ: %s vs %s" % (where(ra), where(sb)))
    for kv in expect:
        k, v = kv.split("=")
        if str(ra[k]) != v:
            bad.append("%s: expected %s, got %r" % (k, v, ra[k]))
    if bad:
        print("\n".join(bad))
        return 1
    print("summaries equal: " + ", ".join("%s=%s" % (k, ra[k]) for k in KEYS[:8]))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
