#!/usr/bin/env bash
# Runs the Python benchmark (bench.py) and prints its markdown tables (with BENCH_JSON set, bench.py
# also appends its results there). Builds the release wheel of the current tree into target/wheels
# (where scripts/test-python.sh puts it; cargo makes this quick when nothing changed) and installs
# it into its own virtual environment target/py-bench-venv. Extra arguments go to bench.py
# (e.g. --budget 1). `run.sh --build-only` only builds and installs; BENCH_PREBUILT=1 skips that
# (scripts/bench.sh builds every language first, so all of them measure the same tree).
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$ROOT"
PY="$VENV/bin/python"
WHEELS="$CARGO_TARGET_DIR/wheels"
BENCH_VENV="$CARGO_TARGET_DIR/py-bench-venv"
PIP=(--quiet --disable-pip-version-check)

BUILD_ONLY=0
if [ "${1:-}" = --build-only ]; then BUILD_ONLY=1; shift; fi
# Only the markdown goes to stdout (make bench collects it); everything else to stderr.
[ "${BENCH_PREBUILT:-0}" = 1 ] || {
  # The file server bench.py starts: a release build (scripts/bench.sh passes the one it built).
  if [ -z "${NATSBRIDGE_BENCH_BIN:-}" ]; then
    cargo build --release -p natsbridge-cli --quiet
    export NATSBRIDGE_BENCH_BIN="$CARGO_TARGET_DIR/release/natsbridge"
  fi
  "$PY" -c 'import maturin' >/dev/null 2>&1 || "$PY" -m pip install "${PIP[@]}" 'maturin>=1.9.4,<2'
  (cd python && "$VENV/bin/maturin" build --release --quiet -i "$PY" -o "$WHEELS")
  if [ ! -x "$BENCH_VENV/bin/python" ]; then
    "$PY" -m venv "$BENCH_VENV"
  fi
  "$BENCH_VENV/bin/python" -m pip install "${PIP[@]}" 'nats-py>=2.9' 'pandas>=2.0' 'pyarrow>=14'
  "$BENCH_VENV/bin/python" -m pip install "${PIP[@]}" --force-reinstall --no-deps "$(ls "$WHEELS"/natsbridge-*.whl)"
} >&2
[ "$BUILD_ONLY" = 0 ] || exit 0
export NATS_SERVER_BIN
exec "$BENCH_VENV/bin/python" bench/python/bench.py "$@"
