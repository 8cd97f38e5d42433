"""Build trailsight rollups on Apache Spark, equal row for row to `trailsight ingest`.

    spark-submit --py-files scale/spark/cloudtrail_records.py scale/spark/trailsight_rollup.py \\
        --input s3a://my-trail-bucket/AWSLogs/ --state s3a://my-bucket/trailsight-state \\
        [--since 2026-01-01] [--until 2026-02-01] [--partitions N]

Reads CloudTrail log files (S3 delivery trees of `{"Records":[...]}` gzip files, organization
trails, bare arrays, JSON Lines, LookupEvents output), keeps management events by the same rule
as trailsight, deduplicates them by eventID within their UTC day, and writes a new state
directory in trailsight's layout (rollups schema version 1):

    manifest.json
    rollups/calls/day=YYYY-MM-DD/g000001.parquet
    rollups/detail/day=YYYY-MM-DD/g000001.parquet
    rollups/ids/day=YYYY-MM-DD/g000001.bin      eventID fingerprints, so a later
                                                `trailsight ingest --state` on top dedups
    spark-summary.json                          the counts `trailsight ingest --json` prints,
                                                plus out_of_range: management records outside
                                                --since/--until (not counted)

`trailsight baseline/detect --state OUT` then work unchanged. Records are parsed in Python by
`cloudtrail_records.py` (a line-by-line port of the Rust reader) and aggregated with Spark SQL;
each UTC day's three files are written by one task with pyarrow, because trailsight's tables
use unsigned 32-bit counts, which Spark's own Parquet writer cannot produce.

Bad files and records are counted and listed in the summary, never fatal. The state written is
new: OUT must not already hold a manifest (ingest further files on top with `trailsight ingest`).
"""

import argparse
import datetime
import json
import os
import sys
import time
from itertools import groupby

SCHEMA_VERSION = 1
FORMAT = "trailsight-rollups"
IDS_MAGIC = b"TSIDS001"
DETAIL_BUCKET_SECS = 300
TOOL_VERSION = "spark-job-1"
MAX_LISTED_PROBLEMS = 1000
# The driver reads trailsight's classification tables from the repository this job sits in
# (the executors get them from the driver), unless --classification names another copy.
CLASSIFICATION_TOML = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "models", "classification.toml")


# ---------------------------------------------------------------------------------------------
# Output file system: local paths, file://, s3://, s3a:// (pyarrow.fs on driver and executors)


def out_fs(uri):
    """(pyarrow FileSystem, base path) for the state location."""
    import pyarrow.fs as pafs

    if uri.startswith("s3a://") or uri.startswith("s3n://"):
        uri = "s3://" + uri.split("://", 1)[1]
    if "://" not in uri:
        return pafs.LocalFileSystem(), os.path.abspath(uri)
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path


def write_bytes_atomic(fs, path, data):
    """tmp + rename (a plain PUT on object stores, which is atomic there too)."""
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with fs.open_output_stream(tmp) as f:
        f.write(data)
    fs.move(tmp, path)


def day_name(day):
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()


def rel(table, day, ext):
    return "rollups/%s/day=%s/g%06d.%s" % (table, day_name(day), 1, ext)


# ---------------------------------------------------------------------------------------------
# Table schemas: exactly what src/rollup/table.rs writes through polars (which stores its UTC
# datetimes as timestamp[ms] without a zone in Parquet and strings as Arrow string views)


def calls_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("account", pa.string_view()),
            ("region", pa.string_view()),
            ("event_source", pa.string_view()),
            ("event_name", pa.string_view()),
            ("read_only", pa.bool_()),
            ("minute", pa.timestamp("ms")),
            ("calls", pa.uint32()),
            ("errors", pa.uint32()),
        ]
    )


def detail_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("account", pa.string_view()),
            ("region", pa.string_view()),
            ("event_source", pa.string_view()),
            ("event_name", pa.string_view()),
            ("read_only", pa.bool_()),
            ("bucket", pa.timestamp("ms")),
            ("principal", pa.string_view()),
            ("principal_type", pa.string_view()),
            ("user_agent", pa.string_view()),
            ("source_ip", pa.string_view()),
            ("error_code", pa.string_view()),
            ("calls", pa.uint32()),
            ("example_event_id", pa.string_view()),
            ("session_arn", pa.string_view()),
            ("access_key_id", pa.string_view()),
        ]
    )


def _sort_key_str(s):
    # Rust sorts Strings by bytes; None (Option) sorts first.
    return (0, b"") if s is None else (1, s.encode("utf-8"))


