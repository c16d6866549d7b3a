#!/usr/bin/env bash
# Installs what the demo and the tests need into project-local places (.venv, node_modules).
# Idempotent: a second run only checks. Usage: scripts/bootstrap.sh [python-packages...]
set -euo pipefail
source "$(dirname "$0")/env.sh"
stamp="$VENV/.bootstrap-ok"
req="$ROOT/scripts/requirements-dev.txt"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
# nats-server: keep one on PATH when it is new enough, else the venv's.
have_ok=0
if command -v nats-server >/dev/null 2>&1; then
  v="$(nats-server --version 2>/dev/null | sed -E 's/.*v([0-9]+)\.([0-9]+).*/\1 \2/')"
  set -- $v
  if [ "${1:-0}" -gt 2 ] || { [ "${1:-0}" -eq 2 ] && [ "${2:-0}" -ge 10 ]; }; then have_ok=1; fi
fi
if [ "$have_ok" -ne 1 ]; then
  echo "no nats-server >= 2.10 found" >&2
  exit 1
fi
