#!/usr/bin/env bash
# Runs every notebook under notebooks/ top to bottom, headless, on a trailsight state, and checks
# that the committed notebooks carry no outputs. Called by scripts/test.sh; safe to run alone.
#
#   scripts/notebooks.sh                      # demo state in target/notebook-demo (made if missing)
#   TRAILSIGHT_STATE=./state scripts/notebooks.sh   # your own state (precision/recall need labels)
#   scripts/notebooks.sh --strip              # remove outputs from notebooks/*.ipynb before a commit
#
# Environment: TRAILSIGHT_BIN (default target/debug/trailsight, must exist: `cargo build`),
# TRAILSIGHT_DEMO (default target/notebook-demo), TRAILSIGHT_STATE (default $TRAILSIGHT_DEMO/state),
# NOTEBOOK_TIMEOUT (seconds per cell, default 300), PYTHON (default python3, 3.11 or newer), and
# the notebooks' own parameters (notebooks/README.md), passed through.
# Installs into target/venv-notebooks the exact versions of notebooks/requirements.txt (PyPI);
# executed copies with their outputs go to target/notebook-runs/. Exit status: 0 all passed,
# 1 a notebook failed or carries outputs, 2 a setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VENV=$ROOT/target/venv-notebooks
REQ=$ROOT/notebooks/requirements.txt
RUNS=$ROOT/target/notebook-runs
PY=${PYTHON:-python3}

die() { echo "notebooks.sh: $*" >&2; exit 2; }
elapsed() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# --- the venv, reinstalled when requirements.txt changes --------------------------------------
stamp=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ ! -x $VENV/bin/python || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$stamp" ]]; then
  command -v "$PY" >/dev/null || die "$PY not found: install Python 3.11 or newer (Debian: apt-get install python3 python3-venv)"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$("$PY" --version 2>&1) is too old: the pinned numpy/polars need Python 3.11 or newer (set PYTHON=)"
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 ships venv separately.
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$VENV"
      "$PY" -m venv "$VENV" || die "cannot create a venv with $PY"
    else
      die "cannot create a venv with $PY (Debian: apt-get install python3-venv)"
    fi
  fi
  echo "== installing notebook packages into target/venv-notebooks"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQ" \
    || die "pip install -r notebooks/requirements.txt failed"
  echo "$stamp" >"$VENV/.requirements.sha256"
fi

# Keep Jupyter, IPython and matplotlib away from ~ (a user's kernelspec named python3 would
# otherwise pick another interpreter) and quiet.
export JUPYTER_DATA_DIR=$VENV/share/jupyter JUPYTER_CONFIG_DIR=$VENV/etc/jupyter
export IPYTHONDIR=$VENV/ipython MPLCONFIGDIR=$VENV/matplotlib
unset JUPYTER_PATH
export PYDEVD_DISABLE_FILE_VALIDATION=1

# --- committed notebooks carry no outputs ---------------------------------------------------
if [[ ${1:-} == --strip ]]; then
  "$VENV/bin/python" - notebooks/*.ipynb <<'EOF'
import sys
import nbformat

for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    print(f"stripped {path}")
EOF
  exit 0
fi
echo "== notebooks committed without outputs"
"$VENV/bin/python" - notebooks/*.ipynb <<'EOF'
import sys
import nbformat

bad = []
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            bad.append(f"{path}: cell {i} has outputs or an execution count")
        if cell.get("attachments") or "execution" in cell.metadata:
            bad.append(f"{path}: cell {i} has attachments or execution timings")
    if "widgets" in nb.metadata:
        bad.append(f"{path}: widget state in metadata")
if bad:
    print("\n".join(bad), file=sys.stderr)
    print("clear them: scripts/notebooks.sh --strip", file=sys.stderr)
    sys.exit(1)
print(f"{len(sys.argv) - 1} notebooks clean")
EOF

# --- the state they read ----------------------------------------------------------------------
BIN=${TRAILSIGHT_BIN:-target/debug/trailsight}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
[[ -x $BIN ]] || die "no trailsight binary at $BIN: run cargo build first (or set TRAILSIGHT_BIN)"
export TRAILSIGHT_BIN=$BIN
if [[ -z ${TRAILSIGHT_STATE:-} ]]; then
  DEMO=${TRAILSIGHT_DEMO:-target/notebook-demo}
  [[ $DEMO == /* ]] || DEMO=$ROOT/$DEMO
  export TRAILSIGHT_DEMO=$DEMO
  # A demo made by an older binary may not match what this one detects: make it again.
  if [[ ! -f $DEMO/findings/findings.jsonl || $BIN -nt $DEMO/findings/findings.jsonl ]]; then
    echo "== trailsight demo --out $DEMO"
    rm -rf "$DEMO"
    "$BIN" --quiet --log-format json demo --out "$DEMO" >"$ROOT/target/notebook-demo.log" 2>&1 \
      || { tail -n 30 "$ROOT/target/notebook-demo.log" >&2; die "trailsight demo failed (log: target/notebook-demo.log)"; }
  fi
  [[ -f $DEMO/state/manifest.json ]] || die "$DEMO/state/manifest.json missing after trailsight demo"
else
  [[ -f $TRAILSIGHT_STATE/manifest.json ]] || die "TRAILSIGHT_STATE=$TRAILSIGHT_STATE holds no manifest.json"
fi

# --- execute ------------------------------------------------------------------------------------
mkdir -p "$RUNS"
passed=0 failed=0
for nb in notebooks/*.ipynb; do
  name=$(basename "$nb")
  start=$(date +%s%N)
  if "$VENV/bin/jupyter" nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout="${NOTEBOOK_TIMEOUT:-300}" \
      --ExecutePreprocessor.kernel_name=python3 \
      --output-dir "$RUNS" "$nb" >"$RUNS/${name%.ipynb}.log" 2>&1; then
    passed=$((passed + 1))
    printf '== %-28s ok   %5s s  (outputs: target/notebook-runs/%s)\n' "$name" "$(elapsed "$start")" "$name"
  else
    failed=$((failed + 1))
    printf '== %-28s FAILED after %s s\n' "$name" "$(elapsed "$start")"
    grep -v 'WARNING | Kernel is running over TCP' "$RUNS/${name%.ipynb}.log" | tail -n 40 >&2
  fi
done
echo "notebooks: $passed passed, $failed failed"
[[ $failed == 0 ]] || exit 1
