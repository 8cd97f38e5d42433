"""Compares two trailsight state directories table by table, row by row.

    python scale/compare_states.py STATE_A STATE_B

Checks: the same days with the same event counts in manifest.json; for every day the `calls`
and `detail` tables have the same Parquet schema (column names, physical and logical types)
and the same rows (sorted, every column); the eventID fingerprint files are byte-identical.
Exits 1 with the first differences listed when anything differs, or when a day is kept in
several pieces (only a day over the store's compaction limit is).
"""

import json
import sys

import pyarrow.parquet as pq


def manifest(state):
    with open(state + "/manifest.json") as f:
        return json.load(f)


def parquet_schema(path):
    """(name, physical type, logical type, repetition) per column: what a reader sees."""
    s = pq.ParquetFile(path).schema
    return [
        (c.name, c.physical_type, str(c.logical_type), c.max_definition_level)
        for c in (s.column(i) for i in range(len(s)))
    ]


def rows(path):
    t = pq.ParquetFile(path).read()
    cols = [t.column(i).to_pylist() for i in range(t.num_columns)]
    out = list(zip(*cols)) if cols else []
    # None sorts before any value, as Rust's Option does.
    return sorted(out, key=lambda r: tuple((v is not None, v if v is not None else 0) for v in r)), t.schema


def main(a, b):
    ma, mb = manifest(a), manifest(b)
    problems = []
    for m, name in ((ma, a), (mb, b)):
        if m.get("format") != "trailsight-rollups" or m.get("schema_version") != 1:
            problems.append("%s: not a schema-1 trailsight state" % name)
    if sorted(ma["days"]) != sorted(mb["days"]):
        problems.append("days differ: %s vs %s" % (sorted(ma["days"]), sorted(mb["days"])))
    n_rows = {"calls": 0, "detail": 0}
    for day in sorted(set(ma["days"]) & set(mb["days"])):
        da, db = ma["days"][day], mb["days"][day]
        # A day kept in several pieces (store.rs, days over COMPACT_EVENTS) has no one file to
        # compare byte for byte; the states compared here are small enough to be one piece.
        split = [n for n, d in ((a, da), (b, db)) if d.get("parts")]
        if split:
            problems.append("%s: kept in pieces in %s; compare states whose days are one piece" % (day, ", ".join(split)))
            continue
        if da["events"] != db["events"]:
            problems.append("%s: events %d vs %d" % (day, da["events"], db["events"]))
        for table in ("calls", "detail"):
            pa_, pb_ = a + "/" + da[table], b + "/" + db[table]
            sa, sb = parquet_schema(pa_), parquet_schema(pb_)
            if sa != sb:
                problems.append("%s %s: Parquet schema differs:\n  %s\n  %s" % (day, table, sa, sb))
            (ra, ta), (rb, tb) = rows(pa_), rows(pb_)
            if ta.remove_metadata() != tb.remove_metadata():
                problems.append("%s %s: Arrow schema differs:\n  %s\n  %s" % (day, table, ta.to_string(show_schema_metadata=False), tb.to_string(show_schema_metadata=False)))
            if ra != rb:
                only_a = [r for r in ra if r not in set(rb)][:3]
                only_b = [r for r in rb if r not in set(ra)][:3]
                problems.append(
                    "%s %s: %d vs %d rows; only in A %s; only in B %s"
                    % (day, table, len(ra), len(rb), only_a, only_b)
                )
            n_rows[table] += len(ra)
        with open(a + "/" + da["ids"], "rb") as fa, open(b + "/" + db["ids"], "rb") as fb:
            if fa.read() != fb.read():
                problems.append("%s: eventID fingerprint files differ" % day)
    if problems:
        print("\n".join(problems[:20]))
        print("DIFFERENT: %d problems" % len(problems))
        return 1
    print(
        "identical: %d days, %d calls rows, %d detail rows, %d events, schemas and eventID sets equal"
        % (len(ma["days"]), n_rows["calls"], n_rows["detail"], sum(d["events"] for d in ma["days"].values()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
