#!/usr/bin/env bash
# Peak memory of `trailsight ingest` on hostile and huge inputs (issue 18 item 2): one gzip
# bomb, ten at once, one 5 GiB legitimate file, and (with moto installed) sixteen bombs
# fetched in parallel from an S3 bucket. Prints one line per case: peak RSS and wall time
# from /usr/bin/time -v. Figures are recorded in benches/README.md ("Memory bounded by design").
#
#   benches/memory.sh [path/to/trailsight]     # default: target/release/trailsight
#   MEMORY_BIG_GIB=2 benches/memory.sh ...      # a smaller big file (the batch bounds memory)
#   MEMORY_SKIP_BOMBS=1 benches/memory.sh ...   # only the big file and the S3 case
#   MEMORY_SKIP_MONTH=1 MEMORY_ONE_DAY=1 ...     # the one-day big file instead of the month
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
        "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("records", s["records"], "events", s["management_events"], "bad records", s["bad_records"])' "$work/summary.json" 2>/dev/null || echo "(no summary)")"
}

# A bomb: one record whose string holds 2 GiB of 'a' (12 MB gzip): read to the 1 GiB limit.
mkdir -p "$work/one" "$work/ten"
{ printf '{"Records":[{"a":"'; head -c 2147483648 /dev/zero | tr '\0' a; printf '"}]}'; } |
    gzip -1 >"$work/one/bomb.json.gz"
for i in $(seq 0 9); do cp "$work/one/bomb.json.gz" "$work/ten/bomb$i.json.gz"; done
if [ "${MEMORY_SKIP_BOMBS:-0}" != 1 ]; then
  measure "one bomb (2 GiB inflated, 1 GiB limit)" "$work/one"
  measure "ten bombs in one folder" "$work/ten"
  measure "ten bombs, --max-file-mib 4096" "$work/ten" --max-file-mib 4096
fi

# A legitimate 5 GiB file: ~3.7M realistic records with unique eventIDs, a month's export. Each caller
# keeps its own address and tool, as real principals do (the rollup's detail rows grow with
# that variety, not with the file).
mkdir -p "$work/big"
big_file() { # path, days the records spread over
python3 - "$1" "$2" "${MEMORY_BIG_GIB:-5}" <<'PY'
import random, sys
random.seed(7)
users = [f"arn:aws:iam::111122223333:user/u{i}" for i in range(200)]
roles = [f"arn:aws:sts::111122223333:assumed-role/Role{i}/s{i}" for i in range(300)]
apis = [("ec2.amazonaws.com", n) for n in ("DescribeInstances", "RunInstances", "DescribeVolumes", "CreateTags")] + \
       [("s3.amazonaws.com", n) for n in ("GetBucketPolicy", "ListBuckets", "GetBucketAcl")] + \
       [("iam.amazonaws.com", n) for n in ("GetRole", "ListRoles", "GetUser")] + \
       [("sts.amazonaws.com", "AssumeRole"), ("kms.amazonaws.com", "Decrypt"), ("lambda.amazonaws.com", "ListFunctions")]
pad = "x" * 900  # request parameters of a typical size
target = int(float(sys.argv[3]) * 1024**3)
days = int(sys.argv[2])
out = open(sys.argv[1], "w", buffering=1 << 22)
out.write('{"Records":[')
n = written = 0
while written < target:
    src, name = random.choice(apis)
    k = random.randrange(len(users) + len(roles))
    who = (users + roles)[k]
    # The record count is estimated from the size: the last few would run past the period.
    t = min(n * 86400 * days // (target // 1450), 86400 * days - 1)
    day, t = 2 + t // 86400, t % 86400
    rec = ('{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"%s","accountId":"111122223333"},'
           '"eventTime":"2026-10-%02dT%02d:%02d:%02dZ","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1",'
           '"sourceIPAddress":"10.0.%d.%d","userAgent":"aws-cli/2.15.%d","requestParameters":{"p":"%s"},'
           '"responseElements":null,"requestID":"r%d","eventID":"e%012d","readOnly":%s,"eventType":"AwsApiCall",'
           '"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}') % (
        who, day, t // 3600, t // 60 % 60, t % 60, src, name, k % 4, k % 256,
        k % 30, pad, n, n, "true" if name.startswith(("Describe", "Get", "List")) else "false")
    if n:
        out.write(",")
    out.write(rec)
    written += len(rec) + 1
    n += 1
out.write("]}")
out.close()
print(f"{n} records, {written >> 20} MiB over {days} days", file=sys.stderr)
PY
}
if [ "${MEMORY_SKIP_MONTH:-0}" != 1 ]; then
  big_file "$work/big/month.json" 30
  measure "one ${MEMORY_BIG_GIB:-5} GiB file: a month (30 days)" "$work/big" --max-file-mib 8192
fi
# The same records in one day (1.5M detail rows, 3.7M eventIDs in one day): each part is added
# to the day as a piece of its own, so memory follows the batch, not the day. Behind a flag.
if [ "${MEMORY_ONE_DAY:-0}" = 1 ]; then
  rm -f "$work/big/month.json"
  big_file "$work/big/day.json" 1
  measure "one ${MEMORY_BIG_GIB:-5} GiB file: one day" "$work/big" --max-file-mib 8192
fi
rm -rf "$work/big"


# Sixteen bombs in an S3 bucket (moto, scripts/setup-moto.sh), downloaded 16 at a time.
moto=target/venv-moto/bin/moto_server
if [ -x "$moto" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$moto" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  moto_pid=$!
  trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
  day=$(date -u -d '2 days ago' +%Y/%m/%d)
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench target/venv-moto/bin/python - "$port" "$work/one/bomb.json.gz" "$day" <<'PY'
import sys, time, boto3
port, bomb, day = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
for _ in range(100):
    try:
        s3.list_buckets(); break
    except Exception:
        time.sleep(0.2)
s3.create_bucket(Bucket="bench")
for i in range(16):
    s3.put_object(Bucket="bench", Body=bomb,
                  Key=f"AWSLogs/111122223333/CloudTrail/us-east-1/{day}/111122223333_CloudTrail_us-east-1_x{i}.json.gz")
PY
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
    measure "sixteen bombs from S3, 16 downloads at once" s3://bench --region us-east-1 \
    --endpoint-url "http://127.0.0.1:$port" --downloads 16
fi
