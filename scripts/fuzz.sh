#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for a fixed number of executions: briefly in the test
# command so the targets cannot rot, long by hand. Installs cargo-fuzz when missing. Uses the
# nightly toolchain with AddressSanitizer when there is one, else stable with
# RUSTC_BOOTSTRAP=1 and no sanitizer. fuzz/README.md records the long runs.
#
#   scripts/fuzz.sh                 # 20,000 executions per target (~2 minutes with the build)
#   scripts/fuzz.sh 10000000        # the long run: 10 million per target
#   scripts/fuzz.sh 100000 config   # one target
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(record_scanner split_chunks ingest_file config insights_reader)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
if cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=()
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  sanitizer=(--sanitizer none)
fi
python3 fuzz/seed.py
cd fuzz
# -a: debug assertions on, so the splitter's UTF-8 window invariant (split.rs `text`) is
# checked on every input.
"${fuzz[@]}" build -O -a "${sanitizer[@]}"
for t in "${targets[@]}"; do
  echo "== fuzz $t: $runs executions"
  rm -rf "artifacts/$t"
  # -max_len: CloudTrail records and config files are small; large inputs only slow the search.
  "${fuzz[@]}" run -O -a "${sanitizer[@]}" "$t" -- -runs="$runs" -max_len=65536 \
    -print_final_stats=1 2>&1 | grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|cov:.*(DONE|INITED)|panicked|ERROR|SUMMARY' || true
  # A crash leaves an artifact and a non-zero status; grep above only trims the log.
  if ls "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
    echo "fuzz $t found a failing input: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
