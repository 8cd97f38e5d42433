#!/usr/bin/env bash
# Installs moto's S3 server (pinned) into target/venv-moto for the live-AWS tests
# (tests/it/aws_s3.rs starts target/venv-moto/bin/moto_server on 127.0.0.1). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.5
venv=target/venv-moto
if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$venv/bin/python" -c "import moto; print('moto', moto.__version__, 'in $venv')"
