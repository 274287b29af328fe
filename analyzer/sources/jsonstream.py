"""JSON records, streamed: JSON lines, one array of records, or the ``{"records": [...]}`` envelope.

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


def records(text: LogText, tally: Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, record)`` for every JSON object record; what is not one is counted in ``tally``."""
    first = text.read(_CHUNK)
    body = first.lstrip()
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
    line_no = buf.count("\n", 0, pos) + 1
    eof = False
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
                return
            tally.bad(line_no, f"not JSON: {getattr(exc, 'msg', exc)}")
            nl = buf.find("\n", pos)
            if nl < 0:
                return
            pos = nl
            continue
        start_line = line_no
        line_no += buf.count("\n", pos, end)
        pos = end
        if isinstance(value, dict):
            yield start_line, value
        else:
            tally.bad(start_line, "a record that is not an object")
        if pos > _CHUNK:  # drop what was read, so the window stays one chunk or two
            buf, pos = buf[pos:], 0
