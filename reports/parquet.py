"""Parquet: one file per table with the schema declared in analyzer.schema and provenance in the metadata."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from analyzer.report import Report
from analyzer.schema import SCHEMA_VERSION, TABLES
from reports.display import iso


def write(report: Report, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        table = report.table(name).to_arrow()
        meta = dict(table.schema.metadata or {})
        meta.update(
            {
                b"egress.schema": SCHEMA_VERSION.encode(),
                b"egress.table": name.encode(),
                b"egress.capture_path": report.capture.path.encode(),
                b"egress.capture_first_ts": str(iso(report.capture.first_ts)).encode(),
            }
        )
        # Drop pandas' own metadata: readers other than pandas (DuckDB, Spark) need only the Arrow schema.
        meta.pop(b"pandas", None)
        path = directory / f"{name}.parquet"
        pq.write_table(table.replace_schema_metadata(meta), path)
        written.append(path)
    return written
