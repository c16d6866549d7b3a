#!/usr/bin/env bash
# Passes cargo test's output through and ends with one "N passed, N failed" line over all binaries.
set -uo pipefail
passed=0; failed=0; ignored=0
while IFS= read -r line; do
  printf '%s\n' "$line"
  if [[ $line =~ ^test\ result:\ [A-Za-z]+\.\ ([0-9]+)\ passed\;\ ([0-9]+)\ failed\;\ ([0-9]+)\ ignored ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2])); ignored=$((ignored + BASH_REMATCH[3]))
  fi
done
echo "rust: $passed passed, $failed failed, $ignored skipped"
[ "$failed" -eq 0 ] || exit 1
