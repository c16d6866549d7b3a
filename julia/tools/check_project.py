#!/usr/bin/env python3
"""Package check of NATSBridge.jl without a Julia runtime (what `Pkg` would refuse at load time):

  Project.toml   reads as TOML; name NATSBridge; a real (version 4, non-nil) UUID; a version;
                 the required dependencies (JSON3, Arrow, DataFrames, Tables) with their
                 registered UUIDs; every dependency and extra has a known UUID; compat bounds for
                 julia and every non-stdlib dependency, in Pkg's syntax; the test target names
                 extras that exist.
  using/import   every package a file under src/ loads is a dependency; every package a file
                 under test/ loads is a dependency, a test extra, or NATSBridge itself.
  Artifacts.toml (when present) describes `libnatsbridge` with a git-tree-sha1 and downloads
                 (url + sha256) for each platform.

Ends with `check_project: N passed, M failed`; exits 1 on any failure.
Usage: check_project.py JULIA_PACKAGE_DIR
"""

from __future__ import annotations

import re
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Dict, List, Set

import tree_sitter_julia
from tree_sitter import Language, Node, Parser

# Registered UUIDs of the packages this package may depend on (General registry and stdlibs).
KNOWN_UUIDS: Dict[str, str] = {
    "Arrow": "69666777-d1a9-59fb-9406-91d4454c9d45",
    "DataFrames": "a93c6f00-e57d-5684-b7b6-d8193f3e46c0",
    "JSON3": "0f8b85d8-7281-11e9-16c2-39a750bddbf1",
    "Tables": "bd369af6-aec1-5ad0-b16a-f7cc5008161c",
    "HTTP": "cd3eb016-35fb-5094-929b-558a96fad6f3",
    # stdlibs
    "Artifacts": "56f22d72-fd6d-98f1-02f0-08ddc0907c33",
    "Base64": "2a0f44e3-6c83-55bd-87e4-b1978d98bd5f",
    "Dates": "ade2ca70-3891-5945-98fb-dc099432e06a",
    "Libdl": "8f399da3-3557-5675-b5ff-fb832c97cbdb",
    "Random": "9a3f8284-a2c9-5f02-9a11-845980a1fd5c",
    "SHA": "ea8e919c-243c-51af-8825-aaa63cd721ce",
    "Sockets": "6462fe0b-24de-5631-8697-dd941f90decc",
    "Test": "8dfed614-e22c-5e08-85e1-65c5234f0b40",
    "UUIDs": "cf7118a7-6976-5b1a-9a39-7adc72f591a4",
}
STDLIBS = {"Artifacts", "Base64", "Dates", "Libdl", "Random", "SHA", "Sockets", "Test", "UUIDs"}
REQUIRED_DEPS = ("JSON3", "Arrow", "DataFrames", "Tables")
ALWAYS_THERE = {"Base", "Core", "Main"}
# One compat entry: comma-separated specifiers, each `[^~=]?X[.Y[.Z]]` or a range `X - Y` or `>= X`.
COMPAT_ITEM = re.compile(r"^\s*(\^|~|=|>=|≥|<|<=)?\s*\d+(\.\d+){0,2}(\s*-\s*\d+(\.\d+){0,2})?\s*$")


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, what: str, problems: List[str]) -> None:
        if problems:
            self.failed += 1
            print(f"FAIL  {what}: {'; '.join(problems)}")
        else:
            self.passed += 1
            print(f"ok    {what}")


def loaded_packages(parser: Parser, path: Path) -> Set[str]:
    """Top-level package names of every `using` / `import` in a file (relative `.X` skipped)."""
    src = path.read_bytes()
    names: Set[str] = set()

    def first_identifier(n: Node) -> str | None:
        if n.type == "identifier":
            return src[n.start_byte : n.end_byte].decode()
        if n.type == "import_path":
            return None  # `.Local`: a module of this package
        for c in n.named_children:
            return first_identifier(c)
        return None

    def walk(n: Node) -> None:
        if n.type in ("using_statement", "import_statement"):
            for c in n.named_children:
                name = first_identifier(c)
                if name:
                    names.add(name)
            return
        for c in n.children:
            walk(c)

    walk(parser.parse(src).root_node)
    return names


