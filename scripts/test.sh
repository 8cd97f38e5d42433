#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what the tests need, then runs
# formatting, lints and every test. Safe to run repeatedly; installs are skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install the Rust toolchain (https://rustup.rs)" >&2
  exit 2
fi
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
  rustup component add clippy rustfmt
fi

# The HTML report's browser test (tests/it/report.rs) drives Debian's Chromium through
# chromedriver with tests/browser/check_report.py (Python standard library only).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "== installing chromium and chromium-driver (browser test of the HTML report)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi
echo "== moto (S3 server for the live-AWS tests)"
scripts/setup-moto.sh
export TRAILSIGHT_REQUIRE_MOTO=1

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo doc (no warnings: broken links and stray HTML fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked
echo "== cargo test"
cargo test --all-targets --locked
# Benches are compiled above (--all-targets) and run briefly as tests so they cannot rot.
echo "== fuzz targets: a short fixed count each (long runs: scripts/fuzz.sh 10000000)"
scripts/fuzz.sh 20000
echo "== judge/: the independent trail generator's own tests (Python standard library)"
python3 -m unittest judge/test_trailgen.py
echo "== notebooks (headless, on a demo state)"
bash scripts/notebooks.sh
echo "== kill soak: nightly runs SIGKILLed at random, then identical to an uninterrupted replay"
# ~15 s here; `python3 scripts/kill_soak.py --long` (a month, 150 kills) runs behind the flag.
python3 scripts/kill_soak.py --bin target/debug/trailsight
echo "== full disk: ingest and run on a tmpfs that fills up mid-commit (needs root or sudo -n)"
python3 scripts/full_disk.py --bin target/debug/trailsight
echo "== scale-out equivalence: Spark job and Athena SQL vs trailsight ingest (scale/)"
# The binary `cargo test` just built: a plain `cargo build --bin` would resolve dependency
# features without the dev-dependencies and compile polars a second time.
TRAILSIGHT_BIN="$PWD/target/debug/trailsight" scale/test_equivalence.sh
