#!/usr/bin/env python3
"""Self-test of check_contract.py: deliberately broken copies of the Julia sources (and of the
header) must make the contract test fail, with a message that names what is wrong.

Each case copies julia/src (and include/natsbridge.h) into a temporary directory, applies one
mutation (a regular expression that must match exactly once), runs the checker on the copy and
expects exit status 1 and the given text in its output. The unmutated copy must pass. Ends with
`contract_selftest: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent


@dataclass
class Mutation:
    name: str
    file: str  # "capi.jl", "handlers.jl", ... under src; "HEADER"; or "TEST:name.jl" under the tests
    pattern: str  # regex, must match exactly once
    replacement: str
    expect: str  # text the checker's output must contain


MUTATIONS: List[Mutation] = [
    Mutation(
        "wrong symbol",
        "capi.jl",
        r"ccall\(_sym\(:nb_smartsend\)",
        "ccall(_sym(:nb_smartsendd)",
        "the header has no function nb_smartsendd",
    ),
    Mutation(
        "wrong argument count (type and value dropped)",
        "capi.jl",
        r"\(Ptr\{Cvoid\}, Cstring, Ptr\{Cvoid\}, Ptr\{Cvoid\}, Ref\{Ptr\{Cvoid\}\}\),\n(\s*)client, subject, payloads, options, sent\)",
        r"(Ptr{Cvoid}, Cstring, Ptr{Cvoid}, Ptr{Cvoid}),\n\1client, subject, payloads, options)",
        "4 argument types, the C function takes 5",
    ),
    Mutation(
        "argument types and values disagree",
        "capi.jl",
        r"\(Ptr\{Cvoid\}, Int64, Ref\{Ptr\{Cvoid\}\}\), subscription, timeout_ms, envelope\)",
        "(Ptr{Cvoid}, Ref{Ptr{Cvoid}}), subscription, timeout_ms, envelope)",
        "2 argument types but 3 values passed",
    ),
    Mutation(
        "wrong integer type (size_t as Cint)",
        "capi.jl",
        r"\(Ptr\{Cvoid\}, Cstring, Ptr\{UInt8\}, Csize_t\), payloads, dataname, text, len\)",
        "(Ptr{Cvoid}, Cstring, Ptr{UInt8}, Cint), payloads, dataname, text, len)",
        "argument 4 (len, C size_t)",
    ),
    Mutation(
        "wrong pointer depth (T ** as T *)",
        "capi.jl",
        r"ccall\(_sym\(:nb_payloads_new\), Cint, \(Ref\{Ptr\{Cvoid\}\},\)",
        "ccall(_sym(:nb_payloads_new), Cint, (Ptr{Cvoid},)",
        "pointer depth differs",
    ),
    Mutation(
        "Cstring for bytes (const uint8_t *)",
        "capi.jl",
        r"\(Ptr\{UInt8\}, Csize_t, Ptr\{Cvoid\}, Ref\{Ptr\{Cvoid\}\}\),\n(\s*)message, len",
        r"(Cstring, Csize_t, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),\n\1message, len",
        "argument 1 (message, C uint8_t *)",
    ),
    Mutation(
        "wrong return type",
        "capi.jl",
        r"ccall\(_sym\(:nb_client_close\), Cint,",
        "ccall(_sym(:nb_client_close), Cvoid,",
        "return type Cvoid",
    ),
    Mutation(
        "platform-dependent integer type",
        "capi.jl",
        r"ccall\(_sym\(:nb_client_flush\), Cint, \(Ptr\{Cvoid\}, Int64\)",
        "ccall(_sym(:nb_client_flush), Cint, (Ptr{Cvoid}, Int)",
        "argument 2 (timeout_ms, C int64_t)",
    ),
    Mutation(
        "bool as Cint",
        "capi.jl",
        r"ccall\(_sym\(:nb_send_options_set_is_publish\), Cint, \(Ptr\{Cvoid\}, Bool\)",
        "ccall(_sym(:nb_send_options_set_is_publish), Cint, (Ptr{Cvoid}, Cint)",
        "argument 2 (is_publish, C bool)",
    ),
    Mutation(
        "struct passed as a pointer",
        "capi.jl",
        r"\(Ptr\{Cvoid\}, nb_upload_handler_t\), options, handler\)",
        "(Ptr{Cvoid}, Ptr{Cvoid}), options, handler)",
        "argument 2 (handler, C struct nb_upload_handler_t)",
    ),
    Mutation(
        "@cfunction argument type",
        "handlers.jl",
        r"\(Ptr\{Cvoid\}, Cstring, Cstring, Ptr\{UInt8\}, Csize_t, Ptr\{Cvoid\}\)\)",
        "(Ptr{Cvoid}, Cstring, Cstring, Ptr{UInt8}, UInt32, Ptr{Cvoid}))",
        "argument 5 (len, C size_t) as UInt32",
    ),
    Mutation(
        "@cfunction argument count",
        "handlers.jl",
        r"\(Ptr\{Cvoid\}, Cstring, UInt64, UInt32, UInt64, UInt64, Ptr\{Cvoid\}\)\)",
        "(Ptr{Cvoid}, Cstring, UInt64, UInt32, UInt64, Ptr{Cvoid}))",
        "6 argument types, nb_download_handler_t.call takes 7",
    ),
    Mutation(
        "@cfunction return type",
        "handlers.jl",
        r"@cfunction\(_upload_trampoline, Cint,",
        "@cfunction(_upload_trampoline, Cvoid,",
        "@cfunction _upload_trampoline as nb_upload_handler_t.call",
    ),
    Mutation(
        "@cfunction outside a handler struct",
        "handlers.jl",
        r"nb_download_handler_t\(\n(\s*)pointer_from_objref\(box\),",
        r"identity(\n\1pointer_from_objref(box),",
        "identity is not a struct of the header",
    ),
    Mutation(
        "handler struct field missing",
        "capi.jl",
        r"struct nb_download_handler_t\n    context::Ptr\{Cvoid\}\n    call::Ptr\{Cvoid\}\n    drop::Ptr\{Cvoid\}\nend",
        "struct nb_download_handler_t\n    context::Ptr{Cvoid}\n    call::Ptr{Cvoid}\nend",
        "struct nb_download_handler_t",
    ),
    Mutation(
        "constant value",
        "capi.jl",
        r"const NB_ERR_TIMEOUT = 13\n",
        "const NB_ERR_TIMEOUT = 31\n",
        "const NB_ERR_TIMEOUT",
    ),
    Mutation(
        "error kind renamed",
        "errors.jl",
        r"\(13, :Timeout,",
        "(13, :TimedOut,",
        "Julia TimedOut is not NB_ERR_TIMEOUT",
    ),
    Mutation(
        "symbol not in _NB_SYMBOLS",
        "lib.jl",
        r":nb_client_flush,",
        "",
        "ccall'ed but not listed",
    ),
    Mutation(
        "call of an undefined internal function",
        "handles.jl",
        r"_check\(new_fn\(out\)\)",
        "_chekc(new_fn(out))",
        "_chekc",
    ),
    Mutation(
        "exported name not defined",
        "NATSBridge.jl",
        r"export NATSBridgeError, Envelope, PayloadFile",
        "export NATSBridgeError, Envelope, PayloadFile, PayloadFiles",
        "PayloadFiles",
    ),
    Mutation(
        "the tests use a name the package does not define",
        "TEST:runtests.jl",
        r"Dict\(i\.dataname => i for i in NATSBridge\.payload_info\(got\)\)",
        "Dict(i.dataname => i for i in NATSBridge.payload_infos(got))",
        "payload_infos",
    ),
    Mutation(
        "the header gains a parameter",
        "HEADER",
        r"nb_result_t nb_client_flush\(const struct nb_client_t \*client,\n(\s*)int64_t timeout_ms\);",
        r"nb_result_t nb_client_flush(const struct nb_client_t *client,\n\1int64_t timeout_ms,\n\1bool wait);",
        "2 argument types, the C function takes 3",
    ),
    Mutation(
        "the header changes a parameter type",
        "HEADER",
        r"nb_result_t nb_payloads_add_file\(struct nb_payloads_t \*payloads,\n(\s*)const char \*dataname,\n(\s*)nb_payload_type_t payload_type,",
        r"nb_result_t nb_payloads_add_file(struct nb_payloads_t *payloads,\n\1const char *dataname,\n\2int64_t payload_type,",
        "argument 3 (payload_type, C int64_t)",
    ),
    Mutation(
        "the header drops a function",
        "HEADER",
        r"nb_result_t nb_envelope_delivered\(",
        "nb_result_t nb_envelope_delivered_count(",
        "the header has no function nb_envelope_delivered",
    ),
]


def run_checker(header: Path, src: Path, tests: Path, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(HERE / "check_contract.py"), "--header", str(header), "--src", str(src),
         "--tests", str(tests), "--root", str(root)],
        capture_output=True,
        text=True,
    )


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--header", required=True, type=Path)
    ap.add_argument("--src", required=True, type=Path)
    ap.add_argument("--tests", required=True, type=Path)
    a = ap.parse_args(argv)
    passed = failed = 0

    def result(ok: bool, what: str, why: str = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok    {what}")
        else:
            failed += 1
            print(f"FAIL  {what}: {why}")

    with tempfile.TemporaryDirectory(prefix="nb-contract-") as tmp:
        tmpdir = Path(tmp)
        # The unmutated copy passes.
        src0, header0, tests0 = tmpdir / "src0", tmpdir / "natsbridge0.h", tmpdir / "test0"
        shutil.copytree(a.src, src0)
        shutil.copytree(a.tests, tests0)
        shutil.copyfile(a.header, header0)
        p = run_checker(header0, src0, tests0, tmpdir)
        result(p.returncode == 0, "the unmutated sources pass", p.stdout[-2000:] + p.stderr[-2000:])
        for i, m in enumerate(MUTATIONS, start=1):
            what = f"mutation {i}: {m.name} is caught"
            src, header, tests = tmpdir / f"src{i}", tmpdir / f"natsbridge{i}.h", tmpdir / f"test{i}"
            shutil.copytree(a.src, src)
            shutil.copytree(a.tests, tests)
            shutil.copyfile(a.header, header)
            if m.file == "HEADER":
                target = header
            elif m.file.startswith("TEST:"):
                target = tests / m.file[len("TEST:"):]
            else:
                target = src / m.file
            text = target.read_text(encoding="utf-8")
            new, n = re.subn(m.pattern, m.replacement, text)
            if n != 1:
                result(False, what, f"the mutation matched {n} times in {m.file} (the sources changed: update the self-test)")
                continue
            target.write_text(new, encoding="utf-8")
            p = run_checker(header, src, tests, tmpdir)
            out = p.stdout + p.stderr
            if p.returncode == 0:
                result(False, what, "the contract test passed on broken sources")
            elif m.expect not in out:
                fails = "\n".join(l for l in out.splitlines() if l.startswith("FAIL"))
                result(False, what, f"it failed, but without {m.expect!r}:\n{fails}")
            else:
                result(True, what)
    print(f"contract_selftest: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
