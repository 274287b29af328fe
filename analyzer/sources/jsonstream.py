"""JSON records, streamed: JSON lines, one array of records, the ``{"records": [...]}`` envelope, or
the Log Analytics query API's ``{"tables": [{"columns": [...], "rows": [[...]]}]}`` (each row a record
keyed by its table's column names).

The shapes a firewall's JSON log comes in: one object per line (a storage account's ``PT1H.json``,
AWS and Route 53 logs), an envelope object per line (Event Hub), or one document holding an array
(a Log Analytics or ``az`` export, an envelope pretty-printed).  A document is never parsed whole:
:class:`json.JSONDecoder.raw_decode` takes one element at a time from a window of text that is
refilled as it empties, so memory stays at the size of one record however long the array.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from analyzer.sources.records import Tally
from analyzer.sources.text import LogText

_CHUNK = 1 << 20
_MAX_RECORD = 16 << 20  # one record larger than this is not a log record
_ENVELOPE = re.compile(r'\{\s*"records"\s*:\s*\[')
_decoder = json.JSONDecoder()
# The Log Analytics query API's answer (REST, or `az rest`): {"tables": [{"name", "columns": [{"name",
# "type"}], "rows": [[value, ...], ...]}]} (https://learn.microsoft.com/azure/azure-monitor/logs/api/response-format).
_TABLES = re.compile(r'\{\s*"tables"\s*:\s*\[')
_COLUMNS = re.compile(r'"columns"\s*:\s*\[')
_ROWS = re.compile(r'"rows"\s*:\s*\[')


def records(text: LogText, tally: Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, record)`` for every JSON object record; what is not one is counted in ``tally``."""
    first = text.read(_CHUNK)
    body = first.lstrip()
    if _TABLES.match(body):
        yield from _tables(text, first, tally)
        return
    if body.startswith("[") or (_ENVELOPE.match(body) and not _one_line_object(first)):
        yield from _document(text, first, tally)
        return
    yield from _lines(first, text, tally)


def _one_line_object(first: str) -> bool:
    line = first.lstrip().split("\n", 1)[0]
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _lines(first: str, text: LogText, tally: Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    """One JSON value per line; a line holding an envelope gives each of its records."""
    pending, pos = first, 0  # an index into the window: slicing off each line would copy the rest
    line_no = 0
    while True:
        nl = pending.find("\n", pos)
        if nl < 0:
            more = text.read(_CHUNK)
            if more:
                pending, pos = pending[pos:] + more, 0
                continue
            if pos >= len(pending):
                return
            nl = len(pending)  # the last line, without a newline
        line = pending[pos:nl]
        cut = nl == len(pending)
        pos = nl + 1
        line_no += 1
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            if cut:  # the file ends inside this line: a cut log, said once by the caller
                tally.truncated = True
                return
            tally.bad(line_no, f"not JSON: {exc.msg}")
            continue
        yield from _values(value, line_no, tally)


def _values(value: Any, line_no: int, tally: Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        for r in value["records"]:
            if isinstance(r, dict):
                yield line_no, r
            else:
                tally.bad(line_no, "a record that is not an object")
    elif isinstance(value, dict):
        yield line_no, value
    elif isinstance(value, list):
        for r in value:
            if isinstance(r, dict):
                yield line_no, r
            else:
                tally.bad(line_no, "a record that is not an object")
    else:
        tally.bad(line_no, "not a JSON object")


def _document(text: LogText, buf: str, tally: Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    """The elements of the first array in the document (the top level, or ``records``)."""
    m = _ENVELOPE.search(buf)
    pos = m.end() if m and not buf.lstrip().startswith("[") else buf.index("[") + 1
    for start_line, value in _elements(text, _Window(buf, pos, buf.count("\n", 0, pos) + 1), tally):
        if isinstance(value, dict):
            yield start_line, value
        else:
            tally.bad(start_line, "a record that is not an object")


class _Window:
    """The text read so far and not dropped, where the reading is in it (and on which line), and
    whether the text has ended (or is not to be read further)."""

    __slots__ = ("buf", "eof", "line_no", "pos")

    def __init__(self, buf: str, pos: int, line_no: int) -> None:
        self.buf, self.pos, self.line_no, self.eof = buf, pos, line_no, False


def _elements(text: LogText, at: _Window, tally: Tally) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` for each element of the array whose ``[`` is just before ``at.pos``; ``at`` is
    left just after the array (for a caller that reads on)."""
    buf, pos, line_no, eof = at.buf, at.pos, at.line_no, at.eof  # locals in the loop, stored back at the end
    try:
        while True:
            # Skip separators; refill when the window runs dry.
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n,":
                    if buf[pos] == "\n":
                        line_no += 1
                    pos += 1
                if pos < len(buf) or eof:
                    break
                buf, pos = buf[pos:] + text.read(_CHUNK), 0
                eof = pos == len(buf)
            if pos >= len(buf):
                tally.truncated = True  # the array never closed
                return
            if buf[pos] == "]":
                pos += 1
                return
            try:
                value, end = _decoder.raw_decode(buf, pos)
            except ValueError as exc:
                if not eof and len(buf) - pos < _MAX_RECORD:
                    more = text.read(_CHUNK)
                    buf, pos = buf[pos:] + more, 0
                    eof = not more
                    continue
                if eof:
                    tally.truncated = True  # the last record is cut
                    pos = len(buf)
                    return
                tally.bad(line_no, f"not JSON: {getattr(exc, 'msg', exc)}")
                nl = buf.find("\n", pos)
                if nl < 0:  # nothing more is read
                    pos, eof = len(buf), True
                    return
                pos = nl
                continue
            start_line = line_no
            line_no += buf.count("\n", pos, end)
            pos = end
            yield start_line, value
            if pos > _CHUNK:  # drop what was read, so the window stays one chunk or two
                buf, pos = buf[pos:], 0
    finally:
        at.buf, at.pos, at.line_no, at.eof = buf, pos, line_no, eof


def _tables(text: LogText, buf: str, tally: Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row of each table of a Log Analytics query answer, as a record keyed by the column names.
    A table's columns come before its rows (the documented order); its rows are streamed as
    :func:`_document` streams an array."""
    at = _Window(buf, 0, 1)
    while True:
        found = _search(_COLUMNS, text, at)
        if found is None:
            return  # no further table
        columns: list[str] = []
        for _, column in _elements(text, at, tally):
            name = column.get("name") if isinstance(column, dict) else None
            columns.append(str(name) if name is not None else f"column {len(columns) + 1}")
        if _search(_ROWS, text, at) is None:
            return  # a table without rows, at the end
        for start_line, row in _elements(text, at, tally):
            if isinstance(row, list) and len(row) == len(columns):
                yield start_line, dict(zip(columns, row, strict=True))
            else:
                tally.bad(start_line, f"a row that is not a list of {len(columns)} values (the table's columns)")
        if at.pos > _CHUNK:
            at.buf, at.pos = at.buf[at.pos :], 0


def _search(pattern: re.Pattern[str], text: LogText, at: _Window) -> re.Match[str] | None:
    """The next match of ``pattern`` from ``at.pos``, reading on while there is none (up to a record's
    size); ``at`` is moved to just after it."""
    found = pattern.search(at.buf, at.pos)
    while found is None and not at.eof and len(at.buf) - at.pos < _MAX_RECORD:
        more = text.read(_CHUNK)
        at.eof = not more
        at.buf += more
        found = pattern.search(at.buf, at.pos)
    if found is not None:
        at.line_no += at.buf.count("\n", at.pos, found.end())
        at.pos = found.end()
    return found
