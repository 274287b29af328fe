"""CSV: the summary with its review columns (noise, allowlist status, entry, reason), spreadsheet-safe."""

from __future__ import annotations

import csv
import io

from analyzer.frames import Table
from analyzer.report import Report
from analyzer.schema import column_names
from reports.jsondoc import json_rows
from reports.safe import csv_cell

COLUMNS = column_names("summary")


def render(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in json_rows(report.summary):
        # List columns (addresses, vias) in one cell, whole: a spreadsheet filter must see every address.
        values = [" ".join(v) if isinstance(v, list) else v for v in (r[c] for c in COLUMNS)]
        w.writerow([csv_cell(v) for v in values])
    return buf.getvalue()


def render_table(table: Table) -> str:
    """Any table of the report as CSV, in schema column order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    for r in json_rows(table):
        w.writerow([csv_cell(" ".join(v) if isinstance(v, list) else v) for v in (r[c] for c in table.columns)])
    return buf.getvalue()
