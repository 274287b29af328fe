"""The analyzer's output tables: rows of plain values with a declared schema, Arrow and pandas on demand.

A :class:`Table` holds its rows as the pipeline built them: dicts in schema column order,
missing values None, list columns lists and timestamps integer nanoseconds since the epoch (UTC).
The JSON, CSV, Markdown, HTML and terminal reports and the allowlist review read those rows
directly; Parquet, DuckDB and notebook users ask for :meth:`Table.to_arrow` or
:meth:`Table.to_pandas`, which convert with the schema in :mod:`analyzer.schema`.

Why not keep pandas frames throughout: importing pandas and pyarrow costs about 0.35 s of start-up,
and a frame built only to be read back row by row costs another second on a capture with
ten thousand connections, with nothing gained for the reports that read rows anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from analyzer import schema

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class Table:
    __slots__ = ("name", "rows")

    def __init__(self, name: str, rows: list[dict[str, Any]]) -> None:
        self.name = name
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"<Table {self.name}: {len(self.rows)} rows>"

    @property
    def columns(self) -> tuple[str, ...]:
        return schema.column_names(self.name)

    @property
    def timestamp_columns(self) -> tuple[str, ...]:
        return schema.timestamp_columns(self.name)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            raise KeyError(f"table {self.name} has no column {name!r}")
        return [r[name] for r in self.rows]

    def where(self, **equals: Any) -> Table:
        """The rows whose columns equal the given values (``dns.where(service="dns")``)."""
        items = list(equals.items())
        return Table(self.name, [r for r in self.rows if all(r[k] == v for k, v in items)])

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pylist(self.rows, schema=schema.arrow_schema(self.name))

    def to_pandas(self) -> pd.DataFrame:
        """An Arrow-backed frame (``pd.ArrowDtype`` columns, nullable, timestamps UTC)."""
        import pandas as pd

        df: pd.DataFrame = self.to_arrow().to_pandas(types_mapper=pd.ArrowDtype)
        return df
