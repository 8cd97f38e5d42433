#!/usr/bin/env bash
# Equivalence test of the scale-out paths (README "Beyond one machine"), run by scripts/test.sh:
#  1. simulate a multi-account trail (organization trail, duplicate deliveries, data events);
#  2. `trailsight ingest` it, and run the Spark job (local mode) on the same files;
#  3. the two states must be equal row for row (every column, Parquet types, eventID sets),
#     the summaries' counts equal, and `trailsight baseline` + `detect` give identical findings;
#  4. `trailsight ingest` of the same trail on top of the Spark state adds nothing (duplicates);
#  5. a damaged-input fixture plus the real records of tests/fixtures: both count the same bad
#     files and records at the same places and write the same state;
#  6. the Athena SQL parses (sqlglot's Athena dialect) and, executed on DuckDB over the same
#     trail, gives the same state too.
# First of all (seconds, no Spark): the Athena SQL's and the Spark reader's classification
# tables are those of models/classification.toml, as trailsight's (check_classification.py).
# Installs its Python venv (pinned, scale/requirements.txt) under target/ and Java from Debian
# if missing. Prints throughput figures (events/s) for benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DAYS=${TRAILSIGHT_EQ_DAYS:-14}
SCALE=${TRAILSIGHT_EQ_SCALE:-0.05}
VENV=$ROOT/target/scale-venv
WORK=$ROOT/target/scale-equivalence
BIN=${TRAILSIGHT_BIN:-$ROOT/target/debug/trailsight}

if ! command -v java >/dev/null; then
  echo "== installing a Java runtime for Spark (Debian default-jre-headless)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq default-jre-headless >/dev/null
fi

stamp=$(sha256sum scale/requirements.txt | cut -c1-16)
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "== creating $VENV (pyspark, pyarrow, xxhash, duckdb, sqlglot)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r scale/requirements.txt
  echo "$stamp" > "$VENV/.stamp"
fi
PY=$VENV/bin/python
export PATH=$VENV/bin:$PATH
export PYSPARK_PYTHON=$PY PYSPARK_DRIVER_PYTHON=$PY

if [ -z "${TRAILSIGHT_BIN:-}" ]; then
  cargo build --locked --quiet --bin trailsight
fi

spark() {
  spark-submit --master 'local[2]' --driver-memory 2g \
    --conf spark.ui.enabled=false --conf spark.ui.showConsoleProgress=false \
    --conf "spark.driver.extraJavaOptions=-Dlog4j2.level=ERROR" \
    --py-files scale/spark/cloudtrail_records.py scale/spark/trailsight_rollup.py "$@" \
    2> "$WORK/spark-$(date +%s%N).log"
}
now() { date +%s.%N; }

echo "== classification tables: Athena SQL and Spark reader follow models/classification.toml"
$PY scale/check_classification.py

rm -rf "$WORK"
mkdir -p "$WORK"
echo "== simulate $DAYS days at scale $SCALE"
"$BIN" simulate --out "$WORK/trail" --days "$DAYS" --scale "$SCALE" --seed 7 --quiet

echo "== trailsight ingest"
t0=$(now)
"$BIN" ingest --quiet --json --state "$WORK/rust" "$WORK/trail" > "$WORK/rust-summary.json" 2>/dev/null
t1=$(now)

echo "== Spark job (local[2])"
spark --input "$WORK/trail" --state "$WORK/spark" > /dev/null
t2=$(now)

echo "== compare"
$PY scale/compare_states.py "$WORK/rust" "$WORK/spark"
$PY scale/check_summaries.py "$WORK/rust-summary.json" "$WORK/spark/spark-summary.json"
for s in rust spark; do
  "$BIN" baseline --quiet --state "$WORK/$s" > /dev/null 2>&1
  "$BIN" detect --quiet --state "$WORK/$s" --from 2026-01-15 --out "$WORK/findings-$s" > /dev/null 2>&1
done
n=$(wc -l < "$WORK/findings-rust/findings.jsonl")
if [ "$n" -lt 1 ]; then
  echo "FAIL: detection found nothing; the comparison would prove nothing" >&2
  exit 1
fi
cmp "$WORK/findings-rust/findings.jsonl" "$WORK/findings-spark/findings.jsonl"
cmp "$WORK/findings-rust/insights.json" "$WORK/findings-spark/insights.json"
echo "identical findings: $n"

echo "== trailsight ingest on top of the Spark state adds nothing"
"$BIN" ingest --quiet --json --state "$WORK/spark" "$WORK/trail" > "$WORK/again.json" 2>/dev/null
$PY - "$WORK/again.json" "$WORK/rust-summary.json" <<'EOF'
import json, sys
again, first = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert again["management_events"] == 0, again["management_events"]
assert again["duplicates"] == first["management_events"] + first["duplicates"], again["duplicates"]
print("re-ingest: 0 new events, %d duplicates" % again["duplicates"])
EOF

echo "== damaged input and real-world records: counted the same way, good records kept"
$PY scale/make_bad_fixture.py "$WORK/bad"
# Real records (tests/fixtures: Panther samples, Stratus Red Team detonations): every principal
# type, old event versions, ids reused by different records.
mkdir -p "$WORK/bad/real"
mkdir -p "$WORK/bad/real/panther" "$WORK/bad/real/stratus-red-team"
cp tests/fixtures/panther/sample.jsonl "$WORK/bad/real/panther/"
for t in defense-evasion.cloudtrail-stop execution.ec2-launch-unusual-instances persistence.iam-create-admin-user; do
  cp "tests/fixtures/stratus-red-team/aws.$t.json" "$WORK/bad/real/stratus-red-team/"
done
"$BIN" ingest --quiet --json --state "$WORK/bad-rust" "$WORK/bad" > "$WORK/bad-rust.json" 2>/dev/null
# file:// makes the job list and read through Hadoop, the path it takes for s3a:// inputs.
spark --input "file://$WORK/bad" --state "$WORK/bad-spark" > /dev/null
$PY scale/check_summaries.py "$WORK/bad-rust.json" "$WORK/bad-spark/spark-summary.json" \
  files=11 records=94 management_events=49 bad_records=14 bad_files=2 duplicates=28
$PY scale/compare_states.py "$WORK/bad-rust" "$WORK/bad-spark"

echo "== Athena SQL: syntax (sqlglot, Athena dialect), then executed on DuckDB"
$PY scale/athena/check_syntax.py
t3=$(now)
$PY scale/athena/run_duckdb.py "$WORK/trail" "$WORK/unload" > /dev/null
$PY scale/athena/to_state.py "$WORK/unload" "$WORK/athena" > /dev/null
t4=$(now)
$PY scale/compare_states.py "$WORK/rust" "$WORK/athena"

$PY - "$WORK/rust-summary.json" "$t0" "$t1" "$t2" "$t3" "$t4" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
t0, t1, t2, t3, t4 = map(float, sys.argv[2:])
rec = s["records"]
print("throughput on %d records (%d files), wall time incl. start-up:" % (rec, s["files"]))
for name, dt in (("trailsight ingest (debug build)", t1 - t0), ("Spark local[2] job", t2 - t1),
                 ("DuckDB running the Athena SQL", t4 - t3)):
    print("  %-34s %7.1f s  %9.0f records/s" % (name, dt, rec / dt))
EOF
echo "scale equivalence: all checks passed"
