"""The JSON document (schema ``egress-analyzer/1``)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, TextIO

from analyzer.frames import Table
from analyzer.pipeline import iso
from analyzer.schema import SCHEMA_VERSION

TABLE_ORDER = ("summary", "flows", "http", "dns", "parse_errors")


def json_rows(table: Table) -> Iterator[dict[str, Any]]:
    """The table's rows as JSON values: timestamps as ISO-8601 text, on copies (the table keeps its integers)."""
    stamps = table.timestamp_columns
    for row in table.rows:
        r = dict(row)
        for col in stamps:
            r[col] = iso(r[col])
        yield r


def records(table: Table) -> list[dict[str, Any]]:
    return list(json_rows(table))


def _tail(analysis: Any) -> dict[str, Any]:
    """What follows the tables: the allowlist and its diff when one was given, noise, suggestions."""
    tail: dict[str, Any] = {}
    if analysis.allowlist is not None:
        tail["allowlist"] = analysis.allowlist
    if analysis.diff is not None:
        tail["diff"] = analysis.diff
    tail["noise"] = analysis.noise
    tail["suggested"] = analysis.suggested
    return tail


def document(analysis: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": SCHEMA_VERSION, "capture": analysis.capture, "warnings": analysis.warnings}
    for name in TABLE_ORDER:
        doc[name] = records(analysis.tables[name])
    doc.update(_tail(analysis))
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
        out.write(f"  {dump(name)}: [")
        first = True
        for row in json_rows(analysis.tables[name]):
            out.write(("\n    " if first else ",\n    ") + dump(row, ensure_ascii=True))
            first = False
        out.write("\n  ],\n" if not first else "],\n")
    items = list(_tail(analysis).items())
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
