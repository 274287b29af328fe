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

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from analyzer import schema
from analyzer.spill import SpilledRows

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# A change to one row, applied in place: how the review writes its columns into a table.
RowUpdate = Callable[[dict[str, Any]], None]
ARROW_BATCH_ROWS = 65_536


class Table:
    """Rows in memory, or (for a large capture) rows spilled to disk by :mod:`analyzer.spill` and
    streamed back on each pass.  Either way the same surface: ``len``, iteration, :meth:`column`,
    :meth:`where`, :meth:`update`, :meth:`to_arrow`, :meth:`arrow_batches`, :meth:`to_pandas`."""

    __slots__ = ("_rows", "_spilled", "_updates", "name")

    def __init__(self, name: str, rows: list[dict[str, Any]] | SpilledRows) -> None:
        self.name = name
        self._rows: list[dict[str, Any]] | None = None
        self._spilled: SpilledRows | None = None
        # Updates of a spilled table, applied to each row as it is read back (its rows are not held).
        self._updates: list[RowUpdate] = []
        if isinstance(rows, SpilledRows):
            self._spilled = rows
        else:
            self._rows = rows

    @property
    def spilled(self) -> bool:
        return self._spilled is not None

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as a list: the table's own for an in-memory table; for a spilled one a list read
        back whole (every row in memory at once: iterate the table instead where it may be large)."""
        if self._rows is not None:
            return self._rows
        return list(self)

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        assert self._spilled is not None
        return self._spilled.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._rows is not None:
            return iter(self._rows)
        return self._stream()

    def _stream(self) -> Iterator[dict[str, Any]]:
        assert self._spilled is not None
        updates = self._updates
        for row in self._spilled:
            for update in updates:
                update(row)
            yield row

    def update(self, change: RowUpdate) -> None:
        """Change every row with ``change`` (which edits a row in place): at once in memory, on each
        read for a spilled table."""
        if self._rows is not None:
            for row in self._rows:
                change(row)
        else:
            self._updates.append(change)

    def __reduce__(self) -> tuple[type[Table], tuple[str, list[dict[str, Any]]]]:
        # To another process (analyze_many's workers) a table travels whole: its spill files belong
        # to the process that wrote them and go when that process's report does.
        return (Table, (self.name, self.rows))

    def __repr__(self) -> str:
        return f"<Table {self.name}: {len(self)} rows{' (spilled)' if self.spilled else ''}>"

    @property
    def columns(self) -> tuple[str, ...]:
        return schema.column_names(self.name)

    @property
    def timestamp_columns(self) -> tuple[str, ...]:
        return schema.timestamp_columns(self.name)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            raise KeyError(f"table {self.name} has no column {name!r}")
        return [r[name] for r in self]

    def where(self, **equals: Any) -> Table:
        """The rows whose columns equal the given values (``dns.where(service="dns")``)."""
        items = list(equals.items())
        return Table(self.name, [r for r in self if all(r[k] == v for k, v in items)])

    def arrow_batches(self, rows_per_batch: int = ARROW_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow record batches under the declared schema, a batch at a time."""
        import pyarrow as pa

        arrow_schema = schema.arrow_schema(self.name)
        chunk: list[dict[str, Any]] = []
        for row in self:
            chunk.append(row)
            if len(chunk) >= rows_per_batch:
                yield pa.RecordBatch.from_pylist(chunk, schema=arrow_schema)
                chunk = []
        if chunk:
            yield pa.RecordBatch.from_pylist(chunk, schema=arrow_schema)

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        if self._rows is not None:
            return pa.Table.from_pylist(self._rows, schema=schema.arrow_schema(self.name))
        return pa.Table.from_batches(list(self.arrow_batches()), schema=schema.arrow_schema(self.name))

    def to_pandas(self) -> pd.DataFrame:
        """An Arrow-backed frame (``pd.ArrowDtype`` columns, nullable, timestamps UTC)."""
        import pandas as pd

        df: pd.DataFrame = self.to_arrow().to_pandas(types_mapper=pd.ArrowDtype)
        return df
