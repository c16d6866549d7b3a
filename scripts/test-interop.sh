#!/usr/bin/env bash
# The interop matrix: every language's real package against every other, through one nats-server.
# Runs after the per-language suites, which build and install the packages it uses.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec "$VENV/bin/python" "$ROOT/tests/interop/run.py" --require "${INTEROP_REQUIRE:-rust,c,python,node,micropython}"
