"""pandas <-> Arrow. Tables cross into the engine as Arrow (C Data interface, no copy)."""

from __future__ import annotations

from typing import Any


def from_pandas(df: Any) -> Any:
    """A pandas DataFrame as a ``pyarrow.Table`` (pandas metadata kept, so dtypes come back)."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("sending a pandas DataFrame needs pyarrow: pip install 'natsbridge[pandas]'") from exc
    return pa.Table.from_pandas(df)


def to_pandas(table: Any) -> Any:
    """A received ``pyarrow.Table`` as a pandas DataFrame."""
    try:
        import pandas  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "a table payload arrived and table_type='pandas' needs pandas: pip install 'natsbridge[pandas]', "
            "or pass table_type='pyarrow' or 'rows'"
        ) from exc
    return table.to_pandas()
