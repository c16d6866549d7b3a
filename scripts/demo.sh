#!/usr/bin/env bash
# make demo: a local nats-server and the built-in file server, one envelope with mixed payloads
# (one large enough for the claim-check store) sent by the command line and received by Rust,
# Python, Node and C programs, each through its own package.
set -euo pipefail
source "$(dirname "$0")/env.sh"
echo "== preparing the Python wheel and the Node package (first run: a few minutes)"
"$ROOT/scripts/test-python.sh" --install-only > "$CARGO_TARGET_DIR/demo-python-build.log" 2>&1 ||
  { tail -30 "$CARGO_TARGET_DIR/demo-python-build.log"; exit 1; }
"$ROOT/scripts/test-node.sh" --install-only > "$CARGO_TARGET_DIR/demo-node-build.log" 2>&1 ||
  { tail -30 "$CARGO_TARGET_DIR/demo-node-build.log"; exit 1; }
exec "$VENV/bin/python" "$ROOT/scripts/demo.py" "$@"
