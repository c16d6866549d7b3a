"""The README's examples run as written (```python blocks), against the test servers, with the
installed package; and the package is the installed wheel, typed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import natsbridge

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks() -> List[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(blocks())))
def test_readme_example_runs(index: int, nats_url: str, fileserver: str, tmp_path: Path) -> None:
    code = blocks()[index].replace("nats://localhost:4222", nats_url).replace("http://localhost:8080", fileserver)
    env = dict(os.environ, NATS_URL=nats_url, NATSBRIDGE_FILESERVER=fileserver)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, f"example {index} failed:\n{code}\n--- stderr ---\n{result.stderr}"


def test_the_installed_wheel_is_tested() -> None:
    """Not an in-place import of the source tree: the package comes from site-packages, with
    its stubs and py.typed marker."""
    pkg = Path(natsbridge.__file__).parent
    assert "site-packages" in pkg.parts, pkg
    assert (pkg / "py.typed").exists()
    assert (pkg / "_natsbridge.pyi").exists()
    assert natsbridge._natsbridge.__file__.endswith((".abi3.so", ".pyd"))


def test_every_public_function_has_a_docstring() -> None:
    import inspect

    from natsbridge import sync

    for module in (natsbridge, sync):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert obj.__doc__, f"{module.__name__}.{name}"
            if inspect.isclass(obj) and obj.__module__.startswith("natsbridge"):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        assert member.__doc__, f"{module.__name__}.{name}.{attr}"
