"""CSV: the summary with its review columns (noise, allowlist status, entry, reason), spreadsheet-safe."""

from __future__ import annotations

import csv
import io

from analyzer.frames import Table
from analyzer.report import Report
from reports.jsondoc import json_rows
from reports.safe import csv_cell


def render(report: Report) -> str:
    return render_table(report.summary)


def render_table(table: Table) -> str:
    """Any table of the report as CSV, in schema column order.  A list column (addresses, vias) goes in one
    cell, whole: a spreadsheet filter must see every address."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    for r in json_rows(table):
        w.writerow([csv_cell(" ".join(v) if isinstance(v, list) else v) for v in (r[c] for c in table.columns)])
    return buf.getvalue()
