"""Writes bench/RESULTS.md (one combined table) and bench/throughput.png from the JSON lines the
language benchmarks appended during one `make bench` run (scripts/bench.sh runs this).

    python bench/report.py --json RESULTS.jsonl --started 2026-11-25T19:00:00Z --out bench/RESULTS.md \
        --png bench/throughput.png [--details rust.md python.md node.md] [--versions versions.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional

LANGS = [("rust", "Rust"), ("python", "Python"), ("node", "Node.js")]
BASELINES = {"rust": "pure Rust (seed.rs)", "python": "pure Python (seed_impl.py)", "node": "pure JS (seed.js)"}
RAW = {"rust": "async-nats", "python": "nats-py", "node": "nats.js"}
# Targets of issue 9.
FILE_MIN_RATIO = 0.70
RSS_MAX_MIB = 64.0
RPC_MAX_RATIO = 1.2


def load(path: Path) -> Dict[str, List[Dict[str, Any]]]:
    by_lang: Dict[str, List[Dict[str, Any]]] = {lang: [] for lang, _ in LANGS}
    seen = set()
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            key = (rec["lang"], rec["metric"], rec.get("size"))
            if key in seen:
                raise SystemExit(f"{path}: {key} appears twice: results of two runs are mixed")
            seen.add(key)
            by_lang.setdefault(rec["lang"], []).append(rec)
    return by_lang


def one(recs: List[Dict[str, Any]], metric: str) -> Optional[Dict[str, Any]]:
    found = [r for r in recs if r["metric"] == metric]
    return found[0] if found else None


def size_label(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def num(x: Optional[float], digits: int = 1) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def ratio(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×" if a / b >= 0.1 else f"{a / b:.2g}×"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(by_lang: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    lines = [
        "| language | row | ours | pure-language baseline | raw NATS | ours ÷ baseline | ours ÷ raw | target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for lang, name in LANGS:
        recs = by_lang.get(lang, [])
        for r in sorted((r for r in recs if r["metric"] == "throughput"), key=lambda r: r["size"]):
            lines.append(
                f"| {name} | {r['label']} ({r['transport']}), MB/s | {num(r['ours_mbps'])} | {num(r['baseline_mbps'])} "
                f"| {num(r['raw_mbps'])} | {ratio(r['ours_mbps'], r['baseline_mbps'])} "
                f"| {ratio(r['ours_mbps'], r['raw_mbps'])} | |"
            )
        f = one(recs, "file")
        if f:
            share = f["ours_mbps"] / f["baseline_mbps"]
            note = "" if f.get("sender_from_file", True) else " ¹"
            lines.append(
                f"| {name} | {size_label(f['size'])} by link, file to file{note}, MB/s | {num(f['ours_mbps'])} "
                f"| {num(f['baseline_mbps'])} (plain HTTP up + down) | — | {share:.2f}× | — "
                f"| ≥ {FILE_MIN_RATIO:.2f}×: {verdict(share >= FILE_MIN_RATIO)} |"
            )
            rss = f["peak_rss_above_idle_mib"]
            lines.append(
                f"| {name} | {size_label(f['size'])} by link{note}: peak RSS above idle, MiB | {num(rss)} | — | — | — | — "
                f"| ≤ {RSS_MAX_MIB:.0f} MiB: {verdict(rss <= RSS_MAX_MIB)} |"
            )
        q = one(recs, "rpc")
        if q:
            p50 = q["ours_p50_ms"] / q["raw_p50_ms"]
            lines.append(
                f"| {name} | 100-byte request-reply p50, ms | {num(q['ours_p50_ms'], 3)} | — | {num(q['raw_p50_ms'], 3)} "
                f"| — | {p50:.2f}× | ≤ {RPC_MAX_RATIO:.1f}×: {verdict(p50 <= RPC_MAX_RATIO)} |"
            )
            lines.append(
                f"| {name} | 100-byte request-reply p99, ms | {num(q['ours_p99_ms'], 3)} | — | {num(q['raw_p99_ms'], 3)} "
                f"| — | {ratio(q['ours_p99_ms'], q['raw_p99_ms'])} | |"
            )
    return lines


def targets(by_lang: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    lines = []
    for lang, name in LANGS:
        recs = by_lang.get(lang, [])
        f, q = one(recs, "file"), one(recs, "rpc")
        parts = []
        if f:
            share = f["ours_mbps"] / f["baseline_mbps"]
            parts.append(f"{size_label(f['size'])} by link at {share:.0%} of plain HTTP ({verdict(share >= FILE_MIN_RATIO)})")
            rss = f["peak_rss_above_idle_mib"]
            parts.append(f"peak RSS +{rss:.1f} MiB ({verdict(rss <= RSS_MAX_MIB)})")
        if q:
            p50 = q["ours_p50_ms"] / q["raw_p50_ms"]
            parts.append(f"request-reply p50 {p50:.2f}× raw {RAW[lang]} ({verdict(p50 <= RPC_MAX_RATIO)})")
        if parts:
            lines.append(f"- {name}: " + "; ".join(parts) + ".")
    return lines


def plot(by_lang: Dict[str, List[Dict[str, Any]]], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = [(lang, name) for lang, name in LANGS if by_lang.get(lang)]
    fig, axes = plt.subplots(1, len(langs), figsize=(4.2 * len(langs), 4), sharey=True, squeeze=False)
    for ax, (lang, name) in zip(axes[0], langs):
        recs = by_lang[lang]
        points = sorted((r for r in recs if r["metric"] == "throughput"), key=lambda r: r["size"])
        f = one(recs, "file")
        sizes = [r["size"] for r in points] + ([f["size"]] if f else [])
        ours = [r["ours_mbps"] for r in points] + ([f["ours_mbps"]] if f else [])
        base = [r["baseline_mbps"] for r in points] + ([f["baseline_mbps"]] if f else [])
        ax.plot(sizes, ours, "o-", label="natsbridge")
        ax.plot(sizes, base, "s--", label=f"{BASELINES[lang]} / plain HTTP (file)")
        # By link, raw NATS moves only the envelope: no point on the same scale.
        direct = [r for r in points if r["transport"] == "direct"]
        ax.plot([r["size"] for r in direct], [r["raw_mbps"] for r in direct], "^:", label=f"raw {RAW[lang]} (same envelope bytes)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [size_label(s) + (" file" if f and s == f["size"] else "") for s in sizes])
        ax.set_title(name)
        ax.set_xlabel("payload size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("throughput, MB/s (payload bytes)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True, type=Path, help="the JSON lines of one run")
    ap.add_argument("--started", required=True, help="when the run started (UTC)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--png", required=True, type=Path)
    ap.add_argument("--versions", type=Path, help="JSON object: tool name -> version")
    ap.add_argument("--details", nargs="*", type=Path, default=[], help="markdown the benchmarks printed in the run")
    ap.add_argument("--quick", action="store_true", help="the run was a quick one (not for committing)")
    args = ap.parse_args()

    by_lang = load(args.json)
    versions: Dict[str, str] = json.loads(args.versions.read_text()) if args.versions else {}
    for lang, _ in LANGS:
        env = one(by_lang.get(lang, []), "env")
        if env:
            versions.setdefault(env["runtime"].split()[0], env["runtime"].split(maxsplit=1)[1])
    cores = os.cpu_count()
    machine = f"{cores} cores, {platform.machine()}"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        machine += f" ({model})"
    except (OSError, StopIteration):
        pass
    title = f"make bench, {args.started[:10]}, {cores} cores" + (" (quick run)" if args.quick else "")
    plot(by_lang, args.png, title)

    out = [
        "# Benchmark results",
        "",
        f"One run of `make bench`{' (quick mode: not for committing)' if args.quick else ''} on one machine: "
        f"{machine}, started {args.started}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "Every figure below comes from this run; within a language the three implementations run interleaved.",
        "",
        "| | |",
        "|---|---|",
        "| ours | natsbridge through the language's binding: smartsend + a subscription, smartrequest + reply |",
        "| pure-language baseline | the seed's design written in the language itself (bench/rust/src/seed.rs, "
        "bench/python/seed_impl.py, bench/node/seed.js); for the file transfer, a plain HTTP upload + download of "
        "the same file to the same file server |",
        "| raw NATS | the language's NATS client publishing and receiving the very envelope bytes natsbridge sends "
        "(no encoding or decoding); for request-reply, its request against a responder that echoes |",
        "",
        "Throughput counts payload bytes over sequential send + receive round trips (sender and receiver in one "
        "process). Ratios divide the row's own figures: above 1 in a MB/s row means ours is faster, in a ms row "
        "slower. At 8 MiB the payload goes by link (uploaded to and fetched from the file server), so raw NATS "
        "there moves only the small envelope: that ratio is the claim-check cost, not overhead.",
        "",
        *table(by_lang),
        "",
    ]
    if any(not (one(r, "file") or {}).get("sender_from_file", True) for r in by_lang.values()):
        out += [
            "¹ The binding cannot send a payload from a file, so its sender reads the file into memory first "
            "(the receiver still streams to a file); the peak RSS includes that copy.",
            "",
        ]
    out += ["Targets (issue 9):", "", *targets(by_lang), "", f"![throughput by size]({args.png.name})", ""]
    if args.details:
        out += ["## Details from the same run", ""]
        for d in args.details:
            text = d.read_text().strip()
            if text:
                out += [text, ""]
    args.out.write_text("\n".join(out))


if __name__ == "__main__":
    main()
