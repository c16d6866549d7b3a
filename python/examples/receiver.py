"""A Python receiver for the demo: prints every envelope that arrives on a subject.

    python receiver.py SUBJECT [--server nats://localhost:4222] [--count N] [--ready-file PATH]

Tables are printed as pandas DataFrames (pyarrow Tables when pandas is missing), bytes as their
length and first bytes. With --ready-file, the file is created once the subscription is in place
(for scripts that start a sender afterwards). Uses the blocking API: Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import pathlib

from natsbridge import DEFAULT_BROKER_URL, sync


def describe(value: object) -> str:
    if isinstance(value, bytes):
        return f"{len(value)} bytes {value[:8].hex()}{'...' if len(value) > 8 else ''}"
    return str(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("subject")
    ap.add_argument("--server", default=DEFAULT_BROKER_URL, help="NATS URL (default: $NATS_URL or nats://localhost:4222)")
    ap.add_argument("--count", type=int, default=0, help="exit after this many envelopes (0: never)")
    ap.add_argument("--ready-file", type=pathlib.Path)
    args = ap.parse_args()
    try:
        import pandas  # noqa: F401

        table_type = "pandas"
    except ImportError:
        table_type = "pyarrow"
    with sync.Bridge(args.server, table_type=table_type) as bridge:
        sub = bridge.subscribe(args.subject)
        if args.ready_file:
            args.ready_file.touch()
        print(f"python receiver listening on {args.subject}", flush=True)
        for n, env in enumerate(sub, 1):
            print(f"[python] envelope {env['msg_id']} from {env['sender_name']} ({env['msg_purpose']})")
            for p in env["payloads"]:
                print(f"  {p.dataname} ({p.type}, {p.transport}, {p.size} bytes): {describe(p.data)}")
            print(flush=True)
            if args.count and n >= args.count:
                break


if __name__ == "__main__":
    main()
