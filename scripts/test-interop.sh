#!/usr/bin/env bash
# The interop matrix: every language's real package against every other, through one nats-server.
# Runs after the per-language suites, which build and install the packages it uses.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$CARGO_TARGET_DIR/interop"
gcc -Wall -Wextra -Werror -O1 -o "$CARGO_TARGET_DIR/interop/c-peer" "$ROOT/tests/interop/peer_c.c" \
  -I"$ROOT/include" -L"$CARGO_TARGET_DIR/debug" -lnatsbridge -Wl,-rpath,"$CARGO_TARGET_DIR/debug"
exec "$VENV/bin/python" "$ROOT/tests/interop/run.py" --require "${INTEROP_REQUIRE:-rust,c,python,node,micropython}"
