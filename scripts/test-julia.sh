#!/usr/bin/env bash
# `make test-julia`: NATSBridge.jl (julia/). Without a Julia runtime it checks what it can:
#   - every .jl file parses (tree-sitter-julia) with zero error nodes;
#   - the contract test: every ccall / @cfunction / handler struct / NB_* constant against
#     include/natsbridge.h (and the symbols of the built libnatsbridge, when there is one);
#   - the contract test's self-test: deliberately broken copies of the sources must fail it;
#   - the package metadata (Project.toml UUIDs and compat, using/import vs dependencies);
#   - the artifact tooling (JLL layout, git-tree-sha1 equal to git's).
# Then it runs the package's own suite (julia/test/runtests.jl) when `julia` is on PATH, and says
# it was skipped otherwise. Ends with "julia: N passed, M failed[, K skipped]"; non-zero on failure.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then python3 -m venv "$VENV"; fi
if ! "$PY" -m pip install --quiet --disable-pip-version-check -r julia/requirements-tools.txt; then
  echo "julia: cannot install the checkers' dependencies (julia/requirements-tools.txt)" >&2
  echo "julia: 0 passed, 1 failed"
  exit 1
fi

LIB="$CARGO_TARGET_DIR/debug/libnatsbridge.so"
log_dir="$CARGO_TARGET_DIR/julia-checks"
mkdir -p "$log_dir"
passed=0; failed=0; skipped=0

# Runs one checker; shows its FAIL/info lines and its summary; adds its counts.
run_check() {
  local name="$1"; shift
  local log="$log_dir/$name.log"
  "$@" >"$log" 2>&1
  local rc=$?
  grep -E '^(FAIL|info)' "$log" || true
  local summary
  summary="$(grep -E "^[A-Za-z_]+: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)"
  if [[ $summary =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    echo "  $summary"
    if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then failed=$((failed + 1)); echo "  $name exited $rc"; fi
  else
    failed=$((failed + 1))
    echo "  $name: no result (exit $rc); its output:"; sed 's/^/    /' "$log" | tail -40
  fi
}

echo "julia: checks without a Julia runtime (logs in ${log_dir#$ROOT/})"
run_check parse "$PY" julia/tools/check_parse.py julia
lib_args=()
if [ -f "$LIB" ]; then lib_args=(--lib "$LIB"); fi
run_check contract "$PY" julia/tools/check_contract.py --header include/natsbridge.h --src julia/src --tests julia/test --root "$ROOT" "${lib_args[@]}"
run_check contract_selftest "$PY" julia/tools/contract_selftest.py --header include/natsbridge.h --src julia/src --tests julia/test
run_check project "$PY" julia/tools/check_project.py julia
run_check artifact "$PY" julia/tools/make_artifact.py --self-test

if command -v julia >/dev/null 2>&1; then
  echo "julia: running julia/test/runtests.jl with $(julia --version)"
  if [ ! -f "$LIB" ] || [ ! -x "$NATSBRIDGE_BIN" ]; then
    cargo build --quiet -p natsbridge-ffi -p natsbridge-cli || failed=$((failed + 1))
  fi
  if NATSBRIDGE_LIB="$LIB" NATSBRIDGE_BIN="$NATSBRIDGE_BIN" NATS_SERVER_BIN="$NATS_SERVER_BIN" \
      julia --project=julia --startup-file=no -e 'using Pkg; Pkg.test()'; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
else
  echo "julia: julia/test/runtests.jl skipped: no \`julia\` on PATH (no Julia runtime can be installed on this machine);"
  echo "       run it with: NATSBRIDGE_LIB=$LIB julia --project=julia -e 'using Pkg; Pkg.test()'"
  skipped=1
fi

if [ "$skipped" -gt 0 ]; then
  echo "julia: $passed passed, $failed failed, $skipped skipped"
else
  echo "julia: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