def main(argv: List[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    pkg = Path(argv[0])
    r = Report()
    try:
        project = tomllib.loads((pkg / "Project.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        r.check("Project.toml reads as TOML", [str(e)])
        print(f"check_project: {r.passed} passed, {r.failed} failed")
        return 1
    r.check("Project.toml reads as TOML", [])

    problems = []
    if project.get("name") != "NATSBridge":
        problems.append(f"name is {project.get('name')!r}")
    try:
        u = uuid.UUID(project.get("uuid", ""))
        if u.int == 0 or u.version != 4:
            problems.append(f"uuid {u} is not a random (version 4) UUID")
    except ValueError:
        problems.append(f"uuid {project.get('uuid')!r} is not a UUID")
    if not re.fullmatch(r"\d+\.\d+\.\d+", str(project.get("version", ""))):
        problems.append(f"version {project.get('version')!r} is not X.Y.Z")
    r.check("name, UUID and version", problems)

    deps: Dict[str, str] = project.get("deps", {})
    extras: Dict[str, str] = project.get("extras", {})
    compat: Dict[str, str] = project.get("compat", {})
    problems = [f"{d} is not a dependency" for d in REQUIRED_DEPS if d not in deps]
    r.check(f"depends on {', '.join(REQUIRED_DEPS)}", problems)

    problems = []
    for name, u in list(deps.items()) + list(extras.items()):
        known = KNOWN_UUIDS.get(name)
        if known is None:
            problems.append(f"{name}: UUID not known to this check (add it to KNOWN_UUIDS after verifying it)")
        elif known != u:
            problems.append(f"{name}: UUID {u} is not the registered {known}")
    r.check(f"every dependency and extra has its registered UUID ({len(deps) + len(extras)})", problems)

    problems = []
    if "julia" not in compat:
        problems.append("no compat bound for julia")
    for name in deps:
        if name not in STDLIBS and name not in compat:
            problems.append(f"no compat bound for {name}")
    for name, spec in compat.items():
        if name != "julia" and name not in deps and name not in extras:
            problems.append(f"compat for {name}, which is no dependency")
        if not all(COMPAT_ITEM.match(item) for item in str(spec).split(",")):
            problems.append(f"compat {name} = {spec!r} is not Pkg syntax")
    r.check("compat bounds for julia and every non-stdlib dependency", problems)

    targets = project.get("targets", {})
    test_target = targets.get("test", [])
    problems = [f"test target names {t}, which is not in [extras]" for t in test_target if t not in extras]
    if "Test" not in test_target:
        problems.append("the test target lacks Test")
    r.check("test target", problems)

    parser = Parser(Language(tree_sitter_julia.language()))
    for sub, allowed, what in (
        ("src", set(deps) | ALWAYS_THERE, "dependencies"),
        ("test", set(deps) | set(test_target) | ALWAYS_THERE | {"NATSBridge"}, "dependencies, test extras or NATSBridge"),
    ):
        for path in sorted((pkg / sub).rglob("*.jl")):
            used = loaded_packages(parser, path)
            bad = sorted(used - allowed)
            r.check(f"{path.relative_to(pkg)} loads only {what} ({', '.join(sorted(used)) or 'nothing'})",
                    [f"{b} is not declared" for b in bad])

    art = pkg / "Artifacts.toml"
    if art.exists():
        problems = []
        try:
            data = tomllib.loads(art.read_text(encoding="utf-8"))
            entries = data.get("libnatsbridge")
            if entries is None:
                problems.append("no `libnatsbridge` artifact")
            else:
                for e in entries if isinstance(entries, list) else [entries]:
                    if not re.fullmatch(r"[0-9a-f]{40}", str(e.get("git-tree-sha1", ""))):
                        problems.append("an entry without a 40-hex git-tree-sha1")
                    for d in e.get("download", []):
                        if not re.fullmatch(r"[0-9a-f]{64}", str(d.get("sha256", ""))) or not d.get("url"):
                            problems.append("a download without url and 64-hex sha256")
        except tomllib.TOMLDecodeError as e:
            problems.append(str(e))
        r.check("Artifacts.toml describes libnatsbridge", problems)
    else:
        print("info  no Artifacts.toml (julia/tools/make_artifact.py writes one for a release)")

    print(f"check_project: {r.passed} passed, {r.failed} failed")
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
