"""Executes rollups.sql on DuckDB over local CloudTrail files, as Athena would over S3.

    python scale/athena/run_duckdb.py TRAIL_DIR UNLOAD_DIR

Only the table differs: `cloudtrail_logs` is a DuckDB table loaded by read_json from the
`AWSLogs/**/*.json.gz` files with the columns of cloudtrail_table.sql (lower-case names,
readonly and managementevent as strings, useridentity as a struct). Five Trino functions DuckDB
lacks or names differently are defined as macros; the statements of rollups.sql run unchanged,
each UNLOAD's SELECT through COPY ... TO UNLOAD_DIR/<table> (FORMAT PARQUET, PARTITION_BY (day)).
"""

import os
import re
import sys

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))

SHIMS = """
SET TimeZone = 'UTC';
SET preserve_insertion_order = false;
CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ);
CREATE OR REPLACE MACRO to_unixtime(ts) AS epoch(ts);
CREATE OR REPLACE MACRO from_unixtime(x) AS to_timestamp(x);
CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p);
CREATE OR REPLACE MACRO mod(a, b) AS a % b;
"""


def table_view(trail):
    files = os.path.join(trail, "AWSLogs", "**", "*.json.gz")
    s = lambda path: "r->>'%s'" % path  # noqa: E731
    ui = lambda k: "r->'userIdentity'->>'%s'" % k  # noqa: E731
    return f"""
CREATE OR REPLACE TABLE cloudtrail_logs AS
SELECT
    {s('eventVersion')} AS eventversion,
    {{'type': {ui('type')}, 'principalid': {ui('principalId')}, 'arn': {ui('arn')},
      'accountid': {ui('accountId')}, 'invokedby': {ui('invokedBy')},
      'accesskeyid': {ui('accessKeyId')}, 'username': {ui('userName')},
      'sessioncontext': {{'sessionissuer': {{'arn': r->'userIdentity'->'sessionContext'->'sessionIssuer'->>'arn'}}}}
    }} AS useridentity,
    {s('eventTime')} AS eventtime, {s('eventSource')} AS eventsource, {s('eventName')} AS eventname,
    {s('awsRegion')} AS awsregion, {s('sourceIPAddress')} AS sourceipaddress,
    {s('userAgent')} AS useragent, {s('errorCode')} AS errorcode, {s('eventID')} AS eventid,
    {s('readOnly')} AS readonly, {s('eventType')} AS eventtype,
    {s('recipientAccountId')} AS recipientaccountid, {s('managementEvent')} AS managementevent,
    {s('eventCategory')} AS eventcategory
FROM (
    SELECT unnest(Records) AS r
    FROM read_json('{files}', columns = {{'Records': 'JSON[]'}}, maximum_object_size = 268435456)
);
"""


def statements(sql):
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def main(trail, out):
    os.makedirs(out, exist_ok=True)
    con = duckdb.connect()
    con.execute(SHIMS)
    con.execute(table_view(trail))
    sql = open(os.path.join(HERE, "rollups.sql")).read()
    unload = re.compile(r"^UNLOAD \((.*)\)\s*TO '[^']*/([a-z]+)/'\s*WITH \(.*\)$", re.S)
    for st in statements(sql):
        m = unload.match(st)
        if m:
            select, table = m.group(1), m.group(2)
            dest = os.path.join(out, table)
            con.execute(f"COPY ({select}) TO '{dest}' (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (day))")
            print("unloaded %s" % table)
        else:
            con.execute(st)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
