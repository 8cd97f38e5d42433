#!/usr/bin/env bash
# Peak memory of `trailsight ingest` on hostile and huge inputs (issue 18 item 2): one gzip
# bomb, ten at once, one 5 GiB legitimate file, and (with moto installed) sixteen bombs
# fetched in parallel from an S3 bucket. Prints one line per case: peak RSS and wall time
# from /usr/bin/time -v. Figures are recorded in benches/README.md ("Memory bounded by design").
#
#   benches/memory.sh [path/to/trailsight]     # default: target/release/trailsight
#
# Needs ~16 GB of free disk in $TMPDIR for the 5 GiB file and the bombs; takes ~10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/trailsight}")
work=$(mktemp -d "${TMPDIR:-/tmp}/trailsight-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT

measure() { # name, then the ingest arguments
    local name=$1
    shift
    rm -rf "$work/state"
    /usr/bin/time -v "$bin" ingest "$@" --state "$work/state" --allow-future --json \
        >"$work/out.json" 2>"$work/time.txt" || true
    tail -n 1 "$work/out.json" >"$work/summary.json" 2>/dev/null || true
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
    printf '%-44s peak %5s MiB  wall %s  %s\n' "$name" "$rss" "$wall" \
        "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); s=s.get("summary", s); print(f"records {s[\"records\"]}, events {s[\"management_events\"]}, bad files {s[\"bad_files\"]}")' "$work/summary.json" 2>/dev/null || echo "(no summary)")"
}

# A bomb: one record whose string holds 2 GiB of 'a' (12 MB gzip): read to the 1 GiB limit.
mkdir -p "$work/one" "$work/ten"
{ printf '{"Records":[{"a":"'; head -c 2147483648 /dev/zero | tr '\0' a; printf '"}]}'; } |
    gzip -1 >"$work/one/bomb.json.gz"
for i in $(seq 0 9); do cp "$work/one/bomb.json.gz" "$work/ten/bomb$i.json.gz"; done
measure "one bomb (2 GiB inflated, 1 GiB limit)" "$work/one"
measure "ten bombs in one folder" "$work/ten"
measure "ten bombs, --max-file-mib 4096" "$work/ten" --max-file-mib 4096

# A legitimate 5 GiB file: ~3.7M realistic records of one day, unique eventIDs. Each caller
# keeps its own address and tool, as real principals do (the rollup's detail rows grow with
# that variety, not with the file).
mkdir -p "$work/big"
python3 - "$work/big/huge.json" <<'PY'
import random, sys
random.seed(7)
users = [f"arn:aws:iam::111122223333:user/u{i}" for i in range(200)]
roles = [f"arn:aws:sts::111122223333:assumed-role/Role{i}/s{i}" for i in range(300)]
apis = [("ec2.amazonaws.com", n) for n in ("DescribeInstances", "RunInstances", "DescribeVolumes", "CreateTags")] + \
       [("s3.amazonaws.com", n) for n in ("GetBucketPolicy", "ListBuckets", "GetBucketAcl")] + \
       [("iam.amazonaws.com", n) for n in ("GetRole", "ListRoles", "GetUser")] + \
       [("sts.amazonaws.com", "AssumeRole"), ("kms.amazonaws.com", "Decrypt"), ("lambda.amazonaws.com", "ListFunctions")]
pad = "x" * 900  # request parameters of a typical size
target = 5 * 1024**3
out = open(sys.argv[1], "w", buffering=1 << 22)
out.write('{"Records":[')
n = written = 0
while written < target:
    src, name = random.choice(apis)
    k = random.randrange(len(users) + len(roles))
    who = (users + roles)[k]
    t = n * 86400 // 3_900_000
    rec = ('{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"%s","accountId":"111122223333"},'
           '"eventTime":"2026-11-02T%02d:%02d:%02dZ","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1",'
           '"sourceIPAddress":"10.0.%d.%d","userAgent":"aws-cli/2.15.%d","requestParameters":{"p":"%s"},'
           '"responseElements":null,"requestID":"r%d","eventID":"e%012d","readOnly":%s,"eventType":"AwsApiCall",'
           '"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}') % (
        who, t // 3600, t // 60 % 60, t % 60, src, name, k % 4, k % 256,
        k % 30, pad, n, n, "true" if name.startswith(("Describe", "Get", "List")) else "false")
    if n:
        out.write(",")
    out.write(rec)
    written += len(rec) + 1
    n += 1
out.write("]}")
out.close()
print(f"{n} records, {written >> 20} MiB", file=sys.stderr)
PY
measure "one 5 GiB legitimate file" "$work/big" --max-file-mib 8192