def write_table(fs, path, schema, rows, sort_cols):
    """Writes rows (tuples in schema order, times in epoch seconds) sorted as table.rs does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def key(r):
        return tuple(
            _sort_key_str(r[i]) if isinstance(r[i], str) or r[i] is None else r[i] for i in sort_cols
        )

    rows.sort(key=key)
    cols = []
    for i, f in enumerate(schema):
        vals = [r[i] for r in rows]
        if pa.types.is_timestamp(f.type):
            vals = [v * 1000 for v in vals]
        cols.append(pa.array(vals, type=f.type))
    table = pa.Table.from_arrays(cols, schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    write_bytes_atomic(fs, path, sink.getvalue().to_pybytes())


def write_ids(fs, path, fps):
    """The day's sorted eventID fingerprints, store.rs layout: magic, u64 count, u128 LE each."""
    fps.sort()
    buf = bytearray(IDS_MAGIC)
    buf += len(fps).to_bytes(8, "little")
    for fp in fps:
        buf += fp.to_bytes(16, "little")
    write_bytes_atomic(fs, path, bytes(buf))


# ---------------------------------------------------------------------------------------------
# Spark


def parse_time_arg(s):
    """YYYY-MM-DD or RFC 3339, UTC, as epoch seconds (as trailsight's --from/--to)."""
    import cloudtrail_records as cr

    if len(s) == 10:
        s += "T00:00:00Z"
    t = cr.parse_event_time(s)
    if t is None:
        raise argparse.ArgumentTypeError("not a date or RFC 3339 time: %r" % s)
    return t


def list_local(roots):
    """Files under local paths, as trailsight's discovery walks them (named files always read)."""
    import cloudtrail_records as cr

    out = []
    for r in roots:
        if os.path.isfile(r):
            out.append(os.path.abspath(r))
            continue
        for d, _, names in os.walk(r, followlinks=True):
            out.extend(p for p in (os.path.join(d, n) for n in names) if cr.looks_like_input(p))
    return sorted(set(out))


def read_local(path):
    with open(path, "rb") as f:
        return path, f.read()


