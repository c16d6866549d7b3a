#!/usr/bin/env python3
"""Compares what the C ABI decoded from the golden vectors (OUT_DIR/NAME.json, written by
test_vectors through nb_envelope_to_json) with tests/vectors/valid/NAME.expected.json.
Structural comparison (key order never matters), numbers by value, as tests/vectors/README.md says.
Prints one "ok"/"not ok" line per vector and "N passed, M failed"; exits 1 on any failure."""
import json
import pathlib
import sys


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def main():
    vectors, out_dir, label = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
    index = json.loads((vectors / "index.json").read_text())
    passed = failed = 0
    for n, name in enumerate(index["valid"], 1):
        expected = json.loads((vectors / "valid" / f"{name}.expected.json").read_text())
        got_path = out_dir / f"{name}.json"
        if not got_path.exists():
            ok, why = False, "no output (did it decode?)"
        else:
            got = json.loads(got_path.read_text())
            ok = same(got, expected)
            why = "" if ok else f"got {json.dumps(got)[:400]}"
        print(f"{'ok' if ok else 'not ok'} {n} - {label}: valid/{name} decodes to its expected values {why}")
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
