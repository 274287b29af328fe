"""Parquet: one file per table with the schema declared in analyzer.schema and provenance in the metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from analyzer.schema import SCHEMA_VERSION, TABLES


def write(analysis: Any, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        table = analysis.arrow(name)
        meta = dict(table.schema.metadata or {})
        meta.update(
            {
                b"egress.schema": SCHEMA_VERSION.encode(),
                b"egress.table": name.encode(),
                b"egress.capture_path": str(analysis.capture["path"]).encode(),
                b"egress.capture_first_ts": str(analysis.capture["first_ts"]).encode(),
            }
        )
        # Drop pandas' own metadata: readers other than pandas (DuckDB, Spark) need only the Arrow schema.
        meta.pop(b"pandas", None)
        path = directory / f"{name}.parquet"
        pq.write_table(table.replace_schema_metadata(meta), path)
        written.append(path)
    return written
