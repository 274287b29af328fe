"""Reading the analyzer's own frames row by row, as plain Python values.

Missing values are None, list columns are lists and timestamps are integer nanoseconds since
the epoch (UTC).  Conversion runs column by column through Arrow: iterating an Arrow-backed
frame cell by cell costs seconds on a capture with many connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa


def frame_of(rows: list[dict[str, Any]], sch: pa.Schema) -> pd.DataFrame:
    """Rows (plain values, timestamps as int ns) to an Arrow-backed frame with the declared schema."""
    df: pd.DataFrame = pa.Table.from_pylist(rows, schema=sch).to_pandas(types_mapper=pd.ArrowDtype)
    return df


def column(series: pd.Series) -> list[Any]:
    arr = pa.array(series)
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    values: list[Any] = arr.to_pylist()
    return values


def timestamp_columns(df: pd.DataFrame) -> set[str]:
    return {str(c) for c in df.columns if pa.types.is_timestamp(pa.array(df[c].iloc[:0]).type)}


def iter_rows(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    cols = [str(c) for c in df.columns]
    values = [column(df[c]) for c in df.columns]
    for row in zip(*values, strict=True):
        yield dict(zip(cols, row, strict=True))


def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    return list(iter_rows(df))
