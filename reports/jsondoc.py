"""The JSON document (schema ``egress-analyzer/1``)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd

from analyzer.pipeline import iso
from analyzer.schema import SCHEMA_VERSION

TABLE_ORDER = ("summary", "flows", "http", "dns", "parse_errors")


def _value(v: Any) -> Any:
    if isinstance(v, pd.Timestamp | dt.datetime):
        return iso(pd.Timestamp(v).as_unit("ns").value)
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, list | tuple):
        return [_value(x) for x in v]
    if v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "tolist"):
        return _value(v.tolist())
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [{c: _value(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False, name=None)]


def document(analysis: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": SCHEMA_VERSION, "capture": analysis.capture, "warnings": analysis.warnings}
    for name in TABLE_ORDER:
        doc[name] = records(analysis.tables[name])
    if analysis.allowlist is not None:
        doc["allowlist"] = analysis.allowlist
    if analysis.diff is not None:
        doc["diff"] = analysis.diff
    doc["noise"] = analysis.noise
    doc["suggested"] = analysis.suggested
    return doc


def render(analysis: Any) -> str:
    return json.dumps(document(analysis), indent=2, ensure_ascii=True) + "\n"
