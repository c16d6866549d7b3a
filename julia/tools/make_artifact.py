#!/usr/bin/env python3
"""Packs a built libnatsbridge as the Julia artifact `libnatsbridge` (the layout a JLL package
gives) and writes its entry into an Artifacts.toml.

    make_artifact.py --lib target/release/libnatsbridge.so --header include/natsbridge.h \\
        --out dist/ [--url https://.../libnatsbridge-0.1.0-x86_64-linux-gnu.tar.gz] \\
        [--artifacts-toml julia/Artifacts.toml] [--install ~/.julia]

Makes `dist/libnatsbridge-VERSION-TRIPLET.tar.gz` holding `lib/libnatsbridge.so` (`bin/natsbridge.dll`
on Windows) and `include/natsbridge.h`, computes its git-tree-sha1 (what Julia's Artifacts
checks) and the tarball's sha256, and adds (or replaces) the entry for this platform in the
Artifacts.toml given (default `dist/Artifacts.toml`), with a download when `--url` is given.
`--install DEPOT` also unpacks the tree into `DEPOT/artifacts/<git-tree-sha1>/`, which is all Julia
needs to use it on this machine without any download.

`--self-test` checks the tree hash against git's own (`git write-tree`) and the written TOML;
it ends with `make_artifact: N passed, M failed`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path
from typing import Dict, List, Optional, Tuple


def git_tree_hash(root: Path) -> str:
    """The git tree hash of a directory (what Julia's `Pkg.GitTools.tree_hash` computes):
    blobs are `blob LEN\\0DATA`, trees list `MODE NAME\\0SHA` sorted git's way; empty
    directories are left out."""

    def blob(data: bytes) -> bytes:
        return hashlib.sha1(b"blob %d\0" % len(data) + data).digest()

    def tree(d: Path) -> Optional[bytes]:
        entries: List[Tuple[bytes, bytes, bytes]] = []  # (sort key, mode, sha)
        for p in d.iterdir():
            name = p.name.encode()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                entries.append((name, b"120000", blob(os.readlink(p).encode())))
            elif stat.S_ISDIR(st.st_mode):
                sub = tree(p)
                if sub is not None:
                    entries.append((name + b"/", b"40000", sub))
            else:
                mode = b"100755" if st.st_mode & stat.S_IXUSR else b"100644"
                entries.append((name, mode, blob(p.read_bytes())))
        if not entries:
            return None
        body = b"".join(mode + b" " + key.rstrip(b"/") + b"\0" + sha for key, mode, sha in sorted(entries))
        return hashlib.sha1(b"tree %d\0" % len(body) + body).digest()

    h = tree(root)
    if h is None:
        raise ValueError(f"{root} is empty")
    return h.hex()


def host_platform() -> Dict[str, str]:
    """The Artifacts.toml platform keys of this machine."""
    machine = os.uname().machine if hasattr(os, "uname") else "x86_64"
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        libc = "musl" if "musl" in (os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "") else "glibc"
        return {"os": "linux", "arch": arch, "libc": libc}
    if sys.platform == "darwin":
        return {"os": "macos", "arch": arch}
    if sys.platform.startswith("win"):
        return {"os": "windows", "arch": arch}
    return {"os": sys.platform, "arch": arch}


def triplet(p: Dict[str, str]) -> str:
    if p["os"] == "linux":
        return f"{p['arch']}-linux-{'gnu' if p.get('libc') == 'glibc' else 'musl'}"
    if p["os"] == "macos":
        return f"{p['arch']}-apple-darwin"
    if p["os"] == "windows":
        return f"{p['arch']}-w64-mingw32"
    return f"{p['arch']}-{p['os']}"


def lay_out(lib: Path, header: Optional[Path], tree: Path, platform: Dict[str, str]) -> None:
    libdir = tree / ("bin" if platform["os"] == "windows" else "lib")
    libdir.mkdir(parents=True)
    name = {"windows": "natsbridge.dll", "macos": "libnatsbridge.dylib"}.get(platform["os"], "libnatsbridge.so")
    shutil.copyfile(lib, libdir / name)
    os.chmod(libdir / name, 0o755)
    if header is not None:
        (tree / "include").mkdir()
        shutil.copyfile(header, tree / "include" / "natsbridge.h")
        os.chmod(tree / "include" / "natsbridge.h", 0o644)


def tarball(tree: Path, out: Path) -> str:
    """A reproducible .tar.gz of the tree's contents; returns its sha256."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for p in sorted(tree.rglob("*")):
            info = tar.gettarinfo(str(p), arcname=str(p.relative_to(tree)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if p.is_file():
                with open(p, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    data = gzip.compress(buf.getvalue(), mtime=0)
    out.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def toml_entry(name: str, tree_hash: str, platform: Dict[str, str], url: Optional[str], sha256: str) -> str:
    lines = [f"[[{name}]]"]
    for k in sorted(platform):
        lines.append(f'{k} = "{platform[k]}"')
    lines.append(f'git-tree-sha1 = "{tree_hash}"')
    if url:
        lines += ["", f"    [[{name}.download]]", f'    sha256 = "{sha256}"', f'    url = "{url}"']
    return "\n".join(lines) + "\n"


def write_artifacts_toml(path: Path, name: str, entry: str, platform: Dict[str, str]) -> None:
    """Adds `entry`, replacing an existing entry of `name` for the same platform."""
    kept: List[str] = []
    if path.exists():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for e in data.get(name, []):
            if all(e.get(k) == v for k, v in platform.items()):
                continue
            kept.append(toml_entry(name, e["git-tree-sha1"], {k: v for k, v in e.items() if isinstance(v, str) and k != "git-tree-sha1"},
                                   (e.get("download") or [{}])[0].get("url"), (e.get("download") or [{}])[0].get("sha256", "")))
    header = "# The libnatsbridge artifact (JLL layout), written by julia/tools/make_artifact.py.\n\n"
    path.write_text(header + "\n".join(kept + [entry]), encoding="utf-8")


def make(lib: Path, header: Optional[Path], out: Path, url: Optional[str], toml: Optional[Path],
         install: Optional[Path], version: str) -> Tuple[str, str, Path]:
    platform = host_platform()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        lay_out(lib, header, tree, platform)
        tree_hash = git_tree_hash(tree)
        tar = out / f"libnatsbridge-{version}-{triplet(platform)}.tar.gz"
        sha = tarball(tree, tar)
        if install is not None:
            dest = install / "artifacts" / tree_hash
            if not dest.exists():
                shutil.copytree(tree, dest, symlinks=True)
    toml_path = toml or out / "Artifacts.toml"
    write_artifacts_toml(toml_path, "libnatsbridge", toml_entry("libnatsbridge", tree_hash, platform, url, sha), platform)
    return tree_hash, sha, toml_path


def self_test() -> int:
    passed = failed = 0

    def result(ok: bool, what: str, why: str = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok    {what}")
        else:
            failed += 1
            print(f"FAIL  {what}: {why}")

    with tempfile.TemporaryDirectory(prefix="nb-artifact-") as tmp:
        t = Path(tmp)
        lib = t / "libnatsbridge.so"
        lib.write_bytes(b"\x7fELF not really a library, only bytes to pack\n")
        hdr = t / "natsbridge.h"
        hdr.write_text("/* header */\n")
        tree = t / "tree"
        lay_out(lib, hdr, tree, {"os": "linux", "arch": "x86_64", "libc": "glibc"})
        ours = git_tree_hash(tree)
        if shutil.which("git"):
            base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
            subprocess.run(["git", "init", "-q", "--bare", str(t / "git")], check=True, env=base)
            env = dict(base, GIT_DIR=str(t / "git"), GIT_WORK_TREE=str(tree), GIT_INDEX_FILE=str(t / "index"))
            subprocess.run(["git", "-c", "core.filemode=true", "add", "-A"], check=True, env=env, cwd=tree)
            theirs = subprocess.run(["git", "write-tree"], check=True, env=env, capture_output=True, text=True).stdout.strip()
            result(ours == theirs, "git-tree-sha1 equals git's own tree hash (exec bit included)", f"{ours} != {theirs}")
        else:
            print("info  git not found: tree hash not compared")
        out = t / "dist"
        tree_hash, sha, toml_path = make(lib, hdr, out, "https://example.invalid/libnatsbridge.tar.gz", None, t / "depot", "0.0.0")
        data = tomllib.loads(toml_path.read_text())
        entry = data["libnatsbridge"][0]
        result(entry["git-tree-sha1"] == tree_hash and entry["download"][0]["sha256"] == sha,
               "Artifacts.toml records the tree hash and the tarball's sha256", str(entry))
        tar = next(out.glob("*.tar.gz"))
        result(hashlib.sha256(tar.read_bytes()).hexdigest() == sha, "the sha256 is the tarball's", tar.name)
        with tarfile.open(tar) as tf:
            names = sorted(m.name for m in tf.getmembers() if m.isfile())
        want = ["include/natsbridge.h", "lib/libnatsbridge.so"] if host_platform()["os"] == "linux" else names
        result(names == want, "the tarball has the JLL layout", str(names))
        installed = t / "depot" / "artifacts" / tree_hash
        result(installed.is_dir() and git_tree_hash(installed) == tree_hash,
               "--install puts the tree where Julia looks for it, unchanged", str(installed))
        # A second run for the same platform replaces the entry instead of adding one.
        make(lib, hdr, out, None, toml_path, None, "0.0.1")
        data = tomllib.loads(toml_path.read_text())
        result(len(data["libnatsbridge"]) == 1, "a new build replaces the platform's entry", str(data))
    print(f"make_artifact: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", type=Path)
    ap.add_argument("--header", type=Path)
    ap.add_argument("--out", type=Path, default=Path("dist"))
    ap.add_argument("--url")
    ap.add_argument("--artifacts-toml", type=Path)
    ap.add_argument("--install", type=Path, help="a Julia depot (e.g. ~/.julia) to unpack the artifact into")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args(argv)
    if a.self_test:
        return self_test()
    if a.lib is None:
        ap.error("--lib is required")
    tree_hash, sha, toml_path = make(a.lib, a.header, a.out, a.url, a.artifacts_toml, a.install, a.version)
    print(f"git-tree-sha1 {tree_hash}\nsha256 {sha}\nwrote {toml_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
