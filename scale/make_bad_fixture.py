"""Writes a small folder of damaged CloudTrail input for the equivalence test.

    python scale/make_bad_fixture.py DIR

Every file mixes good records with bad ones, so both readers must count the bad and still keep
the good. Expected totals (asserted by the test for both trailsight and the Spark job):
files 7, records 25, management_events 15, bad_records 8, bad_files 2, skipped data 1,
duplicates 1.
"""

import gzip
import json
import os
import sys


def rec(i, **extra):
    r = {
        "eventVersion": "1.09",
        "eventTime": "2026-01-05T10:%02d:00Z" % i,
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.0.%d" % i,
        "userAgent": "aws-cli/2",
        "eventID": "fixture-%02d" % i,
        "readOnly": True,
        "managementEvent": True,
        "eventCategory": "Management",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/fixture"},
    }
    r.update(extra)
    return r


def main(out):
    d = os.path.join(out, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/05")
    os.makedirs(d, exist_ok=True)
    # 1. A truncated gzip: 30 records cut after two thirds of the compressed bytes (the records
    #    before the cut are read, the file is bad).
    doc = json.dumps({"Records": [rec(20 + i, eventID="trunc-%02d" % i) for i in range(30)]}).encode()
    gz = gzip.compress(doc)
    with open(os.path.join(d, "111122223333_CloudTrail_us-east-1_20260105T1000Z_trunc.json.gz"), "wb") as f:
        f.write(gz[: len(gz) * 2 // 3])
    # 2. A document with bad records among good ones: a readOnly that is no boolean, a bad
    #    eventTime, no eventSource, a non-object record, a data event, a redelivered duplicate,
    #    times before CloudTrail existed and far in the future.
    doc = {
        "Records": [
            rec(4),
            rec(5, readOnly="maybe"),
            rec(6, eventTime="yesterday"),
            rec(7, eventSource=""),
            42,
            rec(8, eventCategory="Data", eventName="GetObject", eventSource="s3.amazonaws.com"),
            rec(4),
            rec(9, readOnly="True", eventID=None),
            # Implausible times (ingest/mod.rs PlausibleTimes): before CloudTrail, far future.
            rec(20, eventTime="1970-01-01T00:00:00Z"),
            rec(21, eventTime="9999-12-31T23:59:59Z"),
        ]
    }
    with open(os.path.join(d, "111122223333_CloudTrail_us-east-1_20260105T1005Z_mixed.json.gz"), "wb") as f:
        f.write(gzip.compress(json.dumps(doc).encode()))
    # 3. JSON Lines with an invalid JSON line and a line without an object (bad records, not a
    #    bad file), plus a good record.
    lines = [json.dumps(rec(10)), '{"eventTime": "2026-01-05T10:11:00Z", "eventSource": ', "not json at all"]
    with open(os.path.join(out, "export.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    # 4. Named .gz but plain text (bad file), with one good record.
    with open(os.path.join(out, "plain.json.gz"), "w") as f:
        f.write(json.dumps({"Records": [rec(12)]}))
    # 5. Not CloudTrail at all: one JSON line without eventTime (a bad record).
    with open(os.path.join(out, "notes.json"), "w") as f:
        f.write('{"hello": "world"}\n')
    # 6. LookupEvents output: one wrapped record and one entry without CloudTrailEvent (bad).
    with open(os.path.join(out, "lookup-events.json"), "w") as f:
        json.dump({"Events": [{"EventId": "x", "CloudTrailEvent": json.dumps(rec(13))}, {"EventId": "y"}]}, f)
    # 7. A gzipped CloudWatch Logs export: lines prefixed with a timestamp.
    with open(os.path.join(out, "cloudwatch.jsonl.gz"), "wb") as f:
        f.write(gzip.compress(("2026-01-05T10:14:00.000Z " + json.dumps(rec(14)) + "\n").encode()))


if __name__ == "__main__":
    main(sys.argv[1])
