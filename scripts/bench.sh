#!/usr/bin/env bash
# make bench: every benchmark in bench/, one run on this machine, into bench/RESULTS.md.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="$ROOT/bench/RESULTS.md"
tmp="$(mktemp)"
{
  echo "# Benchmark results"
  echo
  echo "One run of \`make bench\` on one machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)."
  echo "Every ratio compares figures measured in the same run, interleaved where possible."
  echo
  echo "## Rust engine: smartsend + smartreceive vs raw async-nats publish/receive of the same envelope bytes"
  echo
  cargo run --release --quiet -p natsbridge-bench
  for lang in python node; do
    if [ -x "$ROOT/bench/$lang/run.sh" ]; then
      echo
      "$ROOT/bench/$lang/run.sh"
    fi
  done
} > "$tmp"
mv "$tmp" "$out"
cat "$out"
