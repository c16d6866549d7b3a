#!/usr/bin/env python3
"""Parse check of NATSBridge.jl without a Julia runtime: every `.jl` file under the given
directories parses with tree-sitter-julia with zero ERROR and zero MISSING nodes.

One test per file, plus one proving the check can fail (a deliberately broken snippet must
produce error nodes). Ends with `check_parse: N passed, M failed`; exits 1 on any failure.
Usage: check_parse.py DIR_OR_FILE...
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

import tree_sitter_julia
from tree_sitter import Language, Node, Parser

BROKEN = b"function f(x\n    y = [1, 2\n    return x +\nend\n"


def errors(parser: Parser, src: bytes) -> List[Tuple[int, int, str, str]]:
    """(line, column, kind, text) of every ERROR or MISSING node."""
    found: List[Tuple[int, int, str, str]] = []

    def walk(n: Node) -> None:
        if n.type == "ERROR" or n.is_missing:
            text = src[n.start_byte : n.end_byte].decode("utf-8", "replace").splitlines()
            found.append((n.start_point[0] + 1, n.start_point[1] + 1, "MISSING " + n.type if n.is_missing else "ERROR",
                          (text[0] if text else "")[:60]))
            if n.type == "ERROR":
                return
        for c in n.children:
            walk(c)

    walk(parser.parse(src).root_node)
    return found


def main(argv: List[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    parser = Parser(Language(tree_sitter_julia.language()))
    passed = failed = 0
    files: List[Path] = []
    for a in argv:
        p = Path(a)
        files.extend(sorted(p.rglob("*.jl")) if p.is_dir() else [p])
    if not files:
        print(f"FAIL  no .jl files under {' '.join(argv)}")
        failed += 1
    for f in files:
        errs = errors(parser, f.read_bytes())
        if errs:
            failed += 1
            print(f"FAIL  {f}: {len(errs)} error node(s)")
            for line, col, kind, text in errs[:20]:
                print(f"        {f}:{line}:{col}: {kind} near {text!r}")
        else:
            passed += 1
            print(f"ok    {f} parses with zero error nodes")
    if errors(parser, BROKEN):
        passed += 1
        print("ok    a deliberately broken snippet is reported (the check can fail)")
    else:
        failed += 1
        print("FAIL  a deliberately broken snippet parsed without errors: the check proves nothing")
    print(f"check_parse: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
