#!/usr/bin/env bash
# make demo: a local nats-server and the built-in file server, one envelope with mixed payloads
# (one large enough for the claim-check store) sent and received across languages.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec "$VENV/bin/python" "$ROOT/scripts/demo.py" "$@"
