#!/usr/bin/env bash
# make bench: every benchmark in bench/ (Rust, Python, Node), one run on this machine. Each appends
# its results as JSON lines to $BENCH_JSON; bench/report.py turns them into bench/RESULTS.md (one
# combined table, the details each benchmark printed) and bench/throughput.png.
#
# BENCH_QUICK=1: fewer rounds and 64 MiB instead of 1 GiB, written to target/bench-run/ instead of
# bench/ (for iterating; the committed results come from a full run).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
QUICK="${BENCH_QUICK:-0}"
export BENCH_QUICK="$QUICK"
RUN="$CARGO_TARGET_DIR/bench-run"
# One run at a time: a second would share $RUN and the machine.
exec 9>"$CARGO_TARGET_DIR/bench.lock"
flock -n 9 || { echo "bench: another make bench is running" >&2; exit 1; }
rm -rf "$RUN"
mkdir -p "$RUN"
export BENCH_JSON="$RUN/results.jsonl"
if [ "$QUICK" = 1 ]; then OUT="$RUN"; else OUT="$ROOT/bench"; fi

# The tree measured: recorded before building, and every language is built before any runs.
"$VENV/bin/python" - "$RUN/versions.json" "$NATS_SERVER_BIN" <<'EOF'
import json, re, subprocess, sys
def out(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
dirty = sorted({line[3:].split("/")[0] + "/" for line in status.splitlines() if line.strip()})
commit = out(["git", "rev-parse", "--short", "HEAD"])
versions = {
    "natsbridge": re.search(r'^version\s*=\s*"([^"]+)"', open("Cargo.toml").read(), re.M).group(1),
    "commit": commit + (f" with uncommitted changes in {', '.join(dirty)}" if dirty else ""),
    "rustc": out(["rustc", "--version"]).split()[1],
    "nats-server": (out([sys.argv[2], "--version"]) or "?").split()[-1],
}
json.dump(versions, open(sys.argv[1], "w"))
EOF
# What the report needs (matplotlib into the project venv); the release builds the runs use: the
# Rust benchmark, the file server the Python and Node benchmarks start, the wheel, the addon.
echo "bench: building" >&2
{
  "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null \
    || "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'matplotlib>=3.7'
  cargo build --release --quiet -p natsbridge-bench -p natsbridge-cli
} >&2
export NATSBRIDGE_BENCH_BIN="$CARGO_TARGET_DIR/release/natsbridge"
"$ROOT/bench/python/run.sh" --build-only
"$ROOT/bench/node/run.sh" --build-only
export BENCH_PREBUILT=1

started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "bench: Rust" >&2
{
  echo "## Rust: engine vs pure Rust (seed.rs) vs raw async-nats"
  echo
  "$CARGO_TARGET_DIR/release/natsbridge-bench"
} > "$RUN/rust.md"
echo "bench: Python" >&2
"$ROOT/bench/python/run.sh" > "$RUN/python.md"
echo "bench: Node" >&2
"$ROOT/bench/node/run.sh" > "$RUN/node.md"

report=(--json "$BENCH_JSON" --started "$started" --versions "$RUN/versions.json"
        --out "$OUT/RESULTS.md" --png "$OUT/throughput.png" --details "$RUN/rust.md" "$RUN/python.md" "$RUN/node.md")
[ "$QUICK" = 1 ] && report+=(--quick)
"$VENV/bin/python" "$ROOT/bench/report.py" "${report[@]}"
cat "$OUT/RESULTS.md"
echo "bench: wrote $OUT/RESULTS.md and $OUT/throughput.png" >&2
