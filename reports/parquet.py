"""Parquet: one file per table with the schema declared in analyzer.schema and provenance in the metadata."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from analyzer.frames import Table
from analyzer.report import Report
from analyzer.schema import SCHEMA_VERSION, TABLES
from reports.display import iso


def write(report: Report, directory: Path) -> list[Path]:
    """Every table of the report, ``DIR/<table>.parquet``, each naming the capture it came from."""
    provenance = {
        "egress.capture_path": report.capture.path,
        "egress.capture_first_ts": str(iso(report.capture.first_ts)),
    }
    written = [write_table(report.table(name), directory, provenance) for name in TABLES]
    if report.log_verdicts:  # what firewall logs said per summary row: only when logs were read
        written.append(write_table(report.log_verdicts, directory, provenance))
    return written


def write_table(table: Table, directory: Path, provenance: dict[str, str] | None = None) -> Path:
    """One table (``egress lint --format parquet`` writes the lint table alone): ``DIR/<table>.parquet``."""
    directory.mkdir(parents=True, exist_ok=True)
    arrow = table.to_arrow()
    meta = dict(arrow.schema.metadata or {})
    meta[b"egress.schema"] = SCHEMA_VERSION.encode()
    meta[b"egress.table"] = table.name.encode()
    meta.update({k.encode(): v.encode() for k, v in (provenance or {}).items()})
    # Drop pandas' own metadata: readers other than pandas (DuckDB, Spark) need only the Arrow schema.
    meta.pop(b"pandas", None)
    path = directory / f"{table.name}.parquet"
    pq.write_table(arrow.replace_schema_metadata(meta), path)
    return path