def file_rows(path_and_bytes, max_file_bytes, since, until, tables):
    """flatMap: one input file -> ('E', event...) rows and one ('F', counts...) row."""
    import cloudtrail_records as cr

    cr.use_classification(tables)  # executors have the module, not models/classification.toml
    path, data = path_and_bytes
    if "://" in path and not cr.looks_like_input(path):
        return []  # a walked object-store file that is not a log (local ones are filtered when listed)
    # Hadoop paths carry the scheme; the problems name the file as given.
    res = cr.read_file(path, bytes(data), max_file_bytes)
    out = []
    out_of_range = 0
    # Where each event was read: trailsight reads files in (delivery date, path) order and a
    # file's records in order, and the first copy of a duplicated eventID is the one counted.
    date = cr.delivery_date(path)
    for n, e in res.events:
        if (since is not None and e[0] < since) or (until is not None and e[0] >= until):
            out_of_range += 1
            continue
        out.append(("E", date, path, n) + e)
    stats = {
        "files": 1,
        "input_bytes": len(data),
        "records": res.records,
        "skipped_data": res.skipped_data,
        "skipped_insight": res.skipped_insight,
        "skipped_network_activity": res.skipped_network_activity,
        "bad_files": int(res.bad_file),
        "bad_records": res.bad_records,
        "out_of_range": out_of_range,
        "problems": res.problems,
    }
    out.append(("F", json.dumps(stats)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Build trailsight rollups from CloudTrail logs on Spark.",
        epilog="Example: spark-submit --py-files cloudtrail_records.py trailsight_rollup.py "
        "--input s3a://trail-bucket/AWSLogs/ --state s3a://bucket/trailsight-state",
    )
    ap.add_argument("--input", action="append", required=True,
                    help="CloudTrail files or folders (walked recursively); repeatable; s3a:// or local")
    ap.add_argument("--state", required=True, help="new state directory to write (s3a:// or local)")
    ap.add_argument("--since", type=parse_time_arg, help="keep events at or after this time (UTC)")
    ap.add_argument("--until", type=parse_time_arg, help="keep events before this time (UTC)")
    ap.add_argument("--partitions", type=int, default=0,
                    help="input partitions (default: Spark's default parallelism x 4)")
    ap.add_argument("--max-file-mib", type=int, default=1024,
                    help="largest decompressed file read (gzip-bomb guard), as trailsight ingest")
    ap.add_argument("--classification", default=CLASSIFICATION_TOML,
                    help="trailsight's models/classification.toml (default: the one of the "
                    "repository holding this job); read on the driver, sent to the executors")
    ap.add_argument("--split-mib", type=int, default=16,
                    help="compressed MiB of log files per Spark task (object-store inputs)")
    args = ap.parse_args(argv)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    t0 = time.time()
    fs, base = out_fs(args.state)
    if fs.get_file_info(base + "/manifest.json").type.name != "NotFound":
        print("error: %s already holds a trailsight state (manifest.json); write to a new "
              "directory, or add files on top with `trailsight ingest`" % args.state, file=sys.stderr)
        return 2

    builder = SparkSession.builder.appName("trailsight-rollup")
    # CloudTrail files are small (KiB to a few MiB): without this, Spark packs 128 MiB of them
    # into one task and a day of logs is read by one core.
    builder = builder.config("spark.files.maxPartitionBytes", str(args.split_mib << 20))
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc._jsc.hadoopConfiguration().set("mapreduce.input.fileinputformat.input.dir.recursive", "true")
    parts = args.partitions or sc.defaultParallelism * 4
    if spark.conf.get("spark.sql.shuffle.partitions") == "200":
        # Spark's default of 200 shuffle partitions only costs task overhead on small inputs;
        # a cluster job sets its own.
        spark.conf.set("spark.sql.shuffle.partitions", str(parts))
    max_file_bytes = args.max_file_mib << 20
    since, until = args.since, args.until
    import cloudtrail_records as cr

    tables = cr.load_classification(args.classification)

    local = [p for p in args.input if "://" not in p]
    remote = [p for p in args.input if "://" in p]
    rdds = []
    if local:
        # Local (or shared-mount) paths: listed here, read by the tasks. Hadoop's local file
        # system lists tens of thousands of small files far more slowly than os.walk.
        paths = list_local(local)
        if paths:
            rdds.append(sc.parallelize(paths, min(parts, len(paths))).map(read_local))
    if remote:
        # Object stores (s3a://, gs://, abfss://, hdfs://): Hadoop lists (S3A flat listings)
        # and reads; small files are combined into splits of --split-mib.
        rdds.append(sc.binaryFiles(",".join(remote), minPartitions=parts))
    if not rdds:
        print("error: no input files under %s" % ", ".join(args.input), file=sys.stderr)
        return 2
    raw = rdds[0] if len(rdds) == 1 else sc.union(rdds)
    rows = raw.flatMap(lambda pb: file_rows(pb, max_file_bytes, since, until, tables)).cache()

    # Per-file counts and problems: small, one row per file.
    stats = rows.filter(lambda r: r[0] == "F").map(lambda r: json.loads(r[1])).collect()

    ev_schema = T.StructType(
        [
            T.StructField("src_date", T.StringType(), False),
            T.StructField("src_path", T.StringType(), False),
            T.StructField("src_n", T.LongType(), False),
            T.StructField("time", T.LongType(), False),
            T.StructField("event_id", T.StringType(), False),
            T.StructField("event_source", T.StringType(), False),
            T.StructField("event_name", T.StringType(), False),
            T.StructField("read_only", T.BooleanType(), False),
            T.StructField("error_code", T.StringType(), True),
            T.StructField("principal", T.StringType(), False),
            T.StructField("principal_type", T.StringType(), False),
            T.StructField("session_arn", T.StringType(), True),
            T.StructField("access_key_id", T.StringType(), True),
            T.StructField("source_ip", T.StringType(), False),
            T.StructField("user_agent", T.StringType(), False),
            T.StructField("account", T.StringType(), False),
            T.StructField("region", T.StringType(), False),
        ]
    )
    events = spark.createDataFrame(rows.filter(lambda r: r[0] == "E").map(lambda r: r[1:]), ev_schema)
    events = events.withColumn("day", F.floor(F.col("time") / 86400).cast("long"))

    # Deduplicate by eventID within the UTC day, keeping the first copy in trailsight's reading
    # order (delivery date, path, record number). CloudTrail's redeliveries are identical, but
    # hand-made exports reuse ids ("1") for different records, and then which one counts matters.
    others = [c for c in ev_schema.fieldNames() if c != "event_id"]
    uniq = (
        events.groupBy("day", "event_id")
        .agg(F.min(F.struct(*others)).alias("e"), F.count(F.lit(1)).alias("n"))
        .select("day", "event_id", "n", "e.*")
        .cache()
    )
    key = ["account", "region", "event_source", "event_name", "read_only"]
    calls = (
        uniq.withColumn("minute", F.floor(F.col("time") / 60) * 60)
        .groupBy("day", *key, "minute")
        .agg(
            F.count(F.lit(1)).alias("calls"),
            F.sum(F.when(F.col("error_code").isNotNull(), 1).otherwise(0)).alias("errors"),
        )
    )
    # The example of a detail row is its smallest eventID (agg.rs), with that event's fields.
    dkey = ["bucket", "principal", "principal_type", "user_agent", "source_ip", "error_code"]
    detail = (
        uniq.withColumn("bucket", F.floor(F.col("time") / DETAIL_BUCKET_SECS) * DETAIL_BUCKET_SECS)
        .groupBy("day", *key, *dkey)
        .agg(
            F.count(F.lit(1)).alias("calls"),
            F.min(F.struct("event_id", "session_arn", "access_key_id")).alias("x"),
        )
        .select("day", *key, *dkey, "calls",
                F.col("x.event_id").alias("example_event_id"),
                F.col("x.session_arn").alias("session_arn"),
                F.col("x.access_key_id").alias("access_key_id"))
    )
    ids = uniq.select("day", "event_id")

    days = sorted(r[0] for r in uniq.select("day").distinct().collect())
    nparts = max(1, min(len(days), parts))

    def by_day(df):
        # One task writes a whole day; rows arrive grouped by day.
        return df.repartition(nparts, "day").sortWithinPartitions("day").rdd.map(tuple)

    state = args.state

    def write_calls(it):
        fs, base = out_fs(state)
        out = []
        for day, group in groupby(it, key=lambda r: r[0]):
            rows = [r[1:] for r in group]
            write_table(fs, base + "/" + rel("calls", day, "parquet"), calls_schema(), rows, range(6))
            out.append((day, sum(r[6] for r in rows)))
        return out

    def write_detail(it):
        fs, base = out_fs(state)
        out = []
        for day, group in groupby(it, key=lambda r: r[0]):
            rows = [r[1:] for r in group]
            write_table(fs, base + "/" + rel("detail", day, "parquet"), detail_schema(), rows, range(11))
            out.append((day, len(rows)))
        return out

    def write_id_sets(it):
        import cloudtrail_records as cr

        fs, base = out_fs(state)
        out = []
        for day, group in groupby(it, key=lambda r: r[0]):
            fps = [cr.fingerprint(r[1]) for r in group]
            write_ids(fs, base + "/" + rel("ids", day, "bin"), fps)
            out.append((day, len(fps)))
        return out

    events_per_day = dict(by_day(calls.select("day", *key, "minute", "calls", "errors")).mapPartitions(write_calls).collect())
    by_day(detail).mapPartitions(write_detail).collect()
    ids_per_day = dict(by_day(ids).mapPartitions(write_id_sets).collect())
    for d in days:
        assert events_per_day.get(d) == ids_per_day.get(d), "day %s: calls and ids disagree" % day_name(d)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    manifest = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "tool_version": TOOL_VERSION,
        "updated": now,
        "days": {
            day_name(d): {
                "generation": 1,
                "calls": rel("calls", d, "parquet"),
                "detail": rel("detail", d, "parquet"),
                "ids": rel("ids", d, "bin"),
                "events": int(events_per_day[d]),
            }
            for d in days
        },
    }

    total = sum(events_per_day.values())
    seen = uniq.agg(F.sum("n"), F.min("time"), F.max("time")).collect()[0]
    accounts = sorted(r[0] for r in uniq.select("account").distinct().collect())
    regions = sorted(r[0] for r in uniq.select("region").distinct().collect())
    problems = sorted(
        (p for s in stats for p in s["problems"]), key=lambda p: (p[0], p[1] is not None, p[1] or 0, p[2])
    )
    fmt = lambda t: None if t is None else datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    s = lambda k: sum(x[k] for x in stats)
    summary = {
        "files": s("files"),
        "input_bytes": s("input_bytes"),
        "records": s("records"),
        "management_events": int(total),
        "skipped_non_management": s("skipped_data") + s("skipped_insight") + s("skipped_network_activity"),
        "skipped": {
            "data": s("skipped_data"),
            "insight": s("skipped_insight"),
            "network_activity": s("skipped_network_activity"),
        },
        "duplicates": int(seen[0] or 0) - int(total),
        "bad_files": s("bad_files"),
        "bad_records": s("bad_records"),
        "out_of_range": s("out_of_range"),
        "first_event": fmt(seen[1]),
        "last_event": fmt(seen[2]),
        "accounts": accounts,
        "regions": regions,
        "days_updated": [day_name(d) for d in days],
        "problems": [{"path": p[0], "record": p[1], "reason": p[2]} for p in problems[:MAX_LISTED_PROBLEMS]],
        "problems_not_listed": max(0, len(problems) - MAX_LISTED_PROBLEMS),
        "seconds": time.time() - t0,
    }
    # The manifest last: until it exists, the state is not there (store.rs commit order).
    write_bytes_atomic(fs, base + "/spark-summary.json", json.dumps(summary, indent=2).encode())
    write_bytes_atomic(fs, base + "/manifest.json", json.dumps(manifest, indent=2).encode())
    print(json.dumps({k: v for k, v in summary.items() if k != "problems"}))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
