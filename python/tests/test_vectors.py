"""The golden vectors of tests/vectors (see its README): every valid vector decodes to its expected
file, every invalid one fails with its error kind; decoded payloads re-sent decode the same."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List

import pyarrow as pa
import pytest

import natsbridge
from conftest import VECTORS

INDEX = json.loads((VECTORS / "index.json").read_text())
ARROW_NAMES = {pa.int64(): "int64", pa.float64(): "float64", pa.string(): "utf8", pa.bool_(): "bool"}


def strict_equal(a: Any, b: Any) -> bool:
    """Structural JSON equality where true is not 1 (numbers compare by value)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def value_json(type_: str, value: Any) -> Dict[str, Any]:
    if type_ == "text":
        assert isinstance(value, str)
        return {"text": value}
    if type_ == "dictionary":
        return {"json": value}
    if type_ == "table":
        assert isinstance(value, pa.Table)
        columns = [[f.name, ARROW_NAMES.get(f.type, str(f.type))] for f in value.schema]
        rows = [[row[f.name] for f in value.schema] for row in value.to_pylist()]
        return {"table": {"columns": columns, "rows": rows}}
    assert type(value) is bytes
    return {"base64": base64.b64encode(value).decode()}


def expected_shape(env: Dict[str, Any]) -> Dict[str, Any]:
    header = {k: v for k, v in env.items() if k != "payloads"}
    payloads: List[Dict[str, Any]] = []
    for p in env["payloads"]:
        entry = {
            "dataname": p[0],
            "payload_type": p[2],
            "transport": p.transport,
            "size": p.size,
            "value": value_json(p[2], p[1]),
        }
        if p.metadata is not None:
            entry["metadata"] = p.metadata
        payloads.append(entry)
    return {"header": header, "payloads": payloads}


def raw(kind: str, name: str, base: str) -> bytes:
    path = VECTORS / kind / (f"{name}.json" if kind == "valid" else f"{name}.bin")
    return path.read_bytes().replace(b"{{FILESERVER}}", base.encode())


@pytest.mark.parametrize("name", INDEX["valid"])
async def test_valid_vector(name: str, vector_server: str) -> None:
    expected = json.loads((VECTORS / "valid" / f"{name}.expected.json").read_text())
    env = await natsbridge.smartreceive(raw("valid", name, vector_server), table_type="pyarrow")
    got = expected_shape(env)
    assert strict_equal(got, expected), json.dumps(got, indent=1, default=str)[:3000]


@pytest.mark.parametrize("name", INDEX["invalid"])
async def test_invalid_vector(name: str, vector_server: str) -> None:
    kind = json.loads((VECTORS / "invalid" / f"{name}.expected.json").read_text())["error"]
    with pytest.raises(natsbridge.NATSBridgeError) as info:
        await natsbridge.smartreceive(raw("invalid", name, vector_server), max_retries=2, base_delay=1, max_delay=5)
    assert info.value.kind == kind, str(info.value)
    assert type(info.value) is natsbridge.CLASSES_BY_KIND[kind]


@pytest.mark.parametrize("name", INDEX["valid"])
async def test_valid_vector_resent(name: str, vector_server: str, fileserver: str) -> None:
    """Decode, send the payloads again, decode the result: the same values (writer check)."""
    expected = json.loads((VECTORS / "valid" / f"{name}.expected.json").read_text())
    env = await natsbridge.smartreceive(raw("valid", name, vector_server), table_type="pyarrow")
    data = [(p[0], p[1], p[2]) for p in env["payloads"]]
    _, js = await natsbridge.smartsend("vectors.resend", data, fileserver_url=fileserver, is_publish=False)
    again = await natsbridge.smartreceive(js, table_type="pyarrow")
    values = [value_json(p[2], p[1]) for p in again["payloads"]]
    assert strict_equal(values, [p["value"] for p in expected["payloads"]])


def test_vectors_as_pandas(vector_server: str) -> None:
    """Tables decode to DataFrames too (the default), through the blocking API."""
    for name in ("direct_table", "table_with_nulls", "table_zero_rows", "table_schema_only", "tolerant_jsontable_json"):
        env = natsbridge.sync.smartreceive(raw("valid", name, vector_server))
        frame = env["payloads"][0][1]
        expected = json.loads((VECTORS / "valid" / f"{name}.expected.json").read_text())["payloads"][0]["value"]["table"]
        assert list(frame.columns) == [c[0] for c in expected["columns"]]
        assert len(frame) == len(expected["rows"])
