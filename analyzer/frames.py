"""Reading the analyzer's own frames row by row, with plain Python values (None for missing)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and v != v:  # NaN
        return None
    if hasattr(v, "tolist") and not isinstance(v, pd.Timestamp):
        return v.tolist()
    return v


def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in df.columns]
    return [dict(zip(cols, map(_plain, values), strict=True)) for values in df.itertuples(index=False, name=None)]
