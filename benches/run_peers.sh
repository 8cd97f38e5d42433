#!/usr/bin/env bash
# Benchmarks `trailsight ingest` against zcat, a plain Python loop and DuckDB on one simulated
# week (scale 1.0, ~850k events). Installs DuckDB into a venv under bench-data/.
# Usage: benches/run_peers.sh [DAYS] [SCALE]
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-7}; scale=${2:-1.0}
data=bench-data; trail=$data/trail-${days}d-x${scale}
mkdir -p "$data"
cargo build --release --quiet
if [ ! -x "$data/venv/bin/python" ]; then
  python3 -m venv "$data/venv"
  "$data/venv/bin/pip" install --quiet duckdb
fi
if [ ! -f "$trail/labels.json" ]; then
  /usr/bin/time -f "simulate: %e s, max RSS %M KiB" target/release/trailsight simulate --quiet --out "$trail" --days "$days" --scale "$scale" --seed 7
fi
sync
"$data/venv/bin/python" benches/peers.py "$trail" target/release/trailsight --json "$data/peers-${days}d-x${scale}.json"
"$data/venv/bin/python" -c "import duckdb, sys; print('duckdb', duckdb.__version__, 'python', sys.version.split()[0])"
