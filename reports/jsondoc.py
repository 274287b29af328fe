"""The JSON document (schema ``egress-analyzer/1``)."""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from analyzer.frames import Table
from analyzer.pipeline import iso
from analyzer.schema import SCHEMA_VERSION

TABLE_ORDER = ("summary", "flows", "http", "dns", "parse_errors")


def records(table: Table) -> list[dict[str, Any]]:
    """Rows as JSON values: copies of the table's rows with timestamps as ISO-8601 text."""
    stamps = table.timestamp_columns
    out = []
    for row in table.rows:
        r = dict(row)
        for col in stamps:
            r[col] = iso(r[col])
        out.append(r)
    return out


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


def write(analysis: Any, out: TextIO) -> None:
    """One key per line and one record per line: readable, diffable, written by the C encoder,
    and streamed table by table so a capture with many connections never holds the whole text."""
    dump = json.dumps
    out.write("{\n")
    head = {"schema": SCHEMA_VERSION, "capture": analysis.capture, "warnings": analysis.warnings}
    for key, value in head.items():
        out.write(f"  {dump(key)}: {dump(value, ensure_ascii=True)},\n")
    for name in TABLE_ORDER:
        table = analysis.tables[name]
        stamps = table.timestamp_columns
        out.write(f"  {dump(name)}: [")
        first = True
        for row in table.rows:
            if stamps:
                row = dict(row)  # the table's own rows keep their integer timestamps
                for col in stamps:
                    row[col] = iso(row[col])
            out.write(("\n    " if first else ",\n    ") + dump(row, ensure_ascii=True))
            first = False
        out.write("\n  ],\n" if not first else "],\n")
    tail: dict[str, Any] = {}
    if analysis.allowlist is not None:
        tail["allowlist"] = analysis.allowlist
    if analysis.diff is not None:
        tail["diff"] = analysis.diff
    tail["noise"] = analysis.noise
    tail["suggested"] = analysis.suggested
    items = list(tail.items())
    for i, (key, value) in enumerate(items):
        sep = ",\n" if i < len(items) - 1 else "\n"
        if isinstance(value, dict):
            inner = ",\n".join(f"    {dump(k)}: {_lines(v, 6)}" for k, v in value.items())
            out.write(f"  {dump(key)}: {{\n{inner}\n  }}{sep}")
        else:
            out.write(f"  {dump(key)}: {_lines(value, 4)}{sep}")
    out.write("}\n")


def _lines(value: Any, indent: int) -> str:
    if isinstance(value, list) and value:
        pad = " " * indent
        return (
            "[\n" + ",\n".join(pad + json.dumps(v, ensure_ascii=True) for v in value) + "\n" + " " * (indent - 2) + "]"
        )
    return json.dumps(value, ensure_ascii=True)


def render(analysis: Any) -> str:
    buf = io.StringIO()
    write(analysis, buf)
    return buf.getvalue()
