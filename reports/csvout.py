"""CSV: the summary with its allowlist status, spreadsheet-safe."""

from __future__ import annotations

import csv
import io
from typing import Any

from analyzer.schema import column_names
from reports.jsondoc import document
from reports.safe import csv_cell

# The summary's own columns, in schema order, then where the allowlist puts each row.
SUMMARY_COLUMNS = column_names("summary")
COLUMNS = [*SUMMARY_COLUMNS, "status", "entry", "reason"]


def render(analysis: Any) -> str:
    doc = document(analysis)
    diff = doc.get("diff")
    status: dict[tuple[Any, ...], tuple[str, str | None, str | None]] = {}
    if diff is not None:
        for kind, key in (
            ("covered", "covered"),
            ("missing", "missing"),
            ("blocked-but-allowed", "blocked_but_allowed"),
        ):
            for r in diff[key]:
                status[(r["protocol"], r["port"], r["fqdn"], r["verdict"])] = (kind, r.get("entry"), r.get("reason"))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for i, r in enumerate(doc["summary"]):
        if i in analysis.noise_rows:
            st: tuple[str, str | None, str | None] = ("noise", None, None)
        elif diff is None:
            st = ("", None, None)
        else:
            st = status.get((r["protocol"], r["port"], r["fqdn"], r["verdict"]), ("", None, None))
        values = [r[c] for c in SUMMARY_COLUMNS] + list(st)
        w.writerow([csv_cell(v) for v in values])
    return buf.getvalue()
