#!/usr/bin/env bash
# Runs the Python benchmark (bench.py) and prints its markdown table. Uses the release wheel that
# scripts/test-python.sh builds (target/wheels), building it when missing, in its own virtual
# environment target/py-bench-venv. Extra arguments go to bench.py (e.g. --budget 1).
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$ROOT"
PY="$VENV/bin/python"
WHEELS="$CARGO_TARGET_DIR/wheels"
BENCH_VENV="$CARGO_TARGET_DIR/py-bench-venv"
PIP=(--quiet --disable-pip-version-check)

# Only the markdown goes to stdout (make bench collects it); everything else to stderr.
{
  if [ ! -x "$NATSBRIDGE_BIN" ]; then
    cargo build -p natsbridge-cli --quiet
  fi
  if ! ls "$WHEELS"/natsbridge-*.whl >/dev/null 2>&1; then
    "$PY" -c 'import maturin' >/dev/null 2>&1 || "$PY" -m pip install "${PIP[@]}" 'maturin>=1.9.4,<2'
    (cd python && "$VENV/bin/maturin" build --release --quiet -i "$PY" -o "$WHEELS")
  fi
  if [ ! -x "$BENCH_VENV/bin/python" ]; then
    "$PY" -m venv "$BENCH_VENV"
  fi
  "$BENCH_VENV/bin/python" -m pip install "${PIP[@]}" 'nats-py>=2.9' 'pandas>=2.0' 'pyarrow>=14'
  "$BENCH_VENV/bin/python" -m pip install "${PIP[@]}" --force-reinstall --no-deps "$(ls "$WHEELS"/natsbridge-*.whl)"
} >&2
export NATSBRIDGE_BIN NATS_SERVER_BIN
exec "$BENCH_VENV/bin/python" bench/python/bench.py "$@"
