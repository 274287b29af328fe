"""The JSON document (schema ``egress-analyzer/2``): the report's tables, one record per line.

``{"schema", "capture", "warnings", "summary", "flows", "http", "dns", "parse_errors", "excess",
"lint", "allowlist", "suggested"}``.  The review is in the rows: each summary row carries its
``noise`` kind, allowlist ``status``, ``entry`` and ``reason``; each DNS row its ``noise`` and
``dns-only`` status.  ``addresses`` and ``vias`` are lists; timestamps are ISO-8601 text.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from analyzer.frames import Table
from analyzer.report import CaptureInfo, LintReport, Report, SourceInfo
from analyzer.schema import SCHEMA_VERSION
from reports.display import iso

TABLE_ORDER = ("summary", "flows", "http", "dns", "parse_errors", "excess", "lint")


def json_rows(table: Table) -> Iterator[dict[str, Any]]:
    """The table's rows as JSON values: timestamps as ISO-8601 text, on copies (the table keeps its
    integers); the rows of a table without timestamps as they are (not to be changed)."""
    stamps = table.timestamp_columns
    if not stamps:
        yield from table.rows
        return
    for row in table.rows:
        r = dict(row)
        for col in stamps:
            r[col] = iso(r[col])
        yield r


def _encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults, set up once: ``dumps`` builds a new C encoder on every
    call, a quarter of the time of writing 20,000 rows.  The same encoder with the same settings
    (ASCII escapes, ", " and ": ", NaN allowed), so the text is the same; ``dumps`` itself where
    the interpreter has no C encoder."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.dumps
    encode = make(
        None,  # no circular-reference check: rows hold plain values
        json.JSONEncoder().default,  # the TypeError dumps raises for a value JSON cannot hold
        json.encoder.encode_basestring_ascii,
        None,  # no indent
        ": ",
        ", ",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    return dumps


def records(table: Table) -> list[dict[str, Any]]:
    return list(json_rows(table))


def capture_facts(capture: CaptureInfo) -> dict[str, Any]:
    facts = dataclasses.asdict(capture)
    facts["link_types"] = list(capture.link_types)
    facts["link_type_names"] = list(capture.link_type_names)
    facts["first_ts"], facts["last_ts"] = iso(capture.first_ts), iso(capture.last_ts)
    return facts


def tail(report: Report) -> dict[str, Any]:
    """What follows the tables: the allowlist when one was given, and the suggested allowlist."""
    tail: dict[str, Any] = {}
    if report.allowlist is not None:
        info = dataclasses.asdict(report.allowlist)
        tail["allowlist"] = {k: list(v) if isinstance(v, tuple) else v for k, v in info.items()}
    tail["suggested"] = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(s).items()} for s in report.suggested
    ]
    # Logs read as sources (analyzer/sources): only when there were any, so a capture's document is unchanged.
    if report.sources:
        tail["sources"] = [_source_facts(s) for s in report.sources]
    if report.log_verdicts is not None and len(report.log_verdicts):
        tail["log_verdicts"] = records(report.log_verdicts)
    return tail


def _source_facts(source: SourceInfo) -> dict[str, Any]:
    facts = dataclasses.asdict(source)
    facts["unparsed_lines"] = [{"line": n, "reason": why} for n, why in source.unparsed_lines]
    facts["tables"] = list(source.tables)
    facts["first_ts"], facts["last_ts"] = iso(source.first_ts), iso(source.last_ts)
    return facts


def _head(report: Report) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "capture": capture_facts(report.capture), "warnings": list(report.warnings)}


def document(report: Report) -> dict[str, Any]:
    doc = _head(report)
    for name in TABLE_ORDER:
        doc[name] = records(report.table(name))
    doc.update(tail(report))
    return doc


def write(report: Report, out: TextIO) -> None:
    """One key per line and one record per line: readable, diffable, written by the C encoder,
    and streamed table by table so a capture with many connections never holds the whole text."""
    dump = json.dumps
    out.write("{\n")
    for key, value in _head(report).items():
        out.write(f"  {dump(key)}: {dump(value, ensure_ascii=True)},\n")
    encode = _encoder()
    write = out.write
    for name in TABLE_ORDER:
        write(f"  {dump(name)}: [")
        first = True
        for row in json_rows(report.table(name)):
            write(("\n    " if first else ",\n    ") + encode(row))
            first = False
        write("\n  ],\n" if not first else "],\n")
    items = list(tail(report).items())
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


def lint_document(report: LintReport) -> dict[str, Any]:
    """``egress lint --format json``."""
    info = report.allowlist
    return {"dialect": info.dialect, "entries": info.entries, "lint": records(report.lint), "notes": list(info.notes)}


def render(report: Report) -> str:
    buf = io.StringIO()
    write(report, buf)
    return buf.getvalue()
