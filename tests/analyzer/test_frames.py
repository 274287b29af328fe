"""The tables keep plain rows; they must be exactly what Arrow makes of them under the declared schema.

Reports read the rows directly (no pandas on the JSON path), so nothing normalises them on the
way out: these tests are what keeps a row builder from emitting a column out of order, a str
where the schema says int, or a value Arrow would refuse (an int32 port out of range).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from analyzer import schema
from analyzer.frames import Table
from analyzer.pipeline import analyze
from tests.support.paths import CAPTURES, CORPUS


def _as_ns(rows: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """Arrow's timestamps back to integer ns, the rows' own representation."""
    stamps = schema.timestamp_columns(table)
    out = []
    for r in rows:
        r = dict(r)
        for c in stamps:
            if r[c] is not None:
                r[c] = pd.Timestamp(r[c]).value
        out.append(r)
    return out


def _corpus() -> list[str]:
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".pcapng", ".gz"))


@pytest.mark.parametrize("capture", sorted(p.name for p in CAPTURES.glob("*.pcap*")))
def test_rows_are_what_arrow_makes_of_them(capture: str) -> None:
    _check_round_trip(CAPTURES / capture)


@pytest.mark.parametrize("capture", _corpus() if CORPUS.is_dir() else ["(corpus absent)"])
def test_corpus_rows_are_what_arrow_makes_of_them(capture: str) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    _check_round_trip(CORPUS / capture)


def _check_round_trip(path: Path) -> None:
    analysis = analyze(path)
    for name in schema.TABLES:
        table = analysis.tables[name]
        assert table.name == name
        for row in table.rows:
            assert tuple(row) == table.columns, f"{name}: columns out of schema order"
        arrow = table.to_arrow()
        assert arrow.schema.equals(schema.arrow_schema(name))
        back = _as_ns(arrow.to_pylist(), name)
        assert back == table.rows, name
        for row, again in zip(table.rows, back, strict=True):
            for col, value in row.items():
                # == says True for 1 == True and 3 == 3.0; the types must match too.
                assert type(value) is type(again[col]), (name, col, value)


def test_to_pandas_is_arrow_backed_and_typed() -> None:
    analysis = analyze(CAPTURES / "sunbeam-install.pcap")
    df = analysis.summary.to_pandas()
    assert list(df.columns) == list(schema.column_names("summary"))
    assert len(df) == len(analysis.summary) > 0
    assert all(isinstance(t, pd.ArrowDtype) for t in df.dtypes)
    assert pa.types.is_timestamp(df["first_seen"].dtype.pyarrow_dtype)
    assert int(df["count"].sum()) == sum(analysis.summary.column("count"))


def test_where_and_column() -> None:
    t = Table(
        "parse_errors", [{"frame": 1, "layer": "dns", "reason": "x"}, {"frame": 2, "layer": "tls", "reason": "y"}]
    )
    assert t.where(layer="tls").rows == [{"frame": 2, "layer": "tls", "reason": "y"}]
    assert t.column("frame") == [1, 2]
    with pytest.raises(KeyError):
        t.column("nope")
    assert len(t) == 2 and list(t) == t.rows


def test_schema_declares_every_table_once() -> None:
    for name, cols in schema.ALL.items():
        names = [c for c, _ in cols]
        assert len(names) == len(set(names)), name
        assert {k for _, k in cols} <= {"string", "int32", "int64", "bool", "timestamp", "list<string>"}
    for name in ("flows", "http"):
        assert schema.column_names(name)[:7] == ("ts", "uid", "src", "sport", "dst", "dport", "transport")
